//! The two pumps of one proxied connection, and how a connection ends.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::{Frame, FrameDecoder, MAX_MAX_FRAME_SIZE};
use h2kit_proto::watch::Side;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Conn, Shared, Transport};

const CHUNK: usize = 16 << 10;

/// How a byte-count fault ends the connection.
const END_NONE: u8 = 0;
const END_RESET: u8 = 1;
const END_CLOSE: u8 = 2;

/// Per-connection state the two directions share.
struct Link {
    ending: AtomicU8,
    /// The client did not start with the HTTP/2 preface (TLS, HTTP/1.1): not traced.
    not_h2: AtomicBool,
}

pub(super) async fn run(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    client: Box<dyn Transport>,
    upstream: Box<dyn Transport>,
) {
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let link = Link {
        ending: AtomicU8::new(END_NONE),
        not_h2: AtomicBool::new(false),
    };
    {
        let up = one_way(shared, conn, &link, Side::Client, &mut cr, &mut uw);
        let down = one_way(shared, conn, &link, Side::Server, &mut ur, &mut cw);
        tokio::select! {
            _ = async { tokio::join!(up, down) } => {}
            _ = conn.cancel.cancelled() => {}
        }
    }
    // Whole transports again: a dropped write half would send FIN before the RST.
    let (client, upstream) = (cr.unsplit(cw), ur.unsplit(uw));
    if link.not_h2.load(Relaxed) {
        shared.totals.lock().unwrap().not_h2 += 1;
    }
    match link.ending.load(Relaxed) {
        END_RESET => {
            // SO_LINGER 0: closing sends RST instead of FIN.
            let _ = client.tcp().set_zero_linger();
            let _ = upstream.tcp().set_zero_linger();
            shared.totals.lock().unwrap().resets += 1;
            tracing::info!(target: "h2kit::proxy", conn = conn.id, "reset (TCP RST)");
        }
        END_CLOSE => {
            let (mut client, mut upstream) = (client, upstream);
            let _ = client.shutdown().await;
            let _ = upstream.shutdown().await;
            shared.totals.lock().unwrap().closes += 1;
            tracing::info!(target: "h2kit::proxy", conn = conn.id, "closed");
        }
        _ => {}
    }
}

/// Frames of one direction, parsed as they pass.
struct Tap {
    dec: FrameDecoder,
    buf: BytesMut,
    preface_left: usize,
    dead: bool,
}

impl Tap {
    fn new(sender: Side) -> Tap {
        let mut dec = FrameDecoder::new();
        dec.set_max_frame_size(MAX_MAX_FRAME_SIZE);
        Tap {
            dec,
            buf: BytesMut::new(),
            preface_left: if sender == Side::Client {
                PREFACE.len()
            } else {
                0
            },
            dead: false,
        }
    }

    /// Frames completed by `bytes`; false if this is not HTTP/2 (the tap then stops).
    fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<Frame>) -> bool {
        if self.dead {
            return true;
        }
        if self.preface_left > 0 {
            let done = PREFACE.len() - self.preface_left;
            let n = self.preface_left.min(bytes.len());
            if bytes[..n] != PREFACE[done..done + n] {
                self.dead = true;
                return false;
            }
            self.preface_left -= n;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.dec.decode(&mut self.buf) {
                Ok(Some(f)) => out.push(f),
                Ok(None) => return true,
                Err(_) => {
                    // A malformed frame: the peer will say so; we stop parsing this direction.
                    self.dead = true;
                    self.buf = BytesMut::new();
                    return true;
                }
            }
        }
    }
}

async fn one_way(
    shared: &Shared,
    conn: &Conn,
    link: &Link,
    sender: Side,
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
) {
    let faults = &shared.config.faults;
    let faulty = conn.faulty;
    let limit = if faulty {
        [
            faults.reset_after_bytes.map(|n| (n, END_RESET)),
            faults.close_after_bytes.map(|n| (n, END_CLOSE)),
        ]
        .into_iter()
        .flatten()
        .min()
    } else {
        None
    };
    let mut tap = conn.watcher.as_ref().map(|_| Tap::new(sender));
    let mut frames = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                if !conn.unplugged.load(Relaxed) {
                    let _ = to.shutdown().await;
                }
                return;
            }
            Ok(n) => n,
        };
        if conn.unplugged.load(Relaxed) || link.ending.load(Relaxed) != END_NONE {
            // A 100%-loss path: read and drop.
            continue;
        }
        if let Some(d) = faults.delay.filter(|_| faulty) {
            tokio::time::sleep(d).await;
        }
        let mut chunk = &buf[..n];
        let mut end = END_NONE;
        if let Some((at, how)) = limit {
            let before = conn.bytes.load(Relaxed);
            if before + n as u64 >= at {
                chunk = &chunk[..(at.saturating_sub(before) as usize).min(n)];
                end = how;
            }
        }
        conn.bytes.fetch_add(chunk.len() as u64, Relaxed);
        shared.bytes[sender as usize].fetch_add(chunk.len() as u64, Relaxed);
        if let Some(tap) = tap.as_mut().filter(|_| !link.not_h2.load(Relaxed)) {
            if !tap.feed(chunk, &mut frames) {
                link.not_h2.store(true, Relaxed);
            }
            watch(conn, sender, &mut frames);
        }
        let written = match faults.bandwidth.filter(|_| faulty) {
            Some(rate) => paced_write(to, chunk, rate).await,
            None => to.write_all(chunk).await,
        };
        conn.last_used
            .store(shared.seq.fetch_add(1, Relaxed), Relaxed);
        if written.is_err() {
            return;
        }
        if end != END_NONE {
            link.ending.store(end, Relaxed);
            conn.cancel.cancel();
            return;
        }
    }
}

/// Traces the frames (with the header fields of each block, decoded by the connection's
/// observer) and feeds them to the watcher.
fn watch(conn: &Conn, sender: Side, frames: &mut Vec<Frame>) {
    let Some(w) = &conn.watcher else {
        frames.clear();
        return;
    };
    let now = Instant::now();
    let from = match sender {
        Side::Client => "client",
        Side::Server => "server",
    };
    let mut w = w.lock().unwrap();
    for f in frames.drain(..) {
        if h2kit_proto::trace::enabled() {
            let fields = conn
                .headers
                .as_ref()
                .and_then(|t| t.lock().unwrap().fields(sender as usize, &f));
            h2kit_proto::trace::observed(conn.id, from, &f, fields.as_ref());
        }
        if let Some(a) = w.frame(sender, &f, now) {
            tracing::warn!(
                target: "h2kit::proxy",
                conn = conn.id,
                anomaly = a.kind.name(),
                stream_id = a.stream.0,
                "{}",
                a.detail
            );
        }
    }
}

/// Writes at most `rate` bytes per second, in pieces of a twentieth of a second's worth.
async fn paced_write(
    to: &mut (impl AsyncWrite + Unpin),
    data: &[u8],
    rate: u64,
) -> std::io::Result<()> {
    let piece = (rate / 20).max(1) as usize;
    for p in data.chunks(piece) {
        to.write_all(p).await?;
        tokio::time::sleep(Duration::from_secs_f64(p.len() as f64 / rate as f64)).await;
    }
    Ok(())
}
