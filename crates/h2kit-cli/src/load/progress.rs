//! Progress while a run goes on, on stderr: a bar on a terminal, a plain line per second
//! otherwise (none with `--json` off a terminal, so machine output stays clean).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::record::Shards;

pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn finish(self) {
        if let Some(t) = self.task {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

pub fn start(
    measure: Instant,
    end: Option<Instant>,
    requests: Option<u64>,
    shards: &Arc<Shards>,
    plain_lines: bool,
) -> Progress {
    // Read from the recorders themselves, a few times a second: counting into shared atomics
    // as well would cost every request.
    let live = shards.clone();
    if std::io::stderr().is_terminal() {
        let (len, unit) = match (requests, end) {
            (Some(n), _) => (n, "{pos}/{len} req"),
            (None, Some(e)) => ((e - measure).as_millis() as u64, "{elapsed}"),
            (None, None) => (0, "{pos} req"),
        };
        let bar = ProgressBar::new(len);
        let template = format!("{{spinner}} [{{wide_bar}}] {unit} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let b = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let now = Instant::now();
                if now < measure {
                    b.set_message("warming up");
                    continue;
                }
                let (done, failed) = live.progress();
                let secs = (now - measure).as_secs_f64().max(1e-3);
                b.set_position(if end.is_some() {
                    (now - measure).as_millis() as u64
                } else {
                    done
                });
                b.set_message(format!(
                    "{done} done, {failed} failed, {:.0} req/s",
                    done as f64 / secs
                ));
            }
        });
        return Progress {
            task: Some(task),
            bar: Some(bar),
        };
    }
    if !plain_lines {
        return Progress {
            task: None,
            bar: None,
        };
    }
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(
            (measure + Duration::from_secs(1)).into(),
            Duration::from_secs(1),
        );
        let mut last = 0u64;
        loop {
            tick.tick().await;
            let (done, failed) = live.progress();
            eprintln!(
                "[{:>5.1}s] {done} done, {failed} failed, {} req/s in the last second",
                (Instant::now() - measure).as_secs_f64(),
                done - last
            );
            last = done;
        }
    });
    Progress {
        task: Some(task),
        bar: None,
    }
}
