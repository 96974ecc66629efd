//! The client role of a connection: opening streams for requests (queued while the server's
//! limit is reached), cancels, handing out responses in batches, response heads held for
//! their bodies, and the connection's liveness (the policy is `liveness.rs`; this applies it).

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use bytes::Bytes;
use h2kit_proto::stream::StreamIdMap;
use h2kit_proto::{Connection, ErrorCode, Head, SendError, StreamId, StreamState};
use tokio::time::Instant;

use super::liveness::{Due, Liveness, PingBudget, Timeout};
use crate::conn::body::RecvBody;
use crate::conn::{Driver, Io, Pending, Role, StreamCtx};
use crate::error::StreamError;
use crate::metrics::connection::ClientConnection;
use crate::sync::reply::{self, reply_spares};
use handover::HeldHeads;
use shared::{ConnShared, LiveGuard};

/// What a request's reply slot carries: the response, or why there is none.
pub(crate) type Response = Result<http::Response<RecvBody>, StreamError>;
reply_spares!(Response);

mod handover;
pub(crate) mod shared;

pub(crate) type ResponseTx = reply::ReplyTx<Response>;
pub(crate) type ResponseRx = reply::ReplyRx<Response>;

/// The way into a client connection's task.
pub(crate) type CommandTx = crate::conn::CommandTx<ClientCommand>;

/// From this many open connections in a client on, each task hands out all the responses of
/// a read in one turn (see `dispatch_batch`).
const OVERLAPPING_CONNECTIONS: usize = 4;

/// A request to open: its head, and where to report the stream and the response.
pub(crate) struct Open {
    /// Shared with the request's later attempts (a retry sends the same head).
    pub parts: Arc<http::request::Parts>,
    /// The whole body when it is one chunk (or none); otherwise the caller streams it.
    pub body: Option<Bytes>,
    pub end_stream: bool,
    /// Where the stream it opens, then its response, go.
    pub reply: ResponseTx,
    /// The request's span, when something listens: the stream's frames are traced in it.
    pub span: Option<Box<tracing::Span>>,
}

/// The client's own commands.
pub(crate) enum ClientCommand {
    /// Open a stream for a request.
    Open(Open),
    /// The request was given up; end the stream if it is still open. `timed_out`: because a
    /// deadline expired (evidence about the connection's liveness).
    Cancel { stream: StreamId, timed_out: bool },
}

/// The client side of a connection.
pub(crate) struct ClientRole {
    shared: Arc<ConnShared>,
    /// This connection among its client's open ones (see `dispatch_batch`).
    live: LiveGuard,
    /// Responses not yet received, by stream.
    waiting: StreamIdMap<ResponseTx>,
    /// Response heads received in this turn whose bodies may still complete in it.
    held: HeldHeads,
    /// Opens waiting for a concurrency slot (the pool normally avoids this).
    queued: VecDeque<Open>,
    /// `active` as last published, to tell the pool when slots free up.
    last_active: usize,
    /// Open commands taken this turn whose reservations `publish` has yet to release.
    opened_unpublished: usize,
    /// Cancelled requests, applied after the turn's read (see `apply_cancels`).
    cancels: Vec<(StreamId, bool)>,
    liveness: Liveness,
    /// The response body-idle timeout given to every response body.
    body_idle: Option<Duration>,
    /// The liveness policy gave the connection up as dead (our decision, not the server's
    /// failure to speak HTTP/2: no back-off for it).
    abandoned: bool,
    /// Its part in the open-connections gauge and the connection-duration histogram, once
    /// established.
    gauges: Option<ClientConnection>,
}

impl ClientRole {
    pub(crate) fn new(
        shared: Arc<ConnShared>,
        live: LiveGuard,
        ping_timeout: Duration,
        body_idle: Option<Duration>,
        keepalive: Option<Duration>,
    ) -> ClientRole {
        ClientRole {
            shared,
            live,
            waiting: Default::default(),
            held: Default::default(),
            queued: VecDeque::new(),
            last_active: 0,
            opened_unpublished: 0,
            cancels: Vec::new(),
            liveness: Liveness::new(std::time::Instant::now(), ping_timeout, keepalive),
            abandoned: false,
            body_idle,
            gauges: None,
        }
    }

    /// The connection is set up (TCP, and TLS if any): it counts as open from now.
    pub(crate) fn established(&mut self, gauges: ClientConnection) {
        self.gauges = Some(gauges);
    }
}

type Client<T> = Driver<T, ClientRole>;

impl Role for ClientRole {
    type Command = ClientCommand;
    type Stream = ();
    const COALESCE_COMMAND_WRITES: bool = true;
    const KEEP_IDLE_CHANNEL: bool = true;

    fn engine(config: h2kit_proto::Config, now: std::time::Instant) -> Connection {
        Connection::client(config, now)
    }

    fn hand_out<T: Io>(d: &mut Client<T>, cx: &mut Context<'_>) -> bool {
        let budget = dispatch_batch(d);
        dispatch_some(d, cx, budget)
    }

    fn events_done<T: Io>(d: &mut Client<T>) {
        handover::release_all_held(d);
    }

    fn after_read<T: Io>(d: &mut Client<T>) {
        // Frames arrived: the peer is alive. Suspicion ends and cancelled streams stop
        // counting.
        let frames = d.conn.stats().frames_received.total();
        d.role.shared.frames_received.store(frames, Relaxed);
        if d.role
            .liveness
            .frames_seen(std::time::Instant::now(), frames)
        {
            d.role.shared.suspect.store(false, Relaxed);
            // Requests holding back for the PING's answer may use the connection again.
            d.role.shared.notify_all();
        }
    }

    fn settle<T: Io>(d: &mut Client<T>) -> bool {
        if d.role.cancels.is_empty() {
            return false;
        }
        apply_cancels(d);
        true
    }

    fn apply<T: Io>(d: &mut Client<T>, cmd: ClientCommand) {
        match cmd {
            ClientCommand::Open(open) => {
                // The pool's reservation is released in `publish`, after the new `active`
                // count that includes this stream: the pool never sees the load dip (and sends
                // another request here) in between, and a turn's openings cost one atomic
                // operation instead of two each.
                d.role.opened_unpublished += 1;
                open_stream(d, open);
            }
            // Applied after this turn's read (`apply_cancels`): a response that has already
            // arrived then closes its stream first, and the cancel sends nothing.
            ClientCommand::Cancel { stream, timed_out } => d.role.cancels.push((stream, timed_out)),
        }
    }

    fn on_head<T: Io>(d: &mut Client<T>, stream: StreamId, head: Head, end: bool) -> bool {
        match head {
            Head::Response(res) => handover::on_response(d, stream, res, end),
            _ => end,
        }
    }

    fn on_trailers<T: Io>(
        d: &mut Client<T>,
        stream: StreamId,
        trailers: http::HeaderMap,
    ) -> Option<http::HeaderMap> {
        // Trailers of a held response follow its head.
        handover::release_held(d, stream);
        Some(trailers)
    }

    fn on_data<T: Io>(
        d: &mut Client<T>,
        stream: StreamId,
        data: Bytes,
        end: bool,
    ) -> Option<Bytes> {
        handover::on_data(d, stream, data, end)
    }

    fn on_reset<T: Io>(d: &mut Client<T>, stream: StreamId, err: &StreamError) {
        // A held head goes out first; its body then carries the reset.
        handover::release_held(d, stream);
        fail_response(d, stream, err.clone());
    }

    fn on_unprocessed<T: Io>(d: &mut Client<T>, stream: StreamId) {
        handover::release_held(d, stream);
        fail_response(d, stream, StreamError::Unprocessed);
    }

    fn on_streams_available<T: Io>(d: &mut Client<T>) {
        // A slot freed: open queued requests, oldest first.
        while d.conn.can_open_stream() {
            let Some(open) = d.role.queued.pop_front() else {
                return;
            };
            open_stream(d, open);
        }
    }

    fn on_goaway<T: Io>(d: &mut Client<T>, code: ErrorCode) {
        if code == ErrorCode::ENHANCE_YOUR_CALM {
            d.role.shared.calmed.store(true, Relaxed);
        }
        close_to_new_requests(&mut d.role);
    }

    fn on_rtt<T: Io>(d: &mut Client<T>, rtt: Duration) {
        // The smallest sample: the first one (our SETTINGS' ACK) includes setting the
        // connection up, and queueing only ever adds to a round trip.
        let us = rtt.as_micros().max(1) as u64;
        let _ = d
            .role
            .shared
            .rtt_us
            .fetch_update(Relaxed, Relaxed, |old| (old == 0 || us < old).then_some(us));
    }

    fn on_body_dropped<T: Io>(d: &mut Client<T>, stream: StreamId) {
        d.drop_body(stream);
        // A response body dropped mid-stream cancels it — unless all of it has arrived
        // (content-length reached, END_STREAM still in flight): then there is nothing to
        // cancel, and a reset would only be noise on a finished stream.
        if !d.conn.recv_complete(stream) {
            d.conn.cancel(stream);
            d.remove_stream(stream);
        }
    }

    fn on_close<T: Io>(d: &mut Client<T>, why: &StreamError) {
        if !d.role.shared.settled.load(Relaxed) && !d.role.abandoned {
            // The server ended the connection, or did not speak HTTP/2, before HTTP/2 began:
            // the pool backs off this origin with this error.
            let error = match why {
                StreamError::NotHttp2(_) => why.clone().into_error(false),
                _ => crate::Error::new(crate::ErrorKind::ConnectionLost {
                    maybe_processed: false,
                    reset: *why == StreamError::ConnectionReset,
                }),
            };
            *d.role
                .shared
                .setup_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(error);
        }
        // Requests never sent (queued) were not processed; the others may have been.
        let c = &mut d.role;
        close_to_new_requests(c);
        for (_, tx) in c.waiting.drain() {
            let _ = tx.send(Err(why.clone()));
        }
    }

    fn publish<T: Io>(d: &mut Client<T>) {
        publish(d);
    }

    fn deadline<T: Io>(d: &Client<T>) -> Option<Instant> {
        let active = d.conn.active_streams().0 > 0;
        d.role.liveness.deadline(active).map(Instant::from_std)
    }

    fn on_timer<T: Io>(d: &mut Client<T>, now: Instant) -> bool {
        let active = d.conn.active_streams().0 > 0;
        let budget = ping_budget(&d.conn);
        match d.role.liveness.poll(now.into_std(), active, budget) {
            Due::Nothing => false,
            Due::Ping => {
                d.conn.ping(now.into_std());
                true
            }
            Due::Dead => {
                d.role.abandoned = true;
                // The connection is closed and every stream on it fails with a retryable
                // error.
                d.conn.goaway(
                    ErrorCode::NO_ERROR,
                    "no response to PING: connection considered dead",
                );
                publish(d);
                true
            }
        }
    }
}

/// No new requests: the pool sees the connection closed, and requests queued here (never
/// sent, so never processed) fail as safe to retry.
fn close_to_new_requests(c: &mut ClientRole) {
    c.shared.closed.store(true, Relaxed);
    // Requests waiting for this connection (its SETTINGS, a slot) look again: without this, a
    // connection the server closed before its SETTINGS left them asleep.
    c.shared.notify_all();
    for open in c.queued.drain(..) {
        let _ = open.reply.send(Err(StreamError::Unprocessed));
    }
}

fn ping_budget(conn: &Connection) -> PingBudget {
    let s = conn.stats();
    PingBudget {
        pings_sent: s.pings_sent,
        pings_in_flight: conn.pings_in_flight(),
        frames_received: s.frames_received.total(),
    }
}

/// Responses to hand out per turn, a quarter of the streams in flight (so a full round trip
/// goes out in about four writes), at least 8 and at most 64.
///
/// Why: a client that hands out every response of a read at once lets all their tasks run,
/// and only then writes the next requests in one batch; the server idles while the client
/// works and the other way round, so the two run in series. Handing out a part, writing the
/// requests that part queues, then the next part, keeps both sides busy at once.
///
/// With `OVERLAPPING_CONNECTIONS` or more connections open in the client, the others' work
/// already fills the gaps, and a CPU-bound client gains more from fewer, larger writes: then
/// a turn hands out everything. (Measurements in docs/benchmarks.md.)
fn dispatch_batch<T: Io>(d: &Client<T>) -> usize {
    if d.role.live.count() >= OVERLAPPING_CONNECTIONS {
        return usize::MAX;
    }
    // Most client streams have no context (see `open_stream`): count the engine's.
    (d.conn.active_streams().0 / 4).clamp(8, 64)
}

/// Hands out events until `budget` responses have completed; true if more are left for the
/// next turn.
///
/// When the events run out with response heads held for their bodies, the socket is read
/// once more first: servers often write the HEADERS of many streams before their DATA
/// (nghttpd does), or the read stopped at the buffer's end, and the DATA usually arrived
/// while the heads were processed. Each body completed so spares its caller a channel and a
/// second wake-up; a body not there yet still never delays its head beyond this read.
fn dispatch_some<T: Io>(d: &mut Client<T>, cx: &mut Context<'_>, mut budget: usize) -> bool {
    d.events_pending = false;
    let mut read_again = true;
    while budget > 0 {
        let Some(e) = d.conn.poll_event() else {
            if read_again && handover::holds_heads(d) && d.read_more(cx) {
                read_again = false;
                continue;
            }
            handover::release_all_held(d);
            return false;
        };
        if d.dispatch_one(e) {
            budget -= 1;
        }
    }
    handover::release_all_held(d);
    d.events_pending = true;
    true
}

/// Applies the callers' cancellations of this turn. They wait until after the read so that a
/// response already in the socket is seen first: a caller whose deadline expired while its
/// response was arriving (a stalled machine, or the crossing of the two) must not reset a
/// stream the server has finished — RFC 9113 §5.1 tolerates it, but servers count such
/// resets, and it is the first failure h2kit exists to prevent. The read also proves the
/// connection alive, so such a timeout does not make it suspect.
fn apply_cancels<T: Io>(d: &mut Client<T>) {
    for (stream, timed_out) in std::mem::take(&mut d.role.cancels) {
        // Judged before the reply is failed: it looks at the waiting reply.
        if timed_out {
            on_request_timeout(d, stream);
        }
        fail_response(d, stream, StreamError::ConnectionClosed);
        d.conn.cancel(stream);
        if let Some(mut ctx) = d.remove_stream(stream) {
            ctx.fail_pending(&StreamError::ConnectionClosed);
        }
    }
}

/// A request on `stream` timed out: the liveness policy judges what that says about the
/// connection, and the pool learns its verdict.
fn on_request_timeout<T: Io>(d: &mut Client<T>, stream: StreamId) {
    let budget = ping_budget(&d.conn);
    // Closed: its response completed in this turn's read, before the cancel was applied.
    let completed = d.conn.stream_state(stream) == StreamState::Closed;
    // Still waiting: the frame count when it was opened is in its reply slot.
    let silent = !completed
        && d.role
            .waiting
            .get(&stream)
            .and_then(|tx| tx.opened_frames())
            == Some(budget.frames_received);
    let now = std::time::Instant::now();
    match d
        .role
        .liveness
        .request_timed_out(now, silent, completed, budget)
    {
        Timeout::Alive => {
            // The caller marked the connection suspect from a count we had not published
            // yet: frames did arrive, so it is not.
            if d.role.shared.suspect.swap(false, Relaxed) {
                d.role.shared.notify_all();
            }
        }
        Timeout::Suspect { ping } => {
            d.role.shared.mark_suspect();
            if ping {
                d.conn.ping(now);
            }
        }
        Timeout::Unchanged => {}
    }
}

/// Opens a stream for a request, or queues it until a slot frees.
fn open_stream<T: Io>(d: &mut Client<T>, mut open: Open) {
    if d.conn.error().is_some() {
        let _ = open.reply.send(Err(StreamError::ConnectionClosed));
        return;
    }
    if open.reply.is_closed() {
        // The caller gave up before its request went out (it waited in the command queue or
        // for a slot): nothing to send, nothing to cancel later.
        return;
    }
    if let Some(span) = open.span.as_deref() {
        d.conn.set_next_stream_span(span);
    }
    match d
        .conn
        .send_request(&open.parts, open.end_stream && open.body.is_none())
    {
        Ok(stream) => {
            if let Some(span) = open.span.take() {
                span.record("h2.stream_id", i64::from(stream.0));
            }
            let frames = d.conn.stats().frames_received.total();
            // A request complete in its HEADERS (a GET) needs no stream context until a
            // response body has to stream (`release` adds one then): the reply slot holds its
            // opening, the engine its state. With many requests in flight the context's map
            // entry was a cache miss to write and another to read back.
            if open.body.is_some() || !open.end_stream {
                let mut ctx = StreamCtx::default();
                if let Some(data) = open.body {
                    ctx.pending = Some(Pending {
                        data,
                        end_stream: open.end_stream,
                        ack: None,
                    });
                }
                d.streams.insert(stream, ctx);
            }
            let now = d.now();
            open.reply.opened(stream, frames, now);
            d.role.waiting.insert(stream, open.reply);
            d.flush_stream(stream);
        }
        Err(SendError::ConcurrencyLimit) => d.role.queued.push_back(open),
        Err(SendError::GoingAway | SendError::StreamIdsExhausted) => {
            // Never sent: as safe to retry as a stream above GOAWAY's last_stream_id (and a
            // connection out of stream identifiers is closed for new requests, in `publish`).
            let _ = open.reply.send(Err(StreamError::Unprocessed));
        }
        Err(e) => {
            let _ = open.reply.send(Err(StreamError::Request(e.to_string())));
        }
    }
}

/// The response will not come: tell its caller.
fn fail_response<T: Io>(d: &mut Client<T>, stream: StreamId, err: StreamError) {
    if let Some(tx) = d.role.waiting.remove(&stream) {
        let _ = tx.send(Err(err));
    }
}

/// Publishes what the pool needs after each turn.
fn publish<T: Io>(d: &mut Client<T>) {
    let max = d.conn.peer_max_concurrent_streams();
    let settled = d.conn.peer_settings_received();
    let s = d.conn.stats();
    // Rapid-reset detectors compare resets to streams: a connection where we reset more than
    // half of at least 100 streams takes no new ones (the pool opens a fresh one).
    let reset_heavy =
        s.streams_opened_local >= 100 && s.resets_sent.total() * 2 > s.streams_opened_local;
    let closed = d.conn.is_closed()
        || d.conn.error().is_some()
        || d.conn.stream_ids_exhausted()
        || reset_heavy;
    let active = d.conn.active_streams().0;
    // Every per-stream record of the task and of this role: zero once every response is read.
    let tracked = d.tracked_streams() + d.role.waiting.len() + d.role.queued.len();
    let c = &mut d.role;
    c.shared.tracked.store(tracked, Relaxed);
    let raised = max > c.shared.peer_max_streams.swap(max, Relaxed);
    // Requests waiting for this connection's SETTINGS (rather than opening another
    // connection) learn its real limit now.
    let settled = settled && !c.shared.settled.swap(true, Relaxed);
    let raised = raised || settled;
    let now = active + c.queued.len() + c.liveness.cancelled_unconfirmed();
    c.shared.active.store(now, Relaxed);
    let released = std::mem::take(&mut c.opened_unpublished);
    if released > 0 {
        c.shared.reserved.fetch_sub(released, Relaxed);
    }
    if closed {
        c.shared.closed.store(true, Relaxed);
    }
    // Slots freed as the pool counts them (active + reserved): a reservation whose request
    // never became a stream (its caller gave up while it was queued) frees one too. Counting
    // only active streams left a request waiting for a slot asleep when the last activity was
    // such a release.
    let freed = (c.last_active + released).saturating_sub(now);
    c.last_active = now;
    if let Some(g) = c.gauges.as_mut() {
        // Requests in flight or waiting here (cancels awaiting the peer's proof of life
        // count for the pool, not for the gauge).
        g.set_active(active + c.queued.len() > 0);
    }
    if freed > 0 || closed || raised {
        if let Some(n) = c.shared.capacity.get() {
            // A raised limit (the server's SETTINGS) or a closed connection concerns every
            // waiter; a freed slot concerns one.
            if closed || raised {
                n.notify_all();
            }
            n.freed(freed);
        }
    }
}

#[cfg(test)]
pub(crate) fn reply_channel() -> (ResponseTx, ResponseRx) {
    reply::channel()
}
