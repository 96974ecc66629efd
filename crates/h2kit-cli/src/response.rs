//! What every route answers with: the response body type, and the small bodies.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};

/// A response body's error (a file that cannot be read, a request body that failed).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ResBody = BoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(b: impl Into<Bytes>) -> ResBody {
    Full::new(b.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

/// A response with `code` and a one-line text body.
pub fn status(code: StatusCode, msg: &str) -> Response<ResBody> {
    let mut r = Response::new(full(format!("{msg}\n")));
    *r.status_mut() = code;
    r
}
