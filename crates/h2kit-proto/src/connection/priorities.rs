//! Extensible priorities on the server (RFC 9218): a response's priority comes from its
//! request's `priority` header and from PRIORITY_UPDATE frames, and decides which streams
//! waiting for the connection window get it first.
//!
//! Scheduling happens where the connection window is the limit: when it reopens, the waiting
//! streams are told in order of urgency (0 first); within one urgency, non-incremental
//! responses one at a time in stream order, then incremental ones, which split the window
//! evenly, in turns that start after the one served last (RFC 9218 §10). Data that finds the window open goes at
//! once, whatever its priority: nothing is held back while the connection has room.

use bytes::Bytes;

use super::recv::{conn_err, PROTOCOL};
use super::{Connection, Role};
use crate::frame::{self, StreamId};
use crate::priority::Priority;
use crate::{Error, ErrorCode};

impl Connection {
    /// A request's priority: a PRIORITY_UPDATE that came before the stream opened (the
    /// client's later word), else its `priority` header (RFC 9218 §5, §7.1, read as the
    /// header section was decoded), else the default.
    pub(super) fn apply_request_priority(&mut self, id: StreamId, header: Option<Priority>) {
        if self.role != Role::Server {
            return;
        }
        let mut early = None;
        if !self.early_priorities.is_empty() {
            if let Some(i) = self.early_priorities.iter().position(|(s, _)| *s == id) {
                early = Some(self.early_priorities.swap_remove(i).1);
            }
            // Streams below this one that never opened (refused, skipped) will not open.
            let max = self.max_peer_id;
            self.early_priorities.retain(|(s, _)| s.0 > max);
        }
        if let Some(p) = early.or(header) {
            if let Some(s) = self.streams.get_mut(&id) {
                s.priority = p;
            }
        }
    }

    /// PRIORITY_UPDATE (RFC 9218 §7.1): a frame of a type RFC 9113 does not know, so it
    /// reaches us as an unknown frame, already charged to the flood budget of ignored frames.
    pub(super) fn recv_priority_update(&mut self, u: frame::Unknown) -> Result<(), Error> {
        if self.role == Role::Client {
            return Err(conn_err(
                PROTOCOL,
                "PRIORITY_UPDATE received by a client (RFC 9218 §7.1)",
            ));
        }
        if !u.stream_id.is_zero() {
            return Err(conn_err(
                PROTOCOL,
                "PRIORITY_UPDATE on a stream other than 0 (RFC 9218 §7.1)",
            ));
        }
        let Some((target, value)) = split_update(&u.payload) else {
            return Err(conn_err(
                ErrorCode::FRAME_SIZE_ERROR,
                "PRIORITY_UPDATE shorter than its stream identifier (RFC 9218 §7.1)",
            ));
        };
        if target.is_zero() {
            return Err(conn_err(
                PROTOCOL,
                "PRIORITY_UPDATE for stream 0 (RFC 9218 §7.1)",
            ));
        }
        if !target.is_client_initiated() {
            return Err(conn_err(
                PROTOCOL,
                "PRIORITY_UPDATE for a push stream, which h2kit never opens (RFC 9218 §7.1)",
            ));
        }
        let p = Priority::parse(value);
        if let Some(s) = self.streams.get_mut(&target) {
            s.priority = p;
            return Ok(());
        }
        if target.0 <= self.max_peer_id {
            // Closed: nothing left to schedule.
            return Ok(());
        }
        // Idle: kept for when it opens, the latest signal per stream.
        if let Some(e) = self.early_priorities.iter_mut().find(|(s, _)| *s == target) {
            e.1 = p;
            return Ok(());
        }
        if self.early_priorities.len() >= self.local_max_streams as usize {
            return Err(conn_err(
                PROTOCOL,
                "PRIORITY_UPDATE for more idle streams than SETTINGS_MAX_CONCURRENT_STREAMS \
                 (RFC 9218 §7.1)",
            ));
        }
        self.early_priorities.push((target, p));
        Ok(())
    }

    /// The connection window reopened: the streams waiting for it are told, in the order
    /// they should take it (see the module's documentation).
    pub(super) fn unblock_in_priority_order(&mut self) {
        let mut blocked: Vec<(Priority, StreamId)> = self
            .streams
            .iter()
            .filter(|(_, s)| s.send_blocked && s.send.available() > 0)
            .map(|(id, s)| (s.priority, *id))
            .collect();
        if blocked.len() > 1 {
            let last = self.last_turn;
            blocked.sort_unstable_by_key(|(p, id)| {
                // Incremental streams start after the one served last, and wrap around.
                let turn = p.incremental && id.0 <= last;
                (p.urgency, p.incremental, turn, id.0)
            });
            // Each run of incremental streams of one urgency splits the window evenly. A
            // stream that had more than its share gets another turn at the end of the queue
            // (see `send_data`), so no window is left unused while data waits.
            let window = self.conn_send.available();
            let mut i = 0;
            while i < blocked.len() {
                let (p, _) = blocked[i];
                let run = blocked[i..].iter().take_while(|(q, _)| *q == p).count();
                let share = if p.incremental && run > 1 {
                    window.div_ceil(run).clamp(1, u32::MAX as usize) as u32
                } else {
                    0
                };
                for (_, id) in &blocked[i..i + run] {
                    if let Some(s) = self.streams.get_mut(id) {
                        s.share = share;
                    }
                }
                i += run;
            }
        }
        for (_, id) in blocked {
            self.unblock(id);
        }
    }
}

/// A PRIORITY_UPDATE payload: the prioritized stream (its reserved bit ignored) and the
/// priority field value.
fn split_update(payload: &Bytes) -> Option<(StreamId, &[u8])> {
    let id: [u8; 4] = payload.get(..4)?.try_into().ok()?;
    Some((
        StreamId(u32::from_be_bytes(id) & 0x7fff_ffff),
        &payload[4..],
    ))
}
