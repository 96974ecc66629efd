//! The HTTP/2 server: an accept loop, one driver task per connection, and request handlers
//! as their own tasks. Any `tower::Service<http::Request<RecvBody>>` whose response body is an
//! `http_body::Body<Data = Bytes>` serves unchanged (an `axum::Router`, for one).

mod config;
mod conn;
mod handler;
mod penalty;
mod sniff;

use std::future::Future;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

pub use config::ServerConfig;

use crate::conn::body::RecvBody;
use crate::conn::{ConnConfig, Driver};
use crate::stats::{ServerStats, StatsSink};
use conn::ServerRole;
use handler::{Handler, ServiceHandler};

/// An HTTP/2 server. Cleartext h2c with prior knowledge by default; TLS with ALPN `h2` after
/// [`Server::tls`].
pub struct Server {
    config: Arc<ServerConfig>,
    driver_config: Arc<ConnConfig>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stats: Arc<ServerStats>,
}

impl Server {
    pub fn new(config: ServerConfig) -> Server {
        let driver_config = Arc::new(ConnConfig {
            proto: config.proto.clone(),
            handshake_timeout: config.handshake_timeout,
            idle_timeout: config.idle_timeout,
            shutdown_grace: config.shutdown_grace,
            inline_first_poll: config.inline_first_poll,
            send_stall_timeout: config.send_stall_timeout,
        });
        Server {
            config: Arc::new(config),
            driver_config,
            tls: None,
            stats: Arc::new(ServerStats::default()),
        }
    }

    /// Serve TLS with this rustls configuration; ALPN is set to `h2`.
    pub fn tls(mut self, mut config: rustls::ServerConfig) -> Server {
        config.alpn_protocols = vec![b"h2".to_vec()];
        self.tls = Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)));
        self
    }

    /// Server-wide counters, readable at any time (a snapshot API over atomics).
    pub fn stats(&self) -> Arc<ServerStats> {
        self.stats.clone()
    }

    /// Accepts connections on `listener` and serves them with `service` until `shutdown`
    /// completes. Then: the listener is closed (new connections are refused), every
    /// connection gets a two-phase GOAWAY, in-flight streams have `shutdown_grace` to finish,
    /// and the call returns when all connections are closed.
    pub async fn serve<S, B, F>(
        self,
        listener: TcpListener,
        service: S,
        shutdown: F,
    ) -> io::Result<()>
    where
        S: Service<Request<RecvBody>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: std::fmt::Display + Send,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Send,
        F: Future<Output = ()>,
    {
        let penalty = self
            .config
            .flood_penalty
            .map(|base| Arc::new(penalty::PenaltyBox::new(base)));
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (sock, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // EMFILE and friends: back off briefly instead of spinning.
                            tracing::warn!(target: "h2kit::server", error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let penalized = penalty
                        .as_ref()
                        .is_some_and(|p| p.blocked(peer.ip(), std::time::Instant::now()));
                    if penalized
                        || self.stats.open_connections() >= self.config.max_connections as u64
                    {
                        self.stats.connection_rejected();
                        drop(sock);
                        continue;
                    }
                    let _ = sock.set_nodelay(true);
                    self.stats.connection_opened();
                    let conn = ConnTask {
                        handler: Box::new(ServiceHandler(service.clone())),
                        config: self.config.clone(),
                        driver_config: self.driver_config.clone(),
                        stop: stop.clone(),
                        stats: self.stats.clone(),
                        tls: self.tls.clone(),
                        penalty: penalty.clone().map(|p| (p, peer.ip())),
                    };
                    tasks.spawn(conn.run(sock));
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(listener);
        stop.cancel();
        let drain = async { while tasks.join_next().await.is_some() {} };
        let limit = self.config.shutdown_grace + std::time::Duration::from_secs(1);
        if tokio::time::timeout(limit, drain).await.is_err() {
            tasks.abort_all();
        }
        Ok(())
    }
}

struct ConnTask {
    handler: Box<dyn Handler>,
    config: Arc<ServerConfig>,
    driver_config: Arc<ConnConfig>,
    stop: CancellationToken,
    stats: Arc<ServerStats>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Where a flood on this connection is held against its source.
    penalty: Option<(Arc<penalty::PenaltyBox>, std::net::IpAddr)>,
}

impl ConnTask {
    async fn run(self, sock: tokio::net::TcpStream) {
        // Each path is boxed: a future is as large as its largest state, and an inline TLS
        // session would make every cleartext connection's task pay for it (10,000 idle
        // connections must fit in 100 MiB).
        let stats = self.stats.clone();
        match self.tls.clone() {
            None => Box::pin(self.serve_io(sock)).await,
            Some(acceptor) => {
                let accept = Box::pin(tokio::time::timeout(
                    self.config.handshake_timeout,
                    acceptor.accept(sock),
                ));
                match accept.await {
                    Ok(Ok(tls)) => Box::pin(self.serve_io(Box::new(tls))).await,
                    _ => stats.handshake_failed(),
                }
            }
        }
        stats.connection_closed();
    }

    async fn serve_io<T>(self, mut io: T)
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let first =
            tokio::time::timeout(self.config.handshake_timeout, sniff::preface(&mut io)).await;
        let first = match first {
            Ok(Ok(sniff::Sniffed::Http2(bytes))) => bytes,
            Ok(Ok(sniff::Sniffed::Http1)) => {
                self.stats.http1_rejected();
                sniff::answer_http1(&mut io).await;
                return;
            }
            _ => return,
        };
        let sink = StatsSink::new(self.stats.clone(), "server");
        let role = ServerRole::new(self.handler);
        let flood = Driver::new(io, first, role, self.driver_config, self.stop, Some(sink))
            .run()
            .await;
        if let (Some(_), Some((penalty, ip))) = (flood, &self.penalty) {
            penalty.strike(*ip, std::time::Instant::now());
        }
    }
}
