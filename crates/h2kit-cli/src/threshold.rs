//! `--fail-on EXPR` of `load` and `report`: a threshold `METRIC OP VALUE` checked against a
//! result (the JSON `load --json` prints), so that a run can gate CI.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Metric {
    /// A latency figure (µs), by its key in `latency_us`.
    Latency(&'static str),
    Rps,
    Failures,
    FailureRate,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// As written.
    pub text: String,
    metric: Metric,
    op: Op,
    /// In the metric's unit: µs, requests per second, requests, or a fraction.
    value: f64,
}

impl Threshold {
    /// Parses `METRIC OP VALUE` (spaces allowed): one sentence naming what is wrong if not.
    pub fn parse(s: &str) -> Result<Threshold, String> {
        let text: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let at = text
            .find(['<', '>', '='])
            .ok_or_else(|| format!("'{s}' has no comparison (<, <=, >, >=, ==)"))?;
        let (name, rest) = text.split_at(at);
        let (op, value) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(t, op)| rest.strip_prefix(t).map(|v| (*op, v)))
        .ok_or_else(|| format!("'{s}': '{rest}' does not start with <, <=, >, >= or =="))?;
        let metric = match name {
            "p50" => Metric::Latency("p50"),
            "p90" => Metric::Latency("p90"),
            "p99" => Metric::Latency("p99"),
            "p99.9" => Metric::Latency("p99_9"),
            "max" => Metric::Latency("max"),
            "mean" => Metric::Latency("mean"),
            "rps" => Metric::Rps,
            "failures" => Metric::Failures,
            "failure_rate" => Metric::FailureRate,
            _ => {
                return Err(format!(
                    "'{s}': unknown metric '{name}' (p50 p90 p99 p99.9 max mean rps failures \
                     failure_rate)"
                ))
            }
        };
        let number = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("'{s}': '{value}' is not a number with the metric's unit"))
        };
        let value = match metric {
            Metric::Latency(_) => {
                let (n, scale) = if let Some(n) = value.strip_suffix("us") {
                    (n, 1.0)
                } else if let Some(n) = value.strip_suffix("ms") {
                    (n, 1e3)
                } else if let Some(n) = value.strip_suffix('s') {
                    (n, 1e6)
                } else {
                    return Err(format!(
                        "'{s}': a latency needs a unit: us, ms or s (e.g. {name}<=50ms)"
                    ));
                };
                number(n)? * scale
            }
            Metric::FailureRate => match value.strip_suffix('%') {
                Some(n) => number(n)? / 100.0,
                None => number(value)?,
            },
            Metric::Rps | Metric::Failures => number(value)?,
        };
        Ok(Threshold {
            text: s.trim().to_string(),
            metric,
            op,
            value,
        })
    }

    /// The measured value in `result`, in the metric's unit.
    fn measured(&self, result: &Value) -> Option<f64> {
        match self.metric {
            Metric::Latency(key) => result["latency_us"][key].as_f64(),
            Metric::Rps => result["requests_per_second"].as_f64(),
            Metric::Failures => result["failed"].as_f64(),
            Metric::FailureRate => {
                let requests = result["requests"].as_f64()?;
                Some(if requests == 0.0 {
                    0.0
                } else {
                    result["failed"].as_f64()? / requests
                })
            }
        }
    }

    /// `Err(line)` naming the threshold and the measured value if the result breaches it.
    pub fn check(&self, result: &Value) -> Result<(), String> {
        let Some(v) = self.measured(result) else {
            return Err(format!(
                "threshold '{}' cannot be checked: the run has no such figure (no successful request)",
                self.text
            ));
        };
        let ok = match self.op {
            Op::Lt => v < self.value,
            Op::Le => v <= self.value,
            Op::Gt => v > self.value,
            Op::Ge => v >= self.value,
            Op::Eq => v == self.value,
        };
        if ok {
            return Ok(());
        }
        let shown = match self.metric {
            Metric::Latency(_) if v >= 1e6 => format!("{:.3} s", v / 1e6),
            Metric::Latency(_) if v >= 1e3 => format!("{:.3} ms", v / 1e3),
            Metric::Latency(_) => format!("{v:.0} µs"),
            Metric::Rps => format!("{v:.1} req/s"),
            Metric::Failures => format!("{v:.0}"),
            Metric::FailureRate => format!("{:.4}%", v * 100.0),
        };
        Err(format!(
            "threshold '{}' breached: measured {shown}",
            self.text
        ))
    }
}

/// Checks every threshold, printing a line for each breached; `Err` (for exit 1) if any was.
pub fn gate(thresholds: &[Threshold], result: &Value) -> Result<(), crate::Exit> {
    let breached = breaches(thresholds, result);
    for line in &breached {
        eprintln!("h2kit: {line}");
    }
    if breached.is_empty() {
        return Ok(());
    }
    Err(crate::Exit::Failed(format!(
        "{} of {} thresholds breached",
        breached.len(),
        thresholds.len()
    )))
}

/// Checks every threshold: the lines of those breached.
fn breaches(thresholds: &[Threshold], result: &Value) -> Vec<String> {
    thresholds
        .iter()
        .filter_map(|t| t.check(result).err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result() -> Value {
        json!({"latency_us": {"p50": 800.0, "p99": 72_300.0, "p99_9": 90_000.0, "max": 2_000_000.0,
                              "mean": 1000.0, "p90": 5000.0},
               "requests_per_second": 1234.5, "requests": 1000, "failed": 3})
    }

    #[test]
    fn thresholds_compare_in_the_metric_unit() {
        let r = result();
        assert!(Threshold::parse("p99<=100ms").unwrap().check(&r).is_ok());
        assert_eq!(
            Threshold::parse("p99 <= 50ms").unwrap().check(&r),
            Err("threshold 'p99 <= 50ms' breached: measured 72.300 ms".into())
        );
        assert!(Threshold::parse("p99.9<90001us").unwrap().check(&r).is_ok());
        assert!(Threshold::parse("max<2s").unwrap().check(&r).is_err());
        assert!(Threshold::parse("rps>=1000").unwrap().check(&r).is_ok());
        assert!(Threshold::parse("failures==3").unwrap().check(&r).is_ok());
        // 3 of 1000 is 0.3%.
        assert!(Threshold::parse("failure_rate<0.5%")
            .unwrap()
            .check(&r)
            .is_ok());
        assert!(Threshold::parse("failure_rate<0.1%")
            .unwrap()
            .check(&r)
            .is_err());
        assert!(Threshold::parse("failure_rate<0.004")
            .unwrap()
            .check(&r)
            .is_ok());
    }

    #[test]
    fn malformed_thresholds_say_what_is_wrong() {
        for (t, says) in [
            ("p99", "no comparison"),
            ("p42<1ms", "unknown metric 'p42'"),
            ("p99<50", "a latency needs a unit"),
            ("rps>fast", "not a number"),
            ("p99=>1ms", "does not start with"),
        ] {
            let e = Threshold::parse(t).unwrap_err();
            assert!(e.contains(says), "{t}: {e}");
        }
    }

    #[test]
    fn a_run_without_latency_cannot_pass_a_latency_threshold() {
        let r = json!({"latency_us": null, "requests": 10, "failed": 10});
        assert!(Threshold::parse("p99<1s")
            .unwrap()
            .check(&r)
            .unwrap_err()
            .contains("cannot be checked"));
    }
}
