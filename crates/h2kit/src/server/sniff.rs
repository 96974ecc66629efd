//! Telling an HTTP/2 preface from an HTTP/1.x request line on a new connection.

use bytes::BytesMut;
use h2kit_proto::connection::{looks_like_http1, PREFACE};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub(crate) enum Sniffed {
    /// The bytes read so far, to be fed to the engine first.
    Http2(BytesMut),
    Http1,
}

/// Reads until the start of the stream is known to be the HTTP/2 preface, or not. Anything
/// that is neither the preface nor an HTTP/1.x request line is left to the engine, which
/// answers it with GOAWAY(PROTOCOL_ERROR).
pub(crate) async fn preface<T: AsyncRead + Unpin>(io: &mut T) -> std::io::Result<Sniffed> {
    // Small: it becomes the connection's read buffer, which grows only for bulk data.
    let mut buf = BytesMut::with_capacity(512);
    loop {
        if io.read_buf(&mut buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let n = buf.len().min(PREFACE.len());
        if buf[..n] == PREFACE[..n] {
            if n == PREFACE.len() {
                return Ok(Sniffed::Http2(buf));
            }
            continue;
        }
        if looks_like_http1(&buf[..buf.len().min(8)]) {
            return Ok(Sniffed::Http1);
        }
        return Ok(Sniffed::Http2(buf));
    }
}

const BODY: &str = "This server speaks HTTP/2 only: connect with prior knowledge (h2c, e.g. curl --http2-prior-knowledge) or over TLS with ALPN h2.\n";

/// Answers an HTTP/1.x request in HTTP/1.1, then closes the connection cleanly.
pub(crate) async fn answer_http1<T: AsyncRead + AsyncWrite + Unpin>(io: &mut T) {
    let msg = format!(
        "HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        BODY.len(),
        BODY
    );
    let _ = io.write_all(msg.as_bytes()).await;
    let _ = io.shutdown().await;
    // Drain what the client still sends so closing does not turn into a TCP reset that could
    // destroy the response before the client reads it.
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
