//! What the engine tells its driver.

use std::time::Duration;

use bytes::Bytes;

use crate::frame::{Settings, StreamId};
use crate::message::Head;
use crate::ErrorCode;

#[derive(Debug)]
pub enum Event {
    /// A header section: a request (server), a response (client; 1xx ones first), or trailers.
    Headers {
        stream: StreamId,
        head: Head,
        end_stream: bool,
    },
    /// Body bytes. Call [`Connection::release_capacity`](crate::Connection::release_capacity)
    /// with `data.len()` once the application has consumed them, to reopen the window.
    Data {
        stream: StreamId,
        data: Bytes,
        end_stream: bool,
    },
    /// The stream ended abnormally: `remote` when the peer sent RST_STREAM, otherwise we reset
    /// it because the peer broke a rule on it (the code says which).
    Reset {
        stream: StreamId,
        code: ErrorCode,
        remote: bool,
    },
    /// A stream we opened that the peer will not process: it was above the last_stream_id of
    /// a GOAWAY (§6.8). Safe to retry on another connection whatever the method.
    Unprocessed { stream: StreamId },
    /// The peer sent GOAWAY.
    GoAway {
        last_stream_id: StreamId,
        code: ErrorCode,
        debug_data: Bytes,
    },
    /// A PING we sent was acknowledged.
    PingAck { payload: u64, rtt: Duration },
    /// The peer's SETTINGS were applied (and acknowledged).
    RemoteSettings(Settings),
    /// The peer acknowledged our SETTINGS; they are now in force.
    LocalSettingsAcked,
    /// A stream that could not send all its data may send more.
    SendCapacity { stream: StreamId },
    /// Client: a stream slot freed (or the peer raised its limit) after an open was refused
    /// for lack of one.
    StreamsAvailable,
}
