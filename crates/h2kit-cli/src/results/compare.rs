//! `h2kit report --compare BASE NEW`: two results side by side, each figure's change, and
//! whether the change is larger than the run-to-run noise the runs themselves show.
//!
//! The noise is read from each run's timeline: how much the throughput and the slot
//! percentiles vary from one slot to the next. A change is called real only when it exceeds
//! twice the two runs' combined slot-to-slot standard deviation. That is deliberately
//! cautious: the standard error of a run's mean (`sd / √slots`) would call changes that a
//! rerun on a shared machine undoes (two identical runs here differed by 18% in req/s). p90
//! has no per-slot figure; p99.9 and max rest on a handful of requests: neither is called.
//! Failures are counts: their noise is Poisson (`√n`).

use std::fmt::Write as _;

use serde_json::Value;

/// The standard deviation of a series (at least 3 values).
fn sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 3 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(var.sqrt())
}

/// The timeline slots that had requests (the edges of a run are partial and left out).
fn slots(doc: &Value) -> Vec<&Value> {
    let all: Vec<&Value> = doc["timeline"]["slots"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let busy: Vec<&Value> = all
        .iter()
        .copied()
        .filter(|s| s["succeeded"].as_u64().unwrap_or(0) + s["failed"].as_u64().unwrap_or(0) > 0)
        .collect();
    if busy.len() > 4 {
        busy[1..busy.len() - 1].to_vec()
    } else {
        busy
    }
}

/// The slot-to-slot spread of a figure: throughput (req/s) or a slot quantile.
fn spread(doc: &Value, figure: &str) -> Option<f64> {
    let slot_s = doc["timeline"]["slot_ms"].as_f64()? / 1000.0;
    let xs: Vec<f64> = slots(doc)
        .iter()
        .filter_map(|s| match figure {
            "rps" => Some(
                (s["succeeded"].as_f64().unwrap_or(0.0) + s["failed"].as_f64().unwrap_or(0.0))
                    / slot_s,
            ),
            "p50" => s["p50_us"].as_f64(),
            "p99" => s["p99_us"].as_f64(),
            _ => None,
        })
        .collect();
    sd(&xs)
}

struct Row {
    name: &'static str,
    base: Option<f64>,
    new: Option<f64>,
    unit: &'static str,
    /// Twice the combined spread, in the figure's unit; `None`: not estimated.
    noise: Option<f64>,
    /// Why not, when not.
    why_not: &'static str,
}

fn show(v: Option<f64>, unit: &str) -> String {
    match (v, unit) {
        (None, _) => "-".into(),
        (Some(v), "ms") => format!("{:.3} ms", v / 1000.0),
        (Some(v), "req/s") => format!("{v:.1} req/s"),
        (Some(v), _) => format!("{v:.0}"),
    }
}

pub fn text(base: &Value, new: &Value, base_name: &str, new_name: &str) -> String {
    let l = |d: &Value, k: &str| d["latency_us"][k].as_f64();
    let noise2 = |figure: &str| {
        let (a, b) = (spread(base, figure)?, spread(new, figure)?);
        Some(2.0 * (a * a + b * b).sqrt())
    };
    let failures = |d: &Value| d["failed"].as_f64();
    let rows = [
        Row {
            name: "requests/s",
            base: base["requests_per_second"].as_f64(),
            new: new["requests_per_second"].as_f64(),
            unit: "req/s",
            noise: noise2("rps"),
            why_not: "too few slots",
        },
        Row {
            name: "p50",
            base: l(base, "p50"),
            new: l(new, "p50"),
            unit: "ms",
            noise: noise2("p50"),
            why_not: "too few slots",
        },
        Row {
            name: "p90",
            base: l(base, "p90"),
            new: l(new, "p90"),
            unit: "ms",
            noise: None,
            why_not: "slots keep no p90",
        },
        Row {
            name: "p99",
            base: l(base, "p99"),
            new: l(new, "p99"),
            unit: "ms",
            noise: noise2("p99"),
            why_not: "too few slots",
        },
        Row {
            name: "p99.9",
            base: l(base, "p99_9"),
            new: l(new, "p99_9"),
            unit: "ms",
            noise: None,
            why_not: "a few requests decide it",
        },
        Row {
            name: "max",
            base: l(base, "max"),
            new: l(new, "max"),
            unit: "ms",
            noise: None,
            why_not: "one request decides it",
        },
        Row {
            name: "failures",
            base: failures(base),
            new: failures(new),
            unit: "",
            noise: failures(base)
                .zip(failures(new))
                .map(|(a, b)| 2.0 * (a + b).sqrt()),
            why_not: "",
        },
    ];
    let mut o = format!(
        "{:<11} {:>16} {:>16} {:>9}  verdict\n",
        "", base_name, new_name, "change"
    );
    for r in rows {
        let change = match (r.base, r.new) {
            (Some(b), Some(n)) if b > 0.0 => format!("{:+.1}%", (n - b) / b * 100.0),
            (Some(b), Some(n)) if b == n => "0".into(),
            _ => "-".into(),
        };
        let verdict = match (r.base, r.new, r.noise) {
            (Some(b), Some(n), Some(noise)) if (n - b).abs() <= noise => {
                format!("within noise (±{})", show(Some(noise), r.unit))
            }
            (Some(_), Some(_), Some(noise)) => {
                format!("a change beyond the noise (±{})", show(Some(noise), r.unit))
            }
            (Some(_), Some(_), None) => format!("noise not estimated ({})", r.why_not),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "{:<11} {:>16} {:>16} {:>9}  {verdict}",
            r.name,
            show(r.base, r.unit),
            show(r.new, r.unit),
            change
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(rps: &[f64], p99: f64) -> Value {
        let slots: Vec<Value> = rps
            .iter()
            .map(|r| json!({"succeeded": (r / 10.0) as u64, "failed": 0, "p50_us": 100, "p99_us": p99}))
            .collect();
        let total: f64 = rps.iter().sum::<f64>() / rps.len() as f64;
        json!({"requests_per_second": total, "failed": 0,
               "latency_us": {"p50": 100, "p90": 150, "p99": p99, "p99_9": 500, "max": 900},
               "timeline": {"slot_ms": 100, "slots": slots}})
    }

    #[test]
    fn a_change_inside_the_slot_spread_is_noise_and_one_outside_is_not() {
        let noisy = [900.0, 1100.0, 950.0, 1050.0, 1000.0, 980.0, 1020.0, 1000.0];
        let base = run(&noisy, 200.0);
        let same = run(&noisy.map(|x| x * 1.01), 200.0);
        let faster = run(&noisy.map(|x| x * 2.0), 200.0);
        let t = text(&base, &same, "base", "new");
        let line = t.lines().find(|l| l.starts_with("requests/s")).unwrap();
        assert!(line.contains("within noise"), "{t}");
        let t = text(&base, &faster, "base", "new");
        let line = t.lines().find(|l| l.starts_with("requests/s")).unwrap();
        assert!(
            line.contains("beyond the noise") && line.contains("+100.0%"),
            "{t}"
        );
        let line = t.lines().find(|l| l.starts_with("max")).unwrap();
        assert!(line.contains("not estimated"), "{t}");
    }
}
