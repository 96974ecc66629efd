//! An h2kit server in the test's own process, on a free port of 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;

use h2kit::stats::ServerStats;
use h2kit::{HttpService, Server, ServerConfig};

/// A running server: where it listens, its counters, and a way to shut it down.
pub struct Spawned {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Spawned {
    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Shuts the server down gracefully and waits until `serve` has returned (dropping
    /// `Spawned` does not shut it down: the server then runs until the test's runtime ends).
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("the server task panicked")
    }
}

/// Serves `service` with `config` on a free port; must be called within a tokio runtime.
pub async fn spawn<S: HttpService>(config: ServerConfig, service: S) -> Spawned {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::new(config);
    let stats = server.stats();
    let task = tokio::spawn(server.serve(listener, service, async {
        // Only an explicit stop shuts down; a dropped `Spawned` leaves the server running.
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
    }));
    Spawned {
        addr,
        stats,
        stop: Some(stop),
        task,
    }
}

/// h2kit's proxy in front of `upstream` with `faults`, running until the test's runtime ends:
/// where it listens, and its handle (reports, unplugging).
pub async fn spawn_proxy(
    upstream: SocketAddr,
    faults: h2kit::proxy::Faults,
) -> (SocketAddr, h2kit::proxy::ProxyHandle) {
    let mut config = h2kit::proxy::ProxyConfig::new(upstream);
    config.faults = faults;
    let p = h2kit::proxy::Proxy::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let out = (p.local_addr(), p.handle());
    tokio::spawn(p.run(std::future::pending()));
    out
}
