//! A TCP proxy that makes networks misbehave on purpose and watches the HTTP/2 frames while
//! they do, in cleartext or inside TLS.
//!
//! Each accepted connection gets its own upstream connection and two pumps, one per
//! direction. With [`ProxyConfig::tls`] the proxy terminates TLS toward clients (ALPN h2),
//! and with [`ProxyConfig::upstream_tls`] it opens TLS toward the upstream, so that it sees
//! the HTTP/2 inside. With `trace` on, each HTTP/2 connection's bytes are also parsed into
//! frames (both directions), traced on `h2kit::frame` and fed to an
//! [`h2kit_proto::watch::Watcher`], whose anomalies are logged on `h2kit::proxy` and counted.
//!
//! Faults: an *unplug* stops forwarding on a connection while keeping both sockets open (a
//! path with 100% packet loss: what the peers send is read and dropped), on a schedule or on
//! demand through [`ProxyHandle::unplug_latest`]; a delay per chunk; a bandwidth limit; a TCP
//! RST or a clean close after a number of bytes.

mod pump;
mod report;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use h2kit_proto::watch::{SideCounts, WatchConfig, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub use report::ProxyReport;

/// Faults applied to proxied connections.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Wait this long before forwarding each chunk read.
    pub delay: Option<Duration>,
    /// Forward at most this many bytes per second, per direction and connection.
    pub bandwidth: Option<u64>,
    /// After this many bytes forwarded (both directions together), reset both sockets (TCP
    /// RST).
    pub reset_after_bytes: Option<u64>,
    /// After this many bytes forwarded, close both sockets cleanly (FIN).
    pub close_after_bytes: Option<u64>,
    /// Apply the byte-count faults, delay and bandwidth only to the first N connections (so a
    /// client's reconnection gets a healthy path). None: every connection.
    pub first_connections: Option<u64>,
    /// Unplug the most recently used connection at these times after the proxy starts.
    pub unplug_at: Vec<Duration>,
}

/// What a [`Proxy`] forwards to, what it watches and what it breaks.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Where every accepted connection is forwarded.
    pub upstream: SocketAddr,
    /// Parse and watch HTTP/2 frames (cleartext connections that start with the preface).
    pub trace: bool,
    /// The thresholds of the anomaly detector (see [`h2kit_proto::watch`]).
    pub watch: WatchConfig,
    /// Faults to inject.
    pub faults: Faults,
    /// Terminate TLS from clients with this configuration (its ALPN is set to `h2`).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Open TLS toward the upstream.
    #[cfg(feature = "tls")]
    pub upstream_tls: Option<UpstreamTls>,
}

/// TLS toward the upstream: the client configuration (its ALPN is set to `h2`) and the name
/// sent (SNI) and checked in the upstream's certificate.
#[cfg(feature = "tls")]
#[derive(Clone, Debug)]
pub struct UpstreamTls {
    /// How the upstream's certificate is verified (see [`crate::tls`]).
    pub config: Arc<rustls::ClientConfig>,
    /// The server name: a DNS name or an IP address.
    pub server_name: String,
}

/// A proxied connection's transport: TCP, or TLS over it (the TCP socket stays reachable
/// for the reset fault).
pub(crate) trait Transport:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send
{
    fn tcp(&self) -> &TcpStream;
}

impl Transport for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "tls")]
impl Transport for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

#[cfg(feature = "tls")]
impl Transport for tokio_rustls::client::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl ProxyConfig {
    /// Forwarding to `upstream`, tracing on, no faults.
    pub fn new(upstream: SocketAddr) -> ProxyConfig {
        ProxyConfig {
            upstream,
            trace: true,
            watch: WatchConfig::default(),
            faults: Faults::default(),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            upstream_tls: None,
        }
    }
}

/// One proxied connection, as the proxy and its handle see it.
pub(crate) struct Conn {
    pub id: u64,
    pub unplugged: AtomicBool,
    /// The proxy-wide sequence number of this connection's latest forwarded chunk.
    pub last_used: AtomicU64,
    pub bytes: AtomicU64,
    /// The faults apply to this connection.
    pub faulty: bool,
    pub watcher: Option<Mutex<Watcher>>,
    /// Both directions' header blocks, decoded for the trace (when it is on).
    pub headers: Option<Mutex<h2kit_proto::trace::HeaderTracer>>,
    pub cancel: CancellationToken,
}

#[derive(Clone, Default)]
pub(crate) struct Totals {
    pub connections: u64,
    pub not_h2: u64,
    pub unplugged: u64,
    pub resets: u64,
    pub closes: u64,
    pub upstream_failures: u64,
    pub sides: [SideCounts; 2],
    pub anomalies: [u64; 5],
}

pub(crate) struct Shared {
    pub config: ProxyConfig,
    /// Bytes forwarded client→server and server→client (atomics: counted per chunk).
    pub bytes: [AtomicU64; 2],
    pub seq: AtomicU64,
    pub conns: Mutex<HashMap<u64, Arc<Conn>>>,
    pub totals: Mutex<Totals>,
}

impl Shared {
    /// Folds a finished connection's frame counts into the totals.
    fn finish(&self, conn: &Conn) {
        self.conns.lock().unwrap().remove(&conn.id);
        if let Some(w) = &conn.watcher {
            let w = w.lock().unwrap();
            let mut t = self.totals.lock().unwrap();
            report::add_watcher(&mut t, &w);
        }
    }
}

/// Controls a running proxy and reads its counts.
#[derive(Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("upstream", &self.shared.config.upstream)
            .finish()
    }
}

impl ProxyHandle {
    /// Unplugs the open connection that forwarded bytes most recently: from now on nothing
    /// passes either way and both sockets stay open. Returns its id (1 for the first
    /// connection accepted), or None if there is no connection to unplug.
    pub fn unplug_latest(&self) -> Option<u64> {
        let conns = self.shared.conns.lock().unwrap();
        let c = conns
            .values()
            .filter(|c| !c.unplugged.load(Relaxed))
            .max_by_key(|c| c.last_used.load(Relaxed))?;
        c.unplugged.store(true, Relaxed);
        self.shared.totals.lock().unwrap().unplugged += 1;
        tracing::info!(target: "h2kit::proxy", conn = c.id, "unplugged");
        Some(c.id)
    }

    /// Counts so far, over finished and open connections.
    pub fn report(&self) -> ProxyReport {
        report::build(&self.shared)
    }
}

/// A bound proxy, not yet accepting.
pub struct Proxy {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("listen", &self.listener.local_addr().ok())
            .field("config", &self.shared.config)
            .finish()
    }
}

impl Proxy {
    /// Listens on `listen`; [`run`](Self::run) then serves.
    pub async fn bind(listen: SocketAddr, config: ProxyConfig) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        #[cfg(feature = "tls")]
        let mut config = config;
        #[cfg(feature = "tls")]
        {
            let h2 = || vec![b"h2".to_vec()];
            if let Some(tls) = &mut config.tls {
                Arc::make_mut(tls).alpn_protocols = h2();
            }
            if let Some(up) = &mut config.upstream_tls {
                Arc::make_mut(&mut up.config).alpn_protocols = h2();
            }
        }
        Ok(Proxy {
            listener,
            shared: Arc::new(Shared {
                config,
                bytes: Default::default(),
                seq: AtomicU64::new(1),
                conns: Mutex::new(HashMap::new()),
                totals: Mutex::new(Totals::default()),
            }),
        })
    }

    /// Where it listens (the port `bind` got, when it asked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// A handle for reports and live faults, usable while `run` runs.
    pub fn handle(&self) -> ProxyHandle {
        ProxyHandle {
            shared: self.shared.clone(),
        }
    }

    /// Accepts and proxies connections until `shutdown` completes; then closes them all.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let handle = self.handle();
        for at in self.shared.config.faults.unplug_at.clone() {
            let h = handle.clone();
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                h.unplug_latest();
            });
        }
        let all = CancellationToken::new();
        tokio::pin!(shutdown);
        let mut next_id = 0u64;
        loop {
            let (client, _) = tokio::select! {
                _ = &mut shutdown => break,
                r = self.listener.accept() => match r {
                    Ok(a) => a,
                    // Out of descriptors and the like: keep serving the connections we have.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            next_id += 1;
            let shared = self.shared.clone();
            let cancel = all.child_token();
            tokio::spawn(proxy_connection(shared, next_id, client, cancel));
        }
        all.cancel();
    }
}

async fn proxy_connection(
    shared: Arc<Shared>,
    id: u64,
    client: TcpStream,
    cancel: CancellationToken,
) {
    let cfg = &shared.config;
    shared.totals.lock().unwrap().connections += 1;
    let _ = client.set_nodelay(true);
    let Some(client) = accept_tls(&shared, id, client).await else {
        return;
    };
    let upstream = match tokio::time::timeout(
        Duration::from_secs(5),
        TcpStream::connect(cfg.upstream),
    )
    .await
    {
        Ok(Ok(s)) => s,
        _ => {
            shared.totals.lock().unwrap().upstream_failures += 1;
            tracing::warn!(target: "h2kit::proxy", conn = id, "cannot connect upstream");
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let Some(upstream) = connect_tls(&shared, id, upstream).await else {
        shared.totals.lock().unwrap().upstream_failures += 1;
        return;
    };
    let faulty = cfg.faults.first_connections.is_none_or(|n| id <= n);
    let conn = Arc::new(Conn {
        id,
        unplugged: AtomicBool::new(false),
        last_used: AtomicU64::new(shared.seq.fetch_add(1, Relaxed)),
        bytes: AtomicU64::new(0),
        faulty,
        watcher: cfg.trace.then(|| Mutex::new(Watcher::new(cfg.watch))),
        headers: (cfg.trace && h2kit_proto::trace::enabled()).then(Default::default),
        cancel,
    });
    shared.conns.lock().unwrap().insert(id, conn.clone());
    pump::run(&shared, &conn, client, upstream).await;
    shared.finish(&conn);
}

/// The client's side of a connection: TLS terminated here if configured.
async fn accept_tls(shared: &Shared, id: u64, tcp: TcpStream) -> Option<Box<dyn Transport>> {
    #[cfg(feature = "tls")]
    if let Some(tls) = &shared.config.tls {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.clone());
        let s = handshake(acceptor.accept(tcp), id, "from the client").await?;
        return Some(Box::new(s));
    }
    let _ = (shared, id);
    Some(Box::new(tcp))
}

/// The upstream's side: TLS opened here if configured; the upstream must agree on h2.
async fn connect_tls(shared: &Shared, id: u64, tcp: TcpStream) -> Option<Box<dyn Transport>> {
    #[cfg(feature = "tls")]
    if let Some(up) = &shared.config.upstream_tls {
        let name = match rustls::pki_types::ServerName::try_from(up.server_name.clone()) {
            Ok(n) => n,
            Err(_) => {
                tracing::warn!(target: "h2kit::proxy", conn = id, "upstream name {} is not a valid server name", up.server_name);
                return None;
            }
        };
        let connector = tokio_rustls::TlsConnector::from(up.config.clone());
        let s = handshake(connector.connect(name, tcp), id, "to the upstream").await?;
        if s.get_ref().1.alpn_protocol() != Some(b"h2") {
            tracing::warn!(target: "h2kit::proxy", conn = id, "the upstream did not agree on HTTP/2 (ALPN h2)");
        }
        return Some(Box::new(s));
    }
    let _ = (shared, id);
    Some(Box::new(tcp))
}

/// A TLS handshake within 10 s; a failure is logged in words (`way`: "from the client",
/// "to the upstream") and ends the connection.
#[cfg(feature = "tls")]
async fn handshake<S>(
    hs: impl std::future::Future<Output = std::io::Result<S>>,
    id: u64,
    way: &str,
) -> Option<S> {
    let why = match tokio::time::timeout(Duration::from_secs(10), hs).await {
        Ok(Ok(s)) => return Some(s),
        Ok(Err(e)) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => crate::tls::describe(tls),
            None => format!("on the socket: {e}"),
        },
        Err(_) => "timed out".to_string(),
    };
    tracing::warn!(target: "h2kit::proxy", conn = id, "TLS {way} failed: {why}");
    None
}
