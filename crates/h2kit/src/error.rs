//! Errors surfaced by the runtime.

use std::fmt;

use h2kit_proto::ErrorCode;

/// Why a body or a stream ended abnormally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The peer reset the stream with this code.
    Reset(ErrorCode),
    /// We reset the stream because the peer broke a rule on it.
    Protocol(ErrorCode),
    /// The connection ended before the stream did.
    ConnectionClosed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Reset(c) => write!(f, "stream reset by peer ({c})"),
            Error::Protocol(c) => write!(f, "stream reset after a protocol error ({c})"),
            Error::ConnectionClosed => f.write_str("connection closed"),
        }
    }
}

impl std::error::Error for Error {}
