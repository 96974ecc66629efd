//! The client side of a connection driver: opening streams for requests and delivering their
//! responses. Everything else (reads, writes, bodies, flow control, timers) is the shared core.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use bytes::Bytes;
use h2kit_proto::{ErrorCode, SendError, StreamId, StreamState};
use tokio::io::{AsyncRead, AsyncWrite};

use super::held::{Held, HeldHeads};
use super::{Driver, Pending, Role, StreamCtx};
use crate::body::{BodyMsg, RecvBody};
use crate::Error;

/// What the pool can see of a connection without asking its driver.
#[derive(Debug, Default)]
pub(crate) struct ConnShared {
    /// Requests the pool sent this connection that its driver has not picked up yet.
    pub reserved: AtomicUsize,
    /// Streams open on the connection, plus requests queued in the driver (published by it).
    pub active: AtomicUsize,
    /// The peer's MAX_CONCURRENT_STREAMS (until its SETTINGS arrive: the assumed value).
    pub peer_max_streams: AtomicU32,
    /// The peer's SETTINGS have arrived (until then `peer_max_streams` is an assumption).
    pub settled: AtomicBool,
    /// GOAWAY received or the connection ended: no new requests.
    pub closed: AtomicBool,
    /// A request timed out with no frame received since it was written: no new streams until
    /// the peer shows it is alive.
    pub suspect: AtomicBool,
    /// When the connection last turned suspect (µs on [`clock_us`]'s clock).
    pub suspect_since_us: AtomicU64,
    /// Round-trip time, µs (0 until measured: our SETTINGS' ACK, then each PING's).
    pub rtt_us: AtomicU64,
    /// Frames received so far (published after each read), so that a request that times out
    /// can tell at once whether anything arrived since it was written.
    pub frames_received: AtomicU64,
    /// The peer sent GOAWAY(ENHANCE_YOUR_CALM): the pool backs off before the next connection.
    pub calmed: AtomicBool,
    /// Streams the driver still keeps state for (a leak detector for tests and stats).
    pub tracked: AtomicUsize,
    /// The origin pool's wake-up for requests waiting for a slot (set once, at connect).
    pub capacity: std::sync::OnceLock<Arc<Capacity>>,
}

/// An origin pool's wake-up for requests waiting for a stream slot, and how many wait.
///
/// A driver frees slots on most turns, and a `Notify` without waiters still costs an atomic
/// read-modify-write per `notify_one` (it stores a permit). Waiters are rare (a pool at its
/// limit), so the driver looks at the count first, with a plain load.
#[derive(Debug, Default)]
pub(crate) struct Capacity {
    notify: tokio::sync::Notify,
    waiters: AtomicUsize,
}

impl Capacity {
    /// `n` slots freed (published before this call): wakes up to `n` waiters.
    pub(crate) fn freed(&self, n: usize) {
        // Store-buffering with `waiting`: either this load sees the waiter, or the waiter's
        // look at the connections (after its own fence) sees the counts published before
        // this fence. Both fences are needed for that (C++20 [atomics.fences]).
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if self.waiters.load(Relaxed) == 0 {
            return;
        }
        for _ in 0..n {
            self.notify.notify_one();
        }
    }

    /// A connection closed, its limit rose, or one was added: every waiter looks again.
    pub(crate) fn notify_all(&self) {
        self.notify.notify_waiters();
    }

    /// Counts the caller as waiting until the guard drops; call before looking for room.
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        self.waiters.fetch_add(1, Relaxed);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        Waiting(self)
    }

    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

/// See [`Capacity::waiting`].
pub(crate) struct Waiting<'a>(&'a Capacity);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Relaxed);
    }
}

/// The number of a client's open connections (all origins): each driver holds a guard.
#[derive(Clone, Default)]
pub(crate) struct LiveConnections(Arc<AtomicUsize>);

impl LiveConnections {
    pub(crate) fn enter(&self) -> LiveGuard {
        self.0.fetch_add(1, Relaxed);
        LiveGuard(self.0.clone())
    }
}

/// One open connection, counted in its client's [`LiveConnections`] until dropped.
pub(crate) struct LiveGuard(Arc<AtomicUsize>);

impl LiveGuard {
    /// The client's open connections, this one included.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Relaxed)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// At most one PING per connection this often: at most 5 in any 10 s, well inside the
/// strictest policy servers apply (GOAWAY(ENHANCE_YOUR_CALM) after more than 10 in 10 s), so
/// a slow server whose requests keep timing out is not pinged again and again. A silence
/// within this interval of the last PING still makes the connection suspect (new requests go
/// elsewhere); its PING is owed and goes out once allowed (`liveness_expired`).
///
/// (An answered PING used to vouch for the connection for this long, so that a silent
/// timeout did not make it suspect. That let a connection cut off within 2 s of a stray
/// timeout's PING take new requests for up to 2 s: the failure h2kit exists to prevent. The
/// sequential netsplit scenario caught it.)
pub(crate) const MIN_PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Microseconds on a process-wide monotonic clock (for timestamps kept in atomics).
pub(crate) fn clock_us() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_micros() as u64
}

impl ConnShared {
    /// No new streams until the peer shows it is alive.
    pub(crate) fn mark_suspect(&self) {
        if !self.suspect.swap(true, Relaxed) {
            self.suspect_since_us.store(clock_us(), Relaxed);
        }
    }

    /// How long requests may wait for a suspect connection's PING answer before giving up on
    /// it: four round trips, at least 2 ms and at most `ping_timeout`. None once that is over
    /// (or if the connection is not suspect).
    pub(crate) fn suspect_grace_left(&self, ping_timeout: std::time::Duration) -> Option<u64> {
        if !self.suspect.load(Relaxed) {
            return None;
        }
        let rtt = self.rtt_us.load(Relaxed);
        let grace = (4 * rtt).clamp(2_000, ping_timeout.as_micros() as u64);
        let waited = clock_us().saturating_sub(self.suspect_since_us.load(Relaxed));
        grace.checked_sub(waited).filter(|l| *l > 0)
    }

    fn notify_all(&self) {
        if let Some(c) = self.capacity.get() {
            c.notify_all();
        }
    }
}

pub(crate) type ResponseTx = super::reply::ReplyTx;

/// A request to open: its head, and where to report the stream and the response.
pub(crate) struct Open {
    /// Shared with the request's later attempts (a retry sends the same head).
    pub parts: Arc<http::request::Parts>,
    /// The whole body when it is one chunk (or none); otherwise the caller streams it.
    pub body: Option<Bytes>,
    pub end_stream: bool,
    /// Where the stream it opens, then its response, go.
    pub reply: ResponseTx,
}

pub(crate) struct ClientState {
    pub shared: Arc<ConnShared>,
    /// This connection among its client's open ones (see `Driver::dispatch_batch`).
    pub live: LiveGuard,
    /// Responses not yet received, by stream.
    waiting: h2kit_proto::stream::StreamIdMap<ResponseTx>,
    /// Response heads received in this turn whose bodies may still complete in it.
    held: HeldHeads,
    /// Opens waiting for a concurrency slot (the pool normally avoids this).
    queued: VecDeque<Open>,
    /// `active` as last published, to tell the pool when slots free up.
    last_active: usize,
    /// Open commands taken this turn whose reservations `publish` has yet to release.
    opened_unpublished: usize,
    /// Streams cancelled after a timeout, still counted as load until the peer proves alive
    /// (a frame arrives): a dead connection must never look free.
    cancelled_unconfirmed: usize,
    /// Frames received when the last cancellation or suspicion started.
    frames_at_evidence: u64,
    /// Suspect (or awaiting a keepalive PING's answer): the PING sent, if one could be, and
    /// the deadline — for any frame once the PING is out, for sending it while it is owed.
    suspect: Option<(Option<u64>, tokio::time::Instant)>,
    ping_timeout: std::time::Duration,
    /// The response body-idle timeout given to every response body.
    body_idle: Option<std::time::Duration>,
    /// PING while streams are active and nothing has arrived for this long.
    keepalive: Option<std::time::Duration>,
    /// When we last sent a PING (at most one per `MIN_PING_INTERVAL`).
    last_ping_sent: Option<tokio::time::Instant>,
    /// When the last frame arrived (the keepalive clock).
    last_frame_at: tokio::time::Instant,
}

impl ClientState {
    /// The connection ended: every waiting request learns it. Those that were never sent
    /// (queued) were not processed; the others may have been.
    pub(super) fn fail_all(&mut self, why: &Error) {
        self.shared.closed.store(true, Relaxed);
        for open in self.queued.drain(..) {
            let _ = open.reply.send(Err(Error::Unprocessed));
        }
        for (_, tx) in self.waiting.drain() {
            let _ = tx.send(Err(why.clone()));
        }
    }

    pub(crate) fn new(
        shared: Arc<ConnShared>,
        live: LiveGuard,
        ping_timeout: std::time::Duration,
        body_idle: Option<std::time::Duration>,
        keepalive: Option<std::time::Duration>,
    ) -> ClientState {
        ClientState {
            shared,
            live,
            waiting: Default::default(),
            held: Default::default(),
            queued: VecDeque::new(),
            last_active: 0,
            opened_unpublished: 0,
            cancelled_unconfirmed: 0,
            frames_at_evidence: 0,
            suspect: None,
            ping_timeout,
            body_idle,
            keepalive,
            last_ping_sent: None,
            last_frame_at: tokio::time::Instant::now(),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Driver<T> {
    fn client(&mut self) -> Option<&mut ClientState> {
        match &mut self.role {
            Role::Client(c) => Some(c),
            _ => None,
        }
    }

    /// Opens a stream for a request, or queues it until a slot frees.
    /// An Open command arrived: the pool's reservation becomes a stream (or a queued open,
    /// which `publish` counts as active).
    pub(super) fn on_open_command(&mut self, open: Open) {
        if let Some(c) = self.client() {
            // The reservation is released in `publish`, after the new `active` count that
            // includes this stream: the pool never sees the load dip (and sends another
            // request here) in between, and a turn's openings cost one atomic operation
            // instead of two each.
            c.opened_unpublished += 1;
        }
        self.open(open);
    }

    pub(super) fn open(&mut self, mut open: Open) {
        if self.conn.error().is_some() {
            let _ = open.reply.send(Err(Error::ConnectionClosed));
            return;
        }
        if open.reply.is_closed() {
            // The caller gave up before its request went out (it waited in the command
            // queue or for a slot): nothing to send, nothing to cancel later.
            return;
        }
        match self
            .conn
            .send_request(&open.parts, open.end_stream && open.body.is_none())
        {
            Ok(stream) => {
                let frames = self.conn.stats().frames_received.total();
                // A request complete in its HEADERS (a GET) needs no stream context until a
                // response body has to stream (`release_held` adds one then): the reply slot
                // holds its opening, the engine its state. With many requests in flight the
                // context's map entry was a cache miss to write and another to read back.
                if open.body.is_some() || !open.end_stream {
                    let mut ctx = StreamCtx::default();
                    if let Some(data) = open.body {
                        ctx.pending = Some(Pending {
                            data,
                            end_stream: open.end_stream,
                            ack: None,
                        });
                    }
                    self.streams.insert(stream, ctx);
                }
                let now = self.now();
                open.reply.opened(stream, frames, now);
                if let Some(c) = self.client() {
                    c.waiting.insert(stream, open.reply);
                }
                self.flush_stream(stream);
            }
            Err(SendError::ConcurrencyLimit) => {
                if let Some(c) = self.client() {
                    c.queued.push_back(open);
                }
            }
            Err(SendError::GoingAway | SendError::StreamIdsExhausted) => {
                // Never sent: as safe to retry as a stream above GOAWAY's last_stream_id (and
                // a connection out of stream identifiers is closed for new requests, below).
                let _ = open.reply.send(Err(Error::Unprocessed));
            }
            Err(e) => {
                let _ = open.reply.send(Err(Error::Request(e.to_string())));
            }
        }
    }

    /// A slot freed: open queued requests, oldest first.
    pub(super) fn open_queued(&mut self) {
        while self.conn.can_open_stream() {
            let Some(open) = self.client().and_then(|c| c.queued.pop_front()) else {
                return;
            };
            self.open(open);
        }
    }

    pub(super) fn on_response(
        &mut self,
        stream: StreamId,
        res: http::Response<()>,
        end_stream: bool,
    ) {
        // Informational responses (1xx) are not the response.
        if res.status().is_informational() {
            return;
        }
        let Some(tx) = self.client().and_then(|c| c.waiting.remove(&stream)) else {
            return;
        };
        if !end_stream {
            // Held until this turn's events are handed out: if the rest of the body is among
            // them, it goes with the head (see `Held`).
            if let Some(c) = self.client() {
                c.held.insert(stream, Held::new(res, tx));
            }
            return;
        }
        self.deliver(stream, res, tx, RecvBody::empty());
    }

    /// A response whose whole body, one DATA frame, the engine handed over with its head
    /// (`Connection::take_whole_body`): out complete, at once.
    pub(super) fn on_whole_response(
        &mut self,
        stream: StreamId,
        res: http::Response<()>,
        data: Bytes,
    ) {
        self.conn.release_capacity(stream, data.len());
        let Some(tx) = self.client().and_then(|c| c.waiting.remove(&stream)) else {
            return;
        };
        let mut chunks = crate::body::Chunks::default();
        chunks.push(data);
        self.deliver(stream, res, tx, RecvBody::buffered(chunks, None));
    }

    fn deliver(
        &mut self,
        stream: StreamId,
        res: http::Response<()>,
        tx: ResponseTx,
        body: RecvBody,
    ) {
        if tx.send(Ok(res.map(|()| body))).is_err() {
            // The caller gave up: the response is not wanted (cancel sends nothing if the
            // stream is already closed).
            self.conn.cancel(stream);
            self.streams.remove(&stream);
        }
    }

    /// Whether response heads are held for bodies still to come.
    pub(super) fn holds_heads(&self) -> bool {
        matches!(&self.role, Role::Client(c) if !c.held.is_empty())
    }

    pub(super) fn is_held(&self, stream: StreamId) -> bool {
        matches!(&self.role, Role::Client(c) if c.held.contains(stream))
    }

    /// DATA for a stream whose head is held: kept with it; the last chunk completes the
    /// body, which then goes to the caller whole.
    pub(super) fn on_held_data(&mut self, stream: StreamId, data: Bytes, end_stream: bool) {
        let Some(c) = self.client() else {
            return;
        };
        let Some(held) = c.held.get_mut(stream) else {
            return;
        };
        if !data.is_empty() {
            held.chunks.push(data);
        }
        if !end_stream {
            return;
        }
        let Some(held) = c.held.remove(stream) else {
            return;
        };
        self.conn.release_capacity(stream, held.chunks.len);
        let (res, tx, chunks) = held.into_parts();
        self.deliver(stream, res, tx, RecvBody::buffered(chunks, None));
    }

    /// Hands out a held head with a streaming body (its chunks so far first): its body did
    /// not end in this turn's events, or something other than DATA came for its stream.
    pub(super) fn release_held(&mut self, stream: StreamId) {
        if let Some(held) = self.client().and_then(|c| c.held.remove(stream)) {
            self.release(stream, held);
        }
    }

    fn release(&mut self, stream: StreamId, held: Held) {
        let (res, tx, chunks) = held.into_parts();
        let (btx, brx) = crate::mailbox::mailbox();
        let mut unreleased = 0;
        for chunk in chunks {
            unreleased += chunk.len();
            let _ = btx.send(BodyMsg::Data(chunk));
        }
        // From the engine, which has it even when the fields were not kept.
        let len = self.conn.declared_length(stream);
        let commands = self.sender();
        // A request that was complete in its HEADERS has no context yet (see `open`).
        let ctx = self.streams.entry(stream).or_default();
        ctx.body = Some(btx);
        ctx.unreleased += unreleased;
        let idle = self.client().and_then(|c| c.body_idle);
        let body = RecvBody::new(stream, brx, commands, len).with_idle_timeout(idle);
        self.deliver(stream, res, tx, body);
    }

    /// Hands out every held head: the turn's events are all handed out.
    pub(super) fn release_all_held(&mut self) {
        let mut heads = match self.client() {
            Some(c) if !c.held.is_empty() => c.held.take_all(),
            _ => return,
        };
        for (stream, held) in heads.drain(..).flatten() {
            self.release(stream, held);
        }
        if let Some(c) = self.client() {
            c.held.restore(heads);
        }
    }

    /// The response will not come: tell its caller.
    pub(super) fn fail_response(&mut self, stream: StreamId, err: Error) {
        if let Some(tx) = self.client().and_then(|c| c.waiting.remove(&stream)) {
            let _ = tx.send(Err(err));
        }
    }

    pub(super) fn on_goaway(&mut self, code: ErrorCode) {
        let queued: Vec<Open> = match self.client() {
            Some(c) => {
                if code == ErrorCode::ENHANCE_YOUR_CALM {
                    c.shared.calmed.store(true, Relaxed);
                }
                c.shared.closed.store(true, Relaxed);
                c.queued.drain(..).collect()
            }
            None => return,
        };
        for open in queued {
            let _ = open.reply.send(Err(Error::Unprocessed));
        }
    }

    /// The politeness budget: a PING is allowed only while the peer has sent at least four
    /// frames per PING we already sent (plus two to start). Servers that count PINGs against
    /// the frames they send (gRPC's rule) never see us exceed it.
    fn ping_allowed(&self) -> bool {
        let s = self.conn.stats();
        let spaced = match &self.role {
            Role::Client(c) => c
                .last_ping_sent
                .is_none_or(|t| t.elapsed() >= MIN_PING_INTERVAL),
            _ => true,
        };
        spaced
            && self.conn.pings_in_flight() == 0
            && s.pings_sent < 2 + s.frames_received.total() / 4
    }

    /// Sends a liveness PING and notes when.
    fn liveness_ping(&mut self) -> u64 {
        let payload = self.conn.ping(std::time::Instant::now());
        if let Some(c) = self.client() {
            c.last_ping_sent = Some(tokio::time::Instant::now());
        }
        payload
    }

    /// A request on `stream` timed out. Its slot keeps counting until the peer proves alive;
    /// if nothing at all arrived since the request was written, the connection is suspect:
    /// no new streams, and one PING (never one per timeout) asks for evidence.
    pub(super) fn on_request_timeout(&mut self, stream: StreamId) {
        let frames = self.conn.stats().frames_received.total();
        // Closed: its response completed in this turn's read, before the cancel was applied.
        let completed = self.conn.stream_state(stream) == StreamState::Closed;
        // Still waiting: the frame count when it was opened is in its reply slot.
        let silent = !completed
            && self
                .client()
                .and_then(|c| c.waiting.get(&stream))
                .and_then(|tx| tx.opened_frames())
                == Some(frames);
        let may_ping = self.ping_allowed();
        let Some(c) = self.client() else { return };
        if !completed {
            c.cancelled_unconfirmed += 1;
        }
        c.frames_at_evidence = frames;
        if !silent && c.suspect.is_none() {
            // The request marked the connection suspect from a count we had not published
            // yet: frames did arrive, so it is not.
            if c.shared.suspect.swap(false, Relaxed) {
                c.shared.notify_all();
            }
        }
        if silent && c.suspect.is_none() {
            c.shared.mark_suspect();
            let now = tokio::time::Instant::now();
            let ping_timeout = c.ping_timeout;
            let suspect = if may_ping {
                (Some(self.liveness_ping()), now + ping_timeout)
            } else {
                // Owed: sent when the PING interval allows (any frame before then clears the
                // suspicion anyway).
                let allowed = c.last_ping_sent.map_or(now, |t| t + MIN_PING_INTERVAL);
                (None, allowed.max(now))
            };
            if let Some(c) = self.client() {
                c.suspect = Some(suspect);
            }
        }
    }

    /// Frames arrived: the peer is alive. Suspicion ends and cancelled streams stop counting.
    pub(super) fn on_evidence(&mut self) {
        let frames = self.conn.stats().frames_received.total();
        let Some(c) = self.client() else { return };
        c.shared.frames_received.store(frames, Relaxed);
        if frames != c.frames_at_evidence {
            c.frames_at_evidence = frames;
            c.last_frame_at = tokio::time::Instant::now();
            c.cancelled_unconfirmed = 0;
            if c.suspect.take().is_some() {
                c.shared.suspect.store(false, Relaxed);
                // Requests holding back for the PING's answer may use the connection again.
                c.shared.notify_all();
            }
        }
    }

    /// A round-trip measurement (our SETTINGS acknowledged, or a PING answered).
    pub(super) fn on_rtt(&mut self, rtt: std::time::Duration) {
        // The smallest sample: the first one (our SETTINGS' ACK) includes setting the
        // connection up, and queueing only ever adds to a round trip.
        if let Some(c) = self.client() {
            let us = rtt.as_micros().max(1) as u64;
            let _ = c
                .shared
                .rtt_us
                .fetch_update(Relaxed, Relaxed, |old| (old == 0 || us < old).then_some(us));
        }
    }

    /// Our PING was answered (the frame itself is the evidence of life): a round trip.
    pub(super) fn on_ping_answered(&mut self, rtt: std::time::Duration) {
        self.on_rtt(rtt);
    }

    pub(super) fn liveness_deadline(&self) -> Option<tokio::time::Instant> {
        match &self.role {
            Role::Client(c) => {
                let keepalive = c
                    .keepalive
                    .filter(|_| c.suspect.is_none() && self.conn.active_streams().0 > 0)
                    .map(|k| c.last_frame_at + k);
                match (c.suspect.map(|(_, d)| d), keepalive) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => None,
        }
    }

    /// Keepalive: streams are active and nothing arrived for `keepalive_interval`: one PING
    /// (within the budget), and the same deadline as a suspicion for its answer.
    fn keepalive_due(&mut self, now: tokio::time::Instant) -> bool {
        let may_ping = self.ping_allowed();
        let active = self.conn.active_streams().0 > 0;
        let Some(c) = self.client() else { return false };
        let due = c.suspect.is_none()
            && active
            && c.keepalive.is_some_and(|k| now >= c.last_frame_at + k);
        if !due {
            return false;
        }
        c.last_frame_at = now;
        if !may_ping {
            return false;
        }
        let deadline = now + c.ping_timeout;
        let payload = self.liveness_ping();
        if let Some(c) = self.client() {
            // Not suspect (new streams still go here), but the PING must be answered in time.
            c.suspect = Some((Some(payload), deadline));
        }
        true
    }

    /// No frame within `ping_timeout` of becoming suspect: the connection is dead. It is closed
    /// and every stream on it fails with a retryable error.
    pub(super) fn liveness_expired(&mut self, now: tokio::time::Instant) -> bool {
        if self.keepalive_due(now) {
            return true;
        }
        let expired = matches!(self.liveness_deadline(), Some(d) if now >= d);
        let owed = matches!(self.client(), Some(c) if matches!(c.suspect, Some((None, _))));
        if expired && owed {
            // Time to send the PING a suspicion was owed; a dead connection must answer it.
            if self.ping_allowed() {
                let payload = self.liveness_ping();
                if let Some(c) = self.client() {
                    c.suspect = Some((Some(payload), now + c.ping_timeout));
                }
                return false;
            }
            // Past the politeness budget (more PINGs than frames received allow): judged
            // like a PING unanswered.
        }
        if expired {
            if let Some(c) = self.client() {
                c.suspect = None;
            }
            self.conn.goaway(
                ErrorCode::NO_ERROR,
                "no response to PING: connection considered dead",
            );
            self.publish();
        }
        expired
    }

    /// Publishes what the pool needs after each turn.
    pub(super) fn publish(&mut self) {
        if !matches!(self.role, Role::Client(_)) {
            return;
        }
        let max = self.conn.peer_max_concurrent_streams();
        let settled = self.conn.peer_settings_received();
        let s = self.conn.stats();
        // Rapid-reset detectors compare resets to streams: a connection where we reset more
        // than half of at least 100 streams takes no new ones (the pool opens a fresh one).
        let reset_heavy =
            s.streams_opened_local >= 100 && s.resets_sent.total() * 2 > s.streams_opened_local;
        let closed = self.conn.is_closed()
            || self.conn.error().is_some()
            || self.conn.stream_ids_exhausted()
            || reset_heavy;
        let active = self.conn.active_streams().0;
        let tracked = self.streams.len();
        if let Some(c) = self.client() {
            c.shared.tracked.store(tracked, Relaxed);
            let raised = max > c.shared.peer_max_streams.swap(max, Relaxed);
            // Requests waiting for this connection's SETTINGS (rather than opening another
            // connection) learn its real limit now.
            let settled = settled && !c.shared.settled.swap(true, Relaxed);
            let raised = raised || settled;
            let now = active + c.queued.len() + c.cancelled_unconfirmed;
            c.shared.active.store(now, Relaxed);
            let released = std::mem::take(&mut c.opened_unpublished);
            if released > 0 {
                c.shared.reserved.fetch_sub(released, Relaxed);
            }
            if closed {
                c.shared.closed.store(true, Relaxed);
            }
            // Slots freed as the pool counts them (active + reserved): a reservation whose
            // request never became a stream (its caller gave up while it was queued) frees
            // one too. Counting only active streams left a request waiting for a slot
            // asleep when the last activity was such a release.
            let freed = (c.last_active + released).saturating_sub(now);
            c.last_active = now;
            if freed > 0 || closed || raised {
                if let Some(n) = c.shared.capacity.get() {
                    // A raised limit (the server's SETTINGS) or a closed connection concerns
                    // every waiter; a freed slot concerns one.
                    if closed || raised {
                        n.notify_all();
                    }
                    n.freed(freed);
                }
            }
        }
    }
}
