//! Byte streams over HTTP/2 streams: extended CONNECT (RFC 8441), the way WebSockets run
//! over HTTP/2.
//!
//! A [`Tunnel`] reads the DATA the peer sends and writes DATA of its own, as
//! `tokio::io::AsyncRead + AsyncWrite`, so that anything written for a TCP stream (such as
//! tokio-tungstenite) runs over one HTTP/2 stream. The stream's ends map onto the byte
//! stream's (RFC 8441 §5): the peer's END_STREAM is EOF, [`shutdown`] sends END_STREAM, and a
//! reset is an error of kind `ConnectionReset` on either side. Drop a tunnel once both sides
//! have ended for a clean close; dropped while the peer is still sending, a client's tunnel
//! is cancelled (RST_STREAM(CANCEL), as a dropped response body is), the abrupt close a TCP RST
//! would be.
//!
//! A server accepts one with [`accept`] inside its handler: the handler returns the response
//! and hands the tunnel to a task of its own. A client opens one with
//! [`Client::connect_tunnel`](crate::Client::connect_tunnel).
//!
//! [`shutdown`]: tokio::io::AsyncWriteExt::shutdown

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use crate::conn::body::RecvBody;
use crate::error::Error;

/// Chunks written but not yet taken by the connection: back-pressure beyond them (the
/// connection takes a chunk once flow control lets it go).
const QUEUED_CHUNKS: usize = 8;

/// The protocol an extended CONNECT request asks for (its `:protocol`, RFC 8441 §4), such as
/// `websocket`; `None` for any other request.
pub fn protocol<B>(req: &Request<B>) -> Option<&str> {
    let p = req.extensions().get::<h2kit_proto::message::Protocol>()?;
    std::str::from_utf8(&p.0).ok()
}

/// Server: accepts an extended CONNECT request. Return the response from the handler (a 200
/// whose body is whatever the tunnel writes) and use the tunnel in a task of its own: the
/// response's head goes out at once, before the tunnel writes anything.
pub fn accept(req: Request<RecvBody>) -> (Response<TunnelBody>, Tunnel) {
    let (tunnel, body) = Tunnel::new(req.into_body());
    let mut res = Response::new(body);
    *res.status_mut() = StatusCode::OK;
    (res, tunnel)
}

/// One HTTP/2 stream as a byte stream: see the [module](self).
pub struct Tunnel {
    recv: RecvBody,
    /// Received and not read yet.
    unread: Bytes,
    /// The peer ended its side (END_STREAM): reads return EOF.
    eof: bool,
    send: PollSender<Bytes>,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("unread", &self.unread.len())
            .field("eof", &self.eof)
            .field("write_closed", &self.send.is_closed())
            .finish()
    }
}

/// What a [`Tunnel`] writes, as a message body: the response body on a server, the request
/// body on a client.
#[derive(Debug)]
pub struct TunnelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Tunnel {
    /// A tunnel reading `recv`, and the body that carries what it writes.
    pub(crate) fn new(recv: RecvBody) -> (Tunnel, TunnelBody) {
        let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
        let tunnel = Tunnel {
            recv,
            unread: Bytes::new(),
            eof: false,
            send: PollSender::new(tx),
        };
        (tunnel, TunnelBody { rx })
    }

    /// Replaces the received side (a client has its response body only after the body it
    /// writes was handed to the request).
    pub(crate) fn set_recv(&mut self, recv: RecvBody) {
        self.recv = recv;
    }
}

/// A stream error as the byte stream's: a reset is a reset, a lost connection an abort.
fn io_error(e: Error) -> io::Error {
    let kind = match e.kind() {
        crate::ErrorKind::Reset(_) | crate::ErrorKind::Protocol(_) => {
            io::ErrorKind::ConnectionReset
        }
        crate::ErrorKind::Timeout(_) => io::ErrorKind::TimedOut,
        _ => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, e)
}

impl AsyncRead for Tunnel {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.unread.is_empty() && !this.eof {
            match ready!(Pin::new(&mut this.recv).poll_frame(cx)) {
                None => this.eof = true,
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
                // Trailers end a message; a tunnel has none to give.
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.unread = data;
                    }
                }
            }
        }
        let n = this.unread.len().min(buf.remaining());
        buf.put_slice(&this.unread[..n]);
        this.unread.advance(n);
        Poll::Ready(Ok(()))
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the tunnel's stream is closed for sending (shut down, reset, or its connection ended)",
    )
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let send = &mut self.send;
        ready!(send.poll_reserve(cx)).map_err(|_| closed())?;
        send.send_item(Bytes::copy_from_slice(buf))
            .map_err(|_| closed())?;
        Poll::Ready(Ok(buf.len()))
    }

    /// Written chunks are queued to the connection, which sends them as flow control
    /// allows: nothing waits in the tunnel itself.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends our side of the stream (END_STREAM after what was written).
    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.send.close();
        Poll::Ready(Ok(()))
    }
}

impl Body for TunnelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}
