//! Streaming a message body through the connection driver: the server's responses and the
//! client's streamed request bodies go the same way — each DATA chunk once the previous one
//! was taken (flow control permitting), then trailers or an empty END_STREAM.

use std::pin::Pin;

use bytes::Bytes;
use h2kit_proto::{ErrorCode, StreamId};
use http_body::Body;
use http_body_util::BodyExt;
use tokio::sync::oneshot;

use super::Command;
use crate::Error;

/// Why streaming a body stopped before its end.
pub(crate) enum PumpError {
    /// The body itself failed; the caller ends the stream its own way.
    Body,
    /// The connection did not take the data.
    Connection(Error),
}

/// Streams the rest of `body` on a stream whose head has gone out.
pub(crate) async fn pump<B>(
    stream: StreamId,
    mut body: Pin<&mut B>,
    tx: &crate::driver::CommandTx,
) -> Result<(), PumpError>
where
    B: Body<Data = Bytes> + ?Sized,
{
    loop {
        let frame = match body.frame().await {
            None => return send_data(stream, Bytes::new(), true, tx).await,
            Some(Err(_)) => return Err(PumpError::Body),
            Some(Ok(f)) => f,
        };
        match frame.into_data() {
            Ok(data) => {
                let end = body.is_end_stream();
                send_data(stream, data, end, tx).await?;
                if end {
                    return Ok(());
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    let _ = tx.send(Command::Trailers {
                        stream,
                        trailers: Box::new(trailers),
                    });
                    return Ok(());
                }
            }
        }
    }
}

/// Queues one DATA chunk and waits until the connection has taken it.
async fn send_data(
    stream: StreamId,
    data: Bytes,
    end_stream: bool,
    tx: &crate::driver::CommandTx,
) -> Result<(), PumpError> {
    let (ack, rx) = oneshot::channel();
    let _ = tx.send(Command::Data {
        stream,
        data,
        end_stream,
        ack,
    });
    rx.await
        .unwrap_or(Err(Error::ConnectionClosed))
        .map_err(PumpError::Connection)
}

/// Sends a handler's response through the driver: the head (with the body when it is one
/// chunk, and with END_STREAM when there is nothing else), then the rest of the body.
pub(crate) async fn send_response<B>(
    stream: StreamId,
    res: http::Response<B>,
    tx: &crate::driver::CommandTx,
) -> Result<(), Error>
where
    B: Body<Data = Bytes>,
{
    let (parts, body) = res.into_parts();
    let mut head = Some(Box::new(parts));
    let mut body = std::pin::pin!(body);
    // The head goes out exactly once, with whatever the first frame allows.
    let mut respond = |body: Option<Bytes>, end_stream: bool| {
        if let Some(parts) = head.take() {
            let _ = tx.send(Command::Respond {
                stream,
                parts,
                body,
                end_stream,
            });
        }
    };
    if body.is_end_stream() {
        respond(None, true);
        return Ok(());
    }
    // The first frame decides how the head goes out.
    match body.frame().await {
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
                    match send_data(stream, data, false, tx).await {
                        Ok(()) => {}
                        Err(PumpError::Connection(e)) => return Err(e),
                        Err(PumpError::Body) => return Err(internal_error(stream, tx)),
                    }
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
    match pump(stream, body.as_mut(), tx).await {
        Ok(()) => Ok(()),
        Err(PumpError::Connection(e)) => Err(e),
        Err(PumpError::Body) => Err(internal_error(stream, tx)),
    }
}

/// A response body that fails mid-way resets its stream.
fn internal_error(stream: StreamId, tx: &crate::driver::CommandTx) -> Error {
    let _ = tx.send(Command::Reset {
        stream,
        code: ErrorCode::INTERNAL_ERROR,
    });
    Error::Protocol(ErrorCode::INTERNAL_ERROR)
}
