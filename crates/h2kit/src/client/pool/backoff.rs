//! An origin's back-off after failed connections: while it lasts, requests to the origin fail
//! at once with the last connection error instead of each dialling (a connection storm
//! against a server that rejects every connection helps nobody). A plain state machine with
//! time and randomness passed in; the pool applies it.

use std::time::{Duration, Instant};

use crate::Error;

/// How an origin backs off after failed connections (TCP connect, TLS, or a server that does
/// not speak HTTP/2): the first delay is `initial`, each next one `multiplier` times the one
/// before, up to `max`, less a random share of up to `jitter` of itself. While it lasts,
/// requests to the origin fail at once with the last connection error; a connection that
/// reaches HTTP/2 ends it. Defaults: 100 ms, ×2, at most 10 s, jitter 0.2.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct ConnectBackoff {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Each delay is this times the one before (at least 1).
    pub multiplier: f64,
    /// Up to this share of each delay (0 to 1) is taken off at random.
    pub jitter: f64,
}

impl Default for ConnectBackoff {
    fn default() -> Self {
        ConnectBackoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl ConnectBackoff {
    /// A back-off from `initial` doubling up to `max`, jitter 0.2.
    pub fn new(initial: Duration, max: Duration) -> ConnectBackoff {
        ConnectBackoff {
            initial,
            max,
            ..ConnectBackoff::default()
        }
    }
}

/// The back-off state of one origin.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    /// Connections failed in a row.
    failures: u32,
    /// No new connection before this instant.
    until: Option<Instant>,
    /// The error of the last failed connection.
    last: Option<Error>,
}

impl Backoff {
    /// A connection failed at `now` with `error`; `random` in [0, 1) draws the jitter.
    /// Returns the delay before the next connection may open. Each delay is the previous one
    /// times the multiplier, from `initial` up to `max`, less up to `jitter` of itself (so
    /// that clients that failed together do not come back together).
    pub(crate) fn failed(
        &mut self,
        cfg: &ConnectBackoff,
        now: Instant,
        error: Error,
        random: f64,
    ) -> Duration {
        let exp = cfg.multiplier.max(1.0).powi(self.failures.min(64) as i32);
        let full = cfg.initial.mul_f64(exp.min(1e9)).min(cfg.max);
        let delay = full.mul_f64(1.0 - cfg.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0));
        self.failures = self.failures.saturating_add(1);
        self.until = Some(now + delay);
        self.last = Some(error);
        delay
    }

    /// A connection reached HTTP/2 (the server's SETTINGS arrived): the back-off ends.
    pub(crate) fn succeeded(&mut self) {
        *self = Backoff::default();
    }

    /// While the back-off lasts: the error a request fails with at once (the last connection
    /// error, saying that the origin is backing off and until when).
    pub(crate) fn blocked(&self, now: Instant) -> Option<Error> {
        let until = self.until.filter(|u| *u > now)?;
        let last = self.last.as_ref()?;
        Some(last.backing_off(self.failures, until - now))
    }

    /// Connections failed in a row.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

/// A number in [0, 1) for the jitter: the standard library's randomly keyed hasher, fed the
/// time (no dependency for a jitter).
pub(crate) fn random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.map_or(0, |d| d.as_nanos()));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn cfg() -> ConnectBackoff {
        ConnectBackoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }

    fn refused() -> Error {
        Error::new(ErrorKind::Connect).with_detail("127.0.0.1:1")
    }

    #[test]
    fn delays_double_up_to_the_bound() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        let delays: Vec<u128> = (0..8)
            .map(|_| b.failed(&cfg(), t0, refused(), 0.0).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(b.failures(), 8);
    }

    #[test]
    fn jitter_takes_up_to_its_share_off() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert_eq!(b.failed(&cfg(), t0, refused(), 0.999_999).as_millis(), 50);
        let mut b = Backoff::default();
        assert_eq!(b.failed(&cfg(), t0, refused(), 0.5).as_millis(), 75);
    }

    #[test]
    fn requests_fail_at_once_while_it_lasts_with_the_last_error() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert!(b.blocked(t0).is_none(), "no failure yet");
        b.failed(&cfg(), t0, refused(), 0.0);
        let e = b
            .blocked(t0 + Duration::from_millis(40))
            .expect("within 100 ms");
        assert_eq!(e.kind(), ErrorKind::Connect);
        let text = e.to_string();
        assert!(text.starts_with("connect to 127.0.0.1:1 failed"), "{text}");
        assert!(text.contains("1 failed connection"), "{text}");
        assert!(text.contains("next attempt in 60ms"), "{text}");
        assert!(b.blocked(t0 + Duration::from_millis(100)).is_none(), "over");
    }

    #[test]
    fn a_connection_that_reaches_http2_ends_it() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        b.failed(&cfg(), t0, refused(), 0.0);
        b.failed(&cfg(), t0, refused(), 0.0);
        b.succeeded();
        assert!(b.blocked(t0).is_none());
        assert_eq!(
            b.failed(&cfg(), t0, refused(), 0.0).as_millis(),
            100,
            "from the start"
        );
    }
}
