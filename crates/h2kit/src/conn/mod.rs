//! The connection task: one per connection, owning its `h2kit_proto::Connection`, whichever
//! side it is on (the side's part is a [`Role`]).
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
use tokio::time::{Instant, Sleep};
use tokio_util::io::poll_read_buf;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::metrics::semconv::Failure;
use crate::stats::StatsSink;
use crate::sync::mailbox::{self, QueueRx, QueueTx};

pub(crate) mod body;
mod command;
mod linger;
mod pump;
mod role;
mod stream;
mod timers;

use crate::error::StreamError;
use body::BodyMsg;
pub(crate) use command::Command;
use linger::Linger;
pub(crate) use pump::{pump, queue_data, PumpError, Queued};
pub(crate) use role::{Io, IoSend, Role, StreamExt};
pub(crate) use stream::{Pending, StreamCtx};

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
/// The way into a connection task whose role's own commands are `X`.
pub(crate) type CommandTx<X> = QueueTx<Command<X>>;

/// What a connection task needs to know, whichever side of the connection it is on.
#[derive(Clone, Debug)]
pub(crate) struct ConnConfig {
    pub proto: h2kit_proto::Config,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
    pub inline_first_poll: bool,
    /// Reset a stream whose queued data could not move for this long (window kept at zero).
    pub send_stall_timeout: Option<Duration>,
}

pub(crate) struct Driver<T, R: Role> {
    io: T,
    pub(crate) conn: Connection,
    read_buf: BytesMut,
    write_buf: Bytes,
    read_closed: bool,
    /// Events of the last read the role has not handed out yet (see `Role::hand_out`).
    pub(crate) events_pending: bool,
    /// The read or write error that ended the connection, if one did.
    pub(crate) io_error: Option<std::io::ErrorKind>,
    /// Our first SETTINGS were acknowledged (the first RTT sample).
    settings_acked: bool,
    /// Streams whose queued data is blocked by flow control, and since when (no progress).
    stalled: StreamIdMap<Instant>,
    /// The chunk queued behind a stream's `pending` one, when its pump is a chunk ahead
    /// (see `pump`).
    ahead: StreamIdMap<Pending>,
    /// The spare room to offer the next read: grows after a read that filled it.
    read_chunk: usize,
    /// The time for this pass of the loop, read once when first needed: requests opened in
    /// one batch of commands share it (a clock read per request showed in profiles).
    clock: Option<std::time::Instant>,
    /// `clock` in nanoseconds since the connection started (request durations), likewise
    /// computed once per pass.
    clock_ns: Option<u64>,
    write_deferred: bool,
    /// The command channel exists only while the connection has streams (see `compact`).
    commands: Option<QueueRx<Command<R::Command>>>,
    command_tx: Option<CommandTx<R::Command>>,
    /// Commands taken from the queue and not yet applied (at most `COMMAND_BATCH` per pass).
    inbox: std::collections::VecDeque<Command<R::Command>>,
    /// Idle memory was given back (channel dropped, read buffer shrunk).
    compacted: bool,
    pub(crate) streams: StreamIdMap<StreamCtx<R::Stream>>,
    pub(crate) role: R,
    pub(crate) config: Arc<ConnConfig>,
    timer: Pin<Box<Sleep>>,
    /// Completes when the owner asks for a graceful shutdown; polled, so it wakes an otherwise
    /// idle task.
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    shutdown_started: Option<Instant>,
    idle_since: Option<Instant>,
    pub(crate) started: Instant,
    pub(crate) stats: Option<StatsSink>,
    /// Metrics are flushed at most once a second while the connection is busy, and at its end.
    next_flush: Instant,
    lingering: Option<Linger>,
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Role> Driver<T, R> {
    pub(crate) fn new(
        io: T,
        initial: BytesMut,
        role: R,
        config: Arc<ConnConfig>,
        shutdown: CancellationToken,
        stats: Option<StatsSink>,
    ) -> Self {
        let now = Instant::now();
        let conn = R::engine(config.proto.clone(), now.into_std());
        let read_buf = initial;
        Driver {
            io,
            conn,
            read_buf,
            write_buf: Bytes::new(),
            read_closed: false,
            events_pending: false,
            io_error: None,
            settings_acked: false,
            stalled: StreamIdMap::default(),
            ahead: StreamIdMap::default(),
            read_chunk: READ_SMALL,
            clock: None,
            clock_ns: None,
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

    /// A task reached through a channel someone outside holds from the start (a client's
    /// pool).
    pub(crate) fn with_commands(
        mut self,
        rx: QueueRx<Command<R::Command>>,
        tx: CommandTx<R::Command>,
    ) -> Self {
        self.commands = Some(rx);
        self.command_tx = Some(tx);
        self
    }

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
            R::hand_out(self, cx);
        }
        loop {
            let mut progress = false;
            let mut yield_now = false;
            let mut commanded = false;
            self.clock = None;
            self.clock_ns = None;
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
                let now = self.now();
                self.flush_stats(Instant::from_std(now));
            }
            // 2. Graceful shutdown requested by the owner.
            if self.shutdown_started.is_none() && self.shutdown.as_mut().poll(cx).is_ready() {
                self.begin_shutdown();
                progress = true;
            }
            // 2b. Events still to hand out from the last read.
            if self.events_pending {
                yield_now = R::hand_out(self, cx);
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
                        yield_now = R::hand_out(self, cx);
                        R::after_read(self);
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
            // A role's extra read (the client's) may have met the error.
            if self.io_error.is_some() {
                return self.finish(cx);
            }
            // 3b. The role's work that must see what arrived first (a client's cancels).
            if R::settle(self) {
                progress = true;
            }
            // 3c. Output that only commands produced may wait one round of the scheduler, so
            // that callers already woken add their requests to the same write.
            if R::COALESCE_COMMAND_WRITES
                && commanded
                && !self.write_deferred
                && !yield_now
                && self.write_buf.is_empty()
            {
                self.write_deferred = true;
                self.poll_timers(cx);
                self.end_turn();
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
                self.end_turn();
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
                self.end_turn();
                return Poll::Pending;
            }
        }
    }

    /// Publishes the turn. What it did after the last flush (a cancel's reset) is counted
    /// first: whoever sees the task settled sees that too.
    fn end_turn(&mut self) {
        if let Some(sink) = self.stats.as_mut() {
            if sink.rare_events_pending(self.conn.stats()) {
                sink.flush(self.conn.stats());
            }
        }
        R::publish(self);
    }

    /// Streams the task keeps a record of (contexts, stall clocks).
    pub(crate) fn tracked_streams(&self) -> usize {
        self.streams.len() + self.stalled.len()
    }

    /// See `clock`.
    pub(crate) fn now(&mut self) -> std::time::Instant {
        *self.clock.get_or_insert_with(std::time::Instant::now)
    }

    /// See `clock_ns`.
    pub(crate) fn now_ns(&mut self) -> u64 {
        if let Some(ns) = self.clock_ns {
            return ns;
        }
        let since = self
            .now()
            .saturating_duration_since(self.started.into_std());
        let ns = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        self.clock_ns = Some(ns);
        ns
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Whatever arrived complete is delivered before the rest fails.
        if self.events_pending {
            self.events_pending = false;
            self.dispatch_events();
        }
        R::publish(self);
        use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
        let why = match (self.conn.peer_not_http2(), self.io_error) {
            (Some(what), _) => StreamError::NotHttp2(what.into()),
            (_, Some(ConnectionReset | ConnectionAborted | BrokenPipe)) => {
                StreamError::ConnectionReset
            }
            _ => StreamError::ConnectionClosed,
        };
        R::on_close(self, &why);
        self.ahead.clear();
        let mut streams = std::mem::take(&mut self.streams);
        for (_, ctx) in streams.drain() {
            self.fail_stream(ctx, &why);
        }
        self.close_or_linger(cx)
    }

    /// Takes a stream's context out, dropping the chunk queued behind its pending one (the
    /// pump waits for the pending one first, and learns from it how the stream ended).
    pub(crate) fn remove_stream(&mut self, id: StreamId) -> Option<StreamCtx<R::Stream>> {
        take_ahead(&mut self.ahead, id);
        self.streams.remove(&id)
    }

    /// A stream whose record was removed ended with `err`: its body and its waiting chunk
    /// learn why, the role's work for it stops, and the role records how it ended.
    fn fail_stream(&mut self, mut ctx: StreamCtx<R::Stream>, err: &StreamError) {
        if let Some(tx) = ctx.body.take() {
            let _ = tx.send(BodyMsg::Error(err.clone()));
        }
        ctx.fail_pending(err);
        ctx.ext.abort();
        R::on_stream_end(self, ctx.ext, Some(Failure::of_stream(err)));
    }

    /// The command channel, created on first use.
    pub(crate) fn sender(&mut self) -> CommandTx<R::Command> {
        self.compacted = false;
        if let Some(tx) = &self.command_tx {
            return tx.clone();
        }
        let (tx, rx) = mailbox::queue();
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
            s.release();
        }
        // A channel someone outside holds (a client's pool) stays.
        if self.streams.is_empty() && !R::KEEP_IDLE_CHANNEL {
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

    /// A read beyond the loop's own (see the client's `dispatch_some`): true if bytes arrived
    /// (and were processed). An end of stream or an error is recorded for the main loop, which
    /// acts on it.
    pub(crate) fn read_more(&mut self, cx: &mut Context<'_>) -> bool {
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
                // The pass's clock (see `clock`): what this read starts or ends shares it.
                self.clock = Some(now.into_std());
                self.clock_ns = None;
                let _ = self.conn.recv(&mut self.read_buf, now.into_std());
                Poll::Ready(Ok(Some(now)))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Hands out every event the engine has.
    pub(crate) fn dispatch_events(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            self.dispatch_one(e);
        }
        R::events_done(self);
    }

    /// Hands out one event; true if it completed a stream's receiving side.
    pub(crate) fn dispatch_one(&mut self, e: Event) -> bool {
        let ended = match e {
            Event::Headers {
                stream,
                head: Head::Trailers(t),
                ..
            } => {
                if let Some(t) = R::on_trailers(self, stream, t) {
                    if let Some(tx) = self.streams.get_mut(&stream).and_then(|c| c.body.take()) {
                        let _ = tx.send(BodyMsg::Trailers(Box::new(t)));
                    }
                }
                Some(stream)
            }
            Event::Headers {
                stream,
                head,
                end_stream,
            } => R::on_head(self, stream, head, end_stream).then_some(stream),
            Event::Data {
                stream,
                data,
                end_stream,
            } => {
                if let Some(data) = R::on_data(self, stream, data, end_stream) {
                    self.deliver_data(stream, data, end_stream);
                }
                end_stream.then_some(stream)
            }
            e => {
                self.dispatch_other(e);
                None
            }
        };
        // A stream whose receiving side this event closed may be finished altogether.
        if let Some(stream) = ended {
            if self.conn.stream_state(stream) == StreamState::Closed {
                self.forget(stream);
            }
        }
        ended.is_some()
    }

    /// DATA for the stream's body, if it has a reader; otherwise its window goes back.
    fn deliver_data(&mut self, stream: StreamId, data: Bytes, end_stream: bool) {
        let n = data.len();
        match self.streams.get_mut(&stream) {
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

    /// The events that are not a stream's message.
    fn dispatch_other(&mut self, e: Event) {
        match e {
            Event::Reset {
                stream,
                code,
                remote,
            } => {
                let err = if remote {
                    StreamError::Reset(code)
                } else {
                    StreamError::Protocol(code)
                };
                R::on_reset(self, stream, &err);
                self.unstall(stream);
                if let Some(ctx) = self.remove_stream(stream) {
                    self.fail_stream(ctx, &err);
                }
            }
            Event::SendCapacity { stream } => self.flush_stream(stream),
            Event::Unprocessed { stream } => {
                R::on_unprocessed(self, stream);
                if let Some(ctx) = self.remove_stream(stream) {
                    R::on_stream_end(self, ctx.ext, Some(Failure::Unprocessed));
                }
            }
            Event::StreamsAvailable => R::on_streams_available(self),
            Event::GoAway { code, .. } => R::on_goaway(self, code),
            Event::PingAck { rtt, .. } => R::on_rtt(self, rtt),
            Event::LocalSettingsAcked if !self.settings_acked => {
                // Our first SETTINGS went out with the preface: their ACK is a round trip.
                self.settings_acked = true;
                let rtt = self.started.elapsed();
                R::on_rtt(self, rtt);
            }
            _ => {}
        }
    }
}

/// The chunk queued behind a stream's pending one, if any: no hashing in the usual case,
/// where no pump is ahead.
fn take_ahead(ahead: &mut StreamIdMap<Pending>, id: StreamId) -> Option<Pending> {
    if ahead.is_empty() {
        return None;
    }
    ahead.remove(&id)
}
