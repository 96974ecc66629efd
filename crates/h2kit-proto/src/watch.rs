//! A passive observer of both directions of one HTTP/2 connection — what a tracing proxy in
//! the middle sees — that counts frames and flags anomalies: the misbehaviours behind the
//! production failures h2kit exists for.
//!
//! - RST_STREAM for a stream that is already closed (§5.1: both END_STREAMs seen, or reset
//!   before), the "reset after END_STREAM" of clients that cancel finished requests. A reset
//!   that answers a frame the other side sent on the closed stream (DATA, HEADERS, a
//!   WINDOW_UPDATE of 0: the stream error of §5.1 and §6.1) is not one.
//! - More PINGs from one side than a configured number per window, the pattern that gets a
//!   client told ENHANCE_YOUR_CALM.
//! - A new stream beyond the receiver's SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2).
//! - DATA beyond the receiver's flow-control window (§6.9.1).
//! - A new stream opened after the peer sent GOAWAY (§6.8).
//!
//! The observer sees each frame before its receiver does, so it judges the sender by what the
//! sender could know. A SETTINGS value binds the other side only once that side's SETTINGS
//! ACK passes (§6.5.3): frames sent before the ACK are judged by the old value.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::frame::{Frame, Setting, Settings, StreamId};
use crate::stats::{CodeCounts, FrameCounts};

/// Which endpoint sent a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The endpoint that opened the connection.
    Client,
    /// The endpoint that accepted it.
    Server,
}

impl Side {
    fn idx(self) -> usize {
        self as usize
    }

    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// `client` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    /// The side that initiates streams with this id (odd: client, §5.1.1).
    fn initiator(id: StreamId) -> Side {
        if id.0 % 2 == 1 {
            Side::Client
        } else {
            Side::Server
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
/// What the watcher flags.
pub enum AnomalyKind {
    /// RST_STREAM on a stream the sender already saw closed (the reset nobody needs, which servers count against clients).
    RstOnClosedStream,
    /// More PINGs within `ping_window` than `max_pings`.
    PingFlood,
    /// A stream opened beyond the receiver's SETTINGS_MAX_CONCURRENT_STREAMS.
    ConcurrencyExceeded,
    /// DATA beyond the receiver's flow-control window.
    FlowControlExceeded,
    /// A new stream after the sender received GOAWAY.
    StreamAfterGoaway,
}

impl AnomalyKind {
    /// Every kind.
    pub const ALL: [AnomalyKind; 5] = [
        AnomalyKind::RstOnClosedStream,
        AnomalyKind::PingFlood,
        AnomalyKind::ConcurrencyExceeded,
        AnomalyKind::FlowControlExceeded,
        AnomalyKind::StreamAfterGoaway,
    ];

    /// Its name in reports and metrics.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::RstOnClosedStream => "rst_stream_on_closed_stream",
            AnomalyKind::PingFlood => "ping_flood",
            AnomalyKind::ConcurrencyExceeded => "streams_beyond_max_concurrent_streams",
            AnomalyKind::FlowControlExceeded => "data_beyond_flow_control_window",
            AnomalyKind::StreamAfterGoaway => "new_stream_after_goaway",
        }
    }
}

/// One flagged frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// What was wrong.
    pub kind: AnomalyKind,
    /// The side that sent the offending frame.
    pub sender: Side,
    /// The stream it concerns (0 for the connection).
    pub stream: StreamId,
    /// The specifics, in words.
    pub detail: String,
}

#[derive(Clone, Copy, Debug)]
/// The watcher's thresholds.
pub struct WatchConfig {
    /// PINGs (not ACKs) one side may send within `ping_window` before each further one is
    /// flagged. Default: 10 in 10 s, the limit some servers enforce with ENHANCE_YOUR_CALM.
    pub max_pings: u32,
    /// See `max_pings`.
    pub ping_window: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            max_pings: 10,
            ping_window: Duration::from_secs(10),
        }
    }
}

/// Per-side counts of what passed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SideCounts {
    /// Frames by type.
    pub frames: FrameCounts,
    /// RST_STREAM by code.
    pub rst_stream: CodeCounts,
    /// GOAWAY by code.
    pub goaway: CodeCounts,
    /// PINGs that are not ACKs.
    pub pings: u64,
    /// Streams opened.
    pub streams_opened: u64,
}

impl SideCounts {
    /// Adds another connection's counts (for totals over many connections).
    pub fn merge(&mut self, o: &SideCounts) {
        for (a, b) in self.frames.0.iter_mut().zip(o.frames.0) {
            *a += b;
        }
        for (a, b) in self.rst_stream.0.iter_mut().zip(o.rst_stream.0) {
            *a += b;
        }
        for (a, b) in self.goaway.0.iter_mut().zip(o.goaway.0) {
            *a += b;
        }
        self.pings += o.pings;
        self.streams_opened += o.streams_opened;
    }
}

/// What one endpoint has told the other, and what binds the other side.
#[derive(Default)]
struct Endpoint {
    /// SETTINGS this side sent that the other side has not acknowledged yet.
    unacked: VecDeque<Settings>,
    /// This side's limit on streams the other side opens, once acknowledged (None: unlimited).
    max_concurrent: Option<u32>,
    /// This side's initial stream window for DATA it receives, once acknowledged.
    initial_window: i64,
    /// Connection-level window this side has granted for DATA it receives.
    conn_window: i64,
    /// This side sent GOAWAY: the other side may open no new stream.
    goaway_sent: bool,
    /// Streams this side initiated that are not closed.
    open_initiated: u32,
    highest_initiated: u32,
    pings: VecDeque<Instant>,
}

struct StreamObs {
    /// Each side sent END_STREAM (or RST_STREAM), indexed by `Side::idx`.
    done: [bool; 2],
    /// The window each side has granted for DATA it receives on this stream.
    window: [i64; 2],
}

/// Watches one connection. Feed it every frame with the side that sent it.
pub struct Watcher {
    config: WatchConfig,
    ends: [Endpoint; 2],
    streams: HashMap<u32, StreamObs>,
    counts: [SideCounts; 2],
    anomalies: [u64; 5],
    /// Closed streams on which a side was sent a frame it may answer with RST_STREAM: (stream,
    /// the side that may answer), oldest first.
    owed: VecDeque<(u32, Side)>,
}

const DEFAULT_WINDOW: i64 = 65_535;
const MAX_UNACKED: usize = 16;
/// Streams tracked at most; beyond it new streams are counted but not followed (an abusive
/// peer opening streams it never closes cannot grow the observer without bound).
const MAX_TRACKED: usize = 100_000;
/// Frames on closed streams whose answer (a RST_STREAM) is awaited, at most: answers follow
/// at once, so only the latest matter.
const MAX_OWED: usize = 256;

impl Watcher {
    /// A watcher of one connection.
    pub fn new(config: WatchConfig) -> Watcher {
        let end = || Endpoint {
            initial_window: DEFAULT_WINDOW,
            conn_window: DEFAULT_WINDOW,
            ..Endpoint::default()
        };
        Watcher {
            config,
            ends: [end(), end()],
            streams: HashMap::new(),
            counts: Default::default(),
            anomalies: [0; 5],
            owed: VecDeque::new(),
        }
    }

    /// What `side` has sent so far.
    pub fn counts(&self, side: Side) -> &SideCounts {
        &self.counts[side.idx()]
    }

    /// Anomalies flagged so far, by kind.
    pub fn anomalies(&self) -> impl Iterator<Item = (AnomalyKind, u64)> + '_ {
        AnomalyKind::ALL
            .iter()
            .zip(self.anomalies.iter())
            .map(|(k, n)| (*k, *n))
    }

    /// Streams open now (not closed from both sides).
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Observes one frame sent by `sender` at `now`; returns the anomaly it shows, if any.
    pub fn frame(&mut self, sender: Side, frame: &Frame, now: Instant) -> Option<Anomaly> {
        let s = sender.idx();
        let r = sender.other().idx();
        let answerable = match frame {
            Frame::Data(_) | Frame::Headers(_) => true,
            Frame::WindowUpdate(w) => w.increment == 0,
            _ => false,
        };
        let id = frame.stream_id();
        if answerable && self.is_closed(id) {
            if self.owed.len() >= MAX_OWED {
                self.owed.pop_front();
            }
            self.owed.push_back((id.0, sender.other()));
        }
        let c = &mut self.counts[s];
        c.frames.add(frame.frame_type().map_or(0xff, |t| t as u8));
        let found = match frame {
            Frame::Settings(set) if set.ack => {
                // The sender acknowledged the receiver's oldest outstanding SETTINGS: from now
                // on those values bind the sender.
                if let Some(set) = self.ends[r].unacked.pop_front() {
                    self.apply(sender.other(), &set);
                }
                None
            }
            Frame::Settings(set) => {
                let q = &mut self.ends[s].unacked;
                // Bounded: a peer that never acknowledges cannot grow it.
                if q.len() >= MAX_UNACKED {
                    q.pop_front();
                }
                q.push_back(*set);
                None
            }
            Frame::Ping(p) if !p.ack => {
                c.pings += 1;
                self.ping(sender, now)
            }
            Frame::RstStream(rst) => {
                c.rst_stream.add(rst.code);
                self.rst(sender, id, rst.code)
            }
            Frame::GoAway(g) => {
                c.goaway.add(g.code);
                self.ends[s].goaway_sent = true;
                None
            }
            Frame::Headers(h) => self.headers(sender, id, h.end_stream),
            Frame::PushPromise(p) => {
                // A promised stream is reserved by the server; the client will send nothing
                // on it (§8.4).
                let window = [self.ends[0].initial_window, self.ends[1].initial_window];
                self.streams.insert(
                    p.promised_id.0,
                    StreamObs {
                        done: [true, false],
                        window,
                    },
                );
                self.ends[Side::Server.idx()].open_initiated += 1;
                self.ends[Side::Server.idx()].highest_initiated = p.promised_id.0;
                None
            }
            Frame::Data(d) => self.data(sender, id, d.flow_len() as i64, d.end_stream),
            Frame::WindowUpdate(w) => {
                let inc = i64::from(w.increment);
                if id.is_zero() {
                    self.ends[s].conn_window += inc;
                } else if let Some(st) = self.streams.get_mut(&id.0) {
                    st.window[s] += inc;
                }
                None
            }
            _ => None,
        };
        if let Some(a) = &found {
            self.anomalies[a.kind as usize] += 1;
        }
        found
    }

    /// Values `receiver` advertised now bind the other side.
    fn apply(&mut self, receiver: Side, set: &Settings) {
        let i = receiver.idx();
        if let Some(n) = set.get(Setting::MaxConcurrentStreams) {
            self.ends[i].max_concurrent = Some(n);
        }
        if let Some(w) = set.get(Setting::InitialWindowSize) {
            // §6.9.2: a change adjusts every open stream's window by the difference.
            let delta = i64::from(w) - self.ends[i].initial_window;
            self.ends[i].initial_window = i64::from(w);
            for st in self.streams.values_mut() {
                st.window[i] += delta;
            }
        }
    }

    fn ping(&mut self, sender: Side, now: Instant) -> Option<Anomaly> {
        let cfg = self.config;
        let q = &mut self.ends[sender.idx()].pings;
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= cfg.ping_window)
        {
            q.pop_front();
        }
        q.push_back(now);
        (q.len() > cfg.max_pings as usize).then(|| Anomaly {
            kind: AnomalyKind::PingFlood,
            sender,
            stream: StreamId(0),
            detail: format!(
                "{} PINGs from the {} within {:?} (limit {})",
                q.len(),
                sender.name(),
                cfg.ping_window,
                cfg.max_pings
            ),
        })
    }

    fn headers(&mut self, sender: Side, id: StreamId, end_stream: bool) -> Option<Anomaly> {
        if let Some(st) = self.streams.get_mut(&id.0) {
            // Response headers, or trailers.
            if end_stream {
                st.done[sender.idx()] = true;
                self.maybe_close(id);
            }
            return None;
        }
        if Side::initiator(id) != sender || id.0 <= self.ends[sender.idx()].highest_initiated {
            // HEADERS on a closed stream: the receiver's business (STREAM_CLOSED), not ours.
            return None;
        }
        // A new stream.
        let s = sender.idx();
        let r = sender.other().idx();
        let mut found = None;
        if self.ends[r].goaway_sent {
            found = Some(Anomaly {
                kind: AnomalyKind::StreamAfterGoaway,
                sender,
                stream: id,
                detail: format!("the {} opened a stream after GOAWAY", sender.name()),
            });
        } else if let Some(max) = self.ends[r].max_concurrent {
            let open = self.ends[s].open_initiated;
            if open >= max {
                found = Some(Anomaly {
                    kind: AnomalyKind::ConcurrencyExceeded,
                    sender,
                    stream: id,
                    detail: format!(
                        "the {} opened stream {} with {open} of its streams open; the {}'s \
                         SETTINGS_MAX_CONCURRENT_STREAMS is {max}",
                        sender.name(),
                        id.0,
                        sender.other().name()
                    ),
                });
            }
        }
        self.counts[s].streams_opened += 1;
        self.ends[s].highest_initiated = id.0;
        let mut done = [false; 2];
        done[s] = end_stream;
        let mut window = [0; 2];
        window[s] = self.ends[s].initial_window;
        window[r] = self.ends[r].initial_window;
        if self.streams.len() < MAX_TRACKED {
            self.streams.insert(id.0, StreamObs { done, window });
            self.ends[s].open_initiated += 1;
        }
        found
    }

    fn data(&mut self, sender: Side, id: StreamId, len: i64, end_stream: bool) -> Option<Anomaly> {
        let r = sender.other().idx();
        self.ends[r].conn_window -= len;
        let conn_left = self.ends[r].conn_window;
        let st = self.streams.get_mut(&id.0)?;
        st.window[r] -= len;
        let stream_left = st.window[r];
        if end_stream {
            st.done[sender.idx()] = true;
        }
        let found = if stream_left < 0 || conn_left < 0 {
            Some(Anomaly {
                kind: AnomalyKind::FlowControlExceeded,
                sender,
                stream: id,
                detail: format!(
                    "the {} sent {len} bytes of DATA: the {}'s window is now {stream_left} \
                     on the stream and {conn_left} on the connection",
                    sender.name(),
                    sender.other().name()
                ),
            })
        } else {
            None
        };
        if end_stream {
            self.maybe_close(id);
        }
        found
    }

    /// A stream that was opened and is no longer followed: closed (or beyond `MAX_TRACKED`).
    fn is_closed(&self, id: StreamId) -> bool {
        !id.is_zero()
            && !self.streams.contains_key(&id.0)
            && id.0 <= self.ends[Side::initiator(id).idx()].highest_initiated
    }

    fn rst(&mut self, sender: Side, id: StreamId, code: crate::ErrorCode) -> Option<Anomaly> {
        if self.streams.contains_key(&id.0) {
            self.close(id);
            return None;
        }
        // The answer to a frame the other side sent on the closed stream.
        if let Some(i) = self.owed.iter().position(|o| *o == (id.0, sender)) {
            self.owed.remove(i);
            return None;
        }
        let initiator = Side::initiator(id);
        if id.0 <= self.ends[initiator.idx()].highest_initiated {
            return Some(Anomaly {
                kind: AnomalyKind::RstOnClosedStream,
                sender,
                stream: id,
                detail: format!(
                    "the {} sent RST_STREAM({code}) on stream {}, already closed",
                    sender.name(),
                    id.0
                ),
            });
        }
        None
    }

    fn maybe_close(&mut self, id: StreamId) {
        if self.streams.get(&id.0).is_some_and(|s| s.done == [true; 2]) {
            self.close(id);
        }
    }

    fn close(&mut self, id: StreamId) {
        if self.streams.remove(&id.0).is_some() {
            let e = &mut self.ends[Side::initiator(id).idx()];
            e.open_initiated = e.open_initiated.saturating_sub(1);
        }
    }
}
