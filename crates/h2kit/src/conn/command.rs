//! The stream commands every role sends its connection task (from handlers, bodies and
//! callers), and how the task applies them.

use bytes::Bytes;
use h2kit_proto::{ErrorCode, StreamId, StreamState};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Driver, Io, Pending, Role};
use crate::error::StreamError;
use crate::metrics::semconv::Failure;

/// Messages to a connection task: the stream commands of every role, and the role's own
/// (`X`).
pub(crate) enum Command<X> {
    /// A body chunk. `ack` fires once the chunk is entirely in the engine (flow control
    /// permitting), so each stream has at most one chunk waiting in the task.
    Data {
        stream: StreamId,
        data: Bytes,
        end_stream: bool,
        ack: oneshot::Sender<Result<(), StreamError>>,
    },
    Trailers {
        stream: StreamId,
        trailers: Box<http::HeaderMap>,
    },
    Reset {
        stream: StreamId,
        code: ErrorCode,
    },
    /// A body consumed `n` bytes: reopen the window.
    Release {
        stream: StreamId,
        n: usize,
    },
    /// A body was dropped unread.
    BodyDropped {
        stream: StreamId,
    },
    /// The role's own.
    Role(X),
}

/// What a received body tells its connection task, whatever the task's role (see
/// `RecvBody`).
pub(crate) enum BodyCommand {
    Release { stream: StreamId, n: usize },
    Dropped { stream: StreamId },
}

impl<X> From<BodyCommand> for Command<X> {
    fn from(c: BodyCommand) -> Self {
        match c {
            BodyCommand::Release { stream, n } => Command::Release { stream, n },
            BodyCommand::Dropped { stream } => Command::BodyDropped { stream },
        }
    }
}

impl<T: Io, R: Role> Driver<T, R> {
    pub(super) fn apply(&mut self, cmd: Command<R::Command>) {
        match cmd {
            Command::Data {
                stream,
                data,
                end_stream,
                ack,
            } => match self.streams.get_mut(&stream) {
                Some(ctx) => {
                    let p = Pending {
                        data,
                        end_stream,
                        ack: Some(ack),
                    };
                    if ctx.pending.is_none() {
                        ctx.pending = Some(p);
                        self.flush_stream(stream);
                    } else {
                        // Behind a chunk that waits for window (the pump is one ahead).
                        let earlier = self.ahead.insert(stream, p);
                        debug_assert!(earlier.is_none(), "a pump keeps two chunks queued");
                    }
                }
                None => {
                    let _ = ack.send(Err(StreamError::ConnectionClosed));
                }
            },
            Command::Trailers { stream, trailers } => {
                let _ = self.conn.send_trailers(stream, &trailers);
                self.after_send(stream);
            }
            Command::Reset { stream, code } => {
                self.conn.reset(stream, code);
                self.forget_as(stream, Some(Failure::Reset(code)));
            }
            Command::Release { stream, n } => {
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    ctx.unreleased = ctx.unreleased.saturating_sub(n);
                }
                self.conn.release_capacity(stream, n);
            }
            Command::BodyDropped { stream } => R::on_body_dropped(self, stream),
            Command::Role(cmd) => R::apply(self, cmd),
        }
    }

    /// A body was dropped unread: what it was handed and did not read goes back to the
    /// peer's windows, and what still comes is not forwarded.
    pub(crate) fn drop_body(&mut self, stream: StreamId) {
        if let Some(ctx) = self.streams.get_mut(&stream) {
            ctx.body_dropped = true;
            ctx.body = None;
            let n = std::mem::take(&mut ctx.unreleased);
            self.conn.release_capacity(stream, n);
        }
    }

    /// Moves a stream's queued chunks into the engine as far as the windows allow.
    pub(crate) fn flush_stream(&mut self, stream: StreamId) {
        let mut progressed = false;
        loop {
            let Some(ctx) = self.streams.get_mut(&stream) else {
                return;
            };
            let Some(p) = ctx.pending.take() else { return };
            let before = p.data.len();
            match self.conn.send_data(stream, p.data, p.end_stream) {
                Ok(rest) if rest.is_empty() => {
                    if let Some(ack) = p.ack {
                        let _ = ack.send(Ok(()));
                    }
                    // The chunk behind it goes on in the same turn.
                    if let Some(next) = super::take_ahead(&mut self.ahead, stream) {
                        ctx.pending = Some(next);
                        progressed = true;
                        continue;
                    }
                    self.unstall(stream);
                    self.after_send(stream);
                }
                Ok(rest) => {
                    let moved = progressed || rest.len() < before;
                    ctx.pending = Some(Pending { data: rest, ..p });
                    // Blocked by a window: the stall clock runs from the last progress.
                    let now = Instant::from_std(self.now());
                    if moved {
                        self.unstall(stream);
                        self.stalled.insert(stream, now);
                    } else {
                        self.stalled.entry(stream).or_insert(now);
                    }
                }
                Err(_) => {
                    if let Some(ack) = p.ack {
                        let _ = ack.send(Err(StreamError::ConnectionClosed));
                    }
                    super::take_ahead(&mut self.ahead, stream);
                }
            }
            return;
        }
    }

    /// A stream's data moved again (or the stream ended): the time it waited for window is
    /// reported (by the pass's clock).
    pub(crate) fn unstall(&mut self, stream: StreamId) {
        if let Some(since) = self.stalled.remove(&stream) {
            let now = Instant::from_std(self.now());
            if let Some(s) = self.stats.as_mut() {
                s.blocked(now.saturating_duration_since(since));
            }
        }
    }

    /// After our side of a stream ended: a body nobody reads is left to the engine, which
    /// drops it and asks the peer to stop only past a bound (`Connection::discard_incoming`);
    /// forget streams that are fully closed.
    pub(crate) fn after_send(&mut self, stream: StreamId) {
        match self.conn.stream_state(stream) {
            StreamState::HalfClosedLocal
                if self.streams.get(&stream).is_some_and(|c| c.body_dropped) =>
            {
                self.conn.discard_incoming(stream);
                self.forget(stream);
            }
            StreamState::Closed => self.forget(stream),
            _ => {}
        }
    }

    /// Drops the record of a stream that completed, once nothing waits on it.
    pub(crate) fn forget(&mut self, stream: StreamId) {
        self.forget_as(stream, None);
    }

    /// [`forget`](Self::forget) for a stream that ended early (`failure`).
    fn forget_as(&mut self, stream: StreamId, failure: Option<Failure>) {
        if let Some(ctx) = self.streams.get(&stream) {
            if ctx.pending.is_none() && ctx.body.is_none() {
                if let Some(ctx) = self.streams.remove(&stream) {
                    R::on_stream_end(self, ctx.ext, failure);
                }
            }
        }
    }
}
