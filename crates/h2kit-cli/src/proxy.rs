//! `h2kit proxy --listen ADDR --upstream ADDR`: a TCP proxy that injects faults and, with
//! `--trace`, prints every HTTP/2 frame both ways (the format of `h2kit get -v`, with the
//! connection and direction) and flags anomalies as it sees them; a summary at exit.
//!
//! On stdin, a line `unplug` unplugs the most recently used connection and `report` prints
//! the counts so far; SIGUSR1 unplugs too. SIGINT or SIGTERM prints the summary and exits.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use h2kit::proto::watch::WatchConfig;
use h2kit::proxy::{Faults, Proxy, ProxyConfig, ProxyHandle, ProxyReport};
use tokio::io::AsyncBufReadExt;

use crate::duration;

#[derive(Parser, Debug)]
pub struct Args {
    /// Address to listen on (127.0.0.1:0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The server to forward to (HOST:PORT).
    #[arg(long)]
    upstream: String,
    /// Terminate TLS from clients (ALPN h2), with --tls-cert/--tls-key or --tls-self-signed.
    #[command(flatten)]
    tls: crate::tls_opts::ServerTls,
    /// Open TLS toward the upstream (ALPN h2), so that traffic between TLS peers is seen.
    #[arg(long)]
    upstream_tls: bool,
    /// Trust these PEM certificates for the upstream (besides the built-in roots; a
    /// certificate that is the upstream's own is trusted as it is).
    #[arg(long, value_name = "PEM", requires = "upstream_tls")]
    upstream_cacert: Option<std::path::PathBuf>,
    /// Accept any certificate from the upstream.
    #[arg(long, requires = "upstream_tls", conflicts_with = "upstream_cacert")]
    upstream_insecure: bool,
    /// The name sent to the upstream (SNI) and checked in its certificate (default: the host
    /// of --upstream).
    #[arg(long, value_name = "NAME", requires = "upstream_tls")]
    upstream_sni: Option<String>,
    /// Print every HTTP/2 frame in both directions, and each anomaly as it is seen.
    #[arg(long)]
    trace: bool,
    #[command(flatten)]
    trace_opts: crate::frame_log::TraceOpts,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// PINGs one side may send per --ping-window before each further one is an anomaly.
    #[arg(long, default_value_t = 10)]
    max_pings: u32,
    #[arg(long, value_parser = duration::parse, default_value = "10s")]
    ping_window: Duration,
    /// Unplug the most recently used connection at these times, e.g. 5s,15s,25s: it stays
    /// open but nothing passes (100% packet loss).
    #[arg(long, value_delimiter = ',', value_parser = duration::parse)]
    unplug_at: Vec<Duration>,
    /// Delay each chunk by this much (e.g. 20ms).
    #[arg(long, value_parser = duration::parse)]
    delay: Option<Duration>,
    /// Bandwidth limit per direction and connection, bytes per second.
    #[arg(long, value_name = "BYTES/S")]
    bandwidth: Option<u64>,
    /// Reset the connection (TCP RST) after this many bytes have passed.
    #[arg(long, value_name = "N")]
    reset_after_bytes: Option<u64>,
    /// Close the connection (FIN) after this many bytes have passed.
    #[arg(long, value_name = "N")]
    close_after_bytes: Option<u64>,
    /// Apply delay, bandwidth and byte-count faults only to the first N connections.
    #[arg(long, value_name = "N")]
    fault_connections: Option<u64>,
}

pub fn run(args: Args) -> Result<(), String> {
    if args.bandwidth == Some(0) {
        return Err("--bandwidth must be at least 1 byte per second".into());
    }
    if args.max_pings == 0 {
        return Err("--max-pings must be at least 1".into());
    }
    if args.ping_window.is_zero() {
        return Err("--ping-window must be longer than 0".into());
    }
    let filter = if args.trace {
        "warn,h2kit::frame=trace,h2kit::proxy=info"
    } else {
        "warn,h2kit::proxy=info"
    };
    crate::frame_log::init(
        tracing_subscriber::EnvFilter::new(filter),
        &args.trace_opts,
        false,
    );
    let tls = args.tls.config(args.listen.ip())?.map(std::sync::Arc::new);
    let upstream_tls = if args.upstream_tls {
        let config = if args.upstream_insecure {
            h2kit::tls::insecure_client_config()
        } else {
            h2kit::tls::client_config(args.upstream_cacert.as_deref())?
        };
        let host = args
            .upstream
            .rsplit_once(':')
            .map_or(&*args.upstream, |(h, _)| h);
        let server_name = args.upstream_sni.clone().unwrap_or_else(|| {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        });
        if rustls::pki_types::ServerName::try_from(server_name.clone()).is_err() {
            return Err(format!(
                "--upstream-sni '{server_name}' is not a valid server name"
            ));
        }
        Some(h2kit::proxy::UpstreamTls {
            config: std::sync::Arc::new(config),
            server_name,
        })
    } else {
        None
    };
    let rt = crate::runtime::build(None)?;
    let result = rt.block_on(async move {
        let upstream = resolve(&args.upstream).await?;
        // An unreachable upstream is one clear line now, not an error per connection later.
        tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect(upstream),
        )
        .await
        .map_err(|_| format!("cannot reach upstream {upstream}: timed out"))?
        .map_err(|e| format!("cannot reach upstream {upstream}: {e}"))?;
        let config = ProxyConfig {
            upstream,
            trace: true,
            watch: WatchConfig {
                max_pings: args.max_pings,
                ping_window: args.ping_window,
            },
            faults: Faults {
                delay: args.delay,
                bandwidth: args.bandwidth,
                reset_after_bytes: args.reset_after_bytes,
                close_after_bytes: args.close_after_bytes,
                first_connections: args.fault_connections,
                unplug_at: args.unplug_at.clone(),
            },
            tls,
            upstream_tls,
        };
        let proxy = Proxy::bind(args.listen, config)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let handle = proxy.handle();
        println!("listening on {}", proxy.local_addr());
        tokio::spawn(commands(handle.clone(), args.json));
        tokio::spawn(unplug_on_sigusr1(handle.clone()));
        proxy.run(shutdown_signal()).await;
        print_report(&handle.report(), args.json);
        Ok(())
    });
    // The stdin reader sits in a blocking read that nothing can interrupt: do not wait for it.
    rt.shutdown_background();
    result
}

async fn resolve(addr: &str) -> Result<SocketAddr, String> {
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| format!("--upstream '{addr}': {e}"))?
        .next()
        .ok_or_else(|| format!("--upstream '{addr}': no address"))
}

/// Lines on stdin: `unplug`, `report`.
async fn commands(handle: ProxyHandle, json: bool) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match line.trim() {
            "unplug" => match handle.unplug_latest() {
                Some(id) => println!("unplugged connection {id}"),
                None => println!("no connection to unplug"),
            },
            "report" => print_report(&handle.report(), json),
            "" => {}
            other => println!("unknown command '{other}' (commands: unplug, report)"),
        }
    }
}

async fn unplug_on_sigusr1(handle: ProxyHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        return;
    };
    while usr1.recv().await.is_some() {
        if let Some(id) = handle.unplug_latest() {
            println!("unplugged connection {id}");
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn print_report(r: &ProxyReport, json: bool) {
    use h2kit::proto::frame::FrameType;
    let types = [
        FrameType::Data,
        FrameType::Headers,
        FrameType::Priority,
        FrameType::RstStream,
        FrameType::Settings,
        FrameType::PushPromise,
        FrameType::Ping,
        FrameType::GoAway,
        FrameType::WindowUpdate,
        FrameType::Continuation,
    ];
    let side = |c: &h2kit::proto::watch::SideCounts| {
        let frames: serde_json::Map<String, serde_json::Value> = types
            .iter()
            .map(|t| (t.name().to_string(), c.frames.get(*t).into()))
            .filter(|(_, n)| n != &serde_json::Value::from(0u64))
            .collect();
        let codes =
            |cc: &h2kit::proto::stats::CodeCounts| -> serde_json::Map<String, serde_json::Value> {
                cc.iter().map(|(k, n)| (k.to_string(), n.into())).collect()
            };
        serde_json::json!({
            "frames": frames,
            "rst_stream": codes(&c.rst_stream),
            "goaway": codes(&c.goaway),
            "pings": c.pings,
            "streams_opened": c.streams_opened,
        })
    };
    let anomalies: serde_json::Map<String, serde_json::Value> = r
        .anomalies
        .iter()
        .map(|(k, n)| (k.name().to_string(), (*n).into()))
        .collect();
    let v = serde_json::json!({
        "connections": r.connections,
        "open": r.open,
        "not_h2": r.not_h2,
        "upstream_failures": r.upstream_failures,
        "faults": {"unplugged": r.unplugged, "resets": r.resets, "closes": r.closes},
        "bytes": {"client_to_server": r.bytes_client_to_server, "server_to_client": r.bytes_server_to_client},
        "client": side(&r.client),
        "server": side(&r.server),
        "anomalies": anomalies,
    });
    if json {
        println!("{v}");
        return;
    }
    println!(
        "connections: {} ({} open, {} not HTTP/2, {} upstream failures); faults: {} unplugged, {} reset, {} closed",
        r.connections, r.open, r.not_h2, r.upstream_failures, r.unplugged, r.resets, r.closes
    );
    println!(
        "bytes: {} client→server, {} server→client",
        r.bytes_client_to_server, r.bytes_server_to_client
    );
    for (name, s) in [("client", &v["client"]), ("server", &v["server"])] {
        println!("{name} sent: {s}");
    }
    let total = r.anomalies_total();
    if total == 0 {
        println!("anomalies: none");
    } else {
        let list: Vec<String> = r
            .anomalies
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        println!("anomalies: {}", list.join(", "));
    }
}
