//! The lingering close of a connection we end (see `Linger`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_util::io::poll_read_buf;

use super::{Driver, Role, READ_SMALL};

/// After we end a connection, how long and how much we keep reading (and discarding) what the
/// peer still sends, so that our GOAWAY reaches it (see `Linger`).
const LINGER_TIME: Duration = Duration::from_secs(1);

const LINGER_BYTES: usize = 1 << 20;

/// For a connection ended for a flood, enough for a bursty but benign peer's frames in flight:
/// an attacker that keeps writing gets no megabyte of reading for free.
const LINGER_BYTES_AFTER_FLOOD: usize = 64 << 10;

/// A connection we ended, waiting for the peer to close its side. Closing a socket with unread
/// input makes the kernel answer with a TCP RST, and a peer that receives it may discard the
/// GOAWAY it had not read yet — the one frame that says why the connection ended, or which of
/// its requests were not processed. So the write side is shut (FIN, or TLS close_notify) and
/// the peer's bytes are read and dropped until it closes, for at most `LINGER_TIME` and
/// `LINGER_BYTES` (`LINGER_BYTES_AFTER_FLOOD` after a flood).
pub(super) struct Linger {
    until: Instant,
    discarded: usize,
    max_bytes: usize,
    shut: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin, R: Role> Driver<T, R> {
    /// The last step of a connection's end: a connection we ended (the engine closed it while
    /// the peer still sends) lingers; any other is shut down at once.
    pub(super) fn close_or_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.io_error.is_none() && !self.read_closed && self.conn.is_closed() {
            let max_bytes = if self.conn.stats().flood.is_some() {
                LINGER_BYTES_AFTER_FLOOD
            } else {
                LINGER_BYTES
            };
            self.lingering = Some(Linger {
                until: Instant::now() + LINGER_TIME,
                discarded: 0,
                max_bytes,
                shut: false,
            });
            return self.poll_linger(cx);
        }
        let _ = Pin::new(&mut self.io)
            .poll_shutdown(&mut Context::from_waker(std::task::Waker::noop()));
        Poll::Ready(())
    }

    /// See `Linger`: ready once the peer has closed, or the bounds are reached.
    pub(super) fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(linger) = self.lingering.as_mut() else {
            return Poll::Ready(());
        };
        if !linger.shut && Pin::new(&mut self.io).poll_shutdown(cx).is_ready() {
            linger.shut = true;
        }
        loop {
            self.read_buf.clear();
            self.read_buf.reserve(READ_SMALL);
            match poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read_buf) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(n)) => {
                    linger.discarded += n;
                    if linger.discarded > linger.max_bytes {
                        return Poll::Ready(());
                    }
                }
                Poll::Pending => break,
            }
        }
        if Instant::now() >= linger.until {
            return Poll::Ready(());
        }
        if self.timer.deadline() != linger.until {
            self.timer.as_mut().reset(linger.until);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
