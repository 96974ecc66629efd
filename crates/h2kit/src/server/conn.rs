//! The server role of a connection: request heads, request bodies held until their handler
//! starts, starting handlers (polled once inline, or spawned, a panic contained to its
//! stream), and the responses they send.

use std::task::{Context, Poll};

use bytes::Bytes;
use h2kit_proto::{Connection, ErrorCode, Head, StreamId};

use super::handler::{Handler, ServerCommand};
use crate::conn::body::{BodyMsg, Chunks, RecvBody};
use crate::conn::{Command, Driver, Io, Pending, Role, StreamCtx, StreamExt};
use crate::metrics::request::Outcome;
use crate::metrics::semconv::{method_index, Failure};

/// Requests declaring at most this much body start their handler once the body is complete:
/// it then runs inline in the turn that read the body, and its response joins that turn's
/// write. (Small enough to sit within any initial window; larger bodies stream.)
const DEFER_BODY_UP_TO: u64 = 16 << 10;

/// The server side of a connection.
pub(crate) struct ServerRole {
    handler: Box<dyn Handler>,
    /// Handlers of requests that arrived in this read, polled once the whole read has been
    /// processed — so a request whose body came in the same read finds it complete.
    new_handlers: Vec<(StreamId, http::Request<()>)>,
}

impl ServerRole {
    pub(crate) fn new(handler: Box<dyn Handler>) -> ServerRole {
        ServerRole {
            handler,
            new_handlers: Vec::new(),
        }
    }
}

/// A request body received before its handler started (bounded by the stream window).
#[derive(Default)]
pub(crate) struct Early {
    chunks: Chunks,
    trailers: Option<http::HeaderMap>,
    complete: bool,
    /// A request with a small declared body whose handler starts once the body is complete.
    deferred: Option<http::Request<()>>,
}

/// What the server keeps per stream.
#[derive(Default)]
pub(crate) struct ServerStream {
    /// Set from the head of a request with a body until its handler starts. Boxed: every
    /// stream's context is moved in and out of the stream map, and most have none.
    early: Option<Box<Early>>,
    handler: Option<tokio::task::AbortHandle>,
    /// What the request's metrics need.
    measure: Option<Measure>,
    /// The request's span, when something listens (see `crate::span`).
    span: Option<Box<tracing::Span>>,
}

/// A request's start and the labels of its duration.
struct Measure {
    /// Since the connection started (`Driver::now_ns`).
    started_ns: u64,
    method: u8,
    https: bool,
    /// The response's, once sent (0 until then).
    status: u16,
}

impl StreamExt for ServerStream {
    fn abort(&mut self) {
        if let Some(h) = self.handler.take() {
            h.abort();
        }
    }
}

type Server<T> = Driver<T, ServerRole>;

impl Role for ServerRole {
    type Command = ServerCommand;
    type Stream = ServerStream;

    fn engine(config: h2kit_proto::Config, now: std::time::Instant) -> Connection {
        Connection::server(config, now)
    }

    fn hand_out<T: Io>(d: &mut Server<T>, cx: &mut Context<'_>) -> bool {
        d.dispatch_events();
        start_handlers(d, cx);
        false
    }

    fn apply<T: Io>(d: &mut Server<T>, cmd: ServerCommand) {
        let ServerCommand::Respond {
            stream,
            parts,
            body,
            end_stream,
        } = cmd;
        let Some(ctx) = d.streams.get_mut(&stream) else {
            return;
        };
        if let Some(m) = ctx.ext.measure.as_mut() {
            m.status = parts.status.as_u16();
        }
        let head_ends = end_stream && body.is_none();
        if d.conn.send_response(stream, &parts, head_ends).is_err() {
            return;
        }
        if let (Some(data), Some(ctx)) = (body, d.streams.get_mut(&stream)) {
            ctx.pending = Some(Pending {
                data,
                end_stream,
                ack: None,
            });
            d.flush_stream(stream);
        } else {
            d.after_send(stream);
        }
    }

    fn on_head<T: Io>(d: &mut Server<T>, stream: StreamId, head: Head, end: bool) -> bool {
        if let Head::Request(req) = head {
            on_request(d, stream, *req, end);
        }
        end
    }

    fn on_trailers<T: Io>(
        d: &mut Server<T>,
        stream: StreamId,
        trailers: http::HeaderMap,
    ) -> Option<http::HeaderMap> {
        let Some(early) = d
            .streams
            .get_mut(&stream)
            .and_then(|c| c.ext.early.as_mut())
        else {
            return Some(trailers);
        };
        early.trailers = Some(trailers);
        early.complete = true;
        if let Some(req) = early.deferred.take() {
            d.role.new_handlers.push((stream, req));
        }
        None
    }

    fn on_data<T: Io>(
        d: &mut Server<T>,
        stream: StreamId,
        data: Bytes,
        end: bool,
    ) -> Option<Bytes> {
        let Some(early) = d
            .streams
            .get_mut(&stream)
            .and_then(|c| c.ext.early.as_mut())
        else {
            return Some(data);
        };
        early.chunks.push(data);
        early.complete |= end;
        if early.complete {
            if let Some(req) = early.deferred.take() {
                d.role.new_handlers.push((stream, req));
            }
        }
        None
    }

    fn on_stream_end<T: Io>(d: &mut Server<T>, ext: ServerStream, failure: Option<Failure>) {
        let Some(m) = ext.measure else {
            return;
        };
        let now = d.now_ns();
        let outcome = Outcome {
            method: m.method,
            https: m.https,
            status: m.status,
            failure,
        };
        if let Some(s) = d.stats.as_mut() {
            s.request_ended(outcome, now.saturating_sub(m.started_ns));
        }
        if let Some(span) = ext.span {
            crate::span::finish(&span, m.status, failure, true);
        }
    }

    fn on_body_dropped<T: Io>(d: &mut Server<T>, stream: StreamId) {
        // A handler that drops the request body: the engine drops what still comes (first,
        // so that what was buffered unread reopens no stream window once the response is
        // complete).
        d.conn.discard_incoming(stream);
        d.drop_body(stream);
        d.after_send(stream);
    }
}

/// Polls each new handler once inline: most answer without waiting, and their responses
/// then go out in this turn's single write. Only a handler that has to wait becomes a task
/// of its own (then polled with its own waker). A panic is contained to its stream, as it
/// would be in a task.
fn start_handlers<T: Io>(d: &mut Server<T>, cx: &mut Context<'_>) {
    if d.role.new_handlers.is_empty() {
        return;
    }
    let mut new = std::mem::take(&mut d.role.new_handlers);
    for (stream, req) in new.drain(..) {
        // A stream reset before its handler started never runs it.
        let Some(ctx) = d.streams.get_mut(&stream) else {
            continue;
        };
        let span = ctx.ext.span.as_deref().cloned();
        let body = match ctx.ext.early.take() {
            None => RecvBody::empty(),
            Some(e) if e.complete => {
                // All of it is here: no channel, and the window comes back at once.
                d.conn.release_capacity(stream, e.chunks.len);
                RecvBody::buffered(e.chunks, e.trailers)
            }
            Some(e) => {
                let (tx, rx) = crate::sync::mailbox::mailbox();
                ctx.unreleased = e.chunks.len;
                for chunk in e.chunks {
                    let _ = tx.send(BodyMsg::Data(chunk));
                }
                ctx.body = Some(tx);
                let len = req
                    .headers()
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                let commands = d.sender().erase();
                RecvBody::new(stream, rx, commands, len)
            }
        };
        let tx = d.sender();
        let mut fut = d.role.handler.call(stream, req.map(|()| body), tx);
        if let Some(span) = span {
            use tracing::Instrument;
            fut = Box::pin(fut.instrument(span));
        }
        if !d.config.inline_first_poll {
            let handle = tokio::spawn(fut).abort_handle();
            if let Some(ctx) = d.streams.get_mut(&stream) {
                ctx.ext.handler = Some(handle);
            }
            continue;
        }
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx)));
        match polled {
            Ok(Poll::Pending) => {
                let handle = tokio::spawn(fut).abort_handle();
                match d.streams.get_mut(&stream) {
                    Some(ctx) => ctx.ext.handler = Some(handle),
                    None => handle.abort(),
                }
            }
            Ok(Poll::Ready(())) => {}
            Err(_) => {
                let _ = d.sender().send(Command::Reset {
                    stream,
                    code: ErrorCode::INTERNAL_ERROR,
                });
            }
        }
    }
    // The vector's memory serves the next read.
    if d.role.new_handlers.is_empty() {
        d.role.new_handlers = new;
    }
}

/// A request head: its handler starts now, or once its small body is complete.
fn on_request<T: Io>(d: &mut Server<T>, stream: StreamId, req: http::Request<()>, end: bool) {
    let small = !end
        && req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n <= DEFER_BODY_UP_TO);
    let mut ctx = StreamCtx::<ServerStream>::default();
    ctx.ext.early = (!end).then(Box::<Early>::default);
    let method = method_index(req.method());
    let https = req.uri().scheme_str() == Some("https");
    ctx.ext.measure = Some(Measure {
        // The time of the read that brought the head.
        started_ns: d.now_ns(),
        method,
        https,
        status: 0,
    });
    if let Some(s) = d.stats.as_mut() {
        s.request_started(method, https);
    }
    if let Some(span) = crate::span::server(&req, stream.0) {
        d.conn.set_stream_span(stream, &span);
        ctx.ext.span = Some(span);
    }
    if small {
        if let Some(early) = ctx.ext.early.as_mut() {
            early.deferred = Some(req);
        }
    } else {
        d.role.new_handlers.push((stream, req));
    }
    d.streams.insert(stream, ctx);
}
