//! Extended CONNECT (RFC 8441) through the library: a handler accepts a tunnel and uses it as
//! a byte stream, the client opens one, and the stream's ends map onto the byte stream's
//! (END_STREAM is EOF, RST_STREAM an error, a refusal an error naming the status).

use std::convert::Infallible;

use bytes::Bytes;
use h2kit::tunnel::{self, TunnelBody};
use h2kit::{Client, ErrorKind, RecvBody, ServerConfig};
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Body = UnsyncBoxBody<Bytes, Infallible>;

fn boxed(b: TunnelBody) -> Body {
    b.boxed_unsync()
}

/// `:protocol` "echo": every byte back, then END_STREAM after the client's. "upper": the
/// bytes upper-cased until the client's END_STREAM, then "bye" and END_STREAM. "reset": reads
/// one chunk, then drops the stream's reader and writer without ending it (the response
/// body ends: END_STREAM). Anything else: 404 and a sentence.
async fn handle(req: Request<RecvBody>) -> Result<Response<Body>, Infallible> {
    let Some(protocol) = tunnel::protocol(&req).map(str::to_string) else {
        return Ok(Response::new(
            Full::new(Bytes::from("not a tunnel")).boxed_unsync(),
        ));
    };
    match protocol.as_str() {
        "echo" => {
            let (res, mut t) = tunnel::accept(req);
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                loop {
                    let n = t.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    t.write_all(&buf[..n]).await.unwrap();
                }
                t.shutdown().await.unwrap();
            });
            Ok(res.map(boxed))
        }
        "upper" => {
            let (res, mut t) = tunnel::accept(req);
            tokio::spawn(async move {
                let mut all = Vec::new();
                t.read_to_end(&mut all).await.unwrap();
                t.write_all(&all.to_ascii_uppercase()).await.unwrap();
                t.write_all(b" bye").await.unwrap();
                t.shutdown().await.unwrap();
            });
            Ok(res.map(boxed))
        }
        _ => {
            let mut res =
                Response::new(Full::new(Bytes::from("no such protocol\n")).boxed_unsync());
            *res.status_mut() = StatusCode::NOT_FOUND;
            Ok(res)
        }
    }
}

fn allowing() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.proto.enable_connect_protocol = true;
    c
}

fn connect(url: &str) -> Request<()> {
    Request::builder()
        .uri(url)
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap()
}

#[tokio::test]
async fn a_tunnel_carries_bytes_both_ways_and_its_ends_are_the_streams() {
    let server = h2kit_test_support::server::spawn(allowing(), tower::service_fn(handle)).await;
    let client = Client::builder().build();

    // On a new connection: the request waits for the server's SETTINGS, then goes.
    let (res, mut t) = client
        .connect_tunnel(connect(&server.url("/chat")), "echo")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for msg in [&b"hello"[..], &[7u8; 100_000][..], b"again"] {
        t.write_all(msg).await.unwrap();
        let mut back = vec![0; msg.len()];
        t.read_exact(&mut back).await.unwrap();
        assert_eq!(back, msg);
    }
    // Our END_STREAM: the server's side ends too, which reads as EOF.
    t.shutdown().await.unwrap();
    let mut rest = Vec::new();
    t.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());

    // Half-close: the server reads to our END_STREAM, then still writes.
    let (_, mut t) = client
        .connect_tunnel(connect(&server.url("/x")), "upper")
        .await
        .unwrap();
    t.write_all(b"one ").await.unwrap();
    t.write_all(b"two").await.unwrap();
    t.shutdown().await.unwrap();
    let mut all = String::new();
    t.read_to_string(&mut all).await.unwrap();
    assert_eq!(all, "ONE TWO bye");

    // Counters are published as connections go idle.
    let stats = settled(&server, |s| s.extended_connects >= 2).await;
    assert_eq!(stats.extended_connects, 2, "{stats:?}");
    assert_eq!(client.stats().connections.extended_connects, 2);
}

/// The server's counters once `done` holds of them (they are published as connections go
/// idle), or after five seconds.
async fn settled(
    server: &h2kit_test_support::server::Spawned,
    done: impl Fn(&h2kit::stats::StatsSnapshot) -> bool,
) -> h2kit::stats::StatsSnapshot {
    for _ in 0..500 {
        let s = server.stats.snapshot();
        if done(&s) {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.stats.snapshot()
}

#[tokio::test]
async fn a_refused_tunnel_names_the_status_and_what_the_server_said() {
    let server = h2kit_test_support::server::spawn(allowing(), tower::service_fn(handle)).await;
    let client = Client::builder().build();
    let e = client
        .connect_tunnel(connect(&server.url("/")), "carrier-pigeon")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TunnelRefused(StatusCode::NOT_FOUND));
    assert_eq!(
        e.to_string(),
        "the server answered the extended CONNECT with 404 Not Found (no such protocol)"
    );
}

#[tokio::test]
async fn without_the_servers_setting_the_client_refuses_to_send_it() {
    let server =
        h2kit_test_support::server::spawn(ServerConfig::default(), tower::service_fn(handle)).await;
    let client = Client::builder().build();
    let e = client
        .connect_tunnel(connect(&server.url("/")), "echo")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(
        e.to_string().contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
        "{e}"
    );
    // Nothing reached the server: the next request on the connection is its first stream.
    let res = client
        .send(h2kit_test_support::client::get(server.url("/")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let stats = settled(&server, |s| s.streams >= 1).await;
    assert_eq!(
        (stats.streams, stats.extended_connects),
        (1, 0),
        "{stats:?}"
    );
    assert_eq!(stats.connections_accepted, 1);
}

/// A response body that fails once the client's first bytes arrived: the server resets the
/// stream (INTERNAL_ERROR).
struct FailsAfter(tokio::sync::oneshot::Receiver<()>);

impl http_body::Body for FailsAfter {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|_| Some(Err(std::io::Error::other("the handler's task failed"))))
    }
}

use std::future::Future;

#[tokio::test]
async fn a_reset_stream_is_a_connection_reset_for_the_byte_stream() {
    let svc = tower::service_fn(|req: Request<RecvBody>| async move {
        let (_res, mut t) = tunnel::accept(req);
        let (failed, fails) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut b = [0; 5];
            t.read_exact(&mut b).await.unwrap();
            let _ = failed.send(());
            // The tunnel stays open: only the reset ends the stream.
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        });
        Ok::<_, Infallible>(Response::new(FailsAfter(fails)))
    });
    let server = h2kit_test_support::server::spawn(allowing(), svc).await;
    let client = Client::builder().build();
    let (_, mut t) = client
        .connect_tunnel(connect(&server.url("/")), "echo")
        .await
        .unwrap();
    t.write_all(b"hello").await.unwrap();
    let mut b = [0; 1];
    let e = t.read(&mut b).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    assert!(e.to_string().contains("INTERNAL_ERROR"), "{e}");
    // Writing after the reset fails too (once the client's connection task saw it).
    let mut broken = None;
    for _ in 0..100 {
        if let Err(e) = t.write_all(b"more").await {
            broken = Some(e);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        broken.expect("writes fail after the reset").kind(),
        std::io::ErrorKind::BrokenPipe
    );
}
