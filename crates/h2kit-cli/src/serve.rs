//! `h2kit serve`: the HTTP/2 server with built-in test routes.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use h2kit::{Server, ServerConfig};

use crate::{duration, routes};

#[derive(Parser, Debug)]
#[command(after_help = routes::HELP)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Cleartext HTTP/2 with prior knowledge (the default without TLS flags).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "tls_self_signed"])]
    h2c: bool,
    #[command(flatten)]
    tls: crate::tls_opts::ServerTls,
    /// SETTINGS_MAX_CONCURRENT_STREAMS per connection.
    #[arg(long, default_value_t = 100)]
    max_concurrent_streams: u32,
    /// Initial stream flow-control window in bytes (65535..=2147483647).
    #[arg(long, default_value_t = 2 << 20, value_parser = clap::value_parser!(u32).range(65_535..=2_147_483_647))]
    stream_window: u32,
    /// Connection flow-control window in bytes (65535..=2147483647).
    #[arg(long, default_value_t = 16 << 20, value_parser = clap::value_parser!(u32).range(65_535..=2_147_483_647))]
    connection_window: u32,
    /// SETTINGS_MAX_FRAME_SIZE (16384..=16777215).
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u32).range(16_384..=16_777_215))]
    max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    max_header_list_size: u32,
    /// Time for the TLS handshake and the client preface (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    handshake_timeout: Duration,
    /// Close connections with no open stream after this long (e.g. 5m).
    #[arg(long, default_value = "5m", value_parser = duration::parse)]
    idle_timeout: Duration,
    /// How long in-flight streams may take after SIGINT/SIGTERM.
    #[arg(long, default_value = "30s", value_parser = duration::parse)]
    shutdown_grace: Duration,
    /// Refuse connections beyond this many open ones.
    #[arg(long, default_value_t = 50_000)]
    max_connections: usize,
    /// Reset a response that could not send a byte for this long because the client keeps
    /// its window at zero (0 turns it off).
    #[arg(long, default_value = "30s", value_parser = duration::parse)]
    send_stall_timeout: Duration,
    /// A request body the handler does not read, once the response is complete: how long the
    /// client may go on sending it (within the stream window it has left) before the stream
    /// is reset with NO_ERROR (RFC 9113 §8.1). Until then the client's frames on the stream
    /// get the answers the RFC requires, whenever the handler answered.
    #[arg(long, default_value = "5s", value_parser = duration::parse)]
    drain_timeout: Duration,
    /// After a connection is ended for a flood, refuse new connections from its address for
    /// this long, doubling per strike up to a minute (0 turns it off).
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    flood_penalty: Duration,
    /// Serve Prometheus metrics on this address (GET /metrics).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441): clients may open extended
    /// CONNECT streams (`:protocol`, such as WebSockets). Off by default, as browsers that see
    /// it may prefer it.
    #[arg(long)]
    enable_connect_protocol: bool,
    /// Serve the files under this directory (GET and HEAD, ETag and Last-Modified, a
    /// directory's index.html or a listing); the built-in routes other than / stay.
    #[arg(long, value_name = "DIR")]
    root: Option<std::path::PathBuf>,
    /// Log level: error, warn, info, debug, trace, or "frames" for the frame trace
    /// (any tracing filter directive also works, e.g. "h2kit::frame=trace"; request spans
    /// show only when named, e.g. "info,h2kit::request=info").
    #[arg(long, default_value = "info")]
    log: String,
    #[command(flatten)]
    trace: crate::frame_log::TraceOpts,
    /// Run every handler as its own task from the start, instead of polling it once inline
    /// (for handlers that do heavy synchronous work before their first await).
    #[arg(long)]
    spawn_handlers: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: Args) -> Result<(), String> {
    let mut filter = match args.log.as_str() {
        "frames" => "info,h2kit::frame=trace".to_string(),
        other => other.to_string(),
    };
    // Request spans (target h2kit::request) are for tracing pipelines; a log shows them only
    // when asked by name (they cost a span per request).
    if !filter.contains("h2kit::request") {
        filter.push_str(",h2kit::request=off");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .map_err(|e| format!("--log '{}': {e}", args.log))?;
    crate::frame_log::init(filter, &args.trace, false);

    // Everything that can fail is checked before anything starts.
    let root = match &args.root {
        Some(dir) => match std::fs::canonicalize(dir) {
            Ok(p) if p.is_dir() => Some(p),
            Ok(_) => return Err(format!("--root {}: not a directory", dir.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("--root {}: no such directory", dir.display()))
            }
            Err(e) => return Err(format!("--root {}: cannot open it ({e})", dir.display())),
        },
        None => None,
    };
    let tls = args.tls.config(args.listen.ip())?;
    let rt = crate::runtime::build(args.threads)?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        if let Some(addr) = args.metrics_listen {
            crate::metrics_listen::serve(addr)?;
        }
        let mut config = ServerConfig::default();
        config.proto = h2kit::proto::Config {
            max_concurrent_streams: args.max_concurrent_streams,
            initial_stream_window: args.stream_window,
            connection_window: args.connection_window,
            max_frame_size: args.max_frame_size,
            max_header_list_size: args.max_header_list_size,
            drain_timeout: args.drain_timeout,
            enable_connect_protocol: args.enable_connect_protocol,
            ..Default::default()
        };
        config.handshake_timeout = args.handshake_timeout;
        config.idle_timeout = args.idle_timeout;
        config.shutdown_grace = args.shutdown_grace;
        config.max_connections = args.max_connections;
        config.inline_first_poll = !args.spawn_handlers;
        config.send_stall_timeout = Some(args.send_stall_timeout).filter(|d| !d.is_zero());
        config.flood_penalty = Some(args.flood_penalty).filter(|d| !d.is_zero());
        let mut server = Server::new(config);
        let scheme = if let Some(tls) = tls {
            server = server.tls(tls);
            "https"
        } else {
            "http (h2c prior knowledge)"
        };
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!("h2kit serving {scheme} on {addr}");
        // Printed on stdout so scripts can wait for it.
        println!("listening on {addr}");
        let served = match root {
            Some(root) => {
                server
                    .serve(listener, routes::with_files(root), shutdown_signal())
                    .await
            }
            None => {
                let svc = tower::service_fn(routes::handle);
                server.serve(listener, svc, shutdown_signal()).await
            }
        };
        served.map_err(|e| format!("server failed: {e}"))?;
        tracing::info!("h2kit stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: GOAWAY sent, finishing in-flight streams");
}
