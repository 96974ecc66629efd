//! The connection driver: one task per connection that owns its `h2kit_proto::Connection`.
//!
//! The loop reads into one reused buffer, feeds the engine, acts on its events, applies the
//! commands that handlers and bodies send over one channel, and writes everything the engine
//! queued with one write per turn (the engine coalesces frames into a contiguous buffer). It
//! never waits on a handler: handlers run as their own tasks and talk to it only through the
//! channel. It stops reading while a large amount of output is unwritten, so a peer that does
//! not read cannot make us queue without bound.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use h2kit_proto::stream::StreamIdMap;
use h2kit_proto::{Connection, Event, Head, StreamId, StreamState};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};
use tokio_util::io::poll_read_buf;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::body::BodyMsg;
use crate::server::Handler;
use crate::stats::StatsSink;

pub(crate) mod client;
mod commands;
mod held;
mod linger;
mod pump;
pub(crate) mod reply;
mod server;
mod timers;

use crate::Error;
pub(crate) use commands::Command;
use linger::Linger;
pub(crate) use pump::{pump, send_response, PumpError};

/// Stop reading from the peer while this much output is unwritten.
const MAX_OUTPUT_BACKLOG: usize = 1 << 20;
/// Read buffer sizes: small while a connection is quiet (idle connections are many), large
/// once reads fill it (bulk transfers).
const READ_SMALL: usize = 8192;
const READ_LARGE: usize = 64 << 10;
const IDLE_READ: usize = 512;
/// A connection without streams for this long gives back idle memory.
const COMPACT_AFTER: Duration = Duration::from_secs(1);
/// Commands applied per turn before the loop also reads and writes (fairness).
const COMMAND_BATCH: usize = 512;
/// The way into a connection driver.
pub(crate) type CommandTx = crate::mailbox::QueueTx<Command>;

/// What a driver needs to know, whichever side of the connection it is on.
#[derive(Clone, Debug)]
pub(crate) struct DriverConfig {
    pub proto: h2kit_proto::Config,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
    pub inline_first_poll: bool,
    /// Reset a stream whose queued data could not move for this long (window kept at zero).
    pub send_stall_timeout: Option<Duration>,
}

/// The side-specific part of a driver.
pub(crate) enum Role {
    Server {
        handler: Arc<dyn Handler>,
        /// Handlers of requests that arrived in this read, polled once the whole read has been
        /// processed — so a request whose body came in the same read finds it complete.
        new_handlers: Vec<(StreamId, http::Request<()>)>,
    },
    Client(Box<client::ClientState>),
}

struct Pending {
    data: Bytes,
    end_stream: bool,
    ack: Option<oneshot::Sender<Result<(), Error>>>,
}

/// From this many open connections in a client on, each driver hands out all the responses
/// of a read in one turn (see `Driver::dispatch_batch`). Measured against nghttpd (CPU 1)
/// from one core, 100 streams per connection, req/s with a quarter per turn / all at once:
/// 1 connection 335–347 k / 170–183 k; 2: 334–340 k / 263–279 k; 4: 296–309 k / 360 k;
/// 10: 245–249 k / 280–289 k.
const OVERLAPPING_CONNECTIONS: usize = 4;

/// A request body received before its handler started (bounded by the stream window).
#[derive(Default)]
struct Early {
    chunks: crate::body::Chunks,
    trailers: Option<http::HeaderMap>,
    complete: bool,
    /// A request with a small declared body whose handler starts once the body is complete.
    deferred: Option<http::Request<()>>,
}

#[derive(Default)]
struct StreamCtx {
    /// Set from the head of a request with a body until its handler starts. Boxed: every
    /// stream's context is moved in and out of the stream map, and most have none.
    early: Option<Box<Early>>,
    body: Option<crate::mailbox::Sender<BodyMsg>>,
    /// Bytes handed to the body and not yet released by it.
    unreleased: usize,
    body_dropped: bool,
    pending: Option<Pending>,
    handler: Option<tokio::task::AbortHandle>,
}

pub(crate) struct Driver<T> {
    io: T,
    conn: Connection,
    read_buf: BytesMut,
    write_buf: Bytes,
    read_closed: bool,
    /// Client: events of the last read not yet handed out (see `dispatch_some`).
    events_pending: bool,
    /// Client: cancelled requests, applied after the turn's read (see `apply_cancels`).
    cancels: Vec<(StreamId, bool)>,
    /// The read or write error that ended the connection, if one did.
    io_error: Option<std::io::ErrorKind>,
    /// Our first SETTINGS were acknowledged (the first RTT sample).
    settings_acked: bool,
    /// Streams whose queued data is blocked by flow control, and since when (no progress).
    stalled: StreamIdMap<Instant>,
    /// The spare room to offer the next read: grows after a read that filled it.
    read_chunk: usize,
    /// The time for this pass of the loop, read once when first needed: requests opened in
    /// one batch of commands share it (a clock read per request showed in profiles).
    clock: Option<std::time::Instant>,
    write_deferred: bool,
    /// The command channel exists only while the connection has streams (see `compact`).
    commands: Option<crate::mailbox::QueueRx<Command>>,
    command_tx: Option<crate::driver::CommandTx>,
    /// Commands taken from the queue and not yet applied (at most `COMMAND_BATCH` per pass).
    inbox: std::collections::VecDeque<Command>,
    /// Idle memory was given back (channel dropped, read buffer shrunk).
    compacted: bool,
    streams: StreamIdMap<StreamCtx>,
    role: Role,
    config: Arc<DriverConfig>,
    timer: Pin<Box<Sleep>>,
    /// Completes when the server shuts down; polled, so it wakes an otherwise idle driver.
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    shutdown_started: Option<Instant>,
    idle_since: Option<Instant>,
    started: Instant,
    stats: Option<StatsSink>,
    /// Metrics are flushed at most once a second while the connection is busy, and at its end.
    next_flush: Instant,
    lingering: Option<Linger>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Driver<T> {
    pub(crate) fn new(
        io: T,
        initial: BytesMut,
        role: Role,
        config: Arc<DriverConfig>,
        shutdown: CancellationToken,
        stats: Option<StatsSink>,
    ) -> Self {
        let now = Instant::now();
        let conn = match role {
            Role::Server { .. } => Connection::server(config.proto.clone(), now.into_std()),
            Role::Client(_) => Connection::client(config.proto.clone(), now.into_std()),
        };
        let read_buf = initial;
        Driver {
            io,
            conn,
            read_buf,
            write_buf: Bytes::new(),
            read_closed: false,
            events_pending: false,
            cancels: Vec::new(),
            io_error: None,
            settings_acked: false,
            stalled: StreamIdMap::default(),
            read_chunk: READ_SMALL,
            clock: None,
            write_deferred: false,
            commands: None,
            command_tx: None,
            inbox: Default::default(),
            compacted: false,
            streams: StreamIdMap::default(),
            role,
            config,
            timer: Box::pin(tokio::time::sleep_until(now + Duration::from_secs(3600))),
            shutdown: Box::pin(shutdown.cancelled_owned()),
            shutdown_started: None,
            idle_since: Some(now),
            started: now,
            stats,
            next_flush: now + Duration::from_secs(1),
            lingering: None,
        }
    }

    /// Client drivers are reached through a channel the pool holds from the start.
    pub(crate) fn with_commands(
        mut self,
        rx: crate::mailbox::QueueRx<Command>,
        tx: crate::driver::CommandTx,
    ) -> Self {
        self.commands = Some(rx);
        self.command_tx = Some(tx);
        self
    }

    /// Runs the connection to its end.
    /// Runs the connection to its end; returns the flood it was ended for, if any.
    pub(crate) async fn run(mut self) -> Option<h2kit_proto::connection::Flood> {
        std::future::poll_fn(|cx| self.poll(cx)).await;
        if let Some(s) = self.stats.as_mut() {
            s.flush(self.conn.stats());
        }
        self.conn.stats().flood
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.lingering.is_some() {
            return self.poll_linger(cx);
        }
        // Bytes that arrived with the accept (the sniffed preface) are processed first.
        if !self.read_buf.is_empty() && !self.conn.peer_settings_received() {
            let now = Instant::now().into_std();
            let _ = self.conn.recv(&mut self.read_buf, now);
            self.process_events(cx);
        }
        loop {
            let mut progress = false;
            let mut yield_now = false;
            let mut commanded = false;
            self.clock = None;
            // 1. Commands from handlers and bodies.
            if self.inbox.is_empty() {
                if let Some(commands) = self.commands.as_mut() {
                    let _ = commands.poll_recv_all(cx, &mut self.inbox);
                }
            }
            for _ in 0..COMMAND_BATCH {
                let Some(cmd) = self.inbox.pop_front() else {
                    break;
                };
                self.apply(cmd);
                progress = true;
                commanded = true;
            }
            if progress {
                self.flush_stats(Instant::now());
            }
            // 2. Graceful shutdown requested by the server.
            if self.shutdown_started.is_none() && self.shutdown.as_mut().poll(cx).is_ready() {
                self.begin_shutdown();
                progress = true;
            }
            // 2b. Responses still to hand out from the last read.
            if self.events_pending {
                yield_now = self.dispatch_some(cx, self.dispatch_batch());
                progress = true;
            }
            // 3. Read, unless the peer is not reading what we already have for it.
            if !self.read_closed
                && !self.events_pending
                && self.conn.pending_output() + self.write_buf.len() < MAX_OUTPUT_BACKLOG
            {
                match self.read(cx) {
                    Poll::Ready(Ok(None)) => {
                        self.read_closed = true;
                        progress = true;
                    }
                    Poll::Ready(Ok(Some(now))) => {
                        if matches!(self.role, Role::Client(_)) {
                            yield_now = self.dispatch_some(cx, self.dispatch_batch());
                        } else {
                            self.process_events(cx);
                        }
                        self.on_evidence();
                        progress = true;
                        self.flush_stats(now);
                    }
                    Poll::Ready(Err(e)) => {
                        self.io_error = Some(e.kind());
                        return self.finish(cx);
                    }
                    Poll::Pending => {}
                }
            }
            // The extra read of `dispatch_some` may have met the error.
            if self.io_error.is_some() {
                return self.finish(cx);
            }
            // 3b. Cancellations, now that what had arrived is known.
            if !self.cancels.is_empty() {
                self.apply_cancels();
                progress = true;
            }
            // 3c. Client: output that only commands produced waits one round of the scheduler,
            // so that callers already woken add their requests to the same write.
            if commanded
                && !self.write_deferred
                && !yield_now
                && self.write_buf.is_empty()
                && matches!(self.role, Role::Client(_))
            {
                self.write_deferred = true;
                self.poll_timers(cx);
                self.publish();
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.write_deferred = false;
            // 4. Write everything queued.
            loop {
                if self.write_buf.is_empty() {
                    match self.conn.poll_transmit() {
                        Some(b) => self.write_buf = b,
                        None => break,
                    }
                }
                match Pin::new(&mut self.io).poll_write(cx, &self.write_buf) {
                    Poll::Ready(Ok(0)) => return self.finish(cx),
                    Poll::Ready(Err(e)) => {
                        self.io_error = Some(e.kind());
                        return self.finish(cx);
                    }
                    Poll::Ready(Ok(n)) => {
                        self.write_buf.advance(n);
                        progress = true;
                    }
                    Poll::Pending => break,
                }
            }
            if self.write_buf.is_empty() {
                // TLS buffers internally; a no-op for TCP.
                let _ = Pin::new(&mut self.io).poll_flush(cx);
            }
            // 5. More responses to hand out first: let their tasks run (before the end of
            // the connection, too, so none is lost).
            if yield_now {
                self.poll_timers(cx);
                self.publish();
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // 6. Done?
            let drained = self.write_buf.is_empty() && !self.conn.has_output();
            if drained && (self.conn.is_closed() || self.read_closed) {
                return self.finish(cx);
            }
            // 7. Timers.
            if self.poll_timers(cx) {
                progress = true;
            }
            if !progress {
                self.publish();
                return Poll::Pending;
            }
        }
    }

    /// Applies the callers' cancellations of this turn. They wait until after the read so
    /// that a response already in the socket is seen first: a caller whose deadline expired
    /// while its response was arriving (a stalled machine, or the crossing of the two) must
    /// not reset a stream the server has finished — RFC 9113 §5.1 tolerates it, but servers
    /// count such resets, and it is the first failure h2kit exists to prevent. The read also
    /// proves the connection alive, so such a timeout does not make it suspect.
    fn apply_cancels(&mut self) {
        for (stream, timed_out) in std::mem::take(&mut self.cancels) {
            // Judged before the reply is failed: it looks at the waiting reply.
            if timed_out {
                self.on_request_timeout(stream);
            }
            self.fail_response(stream, Error::ConnectionClosed);
            self.conn.cancel(stream);
            if let Some(ctx) = self.streams.remove(&stream) {
                if let Some(p) = ctx.pending {
                    if let Some(ack) = p.ack {
                        let _ = ack.send(Err(Error::ConnectionClosed));
                    }
                }
            }
        }
    }

    /// See `clock`.
    fn now(&mut self) -> std::time::Instant {
        *self.clock.get_or_insert_with(std::time::Instant::now)
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Whatever arrived complete is delivered before the rest fails.
        if self.events_pending {
            self.events_pending = false;
            self.dispatch_events();
        }
        self.publish();
        use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
        let why = match self.io_error {
            Some(ConnectionReset | ConnectionAborted | BrokenPipe) => Error::ConnectionReset,
            _ => Error::ConnectionClosed,
        };
        if let Role::Client(c) = &mut self.role {
            c.fail_all(&why);
        }
        for (_, ctx) in self.streams.drain() {
            if let Some(tx) = ctx.body {
                let _ = tx.send(BodyMsg::Error(why.clone()));
            }
            if let Some(p) = ctx.pending {
                if let Some(ack) = p.ack {
                    let _ = ack.send(Err(why.clone()));
                }
            }
            if let Some(h) = ctx.handler {
                h.abort();
            }
        }
        self.close_or_linger(cx)
    }

    /// The command channel, created on first use.
    fn sender(&mut self) -> crate::driver::CommandTx {
        self.compacted = false;
        if let Some(tx) = &self.command_tx {
            return tx.clone();
        }
        let (tx, rx) = crate::mailbox::queue();
        self.commands = Some(rx);
        self.command_tx = Some(tx.clone());
        tx
    }

    /// An idle connection gives back what only active streams need: the command channel
    /// (tokio allocates its slots in blocks of 32) and a large read buffer. With thousands of
    /// idle connections this is most of their memory.
    fn compact(&mut self) {
        self.compacted = true;
        if let Some(s) = self.stats.as_mut() {
            s.flush(self.conn.stats());
        }
        // A client's channel is the pool's way in: it stays.
        if self.streams.is_empty() && matches!(self.role, Role::Server { .. }) {
            self.commands = None;
            self.command_tx = None;
        }
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        }
        self.streams.shrink_to_fit();
        self.conn.shrink_to_fit();
    }

    fn begin_shutdown(&mut self) {
        self.shutdown_started = Some(Instant::now());
        self.conn.graceful_shutdown(Instant::now().into_std());
    }

    fn process_events(&mut self, cx: &mut Context<'_>) {
        self.dispatch_events();
        self.start_handlers(cx);
    }

    /// Client side: responses to hand out per turn, a quarter of the streams in flight (so
    /// a full round trip goes out in about four writes), at least 8 and at most 64.
    ///
    /// Why: a client that hands out every response of a read at once lets all their tasks
    /// run, and only then writes the next requests in one batch; the server idles while the
    /// client works and the other way round, so the two run in series. Handing out a part,
    /// writing the requests that part queues, then the next part, keeps both sides busy at
    /// once. Measured with one connection × 100 streams against nghttpd on another CPU: 190 k
    /// req/s handing out everything, 350–370 k with 25 per turn, 320 k with 8, 235 k with 60.
    ///
    /// With `OVERLAPPING_CONNECTIONS` or more connections open in the client, the others'
    /// work already fills the gaps, and a CPU-bound client gains more from fewer, larger
    /// writes (a loopback send costs about 13 µs, most of it the receiver's TCP work): then a
    /// turn hands out everything.
    fn dispatch_batch(&self) -> usize {
        let in_flight = match &self.role {
            Role::Client(c) if c.live.count() >= OVERLAPPING_CONNECTIONS => return usize::MAX,
            // Most client streams have no context (see `open`).
            Role::Client(_) => self.conn.active_streams().0,
            _ => self.streams.len(),
        };
        (in_flight / 4).clamp(8, 64)
    }

    /// Client side: hands out events until `budget` responses have completed; true if more
    /// are left for the next turn.
    ///
    /// When the events run out with response heads held for their bodies, the socket is read
    /// once more first: servers often write the HEADERS of many streams before their DATA
    /// (nghttpd does), or the read stopped at the buffer's end, and the DATA usually arrived
    /// while the heads were processed. Each body completed so spares its caller a channel and
    /// a second wake-up; a body not there yet still never delays its head beyond this read.
    fn dispatch_some(&mut self, cx: &mut Context<'_>, mut budget: usize) -> bool {
        self.events_pending = false;
        let mut read_again = true;
        while budget > 0 {
            let Some(e) = self.conn.poll_event() else {
                if read_again && self.holds_heads() && self.read_more(cx) {
                    read_again = false;
                    continue;
                }
                self.release_all_held();
                return false;
            };
            if self.dispatch_one(e) {
                budget -= 1;
            }
        }
        self.release_all_held();
        self.events_pending = true;
        true
    }

    /// The extra read of `dispatch_some`: true if bytes arrived (and were processed). An end
    /// of stream or an error is recorded for the main loop, which acts on it.
    fn read_more(&mut self, cx: &mut Context<'_>) -> bool {
        if self.read_closed
            || self.io_error.is_some()
            || self.conn.pending_output() + self.write_buf.len() >= MAX_OUTPUT_BACKLOG
        {
            return false;
        }
        match self.read(cx) {
            Poll::Ready(Ok(None)) => {
                self.read_closed = true;
                false
            }
            Poll::Ready(Ok(Some(_))) => true,
            Poll::Ready(Err(e)) => {
                self.io_error = Some(e.kind());
                false
            }
            Poll::Pending => false,
        }
    }

    /// One read from the socket into the read buffer, handed to the engine: the time of the
    /// read, or `None` at the end of the stream. Sizes the buffer first: small while the
    /// connection is quiet, large once reads fill it (bulk data), and given back when quiet
    /// again.
    fn read(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<Option<Instant>>> {
        if self.read_buf.is_empty()
            && self.read_chunk == READ_SMALL
            && self.read_buf.capacity() > 4 * READ_SMALL
        {
            // Quiet again after bulk data: give the large buffer back.
            self.read_buf = BytesMut::new();
        }
        if self.read_buf.capacity() - self.read_buf.len() < self.read_chunk {
            // A compacted (idle) connection waits for its next bytes with a small buffer.
            let want = if self.compacted {
                IDLE_READ
            } else {
                self.read_chunk
            };
            self.read_buf.reserve(want);
        }
        let room = self.read_buf.capacity() - self.read_buf.len();
        match poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read_buf) {
            Poll::Ready(Ok(0)) => Poll::Ready(Ok(None)),
            Poll::Ready(Ok(n)) => {
                self.read_chunk = if n == room { READ_LARGE } else { READ_SMALL };
                let now = Instant::now();
                let _ = self.conn.recv(&mut self.read_buf, now.into_std());
                Poll::Ready(Ok(Some(now)))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn dispatch_events(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            self.dispatch_one(e);
        }
        self.release_all_held();
    }

    /// Hands out one event; true if it ended a stream's receiving side.
    fn dispatch_one(&mut self, e: Event) -> bool {
        // A response head whose whole body the engine hands over with it: complete, like an
        // event that ends the stream.
        if let Event::Headers {
            stream,
            head: Head::Response(_),
            end_stream: false,
        } = &e
        {
            let stream = *stream;
            if let Some(data) = self.conn.take_whole_body(stream) {
                let Event::Headers {
                    head: Head::Response(res),
                    ..
                } = e
                else {
                    unreachable!("matched above")
                };
                self.on_whole_response(stream, res, data);
                if self.conn.stream_state(stream) == StreamState::Closed {
                    self.forget(stream);
                }
                return true;
            }
        }
        // A stream whose receiving side this event closes may be finished altogether.
        let touched = match &e {
            Event::Headers {
                stream,
                end_stream: true,
                ..
            }
            | Event::Data {
                stream,
                end_stream: true,
                ..
            } => Some(*stream),
            _ => None,
        };
        self.dispatch_event(e);
        if let Some(stream) = touched {
            if self.conn.stream_state(stream) == StreamState::Closed {
                self.forget(stream);
            }
        }
        touched.is_some()
    }

    fn dispatch_event(&mut self, e: Event) {
        match e {
            Event::Headers {
                stream,
                head,
                end_stream,
            } => {
                // Trailers of a held response follow its head (see `Held`).
                self.release_held(stream);
                self.on_headers(stream, head, end_stream)
            }
            Event::Data {
                stream,
                data,
                end_stream,
            } if self.is_held(stream) => self.on_held_data(stream, data, end_stream),
            Event::Data {
                stream,
                data,
                end_stream,
            } => {
                let n = data.len();
                let ctx = self.streams.get_mut(&stream);
                match ctx {
                    Some(StreamCtx {
                        early: Some(early), ..
                    }) => {
                        early.chunks.push(data);
                        early.complete |= end_stream;
                        if early.complete {
                            if let Some(req) = early.deferred.take() {
                                self.push_handler(stream, req);
                            }
                        }
                    }
                    Some(ctx) if ctx.body.is_some() && !ctx.body_dropped => {
                        ctx.unreleased += n;
                        if let Some(tx) = &ctx.body {
                            if tx.send(BodyMsg::Data(data)).is_err() {
                                ctx.body_dropped = true;
                            }
                        }
                        if end_stream {
                            ctx.body = None;
                        }
                    }
                    _ => self.conn.release_capacity(stream, n),
                }
            }
            Event::Reset {
                stream,
                code,
                remote,
            } => {
                let err = if remote {
                    Error::Reset(code)
                } else {
                    Error::Protocol(code)
                };
                // A held head goes out first; its body then carries the reset.
                self.release_held(stream);
                self.fail_response(stream, err.clone());
                if let Some(ctx) = self.streams.remove(&stream) {
                    if let Some(tx) = ctx.body {
                        let _ = tx.send(BodyMsg::Error(err.clone()));
                    }
                    if let Some(p) = ctx.pending {
                        if let Some(ack) = p.ack {
                            let _ = ack.send(Err(err));
                        }
                    }
                    if let Some(h) = ctx.handler {
                        h.abort();
                    }
                }
            }
            Event::SendCapacity { stream } => self.flush_stream(stream),
            Event::Unprocessed { stream } => {
                self.release_held(stream);
                self.fail_response(stream, Error::Unprocessed);
                self.streams.remove(&stream);
            }
            Event::StreamsAvailable => self.open_queued(),
            Event::GoAway { code, .. } => self.on_goaway(code),
            Event::PingAck { rtt, .. } => self.on_ping_answered(rtt),
            Event::LocalSettingsAcked if !self.settings_acked => {
                // Our first SETTINGS went out with the preface: their ACK is a round trip.
                self.settings_acked = true;
                let rtt = self.started.elapsed();
                self.on_rtt(rtt);
            }
            _ => {}
        }
    }
}
