//! Received message bodies as `http_body::Body`.
//!
//! DATA reaches the body through a channel from the connection task. The task only ever
//! forwards what the peer was allowed to send (the stream's flow-control window), and the
//! window reopens only as this body is polled: a handler that does not read its body stalls
//! the peer at the window, and nothing is buffered beyond it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use h2kit_proto::StreamId;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use super::command::BodyCommand;
use crate::error::StreamError;
use crate::sync::mailbox::{self, ErasedTx};
use crate::Error;

/// What the driver forwards to a body.
#[derive(Debug)]
pub(crate) enum BodyMsg {
    Data(Bytes),
    /// Boxed: the message size is the slot size of the channel's 32-slot blocks.
    Trailers(Box<HeaderMap>),
    Error(StreamError),
}

/// The body of a received request (server) or response (client).
pub struct RecvBody {
    state: State,
    content_length: Option<u64>,
}

/// Kept small (72 bytes with the length): a response carries its body by value, and it is
/// moved several times on its way to the caller.
enum State {
    /// Complete with the head (END_STREAM on the header section), or read to its end.
    Empty,
    /// A body that had fully arrived before anyone asked for it as one DATA frame, the
    /// common case: no channel and no allocation.
    One(Bytes),
    /// A body that had fully arrived before anyone asked for it: no channel needed.
    Buffered(Buffered),
    /// DATA still arriving, through a channel from the driver.
    Channel(Inner),
}

/// The chunks of a body collected before it is handed out: the first inline, since a body
/// that arrives whole is nearly always one DATA frame.
#[derive(Default)]
pub(crate) struct Chunks {
    first: Option<Bytes>,
    rest: Vec<Bytes>,
    /// Bytes in all of them.
    pub len: usize,
}

impl Chunks {
    pub(crate) fn push(&mut self, b: Bytes) {
        self.len += b.len();
        match self.first {
            None => self.first = Some(b),
            Some(_) => self.rest.push(b),
        }
    }
}

impl IntoIterator for Chunks {
    type Item = Bytes;
    type IntoIter = std::iter::Chain<std::option::IntoIter<Bytes>, std::vec::IntoIter<Bytes>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

struct Buffered {
    chunks: std::collections::VecDeque<Bytes>,
    trailers: Option<Box<HeaderMap>>,
}

struct Inner {
    stream: StreamId,
    rx: mailbox::Receiver<BodyMsg>,
    /// To the connection task, whichever its role.
    commands: ErasedTx<BodyCommand>,
    done: bool,
    /// The longest wait allowed between frames (a response body-idle timeout), and its timer.
    idle: Option<(std::time::Duration, Pin<Box<tokio::time::Sleep>>)>,
}

impl RecvBody {
    /// A body that is already complete (the header section carried END_STREAM).
    pub fn empty() -> RecvBody {
        RecvBody {
            state: State::Empty,
            content_length: Some(0),
        }
    }

    /// Fails the body if no frame arrives within `limit` of the previous one (or of now).
    pub(crate) fn with_idle_timeout(mut self, limit: Option<std::time::Duration>) -> RecvBody {
        if let (Some(limit), State::Channel(inner)) = (limit, &mut self.state) {
            inner.idle = Some((limit, Box::pin(tokio::time::sleep(limit))));
        }
        self
    }

    /// A body that is complete already: its chunks and trailers.
    pub(crate) fn buffered(chunks: Chunks, trailers: Option<HeaderMap>) -> RecvBody {
        let content_length = Some(chunks.len as u64);
        let state = match (chunks.first, trailers) {
            (None, None) => State::Empty,
            (Some(one), None) if chunks.rest.is_empty() => State::One(one),
            (first, trailers) => {
                let mut all = std::collections::VecDeque::with_capacity(1 + chunks.rest.len());
                all.extend(first);
                all.extend(chunks.rest);
                State::Buffered(Buffered {
                    chunks: all,
                    trailers: trailers.map(Box::new),
                })
            }
        };
        RecvBody {
            state,
            content_length,
        }
    }

    pub(crate) fn new(
        stream: StreamId,
        rx: mailbox::Receiver<BodyMsg>,
        commands: ErasedTx<BodyCommand>,
        content_length: Option<u64>,
    ) -> RecvBody {
        RecvBody {
            state: State::Channel(Inner {
                stream,
                rx,
                commands,
                done: false,
                idle: None,
            }),
            content_length,
        }
    }
}

impl Body for RecvBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let inner = match &mut self.state {
            State::Empty => return Poll::Ready(None),
            State::One(_) => {
                let State::One(b) = std::mem::replace(&mut self.state, State::Empty) else {
                    unreachable!("matched above")
                };
                return Poll::Ready(Some(Ok(Frame::data(b))));
            }
            State::Buffered(b) => {
                if let Some(chunk) = b.chunks.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                return Poll::Ready(b.trailers.take().map(|t| Ok(Frame::trailers(*t))));
            }
            State::Channel(inner) => inner,
        };
        if inner.done {
            return Poll::Ready(None);
        }
        match inner.rx.poll_recv(cx) {
            Poll::Ready(Some(BodyMsg::Data(b))) => {
                if let Some((limit, sleep)) = inner.idle.as_mut() {
                    sleep.as_mut().reset(tokio::time::Instant::now() + *limit);
                }
                // Consumed: the driver may return this much window to the peer.
                inner.commands.send(BodyCommand::Release {
                    stream: inner.stream,
                    n: b.len(),
                });
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Poll::Ready(Some(BodyMsg::Trailers(t))) => {
                inner.done = true;
                Poll::Ready(Some(Ok(Frame::trailers(*t))))
            }
            Poll::Ready(Some(BodyMsg::Error(e))) => {
                inner.done = true;
                Poll::Ready(Some(Err(e.into_body_error())))
            }
            Poll::Ready(None) => {
                inner.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some((limit, sleep)) = inner.idle.as_mut() {
                    if sleep.as_mut().poll(cx).is_ready() {
                        inner.done = true;
                        return Poll::Ready(Some(Err(
                            StreamError::BodyIdle(*limit).into_body_error()
                        )));
                    }
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.state {
            State::Empty => true,
            State::One(_) => false,
            State::Buffered(b) => b.chunks.is_empty() && b.trailers.is_none(),
            State::Channel(i) => i.done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match (self.content_length, &self.state) {
            (None, State::Channel(_)) => SizeHint::default(),
            (n, _) => SizeHint::with_exact(n.unwrap_or(0)),
        }
    }
}

impl Drop for RecvBody {
    fn drop(&mut self) {
        if let State::Channel(inner) = &self.state {
            if !inner.done {
                // Nobody will read the rest: the driver returns its window at once.
                inner.commands.send(BodyCommand::Dropped {
                    stream: inner.stream,
                });
            }
        }
    }
}

impl std::fmt::Debug for RecvBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBody")
            .field(
                "stream",
                &match &self.state {
                    State::Channel(i) => Some(i.stream.0),
                    _ => None,
                },
            )
            .field("content_length", &self.content_length)
            .finish()
    }
}
