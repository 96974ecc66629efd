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
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use config::ServerConfig;

use crate::conn::{ConnConfig, Driver};
use crate::stats::{ServerStats, StatsSink};
use conn::ServerRole;
pub use handler::HttpService;
use handler::{Handler, ServiceHandler};

/// An HTTP/2 server. Cleartext h2c with prior knowledge by default; TLS with ALPN `h2` after
/// [`Server::tls`].
pub struct Server {
    config: Arc<ServerConfig>,
    driver_config: Arc<ConnConfig>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
    stats: Arc<ServerStats>,
}

impl Server {
    /// A server with these limits; cleartext (h2c with prior knowledge) until
    /// [`tls`](Self::tls).
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
            #[cfg(feature = "tls")]
            tls: None,
            stats: Arc::new(ServerStats::default()),
        }
    }

    /// Serve TLS with this rustls configuration; ALPN is set to `h2`.
    #[cfg(feature = "tls")]
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
    ///
    /// The service is cloned for each connection, so it need not be `Sync` (a
    /// `tower::util::BoxCloneService` serves).
    pub async fn serve<S, F>(self, listener: TcpListener, service: S, shutdown: F) -> io::Result<()>
    where
        S: HttpService,
        F: Future<Output = ()>,
    {
        self.accept_loop(Tcp(listener), service, shutdown).await
    }

    /// [`serve`](Self::serve) over any stream of connections (a Unix socket listener, a
    /// custom acceptor, in-memory pipes): each item is one connection, or an accept error,
    /// which is logged before the next. Connections are served as `serve` serves them, except
    /// that the flood penalty, which needs a peer address, does not apply. When the stream
    /// ends, the connections already accepted run to their own end and the call returns after
    /// the last one (`shutdown` still ends them gracefully before that).
    pub async fn serve_incoming<I, T, S, F>(
        self,
        incoming: I,
        service: S,
        shutdown: F,
    ) -> io::Result<()>
    where
        I: Stream<Item = io::Result<T>> + Unpin,
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
        F: Future<Output = ()>,
    {
        self.accept_loop(Incoming(incoming), service, shutdown)
            .await
    }

    /// Serves one connection over any transport until it ends (TLS first, if the server has
    /// it). The server's limits, timeouts and stats apply; a graceful shutdown does not (drop
    /// the future to end the connection).
    pub async fn serve_connection<T, S>(&self, io: T, service: S) -> io::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService,
    {
        self.stats.connection_opened();
        self.conn_task(&service, CancellationToken::new(), None)
            .run(io)
            .await;
        Ok(())
    }

    fn conn_task<S>(
        &self,
        service: &S,
        stop: CancellationToken,
        penalty: Option<(Arc<penalty::PenaltyBox>, std::net::IpAddr)>,
    ) -> ConnTask
    where
        S: HttpService,
    {
        ConnTask {
            handler: Box::new(ServiceHandler(service.clone())),
            config: self.config.clone(),
            driver_config: self.driver_config.clone(),
            stop,
            stats: self.stats.clone(),
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
            penalty,
        }
    }

    async fn accept_loop<A, S, F>(self, mut acceptor: A, service: S, shutdown: F) -> io::Result<()>
    where
        A: Accept,
        S: HttpService,
        F: Future<Output = ()>,
    {
        let penalty = self
            .config
            .flood_penalty
            .map(|base| Arc::new(penalty::PenaltyBox::new(base)));
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        // The source of connections ended: the connections served so far run to their own
        // end (no GOAWAY), and the call returns with the last of them.
        let mut ended = false;
        loop {
            if ended && tasks.is_empty() {
                return Ok(());
            }
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = std::future::poll_fn(|cx| acceptor.poll_accept(cx)), if !ended => {
                    let (io, peer) = match accepted {
                        Ok(Some(a)) => a,
                        Ok(None) => {
                            ended = true;
                            continue;
                        }
                        Err(e) => {
                            // EMFILE and friends: back off briefly instead of spinning.
                            tracing::warn!(target: "h2kit::server", error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let penalized = match (&penalty, peer) {
                        (Some(p), Some(ip)) => p.blocked(ip, std::time::Instant::now()),
                        _ => false,
                    };
                    if penalized
                        || self.stats.open_connections() >= self.config.max_connections as u64
                    {
                        self.stats.connection_rejected();
                        drop(io);
                        continue;
                    }
                    self.stats.connection_opened();
                    let strikes = penalty.clone().zip(peer);
                    let conn = self.conn_task(&service, stop.clone(), strikes);
                    tasks.spawn(conn.run(io));
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(acceptor);
        stop.cancel();
        let drain = async { while tasks.join_next().await.is_some() {} };
        let limit = self.config.shutdown_grace + std::time::Duration::from_secs(1);
        if tokio::time::timeout(limit, drain).await.is_err() {
            tasks.abort_all();
        }
        Ok(())
    }
}

impl Server {
    fn has_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("tls", &self.has_tls())
            .field("open_connections", &self.stats.open_connections())
            .finish()
    }
}

/// A source of connections: the next one (with its peer's address, when it has one), `None`
/// when there are no more.
trait Accept {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    #[allow(clippy::type_complexity)]
    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<(Self::Io, Option<std::net::IpAddr>)>>>;
}

struct Tcp(TcpListener);

impl Accept for Tcp {
    type Io = tokio::net::TcpStream;

    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<(Self::Io, Option<std::net::IpAddr>)>>> {
        self.0.poll_accept(cx).map_ok(|(sock, peer)| {
            let _ = sock.set_nodelay(true);
            Some((sock, Some(peer.ip())))
        })
    }
}

struct Incoming<I>(I);

impl<I, T> Accept for Incoming<I>
where
    I: Stream<Item = io::Result<T>> + Unpin,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Io = T;

    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<(T, Option<std::net::IpAddr>)>>> {
        match std::pin::Pin::new(&mut self.0).poll_next(cx) {
            Poll::Ready(Some(Ok(io))) => Poll::Ready(Ok(Some((io, None)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(e)),
            Poll::Ready(None) => Poll::Ready(Ok(None)),
            Poll::Pending => Poll::Pending,
        }
    }
}

struct ConnTask {
    handler: Box<dyn Handler>,
    config: Arc<ServerConfig>,
    driver_config: Arc<ConnConfig>,
    stop: CancellationToken,
    stats: Arc<ServerStats>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Where a flood on this connection is held against its source.
    penalty: Option<(Arc<penalty::PenaltyBox>, std::net::IpAddr)>,
}

impl ConnTask {
    async fn run<T>(self, sock: T)
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // Each path is boxed: a future is as large as its largest state, and an inline TLS
        // session would make every cleartext connection's task pay for it (10,000 idle
        // connections must fit in 100 MiB).
        let stats = self.stats.clone();
        #[cfg(feature = "tls")]
        if let Some(acceptor) = self.tls.clone() {
            let accept = Box::pin(tokio::time::timeout(
                self.config.handshake_timeout,
                acceptor.accept(sock),
            ));
            match accept.await {
                Ok(Ok(tls)) => Box::pin(self.serve_io(Box::new(tls))).await,
                _ => stats.handshake_failed(),
            }
            stats.connection_closed();
            return;
        }
        Box::pin(self.serve_io(sock)).await;
        stats.connection_closed();
    }

    async fn serve_io<T>(self, mut io: T)
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
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
