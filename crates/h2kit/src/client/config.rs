//! The client's settings and its builder.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use super::pool::{ConnectBackoff, Pool};
use super::{stats, Client, Inner};

/// Per-phase deadlines; each is optional. Defaults: `connect` 10 s, the others unlimited.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// Waiting for a stream slot on a connection (the pool at its limits).
    pub queue: Option<Duration>,
    /// TCP connect.
    pub connect: Option<Duration>,
    /// TLS handshake.
    pub tls: Option<Duration>,
    /// Writing the request (a streamed body included).
    pub write: Option<Duration>,
    /// From the request written to the response headers.
    pub response_headers: Option<Duration>,
    /// Between DATA frames of the response body (the body then fails with a
    /// [`Phase::BodyIdle`](crate::Phase::BodyIdle) timeout).
    pub body_idle: Option<Duration>,
    /// The whole request, retries included; it is applied inside each phase, so the error
    /// still says where the time went.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            queue: None,
            connect: Some(Duration::from_secs(10)),
            tls: None,
            write: None,
            response_headers: None,
            body_idle: None,
            total: None,
        }
    }
}

impl Timeouts {
    /// Whether a deadline runs while a request is written or waits for its response (the
    /// attempt then reads the clock when it hands the request over, and the fast path does
    /// not apply).
    pub(super) fn phased(&self) -> bool {
        self.write.is_some() || self.response_headers.is_some() || self.total.is_some()
    }
}

/// Client settings; every one also has a [`ClientBuilder`] method. Defaults:
///
/// - `max_connections_per_origin` 4;
/// - `max_streams_per_connection` none: the server's MAX_CONCURRENT_STREAMS only (one stream
///   is assumed until the server's SETTINGS arrive);
/// - `idle_timeout` 90 s: a connection with no stream for that long is closed;
/// - `max_retries` 3: requests the server did not process (REFUSED_STREAM, above a GOAWAY's
///   last stream) are sent again whatever their method, and idempotent ones after a connection
///   failure; `retry_non_idempotent` false;
/// - `timeouts`: see [`Timeouts`];
/// - `ping_timeout` 5 s: a suspect connection has this long to show any frame after its PING;
/// - `keepalive_interval` none;
/// - `default_headers` none (no `user-agent` either);
/// - `connect_backoff`: see [`ConnectBackoff`] (None: every request may dial).
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Protocol limits and windows (see [`h2kit_proto::Config`]).
    pub proto: h2kit_proto::Config,
    /// Connections per origin (scheme and authority); at least 1.
    pub max_connections_per_origin: usize,
    /// Streams per connection, below the server's own MAX_CONCURRENT_STREAMS.
    pub max_streams_per_connection: Option<u32>,
    /// A connection without streams for this long is closed.
    pub idle_timeout: Duration,
    /// Attempts after the first, for requests that may be sent again.
    pub max_retries: u32,
    /// Retry non-idempotent requests (POST, PATCH) after a connection failure too.
    pub retry_non_idempotent: bool,
    /// Deadlines per phase.
    pub timeouts: Timeouts,
    /// How long a suspect connection has to show any frame after its PING before it is
    /// considered dead.
    pub ping_timeout: Duration,
    /// PING a connection whose streams are active but from which nothing has arrived for
    /// this long (PINGs always stay within the politeness budget).
    pub keepalive_interval: Option<Duration>,
    /// Added to every request given to [`Client::send`] that does not have them.
    /// ([`Client::send_shared`] sends its head as it was built.)
    pub default_headers: HeaderMap,
    /// The back-off of an origin whose connections fail.
    pub connect_backoff: Option<ConnectBackoff>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            proto: h2kit_proto::Config {
                assumed_peer_max_streams: 1,
                ..h2kit_proto::Config::default()
            },
            max_connections_per_origin: 4,
            max_streams_per_connection: None,
            idle_timeout: Duration::from_secs(90),
            max_retries: 3,
            retry_non_idempotent: false,
            ping_timeout: Duration::from_secs(5),
            keepalive_interval: None,
            timeouts: Timeouts::default(),
            default_headers: HeaderMap::new(),
            connect_backoff: Some(ConnectBackoff::default()),
        }
    }
}

/// Builds a [`Client`]: a method per setting of [`ClientConfig`], and TLS.
///
/// ```
/// use std::time::Duration;
/// let client = h2kit::Client::builder()
///     .connect_timeout(Duration::from_secs(2))
///     .response_headers_timeout(Duration::from_millis(500))
///     .max_connections_per_origin(2)
///     .user_agent("my-app/1.0")
///     .build();
/// # drop(client);
/// ```
#[derive(Debug, Default)]
pub struct ClientBuilder {
    config: ClientConfig,
    #[cfg(feature = "tls")]
    tls: TlsSettings,
}

#[cfg(feature = "tls")]
#[derive(Debug, Default)]
struct TlsSettings {
    /// A whole configuration, which the other settings do not change.
    config: Option<rustls::ClientConfig>,
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    no_built_in_roots: bool,
    accept_invalid_certs: bool,
    identity: Option<(Vec<rustls::pki_types::CertificateDer<'static>>, PrivateKey)>,
}

/// A client certificate's key (kept out of `Debug` output).
#[cfg(feature = "tls")]
struct PrivateKey(rustls::pki_types::PrivateKeyDer<'static>);

#[cfg(feature = "tls")]
impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl ClientBuilder {
    /// Every setting at once (the methods below change one each).
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Protocol limits and windows.
    pub fn proto(mut self, proto: h2kit_proto::Config) -> Self {
        self.config.proto = proto;
        self
    }

    /// Connections per origin (scheme and authority); at least 1.
    pub fn max_connections_per_origin(mut self, n: usize) -> Self {
        self.config.max_connections_per_origin = n;
        self
    }

    /// Streams per connection, below the server's own limit.
    pub fn max_streams_per_connection(mut self, n: u32) -> Self {
        self.config.max_streams_per_connection = Some(n);
        self
    }

    /// Close a connection without streams after this long.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.config.idle_timeout = d;
        self
    }

    /// Attempts after the first for requests that may be sent again.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.config.max_retries = n;
        self
    }

    /// Retry non-idempotent requests (POST, PATCH) after a connection failure too.
    pub fn retry_non_idempotent(mut self, yes: bool) -> Self {
        self.config.retry_non_idempotent = yes;
        self
    }

    /// Every deadline at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.config.timeouts = timeouts;
        self
    }

    /// Deadline for a stream slot (see [`Timeouts::queue`]).
    pub fn queue_timeout(mut self, d: Duration) -> Self {
        self.config.timeouts.queue = Some(d);
        self
    }

    /// Deadline for the TCP connect.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.config.timeouts.connect = Some(d);
        self
    }

    /// Deadline for the TLS handshake.
    pub fn tls_timeout(mut self, d: Duration) -> Self {
        self.config.timeouts.tls = Some(d);
        self
    }

    /// Deadline for writing the request.
    pub fn write_timeout(mut self, d: Duration) -> Self {
        self.config.timeouts.write = Some(d);
        self
    }

    /// Deadline from the request written to the response headers.
    pub fn response_headers_timeout(mut self, d: Duration) -> Self {
        self.config.timeouts.response_headers = Some(d);
        self
    }

    /// Longest wait between DATA frames of a response body.
    pub fn body_idle_timeout(mut self, d: Duration) -> Self {
        self.config.timeouts.body_idle = Some(d);
        self
    }

    /// Deadline for the whole request, retries included.
    pub fn total_timeout(mut self, d: Duration) -> Self {
        self.config.timeouts.total = Some(d);
        self
    }

    /// How long a suspect connection has to answer its PING.
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.config.ping_timeout = d;
        self
    }

    /// PING connections with active streams that have been quiet this long.
    pub fn keepalive_interval(mut self, d: Duration) -> Self {
        self.config.keepalive_interval = Some(d);
        self
    }

    /// Whether responses keep their header fields (on by default; off saves a `HeaderMap` per
    /// response for clients that read only statuses and bodies).
    pub fn keep_response_headers(mut self, yes: bool) -> Self {
        self.config.proto.keep_response_headers = yes;
        self
    }

    /// The back-off of an origin whose connections fail (None: every request may dial).
    pub fn connect_backoff(mut self, backoff: Option<ConnectBackoff>) -> Self {
        self.config.connect_backoff = backoff;
        self
    }

    /// A header added to every request that does not have it.
    pub fn default_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.config.default_headers.insert(name, value);
        self
    }

    /// The `user-agent` of every request that does not set its own.
    ///
    /// # Panics
    /// If `value` is not a valid header value (a control character in it).
    pub fn user_agent(self, value: &str) -> Self {
        let value = HeaderValue::from_str(value).expect("user agent: not a valid header value");
        self.default_header(http::header::USER_AGENT, value)
    }

    /// A whole rustls configuration for `https://` origins (its ALPN is set to `h2`); the
    /// other TLS methods then do not apply.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: rustls::ClientConfig) -> Self {
        self.tls.config = Some(tls);
        self
    }

    /// Trust this certificate as a root, besides the built-in roots, and as the server's own
    /// certificate should a server present it (as curl's `--cacert` does: a self-signed
    /// certificate marked as a CA is then accepted; its names and dates are still checked).
    #[cfg(feature = "tls")]
    pub fn add_root_certificate(
        mut self,
        cert: rustls::pki_types::CertificateDer<'static>,
    ) -> Self {
        self.tls.roots.push(cert);
        self
    }

    /// Whether to trust the Mozilla roots (webpki-roots; on by default).
    #[cfg(feature = "tls")]
    pub fn tls_built_in_roots(mut self, yes: bool) -> Self {
        self.tls.no_built_in_roots = !yes;
        self
    }

    /// A client certificate chain and its key, for servers that ask for one.
    #[cfg(feature = "tls")]
    pub fn identity(
        mut self,
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Self {
        self.tls.identity = Some((chain, PrivateKey(key)));
        self
    }

    /// Accept any server certificate (signatures are still checked, the chain and the name
    /// are not): for tests against self-signed servers only.
    #[cfg(feature = "tls")]
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.tls.accept_invalid_certs = yes;
        self
    }

    /// Builds the client. A TLS setting that cannot work (an unusable root certificate, a key
    /// that does not match its certificate) makes `https://` requests fail with a TLS error
    /// that says why.
    pub fn build(self) -> Client {
        #[cfg(feature = "tls")]
        let tls = self.tls.build().map(|mut c| {
            c.alpn_protocols = vec![b"h2".to_vec()];
            tokio_rustls::TlsConnector::from(Arc::new(c))
        });
        #[cfg(not(feature = "tls"))]
        let tls = ();
        let config = Arc::new(self.config);
        let connections = Arc::new(crate::stats::ServerStats::default());
        Client {
            inner: Arc::new(Inner {
                pool: Pool::new(config.clone(), tls, connections.clone()),
                config,
                counters: stats::ClientCounters::default(),
                connections,
            }),
        }
    }
}

#[cfg(feature = "tls")]
impl TlsSettings {
    fn build(self) -> Result<rustls::ClientConfig, String> {
        if let Some(c) = self.config {
            return Ok(c);
        }
        let builder = crate::tls::client_builder()?;
        let builder = if self.accept_invalid_certs {
            crate::tls::accept_any_cert(builder)
        } else {
            crate::tls::trusting(builder, !self.no_built_in_roots, self.roots)?
        };
        let mut config = match self.identity {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder.with_client_auth_cert(chain, key.0).map_err(|e| {
                format!(
                    "client certificate and key do not work together: {}",
                    crate::tls::describe(&e)
                )
            })?,
        };
        crate::tls::log_keys(&mut config);
        Ok(config)
    }
}
