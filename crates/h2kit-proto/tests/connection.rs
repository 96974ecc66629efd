//! Client and server `Connection`s wired together in memory: exchanges with bodies and
//! trailers under random splits of the byte stream, and the seed scenarios of the stream
//! lifecycle (reset discipline, concurrency accounting, state agreement).

mod common;
use common::pair::*;

use bytes::Bytes;
use h2kit_proto::frame::{Frame, FrameType};
use h2kit_proto::{Config, ErrorCode, Event, Head, StreamId, StreamState};

#[test]
fn rfc9113_3_4_preface_and_settings_exchange() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.run();
    // Each side sent SETTINGS, acknowledged the other's, and learnt both were applied.
    for side in [Side::Client, Side::Server] {
        let settings = p.sent(side, FrameType::Settings);
        assert_eq!(
            settings
                .iter()
                .filter(|f| matches!(f, Frame::Settings(s) if s.ack))
                .count(),
            1
        );
        assert_eq!(
            settings
                .iter()
                .filter(|f| matches!(f, Frame::Settings(s) if !s.ack))
                .count(),
            1
        );
    }
    for events in [&p.client_events, &p.server_events] {
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::LocalSettingsAcked)));
        assert!(events.iter().any(|e| matches!(e, Event::RemoteSettings(_))));
    }
    assert_eq!(p.client.peer_max_concurrent_streams(), 100);
    // The connection windows were raised past 65,535 with WINDOW_UPDATE on stream 0.
    assert!(p
        .sent(Side::Client, FrameType::WindowUpdate)
        .iter()
        .any(|f| f.stream_id() == StreamId(0)));
}

/// Runs one request/response with bodies of the given sizes and trailers both ways; returns
/// what each side received.
fn exchange(p: &mut Pair, req_body: usize, res_body: usize) -> (Vec<u8>, Vec<u8>) {
    let id = p
        .client
        .send_request(&post("/upload", req_body), false)
        .unwrap();
    let body = Bytes::from((0..req_body).map(|i| i as u8).collect::<Vec<_>>());
    let mut rest = p.client.send_data(id, body, false).unwrap();
    let mut trailers_sent = false;
    let mut server_got = Vec::new();
    let mut client_got = Vec::new();
    let mut response_sent = false;
    let mut res_rest = Bytes::from(vec![7u8; res_body]);
    let mut done = false;
    for _ in 0..10_000 {
        p.run();
        for e in p.server_events.drain(..) {
            match e {
                Event::Data { stream, data, .. } => {
                    server_got.extend_from_slice(&data);
                    p.server.release_capacity(stream, data.len());
                }
                Event::Headers {
                    head: Head::Trailers(t),
                    end_stream,
                    ..
                } => {
                    assert!(end_stream);
                    assert_eq!(t["x-checksum"], "abc");
                }
                _ => {}
            }
        }
        for e in p.client_events.drain(..) {
            match e {
                Event::Headers {
                    head: Head::Response(r),
                    ..
                } => assert_eq!(r.status(), 200),
                Event::Data { stream, data, .. } => {
                    client_got.extend_from_slice(&data);
                    p.client.release_capacity(stream, data.len());
                }
                Event::Headers {
                    head: Head::Trailers(t),
                    end_stream,
                    ..
                } => {
                    assert!(end_stream);
                    assert_eq!(t["grpc-status"], "0");
                    done = true;
                }
                _ => {}
            }
        }
        if !rest.is_empty() {
            rest = p.client.send_data(id, rest, false).unwrap();
        } else if !trailers_sent {
            let mut t = http::HeaderMap::new();
            t.insert("x-checksum", "abc".parse().unwrap());
            p.client.send_trailers(id, &t).unwrap();
            trailers_sent = true;
        }
        if !response_sent && p.server.stream_state(id) != StreamState::Idle {
            p.server.send_response(id, &ok(), false).unwrap();
            response_sent = true;
        }
        if response_sent && !res_rest.is_empty() {
            res_rest = p.server.send_data(id, res_rest, false).unwrap();
            if res_rest.is_empty() {
                let mut t = http::HeaderMap::new();
                t.insert("grpc-status", "0".parse().unwrap());
                p.server.send_trailers(id, &t).unwrap();
            }
        }
        if done {
            p.run();
            assert_eq!(p.client.stream_state(id), StreamState::Closed);
            assert_eq!(p.server.stream_state(id), StreamState::Closed);
            return (server_got, client_got);
        }
    }
    panic!("exchange did not finish");
}

#[test]
fn request_and_response_with_bodies_and_trailers() {
    let mut p = Pair::connected();
    let (up, down) = exchange(&mut p, 10_000, 50_000);
    assert_eq!(up.len(), 10_000);
    assert!(up.iter().enumerate().all(|(i, b)| *b == i as u8));
    assert_eq!(down, vec![7u8; 50_000]);
}

#[test]
fn bodies_larger_than_every_window_flow() {
    // Small windows force many WINDOW_UPDATE rounds and DATA split across them.
    let cfg = Config {
        initial_stream_window: 65_535,
        connection_window: 65_535,
        ..Config::default()
    };
    let mut p = Pair::new(cfg.clone(), cfg);
    p.run();
    let (up, down) = exchange(&mut p, 300_000, 1_000_000);
    assert_eq!((up.len(), down.len()), (300_000, 1_000_000));
}

#[test]
fn window_updates_are_batched_not_one_per_frame() {
    let mut p = Pair::connected();
    let (_, down) = exchange(&mut p, 0, 8_000_000);
    assert_eq!(down.len(), 8_000_000);
    let data = p.sent(Side::Server, FrameType::Data).len();
    let updates = p.sent(Side::Client, FrameType::WindowUpdate);
    // 2 MiB stream window, returned in 1 MiB batches; 16 MiB connection window, 8 MiB batches.
    assert!(data >= 488, "{data}");
    assert!(
        updates.len() <= 8,
        "{} WINDOW_UPDATEs for {data} DATA frames",
        updates.len()
    );
}

#[test]
fn random_splits_of_the_byte_stream() {
    for seed in 1..=40u64 {
        let mut p = Pair::new(Config::default(), Config::default());
        p.rng = Some(Rng(seed * 0x9e37_79b9));
        p.run();
        p.clear();
        let (up, down) = exchange(
            &mut p,
            (seed as usize * 997) % 40_000,
            (seed as usize * 7919) % 100_000,
        );
        assert_eq!(up.len(), (seed as usize * 997) % 40_000);
        assert_eq!(down.len(), (seed as usize * 7919) % 100_000);
    }
}

/// Seed scenario 1: END_STREAM received, then the application cancels: zero RST_STREAM bytes.
#[test]
fn seed_1_cancel_after_end_stream_sends_nothing() {
    let mut p = Pair::connected();
    let id = p.client.send_request(&get("/"), true).unwrap();
    p.run();
    p.server.send_response(id, &ok(), false).unwrap();
    p.server
        .send_data(id, Bytes::from_static(b"body"), false)
        .unwrap();
    // END_STREAM in a separate, empty DATA frame (what several servers do).
    p.server.send_data(id, Bytes::new(), true).unwrap();
    p.run();
    assert!(p.client_events.iter().any(|e| matches!(
        e,
        Event::Data {
            end_stream: true,
            ..
        }
    )));
    // The application has not consumed the body and drops it now.
    p.client.cancel(id);
    p.client.reset(id, ErrorCode::CANCEL);
    p.run();
    assert!(p.sent(Side::Client, FrameType::RstStream).is_empty());
    assert!(p.sent(Side::Client, FrameType::Ping).is_empty());
    assert_eq!(p.client.stats().suppressed_resets, 2);
    assert_eq!(p.client.stats().resets_sent.total(), 0);
}

#[test]
fn cancel_while_the_peer_is_still_sending_resets_with_cancel() {
    let mut p = Pair::connected();
    let id = p.client.send_request(&get("/"), true).unwrap();
    p.run();
    p.server.send_response(id, &ok(), false).unwrap();
    p.run();
    p.client.cancel(id);
    p.run();
    let rst = p.sent(Side::Client, FrameType::RstStream);
    assert_eq!(rst.len(), 1);
    assert!(matches!(rst[0], Frame::RstStream(r) if r.code == ErrorCode::CANCEL));
    // The server's slot was freed by processing the RST_STREAM.
    assert_eq!(p.server.active_streams(), (0, 0));
    // Late DATA from the server for the reset stream is dropped by the client.
    assert!(p
        .server
        .send_data(id, Bytes::from_static(b"late"), true)
        .is_err());
}

/// The server answered (413) before the upload ended, and the client gives the upload up. An
/// END_STREAM would tell the server the request is complete: with its content-length of 100
/// and nothing sent, a malformed request the server must reset with PROTOCOL_ERROR (RFC 9113
/// §8.1.1); without one, a truncated body taken as whole. RST_STREAM(CANCEL) says what
/// happened, and the stream is open on both sides' receiving ends, so it is no reset of a
/// closed stream.
#[test]
fn cancel_after_the_response_ended_but_before_the_upload_did_resets_the_upload() {
    let mut p = Pair::connected();
    let id = p.client.send_request(&post("/", 100), false).unwrap();
    p.run();
    p.server.send_response(id, &status(413), true).unwrap();
    p.run();
    p.client.cancel(id);
    p.run();
    let rst = p.sent(Side::Client, FrameType::RstStream);
    assert!(
        matches!(rst.as_slice(), [Frame::RstStream(r)] if r.code == ErrorCode::CANCEL),
        "{rst:?}"
    );
    assert!(p.sent(Side::Server, FrameType::RstStream).is_empty());
    assert!(p.sent(Side::Client, FrameType::Data).is_empty());
    assert_eq!(p.client.stream_state(id), StreamState::Closed);
    assert_eq!(p.server.stream_state(id), StreamState::Closed);
}

/// Seed scenario 2: a server at its limit ends a stream and the client's next HEADERS arrives
/// in the same read: accepted, never refused, never PROTOCOL_ERROR — over 100,000 rounds with
/// random interleavings.
#[test]
fn seed_2_slot_freed_by_end_stream_is_reusable_in_the_same_read() {
    let mut rng = Rng(0xdead_beef);
    let limit = 10u32;
    let server_cfg = Config {
        max_concurrent_streams: limit,
        ..Config::default()
    };
    let mut p = Pair::new(Config::default(), server_cfg);
    p.run();
    assert_eq!(p.client.peer_max_concurrent_streams(), limit);
    p.rng = Some(Rng(42));
    let mut open: Vec<StreamId> = Vec::new();
    let mut rounds = 0;
    let mut completed = 0u64;
    while rounds < 100_000 {
        // The client fills every slot it has.
        while p.client.can_open_stream() {
            let end = rng.chance(70);
            let id = p.client.send_request(&get("/"), end).unwrap();
            if !end {
                p.client
                    .send_data(id, Bytes::from_static(b"x"), true)
                    .unwrap();
            }
        }
        p.client_to_server();
        for id in requests(&p.server_events) {
            open.push(id);
        }
        p.server_events.clear();
        // The server ends a random number of streams in random order, sometimes by reset.
        let n = 1 + rng.below(open.len() as u64) as usize;
        for _ in 0..n {
            let i = rng.below(open.len() as u64) as usize;
            let id = open.swap_remove(i);
            if rng.chance(10) {
                p.server.reset(id, ErrorCode::NO_ERROR);
            } else {
                p.server.send_response(id, &ok(), rng.chance(50)).unwrap();
                if p.server.stream_state(id) != StreamState::Closed {
                    p.server
                        .send_data(id, Bytes::from_static(b"ok"), true)
                        .unwrap();
                }
            }
            completed += 1;
            rounds += 1;
        }
        // Server output reaches the client, which immediately opens new streams; both
        // directions are then delivered together (the HEADERS land in the server's next read).
        p.server_to_client();
        for e in p.client_events.drain(..) {
            if let Event::Data { stream, data, .. } = e {
                p.client.release_capacity(stream, data.len());
            }
        }
    }
    assert_eq!(completed, rounds as u64);
    let s = p.server.stats();
    assert_eq!(s.refused_streams, 0);
    assert_eq!(s.resets_sent.get(ErrorCode::REFUSED_STREAM), 0);
    assert_eq!(s.goaways_sent.total(), 0);
    assert!(p.server.error().is_none() && p.client.error().is_none());
    assert!(s.streams_opened_remote >= 100_000);
    let c = p.client.stats();
    assert_eq!(c.resets_received.get(ErrorCode::REFUSED_STREAM), 0);
    assert_eq!(c.resets_received.get(ErrorCode::PROTOCOL_ERROR), 0);
    assert_eq!(c.goaways_received.total(), 0);
}

/// §6.10 and §4.2: a header block larger than the peer's SETTINGS_MAX_FRAME_SIZE goes out as
/// one HEADERS frame and CONTINUATION frames right behind it, none above the limit, END_STREAM
/// on the HEADERS frame and END_HEADERS on the last only; the server reassembles the request.
#[test]
fn rfc9113_6_10_large_header_block_is_sent_as_headers_and_continuations() {
    let mut p = Pair::connected();
    let mut req = get("/big");
    // Letters in no pattern Huffman coding could shrink below two frames' worth.
    let value: String = (0..45_000u32)
        .map(|i| (b'a' + (i.wrapping_mul(2_654_435_761) >> 24) as u8 % 26) as char)
        .collect();
    req.headers.insert("x-big", value.parse().unwrap());
    let id = p.client.send_request(&req, true).unwrap();
    p.run();
    let sent: Vec<&Frame> = p
        .wire
        .iter()
        .filter(|(s, f)| *s == Side::Client && f.stream_id() == id)
        .map(|(_, f)| f)
        .collect();
    let Frame::Headers(h) = sent[0] else {
        panic!("first frame of the stream is {:?}", sent[0].frame_type());
    };
    assert!(h.end_stream && !h.end_headers);
    assert_eq!(h.block.len(), 16_384);
    assert!(sent.len() >= 3, "{} frames", sent.len());
    for (i, f) in sent[1..].iter().enumerate() {
        let Frame::Continuation(c) = f else {
            panic!("frame {} is {:?}", i + 1, f.frame_type());
        };
        assert!(c.block.len() <= 16_384 && !c.block.is_empty());
        assert_eq!(c.end_headers, i + 2 == sent.len());
    }
    // Nothing else of the client's came between them (§6.10).
    let first = p
        .wire
        .iter()
        .position(|(_, f)| f.stream_id() == id)
        .unwrap();
    assert!(p.wire[first..first + sent.len()]
        .iter()
        .all(|(s, f)| *s == Side::Client && f.stream_id() == id));
    let got = common::first_request(&p.server_events).expect("the server got the request");
    assert_eq!(got.uri().path(), "/big");
    assert_eq!(got.headers()["x-big"], value.as_str());
}
