//! h2kit clients and requests as the tests use them.

use bytes::Bytes;
use http_body_util::Empty;

/// A GET of `url` without a body.
pub fn get(url: impl AsRef<str>) -> http::Request<Empty<Bytes>> {
    http::Request::get(url.as_ref()).body(Empty::new()).unwrap()
}

/// A client that keeps at most one connection per origin.
pub fn single_connection_client() -> h2kit::Client {
    h2kit::Client::builder()
        .max_connections_per_origin(1)
        .build()
}
