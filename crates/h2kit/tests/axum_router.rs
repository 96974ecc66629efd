//! An `axum::Router` runs on h2kit's server unchanged: routes, a JSON extractor, a streaming
//! response. Requests come from curl (an independent HTTP/2 client).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use h2kit::ServerConfig;
use http_body::Frame;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Order {
    item: String,
    quantity: u32,
}

#[derive(Serialize)]
struct Receipt {
    item: String,
    total_cents: u32,
}

/// Five chunks, 20 ms apart.
struct Ticker {
    n: u32,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Ticker {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.n == 5 {
            return Poll::Ready(None);
        }
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(20))));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        self.n += 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(format!(
            "tick {}\n",
            self.n
        ))))))
    }
}

use std::future::Future;

fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .route("/users/{id}", get(|axum::extract::Path(id): axum::extract::Path<u32>| async move { format!("user {id}") }))
        .route(
            "/order",
            post(|Json(o): Json<Order>| async move {
                Json(Receipt { total_cents: o.quantity * 250, item: o.item })
            }),
        )
        .route("/ticks", get(|| async { axum::body::Body::new(Ticker { n: 0, sleep: None }) }))
}

fn curl(args: &[&str]) -> (String, String) {
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--http2-prior-knowledge",
            "-w",
            "\n%{http_version} %{http_code}",
        ])
        .args(args)
        .output()
        .expect("curl is required (CI installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (body.to_string(), status.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_router_runs_unchanged() {
    let server = h2kit_test_support::server::spawn(ServerConfig::default(), router()).await;
    let addr = server.addr;
    let base = format!("http://{addr}");
    let checks = tokio::task::spawn_blocking(move || {
        assert_eq!(
            curl(&[&format!("{base}/")]),
            ("hello from axum".into(), "2 200".into())
        );
        assert_eq!(
            curl(&[&format!("{base}/users/42")]),
            ("user 42".into(), "2 200".into())
        );
        assert_eq!(curl(&[&format!("{base}/nope")]).1, "2 404");
        let (body, status) = curl(&[
            "-H",
            "content-type: application/json",
            "--data",
            r#"{"item":"tea","quantity":3}"#,
            &format!("{base}/order"),
        ]);
        assert_eq!(status, "2 200");
        assert_eq!(body, r#"{"item":"tea","total_cents":750}"#);
        // The extractor's own rejection comes through too.
        let (_, status) = curl(&[
            "-H",
            "content-type: application/json",
            "--data",
            "not json",
            &format!("{base}/order"),
        ]);
        assert_eq!(status, "2 400");
        let (body, status) = curl(&[&format!("{base}/ticks")]);
        assert_eq!(status, "2 200");
        assert_eq!(body, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
    });
    checks.await.unwrap();
    server.shut_down().await.unwrap();
}
