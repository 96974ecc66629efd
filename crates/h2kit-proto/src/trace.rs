//! The frame trace: every frame sent and received as a `tracing` event with target
//! `h2kit::frame` — what `nghttp -v` prints: flag names, error code names, SETTINGS names,
//! window increments, PING payloads, GOAWAY's last stream and debug data, and the decoded
//! header fields of HEADERS, CONTINUATION and PUSH_PROMISE (see [`HeaderTracer`]).
//!
//! The event's fields: `direction` (`send`/`recv`), `frame_type`, `flags` (the byte),
//! `flag_names` (`END_STREAM|END_HEADERS`), `stream_id`, `length`; and, by type,
//! `error_code`, `last_stream_id`, `debug_data`, `window_size_increment`, `opaque_data`
//! (hex), `settings` and `headers` (JSON arrays of `{"name", "value"}`), `promised_stream_id`,
//! `pad_length`, `dependency`, `weight`, `exclusive`. Values of `authorization`,
//! `proxy-authorization`, `cookie` and `set-cookie` are redacted unless
//! [`reveal_secrets`] was called.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use bytes::{Bytes, BytesMut};

use crate::frame::{Frame, FrameType};
use crate::hpack;

/// The `tracing` target of the frame log.
pub const TARGET: &str = "h2kit::frame";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Which way a frame went.
pub enum Direction {
    /// Written to the peer.
    Send,
    /// Read from the peer.
    Recv,
}

impl Direction {
    /// `send` or `recv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Send => "send",
            Direction::Recv => "recv",
        }
    }
}

static REVEAL: AtomicBool = AtomicBool::new(false);

/// Show the values of credential fields (`authorization`, `cookie`, …) in the trace instead
/// of redacting them (`--trace-secrets`). Process-wide.
pub fn reveal_secrets(yes: bool) {
    REVEAL.store(yes, Relaxed);
}

/// Fields whose values the trace redacts.
fn secret(name: &[u8]) -> bool {
    [
        &b"authorization"[..],
        b"proxy-authorization",
        b"cookie",
        b"set-cookie",
    ]
    .iter()
    .any(|s| name.eq_ignore_ascii_case(s))
}

/// The frame's type name ("DATA", ..., or "UNKNOWN").
pub fn type_name(f: &Frame) -> &'static str {
    f.frame_type().map_or("UNKNOWN", FrameType::name)
}

/// Flags byte and payload length as they are on the wire.
pub fn flags_and_len(f: &Frame) -> (u8, usize) {
    use crate::frame::flags::*;
    let b = |on: bool, bit: u8| if on { bit } else { 0 };
    let pad = |p: Option<u8>| p.map_or(0, |p| 1 + p as usize);
    match f {
        Frame::Data(d) => (
            b(d.end_stream, END_STREAM) | b(d.pad.is_some(), PADDED),
            d.data.len() + pad(d.pad),
        ),
        Frame::Headers(h) => (
            b(h.end_stream, END_STREAM)
                | b(h.end_headers, END_HEADERS)
                | b(h.pad.is_some(), PADDED)
                | b(h.priority.is_some(), PRIORITY),
            h.block.len() + pad(h.pad) + if h.priority.is_some() { 5 } else { 0 },
        ),
        Frame::Priority(_) => (0, 5),
        Frame::RstStream(_) => (0, 4),
        Frame::Settings(s) => (b(s.ack, ACK), s.iter().count() * 6),
        Frame::PushPromise(p) => (
            b(p.end_headers, END_HEADERS) | b(p.pad.is_some(), PADDED),
            p.block.len() + 4 + pad(p.pad),
        ),
        Frame::Ping(p) => (b(p.ack, ACK), 8),
        Frame::GoAway(g) => (0, 8 + g.debug_data.len()),
        Frame::WindowUpdate(_) => (0, 4),
        Frame::Continuation(c) => (b(c.end_headers, END_HEADERS), c.block.len()),
        Frame::Unknown(u) => (u.flags, u.payload.len()),
    }
}

/// The names of the flags set in `flags` for a frame of type `frame_type` (as
/// [`type_name`] gives it), `|`-separated; empty when none is set.
pub fn flag_names(frame_type: &str, flags: u8) -> String {
    use crate::frame::flags::*;
    let known: &[(u8, &str)] = match frame_type {
        "DATA" => &[(END_STREAM, "END_STREAM"), (PADDED, "PADDED")],
        "HEADERS" => &[
            (END_STREAM, "END_STREAM"),
            (END_HEADERS, "END_HEADERS"),
            (PADDED, "PADDED"),
            (PRIORITY, "PRIORITY"),
        ],
        "SETTINGS" | "PING" => &[(ACK, "ACK")],
        "PUSH_PROMISE" => &[(END_HEADERS, "END_HEADERS"), (PADDED, "PADDED")],
        "CONTINUATION" => &[(END_HEADERS, "END_HEADERS")],
        _ => &[],
    };
    let mut out = String::new();
    for (bit, name) in known {
        if flags & bit != 0 {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(name);
        }
    }
    out
}

/// Writes `s` as a JSON string literal.
fn json_str(out: &mut String, s: &[u8]) {
    out.push('"');
    for c in String::from_utf8_lossy(s).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decoded header fields, as the trace shows them: a JSON array of `{"name", "value"}`
/// (the qlog form), secrets redacted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields(pub Vec<(Bytes, Bytes)>);

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reveal = REVEAL.load(Relaxed);
        let mut out = String::from("[");
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            json_str(&mut out, name);
            out.push_str(",\"value\":");
            if !reveal && secret(name) {
                let redacted = format!("<redacted: {} bytes>", value.len());
                json_str(&mut out, redacted.as_bytes());
            } else {
                json_str(&mut out, value);
            }
            out.push('}');
        }
        out.push(']');
        f.write_str(&out)
    }
}

/// A SETTINGS frame's parameters as a JSON array of `{"name", "value"}`.
struct Settings<'a>(&'a crate::frame::Settings);

impl fmt::Display for Settings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{{\"name\":\"{}\",\"value\":{}}}", k.name(), v)?;
        }
        f.write_str("]")
    }
}

/// Bytes as lowercase hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The decoder state of one direction of a connection, as an observer keeps it.
struct BlockDecoder {
    decoder: hpack::Decoder,
    /// The fragments of a header block not yet ended.
    pending: Option<BytesMut>,
    /// A block could not be decoded: the state is lost for good, fields are no longer shown.
    lost: bool,
}

/// The largest header block an observer assembles (the engine's own limits are lower).
const MAX_BLOCK: usize = 1 << 20;

impl BlockDecoder {
    fn new() -> BlockDecoder {
        BlockDecoder {
            decoder: hpack::Decoder::for_observer(MAX_BLOCK),
            pending: None,
            lost: false,
        }
    }

    fn fragment(&mut self, block: &Bytes, first: bool, last: bool) -> Option<Fields> {
        if self.lost {
            return None;
        }
        let whole = match (first, last, self.pending.take()) {
            (true, true, _) => block.clone(),
            (true, false, _) => {
                self.pending = Some(BytesMut::from(&block[..]));
                return None;
            }
            (false, _, None) => return None,
            (false, last, Some(mut p)) => {
                if p.len() + block.len() > MAX_BLOCK {
                    self.lost = true;
                    return None;
                }
                p.extend_from_slice(block);
                if !last {
                    self.pending = Some(p);
                    return None;
                }
                p.freeze()
            }
        };
        let mut fields = Vec::new();
        let decoded = self.decoder.decode(&whole, |f| {
            fields.push((
                Bytes::copy_from_slice(f.name()),
                Bytes::copy_from_slice(f.value()),
            ))
        });
        match decoded {
            Ok(()) => Some(Fields(fields)),
            Err(_) => {
                self.lost = true;
                None
            }
        }
    }
}

/// Decodes the header blocks of one connection for the trace, as an observer: HPACK state is
/// per direction, so each side's blocks go through their own decoder. It must see every
/// header block of the connection from its start.
pub struct HeaderTracer {
    dirs: [BlockDecoder; 2],
    /// The spans of the requests whose frames are traced as their children (an endpoint's
    /// runtime sets them; see `Connection::set_stream_span`).
    pub spans: crate::stream::StreamIdMap<tracing::Span>,
    /// The span of the next stream this side opens.
    pub next_span: Option<tracing::Span>,
}

impl fmt::Debug for HeaderTracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderTracer").finish_non_exhaustive()
    }
}

impl Default for HeaderTracer {
    fn default() -> Self {
        HeaderTracer {
            dirs: [BlockDecoder::new(), BlockDecoder::new()],
            spans: Default::default(),
            next_span: None,
        }
    }
}

impl HeaderTracer {
    /// The fields of the header block `f` completes, if it completes one (HEADERS or
    /// PUSH_PROMISE with END_HEADERS, or the CONTINUATION that ends a block); `way` tells the
    /// two directions apart (0 and 1).
    pub fn fields(&mut self, way: usize, f: &Frame) -> Option<Fields> {
        let d = &mut self.dirs[way & 1];
        match f {
            Frame::Headers(h) => d.fragment(&h.block, true, h.end_headers),
            Frame::PushPromise(p) => d.fragment(&p.block, true, p.end_headers),
            Frame::Continuation(c) => d.fragment(&c.block, false, c.end_headers),
            _ => None,
        }
    }
}

/// Whether frame trace events are wanted: lets a hot path skip building a `Frame` it would
/// only make for the trace.
#[inline]
pub fn enabled() -> bool {
    tracing::enabled!(target: "h2kit::frame", tracing::Level::TRACE)
}

/// The type-specific fields of a frame event.
struct Extra<'a> {
    error_code: Option<u32>,
    last_stream_id: Option<u32>,
    debug_data: Option<String>,
    increment: Option<u32>,
    opaque_data: Option<Hex<'a>>,
    settings: Option<Settings<'a>>,
    promised: Option<u32>,
    pad_length: Option<u8>,
    dependency: Option<u32>,
    weight: Option<u32>,
    exclusive: Option<bool>,
    unknown_type: Option<u8>,
}

fn extra(f: &Frame) -> Extra<'_> {
    let mut x = Extra {
        error_code: None,
        last_stream_id: None,
        debug_data: None,
        increment: None,
        opaque_data: None,
        settings: None,
        promised: None,
        pad_length: None,
        dependency: None,
        weight: None,
        exclusive: None,
        unknown_type: None,
    };
    match f {
        Frame::Data(d) => x.pad_length = d.pad,
        Frame::Headers(h) => {
            x.pad_length = h.pad;
            if let Some(p) = &h.priority {
                x.dependency = Some(p.dependency.0);
                x.weight = Some(p.weight as u32 + 1);
                x.exclusive = Some(p.exclusive);
            }
        }
        Frame::Priority(p) => {
            x.dependency = Some(p.spec.dependency.0);
            x.weight = Some(p.spec.weight as u32 + 1);
            x.exclusive = Some(p.spec.exclusive);
        }
        Frame::RstStream(r) => x.error_code = Some(r.code.0),
        Frame::Settings(s) if !s.ack => x.settings = Some(Settings(s)),
        Frame::Settings(_) => {}
        Frame::PushPromise(p) => {
            x.promised = Some(p.promised_id.0);
            x.pad_length = p.pad;
        }
        Frame::Ping(p) => x.opaque_data = Some(Hex(&p.payload)),
        Frame::GoAway(g) => {
            x.last_stream_id = Some(g.last_stream_id.0);
            x.error_code = Some(g.code.0);
            x.debug_data = Some(String::from_utf8_lossy(&g.debug_data).into_owned());
        }
        Frame::WindowUpdate(w) => x.increment = Some(w.increment),
        Frame::Continuation(_) => {}
        Frame::Unknown(u) => x.unknown_type = Some(u.kind),
    }
    x
}

/// Emits the trace event for one frame; `fields`: the header block it completes, decoded.
/// Cheap when the target is disabled: `tracing` checks the callsite's interest before
/// evaluating any field.
#[inline]
pub fn frame(dir: Direction, f: &Frame, fields: Option<&Fields>) {
    if enabled() {
        emit(Some(dir.as_str()), None, f, fields, None);
    }
}

/// [`frame`] as a child of `parent` (the span of the request the frame belongs to), or of
/// no span at all (`None`: a connection's frame), rather than of whatever span is current.
pub fn frame_in(
    dir: Direction,
    f: &Frame,
    fields: Option<&Fields>,
    parent: Option<&tracing::Span>,
) {
    if enabled() {
        emit(Some(dir.as_str()), None, f, fields, Some(parent));
    }
}

/// [`frame`] for an observer of a connection that is neither of its endpoints (a proxy):
/// `conn` names the connection and `from` the side that sent the frame (`client` or
/// `server`).
pub fn observed(conn: u64, from: &'static str, f: &Frame, fields: Option<&Fields>) {
    if enabled() {
        emit(None, Some((conn, from)), f, fields, None);
    }
}

/// The one frame event: an endpoint's (`direction`) or an observer's (`conn`, `from`); the
/// absent fields are not recorded. `parent`: the span the event belongs to (`Some(None)`:
/// none), or `None` for the current span's.
fn emit(
    direction: Option<&str>,
    seen: Option<(u64, &str)>,
    f: &Frame,
    fields: Option<&Fields>,
    parent: Option<Option<&tracing::Span>>,
) {
    let (flags, length) = flags_and_len(f);
    let kind = type_name(f);
    let names = flag_names(kind, flags);
    let x = extra(f);
    macro_rules! event {
        ($($parent:tt)*) => {
            tracing::trace!(
                target: "h2kit::frame",
                $($parent)*
                conn = seen.map(|s| s.0),
                from = seen.map(|s| s.1),
                direction,
                frame_type = kind,
                flags,
                flag_names = (!names.is_empty()).then_some(names.as_str()),
                stream_id = f.stream_id().0,
                length,
                error_code = x.error_code.map(|c| tracing::field::display(crate::ErrorCode(c))),
                last_stream_id = x.last_stream_id,
                debug_data = x.debug_data.as_deref(),
                window_size_increment = x.increment,
                opaque_data = x.opaque_data.map(tracing::field::display),
                settings = x.settings.map(tracing::field::display),
                promised_stream_id = x.promised,
                pad_length = x.pad_length,
                dependency = x.dependency,
                weight = x.weight,
                exclusive = x.exclusive,
                unknown_type = x.unknown_type,
                headers = fields.map(tracing::field::display),
            )
        };
    }
    match parent {
        Some(Some(p)) => event!(parent: p,),
        Some(None) => event!(parent: None,),
        None => event!(),
    }
}
