//! When each request of the open model is due: a constant `--rate`, or `--stages`, a rate that
//! ramps linearly from one stage's rate to the next (`30s:1000,1m:5000,30s:0`: up from 0 to
//! 1,000 req/s over 30 s, to 5,000 over a minute, down to 0 over 30 s).
//!
//! Request `i` (from 0) is due when the scheduled count `N(t) = ∫ rate` reaches `i`; within a
//! stage from `r0` to `r1` over `D`, `N` is quadratic in `t`, so the time solves a quadratic.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    /// The rate at the stage's end (req/s); it starts at the previous stage's.
    pub to: f64,
}

/// `--stages` as parsed (a type of its own, so that clap takes it as one value).
#[derive(Clone, Debug, PartialEq)]
pub struct Stages(pub Vec<Stage>);

/// `--stages`' value parser.
pub fn parse_flag(s: &str) -> Result<Stages, String> {
    parse_stages(s).map(Stages)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    Constant(f64),
    Stages(Vec<Stage>),
}

/// Parses `DURATION:RATE,...`: one sentence naming the stage that is wrong.
pub fn parse_stages(s: &str) -> Result<Vec<Stage>, String> {
    let mut stages = Vec::new();
    for (n, part) in s.split(',').enumerate() {
        let bad = |why: String| format!("stage {} ('{part}'): {why}", n + 1);
        let (d, r) = part
            .trim()
            .split_once(':')
            .ok_or_else(|| bad("not DURATION:RATE (e.g. 30s:1000)".into()))?;
        let duration = crate::duration::parse(d).map_err(bad)?;
        if duration.is_zero() {
            return Err(bad("the duration must be longer than 0".into()));
        }
        let to: f64 = r
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r >= 0.0)
            .ok_or_else(|| bad(format!("'{r}' is not a rate in requests per second")))?;
        stages.push(Stage { duration, to });
    }
    if stages.iter().all(|s| s.to == 0.0) {
        return Err("every stage's rate is 0: nothing would be sent".into());
    }
    Ok(stages)
}

impl Schedule {
    /// How long the schedule lasts (`None`: until stopped).
    pub fn length(&self) -> Option<Duration> {
        match self {
            Schedule::Constant(_) => None,
            Schedule::Stages(s) => Some(s.iter().map(|s| s.duration).sum()),
        }
    }

    /// The rate over the whole schedule (the constant rate, or requests / length).
    pub fn mean_rate(&self) -> f64 {
        match self {
            Schedule::Constant(r) => *r,
            Schedule::Stages(stages) => {
                let (mut from, mut count, mut secs) = (0.0, 0.0, 0.0);
                for s in stages {
                    let d = s.duration.as_secs_f64();
                    count += (from + s.to) / 2.0 * d;
                    secs += d;
                    from = s.to;
                }
                count / secs
            }
        }
    }

    /// When request `i` is due, from the start; `None` once the schedule has ended.
    pub fn due(&self, i: u64) -> Option<Duration> {
        let x = i as f64;
        match self {
            Schedule::Constant(r) => Some(Duration::from_secs_f64(x / r)),
            Schedule::Stages(stages) => {
                let (mut from, mut before, mut at) = (0.0f64, 0.0f64, 0.0f64);
                for s in stages {
                    let d = s.duration.as_secs_f64();
                    let count = (from + s.to) / 2.0 * d;
                    if x < before + count {
                        let left = x - before;
                        let a = (s.to - from) / d;
                        // left = from·t + a·t²/2, solved for t ≥ 0.
                        let t = if a.abs() < 1e-12 {
                            left / from
                        } else {
                            (-from + (from * from + 2.0 * a * left).max(0.0).sqrt()) / a
                        };
                        return Some(Duration::from_secs_f64(at + t.clamp(0.0, d)));
                    }
                    before += count;
                    at += d;
                    from = s.to;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_in(s: &Schedule, from: f64, to: f64) -> usize {
        (0u64..)
            .map_while(|i| s.due(i))
            .filter(|d| d.as_secs_f64() >= from && d.as_secs_f64() < to)
            .count()
    }

    #[test]
    fn a_ramp_sends_what_its_rate_integrates_to() {
        let s = Schedule::Stages(parse_stages("10s:1000,10s:1000,10s:0").unwrap());
        // Up from 0 to 1,000 over 10 s: 5,000; level: 10,000; down: 5,000.
        let total = (0u64..).map_while(|i| s.due(i)).count();
        assert!((19_999..=20_001).contains(&total), "{total}");
        // The first second of the ramp averages 50 req/s, its last 950.
        assert!((49..=51).contains(&count_in(&s, 0.0, 1.0)));
        assert!((949..=951).contains(&count_in(&s, 9.0, 10.0)));
        assert!((999..=1001).contains(&count_in(&s, 12.0, 13.0)));
        assert!((49..=51).contains(&count_in(&s, 29.0, 30.0)));
        assert_eq!(s.length(), Some(Duration::from_secs(30)));
        assert!((s.mean_rate() - 20_000.0 / 30.0).abs() < 1e-6);
    }

    #[test]
    fn due_times_never_go_backwards() {
        let s = Schedule::Stages(parse_stages("2s:300,1s:5000,1s:5000,3s:10,1s:0").unwrap());
        let times: Vec<_> = (0u64..).map_while(|i| s.due(i)).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times.last().unwrap().as_secs_f64() <= 8.0);
    }

    #[test]
    fn malformed_stages_name_the_stage() {
        for (s, says) in [
            ("30s", "stage 1 ('30s'): not DURATION:RATE"),
            ("30s:100,x:5", "stage 2 ('x:5')"),
            ("30s:100,0s:5", "longer than 0"),
            ("30s:-4", "not a rate"),
            ("30s:0,5s:0", "nothing would be sent"),
        ] {
            let e = parse_stages(s).unwrap_err();
            assert!(e.contains(says), "{s}: {e}");
        }
    }
}
