//! RFC 9113 §6.9 flow control and §6.10 CONTINUATION against one `Connection`: scripted
//! frame sequences, one test per MUST that applies to us. Each test name carries its section.

mod common;
use common::peer::*;

use bytes::{Bytes, BytesMut};
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::*;
use h2kit_proto::{Config, Connection, ErrorCode, Event, Head, StreamId};

// §6.9 Flow control

#[test]
fn rfc9113_6_9_1_data_beyond_the_connection_window() {
    let cfg = Config {
        connection_window: 65_535,
        initial_stream_window: 1 << 20,
        ..Config::default()
    };
    let mut p = Peer::server(cfg);
    p.open(1);
    let _ = p.send(&[
        data(1, 16_000, false),
        data(1, 16_000, false),
        data(1, 16_000, false),
        data(1, 16_000, false),
        data(1, 16_000, false),
    ]);
    p.expect_goaway(ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn rfc9113_6_9_1_data_beyond_the_stream_window() {
    let cfg = Config {
        initial_stream_window: 20_000,
        ..Config::default()
    };
    let mut p = Peer::server(cfg);
    p.open(1);
    let _ = p.send(&[data(1, 16_000, false), data(1, 16_000, false)]);
    p.expect_rst(1, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn rfc9113_6_5_3_a_smaller_first_window_binds_the_peer_only_after_its_ack() {
    // Found by the watcher's property test: a server configured with a 20 KB stream window
    // reset a client that sent 30 KB before it had even received the server's SETTINGS.
    let now = std::time::Instant::now();
    let cfg = Config {
        initial_stream_window: 20_000,
        ..Config::default()
    };
    let mut p = Peer::new(Connection::server(cfg, now), now, false);
    let mut b = BytesMut::from(&PREFACE[..]);
    Frame::Settings(Settings::default()).encode(&mut b);
    p.conn.recv(&mut b, now).unwrap();
    p.output();
    let h = p.get(1, false);
    p.send(&[h, data(1, 16_000, false), data(1, 14_000, true)])
        .unwrap();
    assert!(p
        .output()
        .iter()
        .all(|f| !matches!(f, Frame::RstStream(_) | Frame::GoAway(_))));
    // Acknowledged: now the 20 KB window binds.
    p.send(&[Frame::Settings(Settings::ack())]).unwrap();
    let h = p.get(3, false);
    let _ = p.send(&[h, data(3, 16_000, false), data(3, 14_000, false)]);
    p.expect_rst(3, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn rfc9113_6_1_padding_counts_against_windows() {
    let cfg = Config {
        initial_stream_window: 20_000,
        ..Config::default()
    };
    let mut p = Peer::server(cfg);
    p.open(1);
    let padded = Frame::Data(Data {
        stream_id: StreamId(1),
        data: Bytes::from(vec![0; 15_000]),
        end_stream: false,
        pad: Some(255),
    });
    let _ = p.send(&[padded, data(1, 4_800, false)]);
    p.expect_rst(1, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn rfc9113_6_9_1_window_update_overflow() {
    let mut p = Peer::default_server();
    let _ = p.send(&[window_update(0, (1 << 31) - 1)]);
    p.expect_goaway(ErrorCode::FLOW_CONTROL_ERROR);
    let mut p = Peer::default_server();
    p.open(1);
    let _ = p.send(&[window_update(1, (1 << 31) - 1)]);
    p.expect_rst(1, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn rfc9113_6_9_2_initial_window_change_can_make_a_window_negative() {
    let mut p = Peer::default_server();
    let h = p.get(1, true);
    p.send(&[h]).unwrap();
    let res = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(1), &res, false).unwrap();
    let rest = p
        .conn
        .send_data(StreamId(1), Bytes::from(vec![0; 60_000]), false)
        .unwrap();
    assert!(rest.is_empty());
    p.output();
    // The client shrinks the initial window to 10,000: our window is now 10,000 - 60,000.
    p.send(&[settings(&[(Setting::InitialWindowSize, 10_000)])])
        .unwrap();
    assert_eq!(p.conn.send_capacity(StreamId(1)), 0);
    let rest = p
        .conn
        .send_data(StreamId(1), Bytes::from_static(b"more"), true)
        .unwrap();
    assert_eq!(rest.len(), 4);
    p.send(&[window_update(1, 50_000)]).unwrap();
    assert_eq!(
        p.conn.send_capacity(StreamId(1)),
        0,
        "still at zero: -50,000 + 50,000"
    );
    p.send(&[window_update(1, 4)]).unwrap();
    assert!(p
        .events
        .iter()
        .any(|e| matches!(e, Event::SendCapacity { stream } if *stream == StreamId(1))));
    assert_eq!(p.conn.send_capacity(StreamId(1)), 4);
}

// §6.10 CONTINUATION

#[test]
fn rfc9113_6_10_header_block_over_continuation_frames() {
    let mut p = Peer::default_server();
    let block = p.block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "a.test"),
        (":path", "/split"),
    ]);
    let (a, b) = block.split_at(3);
    p.send(&[
        Frame::Headers(Headers {
            stream_id: StreamId(1),
            block: Bytes::copy_from_slice(a),
            end_stream: true,
            end_headers: false,
            priority: None,
            pad: None,
        }),
        Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::copy_from_slice(b),
            end_headers: true,
        }),
    ])
    .unwrap();
    assert!(p.events.iter().any(
        |e| matches!(e, Event::Headers { head: Head::Request(r), .. } if r.uri().path() == "/split")
    ));
}

#[test]
fn rfc9113_6_10_frame_interleaved_in_a_header_block() {
    let mut p = Peer::default_server();
    let block = p.block(&[(":method", "GET"), (":scheme", "http"), (":path", "/")]);
    let _ = p.send(&[
        Frame::Headers(Headers {
            stream_id: StreamId(1),
            block,
            end_stream: true,
            end_headers: false,
            priority: None,
            pad: None,
        }),
        Frame::Ping(Ping {
            ack: false,
            payload: [0; 8],
        }),
    ]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_6_10_continuation_without_a_header_block() {
    let mut p = Peer::default_server();
    let _ = p.send(&[Frame::Continuation(Continuation {
        stream_id: StreamId(1),
        block: Bytes::new(),
        end_headers: true,
    })]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_6_10_endless_continuation_is_cut_off() {
    let mut p = Peer::default_server();
    let mut frames = vec![Frame::Headers(Headers {
        stream_id: StreamId(1),
        block: Bytes::from(vec![0x40; 1000]),
        end_stream: true,
        end_headers: false,
        priority: None,
        pad: None,
    })];
    for _ in 0..100 {
        frames.push(Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::from(vec![0x40; 1000]),
            end_headers: false,
        }));
    }
    let err = p.send(&frames).unwrap_err();
    assert!(err.reason.contains("CONTINUATION"), "{err}");
    p.expect_goaway(ErrorCode::ENHANCE_YOUR_CALM);
}
