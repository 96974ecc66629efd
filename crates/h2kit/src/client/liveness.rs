//! Whether a client connection is alive: the policy, with time passed in.
//!
//! A request that times out with no frame received since it was written is evidence that the
//! connection may be dead (a netsplit, a peer that stopped reading). The connection turns
//! *suspect*: the pool sends it no new request, and one PING asks for proof of life. Any frame
//! ends the suspicion; none within `ping_timeout` of the PING ends the connection, and every
//! stream on it fails with a retryable error. With `keepalive` set, a connection whose streams
//! are active and from which nothing has arrived for that long is pinged the same way.
//!
//! PINGs stay polite whatever happens: one in flight at most, at most one per
//! [`MIN_PING_INTERVAL`], and only while the peer has sent at least four frames per PING we
//! sent (plus two to start) — servers that count PINGs against the frames they send (gRPC's
//! rule) never see us exceed it. A PING the rules do not allow yet is *owed*: it goes out once
//! they do, and a connection that can never be allowed one is judged as if it had not
//! answered.
//!
//! The connection task feeds this machine what happened and acts on what it answers; the
//! tests below drive it on simulated time.

use std::time::{Duration, Instant};

/// At most one PING per connection this often: at most 5 in any 10 s, well inside the
/// strictest policy servers apply (GOAWAY(ENHANCE_YOUR_CALM) after more than 10 in 10 s), so
/// a slow server whose requests keep timing out is not pinged again and again. A silence
/// within this interval of the last PING still makes the connection suspect (new requests go
/// elsewhere); its PING is owed until the interval allows it.
///
/// An answered PING does not vouch for the connection for this long: a connection cut off
/// right after a PING was answered must not take new requests meanwhile.
pub(crate) const MIN_PING_INTERVAL: Duration = Duration::from_secs(2);

/// What the engine says about the PINGs and frames of the connection.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PingBudget {
    pub pings_sent: u64,
    pub pings_in_flight: usize,
    pub frames_received: u64,
}

/// A PING is awaited (sent, or owed) until `deadline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Awaiting {
    /// The PING went out; otherwise it is owed, and `deadline` is when it may go.
    sent: bool,
    deadline: Instant,
}

/// What a timed-out request makes of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// Frames arrived since the request was written: the connection is alive (a suspicion
    /// its caller published early is lifted).
    Alive,
    /// Nothing arrived: suspect; `ping` says whether to send the PING now (else it is owed).
    Suspect { ping: bool },
    /// Already suspect or awaiting a PING: nothing more to do.
    Unchanged,
}

/// What a deadline of the machine asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Nothing,
    /// Send a PING now.
    Ping,
    /// No proof of life in time: end the connection.
    Dead,
}

#[derive(Debug)]
pub(crate) struct Liveness {
    ping_timeout: Duration,
    keepalive: Option<Duration>,
    awaiting: Option<Awaiting>,
    /// Suspect (not merely awaiting a keepalive PING's answer).
    suspect: bool,
    last_ping_sent: Option<Instant>,
    /// When the last frame arrived (the keepalive clock).
    last_frame_at: Instant,
    /// Frames received when the last cancellation or suspicion started.
    frames_at_evidence: u64,
    /// Streams cancelled after a timeout, still counted as load until the peer proves alive:
    /// a dead connection must never look free.
    cancelled_unconfirmed: usize,
}

impl Liveness {
    pub(crate) fn new(now: Instant, ping_timeout: Duration, keepalive: Option<Duration>) -> Self {
        Liveness {
            ping_timeout,
            keepalive,
            awaiting: None,
            suspect: false,
            last_ping_sent: None,
            last_frame_at: now,
            frames_at_evidence: 0,
            cancelled_unconfirmed: 0,
        }
    }

    /// Whether the politeness rules allow a PING now.
    pub(crate) fn ping_allowed(&self, now: Instant, b: PingBudget) -> bool {
        let spaced = self
            .last_ping_sent
            .is_none_or(|t| now.saturating_duration_since(t) >= MIN_PING_INTERVAL);
        spaced && b.pings_in_flight == 0 && b.pings_sent < 2 + b.frames_received / 4
    }

    fn pinged(&mut self, now: Instant) {
        self.last_ping_sent = Some(now);
        self.awaiting = Some(Awaiting {
            sent: true,
            deadline: now + self.ping_timeout,
        });
    }

    /// A request timed out. `silent`: no frame arrived since it was written; `completed`: its
    /// response completed in the same turn (its slot is free). `b.frames_received` is the
    /// count now.
    pub(crate) fn request_timed_out(
        &mut self,
        now: Instant,
        silent: bool,
        completed: bool,
        b: PingBudget,
    ) -> Timeout {
        if !completed {
            self.cancelled_unconfirmed += 1;
        }
        self.frames_at_evidence = b.frames_received;
        if self.awaiting.is_some() {
            return Timeout::Unchanged;
        }
        if !silent {
            return Timeout::Alive;
        }
        self.suspect = true;
        if self.ping_allowed(now, b) {
            self.pinged(now);
            return Timeout::Suspect { ping: true };
        }
        // Owed: sent when the interval allows (any frame before then clears the suspicion).
        let allowed = self.last_ping_sent.map_or(now, |t| t + MIN_PING_INTERVAL);
        self.awaiting = Some(Awaiting {
            sent: false,
            deadline: allowed.max(now),
        });
        Timeout::Suspect { ping: false }
    }

    /// Frames were counted after a read. True if that ended a suspicion (or a wait for a
    /// keepalive PING's answer): the pool may use the connection again.
    pub(crate) fn frames_seen(&mut self, now: Instant, frames_received: u64) -> bool {
        if frames_received == self.frames_at_evidence {
            return false;
        }
        self.frames_at_evidence = frames_received;
        self.last_frame_at = now;
        self.cancelled_unconfirmed = 0;
        self.suspect = false;
        self.awaiting.take().is_some()
    }

    /// The next deadline; `active`: the connection has open streams.
    pub(crate) fn deadline(&self, active: bool) -> Option<Instant> {
        let keepalive = self
            .keepalive
            .filter(|_| self.awaiting.is_none() && active)
            .map(|k| self.last_frame_at + k);
        match (self.awaiting.map(|a| a.deadline), keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What is due at `now`.
    pub(crate) fn poll(&mut self, now: Instant, active: bool, b: PingBudget) -> Due {
        // Keepalive: streams are active and nothing arrived for the interval: one PING
        // (within the rules), and the same deadline as a suspicion for its answer. The
        // connection is not suspect meanwhile: new streams still go there.
        let keepalive_due = self.awaiting.is_none()
            && active
            && self
                .keepalive
                .is_some_and(|k| now >= self.last_frame_at + k);
        if keepalive_due {
            self.last_frame_at = now;
            if !self.ping_allowed(now, b) {
                return Due::Nothing;
            }
            self.pinged(now);
            return Due::Ping;
        }
        let Some(awaiting) = self.awaiting.filter(|a| now >= a.deadline) else {
            return Due::Nothing;
        };
        if !awaiting.sent && self.ping_allowed(now, b) {
            // Time for the PING the suspicion owed; a dead connection must answer it.
            self.pinged(now);
            return Due::Ping;
        }
        // Unanswered in time, or owed past the politeness budget (more PINGs than frames
        // received allow): judged as unanswered.
        self.awaiting = None;
        Due::Dead
    }

    /// Streams cancelled after a timeout that still count as load.
    pub(crate) fn cancelled_unconfirmed(&self) -> usize {
        self.cancelled_unconfirmed
    }

    /// Suspect: no new streams until the peer shows it is alive.
    #[cfg(test)]
    fn is_suspect(&self) -> bool {
        self.suspect
    }
}

/// How long requests may wait for a suspect connection's PING answer before giving up on it:
/// four round trips (`rtt`, zero if unknown), at least 2 ms and at most `ping_timeout`.
pub(crate) fn suspect_grace(rtt: Duration, ping_timeout: Duration) -> Duration {
    (4 * rtt).clamp(
        Duration::from_millis(2),
        ping_timeout.max(Duration::from_millis(2)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PING_TIMEOUT: Duration = Duration::from_secs(5);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A budget that allows a PING (frames received well above the PINGs sent).
    fn budget(frames: u64) -> PingBudget {
        PingBudget {
            pings_sent: 0,
            pings_in_flight: 0,
            frames_received: frames,
        }
    }

    fn machine(keepalive: Option<Duration>) -> (Liveness, Instant) {
        let t0 = Instant::now();
        (Liveness::new(t0, PING_TIMEOUT, keepalive), t0)
    }

    #[test]
    fn a_silent_timeout_makes_the_connection_suspect_and_sends_one_ping() {
        let (mut l, t0) = machine(None);
        assert_eq!(
            l.request_timed_out(t0, true, false, budget(10)),
            Timeout::Suspect { ping: true }
        );
        assert!(l.is_suspect());
        assert_eq!(l.cancelled_unconfirmed(), 1);
        assert_eq!(l.deadline(true), Some(t0 + PING_TIMEOUT));
        // More timeouts while the PING is out: no second PING, still counted as load.
        let in_flight = PingBudget {
            pings_sent: 1,
            pings_in_flight: 1,
            frames_received: 10,
        };
        assert_eq!(
            l.request_timed_out(t0 + ms(10), true, false, in_flight),
            Timeout::Unchanged
        );
        assert_eq!(l.cancelled_unconfirmed(), 2);
        assert_eq!(l.poll(t0 + ms(4999), true, in_flight), Due::Nothing);
    }

    #[test]
    fn a_timeout_after_frames_arrived_is_not_evidence_of_death() {
        let (mut l, t0) = machine(None);
        assert_eq!(
            l.request_timed_out(t0, false, false, budget(10)),
            Timeout::Alive
        );
        assert!(!l.is_suspect());
        assert_eq!(l.deadline(true), None);
        // A response that completed in the same turn frees its slot at once.
        let (mut l, t0) = machine(None);
        l.request_timed_out(t0, false, true, budget(10));
        assert_eq!(l.cancelled_unconfirmed(), 0);
    }

    #[test]
    fn any_frame_ends_the_suspicion_and_frees_the_cancelled_slots() {
        let (mut l, t0) = machine(None);
        l.request_timed_out(t0, true, false, budget(10));
        assert!(
            !l.frames_seen(t0 + ms(1), 10),
            "no new frame: still suspect"
        );
        assert!(l.is_suspect());
        assert!(l.frames_seen(t0 + ms(2), 11));
        assert!(!l.is_suspect());
        assert_eq!(l.cancelled_unconfirmed(), 0);
        assert_eq!(l.deadline(true), None);
        assert_eq!(l.poll(t0 + PING_TIMEOUT, true, budget(11)), Due::Nothing);
    }

    #[test]
    fn no_frame_within_the_ping_timeout_ends_the_connection() {
        let (mut l, t0) = machine(None);
        l.request_timed_out(t0, true, false, budget(10));
        let out = PingBudget {
            pings_sent: 1,
            pings_in_flight: 1,
            frames_received: 10,
        };
        assert_eq!(l.poll(t0 + PING_TIMEOUT - ms(1), true, out), Due::Nothing);
        assert_eq!(l.poll(t0 + PING_TIMEOUT, true, out), Due::Dead);
        assert_eq!(l.deadline(true), None, "judged once");
    }

    #[test]
    fn an_answered_ping_does_not_vouch_for_two_seconds() {
        let (mut l, t0) = machine(None);
        l.request_timed_out(t0, true, false, budget(10));
        assert!(l.frames_seen(t0 + ms(50), 12));
        // Cut off right after: a silent timeout 1 s later makes it suspect again at once,
        // and its PING is owed until 2 s after the last one.
        let t1 = t0 + Duration::from_secs(1);
        let b = PingBudget {
            pings_sent: 1,
            pings_in_flight: 0,
            frames_received: 12,
        };
        assert_eq!(
            l.request_timed_out(t1, true, false, b),
            Timeout::Suspect { ping: false }
        );
        assert!(l.is_suspect());
        assert_eq!(l.deadline(true), Some(t0 + MIN_PING_INTERVAL));
        assert_eq!(
            l.poll(t0 + MIN_PING_INTERVAL - ms(1), true, b),
            Due::Nothing
        );
        assert_eq!(l.poll(t0 + MIN_PING_INTERVAL, true, b), Due::Ping);
        assert_eq!(
            l.deadline(true),
            Some(t0 + MIN_PING_INTERVAL + PING_TIMEOUT)
        );
    }

    #[test]
    fn pings_stay_within_the_frame_budget() {
        let (l, t0) = machine(None);
        // Two PINGs to start, then one per four frames received.
        let b = |sent, frames| PingBudget {
            pings_sent: sent,
            pings_in_flight: 0,
            frames_received: frames,
        };
        assert!(l.ping_allowed(t0, b(0, 0)));
        assert!(l.ping_allowed(t0, b(1, 0)));
        assert!(!l.ping_allowed(t0, b(2, 0)));
        assert!(!l.ping_allowed(t0, b(2, 3)));
        assert!(l.ping_allowed(t0, b(2, 4)));
        assert!(!l.ping_allowed(t0, b(3, 4)));
        // And one in flight at most.
        let in_flight = PingBudget {
            pings_in_flight: 1,
            ..b(0, 100)
        };
        assert!(!l.ping_allowed(t0, in_flight));
    }

    #[test]
    fn an_owed_ping_past_the_budget_is_judged_unanswered() {
        let (mut l, t0) = machine(None);
        let spent = PingBudget {
            pings_sent: 2,
            pings_in_flight: 0,
            frames_received: 0,
        };
        assert_eq!(
            l.request_timed_out(t0, true, false, spent),
            Timeout::Suspect { ping: false }
        );
        // Never spaced out: the owed PING is due at once, and cannot go.
        assert_eq!(l.deadline(true), Some(t0));
        assert_eq!(l.poll(t0, true, spent), Due::Dead);
    }

    #[test]
    fn keepalive_pings_an_active_connection_that_went_quiet() {
        let k = Duration::from_secs(10);
        let (mut l, t0) = machine(Some(k));
        assert_eq!(l.deadline(false), None, "no streams: no keepalive");
        assert_eq!(l.deadline(true), Some(t0 + k));
        assert_eq!(l.poll(t0 + k - ms(1), true, budget(10)), Due::Nothing);
        assert_eq!(l.poll(t0 + k, true, budget(10)), Due::Ping);
        assert!(!l.is_suspect(), "a keepalive PING does not make it suspect");
        assert_eq!(l.deadline(true), Some(t0 + k + PING_TIMEOUT));
        // Answered: the keepalive clock restarts from the frame.
        assert!(l.frames_seen(t0 + k + ms(5), 11));
        assert_eq!(l.deadline(true), Some(t0 + k + ms(5) + k));
        // Unanswered the next time: dead.
        let t2 = t0 + k + ms(5) + k;
        assert_eq!(l.poll(t2, true, budget(11)), Due::Ping);
        assert_eq!(l.poll(t2 + PING_TIMEOUT, true, budget(11)), Due::Dead);
    }

    #[test]
    fn a_keepalive_the_budget_forbids_waits_for_the_next_interval() {
        let k = Duration::from_secs(10);
        let (mut l, t0) = machine(Some(k));
        let spent = PingBudget {
            pings_sent: 2,
            pings_in_flight: 0,
            frames_received: 0,
        };
        assert_eq!(l.poll(t0 + k, true, spent), Due::Nothing);
        assert_eq!(l.deadline(true), Some(t0 + k + k));
    }

    #[test]
    fn the_suspect_grace_is_four_round_trips_within_bounds() {
        assert_eq!(suspect_grace(Duration::ZERO, PING_TIMEOUT), ms(2));
        assert_eq!(
            suspect_grace(Duration::from_micros(100), PING_TIMEOUT),
            ms(2)
        );
        assert_eq!(suspect_grace(ms(10), PING_TIMEOUT), ms(40));
        assert_eq!(suspect_grace(ms(2000), PING_TIMEOUT), PING_TIMEOUT);
    }
}
