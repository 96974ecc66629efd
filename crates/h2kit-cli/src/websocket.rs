//! WebSockets over HTTP/2 (RFC 8441): `h2kit serve`'s `/ws` echo and `h2kit get --ws`.
//!
//! Both ends run tokio-tungstenite over an [`h2kit::tunnel::Tunnel`]: over HTTP/2 there is no
//! HTTP/1.1 upgrade handshake (no Sec-WebSocket-Key), only the extended CONNECT's 200.

use futures_util::{SinkExt, StreamExt};
use h2kit::tunnel::{self, Tunnel};
use h2kit::RecvBody;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::response::{status, ResBody};

/// The WebSocket version RFC 8441 §5 carries over (RFC 6455's).
const VERSION: &str = "13";

/// Answers a CONNECT request: an extended CONNECT for `websocket` on `/ws` is accepted and
/// echoed; anything else gets the status that says why not.
pub fn route(req: Request<RecvBody>) -> Response<ResBody> {
    let Some(protocol) = tunnel::protocol(&req) else {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "h2kit serve is not a proxy: CONNECT needs :protocol (extended CONNECT, RFC 8441)",
        );
    };
    if req.uri().path() != "/ws" {
        return status(StatusCode::NOT_FOUND, "only /ws takes an extended CONNECT");
    }
    if !protocol.eq_ignore_ascii_case("websocket") {
        return status(
            StatusCode::NOT_IMPLEMENTED,
            &format!("/ws speaks the websocket protocol, not '{protocol}'"),
        );
    }
    let version = req.headers().get("sec-websocket-version");
    if version.is_none_or(|v| v != VERSION) {
        // RFC 6455 §4.4: say which version we speak.
        let mut res = status(
            StatusCode::BAD_REQUEST,
            "/ws needs sec-websocket-version: 13 (RFC 8441 §5, RFC 6455 §4.4)",
        );
        res.headers_mut().insert(
            "sec-websocket-version",
            http::HeaderValue::from_static(VERSION),
        );
        return res;
    }
    let (res, tunnel) = tunnel::accept(req);
    tokio::spawn(echo(tunnel));
    res.map(|b| b.map_err(|e| match e {}).boxed())
}

/// Sends every text and binary message back until the client closes (tungstenite answers
/// pings and the close itself).
async fn echo(tunnel: Tunnel) {
    let mut ws = WebSocketStream::from_raw_socket(tunnel, Role::Server, None).await;
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            break;
        }
    }
}

/// `h2kit get --ws URL`: each line of stdin goes as a text message, and each message that
/// comes back is printed on a line of its own. At the end of stdin the client closes and
/// prints what still arrives until the server's close.
pub async fn client(
    client: h2kit::Client,
    uri: http::Uri,
    mut headers: http::HeaderMap,
) -> Result<(), crate::Exit> {
    headers
        .entry("sec-websocket-version")
        .or_insert(http::HeaderValue::from_static(VERSION));
    let mut req = Request::new(());
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    let (_, tunnel) = client.connect_tunnel(req, "websocket").await.map_err(|e| {
        let hint = match e.kind() {
            h2kit::ErrorKind::InvalidRequest => {
                "; hint: the server must allow extended CONNECT (h2kit serve \
                     --enable-connect-protocol)"
            }
            _ => "",
        };
        crate::Exit::Failed(format!("WebSocket: {e}{hint}"))
    })?;
    let ws = WebSocketStream::from_raw_socket(tunnel, Role::Client, None).await;
    let (mut tx, mut rx) = ws.split();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let failed =
        |e: tokio_tungstenite::tungstenite::Error| crate::Exit::Failed(format!("WebSocket: {e}"));
    loop {
        tokio::select! {
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => tx.send(Message::text(line)).await.map_err(failed)?,
                Ok(None) => {
                    stdin_open = false;
                    tx.send(Message::Close(None)).await.map_err(failed)?;
                }
                Err(e) => return Err(crate::Exit::Failed(format!("reading stdin: {e}"))),
            },
            // After the close handshake the server ends the stream: reading on to that end
            // closes it cleanly both ways (a tunnel dropped earlier would be cancelled).
            msg = rx.next() => match msg {
                None | Some(Err(WsError::ConnectionClosed)) => return Ok(()),
                Some(Err(e)) => return Err(failed(e)),
                Some(Ok(Message::Text(t))) => println!("{t}"),
                Some(Ok(Message::Binary(b))) => println!("(binary, {} bytes)", b.len()),
                Some(Ok(_)) => {}
            },
        }
    }
}
