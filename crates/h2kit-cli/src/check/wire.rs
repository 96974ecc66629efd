//! The checker's end of a connection: blocking I/O over TCP or TLS, frames written byte by
//! byte as a case asks (malformed ones included) and read back with h2kit's frame decoder.
//! Every frame both ways goes to the frame trace, which a failed case shows.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use h2kit::proto::frame::{self, Frame, FrameDecoder, FrameHeader, HEADER_LEN};
use h2kit::proto::hpack;
use h2kit::proto::trace::{self, Direction, HeaderTracer};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// `Some` for https:// URLs: the TLS configuration (ALPN h2) and the name to verify.
    pub tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
    pub authority: String,
    pub path: String,
}

impl Target {
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

trait Io: Read + Write + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Io for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Io for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

impl Io for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// What came back from a read.
#[derive(Debug)]
pub enum Got {
    Frame(Frame),
    /// The peer closed the connection (or reset it).
    Closed,
    /// Nothing within the wait.
    Timeout,
    /// Bytes that are not a frame the decoder accepts: the reason.
    Garbage(String),
}

pub struct Wire {
    io: Box<dyn Io>,
    rbuf: BytesMut,
    decoder: FrameDecoder,
    pub encoder: hpack::Encoder,
    tracer: HeaderTracer,
    /// The `:status` of the last response head read on each stream (recorded while the frame
    /// trace is on, as it is for the declarative cases).
    pub statuses: std::collections::HashMap<u32, u16>,
    /// Output gathered by `queue_*` until `flush`.
    wbuf: BytesMut,
    closed: bool,
}

impl Wire {
    /// Connects (and completes TLS with ALPN h2); errors are sentences.
    pub fn connect(t: &Target, timeout: Duration) -> Result<Wire, String> {
        let tcp = TcpStream::connect_timeout(&t.addr, timeout)
            .map_err(|e| format!("cannot connect to {}: {e}", t.addr))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match &t.tls {
            None => Box::new(tcp),
            Some((config, name)) => {
                let conn = rustls::ClientConnection::new(config.clone(), name.clone())
                    .map_err(|e| format!("TLS setup failed: {}", h2kit::tls::describe(&e)))?;
                Box::new(over_tls(
                    conn,
                    tcp,
                    timeout,
                    "TLS handshake failed",
                    "the server did not select ALPN h2",
                )?)
            }
        };
        Ok(Wire::over(io))
    }

    fn over(io: Box<dyn Io>) -> Wire {
        Wire {
            io,
            rbuf: BytesMut::with_capacity(64 << 10),
            decoder: FrameDecoder::new(),
            encoder: hpack::Encoder::new(),
            tracer: HeaderTracer::default(),
            wbuf: BytesMut::with_capacity(16 << 10),
            statuses: Default::default(),
            closed: false,
        }
    }

    /// The server's end of an accepted connection (`check client`), TLS completed if `tls`.
    pub fn accepted(
        tcp: TcpStream,
        tls: Option<&Arc<rustls::ServerConfig>>,
        timeout: Duration,
    ) -> Result<Wire, String> {
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match tls {
            None => Box::new(tcp),
            Some(config) => {
                let conn = rustls::ServerConnection::new(config.clone())
                    .map_err(|e| format!("TLS setup failed: {}", h2kit::tls::describe(&e)))?;
                Box::new(over_tls(
                    conn,
                    tcp,
                    timeout,
                    "the client's TLS handshake failed",
                    "the client did not offer ALPN h2",
                )?)
            }
        };
        Ok(Wire::over(io))
    }

    /// One read of whatever has arrived, waiting up to `wait`; the end of the stream or an
    /// error closes the wire.
    fn read_some(&mut self, wait: Duration) {
        let _ = self.io.tcp().set_read_timeout(Some(wait));
        let start = self.rbuf.len();
        self.rbuf.resize(start + 4096, 0);
        let r = self.io.read(&mut self.rbuf[start..]);
        self.rbuf.truncate(start + *r.as_ref().unwrap_or(&0));
        match r {
            Ok(0) => self.closed = true,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => self.closed = true,
        }
    }

    /// Reads the client's connection preface; a sentence if it is something else.
    pub fn read_preface(&mut self, deadline: Instant) -> Result<(), String> {
        while self.rbuf.len() < PREFACE.len() && !self.closed {
            let now = Instant::now();
            if now >= deadline {
                return Err("the client sent no connection preface in time".into());
            }
            self.read_some(deadline - now);
        }
        if self.rbuf.starts_with(PREFACE) {
            let _ = self.rbuf.split_to(PREFACE.len());
            return Ok(());
        }
        let line = self.rbuf[..]
            .split(|b: &u8| *b == b'\r' || *b == b'\n')
            .next()
            .unwrap_or_default();
        Err(if self.rbuf.is_empty() {
            "the client closed the connection without a connection preface".into()
        } else {
            format!(
                "the client did not send the HTTP/2 connection preface (it sent `{}`)",
                String::from_utf8_lossy(&line[..line.len().min(60)])
            )
        })
    }

    /// Raw bytes, as they are.
    pub fn queue_bytes(&mut self, b: &[u8]) {
        self.wbuf.extend_from_slice(b);
    }

    /// One frame with exactly this header and payload.
    pub fn queue_frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = payload.len();
        let head = FrameHeader {
            length: len as u32,
            kind,
            flags,
            stream_id: frame::StreamId(stream & 0x7fff_ffff),
        };
        self.trace_sent(head, stream, payload);
        self.wbuf.put_uint(len as u64, 3);
        self.wbuf.put_u8(kind);
        self.wbuf.put_u8(flags);
        self.wbuf.put_u32(stream);
        self.wbuf.extend_from_slice(payload);
    }

    /// Traces a frame as sent: parsed when it parses, else a line saying what it is.
    fn trace_sent(&mut self, head: FrameHeader, raw_stream: u32, payload: &[u8]) {
        if !trace::enabled() {
            return;
        }
        match frame::parse_payload(head, Bytes::copy_from_slice(payload)) {
            Ok(f) if head.length as usize == payload.len() => {
                let fields = self.tracer.fields(0, &f);
                trace::frame(Direction::Send, &f, fields.as_ref());
            }
            _ => tracing::trace!(
                target: "h2kit::frame",
                direction = "send",
                frame_type = "MALFORMED",
                flags = head.flags,
                stream_id = raw_stream,
                length = payload.len(),
                unknown_type = head.kind,
            ),
        }
    }

    /// Whether a whole frame is already read and waiting to be decoded.
    pub fn frame_buffered(&self) -> bool {
        self.rbuf.len() >= HEADER_LEN
            && self.rbuf.len()
                >= HEADER_LEN
                    + u32::from_be_bytes([0, self.rbuf[0], self.rbuf[1], self.rbuf[2]]) as usize
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.wbuf.len()
    }

    pub fn flush(&mut self) -> Result<(), String> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let r = self.io.write_all(&self.wbuf).and_then(|_| self.io.flush());
        self.wbuf.clear();
        r.map_err(|e| format!("write failed: {e}"))
    }

    /// The next frame, waiting until `deadline`.
    pub fn read(&mut self, deadline: Instant) -> Got {
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(f)) => {
                    // The trace is on for a whole connection or not at all, so the header
                    // tracer's table sees every block it needs.
                    if trace::enabled() {
                        let fields = self.tracer.fields(1, &f);
                        trace::frame(Direction::Recv, &f, fields.as_ref());
                        let status = fields
                            .iter()
                            .flat_map(|x| &x.0)
                            .find(|(n, _)| n == ":status");
                        if let Some(v) =
                            status.and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
                        {
                            self.statuses.insert(f.stream_id().0, v);
                        }
                    }
                    return Got::Frame(f);
                }
                Ok(None) => {}
                Err(e) => {
                    self.closed = true;
                    return Got::Garbage(format!("the server sent a malformed frame: {e}"));
                }
            }
            if self.closed {
                return Got::Closed;
            }
            let now = Instant::now();
            if now >= deadline {
                return Got::Timeout;
            }
            let wait = deadline - now;
            // A socket's receive timeout is rounded up to the kernel's tick (4 ms here); a
            // wait shorter than a few ticks (the END_STREAM sent 1 ms late) polls instead.
            let short = wait < SHORT_WAIT;
            if short {
                let _ = self.io.tcp().set_nonblocking(true);
            } else {
                let _ = self.io.tcp().set_read_timeout(Some(wait));
            }
            let start = self.rbuf.len();
            self.rbuf.resize(start + (64 << 10), 0);
            let r = self.io.read(&mut self.rbuf[start..]);
            if short {
                let _ = self.io.tcp().set_nonblocking(false);
                if r.as_ref().is_err_and(is_timeout) {
                    std::thread::sleep(
                        POLL.min(deadline.saturating_duration_since(Instant::now())),
                    );
                }
            }
            match r {
                Ok(0) => {
                    self.rbuf.truncate(start);
                    self.closed = true;
                }
                Ok(n) => self.rbuf.truncate(start + n),
                Err(e) if is_timeout(&e) => self.rbuf.truncate(start),
                Err(_) => {
                    self.rbuf.truncate(start);
                    self.closed = true;
                }
            }
        }
    }

    /// The first bytes the server sent, if they are not the start of a SETTINGS frame (an
    /// HTTP/1.x status line, nothing at all): a sentence, or `None`.
    pub fn not_http2(&mut self, deadline: Instant) -> Option<String> {
        while self.rbuf.len() < HEADER_LEN && !self.closed {
            let now = Instant::now();
            if now >= deadline {
                return Some(
                    "the server sent nothing in answer to the connection preface before the \
                     case's timeout"
                        .into(),
                );
            }
            self.read_some(deadline - now);
        }
        if self.rbuf.starts_with(b"HTTP/") {
            let line = self.rbuf[..]
                .split(|b: &u8| *b == b'\r' || *b == b'\n')
                .next()
                .unwrap_or_default();
            return Some(format!(
                "the server answered in HTTP/1.x (`{}`): it does not speak HTTP/2 here",
                String::from_utf8_lossy(line)
            ));
        }
        if self.rbuf.is_empty() {
            return Some(
                "the server closed the connection without answering the connection preface".into(),
            );
        }
        if self.rbuf.len() >= HEADER_LEN && self.rbuf[3] != 0x4 {
            return Some(format!(
                "the server's first frame is not SETTINGS (type 0x{:02x}, RFC 9113 §3.4)",
                self.rbuf[3]
            ));
        }
        None
    }
}

/// A TLS stream over `tcp` with its handshake complete and ALPN h2 agreed, from either
/// end; errors are sentences (`failed: why`, or `no_alpn`).
fn over_tls<C, S>(
    conn: C,
    tcp: TcpStream,
    timeout: Duration,
    failed: &str,
    no_alpn: &str,
) -> Result<rustls::StreamOwned<C, TcpStream>, String>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>>,
    S: rustls::SideData,
{
    let mut s = rustls::StreamOwned::new(conn, tcp);
    s.sock.set_read_timeout(Some(timeout)).ok();
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).map_err(|e| {
            match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(r) => format!("{failed}: {}", h2kit::tls::describe(r)),
                None => format!("{failed}: {e}"),
            }
        })?;
    }
    if s.conn.alpn_protocol() != Some(b"h2") {
        return Err(no_alpn.into());
    }
    Ok(s)
}

/// Waits shorter than this poll the socket every `POLL` (see `Wire::read`).
const SHORT_WAIT: Duration = Duration::from_millis(10);
const POLL: Duration = Duration::from_micros(50);

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
