//! RFC 9113 §8 message rules against one `Connection`: each malformed message is a stream
//! error PROTOCOL_ERROR (§8.1.1) and the connection lives on; content-length, trailers,
//! informational responses and HEAD. Each test name carries its section.

mod common;
use common::peer::*;

use h2kit_proto::frame::*;
use h2kit_proto::{Config, ErrorCode, Event, Head, StreamState};

// §8 Message rules: each malformed request is a stream error PROTOCOL_ERROR (§8.1.1).

fn malformed(fields: &[(&str, &str)]) {
    let mut p = Peer::default_server();
    let h = p.headers(1, fields, true);
    let _ = p.send(&[h]);
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    assert!(
        !p.events.iter().any(|e| matches!(e, Event::Headers { .. })),
        "{fields:?} reached the application"
    );
    p.expect_next_request_decodes(3);
}

const GET: [(&str, &str); 3] = [(":method", "GET"), (":scheme", "https"), (":path", "/")];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    GET.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn rfc9113_8_2_uppercase_field_name() {
    malformed(&with(&[("X-Upper", "1")]));
}

#[test]
fn rfc9113_8_2_1_whitespace_around_a_value() {
    malformed(&with(&[("x-pad", " v")]));
    malformed(&with(&[("x-pad", "v\t")]));
}

#[test]
fn rfc9113_8_2_2_connection_specific_fields() {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ] {
        let fields: Vec<(&str, &str)> = GET.iter().copied().chain([(name, "x")]).collect();
        malformed(&fields);
    }
}

#[test]
fn rfc9113_8_2_2_te_other_than_trailers() {
    malformed(&with(&[("te", "gzip")]));
    let mut p = Peer::default_server();
    let h = p.headers(1, &with(&[("te", "trailers")]), true);
    p.send(&[h]).unwrap();
    p.expect_silence();
}

#[test]
fn rfc9113_8_3_pseudo_header_after_a_regular_field() {
    malformed(&[
        (":method", "GET"),
        (":scheme", "https"),
        ("x-a", "1"),
        (":path", "/"),
    ]);
}

#[test]
fn rfc9113_8_3_unknown_duplicate_or_response_pseudo_headers() {
    malformed(&with(&[(":foo", "bar")]));
    malformed(&with(&[(":path", "/again")]));
    malformed(&with(&[(":status", "200")]));
}

#[test]
fn rfc9113_8_3_1_required_pseudo_headers() {
    malformed(&[(":scheme", "https"), (":path", "/")]);
    malformed(&[(":method", "GET"), (":path", "/")]);
    malformed(&[(":method", "GET"), (":scheme", "https")]);
    malformed(&[(":method", "GET"), (":scheme", "https"), (":path", "")]);
}

#[test]
fn rfc9113_8_3_1_host_must_match_authority() {
    malformed(&with(&[(":authority", "a.test"), ("host", "b.test")]));
}

#[test]
fn rfc9113_8_5_connect_carries_only_method_and_authority() {
    malformed(&[
        (":method", "CONNECT"),
        (":authority", "a.test:443"),
        (":path", "/"),
    ]);
    let mut p = Peer::default_server();
    let h = p.headers(
        1,
        &[(":method", "CONNECT"), (":authority", "a.test:443")],
        false,
    );
    p.send(&[h]).unwrap();
    p.expect_silence();
}

#[test]
fn rfc9113_8_1_trailers_without_end_stream() {
    let mut p = Peer::default_server();
    let h = p.get(1, false);
    let t = p.headers(1, &[("x-trailer", "1")], false);
    let _ = p.send(&[h, t]);
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_8_1_pseudo_headers_in_trailers() {
    let mut p = Peer::default_server();
    let h = p.get(1, false);
    let t = p.headers(1, &[(":path", "/")], true);
    let _ = p.send(&[h, t]);
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_8_1_1_content_length_must_match_the_data() {
    for (declared, sent) in [("5", 6), ("5", 4)] {
        let mut p = Peer::default_server();
        let h = p.headers(
            1,
            &[
                (":method", "POST"),
                (":scheme", "https"),
                (":path", "/"),
                ("content-length", declared),
            ],
            false,
        );
        let _ = p.send(&[h, data(1, sent, true)]);
        p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    }
    let mut p = Peer::default_server();
    let h = p.headers(
        1,
        &[
            (":method", "POST"),
            (":scheme", "https"),
            (":path", "/"),
            ("content-length", "5"),
        ],
        false,
    );
    p.send(&[h, data(1, 2, false), data(1, 3, true)]).unwrap();
    p.expect_silence();
}

#[test]
fn rfc9113_8_1_1_response_to_head_has_no_content() {
    let mut p = Peer::client(Config::default(), Settings::default());
    let req = http::Request::head("http://a.test/")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let id = p.conn.send_request(&req, true).unwrap();
    p.output();
    let h = p.headers(
        id.0,
        &[(":status", "200"), ("content-length", "100")],
        false,
    );
    p.send(&[h, data(id.0, 0, true)]).unwrap();
    p.expect_silence();
    let id = p.conn.send_request(&req, true).unwrap();
    p.output();
    let h = p.headers(id.0, &[(":status", "200")], false);
    let _ = p.send(&[h, data(id.0, 3, true)]);
    p.expect_rst(id.0, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_8_1_informational_responses_precede_the_final_one() {
    let mut p = Peer::client(Config::default(), Settings::default());
    let req = get_head();
    let id = p.conn.send_request(&req, true).unwrap();
    let a = p.headers(id.0, &[(":status", "103"), ("link", "</s.css>")], false);
    let b = p.headers(id.0, &[(":status", "200")], true);
    p.send(&[a, b]).unwrap();
    let statuses: Vec<u16> = p
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Headers {
                head: Head::Response(r),
                ..
            } => Some(r.status().as_u16()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![103, 200]);
    assert_eq!(p.conn.stream_state(id), StreamState::Closed);
}

#[test]
fn outgoing_messages_cannot_be_malformed() {
    let mut p = Peer::client(Config::default(), Settings::default());
    let req = http::Request::get("http://a.test/")
        .header("connection", "keep-alive")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert!(matches!(
        p.conn.send_request(&req, true),
        Err(h2kit_proto::SendError::Malformed(_))
    ));
}
