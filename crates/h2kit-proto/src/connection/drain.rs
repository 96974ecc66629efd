//! A peer's message that the application no longer reads (RFC 9113 §8.1).
//!
//! A server may answer before the request has fully arrived, and a handler often does without
//! reading the body. The stream is then half-closed (local), and RFC 9113 §5.1 keeps every rule
//! in force on it: what the peer sends next is judged exactly as if our response had not gone
//! out yet. Resetting the stream as soon as the response is complete — which §8.1 allows —
//! would make the answers to the peer's next frames depend on whether they were read before or
//! after the handler finished: after our reset, §5.1 says to ignore them. So the stream is kept,
//! its DATA checked and dropped, and RST_STREAM(NO_ERROR) is sent only when the peer goes past
//! a bound:
//!
//! - the stream window: once our side has ended, no more stream-level credit is returned, so
//!   the peer can send at most what its window still allows. When that is used up and the
//!   message is not known to be complete, the peer can only wait: the reset comes at once.
//! - time: `Config::drain_timeout` after our side ended (and the application stopped reading).
//!
//! While our side is still sending, the stream credit of dropped DATA is returned as usual: a
//! peer that sends its request before reading our response must not be stalled by a handler
//! that streams a long response without reading the request.

use super::Connection;
use crate::frame::StreamId;
use crate::ErrorCode;

impl Connection {
    /// The application will not read the rest of the peer's message on `id` (a handler that
    /// answered without reading the request body, or dropped it). From now on the stream's
    /// DATA is checked by every rule, then dropped, its connection-level credit returned at
    /// once; trailers are checked and dropped. Once our side of the stream has ended too, the
    /// peer gets `Config::drain_timeout` and the rest of its stream window to end its side,
    /// then RST_STREAM(NO_ERROR) (RFC 9113 §8.1: the response stands; the client just stops
    /// sending). A stream that is not receiving any more is left as it is.
    pub fn discard_incoming(&mut self, id: StreamId) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.recv_closed || s.discard {
            return;
        }
        s.discard = true;
        self.check_drain(id);
    }

    /// A discarded stream whose local side has ended, after it changed: resets it if the peer
    /// has no window left to finish its message with, or else makes sure its deadline is
    /// queued.
    pub(super) fn check_drain(&mut self, id: StreamId) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if !(s.discard && s.send_closed) || s.recv_closed {
            return;
        }
        // A message known complete (its content-length arrived) still needs END_STREAM, which
        // an empty DATA frame can carry without any window: wait for it.
        let complete = s.content_length.is_some_and(|n| s.data_received >= n);
        if s.recv.window() <= 0 && !complete {
            self.send_reset(id, ErrorCode::NO_ERROR);
            return;
        }
        if !s.draining {
            s.draining = true;
            let deadline = self.last_instant + self.config.drain_timeout;
            // Entries of streams that ended before their deadline stay until it passes; past
            // twice the live streams they are swept, so the queue is bounded by the streams
            // open (amortized constant time per entry).
            if self.draining.len() > 2 * self.streams.len() + 64 {
                let streams = &self.streams;
                self.draining.retain(|(id, _)| streams.contains_key(id));
            }
            self.draining.push_back((id, deadline));
        }
    }

    /// Ends every stream that only waits for the peer to finish a discarded message (at the
    /// final GOAWAY of a graceful shutdown: nothing more of ours is pending on them).
    pub(super) fn reset_drained(&mut self) {
        let ids: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, s)| s.discard && s.send_closed && !s.recv_closed)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.send_reset(id, ErrorCode::NO_ERROR);
        }
        self.draining.clear();
    }
}
