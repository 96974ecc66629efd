//! Flood guards: budgets that a peer's cheap-to-send, costly-to-handle frames draw from. A
//! budget refills with time (and, for resets, with streams that complete); an empty budget
//! ends the connection with GOAWAY(ENHANCE_YOUR_CALM).
//!
//! The budgets are sized so that the patterns of well-behaved clients never come near them —
//! a client that cancels every request and sends a PING after each reset at 1,000 requests/s,
//! resets of closed streams (ignored, not counted), WINDOW_UPDATE on closed streams — while an
//! attacker is cut off within a bounded number of frames:
//!
//! - **Rapid reset** (CVE-2023-44487): streams the peer opens and resets, and streams we reset
//!   because of the peer's frames (MadeYouReset, CVE-2025-8671), draw from one budget. A
//!   completed stream gives some back.
//! - **Empty frames** (CVE-2019-9518): DATA without payload or END_STREAM, and HEADERS or
//!   CONTINUATION without payload or END_HEADERS, carry nothing and cost a wake-up each.
//! - **CONTINUATION flood** (CVE-2024-27316 class): a header block may span at most
//!   `max_continuation_frames` frames (its bytes are bounded by `max_header_block_bytes`).
//! - **PRIORITY flood** (CVE-2019-9513) and unknown frame types: h2kit ignores both, so they
//!   build no state, but each still costs a parse. An attacker writing millions per second
//!   from one connection takes a core's share from everyone else; they draw from a budget.

use std::time::Instant;

/// Flood limits. Defaults, and why:
///
/// - `stream_resets`: burst 1,000, refill 2,000/s, and `resets_per_completed_stream` (3) back
///   for every stream that completes. A client cancelling every request at 1,000 requests/s
///   never runs dry, nor does one cancelling up to three in four of its requests at any rate
///   (a client whose deadlines are short for the server's latency: 100 tasks cancelling at
///   random between 0 and 3 ms, against a 1 ms handler, cancel 53–58% of 22,000 requests/s,
///   more when the machine is loaded — with one back per completion, that drained the budget
///   in a loaded test run); a rapid-reset attacker at 100,000 streams/s is cut off after about
///   1,000 streams (a few milliseconds), and one that completes a stream to earn resets must
///   send a whole request for every three it resets.
/// - `empty_frames`: burst 100, refill 100/s. No HTTP/2 implementation we know of sends empty
///   non-final frames at all.
/// - `max_continuation_frames`: 256 per header block — a 64 KiB block in 256-byte fragments.
/// - `ignored_frames`: PRIORITY and unknown-type frames, burst 1,000, refill 1,000/s, and
///   every stream the peer opens gives one back. RFC 7540 clients send a few PRIORITY frames
///   when a connection starts (Firefox's group streams) and perhaps one per stream when they
///   reprioritize; extension and GREASE frames come one at a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloodLimits {
    /// Streams reset (by the peer, or by us for its frames).
    pub stream_resets: Rate,
    /// Resets given back for each stream that completes.
    pub resets_per_completed_stream: u32,
    /// DATA/HEADERS/CONTINUATION frames that carry nothing and end nothing.
    pub empty_frames: Rate,
    /// CONTINUATION frames in one header block.
    pub max_continuation_frames: u32,
    /// PRIORITY and unknown-type frames.
    pub ignored_frames: Rate,
}

/// A token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// How many may come at once.
    pub burst: u32,
    /// How fast the budget refills.
    pub per_second: u32,
}

impl Default for FloodLimits {
    fn default() -> Self {
        FloodLimits {
            stream_resets: Rate {
                burst: 1_000,
                per_second: 2_000,
            },
            resets_per_completed_stream: 3,
            empty_frames: Rate {
                burst: 100,
                per_second: 100,
            },
            max_continuation_frames: 256,
            ignored_frames: Rate {
                burst: 1_000,
                per_second: 1_000,
            },
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    rate: Rate,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(rate.burst),
            rate,
            last: now,
        }
    }

    /// Takes one token; false if there was none.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = self.last.max(now);
        self.refill(elapsed.as_secs_f64() * f64::from(self.rate.per_second));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Gives tokens back (useful work done), up to the burst.
    pub(crate) fn refill(&mut self, n: f64) {
        self.tokens = (self.tokens + n).min(f64::from(self.rate.burst));
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Guard {
    pub resets: Bucket,
    pub empty: Bucket,
    pub ignored: Bucket,
    pub limits: FloodLimits,
}

impl Guard {
    pub(crate) fn new(limits: FloodLimits, now: Instant) -> Guard {
        Guard {
            resets: Bucket::new(limits.stream_resets, now),
            empty: Bucket::new(limits.empty_frames, now),
            ignored: Bucket::new(limits.ignored_frames, now),
            limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills_with_time_and_work() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            Rate {
                burst: 3,
                per_second: 10,
            },
            t0,
        );
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
        b.refill(1.0);
        assert!(b.take(t0 + Duration::from_millis(100)));
        // Never above the burst, however long it rested.
        let later = t0 + Duration::from_secs(60);
        assert!(b.take(later) && b.take(later) && b.take(later));
        assert!(!b.take(later));
    }
}
