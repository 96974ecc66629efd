//! The server role of the driver: request heads, request bodies held until their handler
//! starts, and starting handlers (polled once inline, or spawned).

use std::task::{Context, Poll};

use h2kit_proto::{ErrorCode, Head, StreamId};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Command, Driver, Early, Role, StreamCtx};
use crate::body::{BodyMsg, RecvBody};

/// Requests declaring at most this much body start their handler once the body is complete:
/// it then runs inline in the turn that read the body, and its response joins that turn's
/// write. (Small enough to sit within any initial window; larger bodies stream.)
const DEFER_BODY_UP_TO: u64 = 16 << 10;

impl<T: AsyncRead + AsyncWrite + Unpin> Driver<T> {
    pub(super) fn push_handler(&mut self, stream: StreamId, req: http::Request<()>) {
        if let Role::Server { new_handlers, .. } = &mut self.role {
            new_handlers.push((stream, req));
        }
    }

    /// Polls each new handler once inline: most answer without waiting, and their responses
    /// then go out in this turn's single write. Only a handler that has to wait becomes a task
    /// of its own (then polled with its own waker). A panic is contained to its stream, as it
    /// would be in a task.
    pub(super) fn start_handlers(&mut self, cx: &mut Context<'_>) {
        let (handler, new) = match &mut self.role {
            Role::Server {
                handler,
                new_handlers,
            } if !new_handlers.is_empty() => (handler.clone(), std::mem::take(new_handlers)),
            _ => return,
        };
        for (stream, req) in new {
            // A stream reset before its handler started never runs it.
            let Some(ctx) = self.streams.get_mut(&stream) else {
                continue;
            };
            let body = match ctx.early.take() {
                None => RecvBody::empty(),
                Some(e) if e.complete => {
                    // All of it is here: no channel, and the window comes back at once.
                    self.conn.release_capacity(stream, e.chunks.len);
                    RecvBody::buffered(e.chunks, e.trailers)
                }
                Some(e) => {
                    let (tx, rx) = crate::mailbox::mailbox();
                    ctx.unreleased = e.chunks.len;
                    for chunk in e.chunks {
                        let _ = tx.send(BodyMsg::Data(chunk));
                    }
                    ctx.body = Some(tx);
                    let len = req
                        .headers()
                        .get(http::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse().ok());
                    let commands = self.sender();
                    RecvBody::new(stream, rx, commands, len)
                }
            };
            let tx = self.sender();
            let mut fut = handler.call(stream, req.map(|()| body), tx);
            if !self.config.inline_first_poll {
                let handle = tokio::spawn(fut).abort_handle();
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    ctx.handler = Some(handle);
                }
                continue;
            }
            let polled =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx)));
            match polled {
                Ok(Poll::Pending) => {
                    let handle = tokio::spawn(fut).abort_handle();
                    match self.streams.get_mut(&stream) {
                        Some(ctx) => ctx.handler = Some(handle),
                        None => handle.abort(),
                    }
                }
                Ok(Poll::Ready(())) => {}
                Err(_) => {
                    let _ = self.sender().send(Command::Reset {
                        stream,
                        code: ErrorCode::INTERNAL_ERROR,
                    });
                }
            }
        }
    }

    pub(super) fn on_headers(&mut self, stream: StreamId, head: Head, end_stream: bool) {
        match head {
            Head::Request(req) => {
                let req = *req;
                let small = !end_stream
                    && req
                        .headers()
                        .get(http::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                        .is_some_and(|n| n <= DEFER_BODY_UP_TO);
                let mut ctx = StreamCtx {
                    early: (!end_stream).then(Box::<Early>::default),
                    ..StreamCtx::default()
                };
                if small {
                    if let Some(early) = ctx.early.as_mut() {
                        early.deferred = Some(req);
                    }
                } else {
                    self.push_handler(stream, req);
                }
                self.streams.insert(stream, ctx);
            }
            Head::Trailers(t) => {
                if let Some(ctx) = self.streams.get_mut(&stream) {
                    if let Some(early) = ctx.early.as_mut() {
                        early.trailers = Some(t);
                        early.complete = true;
                        if let Some(req) = early.deferred.take() {
                            self.push_handler(stream, req);
                        }
                    } else if let Some(tx) = ctx.body.take() {
                        let _ = tx.send(BodyMsg::Trailers(Box::new(t)));
                    }
                }
            }
            Head::Response(res) => self.on_response(stream, res, end_stream),
        }
    }
}
