//! What a server and a client record through the `metrics` facade, rendered by the
//! Prometheus exporter and read by Python's `prometheus_client` parser, against what each
//! counts itself (`Server::stats`, `Client::stats`) and what the test's handler saw.
//!
//! One test in this binary: the recorder is global to the process.
#![cfg(feature = "metrics")]

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2kit::{Client, RecvBody, ServerConfig};
use h2kit_test_support::client::get;
use h2kit_test_support::prometheus::Scrape;
use h2kit_test_support::server;
use http_body_util::Full;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

const SERVER: &str = "http_server_request_duration_seconds_count";
const CLIENT: &str = "http_client_request_duration_seconds_count";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_what_the_server_and_the_client_count() {
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in h2kit::metrics::BUCKETS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full((*name).to_string()), buckets)
            .unwrap();
    }
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    h2kit::metrics::describe();

    let started = std::time::Instant::now();
    let handled = Arc::new(AtomicU64::new(0));
    let seen = handled.clone();
    let svc = tower::service_fn(move |req: http::Request<RecvBody>| {
        seen.fetch_add(1, Relaxed);
        async move {
            let status = match req.uri().path() {
                "/missing" => 404,
                "/fail" => 500,
                "/big" => {
                    // Four times the client's stream window: the response waits for
                    // WINDOW_UPDATE.
                    let res = http::Response::new(Full::new(Bytes::from(vec![7u8; 64 << 10])));
                    return Ok::<_, Infallible>(res);
                }
                "/slow" => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    200
                }
                _ => 200,
            };
            let mut res = http::Response::new(Full::new(Bytes::from_static(b"ok")));
            *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, Infallible>(res)
        }
    });
    let mut config = ServerConfig::default();
    // Below what the client assumes before the server's SETTINGS: a first burst may be
    // refused in part, and retried.
    config.proto.max_concurrent_streams = 8;
    let s = server::spawn(config, svc).await;
    let mut config = h2kit::ClientConfig::default();
    config.timeouts.response_headers = Some(Duration::from_secs(1));
    config.proto.initial_stream_window = 16 << 10;
    let client = Client::builder().config(config).build();

    let mut burst = Vec::new();
    for i in 0..60 {
        let path = match i % 6 {
            0 => "/missing",
            1 => "/fail",
            2 if i < 20 => "/slow",
            _ => "/",
        };
        let client = client.clone();
        let url = s.url(path);
        burst.push(tokio::spawn(async move {
            client.send(get(url)).await.map(|r| r.status())
        }));
    }
    let mut statuses = std::collections::BTreeMap::<u16, f64>::new();
    let mut timeouts = 0.0;
    for r in burst {
        match r.await.unwrap() {
            Ok(status) => *statuses.entry(status.as_u16()).or_default() += 1.0,
            Err(e) if e.kind() == h2kit::ErrorKind::Timeout(h2kit::Phase::ResponseHeaders) => {
                timeouts += 1.0
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(timeouts, 3.0, "the three /slow requests time out");
    let big = client.send(get(s.url("/big"))).await.unwrap();
    *statuses.entry(200).or_default() += 1.0;
    let body = http_body_util::BodyExt::collect(big.into_body())
        .await
        .unwrap();
    assert_eq!(body.to_bytes().len(), 64 << 10);
    // An independent server (Python's h2) that refuses every third stream: those attempts
    // are retried, and each is a request of its own in the duration histogram.
    let refusing = h2kit_test_support::peers::Scripted::start("refuse-third");
    for _ in 0..9 {
        let res = client.send(get(refusing.url("/"))).await.unwrap();
        assert_eq!(res.status(), 200);
    }

    // The connection tasks settle (the cancels go out and are counted) and the server sees
    // the resets: until then a scrape may be a moment behind the counters (each connection
    // adds to both at once, but the two are read one after the other), so the comparison is
    // repeated until everything agrees, or for at most 10 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut scrape;
    let mut stats;
    loop {
        stats = client.stats();
        let server_stats = s.stats.snapshot();
        scrape = Scrape::parse(&handle.render());
        let mut wrong: Vec<String> = Vec::new();
        macro_rules! same {
            ($a:expr, $b:expr) => {
                same!($a, $b, "")
            };
            ($a:expr, $b:expr, $($msg:tt)*) => {{
                let (a, b) = ($a, $b);
                if a != b {
                    let why = format!($($msg)*);
                    wrong.push(format!("{} = {a:?}, expected {b:?} {why}", stringify!($a)));
                }
            }};
        }
        // The server: one duration per request its handler saw, labelled by what it answered;
        // the timed-out ones failed with the client's CANCEL.
        same!(scrape.sum(SERVER, &[]), handled.load(Relaxed) as f64);
        for (status, n) in &statuses {
            let got = scrape.sum(
                SERVER,
                &[("http_response_status_code", &status.to_string())],
            );
            same!(got, *n, "status {status}");
        }
        same!(scrape.sum(SERVER, &[("error_type", "500")]), statuses[&500]);
        same!(scrape.sum(SERVER, &[("error_type", "CANCEL")]), timeouts);
        same!(
            scrape.sum(SERVER, &[("http_request_method", "GET")]),
            scrape.sum(SERVER, &[])
        );
        let cancel = h2kit::proto::ErrorCode::CANCEL.0 as usize;
        let rst = |side, dir| {
            scrape.sum(
                "h2kit_rst_stream_total",
                &[("side", side), ("direction", dir), ("error_code", "CANCEL")],
            )
        };
        same!(
            rst("server", "received"),
            server_stats.resets_received.0[cancel] as f64
        );
        same!(rst("server", "received"), timeouts);
        same!(
            scrape.sum("h2kit_streams_refused_total", &[("side", "server")]),
            server_stats.refused_streams as f64
        );

        // The client: its counters are its stats, and every attempt has a duration.
        same!(
            scrape.sum("h2kit_client_requests_total", &[]),
            stats.requests as f64
        );
        same!(
            scrape.sum("h2kit_client_failures_total", &[]),
            stats.failed as f64
        );
        let retries =
            stats.retries_refused_stream + stats.retries_goaway + stats.retries_connection_lost;
        same!(
            scrape.sum("h2kit_client_retries_total", &[]),
            retries as f64
        );
        same!(
            scrape.sum("h2kit_client_retries_total", &[("cause", "refused_stream")]),
            stats.retries_refused_stream as f64
        );
        same!(
            scrape.sum(CLIENT, &[]),
            (stats.succeeded + stats.failed + retries) as f64,
            "one duration per attempt"
        );
        same!(
            scrape.sum(CLIENT, &[("error_type", "timeout.response_headers")]),
            timeouts
        );
        same!(
            scrape.sum(
                "h2kit_client_timeouts_total",
                &[("phase", "response_headers")]
            ),
            timeouts
        );
        same!(
            scrape.sum(CLIENT, &[("error_type", "REFUSED_STREAM")]),
            stats.retries_refused_stream as f64
        );
        // The big response waited for the client's window at least once, and never longer
        // than the test has run.
        let waits = scrape.sum(
            "h2kit_flow_control_blocked_seconds_count",
            &[("side", "server")],
        );
        same!(waits >= 1.0, true, "flow-control waits: {waits}");
        let waited = scrape.sum(
            "h2kit_flow_control_blocked_seconds_sum",
            &[("side", "server")],
        );
        same!(
            waited > 0.0 && waited < started.elapsed().as_secs_f64(),
            true,
            "{waited} s"
        );
        // Each answered PING's round trip (the connections the timeouts made suspect).
        same!(
            scrape.sum("h2kit_ping_rtt_seconds_count", &[("side", "client")]),
            stats.connections.ping_acks_received as f64
        );
        // A client counts 4xx as errors too.
        same!(scrape.sum(CLIENT, &[("error_type", "404")]), statuses[&404]);
        let port = s.addr.port().to_string();
        same!(
            scrape.sum(
                CLIENT,
                &[("server_address", "127.0.0.1"), ("server_port", &port)]
            ),
            scrape.sum(CLIENT, &[]) - 9.0 - stats.retries_refused_stream as f64
        );
        // Attempts 3, 6, 9 and 12 are refused: nine responses take thirteen attempts.
        same!(stats.retries_refused_stream, 4);
        same!(
            rst("client", "sent"),
            stats.connections.resets_sent.0[cancel] as f64
        );
        same!(rst("client", "sent"), timeouts);
        same!(
            scrape.sum(
                "h2kit_frames_total",
                &[
                    ("side", "client"),
                    ("direction", "sent"),
                    ("type", "HEADERS")
                ]
            ),
            stats.connections.frames_sent.0[1] as f64
        );
        same!(scrape.sum("http_client_active_requests", &[]), 0.0);
        let open = |state| {
            scrape.sum(
                "http_client_open_connections",
                &[("http_connection_state", state)],
            )
        };
        same!(open("active"), 0.0);
        // Open, whatever the pool thinks of their health (a timeout makes one suspect).
        let pooled = stats.connections_healthy + stats.connections_suspect;
        same!(open("idle"), pooled as f64, "{stats:?}");
        same!(
            scrape.sum("h2kit_client_connections_opened_total", &[]),
            stats.connections.connections_accepted as f64
        );
        if wrong.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            wrong.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A connection that ends records its duration and leaves the gauge.
    drop(client);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        scrape = Scrape::parse(&handle.render());
        let ended = scrape.sum("http_client_connection_duration_seconds_count", &[]);
        if ended == stats.connections.connections_accepted as f64
            || tokio::time::Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        scrape.sum("http_client_connection_duration_seconds_count", &[]),
        stats.connections.connections_accepted as f64
    );
    assert_eq!(scrape.sum("http_client_open_connections", &[]), 0.0);
    // Every histogram is one the conventions' buckets were given to.
    for s in &scrape.0 {
        if s.name.ends_with("_bucket") {
            let family = s.name.strip_suffix("_bucket").unwrap();
            assert!(
                h2kit::metrics::BUCKETS.iter().any(|(n, _)| *n == family),
                "{family} has no buckets of its own"
            );
        }
    }
}
