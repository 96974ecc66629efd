//! Streaming a message body through the connection task: responses and streamed request
//! bodies go the same way — DATA chunks, one waiting behind the one being sent (flow control
//! permitting), then trailers or an empty END_STREAM.

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

/// Streams the rest of `body` on a stream whose head has gone out. `ahead` is a chunk
/// already handed over, if any.
///
/// The pump stays one chunk ahead of the connection: it reads the next chunk while the
/// previous one waits for window, so that when the window reopens (and is handed out by
/// priority, RFC 9218) a body that is ready always has data there to take it, whatever the
/// timing of this task. Two chunks per stream at most wait in the connection task.
pub(crate) async fn pump<B, X>(
    stream: StreamId,
    mut body: Pin<&mut B>,
    tx: &CommandTx<X>,
    mut ahead: Option<Queued>,
) -> Result<(), PumpError>
where
    B: Body<Data = Bytes> + ?Sized,
{
    loop {
        let frame = match body.frame().await {
            None => {
                let end = queue_data(stream, Bytes::new(), true, tx);
                taken(ahead).await?;
                return taken(Some(end)).await;
            }
            Some(Err(_)) => return Err(PumpError::Body),
            Some(Ok(f)) => f,
        };
        match frame.into_data() {
            Ok(data) => {
                let end = body.is_end_stream();
                let queued = queue_data(stream, data, end, tx);
                taken(ahead.replace(queued)).await?;
                if end {
                    return taken(ahead).await;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    // Trailers go out at once: after the data has.
                    taken(ahead).await?;
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

/// A DATA chunk handed to the connection task.
pub(crate) struct Queued(oneshot::Receiver<Result<(), StreamError>>);

/// Waits until the connection has taken the chunk, if there is one (flow control
/// permitting).
async fn taken(queued: Option<Queued>) -> Result<(), PumpError> {
    match queued {
        Some(Queued(rx)) => rx
            .await
            .unwrap_or(Err(StreamError::ConnectionClosed))
            .map_err(PumpError::Connection),
        None => Ok(()),
    }
}

/// Hands one DATA chunk to the connection task.
pub(crate) fn queue_data<X>(
    stream: StreamId,
    data: Bytes,
    end_stream: bool,
    tx: &CommandTx<X>,
) -> Queued {
    let (ack, rx) = oneshot::channel();
    let _ = tx.send(Command::Data {
        stream,
        data,
        end_stream,
        ack,
    });
    Queued(rx)
}
