//! The proxy's other faults: a clean close after N bytes, a delay per chunk, a bandwidth
//! limit, and faults limited to the first connections. (Timings are checked only as lower
//! bounds: a slow machine cannot make them fail.)

use h2kit_test_support::client::get;
use h2kit_test_support::server::{self, spawn_proxy as proxy};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2kit::proxy::Faults;
use h2kit::ErrorKind;
use h2kit::{Client, ClientConfig, RecvBody, ServerConfig};
use http_body_util::{BodyExt, Full};

/// `/N` answers N bytes.
async fn server() -> SocketAddr {
    let svc = tower::service_fn(|req: http::Request<RecvBody>| async move {
        let n: usize = req.uri().path()[1..].parse().unwrap_or(2);
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(vec![b'x'; n]))))
    });
    server::spawn(ServerConfig::default(), svc).await.addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_after_bytes_is_a_clean_close_and_only_for_the_first_connection() {
    let origin = server().await;
    let faults = Faults {
        close_after_bytes: Some(30_000),
        first_connections: Some(1),
        ..Faults::default()
    };
    let (addr, px) = proxy(origin, faults).await;
    let c = Client::builder().build();
    let res = c.send(get(format!("http://{addr}/500000"))).await.unwrap();
    let err = res.into_body().collect().await.unwrap_err();
    assert_eq!(err.to_string(), "connection closed before the body ended");
    // The second connection is not faulty.
    let res = c.send(get(format!("http://{addr}/500000"))).await.unwrap();
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes().len(),
        500_000
    );
    let r = px.report();
    assert_eq!((r.closes, r.resets, r.connections), (1, 0, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_and_bandwidth_slow_the_path_down() {
    let origin = server().await;
    let (addr, _px) = proxy(
        origin,
        Faults {
            delay: Some(Duration::from_millis(40)),
            ..Faults::default()
        },
    )
    .await;
    let c = Client::builder().build();
    c.send(get(format!("http://{addr}/2"))).await.unwrap(); // connection set up
    let t = Instant::now();
    let res = c.send(get(format!("http://{addr}/2"))).await.unwrap();
    res.into_body().collect().await.unwrap();
    // The request's chunk and the response's chunk each waited 40 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(80),
        "{:?}",
        t.elapsed()
    );

    let (addr, _px) = proxy(
        origin,
        Faults {
            bandwidth: Some(1_000_000),
            ..Faults::default()
        },
    )
    .await;
    let t = Instant::now();
    let res = c.send(get(format!("http://{addr}/400000"))).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 400_000);
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplug_at_a_scheduled_time() {
    let origin = server().await;
    let (addr, px) = proxy(
        origin,
        Faults {
            unplug_at: vec![Duration::from_millis(300)],
            ..Faults::default()
        },
    )
    .await;
    let mut config = ClientConfig::default();
    config.timeouts.response_headers = Some(Duration::from_millis(200));
    let c = Client::builder().config(config).build();
    c.send(get(format!("http://{addr}/2"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Unplugged at 300 ms: the request times out on the silent connection, and the next one
    // goes to a new connection.
    let e = c.send(get(format!("http://{addr}/2"))).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Timeout(_)), "{e}");
    c.send(get(format!("http://{addr}/2"))).await.unwrap();
    let r = px.report();
    assert_eq!((r.unplugged, r.connections), (1, 2));
}
