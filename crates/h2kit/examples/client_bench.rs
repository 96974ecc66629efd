//! Client throughput: `CONCURRENCY` tasks sending small GETs over one connection for a fixed
//! number of requests. `cargo run --release -p h2kit --example client_bench -- URL [N] [CONCURRENCY]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use h2kit::Client;
use http_body_util::{BodyExt, Empty};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("URL");
    let n: u64 = args.next().map_or(200_000, |s| s.parse().unwrap());
    let conc: u64 = args.next().map_or(100, |s| s.parse().unwrap());
    let client = Client::builder().max_connections_per_origin(1).build();
    // Warm up: the connection and the server's SETTINGS.
    client
        .send(
            http::Request::get(&url)
                .body(Empty::<Bytes>::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let left = Arc::new(AtomicU64::new(n));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (c, url, left, failed) = (client.clone(), url.clone(), left.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
                .is_ok()
            {
                let req = http::Request::get(&url)
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                match c.send(req).await {
                    Ok(res) => {
                        let _ = res.into_body().collect().await;
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "h2kit client: {n} requests, {} failed, {:.2}s, {:.0} req/s",
        failed.load(Ordering::Relaxed),
        secs,
        n as f64 / secs
    );
}
