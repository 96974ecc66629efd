//! The connection keeps the last header block that left the HPACK state unchanged and, once
//! it repeats, its head, so that a peer sending the same head again costs a copy instead of a
//! decode. These tests pin down that a kept head is only ever what decoding would have given.

mod common;
use common::peer::*;

use bytes::Bytes;
use h2kit_proto::frame::*;
use h2kit_proto::{Config, ErrorCode, Event, Head, StreamId};

/// HPACK representations, written by hand so that each test controls them exactly.
fn indexed(b: &mut Vec<u8>, idx: u8) {
    assert!(idx < 127);
    b.push(0x80 | idx);
}

/// A literal with a new name: `first` is 0x40 (incremental indexing), 0x00 (without) or 0x10
/// (never indexed); strings raw.
fn literal(b: &mut Vec<u8>, first: u8, name: &str, value: &str) {
    b.push(first);
    for s in [name, value] {
        assert!(s.len() < 127);
        b.push(s.len() as u8);
        b.extend_from_slice(s.as_bytes());
    }
}

/// content-length (static name 28) as a literal without indexing, as nghttp2 sends it.
fn content_length(b: &mut Vec<u8>, value: &str) {
    b.extend_from_slice(&[0x0f, 28 - 15, value.len() as u8]);
    b.extend_from_slice(value.as_bytes());
}

fn client() -> Peer {
    Peer::client(Config::default(), Settings::default())
}

fn open(p: &mut Peer) -> StreamId {
    let req = get_head();
    let id = p.conn.send_request(&req, true).unwrap();
    p.output();
    id
}

/// One HEADERS frame carrying `block` whole.
fn headers(id: StreamId, block: &[u8], end_stream: bool) -> Frame {
    Frame::Headers(Headers {
        stream_id: id,
        block: Bytes::copy_from_slice(block),
        end_stream,
        end_headers: true,
        priority: None,
        pad: None,
    })
}

fn respond(p: &mut Peer, id: StreamId, block: &[u8]) -> http::Response<()> {
    p.events.clear();
    p.send(&[headers(id, block, false)]).unwrap();
    p.events
        .drain(..)
        .find_map(|e| match e {
            Event::Headers {
                head: Head::Response(r),
                ..
            } => Some(r),
            _ => None,
        })
        .expect("a response head")
}

/// The block a server sends once its table holds `server` at index 62: indexed fields, a
/// content-length it does not index and a never-indexed field.
fn repeat_block() -> Vec<u8> {
    let mut b = Vec::new();
    indexed(&mut b, 8); // :status 200
    indexed(&mut b, 62);
    content_length(&mut b, "17");
    literal(&mut b, 0x10, "x-secret", "s3");
    b
}

/// A client whose server indexed `server: {value}` (at 62), then sent `repeat_block` three
/// times: its head is kept from the second repeat on.
fn primed(value: &str) -> Peer {
    let mut p = client();
    index_server(&mut p, value);
    for _ in 0..3 {
        let id = open(&mut p);
        assert_eq!(
            respond(&mut p, id, &repeat_block()).headers()["server"],
            value
        );
    }
    p
}

/// A head block: `:status: 200` and `server: {value}`, added to the table.
fn status_and_server(value: &str) -> Vec<u8> {
    let mut b = Vec::new();
    indexed(&mut b, 8);
    literal(&mut b, 0x40, "server", value);
    b
}

/// A response that adds `server: {value}` to the table.
fn index_server(p: &mut Peer, value: &str) {
    let b = status_and_server(value);
    let id = open(p);
    respond(p, id, &b);
}

#[test]
fn a_repeated_head_decodes_to_the_same_fields_every_time() {
    let mut p = client();
    let mut first = status_and_server("memo/1");
    content_length(&mut first, "17");
    literal(&mut first, 0x10, "x-secret", "s3");
    let id = open(&mut p);
    respond(&mut p, id, &first);
    // The first repeat is remembered, the second is kept, the rest are copies of it.
    let mut values = Vec::new();
    for _ in 0..4 {
        let id = open(&mut p);
        let r = respond(&mut p, id, &repeat_block());
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().len(), 3);
        assert_eq!(r.headers()["server"], "memo/1");
        assert_eq!(r.headers()["content-length"], "17");
        let secret = &r.headers()["x-secret"];
        assert_eq!(secret, "s3");
        // A never-indexed literal stays marked so (RFC 7541 §6.2.3), copies included.
        assert!(secret.is_sensitive());
        values.push(r.headers()["content-length"].as_bytes().as_ptr());
    }
    // The last two are copies of one kept head: the literal's bytes are the memo's own, not a
    // slice of each read (which would keep every read buffer alive).
    assert_eq!(values[2], values[3]);
}

#[test]
fn a_kept_head_is_not_reused_once_the_table_changed() {
    let mut p = primed("memo/1");
    // The server indexes a new value: index 62 now names it, so the same bytes mean another
    // field.
    index_server(&mut p, "memo/2");
    for _ in 0..3 {
        let id = open(&mut p);
        let r = respond(&mut p, id, &repeat_block());
        assert_eq!(r.headers()["server"], "memo/2");
        assert_eq!(r.headers().get_all("server").iter().count(), 1);
    }
}

#[test]
fn a_kept_head_carries_its_content_length_rule() {
    // RFC 9113 §8.1.1: DATA that does not add up to content-length is malformed; a head
    // copied from the memo must declare the same length as a decoded one.
    let mut p = primed("memo/1");
    let id = open(&mut p);
    respond(&mut p, id, &repeat_block());
    p.send(&[data(id.0, 5, true)]).unwrap();
    p.expect_rst(id.0, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn a_malformed_head_is_refused_every_time_it_repeats() {
    // Only heads that passed validation are kept: a repeated block with a connection-specific
    // field (RFC 9113 §8.2.2) is a stream error each time, never a copy of an earlier success.
    expect_malformed_refused(&mut client(), 4);
}

/// A response with a connection-specific field, `times` times: each a stream error, no head
/// handed out.
fn expect_malformed_refused(p: &mut Peer, times: usize) {
    let mut bad = Vec::new();
    indexed(&mut bad, 8);
    literal(&mut bad, 0x00, "connection", "close");
    for _ in 0..times {
        let id = open(p);
        p.events.clear();
        p.send(&[headers(id, &bad, true)]).unwrap();
        assert!(!p.events.iter().any(|e| matches!(e, Event::Headers { .. })));
        p.expect_rst(id.0, ErrorCode::PROTOCOL_ERROR);
    }
}

#[test]
fn repeated_requests_are_copied_whole_on_the_server() {
    // The server side of the same memo: a client repeating one request head. The copy keeps
    // the method, the target and the fields.
    let mut p = Peer::server(Config::default());
    let mut block = Vec::new();
    indexed(&mut block, 2); // :method GET
    indexed(&mut block, 6); // :scheme http
    literal(&mut block, 0x00, ":authority", "a.test");
    literal(&mut block, 0x00, ":path", "/same?q=1");
    literal(&mut block, 0x00, "x-token", "t");
    for i in 0..4u32 {
        p.events.clear();
        p.send(&[headers(StreamId(1 + 2 * i), &block, true)])
            .unwrap();
        let r = common::first_request(&p.events).expect("a request head");
        assert_eq!(r.method(), "GET");
        assert_eq!(r.uri(), "http://a.test/same?q=1");
        assert_eq!(r.headers()["x-token"], "t");
    }
}

/// A client that does not keep response fields (`Config::keep_response_headers` off).
fn client_without_fields() -> Peer {
    let config = Config {
        keep_response_headers: false,
        ..Config::default()
    };
    Peer::client(config, Settings::default())
}

#[test]
fn without_kept_fields_a_response_still_has_its_status_and_length_rule() {
    // Decoded (the first, which indexes `server`), remembered, then copied from the memo: each
    // is the status alone, and each still declares content-length 17 (RFC 9113 §8.1.1), so a
    // body of another length is malformed whichever path the head took.
    let mut p = client_without_fields();
    let mut first = status_and_server("memo/1");
    content_length(&mut first, "17");
    let blocks = [
        first,
        repeat_block(),
        repeat_block(),
        repeat_block(),
        repeat_block(),
    ];
    for (i, block) in blocks.iter().enumerate() {
        let id = open(&mut p);
        let r = respond(&mut p, id, block);
        assert_eq!(r.status(), 200, "response {i}");
        assert!(r.headers().is_empty(), "response {i}: {:?}", r.headers());
        assert_eq!(p.conn.declared_length(id), Some(17), "response {i}");
        p.send(&[data(id.0, 5, true)]).unwrap();
        p.expect_rst(id.0, ErrorCode::PROTOCOL_ERROR);
    }
}

#[test]
fn without_kept_fields_the_decoder_still_follows_the_table() {
    // The fields are decoded even though they are dropped: a later block that refers to the
    // entry a dropped field added (index 62) decodes, where a skipped decode would leave the
    // index undefined, a COMPRESSION_ERROR (RFC 7541 §2.3.3).
    let mut p = client_without_fields();
    index_server(&mut p, "memo/1");
    for _ in 0..3 {
        let id = open(&mut p);
        let r = respond(&mut p, id, &repeat_block());
        assert_eq!(r.status(), 200);
        assert!(p.conn.error().is_none());
    }
}

#[test]
fn without_kept_fields_a_malformed_response_is_still_refused() {
    // RFC 9113 §8.2.2: validation does not depend on the fields being kept.
    expect_malformed_refused(&mut client_without_fields(), 2);
}

#[test]
fn without_kept_fields_trailers_are_still_delivered() {
    let mut p = client_without_fields();
    let id = open(&mut p);
    let mut head = Vec::new();
    indexed(&mut head, 8);
    respond(&mut p, id, &head);
    let mut trailers = Vec::new();
    literal(&mut trailers, 0x00, "grpc-status", "0");
    p.events.clear();
    p.send(&[headers(id, &trailers, true)]).unwrap();
    let t = p
        .events
        .iter()
        .find_map(|e| match e {
            Event::Headers {
                head: Head::Trailers(t),
                ..
            } => Some(t),
            _ => None,
        })
        .expect("trailers");
    assert_eq!(t["grpc-status"], "0");
}

mod props {
    use super::*;
    use bytes::BytesMut;
    use h2kit_proto::hpack::{Decoder, Encoder, FieldRef};
    use proptest::prelude::*;

    /// A response head: a status and a few fields, values long enough that a sequence of heads
    /// evicts entries from a 4 KiB table, so indices keep changing meaning.
    fn head() -> impl Strategy<Value = (u16, Vec<(String, String)>)> {
        (
            prop::sample::select(vec![200u16, 204, 404]),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["server", "x-a", "x-b", "set-cookie"]),
                    (0usize..4, 1usize..700),
                ),
                0..4,
            ),
        )
            .prop_map(|(status, fields)| {
                let fields = fields
                    .into_iter()
                    .map(|(n, (v, len))| (n.to_string(), format!("{v}").repeat(len)))
                    .collect();
                (status, fields)
            })
    }

    fn sorted(mut v: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
        v.sort();
        v
    }

    proptest! {
        /// Heads drawn from a small pool, so that blocks repeat, interleaved with heads that
        /// index new values: every head the connection hands out has exactly the fields an
        /// independent decoder finds in the same block.
        #[test]
        fn every_head_is_what_decoding_gives(
            pool in prop::collection::vec(head(), 1..5),
            picks in prop::collection::vec(0usize..8, 1..60),
        ) {
            let mut p = client();
            let mut enc = Encoder::new();
            let mut reference = Decoder::new(4096);
            for pick in picks {
                let (status, fields) = pool.get(pick).cloned().unwrap_or_else(|| {
                    // Outside the pool: a fresh value, indexed, shifting every index.
                    (200, vec![("x-new".to_string(), format!("{pick}-{}", p.events.len()))])
                });
                let status = status.to_string();
                let mut block = BytesMut::new();
                enc.encode(
                    std::iter::once(FieldRef::new(b":status", status.as_bytes())).chain(
                        fields.iter().map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes())),
                    ),
                    &mut block,
                );
                let expected: Vec<_> = reference
                    .decode_vec(&block.clone().freeze())
                    .unwrap()
                    .into_iter()
                    .filter(|f| f.name() != b":status")
                    .map(|f| (f.name().to_vec(), f.value().to_vec()))
                    .collect();
                let id = open(&mut p);
                let r = respond(&mut p, id, &block);
                prop_assert_eq!(r.status().as_u16().to_string(), status);
                let got: Vec<_> = r
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
                    .collect();
                prop_assert_eq!(sorted(got), sorted(expected));
            }
        }
    }
}
