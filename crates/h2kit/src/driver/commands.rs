//! Commands from handlers, bodies and callers, applied by the driver to its connection.

use bytes::Bytes;
use h2kit_proto::{ErrorCode, StreamId, StreamState};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{client, Driver, Pending, Role};
use crate::Error;

/// Messages from handlers and bodies to the driver.
pub(crate) enum Command {
    /// A response head, possibly with its whole body when that is a single chunk.
    Respond {
        stream: StreamId,
        /// Boxed: commands sit in channel blocks of 32 slots allocated per connection, so the
        /// slot size (the largest variant) is memory every idle connection pays for.
        parts: Box<http::response::Parts>,
        body: Option<Bytes>,
        end_stream: bool,
    },
    /// A body chunk. `ack` fires once the chunk is entirely in the engine (flow control
    /// permitting), so each stream has at most one chunk waiting in the driver.
    Data {
        stream: StreamId,
        data: Bytes,
        end_stream: bool,
        ack: oneshot::Sender<Result<(), Error>>,
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
    /// Client: open a stream for a request.
    Open(client::Open),
    /// Client: the request was given up; end the stream if it is still open.
    /// `timed_out`: because a deadline expired (evidence about the connection's liveness).
    Cancel {
        stream: StreamId,
        timed_out: bool,
    },
}

impl<T: AsyncRead + AsyncWrite + Unpin> Driver<T> {
    pub(super) fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Respond {
                stream,
                parts,
                body,
                end_stream,
            } => {
                if !self.streams.contains_key(&stream) {
                    return;
                }
                let head_ends = end_stream && body.is_none();
                if self.conn.send_response(stream, &parts, head_ends).is_err() {
                    return;
                }
                if let (Some(data), Some(ctx)) = (body, self.streams.get_mut(&stream)) {
                    ctx.pending = Some(Pending {
                        data,
                        end_stream,
                        ack: None,
                    });
                    self.flush_stream(stream);
                } else {
                    self.after_send(stream);
                }
            }
            Command::Data {
                stream,
                data,
                end_stream,
                ack,
            } => match self.streams.get_mut(&stream) {
                Some(ctx) => {
                    ctx.pending = Some(Pending {
                        data,
                        end_stream,
                        ack: Some(ack),
                    });
                    self.flush_stream(stream);
                }
                None => {
                    let _ = ack.send(Err(Error::ConnectionClosed));
                }
            },
            Command::Trailers { stream, trailers } => {
                let _ = self.conn.send_trailers(stream, &trailers);
                self.after_send(stream);
            }
            Command::Reset { stream, code } => {
                self.conn.reset(stream, code);
                self.forget(stream);
            }
            Command::Release { stream, n } => {
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    ctx.unreleased = ctx.unreleased.saturating_sub(n);
                }
                self.conn.release_capacity(stream, n);
            }
            // Published once at the end of the turn (every return of `poll` does): until
            // then the pool counts these requests by their reservations.
            Command::Open(open) => self.on_open_command(open),
            Command::Cancel { stream, timed_out } => {
                // Applied after this turn's read (`apply_cancels`): a response that has
                // already arrived then closes its stream first, and the cancel sends nothing.
                self.cancels.push((stream, timed_out));
            }
            Command::BodyDropped { stream } => {
                // A handler that drops the request body: the engine drops what still comes
                // (first, so that what was buffered unread reopens no stream window once the
                // response is complete).
                let server = matches!(self.role, Role::Server { .. });
                if server {
                    self.conn.discard_incoming(stream);
                }
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    ctx.body_dropped = true;
                    ctx.body = None;
                    let n = std::mem::take(&mut ctx.unreleased);
                    self.conn.release_capacity(stream, n);
                }
                if server {
                    self.after_send(stream);
                }
                // A client that drops a response body mid-stream cancels it — unless all of it
                // has arrived (content-length reached, END_STREAM still in flight): then there
                // is nothing to cancel, and a reset would only be noise on a finished stream.
                if matches!(self.role, Role::Client(_)) && !self.conn.recv_complete(stream) {
                    self.conn.cancel(stream);
                    self.streams.remove(&stream);
                }
            }
        }
    }

    /// Moves a stream's pending chunk into the engine as far as the windows allow.
    pub(super) fn flush_stream(&mut self, stream: StreamId) {
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
                self.stalled.remove(&stream);
                self.after_send(stream);
            }
            Ok(rest) => {
                // Blocked by a window: the stall clock runs from the last progress.
                if rest.len() < before || !self.stalled.contains_key(&stream) {
                    self.stalled.insert(stream, Instant::now());
                }
                ctx.pending = Some(Pending { data: rest, ..p });
            }
            Err(_) => {
                if let Some(ack) = p.ack {
                    let _ = ack.send(Err(Error::ConnectionClosed));
                }
            }
        }
    }

    /// After our side of a stream ended: a body nobody reads is left to the engine, which
    /// drops it and asks the peer to stop only past a bound (`Connection::discard_incoming`);
    /// forget streams that are fully closed.
    pub(super) fn after_send(&mut self, stream: StreamId) {
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

    pub(super) fn forget(&mut self, stream: StreamId) {
        if let Some(ctx) = self.streams.get(&stream) {
            if ctx.pending.is_none() && ctx.body.is_none() {
                self.streams.remove(&stream);
            }
        }
    }
}
