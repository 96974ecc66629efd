//! Connection configuration and its defaults.

use std::time::Duration;

/// Local limits and windows. The defaults are chosen for high throughput with bounded memory:
///
/// - `initial_stream_window` 2 MiB: one stream can keep 2 MiB in flight, enough for 1 GB/s at
///   a 2 ms round trip and 160 Mbit/s at 100 ms; RFC 9113's 65,535 caps a single stream at
///   ~0.5 MB/s across an ocean. It is also the most one stream can make us buffer.
/// - `connection_window` 16 MiB: eight streams at full speed at once, and the bound on what a
///   peer can make us buffer on one connection whatever its number of streams.
/// - `max_concurrent_streams` 100: the value RFC 9113 §6.5.2 recommends as a minimum, and what
///   most servers use.
/// - `max_header_list_size` 64 KiB (decoded, RFC 9113 §6.5.2 accounting): larger than any
///   real request's headers, small enough that 100 streams' worth fits in memory.
/// - `max_header_block_bytes` 64 KiB: the compressed bytes of a header block buffered across
///   CONTINUATION frames before it is cut off (an endless CONTINUATION sequence).
#[derive(Clone, Debug)]
pub struct Config {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise (streams the peer may open).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise (each stream's receive window).
    pub initial_stream_window: u32,
    /// Our connection receive window.
    pub connection_window: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce.
    pub max_header_list_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we advertise (the peer's HPACK encoder table).
    pub header_table_size: u32,
    /// The compressed bytes of one header block we buffer at most.
    pub max_header_block_bytes: usize,
    /// How long we remember how a closed stream ended — END_STREAM both ways, RST_STREAM sent
    /// or RST_STREAM received — which decides what late frames on it mean (§5.1 "closed"):
    /// dropped after our reset, a stream error STREAM_CLOSED otherwise. A client does not
    /// remember its own streams that ended normally (any of its closed streams not remembered
    /// is taken as such).
    pub reset_retention: Duration,
    /// How many closed streams are remembered at most (the memory bound for the above; the
    /// oldest is forgotten first).
    pub max_reset_retained: usize,
    /// How long a stream whose incoming message the application discards
    /// ([`Connection::discard_incoming`](super::Connection::discard_incoming)) waits, once our
    /// side of it has ended, for the peer to end its side before we send RST_STREAM(NO_ERROR)
    /// (RFC 9113 §8.1). Until then the stream stays half-closed (local) and every rule is
    /// enforced on it; the peer can also send at most the stream window it has left, after
    /// which the reset comes at once.
    pub drain_timeout: Duration,
    /// A SETTINGS frame not acknowledged within this is a SETTINGS_TIMEOUT (§6.5.3).
    pub settings_timeout: Duration,
    /// Client: the peer's concurrency limit assumed until its SETTINGS arrive. RFC 9113's
    /// initial value is unlimited; assuming less avoids a burst of refused streams (the h2kit
    /// client assumes 1, so even a server limited to 1 never sees more). A preface without
    /// SETTINGS_MAX_CONCURRENT_STREAMS lifts the assumption: no limit.
    pub assumed_peer_max_streams: u32,
    /// Flood limits (rapid reset, empty frames, CONTINUATION); see [`super::FloodLimits`].
    pub flood: super::FloodLimits,
    /// Client: whether a response's header fields reach the application (default true).
    /// Off, a response carries its status and nothing else, for clients that read nothing
    /// else (a load generator): every field is still decoded, since the HPACK decoder must
    /// follow the peer's dynamic table (RFC 7541 §2.3.2), and still validated (RFC 9113 §8.2,
    /// content-length against the DATA received, §8.1.1). Trailers are unaffected. What it
    /// saves: a response's `HeaderMap` is a dozen cache lines to write and then to free, the
    /// largest part of a small response's memory.
    pub keep_response_headers: bool,
    /// Server: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3), which lets clients
    /// open extended CONNECT streams (`:protocol`, such as WebSockets). Off by default: a
    /// browser that sees it may prefer it for its WebSockets. Without it, a request with
    /// `:protocol` is malformed.
    pub enable_connect_protocol: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_concurrent_streams: 100,
            initial_stream_window: 2 << 20,
            connection_window: 16 << 20,
            max_frame_size: 16_384,
            max_header_list_size: 64 << 10,
            header_table_size: 4096,
            max_header_block_bytes: 64 << 10,
            reset_retention: Duration::from_secs(10),
            max_reset_retained: 1024,
            drain_timeout: Duration::from_secs(5),
            settings_timeout: Duration::from_secs(10),
            assumed_peer_max_streams: 100,
            flood: super::FloodLimits::default(),
            keep_response_headers: true,
            enable_connect_protocol: false,
        }
    }
}
