//! `Connection::take_whole_body`: a response whose first DATA frame after its head ends the
//! stream can be taken with the head while both are queued, whatever came between them (nghttpd
//! writes the HEADERS of many streams before their DATA). These tests pin down when it may be
//! taken, that the DATA is then not handed out again, and that every rule of the DATA still
//! applies.

mod common;
use common::peer::*;

use bytes::BytesMut;
use h2kit_proto::frame::*;
use h2kit_proto::{Config, ErrorCode, Event, Head, StreamId, StreamState};

fn client() -> Peer {
    Peer::client(Config::default(), Settings::default())
}

fn open(p: &mut Peer) -> u32 {
    let id = p.conn.send_request(&get_head(), true).unwrap();
    p.output();
    id.0
}

fn ok(p: &mut Peer, id: u32, fields: &[(&str, &str)]) -> Frame {
    let mut all = vec![(":status", "200")];
    all.extend_from_slice(fields);
    p.headers(id, &all, false)
}

/// Feeds the frames in one `recv`, without polling.
fn feed(p: &mut Peer, frames: &[Frame]) {
    let mut b = BytesMut::new();
    for f in frames {
        f.encode(&mut b);
    }
    p.conn.recv(&mut b, p.now).unwrap();
}

/// What the driver sees: each event, and for a response head the body taken with it.
#[derive(Debug, PartialEq)]
enum Seen {
    Head(u32, Option<usize>),
    Data(u32, usize, bool),
    Reset(u32),
    Other,
}

fn poll_all(p: &mut Peer) -> Vec<Seen> {
    let mut seen = Vec::new();
    while let Some(e) = p.conn.poll_event() {
        seen.push(match e {
            Event::Headers {
                stream,
                head: Head::Response(_),
                end_stream: false,
            } => Seen::Head(stream.0, p.conn.take_whole_body(stream).map(|d| d.len())),
            Event::Data {
                stream,
                data,
                end_stream,
            } => Seen::Data(stream.0, data.len(), end_stream),
            Event::Reset { stream, .. } => Seen::Reset(stream.0),
            _ => Seen::Other,
        });
    }
    seen
}

#[test]
fn a_body_in_one_data_frame_comes_with_its_head_even_after_other_heads() {
    let mut p = client();
    let (a, b, c) = (open(&mut p), open(&mut p), open(&mut p));
    let frames = [
        ok(&mut p, a, &[]),
        ok(&mut p, b, &[]),
        ok(&mut p, c, &[]),
        data(a, 5, true),
        data(b, 3, false),
        data(b, 4, true),
        data(c, 0, true),
    ];
    feed(&mut p, &frames);
    assert_eq!(
        poll_all(&mut p),
        [
            Seen::Head(a, Some(5)),
            // Its first DATA did not end the stream: the body streams, in order.
            Seen::Head(b, None),
            Seen::Head(c, Some(0)),
            Seen::Data(b, 3, false),
            Seen::Data(b, 4, true),
        ]
    );
    for id in [a, b, c] {
        assert_eq!(p.conn.stream_state(StreamId(id)), StreamState::Closed);
    }
}

#[test]
fn the_body_is_taken_only_right_after_its_head() {
    let mut p = client();
    let (a, b) = (open(&mut p), open(&mut p));
    let frames = [ok(&mut p, a, &[]), ok(&mut p, b, &[]), data(a, 2, true)];
    feed(&mut p, &frames);
    assert!(matches!(p.conn.poll_event(), Some(Event::Headers { .. })));
    assert!(matches!(p.conn.poll_event(), Some(Event::Headers { .. })));
    // Asked after another event: the DATA goes out the ordinary way.
    assert_eq!(p.conn.take_whole_body(StreamId(a)), None);
    assert!(matches!(
        p.conn.poll_event(),
        Some(Event::Data { stream, end_stream: true, .. }) if stream.0 == a
    ));
}

#[test]
fn a_later_read_completes_a_head_still_queued_but_not_one_handed_out() {
    let mut p = client();
    let (a, b) = (open(&mut p), open(&mut p));
    let heads = [ok(&mut p, a, &[]), ok(&mut p, b, &[])];
    feed(&mut p, &heads);
    // a's head is handed out (and its body not there yet); b's still waits.
    assert_eq!(
        p.conn
            .poll_event()
            .map(|e| matches!(e, Event::Headers { .. })),
        Some(true)
    );
    assert_eq!(p.conn.take_whole_body(StreamId(a)), None);
    feed(&mut p, &[data(a, 1, true), data(b, 2, true)]);
    assert_eq!(
        poll_all(&mut p),
        [Seen::Head(b, Some(2)), Seen::Data(a, 1, true)]
    );
}

#[test]
fn a_body_against_its_content_length_is_still_malformed() {
    // RFC 9113 §8.1.1: a DATA frame that ends the stream short of content-length is a stream
    // error; nothing is linked, the head is followed by the reset.
    let mut p = client();
    let a = open(&mut p);
    let frames = [ok(&mut p, a, &[("content-length", "5")]), data(a, 3, true)];
    feed(&mut p, &frames);
    assert_eq!(poll_all(&mut p), [Seen::Head(a, None), Seen::Reset(a)]);
    p.expect_rst(a, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn a_taken_body_counts_against_the_windows_like_any_data() {
    // §6.9: the bytes were received; the connection window reopens once the application
    // releases them (at half of it: three bodies of 16,000 of a 65,535 window).
    let config = Config {
        connection_window: 65_535,
        ..Config::default()
    };
    let mut p = Peer::client(config, Settings::default());
    let ids = [open(&mut p), open(&mut p), open(&mut p)];
    let mut frames = Vec::new();
    for id in ids {
        frames.push(ok(&mut p, id, &[]));
        frames.push(data(id, 16_000, true));
    }
    feed(&mut p, &frames);
    let polled = poll_all(&mut p);
    assert_eq!(polled, ids.map(|id| Seen::Head(id, Some(16_000))));
    p.expect_silence();
    for id in ids {
        p.conn.release_capacity(StreamId(id), 16_000);
    }
    let out = p.output();
    assert!(
        out.iter().any(
            |f| matches!(f, Frame::WindowUpdate(w) if w.stream_id.0 == 0 && w.increment == 48_000)
        ),
        "{out:?}"
    );
}

#[test]
fn a_server_never_links_a_request_to_its_body() {
    let mut p = Peer::server(Config::default());
    let mut b = BytesMut::new();
    p.get(1, false).encode(&mut b);
    data(1, 4, true).encode(&mut b);
    p.conn.recv(&mut b, p.now).unwrap();
    assert!(matches!(p.conn.poll_event(), Some(Event::Headers { .. })));
    assert_eq!(p.conn.take_whole_body(StreamId(1)), None);
    assert!(matches!(p.conn.poll_event(), Some(Event::Data { .. })));
}
