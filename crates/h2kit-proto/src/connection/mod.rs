//! The connection state machine (RFC 9113 §3–§8), for the client and the server role.
//!
//! Bytes in ([`Connection::recv`]), events out ([`Connection::poll_event`]), commands in (open
//! a stream, send data, reset, ping, GOAWAY, change settings), bytes out
//! ([`Connection::poll_transmit`]). Time is passed in. Every frame is written into the output
//! buffer in the same call that decides to send it, and every state change that frame implies
//! — above all, a stream no longer counting against the concurrency limit — happens in that
//! same call. The driver owns the socket and only moves bytes.

mod closed;
mod config;
mod drain;
mod events;
mod guard;
mod memo;
mod peer_start;
mod priorities;
mod recv;
mod send;
mod settings;

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

pub use crate::stats::Flood;
pub use config::Config;
pub use guard::{FloodLimits, Rate};

use crate::event::Event;
use crate::flow::{RecvWindow, SendWindow};
use crate::frame::{self, Frame, FrameDecoder, Setting, Settings, StreamId};
use crate::hpack;
use crate::stats::Stats;
use crate::stream::{IdHasher, StreamMap, StreamState};
use crate::trace::{self, Direction};
use crate::Error;

/// The client connection preface (§3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Which side of the connection we are.
pub enum Role {
    /// We opened the connection and send requests.
    Client,
    /// We accepted the connection and answer requests.
    Server,
}

/// Why a command could not be carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The peer's MAX_CONCURRENT_STREAMS is reached: wait for [`Event::StreamsAvailable`].
    ConcurrencyLimit,
    /// GOAWAY was sent or received: no new streams on this connection.
    GoingAway,
    /// All client stream identifiers (up to 2^31-1) are used up.
    StreamIdsExhausted,
    /// The stream is not open for this (closed, reset, or not ours).
    StreamClosed,
    /// The call does not fit the stream's state (DATA before headers, a second response...).
    InvalidState(&'static str),
    /// The message would be malformed (§8.2.2).
    Malformed(&'static str),
    /// The connection has failed or closed.
    ConnectionClosed,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::ConcurrencyLimit => f.write_str("peer's MAX_CONCURRENT_STREAMS reached"),
            SendError::GoingAway => f.write_str("connection is going away"),
            SendError::StreamIdsExhausted => f.write_str("stream identifiers exhausted"),
            SendError::StreamClosed => f.write_str("stream is closed"),
            SendError::InvalidState(s) | SendError::Malformed(s) => f.write_str(s),
            SendError::ConnectionClosed => f.write_str("connection is closed"),
        }
    }
}

impl std::error::Error for SendError {}

/// Where the two-phase graceful shutdown of §6.8 stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shutdown {
    None,
    /// GOAWAY(2^31-1) and a PING sent; waiting for the PING's ACK.
    Draining {
        ping: u64,
    },
    /// The final GOAWAY was sent.
    Final,
}

/// A header block spread over HEADERS and CONTINUATION frames (§6.10).
struct PendingBlock {
    /// Frames of the block so far (HEADERS and CONTINUATIONs).
    frames: u32,
    stream: StreamId,
    end_stream: bool,
    self_dependent: bool,
    block: BytesMut,
}

/// How a recently closed stream ended, which decides what late frames on it mean (§5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    /// We sent RST_STREAM (or refused or ignored the stream): the peer may not know yet, so
    /// its late frames are dropped.
    ResetByUs,
    /// The peer sent RST_STREAM: anything but PRIORITY afterwards is a stream error.
    ResetByPeer,
    /// END_STREAM both ways: anything afterwards is a connection error STREAM_CLOSED.
    Finished,
}

/// How each remembered stream ended, and the number of the `ended_queue` entry that expires
/// it (older entries for the stream are stale). A number rather than the entry's instant: the
/// map is touched for every stream a server finishes, and 4 bytes keep its entries small.
type EndedMap = HashMap<StreamId, (Ended, u32), BuildHasherDefault<IdHasher>>;

/// One HTTP/2 connection, sans IO: bytes in ([`recv`](Self::recv)), bytes out
/// ([`poll_transmit`](Self::poll_transmit)), events out ([`poll_event`](Self::poll_event)),
/// the application's actions in, time passed in.
pub struct Connection {
    role: Role,
    config: Config,
    frames: FrameDecoder,
    decoder: hpack::Decoder,
    /// The last indexed-only head decoded, to copy instead of decoding it again.
    head_memo: Option<Box<memo::HeadMemo>>,
    encoder: hpack::Encoder,
    streams: StreamMap,
    /// Open or half-closed streams we started, and the peer started (§5.1.2).
    active_local: usize,
    active_remote: usize,
    next_local_id: u32,
    /// Highest stream id the peer has used: ids above are idle, below closed if not stored.
    max_peer_id: u32,
    /// Highest peer stream we accepted for processing (the last_stream_id of our GOAWAY).
    last_processed_peer_id: u32,

    /// Our SETTINGS awaiting ACK, oldest first, with the time they were sent.
    pending_settings: VecDeque<(Settings, Instant)>,
    /// Our limits in force (the more permissive of acknowledged and pending values where the
    /// peer may already use either).
    local_max_streams: u32,
    local_initial_window: u32,
    /// The peer's settings in force.
    peer_max_streams: u32,
    peer_initial_window: u32,
    peer_max_frame_size: u32,
    peer_max_header_list_size: u32,
    peer_settings_received: bool,
    /// Client: the server advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
    peer_connect_protocol: bool,
    /// Client: the server's first bytes were judged HTTP/2 (see `peer_start`).
    server_start_checked: bool,
    /// Client: the server does not speak HTTP/2; what it answered, in words.
    not_http2: Option<Box<str>>,
    /// The header blocks of both directions decoded for the frame trace, when it was on as
    /// the connection began (an observer must see every block from the start).
    tracer: Option<Box<trace::HeaderTracer>>,

    conn_send: SendWindow,
    conn_recv: RecvWindow,

    continuation: Option<PendingBlock>,
    guard: guard::Guard,
    /// How recently closed streams ended, remembered for `reset_retention` (bounded count).
    ended: EndedMap,
    /// (stream, entry number, when it was remembered), oldest first.
    ended_queue: VecDeque<(StreamId, u32, Instant)>,
    /// The number of the next `ended_queue` entry.
    ended_seq: u32,
    /// Streams whose incoming message is discarded and whose local side has ended, with the
    /// instant by which the peer must end its side (`drain_timeout`); in deadline order.
    draining: VecDeque<(StreamId, Instant)>,

    next_ping: u64,
    pings_in_flight: Vec<(u64, Instant)>,
    shutdown: Shutdown,
    goaway_sent: bool,
    goaway_received: Option<StreamId>,
    /// Server: bytes of the client preface matched so far.
    preface_matched: usize,

    out: BytesMut,
    /// PING acknowledgements, written ahead of everything queued in `out` — once the
    /// connection preface (the start of `out`) has gone out (§3.4: SETTINGS comes first).
    urgent: BytesMut,
    preface_sent: bool,
    header_buf: BytesMut,
    events: events::EventQueue,
    stats: Stats,
    error: Option<Error>,
    want_streams_available: bool,
    /// Server: priorities signalled by PRIORITY_UPDATE for streams not opened yet (RFC 9218
    /// §7.1), applied when they open; at most as many as our concurrency limit.
    early_priorities: Vec<(StreamId, crate::priority::Priority)>,
    /// Server: where the last turn-taking among incremental streams stopped (RFC 9218 §10).
    last_turn: u32,
    /// The latest instant passed in (the engine has no clock of its own).
    last_instant: Instant,
}

impl Connection {
    /// A client connection; its preface and SETTINGS are queued at once.
    pub fn client(config: Config, now: Instant) -> Connection {
        Connection::new(Role::Client, config, now)
    }

    /// A server connection; it waits for the client's preface.
    pub fn server(config: Config, now: Instant) -> Connection {
        Connection::new(Role::Server, config, now)
    }

    /// A connection of `role`.
    pub fn new(role: Role, config: Config, now: Instant) -> Connection {
        let mut frames = FrameDecoder::new();
        frames.set_max_frame_size(config.max_frame_size);
        let mut decoder = hpack::Decoder::new(config.header_table_size as usize);
        decoder.set_max_header_list_size(config.max_header_list_size as usize);
        let mut conn = Connection {
            role,
            frames,
            decoder,
            head_memo: None,
            encoder: hpack::Encoder::new(),
            streams: StreamMap::default(),
            active_local: 0,
            active_remote: 0,
            next_local_id: if role == Role::Client { 1 } else { 2 },
            max_peer_id: 0,
            last_processed_peer_id: 0,
            pending_settings: VecDeque::new(),
            local_max_streams: config.max_concurrent_streams,
            // Until the peer acknowledges our first SETTINGS it may use the default window
            // (§6.5.3, §6.9.2): a smaller configured window applies on the ACK, a larger one
            // at once (see `apply_acked_settings` and `send_settings`).
            local_initial_window: config.initial_stream_window.max(65_535),
            peer_max_streams: config.assumed_peer_max_streams,
            peer_initial_window: 65_535,
            peer_max_frame_size: frame::DEFAULT_MAX_FRAME_SIZE,
            peer_max_header_list_size: u32::MAX,
            peer_settings_received: false,
            peer_connect_protocol: false,
            server_start_checked: role == Role::Server,
            not_http2: None,
            tracer: trace::enabled().then(Box::default),
            conn_send: SendWindow::new(65_535),
            conn_recv: RecvWindow::new(65_535, config.connection_window.max(65_535)),
            continuation: None,
            guard: guard::Guard::new(config.flood, now),
            ended: EndedMap::default(),
            ended_queue: VecDeque::new(),
            ended_seq: 0,
            draining: VecDeque::new(),
            next_ping: 1,
            pings_in_flight: Vec::new(),
            shutdown: Shutdown::None,
            goaway_sent: false,
            goaway_received: None,
            preface_matched: 0,
            // Grows with use; an idle connection keeps almost nothing (10,000 of them matter).
            out: BytesMut::new(),
            urgent: BytesMut::new(),
            preface_sent: false,
            header_buf: BytesMut::new(),
            events: Default::default(),
            stats: Stats::default(),
            error: None,
            want_streams_available: false,
            early_priorities: Vec::new(),
            last_turn: 0,
            last_instant: now,
            config,
        };
        conn.start(now);
        conn
    }

    /// The connection preface (§3.4): the client's magic string, then each side's SETTINGS,
    /// then a WINDOW_UPDATE raising the connection window to its target (SETTINGS cannot).
    fn start(&mut self, now: Instant) {
        if self.role == Role::Client {
            self.out.extend_from_slice(PREFACE);
        }
        let c = &self.config;
        let mut s = Settings::default();
        if c.header_table_size != 4096 {
            s.set(Setting::HeaderTableSize, Some(c.header_table_size));
        }
        match self.role {
            // We never accept pushes (§8.4).
            Role::Client => s.set(Setting::EnablePush, Some(0)),
            Role::Server => s.set(
                Setting::MaxConcurrentStreams,
                Some(c.max_concurrent_streams),
            ),
        };
        if c.initial_stream_window != 65_535 {
            s.set(Setting::InitialWindowSize, Some(c.initial_stream_window));
        }
        if c.max_frame_size != frame::DEFAULT_MAX_FRAME_SIZE {
            s.set(Setting::MaxFrameSize, Some(c.max_frame_size));
        }
        s.set(Setting::MaxHeaderListSize, Some(c.max_header_list_size));
        if c.enable_connect_protocol && self.role == Role::Server {
            s.set(Setting::EnableConnectProtocol, Some(1));
        }
        self.write_frame(&Frame::Settings(s));
        self.pending_settings.push_back((s, now));
        if let Some(inc) = self.conn_recv.grow_to_target() {
            self.write_window_update(StreamId(0), inc);
        }
    }

    /// Client: whether the server allows extended CONNECT (it sent
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, RFC 8441 §3).
    pub fn peer_allows_connect_protocol(&self) -> bool {
        self.peer_connect_protocol
    }

    /// Which side we are.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// Client: called right after [`poll_event`](Self::poll_event) returned the head of a
    /// response on `stream` that did not end the stream, the response's whole body if it is
    /// already queued: the first DATA frame after the head ended the stream, in the same
    /// [`recv`](Self::recv) or a later one before the head was polled. That DATA event is then
    /// not returned by `poll_event`; its bytes count against the flow-control windows like
    /// any others ([`release_capacity`](Self::release_capacity) once consumed). A driver can
    /// so hand a small response out complete, though servers such as nghttpd write the
    /// HEADERS of many streams before their DATA.
    pub fn take_whole_body(&mut self, stream: StreamId) -> Option<Bytes> {
        self.events.take_linked(stream)
    }

    /// The next chunk of bytes to write to the transport, acknowledgements first. The driver
    /// writes chunks in order (vectored, ideally) and calls again until `None`.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if !self.preface_sent && !self.out.is_empty() {
            self.preface_sent = true;
            return Some(self.out.split().freeze());
        }
        if !self.urgent.is_empty() {
            return Some(self.urgent.split().freeze());
        }
        if !self.out.is_empty() {
            return Some(self.out.split().freeze());
        }
        None
    }

    /// Whether bytes are waiting for [`poll_transmit`](Self::poll_transmit).
    pub fn has_output(&self) -> bool {
        !self.urgent.is_empty() || !self.out.is_empty()
    }

    /// Bytes waiting to be written (for the driver's back-pressure: stop feeding DATA while it
    /// is large).
    pub fn pending_output(&self) -> usize {
        self.urgent.len() + self.out.len()
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let settings = self
            .pending_settings
            .front()
            .map(|(_, t)| *t + self.config.settings_timeout);
        let reset = self
            .ended_queue
            .front()
            .map(|(_, _, t)| *t + self.config.reset_retention);
        let drain = self.draining.front().map(|(_, t)| *t);
        [settings, reset, drain].into_iter().flatten().min()
    }

    /// Expires what is due at `now`: remembered closed streams, discarded streams whose peer
    /// did not end them within `drain_timeout` (RST_STREAM(NO_ERROR)), and an unacknowledged
    /// SETTINGS, which is a connection error of type SETTINGS_TIMEOUT (§6.5.3).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_instant = self.last_instant.max(now);
        while let Some(&(id, t)) = self.draining.front() {
            if t > now {
                break;
            }
            self.draining.pop_front();
            if self.error.is_none() && self.streams.contains_key(&id) {
                self.send_reset(id, crate::ErrorCode::NO_ERROR);
            }
        }
        let keep = self.config.reset_retention;
        while let Some(&(id, seq, t)) = self.ended_queue.front() {
            if t + keep > now {
                break;
            }
            self.ended_queue.pop_front();
            self.forget_ended(id, seq);
        }
        if self.error.is_none() {
            if let Some((_, t)) = self.pending_settings.front() {
                if *t + self.config.settings_timeout <= now {
                    let _ = self.connection_error(Error::connection(
                        crate::ErrorCode::SETTINGS_TIMEOUT,
                        "SETTINGS not acknowledged in time (RFC 9113 §6.5.3)",
                    ));
                }
            }
        }
    }

    /// Gives back spare capacity (output and header buffers, queues, maps) — for a driver
    /// holding many idle connections. Nothing observable changes.
    pub fn shrink_to_fit(&mut self) {
        if self.out.is_empty() {
            self.out = BytesMut::new();
        }
        if self.urgent.is_empty() {
            self.urgent = BytesMut::new();
        }
        self.header_buf = BytesMut::new();
        self.events.shrink_to_fit();
        self.pending_settings.shrink_to_fit();
        self.pings_in_flight.shrink_to_fit();
        self.streams.shrink_to_fit();
        self.ended.shrink_to_fit();
        self.ended_queue.shrink_to_fit();
        self.draining.shrink_to_fit();
        self.decoder.shrink_to_fit();
        self.head_memo = None;
    }

    /// Whether the peer's connection preface (its first SETTINGS) has arrived.
    pub fn peer_settings_received(&self) -> bool {
        self.peer_settings_received
    }

    /// Client: why the server is judged not to speak HTTP/2 ("the server answered in
    /// HTTP/1.1 (`HTTP/1.1 400 Bad Request`) ..."), when its first bytes ended the connection
    /// for that.
    pub fn peer_not_http2(&self) -> Option<&str> {
        self.not_http2.as_deref()
    }

    /// What the connection has done so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The connection error that ended this connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Nothing more will happen on this connection: it failed, or a GOAWAY was exchanged and
    /// every stream is done. The driver flushes the output and closes the transport.
    pub fn is_closed(&self) -> bool {
        self.error.is_some()
            || ((self.goaway_received.is_some()
                || self.shutdown == Shutdown::Final
                || self.goaway_sent)
                && self.streams.is_empty())
    }

    /// The stream's state per §5.1.
    pub fn stream_state(&self, id: StreamId) -> StreamState {
        if let Some(s) = self.streams.get(&id) {
            return s.state();
        }
        let local = self.is_local(id);
        let highest = if local {
            self.next_local_id.saturating_sub(2)
        } else {
            self.max_peer_id
        };
        if id.0 == 0 || id.0 > highest {
            StreamState::Idle
        } else {
            StreamState::Closed
        }
    }

    /// The content-length the peer declared for the message it sends on `id` (RFC 9113
    /// §8.1.1), while the stream is open: known whether or not the fields reach the
    /// application (see `Config::keep_response_headers`).
    pub fn declared_length(&self, id: StreamId) -> Option<u64> {
        self.streams.get(&id)?.content_length
    }

    /// Whether a stream has received all the DATA its content-length declared (or its
    /// END_STREAM): dropping its body then calls for no reset.
    pub fn recv_complete(&self, id: StreamId) -> bool {
        match self.streams.get(&id) {
            None => true,
            Some(s) => s.recv_closed || s.content_length.is_some_and(|n| s.data_received >= n),
        }
    }

    /// Streams open or half-closed: (started by us, started by the peer).
    pub fn active_streams(&self) -> (usize, usize) {
        (self.active_local, self.active_remote)
    }

    /// The peer's MAX_CONCURRENT_STREAMS in force.
    pub fn peer_max_concurrent_streams(&self) -> u32 {
        self.peer_max_streams
    }

    /// Every stream identifier of our side has been used (§5.1.1): a client needs a new
    /// connection for further requests.
    pub fn stream_ids_exhausted(&self) -> bool {
        self.next_local_id > frame::MAX_WINDOW_SIZE
    }

    /// Moves our next stream identifier, so tests can reach the end of the identifier space
    /// without opening a billion streams.
    #[doc(hidden)]
    pub fn skip_stream_ids_for_tests(&mut self, next: u32) {
        assert!(next % 2 == self.next_local_id % 2 && next >= self.next_local_id);
        self.next_local_id = next;
    }

    /// Whether a new stream may be opened now (client).
    pub fn can_open_stream(&self) -> bool {
        self.error.is_none()
            && self.goaway_received.is_none()
            && !self.goaway_sent
            && self.active_local < self.peer_max_streams as usize
            && self.next_local_id <= frame::MAX_WINDOW_SIZE
    }

    /// How many DATA bytes the stream may send now (the smaller of its and the connection's
    /// windows).
    pub fn send_capacity(&self, id: StreamId) -> usize {
        self.streams
            .get(&id)
            .map_or(0, |s| s.send.available().min(self.conn_send.available()))
    }

    fn is_local(&self, id: StreamId) -> bool {
        id.is_client_initiated() == (self.role == Role::Client)
    }

    /// Writes one frame into the output (or the urgent queue for acknowledgements), traces
    /// it and counts it.
    fn write_frame(&mut self, f: &Frame) {
        self.trace_frame(Direction::Send, f);
        let kind = match f {
            Frame::Unknown(u) => u.kind,
            _ => f.frame_type().map_or(10, |t| t as u8),
        };
        self.stats.frames_sent.add(kind);
        if matches!(f, Frame::Ping(p) if p.ack) {
            f.encode(&mut self.urgent);
        } else {
            f.encode(&mut self.out);
        }
    }

    /// Traces a frame, with the header fields of the block it completes. The check is inlined
    /// into every caller; the rest is out of line, off the hot path.
    #[inline]
    pub(super) fn trace_frame(&mut self, dir: Direction, f: &Frame) {
        if trace::enabled() {
            self.trace_frame_slow(dir, f);
        }
    }

    #[cold]
    #[inline(never)]
    fn trace_frame_slow(&mut self, dir: Direction, f: &Frame) {
        let Some(t) = self.tracer.as_mut() else {
            return trace::frame(dir, f, None);
        };
        let fields = t.fields(dir as usize, f);
        let id = f.stream_id();
        if id.0 == 0 {
            // The connection's frames belong to no request, even when a request's work
            // opened the connection.
            return trace::frame_in(dir, f, fields.as_ref(), None);
        }
        match t.spans.get(&id) {
            Some(span) => trace::frame_in(dir, f, fields.as_ref(), Some(span)),
            None => trace::frame(dir, f, fields.as_ref()),
        }
    }

    /// Traces the stream's frames as children of `span` (its request's) from now until the
    /// stream closes. Nothing is kept unless frames are traced.
    pub fn set_stream_span(&mut self, id: StreamId, span: &tracing::Span) {
        if let Some(t) = self.tracer.as_mut() {
            if !span.is_disabled() {
                t.spans.insert(id, span.clone());
            }
        }
    }

    /// [`set_stream_span`](Self::set_stream_span) for the next stream this side opens (a
    /// client's request), from its HEADERS on.
    pub fn set_next_stream_span(&mut self, span: &tracing::Span) {
        if let Some(t) = self.tracer.as_mut() {
            t.next_span = (!span.is_disabled()).then(|| span.clone());
        }
    }

    fn write_window_update(&mut self, id: StreamId, increment: u32) {
        self.write_frame(&Frame::WindowUpdate(frame::WindowUpdate {
            stream_id: id,
            increment,
        }));
    }

    /// Removes a stream that is now closed, in the same call as the frame that closed it.
    fn close_stream(&mut self, id: StreamId, how: Ended) {
        if self.streams.remove(&id).is_none() {
            return;
        }
        if let Some(t) = self.tracer.as_mut() {
            t.spans.remove(&id);
        }
        self.remember(id, how);
        if self.is_local(id) {
            self.active_local -= 1;
            if self.want_streams_available && self.can_open_stream() {
                self.want_streams_available = false;
                self.events.push(Event::StreamsAvailable);
            }
        } else {
            self.active_remote -= 1;
        }
    }

    /// Closes the stream if both directions have ended; if only ours has and the peer's
    /// message is discarded, the peer is given a bound to end its side (`check_drain`).
    fn maybe_close(&mut self, id: StreamId) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        if s.send_closed && s.recv_closed {
            self.close_stream(id, Ended::Finished);
            // Useful work: a completed stream earns back resets.
            let n = self.guard.limits.resets_per_completed_stream;
            self.guard.resets.refill(f64::from(n));
        } else if s.send_closed && s.discard {
            self.check_drain(id);
        }
    }

    /// Ends the connection with GOAWAY(ENHANCE_YOUR_CALM) for a flood.
    fn flood(&mut self, kind: Flood) -> Error {
        self.stats.flood = Some(kind);
        Error::connection(crate::ErrorCode::ENHANCE_YOUR_CALM, kind.reason())
    }

    /// A connection error (§5.4.1): GOAWAY with the code and reason, then nothing more.
    fn connection_error(&mut self, e: Error) -> Result<(), Error> {
        if self.error.is_none() {
            let last = StreamId(self.last_processed_peer_id);
            self.write_frame(&Frame::GoAway(frame::GoAway {
                last_stream_id: last,
                code: e.code,
                debug_data: Bytes::from_static(e.reason.as_bytes()),
            }));
            self.stats.goaways_sent.add(e.code);
            self.goaway_sent = true;
            self.error = Some(e);
        }
        Err(e)
    }
}

/// Whether the first bytes a server received look like an HTTP/1.x request line rather than
/// the HTTP/2 preface, so the driver can answer in HTTP/1.1 instead of with a GOAWAY.
pub fn looks_like_http1(start: &[u8]) -> bool {
    let methods: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    methods.iter().any(|m| {
        start.starts_with(m) || (start.len() < m.len() && m.starts_with(start) && !start.is_empty())
    }) && !PREFACE.starts_with(start)
}
