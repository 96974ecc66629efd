//! The penalty box: a source whose connection was ended for a flood may not open another one
//! for a while. Without it, an attacker cut off after a bounded number of frames simply
//! reconnects and gets a fresh budget on every connection; with it, each strike costs the
//! attacker `base × 2^strikes` (at most a minute) of silence, while its victims' existing
//! connections — the server's legitimate clients — are untouched.
//!
//! The price: other clients behind the same address (a NAT) cannot open *new* connections
//! during the penalty. `ServerConfig::flood_penalty = None` turns it off.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many sources are remembered (the oldest penalties are forgotten first).
const MAX_SOURCES: usize = 10_000;
const MAX_PENALTY: Duration = Duration::from_secs(60);

pub(crate) struct PenaltyBox {
    base: Duration,
    sources: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl PenaltyBox {
    pub(crate) fn new(base: Duration) -> PenaltyBox {
        PenaltyBox {
            base,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` is serving a penalty now.
    pub(crate) fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources.get(&ip).is_some_and(|(until, _)| now < *until)
    }

    /// A connection from `ip` was ended for a flood.
    pub(crate) fn strike(&self, ip: IpAddr, now: Instant) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&ip) {
            if let Some(oldest) = sources.iter().min_by_key(|(_, (u, _))| *u).map(|(k, _)| *k) {
                sources.remove(&oldest);
            }
        }
        let e = sources.entry(ip).or_insert((now, 0));
        // Strikes are forgiven once a penalty as long as the last one has passed quietly.
        let last = self.penalty(e.1.saturating_sub(1));
        if e.1 > 0 && now > e.0 + last {
            e.1 = 0;
        }
        e.0 = now + self.penalty(e.1);
        e.1 += 1;
    }

    fn penalty(&self, strikes: u32) -> Duration {
        (self.base * 2u32.pow(strikes.min(10))).min(MAX_PENALTY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalties_double_and_are_forgiven() {
        let t0 = Instant::now();
        let b = PenaltyBox::new(Duration::from_millis(100));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(!b.blocked(ip, t0));
        b.strike(ip, t0);
        assert!(b.blocked(ip, t0 + Duration::from_millis(99)));
        assert!(!b.blocked(other, t0));
        assert!(!b.blocked(ip, t0 + Duration::from_millis(100)));
        // A second strike right after: twice as long.
        let t1 = t0 + Duration::from_millis(100);
        b.strike(ip, t1);
        assert!(b.blocked(ip, t1 + Duration::from_millis(199)));
        assert!(!b.blocked(ip, t1 + Duration::from_millis(200)));
        // Long after: back to the base penalty.
        let t2 = t1 + Duration::from_secs(10);
        b.strike(ip, t2);
        assert!(!b.blocked(ip, t2 + Duration::from_millis(100)));
    }
}
