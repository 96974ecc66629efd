//! Received message bodies as `http_body::Body`.
//!
//! DATA reaches the body through a channel from the connection driver. The driver only ever
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
use tokio::sync::mpsc;

use crate::driver::Command;
use crate::Error;

/// What the driver forwards to a body.
#[derive(Debug)]
pub(crate) enum BodyMsg {
    Data(Bytes),
    /// Boxed: the message size is the slot size of the channel's 32-slot blocks.
    Trailers(Box<HeaderMap>),
    Error(Error),
}

/// The body of a received request (server) or response (client).
pub struct RecvBody {
    inner: Option<Inner>,
    /// A body that had fully arrived before anyone asked for it: no channel needed.
    buffered: Option<Buffered>,
    content_length: Option<u64>,
}

struct Buffered {
    chunks: std::collections::VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
}

struct Inner {
    stream: StreamId,
    rx: crate::mailbox::Receiver<BodyMsg>,
    commands: mpsc::UnboundedSender<Command>,
    done: bool,
    /// Client: the longest wait allowed between frames, and its timer.
    idle: Option<(std::time::Duration, Pin<Box<tokio::time::Sleep>>)>,
}

impl RecvBody {
    /// A body that is already complete (the header section carried END_STREAM).
    pub fn empty() -> RecvBody {
        RecvBody {
            inner: None,
            buffered: None,
            content_length: Some(0),
        }
    }

    /// Fails the body if no frame arrives within `limit` of the previous one (or of now).
    pub(crate) fn with_idle_timeout(mut self, limit: Option<std::time::Duration>) -> RecvBody {
        if let (Some(limit), Some(inner)) = (limit, self.inner.as_mut()) {
            inner.idle = Some((limit, Box::pin(tokio::time::sleep(limit))));
        }
        self
    }

    /// A body that is complete already: its chunks and trailers.
    pub(crate) fn buffered(chunks: Vec<Bytes>, trailers: Option<HeaderMap>) -> RecvBody {
        let len = chunks.iter().map(|c| c.len() as u64).sum();
        RecvBody {
            inner: None,
            buffered: Some(Buffered {
                chunks: chunks.into(),
                trailers,
            }),
            content_length: Some(len),
        }
    }

    pub(crate) fn new(
        stream: StreamId,
        rx: crate::mailbox::Receiver<BodyMsg>,
        commands: mpsc::UnboundedSender<Command>,
        content_length: Option<u64>,
    ) -> RecvBody {
        RecvBody {
            inner: Some(Inner {
                stream,
                rx,
                commands,
                done: false,
                idle: None,
            }),
            buffered: None,
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
        if let Some(b) = self.buffered.as_mut() {
            if let Some(chunk) = b.chunks.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            return Poll::Ready(b.trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
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
                let _ = inner.commands.send(Command::Release {
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
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                inner.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some((limit, sleep)) = inner.idle.as_mut() {
                    if sleep.as_mut().poll(cx).is_ready() {
                        inner.done = true;
                        return Poll::Ready(Some(Err(Error::BodyIdle(*limit))));
                    }
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        if let Some(b) = &self.buffered {
            return b.chunks.is_empty() && b.trailers.is_none();
        }
        self.inner.as_ref().is_none_or(|i| i.done)
    }

    fn size_hint(&self) -> SizeHint {
        match (self.content_length, &self.inner) {
            (Some(n), None) => SizeHint::with_exact(n),
            (None, None) => SizeHint::with_exact(0),
            (Some(n), _) => SizeHint::with_exact(n),
            (None, _) => SizeHint::default(),
        }
    }
}

impl Drop for RecvBody {
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            if !inner.done {
                // Nobody will read the rest: the driver returns its window at once.
                let _ = inner.commands.send(Command::BodyDropped {
                    stream: inner.stream,
                });
            }
        }
    }
}

impl std::fmt::Debug for RecvBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBody")
            .field("stream", &self.inner.as_ref().map(|i| i.stream.0))
            .field("content_length", &self.content_length)
            .finish()
    }
}
