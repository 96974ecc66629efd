//! What h2kit reports through the [`metrics`](https://docs.rs/metrics) facade, and how to
//! set up a recorder for it.
//!
//! The HTTP metrics follow the OpenTelemetry HTTP semantic conventions, named as
//! OpenTelemetry's Prometheus translation names them (dots to underscores, the unit as a
//! suffix, `_total` on counters), so that dashboards built for any conventions-following
//! stack read them unchanged:
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `http_server_request_duration_seconds` | histogram | `http_request_method`, `url_scheme`, `http_response_status_code`, `error_type`, `network_protocol_name`, `network_protocol_version` |
//! | `http_server_active_requests` | gauge | `http_request_method`, `url_scheme` |
//! | `http_client_request_duration_seconds` | histogram | `http_request_method`, `server_address`, `server_port`, `url_scheme`, `http_response_status_code`, `error_type`, `network_protocol_name`, `network_protocol_version` |
//! | `http_client_active_requests` | gauge | — |
//! | `http_client_open_connections` | gauge | `http_connection_state` (`active`, `idle`) |
//! | `http_client_connection_duration_seconds` | histogram | `server_address`, `server_port`, `url_scheme`, `network_protocol_version` |
//!
//! HTTP/2 detail sits beside them under `h2kit_`, every series labelled `side` (`server` or
//! `client`, so that a process that is both, such as a proxy, keeps them apart): see
//! [`names`] and docs/metrics.md.
//!
//! Histograms need bucket boundaries from the recorder; [`BUCKETS`] lists the conventions'
//! for each histogram, and [`describe`] gives every metric its unit and description. Install
//! the recorder before serving or sending: a handle taken before there is one records nothing.

pub(crate) mod connection;
pub(crate) mod facade;
pub(crate) mod request;
pub(crate) mod semconv;

pub use semconv::names;

/// The conventions' boundaries for request durations (seconds).
pub const REQUEST_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The conventions' boundaries for `http.client.connection.duration` (seconds).
pub const CONNECTION_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Boundaries for PING round-trip times and flow-control waits (seconds): from a loopback's
/// 50 µs to 5 s.
pub const PING_RTT_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// Each histogram h2kit records, with its boundaries: give them to the recorder (for
/// `metrics-exporter-prometheus`, `PrometheusBuilder::set_buckets_for_metric` with
/// `Matcher::Full(name)`).
pub const BUCKETS: &[(&str, &[f64])] = &[
    (names::SERVER_REQUEST_DURATION, REQUEST_DURATION_BUCKETS),
    (names::CLIENT_REQUEST_DURATION, REQUEST_DURATION_BUCKETS),
    (
        names::CLIENT_CONNECTION_DURATION,
        CONNECTION_DURATION_BUCKETS,
    ),
    (names::PING_RTT, PING_RTT_BUCKETS),
    (names::FLOW_CONTROL_BLOCKED, PING_RTT_BUCKETS),
];

/// The name of every metric h2kit records (as the Prometheus exporter names it; a
/// histogram's series add `_bucket`, `_sum` and `_count`).
pub fn all_names() -> impl Iterator<Item = &'static str> {
    semconv::DESCRIPTIONS.iter().map(|d| d.0)
}

/// Gives every metric h2kit records its unit and description (the `# HELP` lines of a
/// Prometheus scrape). Call it once the recorder is installed.
#[cfg(feature = "metrics")]
pub fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    for (name, kind, unit, text) in semconv::DESCRIPTIONS {
        let unit = match *unit {
            "s" => Unit::Seconds,
            _ => Unit::Count,
        };
        match kind {
            semconv::Kind::Counter => describe_counter!(*name, unit, *text),
            semconv::Kind::Gauge => describe_gauge!(*name, unit, *text),
            semconv::Kind::Histogram => describe_histogram!(*name, unit, *text),
        }
    }
}
