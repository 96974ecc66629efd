//! Opening a connection for an origin: TCP, TLS when the origin asks for it, and the
//! connection's task.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::{Checkout, ConnHandle, OriginPool, Pool};
use crate::client::conn::shared::ConnShared;
use crate::client::conn::{ClientCommand, ClientRole, CommandTx};
use crate::conn::{Command, ConnConfig, Driver};
use crate::metrics::connection::ClientConnection;
use crate::{Error, ErrorKind, Phase};

/// The pool's TLS: a connector, or why there is none (said when an `https://` origin is
/// asked for).
#[cfg(feature = "tls")]
pub(crate) type Tls = Result<tokio_rustls::TlsConnector, String>;
#[cfg(not(feature = "tls"))]
pub(crate) type Tls = ();

type BoxIo = Box<dyn crate::conn::IoSend>;

impl Pool {
    pub(super) async fn connect(
        &self,
        pool: &OriginPool,
        timings: &mut Checkout,
    ) -> Result<Arc<ConnHandle>, Error> {
        let o = &pool.origin;
        let start = Instant::now();
        let connect = tokio::net::TcpStream::connect((o.host(), o.port()));
        let sock = match self.config.timeouts.connect {
            Some(t) => tokio::time::timeout(t, connect)
                .await
                .map_err(|_| Error::new(ErrorKind::Timeout(Phase::Connect)))?,
            None => connect.await,
        }
        .map_err(|e| {
            Error::new(ErrorKind::Connect)
                .with_detail(format!("{}:{}", o.host(), o.port()))
                .with_source(e)
        })?;
        let _ = sock.set_nodelay(true);
        timings.connect = Some(start.elapsed());
        self.stats.connection_opened_client();
        let (tx, rx) = crate::sync::mailbox::queue();
        let shared = Arc::new(ConnShared::default());
        shared
            .peer_max_streams
            .store(self.config.proto.assumed_peer_max_streams, Relaxed);
        let _ = shared.capacity.set(pool.capacity.clone());
        let cancel = CancellationToken::new();
        let mut role = ClientRole::new(
            shared.clone(),
            self.live.enter(),
            self.config.ping_timeout,
            self.config.timeouts.body_idle,
            self.config.keepalive_interval,
        );
        let cfg = self.driver_config.clone();
        if o.tls {
            let stream = self.tls_handshake(sock, o, timings).await?;
            role.established(ClientConnection::new(o.host(), o.port(), true));
            self.spawn_driver(stream, role, cfg, cancel.clone(), rx, tx.clone());
        } else {
            role.established(ClientConnection::new(o.host(), o.port(), false));
            self.spawn_driver(sock, role, cfg, cancel.clone(), rx, tx.clone());
        }
        Ok(Arc::new(ConnHandle { tx, shared, cancel }))
    }

    /// Starts the connection's driver task over a connected transport.
    fn spawn_driver<T>(
        &self,
        io: T,
        role: ClientRole,
        cfg: Arc<ConnConfig>,
        cancel: CancellationToken,
        rx: crate::sync::mailbox::QueueRx<Command<ClientCommand>>,
        tx: CommandTx,
    ) where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let sink = Some(crate::stats::StatsSink::new(self.stats.clone(), "client"));
        let driver =
            Driver::new(io, Default::default(), role, cfg, cancel, sink).with_commands(rx, tx);
        tokio::spawn(driver.run());
    }

    /// The TLS handshake, and the server's agreement on HTTP/2 (ALPN `h2`).
    #[cfg(feature = "tls")]
    async fn tls_handshake(
        &self,
        sock: tokio::net::TcpStream,
        o: &super::Origin,
        timings: &mut Checkout,
    ) -> Result<BoxIo, Error> {
        let tls = match &self.tls {
            Ok(tls) => tls,
            Err(why) => return Err(Error::new(ErrorKind::Tls).with_detail(why.clone())),
        };
        let start = Instant::now();
        let name = rustls::pki_types::ServerName::try_from(o.host().to_string()).map_err(|e| {
            Error::new(ErrorKind::Tls)
                .with_detail(format!("{} is not a valid server name", o.host()))
                .with_source(e)
        })?;
        let handshake = tls.connect(name, sock);
        let stream = match self.config.timeouts.tls {
            Some(t) => tokio::time::timeout(t, handshake)
                .await
                .map_err(|_| Error::new(ErrorKind::Timeout(Phase::Tls)))?,
            None => handshake.await,
        }
        .map_err(|e| handshake_error(e, o.host()))?;
        let alpn = stream.get_ref().1.alpn_protocol();
        if alpn != Some(b"h2") {
            let selected = match alpn {
                Some(p) => format!("selected {}", String::from_utf8_lossy(p)),
                None => "selected no protocol".to_string(),
            };
            return Err(Error::new(ErrorKind::Tls).with_detail(format!(
                "{}: the server did not agree on HTTP/2: offered h2 by ALPN, it {selected}; \
                 hint: it may speak only HTTP/1.1 over TLS",
                o.host()
            )));
        }
        timings.tls = Some(start.elapsed());
        Ok(Box::new(stream))
    }
}

/// A failed handshake as an [`Error`]: the rustls error in words (and as the source), or the
/// socket's failure.
#[cfg(feature = "tls")]
fn handshake_error(e: std::io::Error, host: &str) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
        let inner = e.into_inner().expect("checked above");
        let tls = inner.downcast::<rustls::Error>().expect("checked above");
        let words = crate::tls::describe(&tls);
        return Error::new(ErrorKind::Tls)
            .with_detail(format!("{host}: {words}"))
            .with_source(*tls);
    }
    let what = match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake; hint: if it serves \
             cleartext HTTP/2, use an http:// URL"
        }
        std::io::ErrorKind::ConnectionReset => {
            "the server reset the connection during the handshake"
        }
        _ => "the handshake failed on the socket",
    };
    Error::new(ErrorKind::Tls)
        .with_detail(format!("{host}: {what}"))
        .with_source(e)
}

impl Pool {
    /// Without the `tls` feature, `https://` cannot be served.
    #[cfg(not(feature = "tls"))]
    async fn tls_handshake(
        &self,
        _sock: tokio::net::TcpStream,
        _o: &super::Origin,
        _timings: &mut Checkout,
    ) -> Result<BoxIo, Error> {
        let _ = &self.tls;
        Err(Error::new(ErrorKind::Tls)
            .with_detail("h2kit was built without its `tls` feature: https:// is not available"))
    }
}
