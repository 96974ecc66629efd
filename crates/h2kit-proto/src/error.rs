//! Error codes (RFC 9113 §7) and protocol errors classified as connection or stream errors
//! (RFC 9113 §5.4).

use std::fmt;

use crate::frame::StreamId;

/// An HTTP/2 error code as carried in RST_STREAM and GOAWAY frames (RFC 9113 §7).
///
/// Unknown codes are preserved: §7 says they "MUST NOT trigger any special behavior", but they
/// are still worth reporting as received.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Graceful shutdown, or no error (§7).
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    /// The peer broke a rule of the protocol.
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    /// An unexpected internal error.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    /// The peer violated flow control.
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    /// Our SETTINGS were not acknowledged in time.
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    /// A frame arrived on a half-closed or closed stream.
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    /// A frame had an invalid size.
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    /// The stream was refused before any processing: safe to retry.
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    /// The stream is no longer needed.
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    /// The header compression context could not be maintained.
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    /// A CONNECT tunnel failed.
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    /// The peer is generating excessive load.
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    /// The transport does not meet the security requirements.
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    /// HTTP/1.1 is required instead.
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The name used in RFC 9113 §7, or `None` for a code it does not define.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
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
            _ => return None,
        })
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "UNKNOWN_ERROR(0x{:x})", self.0),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Whether an error ends the whole connection or a single stream (RFC 9113 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// §5.4.1: the endpoint sends GOAWAY with the code and closes the connection.
    Connection,
    /// §5.4.2: the endpoint sends RST_STREAM with the code on this stream; the connection lives.
    Stream(StreamId),
}

/// A protocol error detected in what the peer sent: its RFC error code, its scope, and a short
/// static explanation naming the rule (suitable for a GOAWAY debug payload or a log line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Whether it ends the connection or one stream.
    pub scope: Scope,
    /// The RFC 9113 code it is answered with.
    pub code: ErrorCode,
    /// Why, in words (the GOAWAY debug text, the logs).
    pub reason: &'static str,
}

impl Error {
    /// A connection error: GOAWAY with `code`.
    pub const fn connection(code: ErrorCode, reason: &'static str) -> Error {
        Error {
            scope: Scope::Connection,
            code,
            reason,
        }
    }

    /// A stream error: RST_STREAM with `code` on stream `id`.
    pub const fn stream(id: StreamId, code: ErrorCode, reason: &'static str) -> Error {
        Error {
            scope: Scope::Stream(id),
            code,
            reason,
        }
    }

    /// Whether it ends the whole connection.
    pub fn is_connection_error(&self) -> bool {
        self.scope == Scope::Connection
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Scope::Connection => write!(f, "connection error {}: {}", self.code, self.reason),
            Scope::Stream(id) => {
                write!(
                    f,
                    "stream error {} on stream {}: {}",
                    self.code, id.0, self.reason
                )
            }
        }
    }
}

impl std::error::Error for Error {}
