//! The library API a hyper or reqwest user expects: a server over any transport (here Unix
//! domain sockets, with Python's `h2` as the client), a service that is not `Sync`, and a
//! client whose builder sets default headers.

use std::convert::Infallible;
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll};

use bytes::Bytes;
use h2kit::{Client, RecvBody, Server, ServerConfig};
use http_body_util::{BodyExt, Full};
use tower::util::BoxCloneService;

type Svc = BoxCloneService<http::Request<RecvBody>, http::Response<Full<Bytes>>, Infallible>;

/// A service that is `Send + Clone` but not `Sync` (a `BoxCloneService`), answering with the
/// path and the request's user-agent.
fn service() -> Svc {
    BoxCloneService::new(tower::service_fn(
        |req: http::Request<RecvBody>| async move {
            let agent = req
                .headers()
                .get(http::header::USER_AGENT)
                .map(|v| v.to_str().unwrap_or("?").to_string())
                .unwrap_or_else(|| "-".into());
            let body = format!("{} {agent}", req.uri().path());
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(body))))
        },
    ))
}

/// Python's `h2` over the Unix socket at `path`: one GET, then "STATUS BODY" on stdout.
const PY_CLIENT: &str = r#"
import socket, sys
import h2.connection, h2.events
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
c = h2.connection.H2Connection()
c.initiate_connection()
c.send_headers(1, [(':method', 'GET'), (':scheme', 'http'), (':authority', 'uds'),
                   (':path', sys.argv[2])], end_stream=True)
s.sendall(c.data_to_send())
status, body = None, b''
while True:
    data = s.recv(65535)
    if not data:
        sys.exit('connection closed before the response ended')
    for e in c.receive_data(data):
        if isinstance(e, h2.events.ResponseReceived):
            status = dict(e.headers)[b':status'].decode()
        elif isinstance(e, h2.events.DataReceived):
            body += e.data
            c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.StreamEnded):
            print(status, body.decode())
            sys.exit(0)
    s.sendall(c.data_to_send())
"#;

async fn python_get(socket: &std::path::Path, path: &str) -> String {
    let socket = socket.to_path_buf();
    let path = path.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-c", PY_CLIENT, socket.to_str().unwrap(), &path])
            .output()
            .expect("python3 with h2 is required (scripts/test installs it)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn socket_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("h2kit-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[tokio::test]
async fn serve_connection_over_a_unix_socket_with_a_service_that_is_not_sync() {
    let path = socket_path("one");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = Server::new(ServerConfig::default());
    let stats = server.stats();
    let served = tokio::spawn(async move {
        let (io, _) = listener.accept().await.unwrap();
        server.serve_connection(io, service()).await
    });
    assert_eq!(python_get(&path, "/over-uds").await, "200 /over-uds -");
    served.await.unwrap().unwrap();
    let s = stats.snapshot();
    assert_eq!((s.connections_accepted, s.connections_open), (1, 0));
    let _ = std::fs::remove_file(&path);
}

/// Unix socket connections as a stream, as a custom acceptor would give them.
struct Accepting(tokio::net::UnixListener, usize);

impl futures_core::Stream for Accepting {
    type Item = std::io::Result<tokio::net::UnixStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.1 == 0 {
            return Poll::Ready(None);
        }
        match self.0.poll_accept(cx) {
            Poll::Ready(r) => {
                self.1 -= 1;
                Poll::Ready(Some(r.map(|(io, _)| io)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[tokio::test]
async fn serve_incoming_serves_each_connection_of_a_stream_until_it_ends() {
    let path = socket_path("many");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = Server::new(ServerConfig::default());
    let stats = server.stats();
    // Three connections, then the stream ends and `serve_incoming` returns once they are done.
    let served = tokio::spawn(server.serve_incoming(
        Accepting(listener, 3),
        service(),
        std::future::pending(),
    ));
    for i in 0..3 {
        let path_i = format!("/c{i}");
        assert_eq!(python_get(&path, &path_i).await, format!("200 {path_i} -"));
    }
    tokio::time::timeout(std::time::Duration::from_secs(5), served)
        .await
        .expect("serve_incoming returns when its stream ends")
        .unwrap()
        .unwrap();
    assert_eq!(stats.snapshot().connections_accepted, 3);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_clients_default_headers_fill_in_what_a_request_lacks() {
    let addr = h2kit_test_support::server::spawn(ServerConfig::default(), service())
        .await
        .addr;
    let client = Client::builder().user_agent("h2kit-test/1").build();
    let body = |res: http::Response<RecvBody>| async move {
        let b = res.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(b.to_vec()).unwrap()
    };
    let plain = h2kit_test_support::client::get(format!("http://{addr}/a"));
    assert_eq!(
        body(client.send(plain).await.unwrap()).await,
        "/a h2kit-test/1"
    );
    // A request's own value wins.
    let own = http::Request::get(format!("http://{addr}/b"))
        .header("user-agent", "mine")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(body(client.send(own).await.unwrap()).await, "/b mine");
    // Debug says what the client is without dumping internals.
    let debug = format!("{client:?}");
    assert!(
        debug.starts_with("Client {") && debug.contains("connections_healthy: 1"),
        "{debug}"
    );
}
