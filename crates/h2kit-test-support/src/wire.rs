//! HTTP/2 frames written and read by hand, for tests.
//!
//! A test peer that used h2kit's own codec would agree with h2kit's mistakes. Everything here
//! is written from RFC 9113 §4 and §6 (frame layout) and RFC 7541 §5.1, §6.2.2 (HPACK integers
//! and literals without indexing) and shares no code with `h2kit-proto`. Header blocks use no
//! dynamic table, so any block can be sent at any time, in any order, or not at all.
//!
//! The peer writes frames as bytes and reads what comes back as [`Frame`]s, whose `Display` is
//! the one-line form the conformance tests compare (`RST_STREAM(1, STREAM_CLOSED)`).

use std::fmt;
use std::io::{self, Read, Write};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types (RFC 9113 §6).
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags (RFC 9113 §6).
pub mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
}

/// Error codes (RFC 9113 §7).
pub mod code {
    pub const NO_ERROR: u32 = 0x0;
    pub const PROTOCOL_ERROR: u32 = 0x1;
    pub const FLOW_CONTROL_ERROR: u32 = 0x3;
    pub const STREAM_CLOSED: u32 = 0x5;
    pub const FRAME_SIZE_ERROR: u32 = 0x6;
    pub const REFUSED_STREAM: u32 = 0x7;
    pub const CANCEL: u32 = 0x8;
}

/// The name RFC 9113 §7 gives an error code.
pub fn code_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => return format!("0x{code:x}"),
    };
    name.to_string()
}

/// One frame: the 9-byte header of RFC 9113 §4.1, then the payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    assert!(len < 1 << 24, "a frame payload is at most 2^24-1 bytes");
    let mut b = Vec::with_capacity(9 + len);
    b.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    b.push(kind);
    b.push(flags);
    b.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    b.extend_from_slice(payload);
    b
}

pub fn data(stream: u32, payload: &[u8], end_stream: bool) -> Vec<u8> {
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    frame(kind::DATA, flags, stream, payload)
}

/// HEADERS with END_HEADERS, carrying `fields` encoded by [`block`].
pub fn headers(stream: u32, fields: &[(&str, &str)], end_stream: bool) -> Vec<u8> {
    headers_block(stream, &block(fields), end_stream, true)
}

/// A trailer section on `stream`: one regular field (`x-trailer: 1`), then `pseudo` if given
/// (a pseudo-header field, which makes the section malformed, RFC 9113 §8.1).
pub fn trailers(stream: u32, end_stream: bool, pseudo: Option<(&str, &str)>) -> Vec<u8> {
    let mut fields = vec![("x-trailer", "1")];
    fields.extend(pseudo);
    headers(stream, &fields, end_stream)
}

pub fn headers_block(stream: u32, block: &[u8], end_stream: bool, end_headers: bool) -> Vec<u8> {
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if end_headers {
        flags |= flag::END_HEADERS;
    }
    frame(kind::HEADERS, flags, stream, block)
}

pub fn continuation(stream: u32, block: &[u8], end_headers: bool) -> Vec<u8> {
    let flags = if end_headers { flag::END_HEADERS } else { 0 };
    frame(kind::CONTINUATION, flags, stream, block)
}

/// PRIORITY (RFC 9113 §6.3): no dependency, weight 16.
pub fn priority(stream: u32) -> Vec<u8> {
    frame(kind::PRIORITY, 0, stream, &[0, 0, 0, 0, 15])
}

pub fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
    frame(kind::RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// SETTINGS with `(identifier, value)` pairs (RFC 9113 §6.5.1).
pub fn settings(values: &[(u16, u32)]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (id, value) in values {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    frame(kind::SETTINGS, 0, 0, &payload)
}

pub fn settings_ack() -> Vec<u8> {
    frame(kind::SETTINGS, flag::ACK, 0, &[])
}

pub fn ping(payload: [u8; 8], ack: bool) -> Vec<u8> {
    frame(kind::PING, if ack { flag::ACK } else { 0 }, 0, &payload)
}

pub fn goaway(last_stream: u32, code: u32) -> Vec<u8> {
    let mut payload = (last_stream & 0x7fff_ffff).to_be_bytes().to_vec();
    payload.extend_from_slice(&code.to_be_bytes());
    frame(kind::GOAWAY, 0, 0, &payload)
}

pub fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    frame(kind::WINDOW_UPDATE, 0, stream, &increment.to_be_bytes())
}

/// A header block of literal fields without indexing, each with a new name (RFC 7541 §6.2.2),
/// Huffman coding off: valid whatever the decoder's dynamic table holds, and changing nothing
/// in it.
pub fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in fields {
        b.push(0x00);
        string(&mut b, name.as_bytes());
        string(&mut b, value.as_bytes());
    }
    b
}

/// A string literal (RFC 7541 §5.2) without Huffman coding.
fn string(b: &mut Vec<u8>, s: &[u8]) {
    integer(b, 7, 0x00, s.len());
    b.extend_from_slice(s);
}

/// An integer with an N-bit prefix (RFC 7541 §5.1); `high` holds the bits above the prefix.
fn integer(b: &mut Vec<u8>, prefix: u32, high: u8, n: usize) {
    let max = (1usize << prefix) - 1;
    if n < max {
        b.push(high | n as u8);
        return;
    }
    b.push(high | max as u8);
    let mut rest = n - max;
    while rest >= 128 {
        b.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    b.push(rest as u8);
}

/// A frame as read from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn end_stream(&self) -> bool {
        matches!(self.kind, kind::DATA | kind::HEADERS) && self.flags & flag::END_STREAM != 0
    }

    pub fn is_ack(&self) -> bool {
        matches!(self.kind, kind::SETTINGS | kind::PING) && self.flags & flag::ACK != 0
    }

    /// The error code of RST_STREAM or GOAWAY.
    pub fn error_code(&self) -> Option<u32> {
        let at = match self.kind {
            kind::RST_STREAM => 0,
            kind::GOAWAY => 4,
            _ => return None,
        };
        let bytes = self.payload.get(at..at + 4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }

    /// GOAWAY's last stream identifier.
    pub fn last_stream(&self) -> Option<u32> {
        if self.kind != kind::GOAWAY {
            return None;
        }
        let bytes = self.payload.get(..4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?) & 0x7fff_ffff)
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = if self.end_stream() {
            ", END_STREAM"
        } else {
            ""
        };
        let code = || code_name(self.error_code().unwrap_or(u32::MAX));
        match self.kind {
            kind::DATA => write!(f, "DATA({}{end})", self.stream),
            kind::HEADERS => write!(f, "HEADERS({}{end})", self.stream),
            kind::PRIORITY => write!(f, "PRIORITY({})", self.stream),
            kind::RST_STREAM => write!(f, "RST_STREAM({}, {})", self.stream, code()),
            kind::SETTINGS if self.is_ack() => f.write_str("SETTINGS(ACK)"),
            kind::SETTINGS => f.write_str("SETTINGS"),
            kind::PUSH_PROMISE => write!(f, "PUSH_PROMISE({})", self.stream),
            kind::PING if self.is_ack() => f.write_str("PING(ACK)"),
            kind::PING => f.write_str("PING"),
            kind::GOAWAY => write!(
                f,
                "GOAWAY(last={}, {})",
                self.last_stream().unwrap_or(0),
                code()
            ),
            kind::WINDOW_UPDATE => write!(f, "WINDOW_UPDATE({})", self.stream),
            kind::CONTINUATION => write!(f, "CONTINUATION({})", self.stream),
            k => write!(f, "UNKNOWN_0x{k:x}({})", self.stream),
        }
    }
}

/// Reads one frame; `None` at a clean end of the stream (between frames).
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 9];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0; len];
    r.read_exact(&mut payload)?;
    Ok(Some(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    }))
}

/// One side of a connection spoken in raw frames. It acknowledges the peer's SETTINGS and
/// answers its PINGs itself (as any peer must), and hands back every other frame.
pub struct Conn<S> {
    pub io: S,
}

impl<S: Read + Write> Conn<S> {
    /// The client side: the preface and an empty SETTINGS are written at once.
    pub fn client(mut io: S) -> io::Result<Self> {
        let mut hello = PREFACE.to_vec();
        hello.extend(settings(&[]));
        io.write_all(&hello)?;
        io.flush()?;
        Ok(Conn { io })
    }

    /// The server side: reads the client's preface, then writes `settings`.
    pub fn server(mut io: S, settings_values: &[(u16, u32)]) -> io::Result<Self> {
        let mut preface = [0u8; 24];
        io.read_exact(&mut preface)?;
        if preface != PREFACE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an HTTP/2 connection preface",
            ));
        }
        io.write_all(&settings(settings_values))?;
        io.flush()?;
        Ok(Conn { io })
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.io.write_all(bytes)?;
        self.io.flush()
    }

    /// The next frame that is not the peer's SETTINGS or PING (those are answered here);
    /// `None` once the peer has closed the connection. A read timeout set on the transport
    /// comes back as an error.
    pub fn recv(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let Some(f) = read_frame(&mut self.io)? else {
                return Ok(None);
            };
            match f.kind {
                kind::SETTINGS if !f.is_ack() => self.send(&settings_ack())?,
                kind::PING if !f.is_ack() => {
                    let mut payload = [0u8; 8];
                    payload.copy_from_slice(f.payload.get(..8).unwrap_or(&[0; 8]));
                    self.send(&ping(payload, true))?;
                }
                _ => return Ok(Some(f)),
            }
        }
    }
}

/// One exchange of a conformance run: its label, the frames expected, the frames seen.
pub type Exchange = (String, Vec<String>, Vec<String>);

/// Fails, listing every exchange of `run` that did not see what it expected.
pub fn assert_expected(run: &[Exchange]) {
    let failures: Vec<String> = run
        .iter()
        .filter(|(_, want, got)| want != got)
        .map(|(label, want, got)| format!("{label}\n    want {want:?}\n    got  {got:?}"))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Runs `run` `times` times; fails on any exchange that saw something else in a later run than
/// in the first (the answers must not depend on timing), then as [`assert_expected`].
pub fn assert_same_in_every_run(times: usize, mut run: impl FnMut() -> Vec<Exchange>) {
    let first = run();
    let mut differences = Vec::new();
    for n in 2..=times {
        for ((label, _, a), (_, _, b)) in first.iter().zip(run()) {
            if *a != b {
                differences.push(format!(
                    "run {n}, {label}:\n    run 1 {a:?}\n    now   {b:?}"
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "answers differ between runs:\n{}",
        differences.join("\n")
    );
    assert_expected(&first);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7541 Appendix C.2.2 ("literal field without indexing": `:path: /sample/path`) and
    /// C.1.2 (the integer 1337 with a 5-bit prefix), byte for byte.
    #[test]
    fn encodings_match_rfc_7541_examples() {
        let mut b = Vec::new();
        integer(&mut b, 5, 0, 1337);
        assert_eq!(b, [0x1f, 0x9a, 0x0a]);
        // C.2.2 indexes the name (:path is static entry 4); ours spells it out.
        let ours = block(&[(":path", "/sample/path")]);
        let mut want = vec![0x00, 0x05];
        want.extend_from_slice(b":path");
        want.push(0x0c);
        want.extend_from_slice(b"/sample/path");
        assert_eq!(ours, want);
    }

    #[test]
    fn frames_read_back_as_written() {
        let mut bytes = rst_stream(3, code::STREAM_CLOSED);
        bytes.extend(goaway(7, code::FRAME_SIZE_ERROR));
        bytes.extend(data(1, b"abc", true));
        let mut r = &bytes[..];
        let got: Vec<String> = std::iter::from_fn(|| read_frame(&mut r).unwrap())
            .map(|f| f.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "RST_STREAM(3, STREAM_CLOSED)",
                "GOAWAY(last=7, FRAME_SIZE_ERROR)",
                "DATA(1, END_STREAM)"
            ]
        );
    }
}
