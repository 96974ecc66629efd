//! Server limits and timeouts.

use std::time::Duration;

/// Server configuration. Protocol limits (concurrent streams, windows, frame and header list
/// sizes) live in `proto`; see [`h2kit_proto::Config`] for their defaults and why.
///
/// - `handshake_timeout` 10 s: TLS handshake plus the client preface; a peer that connects and
///   says nothing holds a socket no longer than this.
/// - `idle_timeout` 5 min: a connection with no open stream for this long gets a graceful
///   GOAWAY (clients keep pooled connections; five minutes matches common client idle timers).
/// - `shutdown_grace` 30 s: how long in-flight streams may take after a graceful shutdown
///   starts before their connections are closed.
/// - `max_connections` 50,000: beyond it new connections are closed at once; each idle
///   connection costs a few KiB, so this bounds memory at a few hundred MiB.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub proto: h2kit_proto::Config,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            proto: h2kit_proto::Config::default(),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
            max_connections: 50_000,
        }
    }
}
