//! What the engine tells its driver.

use std::time::Duration;

use bytes::Bytes;

use crate::frame::{Settings, StreamId};
use crate::message::Head;
use crate::ErrorCode;

/// What a [`Connection`](crate::Connection) hands its application
/// ([`poll_event`](crate::Connection::poll_event)).
#[derive(Debug)]
pub enum Event {
    /// A header section: a request (server), a response (client; 1xx ones first), or trailers.
    Headers {
        /// Its stream.
        stream: StreamId,
        /// What it is.
        head: Head,
        /// It ends the peer's message.
        end_stream: bool,
    },
    /// Body bytes. Call [`Connection::release_capacity`](crate::Connection::release_capacity)
    /// with `data.len()` once the application has consumed them, to reopen the window.
    Data {
        /// Its stream.
        stream: StreamId,
        /// The bytes (padding removed).
        data: Bytes,
        /// It ends the peer's message.
        end_stream: bool,
    },
    /// The stream ended abnormally: `remote` when the peer sent RST_STREAM, otherwise we reset
    /// it because the peer broke a rule on it (the code says which).
    Reset {
        /// The stream.
        stream: StreamId,
        /// The RST_STREAM code.
        code: ErrorCode,
        /// The peer reset it (otherwise we did).
        remote: bool,
    },
    /// A stream we opened that the peer will not process: it was above the last_stream_id of
    /// a GOAWAY (§6.8). Safe to retry on another connection whatever the method.
    Unprocessed {
        /// The stream.
        stream: StreamId,
    },
    /// The peer sent GOAWAY.
    GoAway {
        /// The last stream the peer processed or may still process.
        last_stream_id: StreamId,
        /// Why the peer ends the connection.
        code: ErrorCode,
        /// The peer's diagnostic text.
        debug_data: Bytes,
    },
    /// A PING we sent was acknowledged.
    PingAck {
        /// The PING's payload.
        payload: u64,
        /// The round trip: from sending the PING to its acknowledgement.
        rtt: Duration,
    },
    /// The peer's SETTINGS were applied (and acknowledged).
    RemoteSettings(Settings),
    /// The peer acknowledged our SETTINGS; they are now in force.
    LocalSettingsAcked,
    /// A stream that could not send all its data may send more.
    SendCapacity {
        /// The stream.
        stream: StreamId,
    },
    /// Client: a stream slot freed (or the peer raised its limit) after an open was refused
    /// for lack of one.
    StreamsAvailable,
}
