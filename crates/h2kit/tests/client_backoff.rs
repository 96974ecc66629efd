//! An origin whose connections fail is backed off: requests fail at once with the last
//! connection's error instead of each dialling (no connection storm), and a connection that
//! reaches HTTP/2 ends it. A server that accepts and closes at once, like one at its
//! connection limit, is the peer.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use h2kit::{Client, ConnectBackoff, ErrorKind};
use h2kit_test_support::client::get;

/// Accepts connections and closes each at once; counts them.
async fn closing_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let n = accepted.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            n.fetch_add(1, Relaxed);
            drop(sock);
        }
    });
    (url, accepted)
}

async fn burst(client: &Client, url: &str, n: usize) -> Vec<h2kit::Error> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (client, url) = (client.clone(), url.to_string());
        tasks.push(tokio::spawn(async move { client.send(get(url)).await }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            errors.push(e);
        }
    }
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_origin_is_dialled_a_handful_of_times_not_once_per_request() {
    let (url, accepted) = closing_server().await;
    let client = Client::builder().build();
    let errors = burst(&client, &url, 200).await;
    assert_eq!(errors.len(), 200);
    let dialled = accepted.load(Relaxed);
    assert!(dialled <= 4, "{dialled} connections for 200 requests");
    let backed_off = errors.iter().filter(|e| e.is_backoff()).count();
    assert!(backed_off >= 190, "{backed_off} failed at once");
    let e = errors
        .iter()
        .find(|e| e.is_backoff() && e.attempts() == 1)
        .unwrap();
    assert!(matches!(e.kind(), ErrorKind::ConnectionLost { .. }), "{e}");
    // How many connections had failed when this request met the back-off depends on how the
    // burst raced the first failures: one, or as many as were dialled.
    let text = e.to_string();
    let after = text
        .split("not dialled: the origin is backing off after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!((1..=dialled).contains(&after), "{text} ({dialled} dialled)");
    // A request is not retried once it met the back-off (its first attempt may have been the
    // one that dialled).
    assert!(
        errors.iter().all(|e| e.attempts() <= 2),
        "retried into the back-off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_off_ends_and_grows_while_failures_go_on() {
    let (url, accepted) = closing_server().await;
    let client = Client::builder()
        .connect_backoff(Some(ConnectBackoff::new(
            Duration::from_millis(50),
            Duration::from_millis(400),
        )))
        .build();
    // Requests one after another for a second: each back-off lets one dial through.
    let start = std::time::Instant::now();
    let mut sent = 0;
    while start.elapsed() < Duration::from_secs(1) {
        let _ = client.send(get(&url)).await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dialled = accepted.load(Relaxed);
    // 50, 100, 200, 400, 400 ms (less jitter): between 4 and 8 dials in a second.
    assert!(
        (3..=9).contains(&dialled),
        "{dialled} dials, {sent} requests"
    );
    assert!(sent > 50, "{sent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_back_off_every_retry_dials() {
    let (url, accepted) = closing_server().await;
    let client = Client::builder().connect_backoff(None).build();
    let errors = burst(&client, &url, 20).await;
    assert_eq!(errors.len(), 20);
    assert!(errors.iter().all(|e| !e.is_backoff()));
    // Each request and each of its retries finds no live connection and dials.
    assert!(accepted.load(Relaxed) >= 10, "{}", accepted.load(Relaxed));
}
