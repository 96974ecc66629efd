//! RFC 8441 (extended CONNECT) at the engine: the setting is advertised only when asked for,
//! `:protocol` is malformed without it and on anything but CONNECT, a server that allows it
//! hands the request over with its protocol, and a client sends one only to a server that
//! advertised the setting, which it cannot withdraw.

mod common;
use common::peer::*;

use bytes::{Bytes, BytesMut};
use h2kit_proto::frame::*;
use h2kit_proto::message::Protocol;
use h2kit_proto::{Config, Connection, ErrorCode, Event, Head, SendError};
use std::time::Instant;

const WS: [(&str, &str); 5] = [
    (":method", "CONNECT"),
    (":protocol", "websocket"),
    (":scheme", "https"),
    (":path", "/chat"),
    (":authority", "a.test"),
];

fn allowing() -> Config {
    Config {
        enable_connect_protocol: true,
        ..Config::default()
    }
}

/// The SETTINGS a new server connection sends first.
fn first_settings(config: Config) -> Settings {
    let mut conn = Connection::server(config, Instant::now());
    let mut out = BytesMut::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut d = FrameDecoder::new();
    match d.decode(&mut out).unwrap() {
        Some(Frame::Settings(s)) => s,
        other => panic!("first frame: {other:?}"),
    }
}

#[test]
fn rfc8441_3_the_setting_is_sent_only_when_enabled() {
    assert_eq!(
        first_settings(Config::default()).get(Setting::EnableConnectProtocol),
        None
    );
    assert_eq!(
        first_settings(allowing()).get(Setting::EnableConnectProtocol),
        Some(1)
    );
}

#[test]
fn rfc8441_3_protocol_without_the_setting_is_malformed() {
    let mut p = Peer::default_server();
    let h = p.headers(1, &WS, false);
    let _ = p.send(&[h]);
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    assert!(!p.events.iter().any(|e| matches!(e, Event::Headers { .. })));
    p.expect_next_request_decodes(3);
}

#[test]
fn rfc8441_4_an_allowed_extended_connect_reaches_the_application_with_its_protocol() {
    let mut p = Peer::server(allowing());
    let h = p.headers(1, &WS, false);
    p.send(&[h]).unwrap();
    let req = p
        .events
        .iter()
        .find_map(|e| match e {
            Event::Headers {
                head: Head::Request(r),
                end_stream: false,
                ..
            } => Some(r),
            _ => None,
        })
        .expect("the request");
    assert_eq!(req.method(), http::Method::CONNECT);
    assert_eq!(req.uri().path(), "/chat");
    let protocol = req.extensions().get::<Protocol>().expect(":protocol");
    assert_eq!(protocol.0, Bytes::from_static(b"websocket"));
    p.expect_silence();
}

#[test]
fn rfc8441_4_protocol_on_another_method_or_without_scheme_and_path_is_malformed() {
    for fields in [
        &[
            (":method", "GET"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "a.test"),
        ][..],
        &[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":authority", "a.test"),
        ][..],
    ] {
        let mut p = Peer::server(allowing());
        let h = p.headers(1, fields, false);
        let _ = p.send(&[h]);
        p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
        assert!(
            !p.events.iter().any(|e| matches!(e, Event::Headers { .. })),
            "{fields:?} reached the application"
        );
    }
}

fn extended_connect() -> http::request::Parts {
    let mut req = http::Request::connect("https://a.test/chat")
        .body(())
        .unwrap();
    req.extensions_mut()
        .insert(Protocol(Bytes::from_static(b"websocket")));
    req.into_parts().0
}

#[test]
fn rfc8441_3_a_client_sends_protocol_only_to_a_server_that_allows_it() {
    let mut p = Peer::client(Config::default(), Settings::default());
    assert!(!p.conn.peer_allows_connect_protocol());
    let refused = p.conn.send_request(&extended_connect(), false);
    assert!(
        matches!(refused, Err(SendError::Malformed(m)) if m.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL")),
        "{refused:?}"
    );
    assert!(p.output().is_empty(), "nothing was sent");

    let mut allows = Settings::default();
    allows.set(Setting::EnableConnectProtocol, Some(1));
    let mut p = Peer::client(Config::default(), allows);
    assert!(p.conn.peer_allows_connect_protocol());
    let id = p.conn.send_request(&extended_connect(), false).unwrap();
    let sent = p.output();
    assert!(
        sent.iter()
            .any(|f| matches!(f, Frame::Headers(h) if h.stream_id == id && !h.end_stream)),
        "{sent:?}"
    );
}

#[test]
fn rfc8441_3_the_setting_cannot_be_withdrawn() {
    let mut allows = Settings::default();
    allows.set(Setting::EnableConnectProtocol, Some(1));
    let mut p = Peer::client(Config::default(), allows);
    let mut withdraw = Settings::default();
    withdraw.set(Setting::EnableConnectProtocol, Some(0));
    assert!(p.send(&[Frame::Settings(withdraw)]).is_err());
    let out = p.output();
    assert!(
        out.iter()
            .any(|f| matches!(f, Frame::GoAway(g) if g.code == ErrorCode::PROTOCOL_ERROR)),
        "{out:?}"
    );
}

/// Before the server's SETTINGS a client cannot know whether extended CONNECT is allowed
/// (RFC 8441 §3): the request waits as for a stream slot, and goes once SETTINGS allow it.
#[test]
fn rfc8441_3_an_extended_connect_waits_for_the_servers_settings() {
    for allowed in [true, false] {
        let now = Instant::now();
        let mut p = Peer::new(Connection::client(Config::default(), now), now, true);
        p.output();
        let waiting = p.conn.send_request(&extended_connect(), false);
        assert!(
            matches!(waiting, Err(SendError::ConcurrencyLimit)),
            "{waiting:?}"
        );
        assert!(p.output().is_empty(), "nothing was sent");
        let mut settings = Settings::default();
        if allowed {
            settings.set(Setting::EnableConnectProtocol, Some(1));
        }
        p.send(&[Frame::Settings(settings)]).unwrap();
        assert!(
            p.events
                .iter()
                .any(|e| matches!(e, Event::StreamsAvailable)),
            "{:?}",
            p.events
        );
        let sent = p.conn.send_request(&extended_connect(), false);
        if allowed {
            let id = sent.unwrap();
            let out = p.output();
            assert!(
                out.iter()
                    .any(|f| matches!(f, Frame::Headers(h) if h.stream_id == id)),
                "{out:?}"
            );
        } else {
            assert!(
                matches!(sent, Err(SendError::Malformed(m)) if m.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL")),
                "{sent:?}"
            );
        }
    }
}
