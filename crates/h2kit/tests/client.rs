//! The client against h2kit's server (in process) and against nghttpd.

use h2kit_test_support::client::{get, single_connection_client};
use h2kit_test_support::peers::Nghttpd;
use h2kit_test_support::server;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use h2kit::{Client, ClientConfig, RecvBody, ServerConfig};
use h2kit::{ErrorKind, Phase};
use http_body_util::{BodyExt, Full};

/// `/echo` echoes the body, `/hang` never answers, anything else says hello.
async fn serve(config: ServerConfig) -> (std::net::SocketAddr, server::Spawned) {
    let svc = tower::service_fn(|req: http::Request<RecvBody>| async move {
        let path = req.uri().path().to_string();
        let res = match path.as_str() {
            "/echo" => {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                http::Response::new(Full::new(body))
            }
            "/hang" => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                http::Response::new(Full::new(Bytes::new()))
            }
            _ => http::Response::new(Full::new(Bytes::from(format!("hello {path}")))),
        };
        Ok::<_, Infallible>(res)
    });
    let spawned = server::spawn(config, svc).await;
    (spawned.addr, spawned)
}

/// The first response once the server is up (it may take a moment to listen).
async fn first_response(client: &Client, url: &str) -> http::Response<RecvBody> {
    for _ in 0..50 {
        match client.send(get(url)).await {
            Ok(r) => return r,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("no answer from {url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_on_one_connection() {
    let (addr, _stop) = serve(ServerConfig::default()).await;
    let client = single_connection_client();
    let mut tasks = Vec::new();
    for i in 0..2000 {
        let c = client.clone();
        let url = format!("http://{addr}/r{i}");
        tasks.push(tokio::spawn(async move {
            let res = c.send(get(url)).await.unwrap();
            assert_eq!(res.status(), 200);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, format!("hello /r{i}"));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // POST with a body, echoed.
    let req = http::Request::post(format!("http://{addr}/echo"))
        .body(Full::new(Bytes::from(vec![b'x'; 300_000])))
        .unwrap();
    let res = client.send(req).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 300_000);
}

/// `max_connections_per_origin` 1 holds when the first requests of a client come from
/// several threads at once: exactly one of them sets the connection up, the others wait for
/// it. Checking for a setup under way and then starting one, in two steps, let two threads
/// both start one now and then: this test saw 2 connections in one run of three with 500
/// rounds (and the dropped-connection scenario, which needs its requests on one connection,
/// failed that way twice in some thirty runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_connection_however_many_threads_ask_for_it_at_once() {
    let (addr, _stop) = serve(ServerConfig::default()).await;
    for round in 0..1000 {
        let client = single_connection_client();
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(16));
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (c, start) = (client.clone(), start.clone());
            let url = format!("http://{addr}/r{i}");
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                c.send(get(url)).await.map(|r| r.status())
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 200);
        }
        let opened = client.stats().connections.connections_accepted;
        assert_eq!(opened, 1, "round {round}: {opened} connections");
    }
}

/// `send_shared`: one request head for many requests, concurrently, with and without a
/// body; nothing keeps the head once the responses are in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_request_head_serves_many_requests() {
    let (addr, _stop) = serve(ServerConfig::default()).await;
    let client = single_connection_client();
    let head = |method: &str, path: &str| {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header("x-shared", "1")
            .body(())
            .unwrap();
        std::sync::Arc::new(req.into_parts().0)
    };
    let (get_head, post_head) = (head("GET", "/shared"), head("POST", "/echo"));
    let mut tasks = Vec::new();
    for i in 0..500 {
        let (c, g, p) = (client.clone(), get_head.clone(), post_head.clone());
        tasks.push(tokio::spawn(async move {
            let res = c.send_shared(&g, Bytes::new()).await.unwrap();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "hello /shared");
            let sent = Bytes::from(format!("body {i}"));
            let res = c.send_shared(&p, sent.clone()).await.unwrap();
            assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), sent);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        std::sync::Arc::strong_count(&get_head),
        1,
        "a head is still held"
    );
    assert_eq!(
        std::sync::Arc::strong_count(&post_head),
        1,
        "a head is still held"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_header_timeout_names_the_phase() {
    let (addr, _stop) = serve(ServerConfig::default()).await;
    let mut config = ClientConfig::default();
    config.timeouts.response_headers = Some(Duration::from_millis(150));
    let client = Client::builder().config(config).build();
    let err = client
        .send(get(format!("http://{addr}/hang")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::ResponseHeaders));
    let msg = err.to_string();
    assert!(
        msg.starts_with("response headers timed out after 1"),
        "{msg}"
    );
    assert!(
        msg.contains("queued") && msg.contains("connect") && msg.contains("write"),
        "{msg}"
    );
    // The same client still works.
    let res = client.send(get(format!("http://{addr}/ok"))).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failure_is_reported_with_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder().build();
    let err = client
        .send(get(format!("http://127.0.0.1:{port}/")))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Connect), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_nghttpd() {
    let dir = std::env::temp_dir().join(format!("h2kit-nghttpd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file.txt"), b"served by nghttpd\n").unwrap();
    let server = Nghttpd::start(&dir, &["--no-tls"], &[]);
    let client = Client::builder().build();
    let url = format!("http://127.0.0.1:{}/file.txt", server.port);
    let res = first_response(&client, &url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "served by nghttpd\n"
    );
    // 500 concurrent requests over its connections.
    let mut tasks = Vec::new();
    for _ in 0..500 {
        let (c, u) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            c.send(get(u)).await.map(|r| r.status())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_keeps_no_response_fields_still_gets_status_length_and_body() {
    // `keep_response_headers` off (what `h2kit load` uses): nghttpd's six header fields are
    // dropped, but the status, the body and its declared length (the body's size hint, from
    // the engine) are all there, for a small body and for one that streams across reads, and
    // for the repeats whose head comes from the memo.
    let dir = std::env::temp_dir().join(format!("h2kit-nofields-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("small.txt"), b"small\n").unwrap();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    let server = Nghttpd::start(&dir, &["--no-tls"], &[]);
    let mut config = ClientConfig::default();
    config.proto.keep_response_headers = false;
    let client = Client::builder().config(config).build();
    let base = format!("http://127.0.0.1:{}", server.port);
    first_response(&client, &format!("{base}/small.txt")).await;
    for _ in 0..4 {
        for (path, want) in [("small.txt", &b"small\n"[..]), ("big.bin", &big[..])] {
            let res = client.send(get(format!("{base}/{path}"))).await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert!(res.headers().is_empty(), "{path}: {:?}", res.headers());
            assert_eq!(
                http_body::Body::size_hint(res.body()).exact(),
                Some(want.len() as u64),
                "{path}"
            );
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert!(body == want, "{path}: {} bytes", body.len());
        }
    }
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_idle_timeout_and_tower_service() {
    use tower::ServiceExt;
    // A body that sends one chunk, then stalls.
    let svc = tower::service_fn(|_req: http::Request<RecvBody>| async move {
        let stream = futures_lite_stream();
        Ok::<_, Infallible>(http::Response::new(stream))
    });
    let addr = server::spawn(ServerConfig::default(), svc).await.addr;
    let mut config = ClientConfig::default();
    config.timeouts.body_idle = Some(Duration::from_millis(200));
    let client = Client::builder().config(config).build();
    // Through tower::Service.
    let res = client
        .clone()
        .oneshot(get(format!("http://{addr}/")))
        .await
        .unwrap();
    let mut body = res.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), "first");
    let err = body.frame().await.unwrap().unwrap_err();
    assert_eq!(err.timeout_phase(), Some(h2kit::Phase::BodyIdle));
    assert!(err.to_string().contains("body idle timed out after 200ms"));
}

/// The client's `streams_tracked` once `settled` holds of it (or after half a second).
async fn tracked_once_settled(client: &Client, settled: impl Fn(u64) -> bool) -> u64 {
    let mut n = client.stats().streams_tracked;
    for _ in 0..50 {
        if settled(n) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        n = client.stats().streams_tracked;
    }
    n
}

/// One chunk, then nothing for an hour.
fn futures_lite_stream() -> Stall {
    Stall {
        sent: false,
        sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
    }
}

struct Stall {
    sent: bool,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for Stall {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        use std::future::Future;
        if !self.sent {
            self.sent = true;
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
                b"first",
            )))));
        }
        self.sleep.as_mut().poll(cx).map(|_| None)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_streams_leave_no_state_behind() {
    let (addr, _stop) = serve(ServerConfig::default()).await;
    let client = single_connection_client();
    for i in 0..1000 {
        let res = client
            .send(get(format!("http://{addr}/n{i}")))
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
    }
    // Requests with a body have a stream context from the start; their small responses come
    // whole with their heads (`take_whole_body`), and the context must go with them too.
    for i in 0..200 {
        let req = http::Request::post(format!("http://{addr}/echo"))
            .body(Full::new(Bytes::from(format!("body {i}"))))
            .unwrap();
        let res = client.send(req).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("body {i}"));
    }
    // Published after the task's next turn.
    assert_eq!(
        tracked_once_settled(&client, |n| n == 0).await,
        0,
        "state leaked for finished streams"
    );
    // The count does see a request in flight (its reply waits in the task), and a cancelled
    // request leaves nothing behind either.
    let hanging = {
        let c = client.clone();
        tokio::spawn(async move { c.send(get(format!("http://{addr}/hang"))).await })
    };
    assert_eq!(tracked_once_settled(&client, |n| n > 0).await, 1);
    hanging.abort();
    assert_eq!(
        tracked_once_settled(&client, |n| n == 0).await,
        0,
        "state leaked for a cancelled stream"
    );
}

/// 50 chunks of 100 KB with no size hint: streamed, not buffered.
struct Chunks(u32);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(None);
        }
        self.0 -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
            b'c';
            100_000
        ])))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_request_body_of_unknown_size() {
    let (addr, _stop) = serve(ServerConfig::default()).await;
    let client = Client::builder().build();
    let req = http::Request::post(format!("http://{addr}/echo"))
        .body(Chunks(50))
        .unwrap();
    let res = client.send(req).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 5_000_000);
    assert!(body.iter().all(|b| *b == b'c'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(feature = "tls")]
async fn against_nghttpd_over_tls() {
    let dir = std::env::temp_dir().join(format!("h2kit-nghttpd-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file.txt"), b"served over TLS\n").unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let server = Nghttpd::start(&dir, &[], &[dir.join("key.pem"), dir.join("cert.pem")]);
    // Trust the self-signed certificate as a custom root.
    let tls = h2kit::tls::client_config(Some(&dir.join("cert.pem"))).unwrap();
    let client = Client::builder().tls(tls).build();
    let url = format!("https://localhost:{}/file.txt", server.port);
    let res = first_response(&client, &url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "served over TLS\n"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}
