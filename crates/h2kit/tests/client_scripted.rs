//! The client against scripted Python `h2` servers (`tests/python/scripted_server.py`): each
//! scenario is a server misbehaving, or behaving at an edge, in one specific way.

use h2kit_test_support::client::{get, single_connection_client};
use h2kit_test_support::peers::Scripted;

use std::sync::Arc;

use h2kit::client::Attempts;
use h2kit::Client;
use http_body_util::BodyExt;

#[tokio::test]
async fn refused_stream_is_retried_once_and_succeeds() {
    let s = Scripted::start("refuse-first");
    let client = Client::builder().build();
    let res = client.send(get(s.url("/x"))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "ok");
    assert_eq!(s.seen("request").len(), 2, "{:?}", s.seen(""));
    let stats = client.stats();
    assert_eq!((stats.requests, stats.succeeded, stats.failed), (1, 1, 0));
    assert_eq!(stats.retries_refused_stream, 1);
    // RST_STREAM(REFUSED_STREAM) received once, counted by code and direction.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    drop(client);
}

#[tokio::test]
async fn goaway_with_a_low_last_stream_id_retries_only_unprocessed_requests() {
    let s = Scripted::start("goaway-low");
    let client = single_connection_client();
    let mut tasks = Vec::new();
    for i in 0..5 {
        let c = client.clone();
        let url = s.url(&format!("/r{i}"));
        tasks.push(tokio::spawn(async move { c.send(get(url)).await }));
    }
    let mut attempts = Vec::new();
    for t in tasks {
        let res = t.await.unwrap().unwrap();
        assert_eq!(res.status(), 200);
        attempts.push(Attempts::of(&res));
    }
    attempts.sort();
    // Streams 1 and 3 were processed on the first connection; the other three were retried.
    assert_eq!(attempts, vec![1, 1, 2, 2, 2], "{:?}", s.seen(""));
    let second: Vec<String> = s.seen("request 2 ");
    assert_eq!(second.len(), 3, "{:?}", s.seen(""));
}

#[tokio::test]
async fn max_concurrent_streams_1_is_never_exceeded() {
    let s = Scripted::start("max1");
    let client = single_connection_client();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let c = client.clone();
        let url = s.url(&format!("/q{i}"));
        tasks.push(tokio::spawn(async move {
            c.send(get(url)).await.map(|r| r.status())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    let opens = s.seen("open ");
    assert_eq!(opens.len(), 10);
    assert!(opens.iter().all(|l| l == "open 1 1"), "{opens:?}");
    assert!(s.seen("rst").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_dropped_after_its_last_byte_sends_no_reset() {
    let s = Scripted::start("split-end");
    let client = single_connection_client();
    let mut tasks = Vec::new();
    for t in 0..20 {
        let c = client.clone();
        let url = s.url(&format!("/t{t}"));
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                let res = c.send(get(url.clone())).await.unwrap();
                let mut body = res.into_body();
                // Read exactly the body, then drop it (END_STREAM comes in its own frame).
                let frame = body.frame().await.unwrap().unwrap();
                assert_eq!(frame.into_data().unwrap(), "body");
                drop(body);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.seen("request").len(), 1000);
    assert!(
        s.seen("rst").is_empty(),
        "RST_STREAM on the wire: {:?}",
        s.seen("rst")
    );
    assert!(
        s.seen("ping").is_empty(),
        "PINGs on the wire: {:?}",
        s.seen("ping")
    );
}

/// A response whose head and first DATA arrive together and whose last DATA comes later: the
/// head is handed over at once (the client's buffering of bodies that arrive complete with
/// their head must not hold back one that does not), and the body is whole, in order.
#[tokio::test]
async fn a_head_is_not_held_back_for_a_body_still_arriving() {
    let s = Scripted::start("slow-tail");
    let client = single_connection_client();
    for i in 0..3 {
        let t0 = std::time::Instant::now();
        let res = client.send(get(s.url(&format!("/t{i}")))).await.unwrap();
        let head_after = t0.elapsed();
        let mut body = res.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "first");
        let rest = body.collect().await.unwrap().to_bytes();
        let whole_after = t0.elapsed();
        assert_eq!(rest, "second");
        // The tail is sent 300 ms after the head.
        assert!(
            whole_after >= std::time::Duration::from_millis(300),
            "{whole_after:?}"
        );
        assert!(
            head_after < std::time::Duration::from_millis(250),
            "head after {head_after:?}"
        );
    }
    assert!(s.seen("rst").is_empty(), "{:?}", s.seen(""));
}

/// A head, part of the body and a reset, all in one read: the caller gets the head, the part,
/// then the reset as the body's error (the reset is not lost while the head is held).
#[tokio::test]
async fn a_reset_right_behind_a_head_reaches_the_body() {
    let s = Scripted::start("reset-body");
    let client = single_connection_client();
    let res = client.send(get(s.url("/r"))).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let part = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(part, "part");
    let err = body.frame().await.unwrap().unwrap_err();
    assert_eq!(
        err.kind(),
        h2kit::ErrorKind::Reset(h2kit::proto::ErrorCode::INTERNAL_ERROR),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_turns_suspect_and_new_requests_go_elsewhere() {
    use h2kit::{ErrorKind, Phase};
    let s = Scripted::start("silent");
    let client = Client::builder()
        .max_connections_per_origin(1)
        // Generous enough that the healthy connection's answers always make it on a loaded
        // machine.
        .response_headers_timeout(std::time::Duration::from_millis(700))
        .ping_timeout(std::time::Duration::from_millis(300))
        .build();
    // Five requests at once. The silent server never sent SETTINGS, so only one stream went
    // into its connection (one is assumed until SETTINGS arrive); the others waited.
    let mut tasks = Vec::new();
    for i in 0..5 {
        let c = client.clone();
        let url = s.url(&format!("/silent{i}"));
        tasks.push(tokio::spawn(async move { c.send(get(url)).await }));
    }
    let mut timeouts = 0;
    let mut served = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(res) => {
                assert_eq!(res.status(), 200);
                served += 1;
            }
            Err(err) => {
                assert_eq!(
                    err.kind(),
                    ErrorKind::Timeout(Phase::ResponseHeaders),
                    "{err}"
                );
                assert!(
                    err.to_string()
                        .starts_with("response headers timed out after "),
                    "{err}"
                );
                timeouts += 1;
            }
        }
    }
    // The one request that was in the dead connection timed out, naming the phase. The
    // connection turned suspect, and the waiting requests went to a new connection even
    // though only one per origin is allowed (a suspect connection does not count).
    assert_eq!((timeouts, served), (1, 4), "{:?}", s.seen(""));
    let res = client.send(get(s.url("/after"))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(s.seen("conn").len(), 2, "{:?}", s.seen(""));
    assert_eq!(
        s.seen("request 1 ").len(),
        1,
        "only one request may enter the silent connection: {:?}",
        s.seen("")
    );
    // One PING for the suspicion, not one per timed-out request, and no more after that.
    assert_eq!(s.seen("ping 1").len(), 1, "{:?}", s.seen(""));
    let stats = client.stats();
    assert_eq!(stats.timeouts, vec![(Phase::ResponseHeaders, 1)]);
    assert_eq!(stats.connections_healthy, 1, "{stats:?}");
    assert_eq!((stats.requests, stats.succeeded, stats.failed), (6, 5, 1));
    // The dead connection was closed after its PING went unanswered, and its counters
    // (one PING sent, no ACK) were flushed as it ended.
    let mut pings = 0;
    for _ in 0..40 {
        pings = client.stats().connections.pings_sent;
        if pings == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pings, 1);
    assert_eq!(client.stats().connections.ping_acks_received, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_30_percent_of_10000_requests_never_calms_a_strict_server() {
    let s = Scripted::start("calm");
    let client = Client::builder().build();
    let cancelled = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..100u64 {
        let (c, url, cancelled) = (client.clone(), s.url("/calm"), cancelled.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..100u64 {
                let send = c.send(get(url.clone()));
                if (t * 100 + i) % 10 < 3 {
                    // Cancelled mid-flight: the response takes 10 ms.
                    if tokio::time::timeout(std::time::Duration::from_millis(3), send)
                        .await
                        .is_err()
                    {
                        cancelled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                } else {
                    let res = send.await.unwrap();
                    assert_eq!(res.status(), 200);
                    res.into_body().collect().await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let cancelled = cancelled.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        cancelled > 2000,
        "only {cancelled} requests were cancelled mid-flight"
    );
    assert!(
        s.seen("calm").is_empty(),
        "the server lost its calm: {:?}",
        s.seen("calm")
    );
    assert!(s.seen("ping").is_empty(), "cancelling must not send PINGs");
    // Each cancellation of an open stream is one RST_STREAM(CANCEL), never more.
    let rsts = s.seen("rst").len() as u64;
    assert!(
        rsts <= cancelled,
        "{rsts} resets for {cancelled} cancellations"
    );
    assert_eq!(client.stats().connections.goaways_received.total(), 0);
}

/// A request's future does nothing until it is polled (the fast path sends on the first
/// poll, not when the future is made): a future made and dropped sends nothing.
#[tokio::test]
async fn a_request_is_sent_only_once_its_future_is_polled() {
    let s = Scripted::start("calm");
    let client = Client::builder().build();
    // A connection first, so that the fast path applies.
    client.send(get(s.url("/warm"))).await.unwrap();
    let unpolled = client.send(get(s.url("/unpolled")));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(unpolled);
    let res = client.send(get(s.url("/polled"))).await.unwrap();
    assert_eq!(res.status(), 200);
    let paths: Vec<String> = s
        .seen("request")
        .iter()
        .filter_map(|l| l.split(' ').nth(3).map(str::to_string))
        .collect();
    assert_eq!(paths, ["/warm", "/polled"]);
}

/// A request dropped while its connection is being set up (here, during the backoff after
/// GOAWAY(ENHANCE_YOUR_CALM)) must not leave the pool thinking a connection is on its way:
/// the next request opens one. Before the fix it waited forever (found as a rare hang of
/// `cancelling_30_percent_of_10000_requests_never_calms_a_strict_server`).
#[tokio::test]
async fn a_request_dropped_while_its_connection_is_set_up_does_not_block_the_next() {
    let s = Scripted::start("calm-now");
    let client = Client::builder().build();
    let first = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        client.send(get(s.url("/first"))),
    )
    .await;
    assert!(
        first.is_err(),
        "the first request should still be in the backoff"
    );
    let res = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.send(get(s.url("/next"))),
    )
    .await
    .expect("the next request waited for a connection nobody was opening")
    .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn enhance_your_calm_moves_to_a_fresh_connection_after_a_backoff() {
    let s = Scripted::start("calm-now");
    let client = Client::builder().build();
    let start = std::time::Instant::now();
    let res = client.send(get(s.url("/x"))).await.unwrap();
    assert_eq!(res.status(), 200);
    // Not processed by the calmed connection (above last_stream_id 0): retried, after a pause.
    assert_eq!(res.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(s.seen("conn").len(), 2);
    let mut calm = 0;
    for _ in 0..40 {
        calm = client
            .stats()
            .connections
            .goaways_received
            .get(h2kit::proto::ErrorCode::ENHANCE_YOUR_CALM);
        if calm == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(calm, 1, "GOAWAY(ENHANCE_YOUR_CALM) counted");
    assert_eq!(client.stats().retries_goaway, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_finds_a_dead_connection_and_the_request_is_retried() {
    let s = Scripted::start("silent");
    let client = Client::builder()
        .keepalive_interval(std::time::Duration::from_millis(200))
        .ping_timeout(std::time::Duration::from_millis(300))
        .max_connections_per_origin(1)
        .build();
    // No deadline at all: only the keepalive can notice that nothing comes back.
    let res = client.send(get(s.url("/k"))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert_eq!(s.seen("ping 1").len(), 1, "{:?}", s.seen(""));
    assert_eq!(client.stats().retries_connection_lost, 1);
}
