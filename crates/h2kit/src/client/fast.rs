//! The common request, without the general path's future.
//!
//! Most requests need none of the general machinery while they wait for their response: no
//! phase timeout is set, the body is complete, and a connection has room now. Such a request
//! is sent before its future is even polled, and its future only holds what the wait and a
//! possible retry need: the reply slot, the connection, the head and the body (96 bytes,
//! where the general path's future is 400).
//!
//! That matters because a request's future is touched once per request, and a load of many
//! requests in flight keeps as many futures: at 1,000 in flight they alone fill most of the
//! L2 cache, and every byte of them was measured (256 more bytes per task: 9% more CPU per
//! request). Anything unusual — a failure that may be retried, no room, a timeout to keep —
//! goes to the general path (`Client::send_general`), with the same retries, errors and
//! counts.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::Response;

use super::conn::ResponseRx;
use super::pool::ConnHandle;
use super::stats::{attempt_done, InFlight};
use super::{origin_of, reply_outcome, Client, Head, Phases, ReqBody};
use crate::Error;
use crate::RecvBody;

type General<'a> = Pin<Box<dyn Future<Output = Result<Response<RecvBody>, Error>> + Send + 'a>>;

/// The future of `Client::send` and `Client::send_shared`.
pub(super) enum SendFuture<'a> {
    /// Not polled yet: like any future, it does nothing until it is.
    Start {
        client: &'a Client,
        parts: Head<'a>,
        body: ReqBody,
    },
    /// Sent; waiting for the response.
    Fast(Fast<'a>),
    General(General<'a>),
    /// Between the two (a retry), or done.
    Gone,
}

pub(super) struct Fast<'a> {
    client: &'a Client,
    parts: Head<'a>,
    /// For a retry.
    body: Bytes,
    waiting: Waiting,
    in_flight: InFlight<'a>,
    /// The attempt's span, when something listens.
    span: Option<Box<tracing::Span>>,
}

/// The request's stream is cancelled if the future is dropped before the response arrives
/// (as the general path's `CancelGuard`; this one owns the connection).
struct Waiting {
    conn: Arc<ConnHandle>,
    reply: ResponseRx,
    armed: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.armed {
            super::cancel(&self.conn.tx, &self.reply, false);
        }
    }
}

impl<'a> SendFuture<'a> {
    pub(super) fn new(client: &'a Client, parts: Head<'a>, body: ReqBody) -> SendFuture<'a> {
        SendFuture::Start {
            client,
            parts,
            body,
        }
    }

    /// The first poll: the fast path if it applies, else the general one.
    fn start(client: &'a Client, parts: Head<'a>, body: ReqBody) -> SendFuture<'a> {
        match body {
            ReqBody::Full(body) if !client.inner.config.timeouts.phased() => {
                match Self::send_now(client, &parts, &body) {
                    Some((waiting, in_flight, span)) => SendFuture::Fast(Fast {
                        client,
                        parts,
                        body,
                        waiting,
                        in_flight,
                        span,
                    }),
                    None => Self::general(client, parts, ReqBody::Full(body), None),
                }
            }
            body => Self::general(client, parts, body, None),
        }
    }

    fn general(
        client: &'a Client,
        parts: Head<'a>,
        body: ReqBody,
        retry_of: Option<(Arc<ConnHandle>, InFlight<'a>)>,
    ) -> SendFuture<'a> {
        SendFuture::General(Box::pin(client.send_general(parts, body, retry_of)))
    }

    /// Sends the request on a connection with room now, if there is one.
    fn send_now(
        client: &'a Client,
        parts: &Arc<http::request::Parts>,
        body: &Bytes,
    ) -> Option<(Waiting, InFlight<'a>, Option<Box<tracing::Span>>)> {
        let origin = origin_of(&parts.uri).ok()?;
        let conn = client.inner.pool.checkout_now(origin, None)?;
        let span = crate::span::client(parts, 0);
        // `None`: the connection's driver is gone; the general path finds another.
        let body = (!body.is_empty()).then(|| body.clone());
        let reply = conn.open(parts, body, true, span.as_deref())?;
        let in_flight = client.inner.counters.request();
        let waiting = Waiting {
            conn,
            reply,
            armed: true,
        };
        Some((waiting, in_flight, span))
    }
}

impl Future for SendFuture<'_> {
    type Output = Result<Response<RecvBody>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this {
                SendFuture::General(f) => return f.as_mut().poll(cx),
                SendFuture::Gone => panic!("SendFuture polled after completion"),
                SendFuture::Start { .. } => {
                    let SendFuture::Start {
                        client,
                        parts,
                        body,
                    } = std::mem::replace(this, SendFuture::Gone)
                    else {
                        unreachable!()
                    };
                    *this = Self::start(client, parts, body);
                }
                SendFuture::Fast(fast) => {
                    let w = &mut fast.waiting;
                    let reply = std::task::ready!(w.reply.poll_response(cx));
                    w.armed = false;
                    let counters = &fast.client.inner.counters;
                    // The request's duration runs from its opening, as its driver timed it.
                    let started = w.reply.opened().map_or_else(Instant::now, |o| o.at);
                    let span = fast.span.as_deref();
                    let err = match reply_outcome(reply, || w.reply.opened().is_some()) {
                        Ok(res) => {
                            attempt_done(&fast.parts, started, Ok(res.status().as_u16()), span);
                            counters.outcome(None);
                            *this = SendFuture::Gone;
                            return Poll::Ready(Ok(res));
                        }
                        Err(err) => err,
                    };
                    attempt_done(&fast.parts, started, Err(err.kind()), span);
                    let cause = fast.client.retry_cause(err.kind(), &fast.parts.method);
                    let retry = cause.filter(|_| fast.client.inner.config.max_retries >= 1);
                    let SendFuture::Fast(fast) = std::mem::replace(this, SendFuture::Gone) else {
                        unreachable!()
                    };
                    let Some(cause) = retry else {
                        let err = err.with_phases(Phases::default().to_vec(None, None));
                        counters.outcome(Some(err.kind()));
                        return Poll::Ready(Err(err));
                    };
                    counters.retry(cause);
                    let conn = fast.waiting.conn.clone();
                    *this = Self::general(
                        fast.client,
                        fast.parts,
                        ReqBody::Full(fast.body),
                        Some((conn, fast.in_flight)),
                    );
                }
            }
        }
    }
}
