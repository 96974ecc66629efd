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
    /// The connection was reset (TCP RST, or a broken pipe) before the stream ended.
    ConnectionReset,
    /// The stream was above the last_stream_id of the peer's GOAWAY: it was not processed and
    /// may be retried on another connection, whatever its method.
    Unprocessed,
    /// The request could not be sent as given (malformed, too large for the peer).
    Request(String),
    /// No DATA arrived within the body-idle timeout.
    BodyIdle(std::time::Duration),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Reset(c) => write!(f, "stream reset by peer ({c})"),
            Error::Protocol(c) => write!(f, "stream reset after a protocol error ({c})"),
            Error::ConnectionClosed => f.write_str("connection closed"),
            Error::ConnectionReset => f.write_str("connection reset (TCP RST)"),
            Error::Request(why) => write!(f, "request rejected: {why}"),
            Error::BodyIdle(d) => {
                write!(f, "response body idle timed out after {}ms", d.as_millis())
            }
            Error::Unprocessed => {
                f.write_str("not processed by the peer (above its GOAWAY's last stream)")
            }
        }
    }
}

impl std::error::Error for Error {}
