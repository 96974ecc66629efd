//! Per-stream state (RFC 9113 §5.1).
//!
//! Only streams that are open or half-closed are stored: "idle" is any identifier above the
//! highest one used by its initiator, and "closed" any identifier at or below it that is not
//! stored. So the store's size *is* the concurrency count of §5.1.2, and a stream stops
//! counting in the very call that removes it — the call that queues or processes the frame
//! that closes it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::flow::{RecvWindow, SendWindow};
use crate::frame::StreamId;

/// The states of §5.1 that a stream can be observed in. The reserved states need server push,
/// which h2kit never uses (SETTINGS_ENABLE_PUSH is always 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Not used yet.
    Idle,
    /// Both sides may send.
    Open,
    /// We ended our side; the peer may still send.
    HalfClosedLocal,
    /// The peer ended its side; we may still send.
    HalfClosedRemote,
    /// Both sides ended, or the stream was reset.
    Closed,
}

/// Where the receiving side of a stream is in its message (§8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecvPhase {
    /// Waiting for the request or (final) response header section.
    Head,
    /// Header section received; DATA and trailers may follow.
    Body,
}

#[derive(Debug)]
pub(crate) struct Stream {
    /// END_STREAM sent.
    pub send_closed: bool,
    /// END_STREAM received.
    pub recv_closed: bool,
    /// Our header section (request or final response) has been sent.
    pub head_sent: bool,
    pub phase: RecvPhase,
    pub send: SendWindow,
    pub recv: RecvWindow,
    /// A `send_data` call could not send everything: report when the window opens.
    pub send_blocked: bool,
    /// The peer's declared content-length and the DATA bytes counted against it (§8.1.1).
    pub content_length: Option<u64>,
    pub data_received: u64,
    /// Client side: the request was HEAD, so the response carries no content (RFC 9110 §9.3.2).
    pub head_request: bool,
    /// Client side: where the response head waits in the event queue, until the first DATA
    /// (see `connection::events`).
    pub head_event: Option<u32>,
    /// The application reads no more of the peer's message (`Connection::discard_incoming`):
    /// its DATA is checked like any other, then dropped instead of delivered.
    pub discard: bool,
    /// A drain deadline is queued for this stream (see `Connection::check_drain`).
    pub draining: bool,
    /// Server side: the response's priority (RFC 9218), from the request's `priority` header
    /// or a PRIORITY_UPDATE; it orders streams waiting for the connection window.
    pub priority: crate::priority::Priority,
    /// Its share of a reopened connection window, which it splits with the other
    /// incremental streams of its urgency (RFC 9218 §10): the most its next `send_data` may
    /// send (0: no share, no limit).
    pub share: u32,
}

impl Stream {
    pub(crate) fn new(send: u32, recv: u32) -> Stream {
        Stream {
            send_closed: false,
            recv_closed: false,
            head_sent: false,
            phase: RecvPhase::Head,
            send: SendWindow::new(send),
            recv: RecvWindow::new(recv, recv),
            send_blocked: false,
            content_length: None,
            data_received: 0,
            head_request: false,
            head_event: None,
            discard: false,
            draining: false,
            priority: crate::priority::Priority::DEFAULT,
            share: 0,
        }
    }

    /// Whether DATA the application consumed reopens the stream window: while the peer is
    /// still sending, except for a message nobody reads once our side has ended (its drain is
    /// bounded by the window it has left, see `Connection::discard_incoming`).
    pub(crate) fn returns_credit(&self) -> bool {
        !(self.recv_closed || (self.discard && self.send_closed))
    }

    pub(crate) fn state(&self) -> StreamState {
        match (self.send_closed, self.recv_closed) {
            (false, false) => StreamState::Open,
            (true, false) => StreamState::HalfClosedLocal,
            (false, true) => StreamState::HalfClosedRemote,
            (true, true) => StreamState::Closed,
        }
    }
}

/// Stream identifiers are small distinct integers: a multiplicative hash spreads them well and
/// costs one instruction, where SipHash would dominate a stream lookup. (Not DoS-resistant, and
/// need not be: the peer cannot choose many colliding ids, since ids must increase.)
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub(crate) type StreamMap = HashMap<StreamId, Stream, BuildHasherDefault<IdHasher>>;

/// A map keyed by stream id with the cheap [`IdHasher`], for drivers that keep per-stream state.
pub type StreamIdMap<V> = HashMap<StreamId, V, BuildHasherDefault<IdHasher>>;
