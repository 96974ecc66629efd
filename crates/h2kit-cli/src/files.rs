//! `h2kit serve --root DIR`: static files, as a test server needs them to host a page.
//!
//! GET and HEAD; a content type by extension; a strong ETag (size and modification time) and
//! Last-Modified, with conditional GET (If-None-Match, else If-Modified-Since: 304); a
//! directory's `index.html`, or a listing; a directory asked for without its slash is
//! redirected to it (so that relative links resolve). Nothing outside DIR is served: a path
//! with a `..` segment is a bad request (a client normalises dot-segments before sending,
//! RFC 3986 §5.2.4), and a symbolic link that leads out of DIR is forbidden.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::io::AsyncRead;

use crate::response::{full, status, BoxError, ResBody};

/// Serves `path` (the request's, still percent-encoded) from `root` (canonical).
pub async fn serve(
    root: &Path,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response<ResBody> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = status(StatusCode::METHOD_NOT_ALLOWED, "files take GET and HEAD");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(relative) = relative_path(path) else {
        return status(
            StatusCode::BAD_REQUEST,
            "the path has a `..` segment or a NUL",
        );
    };
    let wanted = root.join(&relative);
    let Ok(found) = tokio::fs::canonicalize(&wanted).await else {
        return status(StatusCode::NOT_FOUND, "no such file");
    };
    if !found.starts_with(root) {
        return status(
            StatusCode::FORBIDDEN,
            "the path leads out of the served directory",
        );
    }
    let Ok(meta) = tokio::fs::metadata(&found).await else {
        return status(StatusCode::NOT_FOUND, "no such file");
    };
    if meta.is_dir() {
        if !path.ends_with('/') {
            let mut r = status(StatusCode::MOVED_PERMANENTLY, "a directory");
            if let Ok(v) = HeaderValue::from_str(&format!("{path}/")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        let index = found.join("index.html");
        return match tokio::fs::metadata(&index).await {
            Ok(m) if m.is_file() => file(&index, &m, method, headers).await,
            _ => listing(&found, path, method).await,
        };
    }
    if !meta.is_file() {
        return status(StatusCode::FORBIDDEN, "not a regular file");
    }
    file(&found, &meta, method, headers).await
}

/// The path under the root, percent-decoded; `None` for a `..` segment or a NUL.
fn relative_path(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for segment in path.split('/') {
        let decoded = percent_decode(segment)?;
        match decoded.as_str() {
            "" | "." => {}
            ".." => return None,
            s if s.contains('\0') || s.contains('/') || s.contains('\\') => return None,
            s => out.push(s),
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn file(
    path: &Path,
    meta: &std::fs::Metadata,
    method: &Method,
    headers: &HeaderMap,
) -> Response<ResBody> {
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let since_epoch = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let etag = format!("\"{:x}-{:x}\"", meta.len(), since_epoch.as_nanos());
    let last_modified = http_date(since_epoch.as_secs());
    let not_modified = match headers.get(header::IF_NONE_MATCH) {
        // RFC 9110 §13.1.2: weak comparison; If-Modified-Since is then ignored.
        Some(v) => v.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
        }),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| parse_http_date(v.to_str().ok()?))
            .is_some_and(|since| since_epoch.as_secs() <= since),
    };
    let mut r = if not_modified {
        let mut r = Response::new(full(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = if method == Method::HEAD {
            full(Bytes::new())
        } else {
            match tokio::fs::File::open(path).await {
                Ok(f) => FileBody {
                    file: f,
                    left: meta.len(),
                    buf: BytesMut::new(),
                }
                .boxed(),
                Err(_) => return status(StatusCode::NOT_FOUND, "no such file"),
            }
        };
        let mut r = Response::new(body);
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, meta.len().into());
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        );
        r
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    r
}

/// A directory without `index.html`: its entries as links.
async fn listing(dir: &Path, path: &str, method: &Method) -> Response<ResBody> {
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            let mut name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().await.is_ok_and(|t| t.is_dir()) {
                name.push('/');
            }
            names.push(name);
        }
    }
    names.sort();
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut html = format!(
        "<!doctype html>\n<title>{0}</title>\n<h1>{0}</h1>\n<ul>\n",
        escape(path)
    );
    for n in &names {
        html.push_str(&format!("<li><a href=\"{0}\">{0}</a></li>\n", escape(n)));
    }
    html.push_str("</ul>\n");
    let len = html.len();
    let body = if method == Method::HEAD {
        full(Bytes::new())
    } else {
        full(html)
    };
    let mut r = Response::new(body);
    r.headers_mut().insert(header::CONTENT_LENGTH, len.into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// An IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Seconds since the epoch of an HTTP-date in any of its three formats, as a recipient must
/// accept them (RFC 9110 §5.6.7); `None` for anything else (the header is then ignored, as
/// §13.1.3 says of an invalid date).
fn parse_http_date(s: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(s).ok()?;
    Some(t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs())
}

/// A file's bytes in 64 KiB reads; an I/O error resets the stream.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
    buf: BytesMut,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let want = this.left.min(64 << 10) as usize;
        this.buf.resize(want, 0);
        let mut rb = tokio::io::ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    let e =
                        std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file shrank");
                    return Poll::Ready(Some(Err(e.into())));
                }
                this.left -= n as u64;
                let chunk = this.buf.split_to(n).freeze();
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_nul_are_refused_after_decoding() {
        assert_eq!(relative_path("/a/b.txt"), Some(PathBuf::from("a/b.txt")));
        assert_eq!(relative_path("/a/./b%20c"), Some(PathBuf::from("a/b c")));
        assert_eq!(relative_path("/../etc/passwd"), None);
        assert_eq!(relative_path("/a/%2e%2e/b"), None);
        assert_eq!(relative_path("/a%2f..%2fb"), None);
        assert_eq!(relative_path("/a%00b"), None);
        assert_eq!(relative_path("/%zz"), None);
    }

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        // The obsolete formats too (RFC 9110 §5.6.7): RFC 850 and asctime.
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sun Nov  6 08:49:37 1994"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("garbage"), None);
    }
}
