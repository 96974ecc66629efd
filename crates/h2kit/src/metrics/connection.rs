//! A client connection's part in `http_client_open_connections` (by state) and
//! `http_client_connection_duration_seconds`: it counts as idle from its start, moves
//! between idle and active as its streams come and go, and records its duration when it ends.

use std::time::Instant;

use super::facade::{gauge, histogram, Gauge, Histogram};
use super::names;

pub(crate) struct ClientConnection {
    active: Gauge,
    idle: Gauge,
    duration: Histogram,
    started: Instant,
    is_active: bool,
}

impl ClientConnection {
    /// A connection to `host:port` was established (its handles are looked up once, here).
    pub(crate) fn new(host: &str, port: u16, tls: bool) -> ClientConnection {
        let scheme = if tls { "https" } else { "http" };
        let labels = |state: &'static str| {
            [
                ("http_connection_state", state.to_string()),
                ("server_address", host.to_string()),
                ("server_port", port.to_string()),
                ("url_scheme", scheme.to_string()),
                ("network_protocol_version", "2".to_string()),
            ]
        };
        let (active, idle) = (labels("active"), labels("idle"));
        let c = ClientConnection {
            active: gauge!(names::CLIENT_OPEN_CONNECTIONS, &active),
            idle: gauge!(names::CLIENT_OPEN_CONNECTIONS, &idle),
            duration: histogram!(names::CLIENT_CONNECTION_DURATION, &idle[1..]),
            started: Instant::now(),
            is_active: false,
        };
        c.idle.increment(1.0);
        c
    }

    /// Whether the connection has requests in flight now.
    #[inline]
    pub(crate) fn set_active(&mut self, active: bool) {
        if active != self.is_active {
            self.is_active = active;
            let (from, to) = if active {
                (&self.idle, &self.active)
            } else {
                (&self.active, &self.idle)
            };
            from.decrement(1.0);
            to.increment(1.0);
        }
    }
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        let state = if self.is_active {
            &self.active
        } else {
            &self.idle
        };
        state.decrement(1.0);
        self.duration.record(self.started.elapsed().as_secs_f64());
    }
}
