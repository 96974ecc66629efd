//! The built-in test routes of `h2kit serve`.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2kit::RecvBody;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use crate::response::{full, status, BoxError, ResBody};

pub const HELP: &str = "\
Built-in routes:
  /            a small text body
  /bytes/N     N bytes (up to 1 GiB), streamed in 64 KiB chunks
  /echo        streams the request body (and its trailers) back
  /sink        reads the whole request body, then answers ok
  /delay/MS    answers after MS milliseconds (up to 60,000)
  /status/CODE an empty response with that status (200-599)
  /trailers    a body followed by trailers (grpc-status: 0)
  /ws          a WebSocket echo over HTTP/2 (RFC 8441; needs --enable-connect-protocol)
With --root DIR, every other path (/ included) is a file or directory under DIR.";

/// The service of `h2kit serve --root`: the built-in routes, and the files under `root`
/// (canonical) at every other path. Without a root, `serve` uses [`handle`] itself, so the
/// built-in routes' future stays as small as it was.
pub fn with_files(
    root: std::path::PathBuf,
) -> impl tower::Service<
    Request<RecvBody>,
    Response = Response<ResBody>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<ResBody>, Infallible>> + Send,
> + Clone
       + Send
       + 'static {
    let root = std::sync::Arc::new(root);
    tower::service_fn(move |req: Request<RecvBody>| {
        let root = root.clone();
        async move {
            let path = req.uri().path();
            let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
            if BUILT_IN.contains(&first) || req.method() == http::Method::CONNECT {
                return handle(req).await;
            }
            Ok(crate::files::serve(&root, req.method(), path, req.headers()).await)
        }
    })
}

/// The first path segments that name a built-in route (the others are files under a root).
const BUILT_IN: [&str; 7] = ["bytes", "echo", "sink", "delay", "status", "trailers", "ws"];

/// The built-in routes.
pub async fn handle(req: Request<RecvBody>) -> Result<Response<ResBody>, Infallible> {
    if req.method() == http::Method::CONNECT {
        return Ok(crate::websocket::route(req));
    }
    let path = req.uri().path().to_string();
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let res = match (parts.next().unwrap_or(""), parts.next()) {
        ("", None) => Response::new(full(Bytes::from_static(b"hello from h2kit\n"))),
        ("bytes", Some(n)) => match n.parse::<u64>() {
            Ok(n) if n <= 1 << 30 => {
                let mut r = Response::new(Zeros { left: n }.boxed());
                r.headers_mut()
                    .insert(http::header::CONTENT_LENGTH, n.into());
                r
            }
            _ => status(
                StatusCode::BAD_REQUEST,
                "/bytes/N takes N from 0 to 1073741824",
            ),
        },
        ("echo", None) => Response::new(req.into_body().map_err(BoxError::from).boxed()),
        ("sink", None) => match req.into_body().collect().await {
            Ok(_) => Response::new(full(Bytes::from_static(b"ok\n"))),
            Err(e) => status(StatusCode::BAD_REQUEST, &e.to_string()),
        },
        ("delay", Some(ms)) => match ms.parse::<u64>() {
            Ok(ms) if ms <= 60_000 => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Response::new(full(format!("delayed {ms} ms\n")))
            }
            _ => status(
                StatusCode::BAD_REQUEST,
                "/delay/MS takes MS from 0 to 60000",
            ),
        },
        ("status", Some(code)) => match code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        {
            Some(c) if (200..600).contains(&c.as_u16()) => {
                let mut r = Response::new(full(Bytes::new()));
                *r.status_mut() = c;
                r
            }
            _ => status(
                StatusCode::BAD_REQUEST,
                "/status/CODE takes a CODE from 200 to 599",
            ),
        },
        ("ws", None) => status(
            StatusCode::BAD_REQUEST,
            "/ws takes a WebSocket over HTTP/2: an extended CONNECT with :protocol websocket \
             (RFC 8441), which needs --enable-connect-protocol",
        ),
        ("trailers", None) => Response::new(
            WithTrailers {
                body: Some(Bytes::from_static(b"body before trailers\n")),
                done: false,
            }
            .boxed(),
        ),
        _ => status(
            StatusCode::NOT_FOUND,
            "no such route; see `h2kit serve --help`",
        ),
    };
    Ok(res)
}

/// `n` zero bytes in 64 KiB chunks that share one static allocation.
struct Zeros {
    left: u64,
}

static ZEROS: [u8; 65536] = [0; 65536];

impl Body for Zeros {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(ZEROS.len() as u64) as usize;
        self.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&ZEROS[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

struct WithTrailers {
    body: Option<Bytes>,
    done: bool,
}

impl Body for WithTrailers {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(b) = self.body.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if self.done {
            return Poll::Ready(None);
        }
        self.done = true;
        let mut t = HeaderMap::new();
        t.insert("grpc-status", http::HeaderValue::from_static("0"));
        t.insert("x-trailer", http::HeaderValue::from_static("present"));
        Poll::Ready(Some(Ok(Frame::trailers(t))))
    }
}
