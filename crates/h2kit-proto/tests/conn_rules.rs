//! Scripted frame sequences against one `Connection`, one test per MUST of RFC 9113 §3–§8
//! that applies to us. Each test name carries its section.

mod common;
use common::peer::*;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::*;
use h2kit_proto::{Config, Connection, ErrorCode, Event, StreamId, StreamState};

// §3.4 Connection preface

#[test]
fn rfc9113_3_4_invalid_preface_is_a_protocol_error() {
    let now = std::time::Instant::now();
    let mut conn = Connection::server(Config::default(), now);
    let mut b = BytesMut::from(&b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"[..]);
    assert_eq!(
        conn.recv(&mut b, now).unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
    // An HTTP/1.1 request line is recognisable, so the driver can answer it in HTTP/1.1.
    assert!(h2kit_proto::connection::looks_like_http1(
        b"GET / HTTP/1.1\r\n"
    ));
    assert!(!h2kit_proto::connection::looks_like_http1(&PREFACE[..10]));
}

#[test]
fn rfc9113_3_4_first_frame_must_be_settings() {
    let now = std::time::Instant::now();
    let mut conn = Connection::server(Config::default(), now);
    let mut b = BytesMut::from(&PREFACE[..]);
    Frame::Ping(Ping {
        ack: false,
        payload: [0; 8],
    })
    .encode(&mut b);
    assert_eq!(
        conn.recv(&mut b, now).unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_3_4_preface_may_arrive_a_byte_at_a_time() {
    let now = std::time::Instant::now();
    let mut conn = Connection::server(Config::default(), now);
    let mut all = BytesMut::from(&PREFACE[..]);
    Frame::Settings(Settings::default()).encode(&mut all);
    let mut buf = BytesMut::new();
    for b in all.iter() {
        buf.extend_from_slice(&[*b]);
        conn.recv(&mut buf, now).unwrap();
    }
    assert!(matches!(conn.poll_event(), Some(Event::RemoteSettings(_))));
}

// §5.1 Stream states

#[test]
fn rfc9113_5_1_data_on_an_idle_stream() {
    let mut p = Peer::default_server();
    let _ = p.send(&[data(1, 1, false)]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_5_1_window_update_on_an_idle_stream() {
    let mut p = Peer::default_server();
    let _ = p.send(&[window_update(1, 10)]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_6_4_rst_stream_on_an_idle_stream() {
    let mut p = Peer::default_server();
    let _ = p.send(&[rst(1, ErrorCode::CANCEL)]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_5_1_priority_on_an_idle_stream_is_fine() {
    let mut p = Peer::default_server();
    p.send(&[Frame::Priority(Priority {
        stream_id: StreamId(9),
        spec: PrioritySpec {
            exclusive: false,
            dependency: StreamId(0),
            weight: 1,
        },
    })])
    .unwrap();
    p.expect_silence();
    // ...and does not open the stream: stream 3 may still be opened after it.
    let h = p.get(3, true);
    p.send(&[h]).unwrap();
    assert_eq!(
        p.conn.stream_state(StreamId(3)),
        StreamState::HalfClosedRemote
    );
}

#[test]
fn rfc9113_5_1_data_on_a_half_closed_remote_stream_is_stream_closed() {
    let mut p = Peer::default_server();
    let h = p.get(1, true);
    p.send(&[h]).unwrap();
    let _ = p.send(&[data(1, 5, false)]);
    p.expect_rst(1, ErrorCode::STREAM_CLOSED);
    assert_eq!(p.conn.stream_state(StreamId(1)), StreamState::Closed);
}

/// §6.1: DATA on a stream neither open nor half-closed (local) is a stream error STREAM_CLOSED;
/// RFC 9113 allows (no longer requires) a connection error once END_STREAM went both ways. The
/// stream error is the answer whether our END_STREAM went out before the frame arrived or not.
#[test]
fn rfc9113_6_1_data_after_end_stream_both_ways_is_stream_closed_as_in_half_closed_remote() {
    for responded_first in [false, true] {
        let mut p = Peer::default_server();
        let h = p.get(1, true);
        p.send(&[h]).unwrap();
        let res = http::Response::new(()).into_parts().0;
        if responded_first {
            p.conn.send_response(StreamId(1), &res, true).unwrap();
            p.output();
            assert_eq!(p.conn.stream_state(StreamId(1)), StreamState::Closed);
        }
        let _ = p.send(&[data(1, 5, true)]);
        p.expect_rst(1, ErrorCode::STREAM_CLOSED);
        // Answered once; the connection goes on.
        p.send(&[data(1, 5, true)]).unwrap();
        p.expect_silence();
        let h = p.get(3, true);
        p.send(&[h]).unwrap();
        assert_eq!(
            p.conn.stream_state(StreamId(3)),
            StreamState::HalfClosedRemote
        );
    }
}

/// A client keeps no record of the streams it opened that finished normally (one entry per
/// request, otherwise); late frames on them are still judged by §5.1, however many came
/// before and however long ago.
#[test]
fn rfc9113_5_1_a_clients_finished_streams_are_closed_without_being_remembered() {
    for late in ["window_update_rst", "data", "headers"] {
        let mut p = Peer::client(Config::default(), Settings::default());
        let req = get_head();
        let mut ids = Vec::new();
        for _ in 0..2_000 {
            let id = p.conn.send_request(&req, true).unwrap();
            let h = p.headers(id.0, &[(":status", "200")], false);
            p.send(&[h, data(id.0, 3, true)]).unwrap();
            assert_eq!(p.conn.stream_state(id), StreamState::Closed);
            ids.push(id);
        }
        p.output();
        p.advance(Duration::from_secs(60));
        p.conn.handle_timeout(p.now);
        let first = ids[0].0;
        match late {
            // What servers send after a response: never answered.
            "window_update_rst" => {
                p.send(&[window_update(first, 100), rst(first, ErrorCode::NO_ERROR)])
                    .unwrap();
                p.expect_silence();
            }
            "data" => {
                let _ = p.send(&[data(first, 5, true)]);
                p.expect_rst(first, ErrorCode::STREAM_CLOSED);
            }
            _ => {
                let h = p.headers(first, &[(":status", "200")], true);
                let _ = p.send(&[h]);
                p.expect_rst(first, ErrorCode::STREAM_CLOSED);
            }
        }
    }
}

#[test]
fn rfc9113_5_1_window_update_and_rst_stream_on_closed_streams_are_ignored() {
    let mut p = Peer::default_server();
    let h = p.get(1, true);
    p.send(&[h]).unwrap();
    let res = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(1), &res, true).unwrap();
    p.output();
    // What Go clients do after every response: never answered, never penalised.
    p.send(&[
        window_update(1, 100),
        rst(1, ErrorCode::CANCEL),
        rst(1, ErrorCode::NO_ERROR),
    ])
    .unwrap();
    p.expect_silence();
    assert_eq!(p.conn.stats().frames_ignored, 3);
}

#[test]
fn rfc9113_5_1_frames_after_our_reset_are_dropped_but_count_for_the_connection_window() {
    let cfg = Config {
        connection_window: 65_535,
        ..Config::default()
    };
    let mut p = Peer::server(cfg);
    p.open(1);
    p.conn.reset(StreamId(1), ErrorCode::CANCEL);
    p.expect_rst(1, ErrorCode::CANCEL);
    // The client had not seen the reset and keeps sending: 60 KiB of DATA.
    for _ in 0..4 {
        p.send(&[data(1, 15_000, false)]).unwrap();
    }
    let out = p.output();
    assert!(
        !out.iter()
            .any(|f| matches!(f, Frame::RstStream(_) | Frame::GoAway(_))),
        "{out:?}"
    );
    // The dropped bytes were returned to the connection window.
    let returned: u32 = out
        .iter()
        .filter_map(|f| match f {
            Frame::WindowUpdate(w) if w.stream_id == StreamId(0) => Some(w.increment),
            _ => None,
        })
        .sum();
    assert!(
        returned >= 30_000,
        "connection window not replenished: {out:?}"
    );
    // So a new stream can still receive data.
    let h = p.get(3, false);
    p.send(&[h, data(3, 10_000, true)]).unwrap();
    assert!(p.conn.error().is_none());
}

#[test]
fn rfc9113_5_1_frames_after_the_peers_own_reset_are_stream_closed() {
    let mut p = Peer::default_server();
    p.open(1);
    p.send(&[rst(1, ErrorCode::CANCEL)]).unwrap();
    assert!(p
        .events
        .iter()
        .any(|e| matches!(e, Event::Reset { remote: true, .. })));
    let _ = p.send(&[data(1, 5, false)]);
    p.expect_rst(1, ErrorCode::STREAM_CLOSED);
    // Answered once; further frames are dropped.
    p.send(&[data(1, 5, false)]).unwrap();
    p.expect_silence();
}

/// A closed stream answered with our RST_STREAM is remembered from that answer: its late
/// frames are dropped for `reset_retention` after it, not after the stream first closed.
#[test]
fn rfc9113_5_1_a_stream_answered_late_is_remembered_from_the_answer() {
    let keep = Config::default().reset_retention;
    let mut p = Peer::client(Config::default(), Settings::default());
    let id = p.conn.send_request(&get_head(), true).unwrap();
    p.send(&[rst(id.0, ErrorCode::CANCEL)]).unwrap();
    p.output();
    // Half the memory later, a late frame: answered, and from now on dropped.
    p.advance(keep / 2);
    let _ = p.send(&[data(id.0, 5, false)]);
    p.expect_rst(id.0, ErrorCode::STREAM_CLOSED);
    // When the first closing's memory would have expired: still dropped.
    p.advance(keep / 2);
    p.conn.handle_timeout(p.now);
    p.send(&[data(id.0, 5, false)]).unwrap();
    p.expect_silence();
    // Once the answer's memory expires, a client takes the stream as finished.
    p.advance(keep / 2);
    p.conn.handle_timeout(p.now);
    let _ = p.send(&[data(id.0, 5, false)]);
    p.expect_rst(id.0, ErrorCode::STREAM_CLOSED);
}

// §5.1.1 Stream identifiers

#[test]
fn rfc9113_5_1_1_even_stream_id_from_a_client() {
    let mut p = Peer::default_server();
    let h = p.get(2, true);
    let _ = p.send(&[h]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9113_5_1_1_a_client_out_of_stream_ids_opens_no_more_streams() {
    let mut p = Peer::client(Config::default(), Settings::default());
    p.conn.skip_stream_ids_for_tests((1 << 31) - 1);
    let req = get_head();
    // The last identifier is still usable...
    assert_eq!(
        p.conn.send_request(&req, true).unwrap(),
        StreamId((1 << 31) - 1)
    );
    // ...and then the connection is done with new streams; the request was never sent, so the
    // runtime may retry it on a new connection.
    assert!(p.conn.stream_ids_exhausted());
    assert!(!p.conn.can_open_stream());
    assert_eq!(
        p.conn.send_request(&req, true).unwrap_err(),
        h2kit_proto::SendError::StreamIdsExhausted
    );
}

#[test]
fn rfc9113_5_1_1_stream_ids_must_increase() {
    let mut p = Peer::default_server();
    let h5 = p.get(5, true);
    let h3 = p.get(3, true);
    let _ = p.send(&[h5, h3]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

// §5.1.2 Stream concurrency

#[test]
fn rfc9113_5_1_2_streams_above_the_limit_are_refused_not_protocol_errors() {
    let mut p = Peer::server(Config {
        max_concurrent_streams: 2,
        ..Config::default()
    });
    let (a, b, c) = (p.get(1, true), p.get(3, true), p.get(5, true));
    p.send(&[a, b, c]).unwrap();
    p.expect_rst(5, ErrorCode::REFUSED_STREAM);
    assert_eq!(p.conn.active_streams(), (0, 2));
    assert_eq!(p.conn.stats().refused_streams, 1);
    // The refused stream's HPACK block was still decoded: the next request decodes fine.
    let res = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(1), &res, true).unwrap();
    // The slot was freed when END_STREAM was queued: HEADERS in the same read is accepted.
    let d = p.get(7, true);
    p.send(&[d]).unwrap();
    let out = p.output();
    assert!(!out
        .iter()
        .any(|f| matches!(f, Frame::RstStream(r) if r.stream_id == StreamId(7))));
    assert_eq!(p.conn.active_streams(), (0, 2));
}

// §5.3.1

#[test]
fn rfc9113_5_3_1_headers_depending_on_itself_is_a_stream_error() {
    let mut p = Peer::default_server();
    let block = p.block(&[(":method", "GET"), (":scheme", "http"), (":path", "/")]);
    let _ = p.send(&[Frame::Headers(Headers {
        stream_id: StreamId(1),
        block,
        end_stream: true,
        end_headers: true,
        priority: Some(PrioritySpec {
            exclusive: false,
            dependency: StreamId(1),
            weight: 1,
        }),
        pad: None,
    })]);
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
}

// §6.5 SETTINGS

#[test]
fn rfc9113_6_5_settings_are_acknowledged_and_applied() {
    let mut p = Peer::default_server();
    p.send(&[settings(&[
        (Setting::MaxFrameSize, 20_000),
        (Setting::InitialWindowSize, 100_000),
    ])])
    .unwrap();
    let out = p.output();
    assert!(
        matches!(out.as_slice(), [Frame::Settings(s)] if s.ack),
        "{out:?}"
    );
    // The new frame size and window shape our DATA.
    let h = p.get(1, true);
    p.send(&[h]).unwrap();
    let res = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(1), &res, false).unwrap();
    let rest = p
        .conn
        .send_data(StreamId(1), Bytes::from(vec![0; 150_000]), true)
        .unwrap();
    assert_eq!(
        rest.len(),
        150_000 - 65_535,
        "limited by the connection window"
    );
    let out = p.output();
    let sizes: Vec<usize> = out
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 65_535);
    assert!(
        sizes.iter().all(|s| *s <= 20_000) && sizes.contains(&20_000),
        "{sizes:?}"
    );
}

#[test]
fn rfc9113_6_5_2_server_enabling_push_is_rejected_by_a_client() {
    let now = std::time::Instant::now();
    let mut conn = Connection::client(Config::default(), now);
    let mut b = BytesMut::new();
    settings(&[(Setting::EnablePush, 1)]).encode(&mut b);
    assert_eq!(
        conn.recv(&mut b, now).unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_6_5_3_settings_not_acknowledged_in_time() {
    let now = std::time::Instant::now();
    let mut conn = Connection::server(Config::default(), now);
    let mut b = BytesMut::from(&PREFACE[..]);
    Frame::Settings(Settings::default()).encode(&mut b);
    conn.recv(&mut b, now).unwrap();
    let deadline = conn.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(10));
    conn.handle_timeout(deadline - Duration::from_millis(1));
    assert!(conn.error().is_none());
    conn.handle_timeout(deadline);
    assert_eq!(
        conn.error().map(|e| e.code),
        Some(ErrorCode::SETTINGS_TIMEOUT)
    );
}

#[test]
fn rfc9113_6_5_3_local_settings_apply_when_acknowledged() {
    let mut p = Peer::server(Config {
        max_concurrent_streams: 10,
        ..Config::default()
    });
    let mut s = Settings::default();
    s.set(Setting::MaxConcurrentStreams, Some(1));
    p.conn.update_settings(s, p.now);
    p.output();
    // Before the ACK the old limit still applies.
    let (a, b) = (p.get(1, true), p.get(3, true));
    p.send(&[a, b]).unwrap();
    assert_eq!(p.conn.active_streams(), (0, 2));
    p.send(&[Frame::Settings(Settings::ack())]).unwrap();
    assert!(p
        .events
        .iter()
        .any(|e| matches!(e, Event::LocalSettingsAcked)));
    let c = p.get(5, true);
    p.send(&[c]).unwrap();
    p.expect_rst(5, ErrorCode::REFUSED_STREAM);
}

// §6.6, §8.4 PUSH_PROMISE

#[test]
fn rfc9113_8_4_push_promise_is_a_protocol_error() {
    let mut p = Peer::client(Config::default(), Settings::default());
    let req = get_head();
    p.conn.send_request(&req, true).unwrap();
    p.output();
    let block = p.block(&[(":method", "GET"), (":scheme", "http"), (":path", "/x")]);
    let _ = p.send(&[Frame::PushPromise(PushPromise {
        stream_id: StreamId(1),
        promised_id: StreamId(2),
        block,
        end_headers: true,
        pad: None,
    })]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
}

// §6.7 PING

#[test]
fn rfc9113_6_7_ping_is_acked_ahead_of_queued_frames() {
    let mut p = Peer::default_server();
    let h = p.get(1, true);
    p.send(&[h]).unwrap();
    let res = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(1), &res, false).unwrap();
    p.conn
        .send_data(StreamId(1), Bytes::from(vec![0; 60_000]), false)
        .unwrap();
    // 60 KB are queued when the PING arrives.
    p.send(&[Frame::Ping(Ping {
        ack: false,
        payload: *b"pingpong",
    })])
    .unwrap();
    let first = p.conn.poll_transmit().unwrap();
    assert_eq!(
        &first[..9],
        &[0, 0, 8, 6, 1, 0, 0, 0, 0],
        "PING ACK must come first"
    );
    assert_eq!(&first[9..17], b"pingpong");
}

#[test]
fn rfc9113_6_7_pings_carry_distinct_payloads_and_report_rtt() {
    let mut p = Peer::default_server();
    let a = p.conn.ping(p.now);
    let b = p.conn.ping(p.now);
    assert_ne!(a, b);
    let out = p.output();
    let payloads: Vec<[u8; 8]> = out
        .iter()
        .filter_map(|f| match f {
            Frame::Ping(x) if !x.ack => Some(x.payload),
            _ => None,
        })
        .collect();
    assert_eq!(payloads.len(), 2);
    p.advance(Duration::from_millis(25));
    p.send(&[Frame::Ping(Ping {
        ack: true,
        payload: payloads[1],
    })])
    .unwrap();
    assert!(p
        .events
        .iter()
        .any(|e| matches!(e, Event::PingAck { payload, rtt } if *payload == b && *rtt == Duration::from_millis(25))));
    assert_eq!(p.conn.pings_in_flight(), 1);
    assert_eq!(p.conn.stats().last_rtt, Some(Duration::from_millis(25)));
}

// §6.8 GOAWAY

#[test]
fn rfc9113_6_8_graceful_shutdown_is_two_phase() {
    let mut p = Peer::default_server();
    p.open(1);
    p.conn.graceful_shutdown(p.now);
    let out = p.output();
    let ping = match out.as_slice() {
        [Frame::GoAway(g), Frame::Ping(ping)] => {
            assert_eq!(
                (g.last_stream_id, g.code),
                (StreamId::MAX, ErrorCode::NO_ERROR)
            );
            *ping
        }
        other => panic!("{other:?}"),
    };
    // A request already in flight when the first GOAWAY left is still accepted.
    let h = p.get(3, true);
    p.send(&[h]).unwrap();
    assert_eq!(
        p.conn.stream_state(StreamId(3)),
        StreamState::HalfClosedRemote
    );
    p.send(&[Frame::Ping(Ping {
        ack: true,
        payload: ping.payload,
    })])
    .unwrap();
    let out = p.output();
    assert!(
        matches!(out.as_slice(), [Frame::GoAway(g)] if g.last_stream_id == StreamId(3)),
        "{out:?}"
    );
    // Streams after the final GOAWAY are ignored (the client learns they were not processed).
    let h = p.get(5, true);
    p.send(&[h]).unwrap();
    assert!(p.output().is_empty());
    assert_eq!(p.conn.active_streams(), (0, 2));
    // In-flight streams finish, then the connection is done.
    let res = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(3), &res, true).unwrap();
    p.conn.send_response(StreamId(1), &res, true).unwrap();
    p.send(&[data(1, 0, true)]).unwrap();
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_client_learns_which_streams_were_not_processed() {
    let mut p = Peer::client(Config::default(), Settings::default());
    let req = get_head();
    let ids: Vec<StreamId> = (0..4)
        .map(|_| p.conn.send_request(&req, true).unwrap())
        .collect();
    p.output();
    p.send(&[Frame::GoAway(GoAway {
        last_stream_id: StreamId(3),
        code: ErrorCode::NO_ERROR,
        debug_data: Bytes::new(),
    })])
    .unwrap();
    let unprocessed: Vec<StreamId> = p
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Unprocessed { stream } => Some(*stream),
            _ => None,
        })
        .collect();
    assert_eq!(unprocessed, vec![ids[2], ids[3]]);
    assert!(matches!(
        p.conn.send_request(&req, true),
        Err(h2kit_proto::SendError::GoingAway)
    ));
    // Streams 1 and 3 are still served.
    assert_eq!(p.conn.active_streams(), (2, 0));
}

// §4.3 and §6.5.2 header compression and size

#[test]
fn rfc9113_4_3_hpack_error_is_a_compression_error() {
    let mut p = Peer::default_server();
    let _ = p.send(&[Frame::Headers(Headers {
        stream_id: StreamId(1),
        block: Bytes::from_static(&[0xff, 0xff]),
        end_stream: true,
        end_headers: true,
        priority: None,
        pad: None,
    })]);
    p.expect_goaway(ErrorCode::COMPRESSION_ERROR);
}

#[test]
fn rfc9113_6_5_2_header_list_too_large_gets_431_and_the_connection_lives() {
    let mut p = Peer::server(Config {
        max_header_list_size: 1000,
        ..Config::default()
    });
    let big = "x".repeat(2000);
    let h = p.headers(
        1,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            ("x-big", &big),
        ],
        true,
    );
    p.send(&[h]).unwrap();
    let out = p.output();
    assert!(
        matches!(out.as_slice(), [Frame::Headers(h)] if h.end_stream),
        "{out:?}"
    );
    assert!(
        p.events.is_empty(),
        "the application never sees the request: {:?}",
        p.events
    );
    let h = p.get(3, true);
    p.send(&[h]).unwrap();
    assert!(p.conn.error().is_none());
    assert_eq!(p.events.len(), 1);
}

#[test]
fn rfc9113_6_5_2_we_honour_the_peers_max_header_list_size() {
    let mut s = Settings::default();
    s.set(Setting::MaxHeaderListSize, Some(200));
    let mut p = Peer::client(Config::default(), s);
    let big = http::Request::get("http://a.test/")
        .header("x-big", "v".repeat(300))
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert!(matches!(
        p.conn.send_request(&big, true),
        Err(h2kit_proto::SendError::Malformed(_))
    ));
    p.expect_silence();
    // The failed attempt used no stream identifier: the next request is stream 1.
    let small = get_head();
    assert_eq!(p.conn.send_request(&small, true).unwrap(), StreamId(1));
}

#[test]
fn rfc9113_5_1_2_client_waits_for_a_slot_and_is_told_when_one_frees() {
    let mut p = Peer::client(Config::default(), {
        let mut s = Settings::default();
        s.set(Setting::MaxConcurrentStreams, Some(2));
        s
    });
    let req = get_head();
    let a = p.conn.send_request(&req, true).unwrap();
    p.conn.send_request(&req, true).unwrap();
    assert!(!p.conn.can_open_stream());
    assert!(matches!(
        p.conn.send_request(&req, true),
        Err(h2kit_proto::SendError::ConcurrencyLimit)
    ));
    p.output();
    let h = p.headers(a.0, &[(":status", "204")], true);
    p.send(&[h]).unwrap();
    assert!(p
        .events
        .iter()
        .any(|e| matches!(e, Event::StreamsAvailable)));
    assert!(p.conn.send_request(&req, true).is_ok());
    // Never more than the peer's limit on the wire.
    assert_eq!(p.conn.active_streams(), (2, 0));
}

#[test]
fn rfc9113_6_8_idle_close_is_one_goaway_with_the_last_processed_stream() {
    let mut p = Peer::default_server();
    let h = p.get(1, true);
    p.send(&[h]).unwrap();
    let res = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(1), &res, true).unwrap();
    p.output();
    p.conn.close_idle();
    let out = p.output();
    assert!(
        matches!(out.as_slice(), [Frame::GoAway(g)] if g.last_stream_id == StreamId(1) && g.code == ErrorCode::NO_ERROR),
        "{out:?}"
    );
    assert!(p.conn.is_closed());
}
