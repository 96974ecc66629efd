//! The task's deadlines: handshake, idle, shutdown grace, the engine's own timeouts, the
//! role's own, streams stalled by a zero window, and the metrics flush.

use std::future::Future;
use std::task::Context;
use std::time::Duration;

use h2kit_proto::{ErrorCode, StreamId};
use tokio::time::Instant;

use super::{Driver, Io, Role, StreamExt, COMPACT_AFTER};
use crate::error::StreamError;
use crate::metrics::semconv::Failure;

impl<T: Io, R: Role> Driver<T, R> {
    /// Resets streams whose data could not move for `send_stall_timeout` (the peer keeps its
    /// window at zero: a slow-read attack, CVE-2019-9517). Their handlers see the reset.
    pub(super) fn reset_stalled(&mut self, now: Instant) -> bool {
        let Some(limit) = self.config.send_stall_timeout else {
            return false;
        };
        if self.stalled.is_empty() {
            return false;
        }
        let expired: Vec<StreamId> = self
            .stalled
            .iter()
            .filter(|(_, since)| now >= **since + limit)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            self.unstall(*id);
            let Some(mut ctx) = self.remove_stream(*id) else {
                continue;
            };
            ctx.fail_pending(&StreamError::Protocol(ErrorCode::CANCEL));
            ctx.ext.abort();
            R::on_stream_end(self, ctx.ext, Some(Failure::SendStall));
            self.conn.reset(*id, ErrorCode::CANCEL);
            tracing::debug!(stream = id.0, "reset: no flow-control window for {limit:?}");
        }
        !expired.is_empty()
    }

    /// Handshake, idle and shutdown-grace deadlines, and the engine's own timeouts.
    pub(super) fn poll_timers(&mut self, cx: &mut Context<'_>) -> bool {
        let now = Instant::now();
        let mut fired = false;
        if !self.conn.peer_settings_received()
            && now >= self.started + self.config.handshake_timeout
        {
            self.conn
                .goaway(ErrorCode::SETTINGS_TIMEOUT, "no connection preface in time");
            fired = true;
        }
        let active = self.conn.active_streams();
        if active == (0, 0) {
            let since = *self.idle_since.get_or_insert(now);
            if !self.compacted && now >= since + COMPACT_AFTER {
                self.compact();
            }
            if now >= since + self.config.idle_timeout && !self.conn.is_closed() {
                self.conn.close_idle();
                fired = true;
            }
        } else {
            self.idle_since = None;
        }
        if let Some(start) = self.shutdown_started {
            if now >= start + self.config.shutdown_grace && !self.conn.is_closed() {
                self.conn
                    .goaway(ErrorCode::NO_ERROR, "shutdown grace period over");
                fired = true;
            }
        }
        if R::on_timer(self, now) {
            fired = true;
        }
        if self.reset_stalled(now) {
            fired = true;
        }
        if let Some(t) = self.conn.poll_timeout() {
            if Instant::from_std(t) <= now {
                self.conn.handle_timeout(now.into_std());
                fired = true;
            }
        }
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        if let Some(limit) = self.config.send_stall_timeout {
            if let Some(since) = self.stalled.values().min() {
                consider(*since + limit);
            }
        }
        if !self.conn.peer_settings_received() {
            consider(self.started + self.config.handshake_timeout);
        }
        if let Some(since) = self.idle_since {
            consider(since + self.config.idle_timeout);
            if !self.compacted {
                consider(since + COMPACT_AFTER);
            }
        }
        if let Some(start) = self.shutdown_started {
            consider(start + self.config.shutdown_grace);
        }
        if let Some(t) = self.conn.poll_timeout() {
            consider(Instant::from_std(t));
        }
        if let Some(t) = R::deadline(self) {
            consider(t);
        }
        // Resetting a timer costs a trip through the timer wheel: only when the deadline moved.
        if let Some(next) = next {
            if self.timer.deadline() != next {
                self.timer.as_mut().reset(next);
            }
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            fired = true;
        }
        fired
    }

    /// Metrics: rare events (resets, GOAWAYs, PINGs) at once, frame counts at most once a
    /// second, everything when the connection ends.
    pub(super) fn flush_stats(&mut self, now: Instant) {
        let Some(sink) = self.stats.as_mut() else {
            return;
        };
        if now >= self.next_flush || sink.rare_events_pending(self.conn.stats()) {
            self.next_flush = now + Duration::from_secs(1);
            sink.flush(self.conn.stats());
        }
    }
}
