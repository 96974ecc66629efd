//! Closed streams (RFC 9113 §5.1 "closed"): how each recently closed stream ended is
//! remembered for a bounded time and count, because it decides what a late frame on it gets.

use super::recv::{conn_err, PROTOCOL};
use super::{Connection, Ended};
use crate::frame::StreamId;
use crate::{Error, ErrorCode};

impl Connection {
    /// Remembers how a stream ended, so that late frames on it are judged by §5.1: for
    /// `reset_retention`, at most `max_reset_retained` streams (oldest forgotten first).
    pub(super) fn remember(&mut self, id: StreamId, how: Ended) {
        // A stream we opened that ended normally needs no entry: any of our own identifiers
        // that is neither open nor remembered is treated as finished (`frame_on_closed`).
        // That saves a map entry and its expiry for every request a client sends.
        if self.config.max_reset_retained == 0 || (how == Ended::Finished && self.is_local(id)) {
            return;
        }
        // Remembered anew (a closed stream answered with our RST_STREAM): the memory runs
        // from now, and the earlier queue entry no longer expires it.
        let seq = self.ended_seq;
        self.ended_seq = seq.wrapping_add(1);
        self.ended.insert(id, (how, seq));
        if self.ended_queue.len() >= self.config.max_reset_retained {
            if let Some((old, old_seq, _)) = self.ended_queue.pop_front() {
                self.forget_ended(old, old_seq);
            }
        }
        self.ended_queue.push_back((id, seq, self.last_instant));
    }

    /// How a stream ended, if remembered.
    pub(super) fn ended(&self, id: StreamId) -> Option<Ended> {
        self.ended.get(&id).map(|(how, _)| *how)
    }

    /// Expires the memory of `id` that queue entry `seq` made (not a newer one).
    pub(super) fn forget_ended(&mut self, id: StreamId, seq: u32) {
        use std::collections::hash_map::Entry;
        if let Entry::Occupied(e) = self.ended.entry(id) {
            if e.get().1 == seq {
                e.remove();
            }
        }
    }

    /// DATA or HEADERS on a stream that is closed (§5.1 "closed").
    ///
    /// After our own RST_STREAM the peer may not know yet: dropped (§5.1). Otherwise a stream
    /// error STREAM_CLOSED, which §6.1 requires for DATA on any stream that is neither open nor
    /// half-closed (local), and which is also the answer in half-closed (remote) (§5.1). RFC
    /// 9113 allows, but no longer requires, a connection error after END_STREAM both ways;
    /// keeping to the stream error makes the answer the same whether our own END_STREAM went
    /// out before the frame arrived or after — a matter of timing the peer cannot see.
    pub(super) fn frame_on_closed(
        &mut self,
        id: StreamId,
        what: &'static str,
    ) -> Result<(), Error> {
        match self.ended(id) {
            Some(Ended::ResetByUs) => {
                self.stats.frames_ignored += 1;
                Ok(())
            }
            Some(Ended::ResetByPeer) => Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "frame after the peer's own RST_STREAM (RFC 9113 §5.1, §6.1)",
            )),
            Some(Ended::Finished) => Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "frame on a stream closed by END_STREAM (RFC 9113 §5.1, §6.1)",
            )),
            // One of ours that finished (those are not remembered), or a reset long forgotten.
            None if self.is_local(id) => Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "frame on a closed stream (RFC 9113 §5.1, §6.1)",
            )),
            // A new header block on an identifier not above every earlier one: never opened
            // (implicitly closed), or closed so long ago it was forgotten.
            None if what == "HEADERS" => Err(conn_err(
                PROTOCOL,
                "stream identifier not above every earlier one (RFC 9113 §5.1.1)",
            )),
            None => Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "DATA on a closed stream (RFC 9113 §6.1)",
            )),
        }
    }
}
