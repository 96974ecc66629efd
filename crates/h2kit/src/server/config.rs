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
/// - `max_connections` 50,000: beyond it new connections are closed at once; an idle
///   connection costs about 10 KiB, so this bounds their memory at about 500 MiB.
/// - `inline_first_poll` true: a new request's handler is polled once by the connection
///   driver itself before it becomes a task of its own. Handlers that answer without waiting
///   (most) then cost no task and their responses share the turn's single write — twice the
///   throughput on small requests. Turn it off if handlers do heavy synchronous work before
///   their first `.await`: that work would delay the other streams of their connection.
/// - `send_stall_timeout` 30 s: a response that cannot send a byte for this long because the
///   client keeps its flow-control window at zero (a slow-read attack, CVE-2019-9517) is reset
///   with RST_STREAM(CANCEL), which frees its handler and buffers.
/// - `flood_penalty` 1 s: a source whose connection was ended for a flood may open no new
///   connection for this long, doubling with each strike up to a minute (see
///   `server::penalty`); `None` turns it off.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Protocol limits, windows and flood budgets (see [`h2kit_proto::Config`]).
    pub proto: h2kit_proto::Config,
    /// TLS handshake plus the client preface.
    pub handshake_timeout: Duration,
    /// A connection without streams for this long gets a graceful GOAWAY.
    pub idle_timeout: Duration,
    /// How long in-flight streams may take after a graceful shutdown starts.
    pub shutdown_grace: Duration,
    /// Connections beyond this are closed at once.
    pub max_connections: usize,
    /// Poll a new request's handler once in the connection task before spawning it.
    pub inline_first_poll: bool,
    /// Reset a response that cannot send a byte for this long (window kept at zero).
    pub send_stall_timeout: Option<Duration>,
    /// How long a source ended for a flood may open no new connection (doubling per strike).
    pub flood_penalty: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            proto: h2kit_proto::Config::default(),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
            max_connections: 50_000,
            inline_first_poll: true,
            send_stall_timeout: Some(Duration::from_secs(30)),
            flood_penalty: Some(Duration::from_secs(1)),
        }
    }
}
