//! Request handling: any `tower::Service` becomes a [`Handler`] the connection task can
//! start without knowing its type, and its response goes back through the task.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use h2kit_proto::{ErrorCode, StreamId};
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::conn::body::RecvBody;
use crate::conn::{pump, queue_data, Command, PumpError, Queued};
use crate::error::StreamError;

/// The way into a server connection's task.
pub(crate) type CommandTx = crate::conn::CommandTx<ServerCommand>;

/// The server's own commands.
pub(crate) enum ServerCommand {
    /// A response head, possibly with its whole body when that is a single chunk.
    Respond {
        stream: StreamId,
        /// Boxed: commands sit in the queue's slots, so the slot size (the largest variant)
        /// is memory every connection pays for.
        parts: Box<http::response::Parts>,
        body: Option<Bytes>,
        end_stream: bool,
    },
}

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Type-erased request handling, so the connection task is not generic over the service.
/// One per connection (a clone of the service), used only by its task: `Send`, not `Sync`.
pub(crate) trait Handler: Send + 'static {
    fn call(&self, stream: StreamId, req: Request<RecvBody>, tx: CommandTx) -> BoxFuture;
}

/// What a [`Server`](super::Server) serves: any `tower::Service` of requests with a
/// [`RecvBody`] whose responses carry an `http_body::Body<Data = Bytes>` (an axum `Router`,
/// a `tower::util::BoxCloneService`, a `service_fn`). It is implemented for all of them; name
/// it in bounds instead of repeating the service's.
///
/// The service is cloned for each connection and each request, so it need not be `Sync`.
pub trait HttpService: Clone + Send + 'static {
    /// The response body.
    type ResBody: Body<Data = Bytes, Error: Send> + Send + 'static;
    /// The service's error: the stream is reset with INTERNAL_ERROR, and the error logged.
    type Error: std::fmt::Display + Send;
    /// The response's future.
    type Future: Future<Output = Result<Response<Self::ResBody>, Self::Error>> + Send + 'static;

    /// `tower::Service::poll_ready`.
    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>>;

    /// `tower::Service::call`.
    fn call(&mut self, req: Request<RecvBody>) -> Self::Future;
}

impl<S, B> HttpService for S
where
    S: Service<Request<RecvBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display + Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Send,
{
    type ResBody = B;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        Service::poll_ready(self, cx)
    }

    fn call(&mut self, req: Request<RecvBody>) -> S::Future {
        Service::call(self, req)
    }
}

pub(crate) struct ServiceHandler<S>(pub S);

/// Resets the stream if the handler panics (an aborted handler is dropped without panicking
/// and sends nothing: its stream is already gone).
struct PanicGuard {
    stream: StreamId,
    tx: CommandTx,
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.tx.send(Command::Reset {
                stream: self.stream,
                code: ErrorCode::INTERNAL_ERROR,
            });
        }
    }
}

impl<S: HttpService> Handler for ServiceHandler<S> {
    fn call(&self, stream: StreamId, req: Request<RecvBody>, tx: CommandTx) -> BoxFuture {
        let mut svc = self.0.clone();
        Box::pin(async move {
            let _guard = PanicGuard {
                stream,
                tx: tx.clone(),
            };
            let ready = std::future::poll_fn(|cx| svc.poll_ready(cx)).await;
            match ready.map(|()| svc.call(req)) {
                Ok(fut) => match fut.await {
                    Ok(res) => {
                        let _ = send_response(stream, res, &tx).await;
                    }
                    Err(e) => fail(stream, &e, &tx),
                },
                Err(e) => fail(stream, &e, &tx),
            }
        })
    }
}

/// The service failed: its stream is reset with INTERNAL_ERROR.
fn fail(stream: StreamId, e: &impl std::fmt::Display, tx: &CommandTx) {
    tracing::debug!(target: "h2kit::server", stream = stream.0, error = %e, "handler failed");
    let _ = tx.send(Command::Reset {
        stream,
        code: ErrorCode::INTERNAL_ERROR,
    });
}

/// Sends a handler's response through the connection task: the head (with the body when it is one
/// chunk, and with END_STREAM when there is nothing else), then the rest of the body.
pub(crate) async fn send_response<B>(
    stream: StreamId,
    res: http::Response<B>,
    tx: &CommandTx,
) -> Result<(), StreamError>
where
    B: Body<Data = Bytes>,
{
    let (parts, body) = res.into_parts();
    let mut head = Some(Box::new(parts));
    let mut body = std::pin::pin!(body);
    // The head goes out exactly once, with whatever the first frame allows.
    let mut respond = |body: Option<Bytes>, end_stream: bool| {
        if let Some(parts) = head.take() {
            let _ = tx.send(Command::Role(ServerCommand::Respond {
                stream,
                parts,
                body,
                end_stream,
            }));
        }
    };
    if body.is_end_stream() {
        respond(None, true);
        return Ok(());
    }
    // The first frame decides how the head goes out, if it is ready: a body with nothing to
    // send yet (a stream of events, a tunnel) has its head go out at once.
    let first = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match body.as_mut().poll_frame(cx) {
            std::task::Poll::Ready(frame) => Some(frame),
            std::task::Poll::Pending => None,
        })
    })
    .await;
    let Some(first) = first else {
        respond(None, false);
        return pump_rest(stream, body.as_mut(), tx, None).await;
    };
    match first {
        // The body ended without a last-chunk marker: the head alone ends the stream.
        None => {
            respond(None, true);
            return Ok(());
        }
        Some(Err(_)) => return Err(internal_error(stream, tx)),
        Some(Ok(frame)) => match frame.into_data() {
            Ok(data) => {
                let end = body.is_end_stream();
                if end || data.is_empty() {
                    respond(Some(data), end);
                    if end {
                        return Ok(());
                    }
                } else {
                    respond(None, false);
                    let ahead = queue_data(stream, data, false, tx);
                    return pump_rest(stream, body.as_mut(), tx, Some(ahead)).await;
                }
            }
            Err(frame) => {
                respond(None, false);
                if let Ok(trailers) = frame.into_trailers() {
                    let _ = tx.send(Command::Trailers {
                        stream,
                        trailers: Box::new(trailers),
                    });
                    return Ok(());
                }
            }
        },
    }
    pump_rest(stream, body.as_mut(), tx, None).await
}

/// Streams the rest of a response body whose head has gone out.
async fn pump_rest<B>(
    stream: StreamId,
    body: Pin<&mut B>,
    tx: &CommandTx,
    ahead: Option<Queued>,
) -> Result<(), StreamError>
where
    B: Body<Data = Bytes>,
{
    match pump(stream, body, tx, ahead).await {
        Ok(()) => Ok(()),
        Err(PumpError::Connection(e)) => Err(e),
        Err(PumpError::Body) => Err(internal_error(stream, tx)),
    }
}

/// A response body that fails mid-way resets its stream.
fn internal_error(stream: StreamId, tx: &CommandTx) -> StreamError {
    let _ = tx.send(Command::Reset {
        stream,
        code: ErrorCode::INTERNAL_ERROR,
    });
    StreamError::Protocol(ErrorCode::INTERNAL_ERROR)
}
