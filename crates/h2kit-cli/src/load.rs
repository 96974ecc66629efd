//! `h2kit load [URL]`: a closed-loop load generator on h2kit's client that reports not only
//! how fast, but why requests failed: timeouts by phase, RST_STREAM by code and direction,
//! GOAWAY by code, refused and unprocessed streams, retries.
//!
//! Without a URL it starts h2kit's server in-process on a free 127.0.0.1 port and loads it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use h2kit::client::ErrorKind;
use h2kit::{Client, ClientConfig, Server, ServerConfig};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};

use crate::{duration, routes};

#[derive(Parser, Debug)]
pub struct Args {
    /// The URL to load (http:// h2c or https://). Without one, an embedded h2kit server is
    /// started on 127.0.0.1 and loaded for `-D` (default 3s).
    url: Option<String>,
    /// Connections.
    #[arg(short = 'c', long = "clients", default_value_t = 1)]
    connections: usize,
    /// Concurrent streams per connection.
    #[arg(short = 'm', long = "max-concurrent-streams", default_value_t = 100)]
    streams: usize,
    /// Total requests.
    #[arg(short = 'n', long = "requests", conflicts_with = "duration")]
    requests: Option<u64>,
    /// Duration of the run (e.g. 10s).
    #[arg(short = 'D', long = "duration", value_parser = duration::parse)]
    duration: Option<Duration>,
    /// Request method.
    #[arg(short = 'X', long = "method", default_value = "GET")]
    method: String,
    /// A request header, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Request body from a file.
    #[arg(short = 'd', long = "data")]
    data: Option<std::path::PathBuf>,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Response-headers timeout per request (e.g. 2s).
    #[arg(long, value_parser = duration::parse)]
    response_timeout: Option<Duration>,
    /// Whole-request timeout.
    #[arg(long, value_parser = duration::parse)]
    timeout: Option<Duration>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: one per core; 1 runs everything on one thread).
    #[arg(long)]
    threads: Option<usize>,
}

struct Tally {
    latency: Mutex<Histogram<u64>>,
    ok: AtomicU64,
    bytes: AtomicU64,
    statuses: Mutex<std::collections::BTreeMap<u16, u64>>,
    failures: Mutex<std::collections::BTreeMap<String, u64>>,
}

pub fn run(args: Args) -> Result<(), String> {
    if args.connections == 0 {
        return Err("-c must be at least 1".into());
    }
    if args.streams == 0 {
        return Err("-m must be at least 1".into());
    }
    if args.requests == Some(0) {
        return Err("-n must be at least 1".into());
    }
    if args.duration == Some(Duration::ZERO) {
        return Err("-D must be longer than 0".into());
    }
    let method: http::Method = args
        .method
        .parse()
        .map_err(|_| format!("-X '{}' is not an HTTP method", args.method))?;
    let body = match &args.data {
        Some(p) => Bytes::from(std::fs::read(p).map_err(|e| format!("-d {}: {e}", p.display()))?),
        None => Bytes::new(),
    };
    let headers = crate::headers::parse(&args.headers)?;
    if let Some(url) = &args.url {
        let uri: http::Uri = url.parse().map_err(|e| format!("URL '{url}': {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(format!("URL '{url}' must be http://HOST or https://HOST"));
        }
    }
    let rt = crate::runtime::build(args.threads)?;
    rt.block_on(async move {
        let url = match &args.url {
            Some(u) => {
                preflight(u).await?;
                u.clone()
            }
            None => start_embedded().await?,
        };
        let duration = match (args.requests, args.duration) {
            (None, None) => Some(Duration::from_secs(3)),
            (_, d) => d,
        };
        let mut config = ClientConfig {
            max_connections_per_origin: args.connections,
            max_streams_per_connection: Some(args.streams as u32),
            ..ClientConfig::default()
        };
        config.timeouts.response_headers = args.response_timeout;
        config.timeouts.total = args.timeout;
        let tls = if args.insecure {
            h2kit::tls::insecure_client_config()
        } else {
            h2kit::tls::client_config(None)?
        };
        let client = Client::builder().config(config).tls(tls).build();
        let tally = Arc::new(Tally {
            latency: Mutex::new(
                Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?,
            ),
            ok: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            statuses: Mutex::new(Default::default()),
            failures: Mutex::new(Default::default()),
        });
        let left = Arc::new(AtomicU64::new(args.requests.unwrap_or(u64::MAX)));
        let start = Instant::now();
        let deadline = duration.map(|d| start + d);
        let workers = args.connections * args.streams;
        let mut tasks = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (client, tally, left) = (client.clone(), tally.clone(), left.clone());
            let (url, method, headers, body) =
                (url.clone(), method.clone(), headers.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let mut hist =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
                loop {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    if left
                        .fetch_update(Relaxed, Relaxed, |v| v.checked_sub(1))
                        .is_err()
                    {
                        break;
                    }
                    let mut req = http::Request::builder().method(method.clone()).uri(&url);
                    if let Some(h) = req.headers_mut() {
                        h.extend(headers.clone());
                    }
                    let req = req
                        .body(Full::new(body.clone()))
                        .expect("request parts were checked");
                    let t0 = Instant::now();
                    match client.send(req).await {
                        Ok(res) => {
                            let status = res.status().as_u16();
                            match res.into_body().collect().await {
                                Ok(b) => {
                                    tally.bytes.fetch_add(b.to_bytes().len() as u64, Relaxed);
                                    tally.ok.fetch_add(1, Relaxed);
                                    *tally.statuses.lock().unwrap().entry(status).or_default() += 1;
                                    let _ = hist.record(t0.elapsed().as_micros().max(1) as u64);
                                }
                                Err(e) => {
                                    *tally
                                        .failures
                                        .lock()
                                        .unwrap()
                                        .entry(format!("response body: {e}"))
                                        .or_default() += 1;
                                }
                            }
                        }
                        Err(e) => {
                            *tally
                                .failures
                                .lock()
                                .unwrap()
                                .entry(failure_kind(&e.kind))
                                .or_default() += 1;
                        }
                    }
                }
                let _ = tally.latency.lock().unwrap().add(&hist);
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = start.elapsed();
        report(&args, &url, elapsed, &tally, &client);
        Ok(())
    })
}

/// The report's failure categories: the phase for timeouts, the code for resets.
fn failure_kind(k: &ErrorKind) -> String {
    match k {
        ErrorKind::Timeout(p) => format!("timeout: {}", p.name()),
        ErrorKind::Reset(code) => format!("RST_STREAM received: {code}"),
        ErrorKind::Refused => "REFUSED_STREAM (after retries)".into(),
        ErrorKind::Unprocessed => "not processed: GOAWAY (after retries)".into(),
        ErrorKind::ConnectionLost { .. } => "connection lost".into(),
        ErrorKind::Connect(_) => "connect failed".into(),
        ErrorKind::Tls(_) => "TLS failed".into(),
        ErrorKind::InvalidRequest(_) => "invalid request".into(),
    }
}

/// An unreachable URL is one clear line, not a report of a hundred thousand failed requests.
async fn preflight(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("URL '{url}': {e}"))?;
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot reach {url}: {e}")),
        Err(_) => Err(format!("cannot reach {url}: connect timed out after 5s")),
    }
}

async fn start_embedded() -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot start the embedded server: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let svc = tower::service_fn(routes::handle);
    tokio::spawn(Server::new(ServerConfig::default()).serve(listener, svc, std::future::pending()));
    Ok(format!("http://{addr}/"))
}

fn report(args: &Args, url: &str, elapsed: Duration, tally: &Tally, client: &Client) {
    let h = tally.latency.lock().unwrap();
    let ok = tally.ok.load(Relaxed);
    let failures = tally.failures.lock().unwrap().clone();
    let failed: u64 = failures.values().sum();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let stats = client.stats();
    let c = &stats.connections;
    let pct = |q: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(q)
        }
    };
    let codes = |counts: &h2kit::proto::stats::CodeCounts| -> Vec<(String, u64)> {
        counts
            .iter()
            .map(|(code, n)| (format!("{code}"), n))
            .collect()
    };
    let rst_received = codes(&c.resets_received);
    let rst_sent = codes(&c.resets_sent);
    let goaway_received = codes(&c.goaways_received);
    if args.json {
        let v = serde_json::json!({
            "url": url,
            "seconds": secs,
            "requests": ok + failed,
            "succeeded": ok,
            "failed": failed,
            "requests_per_second": (ok + failed) as f64 / secs,
            "bytes_per_second": tally.bytes.load(Relaxed) as f64 / secs,
            "latency_us": {
                "min": if h.is_empty() { 0 } else { h.min() }, "mean": h.mean(), "p50": pct(0.5), "p90": pct(0.9),
                "p99": pct(0.99), "p99_9": pct(0.999), "max": h.max(),
            },
            "status": tally.statuses.lock().unwrap().iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<String, u64>>(),
            "failures": failures,
            "retries": {
                "refused_stream": stats.retries_refused_stream,
                "goaway": stats.retries_goaway,
                "connection_lost": stats.retries_connection_lost,
            },
            "rst_stream_received": rst_received.iter().cloned().collect::<std::collections::BTreeMap<String, u64>>(),
            "rst_stream_sent": rst_sent.iter().cloned().collect::<std::collections::BTreeMap<String, u64>>(),
            "goaway_received": goaway_received.iter().cloned().collect::<std::collections::BTreeMap<String, u64>>(),
            "pings_sent": c.pings_sent,
            "connections_opened": c.connections_accepted,
        });
        println!("{v}");
        return;
    }
    println!(
        "h2kit load {url}: {} connection(s) × {} streams, {:.2}s",
        args.connections, args.streams, secs
    );
    println!(
        "requests: {} total, {} succeeded, {} failed — {:.0} req/s, {:.2} MB/s",
        ok + failed,
        ok,
        failed,
        (ok + failed) as f64 / secs,
        tally.bytes.load(Relaxed) as f64 / secs / 1e6
    );
    if !h.is_empty() {
        println!(
            "latency µs: min {} mean {:.0} p50 {} p90 {} p99 {} p99.9 {} max {}",
            h.min(),
            h.mean(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(0.999),
            h.max()
        );
    }
    let statuses: Vec<String> = tally
        .statuses
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    println!(
        "status codes: {}",
        if statuses.is_empty() {
            "none".into()
        } else {
            statuses.join(", ")
        }
    );
    for (kind, n) in &failures {
        println!("failed: {kind}: {n}");
    }
    println!(
        "retries: {} after REFUSED_STREAM, {} after GOAWAY, {} after a lost connection",
        stats.retries_refused_stream, stats.retries_goaway, stats.retries_connection_lost
    );
    let show = |v: &[(String, u64)]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    println!(
        "RST_STREAM received: {}; sent: {} (non-zero only if requests were cancelled)",
        show(&rst_received),
        show(&rst_sent)
    );
    println!(
        "GOAWAY received: {}; PINGs sent: {}; connections opened: {}",
        show(&goaway_received),
        c.pings_sent,
        c.connections_accepted
    );
}
