//! The frame trace: every frame sent and received as a `tracing` event with target
//! `h2kit::frame` — the information `nghttp -v` prints.

use std::fmt;

use crate::frame::{Frame, FrameType};

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

/// The frame's type name ("DATA", ..., or "UNKNOWN(0xNN)" rendered by the caller).
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

/// The type-specific details: settings, error codes, increments, PING payloads.
pub struct Details<'a>(pub &'a Frame);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Frame::Settings(s) => {
                f.write_str("[")?;
                for (i, (k, v)) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}={}", k.name(), v)?;
                }
                f.write_str("]")
            }
            Frame::RstStream(r) => write!(f, "error_code={}", r.code),
            Frame::GoAway(g) => write!(
                f,
                "last_stream_id={} error_code={} debug={:?}",
                g.last_stream_id.0,
                g.code,
                String::from_utf8_lossy(&g.debug_data)
            ),
            Frame::WindowUpdate(w) => write!(f, "window_size_increment={}", w.increment),
            Frame::Ping(p) => write!(f, "opaque_data={:02x?}", p.payload),
            Frame::PushPromise(p) => write!(f, "promised_stream_id={}", p.promised_id.0),
            Frame::Priority(p) => write!(
                f,
                "dep_stream_id={} weight={} exclusive={}",
                p.spec.dependency.0,
                p.spec.weight as u32 + 1,
                p.spec.exclusive
            ),
            Frame::Unknown(u) => write!(f, "type=0x{:02x}", u.kind),
            _ => Ok(()),
        }
    }
}

/// Whether frame trace events are wanted: lets a hot path skip building a `Frame` it would
/// only make for the trace.
#[inline]
pub fn enabled() -> bool {
    tracing::enabled!(target: "h2kit::frame", tracing::Level::TRACE)
}

/// Emits the trace event for one frame. Cheap when the target is disabled: `tracing` checks
/// the callsite's interest before evaluating any field.
#[inline]
pub fn frame(dir: Direction, f: &Frame) {
    tracing::trace!(
        target: "h2kit::frame",
        direction = dir.as_str(),
        frame_type = type_name(f),
        flags = flags_and_len(f).0,
        stream_id = f.stream_id().0,
        length = flags_and_len(f).1,
        details = tracing::field::display(Details(f)),
    );
}
