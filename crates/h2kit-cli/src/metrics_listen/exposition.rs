//! The Prometheus text exposition format (version 0.0.4) of what a [`Recorder`] holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use super::recorder::{Metric, Recorder};

/// Every metric, grouped by name in name order: `# HELP` when described, `# TYPE`, then its
/// series (a histogram's as cumulative `_bucket`s, `_sum` and `_count`).
pub fn render(recorder: &Recorder) -> String {
    let help = recorder
        .inner
        .help
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let metrics = recorder
        .inner
        .metrics
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut by_name: BTreeMap<&str, Vec<(String, &Metric)>> = BTreeMap::new();
    for (key, metric) in metrics.iter() {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}=\"{}\"", l.key(), escape(l.value())))
            .collect();
        by_name
            .entry(key.name())
            .or_default()
            .push((labels.join(","), metric));
    }
    let mut out = String::new();
    for (name, mut series) in by_name {
        series.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(h) = help.get(name) {
            let _ = writeln!(
                out,
                "# HELP {name} {}",
                h.replace('\\', "\\\\").replace('\n', "\\n")
            );
        }
        let kind = match series[0].1 {
            Metric::Counter(_) => "counter",
            Metric::Gauge(_) => "gauge",
            Metric::Histogram(_) => "histogram",
        };
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, metric) in series {
            let braces = |extra: &str| -> String {
                match (labels.is_empty(), extra.is_empty()) {
                    (true, true) => String::new(),
                    (true, false) => format!("{{{extra}}}"),
                    (false, true) => format!("{{{labels}}}"),
                    (false, false) => format!("{{{labels},{extra}}}"),
                }
            };
            match metric {
                Metric::Counter(c) => {
                    let _ = writeln!(out, "{name}{} {}", braces(""), c.load(Relaxed));
                }
                Metric::Gauge(g) => {
                    let v = f64::from_bits(g.load(Relaxed));
                    let _ = writeln!(out, "{name}{} {}", braces(""), number(v));
                }
                Metric::Histogram(h) => {
                    let mut cumulative = 0;
                    for (i, c) in h.counts.iter().enumerate() {
                        cumulative += c.load(Relaxed);
                        let le = match h.bounds.get(i) {
                            Some(b) => number(*b),
                            None => "+Inf".to_string(),
                        };
                        let le = format!("le=\"{le}\"");
                        let _ = writeln!(out, "{name}_bucket{} {cumulative}", braces(&le));
                    }
                    let sum = f64::from_bits(h.sum.load(Relaxed));
                    let _ = writeln!(out, "{name}_sum{} {}", braces(""), number(sum));
                    let _ = writeln!(out, "{name}_count{} {cumulative}", braces(""));
                }
            }
        }
    }
    out
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value as Prometheus writes them (`+Inf`, `-Inf`, `NaN`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Recorder as _;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let r = Recorder::new(&[("d_seconds", &[0.1, 1.0])]);
        let meta = metrics::Metadata::new("t", metrics::Level::INFO, None);
        let key = metrics::Key::from_parts("d_seconds", vec![metrics::Label::new("k", "a\"b")]);
        let h = r.register_histogram(&key, &meta);
        h.record(0.05);
        h.record_many(0.5, 2);
        r.describe_histogram("d_seconds".into(), None, "Some durations.".into());
        let text = render(&r);
        assert_eq!(
            text,
            "# HELP d_seconds Some durations.\n\
             # TYPE d_seconds histogram\n\
             d_seconds_bucket{k=\"a\\\"b\",le=\"0.1\"} 1\n\
             d_seconds_bucket{k=\"a\\\"b\",le=\"1\"} 3\n\
             d_seconds_bucket{k=\"a\\\"b\",le=\"+Inf\"} 3\n\
             d_seconds_sum{k=\"a\\\"b\"} 1.05\n\
             d_seconds_count{k=\"a\\\"b\"} 3\n"
        );
    }
}
