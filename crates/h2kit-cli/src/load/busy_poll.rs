//! `--busy-poll`: the generator's threads look at their sockets again instead of sleeping
//! while responses keep coming, and sleep only once none has come for a while.
//!
//! Why: a thread that waits in `epoll_wait` lets its CPU halt, and the server's next write
//! must then wake it. That wake is paid partly by the *server*: its `write` wakes the
//! client's thread, and on a virtual machine waking a halted vCPU is an interrupt through the
//! hypervisor. With `nghttpd` on one CPU and the generator on another (`bench/load-pairs.sh`),
//! the softirq share of the server's CPU, where that wake-up is paid, fell from 8–9% to
//! 2.4–2.9% when `h2kit load` polled, and its requests per second went from 0.96× h2load's
//! to 1.03–1.07×. (A low-priority busy loop beside h2load on its CPU made h2load faster in
//! most runs, not slower: the same effect.) The generator's own wake-up also leaves the
//! latencies it measures: one stream at a time (`-c1 -m1`, pinned), p50 went from 103–106 to
//! 28 µs and requests per second from 7,870 to 18,630–20,109 (h2load: 7,852–8,030).
//!
//! The price is the generator's CPU: it stays busy while responses arrive, whatever it has
//! to do with them. So it is a flag, for a generator with CPUs of its own, not the default: on
//! CPUs shared with the server, a polling client takes time the server could use.
//!
//! How: one task per runtime thread yields in a loop. Tokio runs a yielded task again only
//! after it has looked at the sockets without blocking, so while the task is ready the thread
//! never sleeps. When nothing but the poller has run for [`WINDOW`] (a slow server, a pause),
//! it naps instead, for longer and longer up to [`MAX_NAP`], and the thread sleeps as usual:
//! against a server that answers every few milliseconds it costs a few percent of a CPU.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the poller keeps the thread awake after the last sign of work.
const WINDOW: Duration = Duration::from_micros(200);
/// A turn of the loop longer than this ran other tasks: there is work. (Measured at
/// `-c10 -m100`: turns that found nothing took under 1 µs, those with work 50–200 µs.)
const BUSY_TURN: Duration = Duration::from_micros(5);
const MIN_NAP: Duration = Duration::from_millis(1);
const MAX_NAP: Duration = Duration::from_millis(16);

/// What the poller does next.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Yield: run whatever is ready, look at the sockets, come back.
    Yield,
    /// Sleep this long: nothing has happened for a while.
    Nap(Duration),
}

/// The decision, apart from the clock, so that tests can drive it.
#[derive(Debug)]
struct Policy {
    /// When a turn last showed work (or the poller last woke from a nap).
    active: Instant,
    /// The next nap's length.
    nap: Duration,
}

impl Policy {
    fn new(now: Instant) -> Policy {
        Policy {
            active: now,
            nap: MIN_NAP,
        }
    }

    /// After a turn that lasted `turn` and ended `now`.
    fn after_turn(&mut self, turn: Duration, now: Instant) -> Step {
        if turn > BUSY_TURN {
            self.active = now;
            self.nap = MIN_NAP;
            return Step::Yield;
        }
        if now.saturating_duration_since(self.active) < WINDOW {
            return Step::Yield;
        }
        let nap = self.nap;
        self.nap = (nap * 2).min(MAX_NAP);
        Step::Nap(nap)
    }

    /// After a nap: a fresh window, to see whether work has come back.
    fn after_nap(&mut self, now: Instant) {
        self.active = now;
    }
}

/// Stops the pollers when dropped (at the end of the run, however it ends).
pub(crate) struct Pollers(Arc<AtomicBool>);

impl Drop for Pollers {
    fn drop(&mut self) {
        self.0.store(true, Relaxed);
    }
}

/// Starts one poller per runtime thread. With work stealing two may end up on one thread and
/// none on another; that thread then sleeps as it would without the flag.
pub(crate) fn start(threads: usize) -> Pollers {
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..threads {
        tokio::spawn(run(stop.clone()));
    }
    Pollers(stop)
}

async fn run(stop: Arc<AtomicBool>) {
    let mut policy = Policy::new(Instant::now());
    let mut before = Instant::now();
    while !stop.load(Relaxed) {
        tokio::task::yield_now().await;
        let now = Instant::now();
        match policy.after_turn(now - before, now) {
            Step::Yield => {}
            Step::Nap(d) => {
                tokio::time::sleep(d).await;
                policy.after_nap(Instant::now());
            }
        }
        before = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE_TURN: Duration = Duration::from_micros(1);

    #[test]
    fn keeps_polling_while_turns_show_work() {
        let t0 = Instant::now();
        let mut p = Policy::new(t0);
        // A busy turn every 150 µs, idle turns between: never longer than the window apart.
        let mut t = t0;
        for i in 0..1000 {
            t += Duration::from_micros(10);
            let turn = if i % 15 == 0 {
                BUSY_TURN * 2
            } else {
                IDLE_TURN
            };
            assert_eq!(p.after_turn(turn, t), Step::Yield, "turn {i}");
        }
    }

    #[test]
    fn naps_after_a_window_without_work_and_backs_off() {
        let t0 = Instant::now();
        let mut p = Policy::new(t0);
        let mut t = t0;
        let mut naps = vec![];
        for _ in 0..200 {
            t += Duration::from_micros(10);
            match p.after_turn(IDLE_TURN, t) {
                Step::Yield => {}
                Step::Nap(d) => {
                    naps.push((t - t0, d));
                    t += d;
                    p.after_nap(t);
                }
            }
        }
        // The first nap comes once the window has passed, not before.
        assert!(naps[0].0 >= WINDOW && naps[0].0 < WINDOW + Duration::from_micros(20));
        let lengths: Vec<_> = naps.iter().map(|n| n.1.as_millis()).collect();
        assert_eq!(&lengths[..6], &[1, 2, 4, 8, 16, 16]);
    }

    #[test]
    fn work_after_naps_restarts_polling_and_the_backoff() {
        let t0 = Instant::now();
        let mut p = Policy::new(t0);
        let idle_until_nap = |p: &mut Policy, t: &mut Instant| loop {
            *t += Duration::from_micros(10);
            if let Step::Nap(d) = p.after_turn(IDLE_TURN, *t) {
                *t += d;
                p.after_nap(*t);
                return d;
            }
        };
        let mut t = t0;
        assert_eq!(idle_until_nap(&mut p, &mut t), MIN_NAP);
        assert_eq!(idle_until_nap(&mut p, &mut t), MIN_NAP * 2);
        // Responses again: a busy turn resets both the window and the nap.
        t += Duration::from_micros(10);
        assert_eq!(p.after_turn(BUSY_TURN * 3, t), Step::Yield);
        t += WINDOW - Duration::from_micros(20);
        assert_eq!(p.after_turn(IDLE_TURN, t), Step::Yield);
        assert_eq!(idle_until_nap(&mut p, &mut t), MIN_NAP);
    }
}
