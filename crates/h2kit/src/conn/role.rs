//! What a role (server or client) adds to the connection task.
//!
//! The task itself ([`Driver`]) reads, writes, keeps timers, moves body data and applies the
//! stream commands every role shares. Everything that depends on which side opened the
//! streams is a [`Role`]: how the events of a read are handed out, what a message head means,
//! the role's own commands and deadlines. Each hook gets the whole driver, so a role keeps its
//! state in `d.role` and reaches the engine through `d.conn`; the calls are static (the driver
//! is generic over its role), so this costs nothing per frame.

use std::task::Context;
use std::time::Duration;

use bytes::Bytes;
use h2kit_proto::{Connection, ErrorCode, Head, StreamId};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::Driver;
use crate::error::StreamError;
use crate::metrics::semconv::Failure;

/// The transport a connection task runs over.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// A transport that can move between threads, boxed where its type does not matter (TLS).
pub(crate) trait IoSend: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> IoSend for T {}

/// Per-stream state a role keeps beside the task's own.
pub(crate) trait StreamExt: Default + Send {
    /// The stream ended abnormally (reset, or the connection ended): stop whatever works for
    /// it.
    fn abort(&mut self) {}
}

impl StreamExt for () {}

pub(crate) trait Role: Sized + Send + 'static {
    /// Commands of this role, beyond the stream commands every role shares.
    type Command: Send + 'static;
    /// Per-stream state of this role.
    type Stream: StreamExt;
    /// Output produced only by commands waits one round of the scheduler, so that callers
    /// already woken add their requests to the same write (a client's callers).
    const COALESCE_COMMAND_WRITES: bool = false;
    /// The command channel stays while the connection is idle (someone outside the task holds
    /// its sender from the start, as a client's pool does).
    const KEEP_IDLE_CHANNEL: bool = false;

    /// The engine for this side of the connection.
    fn engine(config: h2kit_proto::Config, now: std::time::Instant) -> Connection;

    /// Hands out the engine's events after a read (or those left from the last one); true if
    /// some are left for the next turn, whose tasks should run first.
    fn hand_out<T: Io>(d: &mut Driver<T, Self>, cx: &mut Context<'_>) -> bool;

    /// A batch of events was handed out.
    fn events_done<T: Io>(_d: &mut Driver<T, Self>) {}

    /// Bytes were read and processed.
    fn after_read<T: Io>(_d: &mut Driver<T, Self>) {}

    /// After the turn's read: work that must see what arrived first. True if it did some.
    fn settle<T: Io>(_d: &mut Driver<T, Self>) -> bool {
        false
    }

    /// A command of this role.
    fn apply<T: Io>(d: &mut Driver<T, Self>, cmd: Self::Command);

    /// A request or response head; true if it completes the stream's receiving side (it
    /// ended the stream, or its whole body came with it).
    fn on_head<T: Io>(d: &mut Driver<T, Self>, stream: StreamId, head: Head, end: bool) -> bool;

    /// Trailers: given back unless the role took them (then the task delivers them to the
    /// stream's body).
    fn on_trailers<T: Io>(
        _d: &mut Driver<T, Self>,
        _stream: StreamId,
        trailers: http::HeaderMap,
    ) -> Option<http::HeaderMap> {
        Some(trailers)
    }

    /// DATA: given back unless the role took it (then the task delivers it to the stream's
    /// body, or returns its window).
    fn on_data<T: Io>(
        _d: &mut Driver<T, Self>,
        _stream: StreamId,
        data: Bytes,
        _end: bool,
    ) -> Option<Bytes> {
        Some(data)
    }

    /// A stream's record was dropped: it completed (`failure` is `None`), or why not.
    fn on_stream_end<T: Io>(
        _d: &mut Driver<T, Self>,
        _ext: Self::Stream,
        _failure: Option<Failure>,
    ) {
    }

    /// The stream was reset (`err` says by whom); called before its state is dropped.
    fn on_reset<T: Io>(_d: &mut Driver<T, Self>, _stream: StreamId, _err: &StreamError) {}

    /// A stream we opened was not processed (above the peer's GOAWAY).
    fn on_unprocessed<T: Io>(_d: &mut Driver<T, Self>, _stream: StreamId) {}

    /// The peer's concurrency limit allows more streams again.
    fn on_streams_available<T: Io>(_d: &mut Driver<T, Self>) {}

    /// The peer sent GOAWAY.
    fn on_goaway<T: Io>(_d: &mut Driver<T, Self>, _code: ErrorCode) {}

    /// A round trip was measured (our SETTINGS acknowledged, or a PING answered).
    fn on_rtt<T: Io>(_d: &mut Driver<T, Self>, _rtt: Duration) {}

    /// A body nobody will read was dropped.
    fn on_body_dropped<T: Io>(d: &mut Driver<T, Self>, stream: StreamId);

    /// The connection ended (`why`): whoever still waits on it learns.
    fn on_close<T: Io>(_d: &mut Driver<T, Self>, _why: &StreamError) {}

    /// Publishes what the world outside the task needs after each turn.
    fn publish<T: Io>(_d: &mut Driver<T, Self>) {}

    /// The role's next deadline.
    fn deadline<T: Io>(_d: &Driver<T, Self>) -> Option<Instant> {
        None
    }

    /// The role's deadlines at `now`; true if one fired.
    fn on_timer<T: Io>(_d: &mut Driver<T, Self>, _now: Instant) -> bool {
        false
    }
}
