//! A request body the server's application does not read (`Connection::discard_incoming`,
//! RFC 9113 §8.1): the stream stays half-closed (local) while the client may still send, and
//! is reset with NO_ERROR only past the documented bounds — the stream window the client has
//! left once the response is complete, or `Config::drain_timeout`.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::peer::{data, ok_response, with_stream_window, Peer};
use h2kit_proto::frame::Frame as Wire;
use h2kit_proto::{Config, ErrorCode, StreamId};

/// Our stream window in these tests (the client has acknowledged it).
const WINDOW: usize = 1000;

fn config() -> Config {
    with_stream_window(WINDOW as u32)
}

/// A POST whose body has not ended, on stream 1: (the peer, the stream).
fn upload(p: &mut Peer) -> u32 {
    let h = p.headers(
        1,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "a.test"),
            (":path", "/up"),
        ],
        false,
    );
    p.send(&[h]).unwrap();
    p.events.clear();
    1
}

/// The application answers stream `s` (completely, or only its head) and drops the body.
fn answer_without_reading(p: &mut Peer, s: u32, complete: bool) {
    p.conn
        .send_response(StreamId(s), &ok_response(), complete)
        .unwrap();
    p.conn.discard_incoming(StreamId(s));
    p.output();
}

/// A server that answered an upload completely without reading its body.
fn answered_without_reading() -> (Peer, u32) {
    let mut p = Peer::server(config());
    let s = upload(&mut p);
    answer_without_reading(&mut p, s, true);
    (p, s)
}

/// A discarded request body may use the rest of its stream window once our response is
/// complete, no more: the reset comes the moment the window is used up, not a time later,
/// and the peer's late frames are then dropped (§5.1 closed, after our RST_STREAM).
#[test]
fn a_discarded_body_is_reset_with_no_error_once_its_window_is_used_up() {
    let (mut p, s) = answered_without_reading();
    let mut sent = 0;
    while sent + 300 < WINDOW {
        p.send(&[data(s, 300, false)]).unwrap();
        sent += 300;
        let out = p.output();
        // Connection credit comes back; the stream's does not.
        assert!(
            !out.iter().any(|f| matches!(f, Wire::RstStream(_))
                || matches!(f, Wire::WindowUpdate(w) if w.stream_id == StreamId(s))),
            "{out:?}"
        );
    }
    p.send(&[data(s, WINDOW - sent, false)]).unwrap();
    p.expect_rst(s, ErrorCode::NO_ERROR);
    p.send(&[data(s, 10, true)]).unwrap();
    p.expect_silence();
    assert!(
        p.events.is_empty(),
        "discarded DATA was delivered: {:?}",
        p.events
    );
}

/// A body known complete by its content-length needs no window for its END_STREAM (an empty
/// DATA frame): no reset while it is on its way, and the stream then closes normally. Its
/// connection credit then comes back whole, below the batching threshold or not: nothing else
/// will use it, and some clients (curl 7.88) only notice their upload is over when a frame
/// arrives after it.
#[test]
fn a_discarded_body_that_arrived_whole_is_left_to_end_its_stream() {
    let mut p = Peer::server(config());
    let h = p.headers(
        1,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "a.test"),
            (":path", "/up"),
            ("content-length", "1000"),
        ],
        false,
    );
    p.send(&[h]).unwrap();
    answer_without_reading(&mut p, 1, true);
    p.send(&[data(1, WINDOW, false)]).unwrap();
    p.expect_silence();
    p.send(&[data(1, 0, true)]).unwrap();
    let out = p.output();
    assert!(
        matches!(out.as_slice(), [Wire::WindowUpdate(w)] if w.stream_id.is_zero() && w.increment == WINDOW as u32),
        "{out:?}"
    );
    assert_eq!(p.conn.active_streams(), (0, 0));
}

/// The time bound: a peer that neither finishes nor uses up its window is reset after
/// `drain_timeout`, counted from our END_STREAM, not from its last frame.
#[test]
fn a_discarded_body_is_reset_with_no_error_after_drain_timeout() {
    let (mut p, s) = answered_without_reading();
    let timeout = config().drain_timeout;
    p.advance(timeout - Duration::from_millis(1));
    p.send(&[data(s, 10, false)]).unwrap();
    p.conn.handle_timeout(p.now);
    p.expect_silence();
    assert_eq!(
        p.conn.poll_timeout(),
        Some(p.now + Duration::from_millis(1)),
        "the deadline stands"
    );
    p.advance(Duration::from_millis(1));
    p.conn.handle_timeout(p.now);
    p.expect_rst(s, ErrorCode::NO_ERROR);
    assert_eq!(p.conn.active_streams(), (0, 0));
}

/// A stream whose body is discarded while our response is still being sent gets its stream
/// credit back as usual: a peer that sends its whole request before reading the response must
/// not be stalled by a handler streaming a long response without reading the request.
#[test]
fn a_discarded_body_keeps_its_window_while_our_side_still_sends() {
    let mut p = Peer::server(config());
    let s = upload(&mut p);
    answer_without_reading(&mut p, s, false);
    for _ in 0..10 {
        p.send(&[data(s, WINDOW / 2, false)]).unwrap();
    }
    let out = p.output();
    assert!(
        out.iter()
            .any(|f| matches!(f, Wire::WindowUpdate(w) if w.stream_id == StreamId(s))),
        "{out:?}"
    );
    assert!(
        !out.iter().any(|f| matches!(f, Wire::RstStream(_))),
        "{out:?}"
    );
    assert!(p.events.is_empty(), "discarded DATA was delivered");
    // Our side ends: from now on the rest of the window is all the peer gets.
    p.conn
        .send_data(StreamId(s), Bytes::from_static(b"done"), true)
        .unwrap();
    let out = p.output();
    assert!(
        matches!(out.as_slice(), [Wire::Data(d)] if d.end_stream),
        "{out:?}"
    );
}

/// At the final GOAWAY of a graceful shutdown, streams that only wait for a discarded body are
/// reset at once: nothing of ours is left on them.
#[test]
fn a_graceful_shutdown_does_not_wait_for_a_discarded_body() {
    let (mut p, s) = answered_without_reading();
    let out = p.shut_down_gracefully();
    assert!(
        matches!(out.as_slice(), [Wire::GoAway(g), Wire::RstStream(r)]
            if g.code == ErrorCode::NO_ERROR && g.last_stream_id == StreamId(s)
                && r.stream_id == StreamId(s) && r.code == ErrorCode::NO_ERROR),
        "{out:?}"
    );
    assert!(p.conn.is_closed());
}

/// Bytes the application read before it stopped reading, released once the response is
/// complete, reopen no stream window: what the peer may still send stays what it had left.
#[test]
fn bytes_read_before_the_discard_reopen_no_window_once_the_response_is_complete() {
    let mut p = Peer::server(config());
    let s = upload(&mut p);
    p.send(&[data(s, 600, false)]).unwrap();
    answer_without_reading(&mut p, s, true);
    p.conn.release_capacity(StreamId(s), 600);
    let out = p.output();
    assert!(
        !out.iter()
            .any(|f| matches!(f, Wire::WindowUpdate(w) if w.stream_id == StreamId(s))),
        "{out:?}"
    );
    p.send(&[data(s, WINDOW - 600, false)]).unwrap();
    p.expect_rst(s, ErrorCode::NO_ERROR);
}

/// All of a discarded body's connection credit comes back, also when its last frame is the one
/// that completes a batch of credit (half the connection window).
#[test]
fn a_discarded_body_returns_all_its_connection_credit() {
    let mut p = Peer::server(Config {
        connection_window: 65_535,
        initial_stream_window: 65_535,
        ..Config::default()
    });
    let s = upload(&mut p);
    answer_without_reading(&mut p, s, false);
    // 30,000 bytes stay below the batch; the last 10,000 cross it and end the body.
    p.send(&[data(s, 15_000, false), data(s, 15_000, false)])
        .unwrap();
    p.send(&[data(s, 10_000, true)]).unwrap();
    let returned: u32 = p
        .output()
        .iter()
        .filter_map(|f| match f {
            Wire::WindowUpdate(w) if w.stream_id.is_zero() => Some(w.increment),
            _ => None,
        })
        .sum();
    assert_eq!(returned, 40_000);
}
