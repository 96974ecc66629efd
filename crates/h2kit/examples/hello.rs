//! A minimal h2c server: `cargo run -p h2kit --example hello -- 127.0.0.1:8080`.

use std::convert::Infallible;

use bytes::Bytes;
use h2kit::{RecvBody, Server, ServerConfig};
use http_body_util::Full;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let svc = tower::service_fn(|_req: http::Request<RecvBody>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
            b"hello, world!\n",
        ))))
    });
    Server::new(ServerConfig::default())
        .serve(listener, svc, std::future::pending())
        .await
}
