//! Metric names, label names and label values: the OpenTelemetry HTTP conventions' as their
//! Prometheus translation spells them, and h2kit's own beside them.

use h2kit_proto::ErrorCode;

/// Every metric name h2kit records.
pub mod names {
    /// `http.server.request.duration` (histogram, seconds).
    pub const SERVER_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
    /// `http.server.active_requests` (gauge).
    pub const SERVER_ACTIVE_REQUESTS: &str = "http_server_active_requests";
    /// `http.client.request.duration` (histogram, seconds).
    pub const CLIENT_REQUEST_DURATION: &str = "http_client_request_duration_seconds";
    /// `http.client.active_requests` (gauge).
    pub const CLIENT_ACTIVE_REQUESTS: &str = "http_client_active_requests";
    /// `http.client.open_connections` (gauge, by `http_connection_state`).
    pub const CLIENT_OPEN_CONNECTIONS: &str = "http_client_open_connections";
    /// `http.client.connection.duration` (histogram, seconds).
    pub const CLIENT_CONNECTION_DURATION: &str = "http_client_connection_duration_seconds";

    /// Frames by `side`, `direction` and `type`.
    pub const FRAMES: &str = "h2kit_frames_total";
    /// RST_STREAM by `side`, `direction` and `error_code`.
    pub const RST_STREAM: &str = "h2kit_rst_stream_total";
    /// GOAWAY by `side`, `direction` and `error_code`.
    pub const GOAWAY: &str = "h2kit_goaway_total";
    /// Connections ended for a flood, by `side` and `kind`.
    pub const FLOODS: &str = "h2kit_floods_total";
    /// PING round-trip times (histogram, seconds), by `side`.
    pub const PING_RTT: &str = "h2kit_ping_rtt_seconds";
    /// PINGs sent, by `side`.
    pub const PINGS_SENT: &str = "h2kit_pings_sent_total";
    /// How long streams with data to send waited on a zero flow-control window (histogram,
    /// seconds, one observation per wait), by `side`: its sum is the time spent blocked.
    pub const FLOW_CONTROL_BLOCKED: &str = "h2kit_flow_control_blocked_seconds";
    /// Streams opened, by `side`.
    pub const STREAMS: &str = "h2kit_streams_total";
    /// Streams refused with REFUSED_STREAM, by `side`.
    pub const STREAMS_REFUSED: &str = "h2kit_streams_refused_total";
    /// Extended CONNECT streams (RFC 8441, such as WebSockets), by `side`.
    pub const EXTENDED_CONNECT: &str = "h2kit_extended_connect_streams_total";
    /// Resets not sent because the stream had already ended (a late cancel), by `side`.
    pub const RESETS_SUPPRESSED: &str = "h2kit_resets_suppressed_total";

    /// Server connections accepted.
    pub const SERVER_CONNECTIONS_ACCEPTED: &str = "h2kit_server_connections_accepted_total";
    /// Server connections that ended.
    pub const SERVER_CONNECTIONS_CLOSED: &str = "h2kit_server_connections_closed_total";
    /// Server connections open now (gauge).
    pub const SERVER_CONNECTIONS_OPEN: &str = "h2kit_server_connections_open";
    /// Connections closed at once because `max_connections` was reached.
    pub const SERVER_CONNECTIONS_REJECTED: &str = "h2kit_server_connections_rejected_total";
    /// Connections answered in HTTP/1.1 that the server speaks HTTP/2 only.
    pub const SERVER_HTTP1_REJECTED: &str = "h2kit_server_http1_rejected_total";
    /// TLS handshakes that failed or timed out.
    pub const SERVER_HANDSHAKES_FAILED: &str = "h2kit_server_handshakes_failed_total";

    /// Requests given to a client.
    pub const CLIENT_REQUESTS: &str = "h2kit_client_requests_total";
    /// Requests that failed after their last attempt.
    pub const CLIENT_FAILURES: &str = "h2kit_client_failures_total";
    /// Failed requests by the `phase` whose deadline expired.
    pub const CLIENT_TIMEOUTS: &str = "h2kit_client_timeouts_total";
    /// Attempts sent again, by `cause`.
    pub const CLIENT_RETRIES: &str = "h2kit_client_retries_total";
    /// Client connections opened.
    pub const CLIENT_CONNECTIONS_OPENED: &str = "h2kit_client_connections_opened_total";
}

#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Name, kind, unit ("s" or a count) and description of every metric.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) const DESCRIPTIONS: &[(&str, Kind, &str, &str)] = {
    use names::*;
    use Kind::*;
    &[
        (SERVER_REQUEST_DURATION, Histogram, "s", "Duration of HTTP server requests."),
        (SERVER_ACTIVE_REQUESTS, Gauge, "", "Number of active HTTP server requests."),
        (CLIENT_REQUEST_DURATION, Histogram, "s", "Duration of HTTP client requests."),
        (CLIENT_ACTIVE_REQUESTS, Gauge, "", "Number of active HTTP requests."),
        (CLIENT_OPEN_CONNECTIONS, Gauge, "", "Number of outbound HTTP connections that are currently active or idle on the client."),
        (CLIENT_CONNECTION_DURATION, Histogram, "s", "The duration of the successfully established outbound HTTP connections."),
        (FRAMES, Counter, "", "HTTP/2 frames by direction and type."),
        (RST_STREAM, Counter, "", "RST_STREAM frames by direction and error code."),
        (GOAWAY, Counter, "", "GOAWAY frames by direction and error code."),
        (FLOODS, Counter, "", "Connections ended with GOAWAY(ENHANCE_YOUR_CALM) for a flood, by kind."),
        (PING_RTT, Histogram, "s", "Round-trip times of acknowledged PINGs."),
        (PINGS_SENT, Counter, "", "PING frames sent (not counting acknowledgements)."),
        (FLOW_CONTROL_BLOCKED, Histogram, "s", "Waits of streams with data to send on a zero flow-control window (stream or connection); the sum is the time spent blocked."),
        (STREAMS, Counter, "", "Streams opened."),
        (STREAMS_REFUSED, Counter, "", "Streams refused with REFUSED_STREAM (beyond the concurrency limit, or after GOAWAY)."),
        (EXTENDED_CONNECT, Counter, "", "Extended CONNECT streams (RFC 8441, such as WebSockets): opened by a client, accepted by a server."),
        (RESETS_SUPPRESSED, Counter, "", "Resets not sent because the stream had already ended (a late cancel)."),
        (SERVER_CONNECTIONS_ACCEPTED, Counter, "", "Server connections accepted."),
        (SERVER_CONNECTIONS_CLOSED, Counter, "", "Server connections that ended."),
        (SERVER_CONNECTIONS_OPEN, Gauge, "", "Server connections open now."),
        (SERVER_CONNECTIONS_REJECTED, Counter, "", "Connections closed at once because max_connections was reached."),
        (SERVER_HTTP1_REJECTED, Counter, "", "Connections answered in HTTP/1.1 that the server speaks HTTP/2 only."),
        (SERVER_HANDSHAKES_FAILED, Counter, "", "TLS handshakes that failed or timed out."),
        (CLIENT_REQUESTS, Counter, "", "Requests given to the client."),
        (CLIENT_FAILURES, Counter, "", "Requests that failed after their last attempt."),
        (CLIENT_TIMEOUTS, Counter, "", "Failed requests by the phase whose deadline expired."),
        (CLIENT_RETRIES, Counter, "", "Attempts sent again, by cause."),
        (CLIENT_CONNECTIONS_OPENED, Counter, "", "Client connections opened."),
    ]
};

/// The methods the conventions name; any other is `_OTHER` (so that a client cannot
/// create series at will).
const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "_OTHER",
];

/// A request method as a small index into the conventions' list.
pub(crate) fn method_index(m: &http::Method) -> u8 {
    use http::Method as M;
    match *m {
        M::GET => 0,
        M::POST => 1,
        M::PUT => 2,
        M::DELETE => 3,
        M::HEAD => 4,
        M::OPTIONS => 5,
        M::PATCH => 6,
        M::CONNECT => 7,
        M::TRACE => 8,
        _ => 9,
    }
}

/// The `http_request_method` label of a method index.
pub(crate) fn method_label(i: u8) -> &'static str {
    METHODS[usize::from(i).min(METHODS.len() - 1)]
}

/// Why a request did not complete: the value of its `error_type` label. Low-cardinality by
/// construction: an HTTP/2 error code's name, a timeout's phase, or what ended the
/// connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The stream was reset (by either side) with this code.
    Reset(ErrorCode),
    /// A client's deadline expired (its phase).
    Timeout(crate::error::Phase),
    /// A server stream's data could not move for `send_stall_timeout`.
    SendStall,
    /// The connection ended (orderly) before the request did.
    ConnectionClosed,
    /// The connection was reset (TCP RST, broken pipe) before the request ended.
    ConnectionReset,
    /// The server did not process the request (above its GOAWAY's last stream).
    Unprocessed,
    /// The TCP connection could not be opened.
    Connect,
    /// TLS failed.
    Tls,
    /// The peer does not speak HTTP/2.
    NotHttp2,
    /// The request could not be sent as given.
    InvalidRequest,
}

impl Failure {
    /// The `error_type` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Failure::Reset(code) => code.name().unwrap_or("_OTHER"),
            Failure::Timeout(p) => PHASES[phase_index(p)].2,
            Failure::SendStall => "timeout.send_stall",
            Failure::ConnectionClosed => "connection_closed",
            Failure::ConnectionReset => "connection_reset",
            Failure::Unprocessed => "unprocessed",
            Failure::Connect => "connect",
            Failure::Tls => "tls",
            Failure::NotHttp2 => "not_http2",
            Failure::InvalidRequest => "invalid_request",
        }
    }

    /// A number for the failure, distinct for each label (0 is no failure).
    pub(crate) fn code(self) -> u32 {
        match self {
            Failure::Reset(c) => 1 + c.0.min(0xff),
            Failure::Timeout(p) => 0x200 + phase_index(p) as u32,
            Failure::SendStall => 0x2ff,
            Failure::ConnectionClosed => 0x301,
            Failure::ConnectionReset => 0x302,
            Failure::Unprocessed => 0x303,
            Failure::Connect => 0x304,
            Failure::Tls => 0x305,
            Failure::NotHttp2 => 0x306,
            Failure::InvalidRequest => 0x307,
        }
    }

    /// The failure a client error stands for.
    pub(crate) fn of_error(kind: crate::error::ErrorKind) -> Failure {
        use crate::error::ErrorKind as K;
        match kind {
            K::Timeout(p) => Failure::Timeout(p),
            K::Connect => Failure::Connect,
            K::Tls => Failure::Tls,
            K::Refused => Failure::Reset(ErrorCode::REFUSED_STREAM),
            K::Unprocessed => Failure::Unprocessed,
            K::Reset(c) | K::Protocol(c) => Failure::Reset(c),
            K::ConnectionLost { reset: true, .. } => Failure::ConnectionReset,
            K::ConnectionLost { .. } => Failure::ConnectionClosed,
            K::InvalidRequest => Failure::InvalidRequest,
            K::NotHttp2 => Failure::NotHttp2,
            // Made from a response after its attempt was recorded (by its status), never an
            // attempt's own error.
            K::TunnelRefused(_) => Failure::InvalidRequest,
        }
    }

    /// The failure a stream's end stands for, seen from its connection task.
    pub(crate) fn of_stream(e: &crate::error::StreamError) -> Failure {
        use crate::error::StreamError as E;
        match e {
            E::Reset(c) | E::Protocol(c) => Failure::Reset(*c),
            E::ConnectionClosed => Failure::ConnectionClosed,
            E::ConnectionReset => Failure::ConnectionReset,
            E::Unprocessed => Failure::Unprocessed,
            E::Request(_) => Failure::InvalidRequest,
            E::BodyIdle(_) => Failure::Timeout(crate::error::Phase::BodyIdle),
            E::NotHttp2(_) => Failure::NotHttp2,
        }
    }
}

/// The client's phases in order, with the `phase` label of `h2kit_client_timeouts_total` and
/// the `error_type` of a request whose deadline for that phase expired.
pub(crate) const PHASES: [(crate::error::Phase, &str, &str); 7] = {
    use crate::error::Phase as P;
    [
        (P::Queue, "queue", "timeout.queue"),
        (P::Connect, "connect", "timeout.connect"),
        (P::Tls, "tls", "timeout.tls"),
        (P::Write, "write", "timeout.write"),
        (
            P::ResponseHeaders,
            "response_headers",
            "timeout.response_headers",
        ),
        (P::BodyIdle, "body_idle", "timeout.body_idle"),
        (P::Total, "total", "timeout.total"),
    ]
};

/// A phase's index in [`PHASES`].
pub(crate) fn phase_index(p: crate::error::Phase) -> usize {
    PHASES
        .iter()
        .position(|q| q.0 == p)
        .unwrap_or(PHASES.len() - 1)
}

/// The `error_type` of a finished request: its failure, or an error status as the
/// conventions define one (5xx on a server, 4xx and 5xx on a client).
pub(crate) fn error_type(
    failure: Option<Failure>,
    status: u16,
    server: bool,
) -> Option<std::borrow::Cow<'static, str>> {
    let first_error = if server { 500 } else { 400 };
    match failure {
        Some(f) => Some(f.label().into()),
        None if status >= first_error => Some(status.to_string().into()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_conventions_list_are_other() {
        let ext = http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(method_index(&ext)), "_OTHER");
        assert_eq!(method_label(method_index(&http::Method::PATCH)), "PATCH");
    }

    #[test]
    fn error_type_names_the_code_the_phase_or_the_5xx_status() {
        let et = |f, status, server| error_type(f, status, server).map(|e| e.into_owned());
        assert_eq!(
            et(Some(Failure::Reset(ErrorCode::CANCEL)), 0, true).as_deref(),
            Some("CANCEL")
        );
        assert_eq!(
            et(Some(Failure::Reset(ErrorCode(0x77))), 0, false).as_deref(),
            Some("_OTHER")
        );
        let timeout = crate::error::ErrorKind::Timeout(crate::error::Phase::ResponseHeaders);
        assert_eq!(
            et(Some(Failure::of_error(timeout)), 0, false).as_deref(),
            Some("timeout.response_headers")
        );
        assert_eq!(et(None, 503, true).as_deref(), Some("503"));
        assert_eq!(et(None, 404, true), None);
        assert_eq!(et(None, 404, false).as_deref(), Some("404"));
        assert_eq!(et(None, 304, false), None);
        assert_eq!(et(None, 599, true).as_deref(), Some("599"));
    }
}
