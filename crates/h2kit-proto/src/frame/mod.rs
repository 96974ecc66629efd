//! The HTTP/2 frame layer (RFC 9113 §4 and §6).
//!
//! [`FrameDecoder`] parses frames incrementally from a [`bytes::BytesMut`] read buffer: a frame
//! that has not fully arrived stays in the buffer, and payloads come out as [`Bytes`] slices of
//! the buffer's memory (no copy). Every rule RFC 9113 states about a single frame in isolation
//! (lengths, stream-id-zero rules, padding, setting values, zero increments) is checked here and
//! reported as an [`Error`](crate::Error) carrying the code and the §5.4 classification. Rules
//! that need connection or stream state (stream states, header-block interleaving, flow-control
//! windows) belong to the connection layer.
//!
//! [`Frame::encode`] writes a frame into a caller-provided `BytesMut` without allocating.

mod decode;
mod encode;
pub use encode::put_header;
mod settings;

use bytes::Bytes;

pub use decode::{parse_payload, FrameDecoder};
pub use settings::{Setting, Settings};

use crate::ErrorCode;

/// Length of the fixed frame header (§4.1).
pub const HEADER_LEN: usize = 9;
/// The initial and minimum value of SETTINGS_MAX_FRAME_SIZE (§6.5.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;
/// The largest SETTINGS_MAX_FRAME_SIZE a peer may advertise (§6.5.2).
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;
/// The largest flow-control window (§6.9.1) and the largest stream identifier (§5.1.1).
pub const MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;

/// A stream identifier (§5.1.1). The reserved high bit is always cleared on receipt (§4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u32);

impl StreamId {
    /// Stream 0 is the connection itself.
    pub const CONNECTION: StreamId = StreamId(0);
    /// The largest stream identifier (2^31-1).
    pub const MAX: StreamId = StreamId(MAX_WINDOW_SIZE);

    /// Stream 0: the connection itself.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Streams initiated by a client are odd-numbered (§5.1.1).
    pub fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }
}

impl From<u32> for StreamId {
    fn from(v: u32) -> Self {
        StreamId(v & MAX_WINDOW_SIZE)
    }
}

/// Frame type codes (§6 and §11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    /// DATA (§6.1).
    Data = 0x0,
    /// HEADERS (§6.2).
    Headers = 0x1,
    /// PRIORITY (§6.3; deprecated, parsed and ignored).
    Priority = 0x2,
    /// RST_STREAM (§6.4).
    RstStream = 0x3,
    /// SETTINGS (§6.5).
    Settings = 0x4,
    /// PUSH_PROMISE (§6.6).
    PushPromise = 0x5,
    /// PING (§6.7).
    Ping = 0x6,
    /// GOAWAY (§6.8).
    GoAway = 0x7,
    /// WINDOW_UPDATE (§6.9).
    WindowUpdate = 0x8,
    /// CONTINUATION (§6.10).
    Continuation = 0x9,
}

impl FrameType {
    /// The type with this code, if RFC 9113 defines it.
    pub fn from_u8(v: u8) -> Option<FrameType> {
        Some(match v {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            _ => return None,
        })
    }

    /// The name `nghttp -v` prints for the type.
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Data => "DATA",
            FrameType::Headers => "HEADERS",
            FrameType::Priority => "PRIORITY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::PushPromise => "PUSH_PROMISE",
            FrameType::Ping => "PING",
            FrameType::GoAway => "GOAWAY",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Continuation => "CONTINUATION",
        }
    }
}

/// Flag bits (§6). Undefined flags are ignored on receipt and never sent (§4.1).
pub mod flags {
    /// DATA, HEADERS: the last frame of the stream's message.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the end of the header block.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: padded.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: carries a priority block.
    pub const PRIORITY: u8 = 0x20;
}

/// The 9-octet frame header (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length.
    pub length: u32,
    /// Frame type code.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// The stream (0 for the connection).
    pub stream_id: StreamId,
}

impl FrameHeader {
    /// Reads a frame header from the first nine bytes of `b`. The reserved bit is dropped.
    pub fn parse(b: &[u8; HEADER_LEN]) -> FrameHeader {
        FrameHeader {
            length: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream_id: StreamId(u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & MAX_WINDOW_SIZE),
        }
    }
}

/// Stream dependency information of PRIORITY and prioritized HEADERS (§5.3.2, §6.3). RFC 9113
/// deprecates the scheme; the fields are still parsed so the frame can be validated and traced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrioritySpec {
    /// Exclusive dependency.
    pub exclusive: bool,
    /// The stream depended on.
    pub dependency: StreamId,
    /// The weight as sent on the wire (actual weight minus one).
    pub weight: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// A DATA frame (padding already removed).
pub struct Data {
    /// Its stream.
    pub stream_id: StreamId,
    /// The payload.
    pub data: Bytes,
    /// END_STREAM.
    pub end_stream: bool,
    /// `Some(n)`: the frame is PADDED with `n` bytes of padding (after the one-byte length).
    pub pad: Option<u8>,
}

impl Data {
    /// The length that counts against flow-control windows: the whole payload, padding and pad
    /// length included (§6.1, §6.9).
    pub fn flow_len(&self) -> u32 {
        self.data.len() as u32 + self.pad.map_or(0, |p| 1 + p as u32)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// A HEADERS frame: the start of a header block.
pub struct Headers {
    /// Its stream.
    pub stream_id: StreamId,
    /// The field block fragment (§4.3).
    pub block: Bytes,
    /// END_STREAM.
    pub end_stream: bool,
    /// END_HEADERS: the block is complete in this frame.
    pub end_headers: bool,
    /// The deprecated priority block, if present.
    pub priority: Option<PrioritySpec>,
    /// Padding length, if padded.
    pub pad: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// A PRIORITY frame (deprecated by RFC 9113; ignored).
pub struct Priority {
    /// Its stream.
    pub stream_id: StreamId,
    /// The priority it carries.
    pub spec: PrioritySpec,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// An RST_STREAM frame.
pub struct RstStream {
    /// The stream reset.
    pub stream_id: StreamId,
    /// Why.
    pub code: ErrorCode,
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// A PUSH_PROMISE frame (h2kit never enables push; receiving one is an error).
pub struct PushPromise {
    /// The stream it was sent on.
    pub stream_id: StreamId,
    /// The stream it promises.
    pub promised_id: StreamId,
    /// The header block fragment.
    pub block: Bytes,
    /// END_HEADERS.
    pub end_headers: bool,
    /// Padding length, if padded.
    pub pad: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// A PING frame.
pub struct Ping {
    /// An acknowledgement of the peer's PING.
    pub ack: bool,
    /// Opaque data, echoed by the acknowledgement.
    pub payload: [u8; 8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// A GOAWAY frame.
pub struct GoAway {
    /// The last stream the sender processed or may process.
    pub last_stream_id: StreamId,
    /// Why the connection ends.
    pub code: ErrorCode,
    /// Diagnostic text.
    pub debug_data: Bytes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// A WINDOW_UPDATE frame.
pub struct WindowUpdate {
    /// The stream (0: the connection window).
    pub stream_id: StreamId,
    /// Bytes added to the window.
    pub increment: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// A CONTINUATION frame.
pub struct Continuation {
    /// Its stream.
    pub stream_id: StreamId,
    /// The header block fragment.
    pub block: Bytes,
    /// END_HEADERS.
    pub end_headers: bool,
}

/// A frame of a type this implementation does not know. §5.5: such frames are discarded, but
/// the connection layer still needs to see them, because one arriving inside a header block is
/// a connection error (§6.10), and the frame trace reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// Its type code.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// Its stream.
    pub stream_id: StreamId,
    /// The payload.
    pub payload: Bytes,
}

/// One parsed frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// DATA.
    Data(Data),
    /// HEADERS.
    Headers(Headers),
    /// PRIORITY.
    Priority(Priority),
    /// RST_STREAM.
    RstStream(RstStream),
    /// SETTINGS.
    Settings(Settings),
    /// PUSH_PROMISE.
    PushPromise(PushPromise),
    /// PING.
    Ping(Ping),
    /// GOAWAY.
    GoAway(GoAway),
    /// WINDOW_UPDATE.
    WindowUpdate(WindowUpdate),
    /// CONTINUATION.
    Continuation(Continuation),
    /// A type RFC 9113 does not define (ignored, §5.5).
    Unknown(Unknown),
}

impl Frame {
    /// The stream the frame belongs to (0 for connection-level frames).
    pub fn stream_id(&self) -> StreamId {
        match self {
            Frame::Data(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::Priority(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::PushPromise(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Continuation(f) => f.stream_id,
            Frame::Unknown(f) => f.stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => StreamId::CONNECTION,
        }
    }

    /// The frame's type, or `None` for an unknown type.
    pub fn frame_type(&self) -> Option<FrameType> {
        Some(match self {
            Frame::Data(_) => FrameType::Data,
            Frame::Headers(_) => FrameType::Headers,
            Frame::Priority(_) => FrameType::Priority,
            Frame::RstStream(_) => FrameType::RstStream,
            Frame::Settings(_) => FrameType::Settings,
            Frame::PushPromise(_) => FrameType::PushPromise,
            Frame::Ping(_) => FrameType::Ping,
            Frame::GoAway(_) => FrameType::GoAway,
            Frame::WindowUpdate(_) => FrameType::WindowUpdate,
            Frame::Continuation(_) => FrameType::Continuation,
            Frame::Unknown(_) => return None,
        })
    }
}
