//! Extended CONNECT from the client (RFC 8441 §4): a request whose stream becomes a
//! [`Tunnel`] once the server answers 2xx.

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::BodyExt;

use super::Client;
use crate::tunnel::Tunnel;
use crate::{Error, ErrorKind, RecvBody};

/// The longest part of a refusal's body quoted in the error.
const QUOTED: usize = 200;

impl Client {
    /// Opens an extended CONNECT stream for `protocol` (RFC 8441 §4), such as `websocket`,
    /// to `req`'s URI with its header fields (its method is ignored): once the server answers
    /// 2xx, the stream is a byte stream both ways. `ws://` and `wss://` URIs are sent as
    /// `http` and `https` (RFC 8441 §5).
    ///
    /// On a new connection the request waits for the server's SETTINGS. It fails with
    /// [`ErrorKind::InvalidRequest`] when the server did not advertise
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL, and with [`ErrorKind::TunnelRefused`] when it
    /// answered with another status. Never retried once sent, like any streamed body; the
    /// response-body idle timeout applies to the tunnel's reads.
    pub async fn connect_tunnel(
        &self,
        req: Request<()>,
        protocol: &str,
    ) -> Result<(Response<()>, Tunnel), Error> {
        let (mut parts, ()) = req.into_parts();
        parts.method = Method::CONNECT;
        parts.uri = http_scheme(parts.uri)?;
        parts
            .extensions
            .insert(h2kit_proto::message::Protocol(Bytes::copy_from_slice(
                protocol.as_bytes(),
            )));
        let (mut tunnel, body) = Tunnel::new(RecvBody::empty());
        let res = self.send(Request::from_parts(parts, body)).await?;
        let (head, body) = res.into_parts();
        if !head.status.is_success() {
            // What the server said, if it said it in a few words.
            let said = body
                .collect()
                .await
                .ok()
                .map(|b| b.to_bytes())
                .filter(|b| !b.is_empty() && b.len() <= QUOTED)
                .and_then(|b| String::from_utf8(b.to_vec()).ok())
                .map(|s| s.trim().to_string());
            let e = Error::new(ErrorKind::TunnelRefused(head.status));
            return Err(match said {
                Some(s) => e.with_detail(s),
                None => e,
            });
        }
        tunnel.set_recv(body);
        Ok((Response::from_parts(head, ()), tunnel))
    }
}

/// The request's URI with a WebSocket scheme written as the HTTP one it runs over.
fn http_scheme(uri: http::Uri) -> Result<http::Uri, Error> {
    let scheme = match uri.scheme_str() {
        Some("ws") => "http",
        Some("wss") => "https",
        _ => return Ok(uri),
    };
    let mut parts = uri.into_parts();
    parts.scheme = Some(scheme.parse().expect("a valid scheme"));
    http::Uri::from_parts(parts).map_err(|e| {
        Error::new(ErrorKind::InvalidRequest).with_detail(format!("the tunnel's URI: {e}"))
    })
}
