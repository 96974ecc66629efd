//! The HTTP/2 client: a pool of connections per origin, per-phase timeouts whose errors name
//! the phase, and automatic retries of requests the server did not process.

mod config;
mod conn;
mod fast;
mod liveness;
mod pool;
mod stats;
mod tunnel;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::BodyExt;

pub use config::{ClientBuilder, ClientConfig, Timeouts};
pub use pool::ConnectBackoff;
pub use stats::ClientStats;

use crate::conn::Command;
use crate::error::StreamError;
use crate::RecvBody;
use crate::{Error, ErrorKind, Phase};
use conn::{ClientCommand, CommandTx, ResponseRx};
use pool::{Checkout, ConnHandle, OriginRef, Pool};

/// How many attempts a response took: a response extension present only when the request
/// was retried (a first-attempt response carries no extension, which saves two allocations
/// per response); [`Attempts::of`] reads it either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempts(pub u32);

impl Attempts {
    /// The attempts a response took (1 when it was not retried).
    pub fn of<B>(res: &Response<B>) -> u32 {
        res.extensions().get::<Attempts>().map_or(1, |a| a.0)
    }
}

/// An HTTP/2 client. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (healthy, suspect, closed) = self.inner.pool.connection_states();
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("connections_healthy", &healthy)
            .field("connections_suspect", &suspect)
            .field("connections_closed", &closed)
            .finish()
    }
}

struct Inner {
    config: Arc<ClientConfig>,
    pool: Pool,
    counters: stats::ClientCounters,
    connections: Arc<crate::stats::ServerStats>,
}

fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// An attempt's outcome, and the connection it used (to avoid on a retry).
/// The connection itself rather than its shared state: the attempt already holds it, and a
/// clone of the shared state cost two atomic operations per request.
type Attempted = (Result<Response<RecvBody>, Error>, Option<Arc<ConnHandle>>);

/// A request body as `send` found it: ready to send, or small enough to collect first.
enum Prepared<B> {
    Ready(ReqBody),
    Collect(B),
}

/// Cancels the stream if the request is dropped before its response arrives.
struct CancelGuard<'a> {
    /// Borrowed from the checked-out connection: a clone would cost two atomic increments
    /// and decrements per request.
    tx: &'a CommandTx,
    reply: ResponseRx,
    /// Until the response arrives.
    armed: bool,
    timed_out: bool,
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            cancel(self.tx, &self.reply, self.timed_out);
        }
    }
}

/// A request given up before its response: its stream is cancelled if it was opened. If it
/// was not, the driver sees the dropped reply slot and never sends it.
fn cancel(tx: &CommandTx, reply: &ResponseRx, timed_out: bool) {
    if let Some(o) = reply.opened() {
        let _ = tx.send(Command::Role(ClientCommand::Cancel {
            stream: o.stream,
            timed_out,
        }));
    }
}

impl Client {
    /// A builder with every setting at its default (see [`ClientConfig`]).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The client's counters: requests, outcomes, retries by cause, timeouts by phase, and the
    /// connections' frames, resets, GOAWAYs and PINGs.
    pub fn stats(&self) -> ClientStats {
        self.inner.counters.snapshot(
            self.inner.connections.snapshot(),
            self.inner.pool.connection_states(),
            self.inner.pool.tracked_streams() as u64,
        )
    }

    /// Sends a request and returns the response head with a streaming body.
    ///
    /// Request bodies are buffered before sending (so a request the server did not process
    /// can be sent again). Requests refused with REFUSED_STREAM, or above a GOAWAY's
    /// last_stream_id, are retried on another or a new connection whatever their method, up
    /// to `max_retries`; a connection that fails before any response byte is retried for
    /// idempotent methods only (unless `retry_non_idempotent`).
    ///
    /// Not an `async fn`: one keeps its arguments for its whole life (the request, 256 bytes)
    /// and each nested one its own copies, and a request's future is moved and touched on
    /// every poll. What needs no waiting is done before the future is made, and the retries
    /// run in it rather than in a future of their own.
    pub fn send<B>(
        &self,
        req: Request<B>,
    ) -> impl std::future::Future<Output = Result<Response<RecvBody>, Error>> + Send + '_
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let (mut parts, body) = req.into_parts();
        let defaults = &self.inner.config.default_headers;
        if !defaults.is_empty() {
            for (name, value) in defaults {
                if !parts.headers.contains_key(name) {
                    parts.headers.insert(name, value.clone());
                }
            }
        }
        // Complete or small bodies are buffered, so that a retry can send them again; others
        // stream (and are not retried: what was sent cannot be replayed).
        let small = body.size_hint().exact().is_some_and(|n| n <= 1 << 20);
        let body = if body.is_end_stream() {
            Prepared::Ready(ReqBody::Full(Bytes::new()))
        } else if small {
            Prepared::Collect(body)
        } else {
            Prepared::Ready(ReqBody::Stream(Some(
                body.map_err(|e| e.to_string()).boxed_unsync(),
            )))
        };
        self.send_prepared(Head::Owned(Arc::new(parts)), body)
    }

    /// [`send`](Self::send) for a caller that sends the same request head many times (a load
    /// generator, a health check): the head is shared instead of built, moved and freed for
    /// every request, and the body, if any, is complete. Same retries, timeouts and errors.
    ///
    /// The head is borrowed: the connection driver takes its own reference when the request
    /// goes out, and a caller's clone for each request would cost two more atomic operations.
    pub fn send_shared<'a>(
        &'a self,
        parts: &'a Arc<http::request::Parts>,
        body: Bytes,
    ) -> impl std::future::Future<Output = Result<Response<RecvBody>, Error>> + Send + 'a {
        self.send_ready(Head::Borrowed(parts), ReqBody::Full(body))
    }

    /// A body still to collect gets a future of its own around the request's: otherwise
    /// every request's future would keep room for the collection, and the body twice.
    fn send_prepared<'a, B>(
        &'a self,
        parts: Head<'a>,
        body: Prepared<B>,
    ) -> impl std::future::Future<Output = Result<Response<RecvBody>, Error>> + Send + 'a
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        use tokio_util::either::Either;
        match body {
            Prepared::Ready(b) => Either::Left(self.send_ready(parts, b)),
            Prepared::Collect(b) => Either::Right(async move {
                let b = b.collect().await.map_err(|e| {
                    Error::new(ErrorKind::InvalidRequest).with_detail(format!("request body: {e}"))
                })?;
                self.send_ready(parts, ReqBody::Full(b.to_bytes())).await
            }),
        }
    }

    /// The common case (no phase timeouts, a complete body, a connection with room) takes
    /// the fast path of `fast.rs`; everything else the general one, boxed.
    fn send_ready<'a>(&'a self, parts: Head<'a>, body: ReqBody) -> fast::SendFuture<'a> {
        fast::SendFuture::new(self, parts, body)
    }

    /// Every request that does not take the fast path, and the retries of those that did
    /// (`retry_of`: the connection of the failed first attempt, already counted).
    #[allow(clippy::manual_async_fn)] // on purpose, see `send`
    fn send_general<'a>(
        &'a self,
        parts: Head<'a>,
        mut body: ReqBody,
        retry_of: Option<(Arc<ConnHandle>, stats::InFlight<'a>)>,
    ) -> impl std::future::Future<Output = Result<Response<RecvBody>, Error>> + Send + 'a {
        async move {
            let origin = origin_of(&parts.uri)?;
            let (mut attempt, mut avoid, _in_flight) = match retry_of {
                Some((conn, in_flight)) => (1, Some(conn), in_flight),
                None => (0, None, self.inner.counters.request()),
            };
            let cfg = &self.inner.config;
            // The total deadline is applied inside each phase rather than around the whole
            // request, so that a request that times out waiting for its response is evidence
            // about its connection's liveness whichever deadline expired first.
            let deadline = cfg.timeouts.total.map(|t| Instant::now() + t);
            let result = loop {
                attempt += 1;
                let this_body = match &mut body {
                    ReqBody::Full(b) => ReqBody::Full(b.clone()),
                    ReqBody::Stream(s) => ReqBody::Stream(s.take()),
                };
                let span = crate::span::client(&parts, attempt - 1);
                let started = Instant::now();
                let (result, conn) = {
                    use tracing::Instrument;
                    let run = self.attempt(
                        &parts,
                        this_body,
                        origin,
                        avoid.take(),
                        deadline,
                        span.as_deref(),
                    );
                    run.instrument(span.as_deref().cloned().unwrap_or_else(tracing::Span::none))
                        .await
                };
                let outcome = match &result {
                    Ok(r) => Ok(r.status().as_u16()),
                    Err(e) => Err(e.kind()),
                };
                stats::attempt_done(&parts, started, outcome, span.as_deref());
                let mut err = match result {
                    Ok(mut r) => {
                        if attempt > 1 {
                            r.extensions_mut().insert(Attempts(attempt));
                        }
                        break Ok(r);
                    }
                    Err(e) => e,
                };
                err.set_attempts(attempt);
                let cause = self.retry_cause(err.kind(), &parts.method);
                // A streamed body was consumed by the attempt: it cannot be sent again.
                let replayable = matches!(body, ReqBody::Full(_));
                // Past the total deadline a retry could only time out.
                let in_time = deadline.is_none_or(|d| Instant::now() < d);
                // An origin backing off would only fail it again at once.
                let retry =
                    attempt <= cfg.max_retries && replayable && in_time && !err.is_backoff();
                let Some(cause) = cause.filter(|_| retry) else {
                    break Err(err);
                };
                self.inner.counters.retry(cause);
                avoid = conn;
            };
            self.inner
                .counters
                .outcome(result.as_ref().err().map(Error::kind));
            result
        }
    }

    /// One attempt; also returns the connection used, to avoid it on a retry. A plain `fn`
    /// returning an `async` block: an `async fn` would keep each argument twice in its future.
    #[allow(clippy::manual_async_fn)] // on purpose, see above
    fn attempt<'a>(
        &'a self,
        parts: &'a Arc<http::request::Parts>,
        body: ReqBody,
        origin: OriginRef<'a>,
        avoid: Option<Arc<ConnHandle>>,
        deadline: Option<Instant>,
        span: Option<&'a tracing::Span>,
    ) -> impl std::future::Future<Output = Attempted> + Send + 'a {
        async move {
            let cfg = &self.inner.config;
            let mut phases = Phases::default();
            let checkout =
                self.inner
                    .pool
                    .checkout(origin, &mut phases.checkout, avoid.as_ref(), deadline);
            let conn = match within(checkout, None, Phase::Queue, deadline).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return (Err(e.with_phases(phases.to_vec(None, None))), None),
                Err(phase) => {
                    let spent = vec![(phase, cfg.timeouts.total.unwrap_or_default())];
                    return (
                        Err(Error::new(ErrorKind::Timeout(phase)).with_phases(spent)),
                        None,
                    );
                }
            };
            // The phase list is built only for an error; a success allocates nothing for it.
            let fail = |e: Error, phases: &Phases, response_headers, total| {
                Err(e.with_phases(phases.to_vec(response_headers, total)))
            };
            let (first, end_stream, mut stream_body) = match body {
                ReqBody::Full(b) => ((!b.is_empty()).then_some(b), true, None),
                ReqBody::Stream(s) => (None, false, s),
            };
            // When the request was handed over: only phase timeouts report it, so the clock is
            // read only when one is set.
            let written = cfg.timeouts.phased().then(Instant::now);
            let Some(reply) = conn.open(parts, first, end_stream, span) else {
                return (
                    fail(
                        Error::new(ErrorKind::ConnectionLost {
                            maybe_processed: false,
                            reset: false,
                        }),
                        &phases,
                        None,
                        None,
                    ),
                    Some(conn),
                );
            };
            let mut guard = CancelGuard {
                tx: &conn.tx,
                reply,
                armed: true,
                timed_out: false,
            };
            // The caller waits for the opening only when something depends on it: a body to
            // stream, or a phase timer that starts there. Otherwise the driver records it in the
            // reply slot without waking anyone, and the response is the only wake-up.
            if stream_body.is_some()
                || cfg.timeouts.write.is_some()
                || cfg.timeouts.response_headers.is_some()
            {
                let opening = std::future::poll_fn(|cx| guard.reply.poll_opened(cx));
                let opened = within(opening, cfg.timeouts.write, Phase::Write, deadline).await;
                phases.write = written.map(|w| w.elapsed());
                match opened {
                    Err(phase) => {
                        let total = cfg.timeouts.total.filter(|_| phase == Phase::Total);
                        drop(guard);
                        let e = fail(Error::new(ErrorKind::Timeout(phase)), &phases, None, total);
                        return (e, Some(conn));
                    }
                    Ok(Some(o)) => {
                        if let Some(b) = stream_body.take() {
                            // The body streams on its own while the response is awaited (the
                            // server may answer first, as in bidirectional streaming).
                            tokio::spawn(pump_body(o.stream, b, conn.tx.clone()));
                        }
                    }
                    // Not opened: the response says why.
                    Ok(None) => {}
                }
            }
            let waiting = std::future::poll_fn(|cx| guard.reply.poll_response(cx));
            let limit = cfg.timeouts.response_headers;
            let response = match within(waiting, limit, Phase::ResponseHeaders, deadline).await {
                Ok(r) => r,
                Err(phase) => {
                    let opened = guard.reply.opened();
                    let response_headers = match opened {
                        Some(o) => {
                            phases.write = written.map(|w| o.at.saturating_duration_since(w));
                            Some(o.at.elapsed())
                        }
                        None => {
                            phases.write = written.map(|w| w.elapsed());
                            None
                        }
                    };
                    let total = cfg.timeouts.total.filter(|_| phase == Phase::Total);
                    // The guard resets the stream (only if it is still open) and tells the driver
                    // it timed out: evidence about the connection's liveness. If nothing arrived
                    // since the request was written, the connection turns suspect right now, so
                    // that the very next request already goes elsewhere (the driver confirms it,
                    // and sends the PING, when it processes the cancel).
                    guard.timed_out = true;
                    let received = conn
                        .shared
                        .frames_received
                        .load(std::sync::atomic::Ordering::Relaxed);
                    if opened.is_some_and(|o| received <= o.frames) {
                        conn.shared.mark_suspect();
                    }
                    drop(guard);
                    let timeout = Error::new(ErrorKind::Timeout(phase));
                    let e = fail(timeout, &phases, response_headers, total);
                    return (e, Some(conn));
                }
            };
            guard.armed = false;
            let result = reply_outcome(response, || guard.reply.opened().is_some())
                .or_else(|e| fail(e, &phases, None, None));
            drop(guard);
            (result, Some(conn))
        }
    }

    /// Why a failed attempt may be sent again, if it may (before the retry budget, the
    /// body and the deadline have their say).
    fn retry_cause(&self, kind: ErrorKind, method: &Method) -> Option<stats::RetryCause> {
        match kind {
            ErrorKind::Refused => Some(stats::RetryCause::Refused),
            ErrorKind::Unprocessed => Some(stats::RetryCause::Unprocessed),
            ErrorKind::ConnectionLost { .. }
                if self.inner.config.retry_non_idempotent || idempotent(method) =>
            {
                Some(stats::RetryCause::Connection)
            }
            _ => None,
        }
    }
}

/// What an attempt's reply means: the response, or why there is none. `sent` says whether
/// the request went out; it is asked only on the paths that need it.
fn reply_outcome(
    reply: Result<conn::Response, crate::sync::reply::Closed>,
    sent: impl Fn() -> bool,
) -> Result<Response<RecvBody>, Error> {
    let e = match reply {
        Ok(Ok(res)) => return Ok(res),
        Ok(Err(e)) => e,
        Err(crate::sync::reply::Closed) => StreamError::ConnectionClosed,
    };
    let sent = matches!(
        e,
        StreamError::ConnectionClosed | StreamError::ConnectionReset
    ) && sent();
    Err(e.into_error(sent))
}

impl<B> tower_service::Service<Request<B>> for Client
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    type Response = Response<RecvBody>;
    type Error = Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<RecvBody>, Error>> + Send>,
    >;

    /// Always ready: waiting for a stream slot is part of each request (the queue phase).
    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let client = self.clone();
        Box::pin(async move { client.send(req).await })
    }
}

/// A request head: the request's own (`send`) or the caller's shared one (`send_shared`).
enum Head<'a> {
    Owned(Arc<http::request::Parts>),
    Borrowed(&'a Arc<http::request::Parts>),
}

impl std::ops::Deref for Head<'_> {
    type Target = Arc<http::request::Parts>;

    fn deref(&self) -> &Self::Target {
        match self {
            Head::Owned(p) => p,
            Head::Borrowed(p) => p,
        }
    }
}

/// A request body: buffered (and so replayable) or streamed.
enum ReqBody {
    Full(Bytes),
    Stream(Option<http_body_util::combinators::UnsyncBoxBody<Bytes, String>>),
}

/// Streams a request body (see `conn::pump`); a body that fails cancels its stream.
async fn pump_body(
    stream: h2kit_proto::StreamId,
    mut body: http_body_util::combinators::UnsyncBoxBody<Bytes, String>,
    tx: CommandTx,
) {
    let pumped = crate::conn::pump(stream, std::pin::Pin::new(&mut body), &tx, None).await;
    if let Err(crate::conn::PumpError::Body) = pumped {
        let _ = tx.send(Command::Role(ClientCommand::Cancel {
            stream,
            timed_out: false,
        }));
    }
}

/// Waits for `fut` until the earlier of `limit` from now (expiring as `phase`) and the
/// request's total `deadline` (expiring as `Phase::Total`). No timer and no clock read when
/// neither is set.
///
/// A hand-written future rather than an `async fn`: that one kept `fut` twice (the argument
/// and the awaited future) and a timer inline even when none was set, and every request's
/// future carries three of these. The timer is boxed, and only exists when a limit does.
fn within<F: std::future::Future>(
    fut: F,
    limit: Option<Duration>,
    phase: Phase,
    deadline: Option<Instant>,
) -> Within<F> {
    let timer = match (limit.map(|l| Instant::now() + l), deadline) {
        (None, None) => None,
        (Some(a), Some(d)) if d <= a => Some((d, Phase::Total)),
        (Some(a), _) => Some((a, phase)),
        (None, Some(d)) => Some((d, Phase::Total)),
    };
    Within {
        fut,
        timer: timer.map(|(at, phase)| (Box::pin(tokio::time::sleep_until(at.into())), phase)),
    }
}

pin_project_lite::pin_project! {
    struct Within<F> {
        #[pin]
        fut: F,
        timer: Option<(std::pin::Pin<Box<tokio::time::Sleep>>, Phase)>,
    }
}

impl<F: std::future::Future> std::future::Future for Within<F> {
    type Output = Result<F::Output, Phase>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        if let std::task::Poll::Ready(v) = this.fut.poll(cx) {
            return std::task::Poll::Ready(Ok(v));
        }
        if let Some((sleep, phase)) = this.timer {
            if sleep.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(Err(*phase));
            }
        }
        std::task::Poll::Pending
    }
}

/// How long each phase of an attempt took, so far: what an attempt keeps while it waits
/// (the rest is known only when it fails, and passed to `to_vec` then).
#[derive(Default)]
struct Phases {
    /// Only for a checkout that waited (see `Pool::checkout`).
    checkout: Option<Box<Checkout>>,
    write: Option<Duration>,
}

impl Phases {
    /// With the response-headers phase, if it started, and the total deadline if it expired.
    fn to_vec(
        &self,
        response_headers: Option<Duration>,
        total: Option<Duration>,
    ) -> Vec<(Phase, Duration)> {
        let c = self.checkout.as_deref().cloned().unwrap_or_default();
        std::iter::once((Phase::Queue, Some(c.queue)))
            .chain([
                (Phase::Connect, c.connect),
                (Phase::Tls, c.tls),
                (Phase::Write, self.write),
                (Phase::ResponseHeaders, response_headers),
                (Phase::Total, total),
            ])
            .filter_map(|(p, d)| Some((p, d?)))
            .collect()
    }
}

fn origin_of(uri: &http::Uri) -> Result<OriginRef<'_>, Error> {
    let bad =
        |why: &str| Error::new(ErrorKind::InvalidRequest).with_detail(format!("{why}: {uri}"));
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("URL scheme must be http or https")),
    };
    match uri.authority() {
        Some(authority) if has_host(authority) => Ok(OriginRef { tls, authority }),
        _ => Err(bad("URL has no host")),
    }
}

/// `!a.host().is_empty()`, on bytes: `host()` walks the string by `char`s and costs a few
/// hundred instructions, on every request. The host is what follows any userinfo (`…@`) and
/// precedes any port (`:…`); an IPv6 literal starts with `[`.
fn has_host(a: &http::uri::Authority) -> bool {
    let b = a.as_str().as_bytes();
    let host_port = match b.iter().rposition(|&c| c == b'@') {
        Some(i) => &b[i + 1..],
        None => b,
    };
    host_port.first().is_some_and(|&c| c != b':')
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_host_agrees_with_http() {
        for s in [
            "a.test",
            "a.test:443",
            ":443",
            "user@a.test",
            "user@:80",
            "user:pw@h:1",
            "[::1]:8080",
            "[::1]",
            "u@[::1]",
            "127.0.0.1:18192",
        ] {
            let a: http::uri::Authority = s.parse().unwrap();
            assert_eq!(super::has_host(&a), !a.host().is_empty(), "{s}");
        }
    }
}
