//! `--metrics-listen`: a Prometheus endpoint (`GET /metrics`) for `serve` and `load`, with
//! the conventions' histogram buckets and every metric described.

mod exposition;
mod recorder;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use recorder::Recorder;

/// Installs the process's metrics recorder and serves it on `addr`; call it inside the
/// runtime, before the first connection.
pub fn serve(addr: SocketAddr) -> Result<(), String> {
    let busy = |e: std::io::Error| {
        format!("--metrics-listen {addr}: cannot serve metrics there ({e}); pick a free port")
    };
    // Bound here, so that a busy port is said before anything starts.
    let listener = std::net::TcpListener::bind(addr).map_err(busy)?;
    listener.set_nonblocking(true).map_err(busy)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(busy)?;
    let recorder = Recorder::new(h2kit::metrics::BUCKETS);
    metrics::set_global_recorder(recorder.clone())
        .map_err(|_| "--metrics-listen: a metrics recorder is already installed".to_string())?;
    h2kit::metrics::describe();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let recorder = recorder.clone();
            tokio::spawn(answer(socket, recorder));
        }
    });
    Ok(())
}

/// One HTTP/1.1 exchange: `GET /metrics` gets the exposition, anything else a 404; then the
/// connection closes (as Prometheus expects either way).
async fn answer(mut socket: tokio::net::TcpStream, recorder: Recorder) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut buf)).await
        {
            Ok(Ok(n)) if n > 0 && head.len() < 16 << 10 => head.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let (status, body) = if line.starts_with(b"GET /metrics ") || line.starts_with(b"GET /metrics?")
    {
        ("200 OK", exposition::render(&recorder))
    } else {
        ("404 Not Found", "GET /metrics\n".to_string())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}
