//! Streaming a message body through the connection task: responses and streamed request
//! bodies go the same way — each DATA chunk once the previous one
//! was taken (flow control permitting), then trailers or an empty END_STREAM.

use std::pin::Pin;

use bytes::Bytes;
use h2kit_proto::StreamId;
use http_body::Body;
use http_body_util::BodyExt;
use tokio::sync::oneshot;

use super::{Command, CommandTx};
use crate::error::StreamError;

/// Why streaming a body stopped before its end.
pub(crate) enum PumpError {
    /// The body itself failed; the caller ends the stream its own way.
    Body,
    /// The connection did not take the data.
    Connection(StreamError),
}

/// Streams the rest of `body` on a stream whose head has gone out.
pub(crate) async fn pump<B, X>(
    stream: StreamId,
    mut body: Pin<&mut B>,
    tx: &CommandTx<X>,
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
pub(crate) async fn send_data<X>(
    stream: StreamId,
    data: Bytes,
    end_stream: bool,
    tx: &CommandTx<X>,
) -> Result<(), PumpError> {
    let (ack, rx) = oneshot::channel();
    let _ = tx.send(Command::Data {
        stream,
        data,
        end_stream,
        ack,
    });
    rx.await
        .unwrap_or(Err(StreamError::ConnectionClosed))
        .map_err(PumpError::Connection)
}
