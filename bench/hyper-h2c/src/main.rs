//! The fairest hyper setup we know for this benchmark: hyper 1.x HTTP/2 server on a
//! current-thread tokio runtime, h2c prior knowledge, the same routes and bodies as
//! `h2kit serve` (`/` returns 17 bytes; `/sink` reads the body and returns "ok\n").

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/sink" {
        let _ = req.into_body().collect().await;
        return Ok(Response::new(Full::new(Bytes::from_static(b"ok\n"))));
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"hello from h2kit\n"))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8082".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on {addr}");
    loop {
        let (sock, _) = listener.accept().await.expect("accept");
        let _ = sock.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .max_concurrent_streams(100)
                .serve_connection(TokioIo::new(sock), hyper::service::service_fn(handle))
                .await;
        });
    }
}
