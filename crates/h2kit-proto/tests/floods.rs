//! Flood attacks against a server `Connection`, each cut off with GOAWAY(ENHANCE_YOUR_CALM)
//! within a bounded number of frames, and the benign patterns that look a little like them,
//! never penalised. Time is simulated, so rates are exact.

mod common;
use common::pair::Rng;
use common::peer::*;

use std::time::Duration;

use bytes::Bytes;
use h2kit_proto::connection::Flood;
use h2kit_proto::frame::{
    Continuation, Frame, Headers, Ping, Priority, PrioritySpec, StreamId, Unknown,
};
use h2kit_proto::{Config, ErrorCode};

fn server() -> Peer {
    Peer::server(Config::default())
}

/// Runs `round(peer, i)` until the connection fails or `max` rounds pass; returns the rounds.
fn attack(p: &mut Peer, max: u32, mut round: impl FnMut(&mut Peer, u32) -> Vec<Frame>) -> u32 {
    for i in 0..max {
        let frames = round(p, i);
        let _ = p.send(&frames);
        if p.conn.error().is_some() {
            return i + 1;
        }
    }
    max
}

fn ping(n: u64) -> Frame {
    Frame::Ping(Ping {
        ack: false,
        payload: n.to_be_bytes(),
    })
}

fn assert_calmed(p: &mut Peer, kind: Flood) {
    p.expect_goaway(ErrorCode::ENHANCE_YOUR_CALM);
    assert_eq!(p.conn.stats().flood, Some(kind));
}

fn assert_untouched(p: &mut Peer) {
    let out = p.output();
    assert!(
        !out.iter().any(|f| matches!(f, Frame::GoAway(_))),
        "GOAWAY sent: {:?}",
        p.conn.error()
    );
    assert!(p.conn.error().is_none());
    assert_eq!(p.conn.stats().flood, None);
}

/// A header block started on stream 1 and continued with `each` until the server gives up.
fn continuation_flood(each: Bytes) -> (Peer, u32) {
    let mut p = server();
    let h = Frame::Headers(Headers {
        stream_id: StreamId(1),
        block: Bytes::from_static(&[0x82]),
        end_stream: true,
        end_headers: false,
        priority: None,
        pad: None,
    });
    p.send(&[h]).unwrap();
    let n = attack(&mut p, 100_000, |_, _| {
        vec![Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: each.clone(),
            end_headers: false,
        })]
    });
    (p, n)
}

#[test]
fn rapid_reset_is_cut_off_within_about_a_thousand_streams() {
    // HEADERS then RST_STREAM, 100,000 streams per second (CVE-2023-44487).
    let mut p = server();
    let n = attack(&mut p, 100_000, |p, i| {
        p.advance(Duration::from_micros(10));
        let id = 2 * i + 1;
        vec![p.get(id, true), rst(id, ErrorCode::CANCEL)]
    });
    assert!((1_000..1_100).contains(&n), "cut off after {n} streams");
    assert_calmed(&mut p, Flood::StreamResets);
}

#[test]
fn made_you_reset_is_cut_off_too() {
    // Frames that make the server reset streams itself (CVE-2025-8671): a WINDOW_UPDATE of 0
    // on a stream (stream error PROTOCOL_ERROR, §6.9), and DATA after END_STREAM
    // (STREAM_CLOSED, §5.1).
    let mut p = server();
    let n = attack(&mut p, 100_000, |p, i| {
        p.advance(Duration::from_micros(10));
        let id = 2 * i + 1;
        if i % 2 == 0 {
            vec![p.get(id, false), window_update(id, 0)]
        } else {
            vec![p.get(id, true), data(id, 1, false)]
        }
    });
    assert!((1_000..1_100).contains(&n), "cut off after {n} streams");
    assert_calmed(&mut p, Flood::StreamResets);
    assert!(p.conn.stats().resets_sent.total() >= 1_000);
}

#[test]
fn refused_streams_beyond_the_limit_are_cut_off() {
    // A peer that ignores a limit of 1 makes us refuse stream after stream.
    let mut p = Peer::server(Config {
        max_concurrent_streams: 1,
        ..Config::default()
    });
    let first = p.get(1, false);
    p.send(&[first]).unwrap();
    let n = attack(&mut p, 100_000, |p, i| {
        p.advance(Duration::from_micros(10));
        vec![p.get(2 * i + 3, true)]
    });
    assert!((1_000..1_100).contains(&n), "cut off after {n} streams");
    assert_calmed(&mut p, Flood::StreamResets);
    assert!(p.conn.stats().refused_streams >= 1_000);
}

#[test]
fn empty_frame_floods_are_cut_off() {
    // Zero-length DATA without END_STREAM (CVE-2019-9518).
    let mut p = server();
    p.open(1);
    let n = attack(&mut p, 100_000, |p, _| {
        p.advance(Duration::from_micros(10));
        vec![data(1, 0, false)]
    });
    assert!((100..110).contains(&n), "cut off after {n} frames");
    assert_calmed(&mut p, Flood::EmptyFrames);

    // Zero-length CONTINUATION frames: they never grow the block, so only their count can
    // stop them.
    let (mut p, n) = continuation_flood(Bytes::new());
    assert!(n <= 101, "cut off after {n} frames");
    assert_calmed(&mut p, Flood::EmptyFrames);
}

#[test]
fn continuation_floods_are_cut_off_by_frame_count() {
    // One byte per CONTINUATION: the block's 64 KiB byte limit would take 65,536 frames; the
    // frame limit stops it at 256.
    let (mut p, n) = continuation_flood(Bytes::from_static(&[0x84]));
    assert_eq!(n, 256, "cut off after {n} CONTINUATION frames");
    assert_calmed(&mut p, Flood::Continuation);
}

/// An empty response that ends stream `id`.
fn answer(p: &mut Peer, id: u32) -> Result<(), h2kit_proto::SendError> {
    let head = http::Response::new(()).into_parts().0;
    p.conn.send_response(StreamId(id), &head, true)
}

fn priority(stream: u32, dependency: u32) -> Frame {
    Frame::Priority(Priority {
        stream_id: StreamId(stream),
        spec: PrioritySpec {
            exclusive: false,
            dependency: StreamId(dependency),
            weight: 15,
        },
    })
}

#[test]
fn priority_and_unknown_frame_floods_are_cut_off() {
    // PRIORITY frames for ever-new idle streams at 1,000,000 per second (CVE-2019-9513): h2kit
    // keeps no priority tree, but every frame is still parsed.
    let mut p = server();
    let n = attack(&mut p, 1_000_000, |p, i| {
        p.advance(Duration::from_micros(1));
        vec![priority(2 * i + 3, 2 * i + 1)]
    });
    assert!((1_000..1_010).contains(&n), "cut off after {n} frames");
    assert_calmed(&mut p, Flood::IgnoredFrames);

    // Frames of an unknown type (§5.5 says to ignore them) draw from the same budget.
    let mut p = server();
    let n = attack(&mut p, 1_000_000, |p, _| {
        p.advance(Duration::from_micros(1));
        vec![Frame::Unknown(Unknown {
            kind: 0xfa,
            flags: 0,
            stream_id: StreamId(0),
            payload: Bytes::from_static(b"grease"),
        })]
    });
    assert!((1_000..1_010).contains(&n), "cut off after {n} frames");
    assert_calmed(&mut p, Flood::IgnoredFrames);
}

#[test]
fn priority_frames_as_rfc7540_browsers_send_them_are_fine() {
    // Firefox's old scheme: five PRIORITY frames for its group streams when the connection
    // starts, then each request's HEADERS depends on a group; on a tab switch every open
    // stream is reprioritized. Here: 20,000 requests as fast as the loopback allows, each
    // with a PRIORITY frame of its own, and a GREASE frame now and then.
    let mut p = server();
    let groups: Vec<Frame> = (0..5).map(|g| priority(3 + 2 * g, 0)).collect();
    p.send(&groups).unwrap();
    for i in 0..20_000u32 {
        p.advance(Duration::from_micros(10));
        let id = 2 * i + 101;
        let h = p.get(id, true);
        let mut frames = vec![h, priority(id, 3 + 2 * (i % 5))];
        if i % 1_000 == 0 {
            frames.push(Frame::Unknown(Unknown {
                kind: 0x0b + (i % 7) as u8 * 0x1f,
                flags: 0,
                stream_id: StreamId(0),
                payload: Bytes::new(),
            }));
        }
        p.send(&frames).unwrap();
        answer(&mut p, id).unwrap();
        p.output();
    }
    assert_untouched(&mut p);
}

#[test]
fn cancelling_every_request_with_a_ping_at_1000_per_second_is_fine() {
    // The Go client's pattern: every request cancelled, a PING after each reset — for 10 s
    // of simulated time at 1,000 requests/s.
    let mut p = server();
    for i in 0..10_000u32 {
        p.advance(Duration::from_millis(1));
        let id = 2 * i + 1;
        let h = p.get(id, true);
        p.send(&[h, rst(id, ErrorCode::CANCEL), ping(u64::from(i))])
            .unwrap();
        p.output();
    }
    assert_untouched(&mut p);
    assert_eq!(
        p.conn.stats().resets_received.get(ErrorCode::CANCEL),
        10_000
    );
}

#[test]
fn resets_and_window_updates_on_closed_streams_are_fine() {
    // Late frames for finished streams, as a client racing its own cancellations sends them:
    // ignored, never counted.
    let mut p = server();
    for i in 0..10_000u32 {
        let id = 2 * i + 1;
        let h = p.get(id, true);
        p.send(&[h]).unwrap();
        answer(&mut p, id).unwrap();
        p.send(&[rst(id, ErrorCode::CANCEL), window_update(id, 100)])
            .unwrap();
        p.output();
    }
    assert_untouched(&mut p);
    assert_eq!(p.conn.stats().frames_ignored, 20_000);
}

/// `n` requests, one every `every`, each cancelled before its response with probability
/// `percent`% and otherwise answered: the server must take it all without a penalty.
fn cancel_some(n: u32, every: Duration, percent: u64, seed: u64) {
    let mut p = server();
    let mut rng = Rng(seed);
    for i in 0..n {
        p.advance(every);
        let id = 2 * i + 1;
        let h = p.get(id, true);
        p.send(&[h]).unwrap();
        if rng.chance(percent) {
            p.send(&[rst(id, ErrorCode::CANCEL)]).unwrap();
        } else {
            answer(&mut p, id).unwrap();
        }
        p.output();
    }
    assert_untouched(&mut p);
}

#[test]
fn a_burst_of_random_cancellations_among_completions_is_fine() {
    // 100 tasks × 100 requests as fast as the loopback allows, half of them cancelled before
    // their response and the others completed: completions earn resets back.
    cancel_some(10_000, Duration::from_micros(20), 50, 0x5eed);
}

#[test]
fn cancelling_most_requests_at_a_high_rate_is_fine() {
    // A client whose deadlines are short for the server: 100,000 requests at 20,000/s, seven
    // in ten cancelled before their response.
    cancel_some(100_000, Duration::from_micros(50), 70, 0xcafe);
}

#[test]
fn earning_resets_with_completed_streams_is_bounded() {
    // An attacker that completes one stream for every four it resets, at 100,000 streams/s:
    // each completion earns three resets back, so the budget still drains, one per round.
    let mut p = server();
    let n = attack(&mut p, 100_000, |p, i| {
        p.advance(Duration::from_micros(50));
        let base = 10 * i + 1;
        let mut frames = Vec::new();
        for k in 0..4 {
            let id = base + 2 * k;
            frames.push(p.get(id, true));
            frames.push(rst(id, ErrorCode::CANCEL));
        }
        let done = base + 8;
        frames.push(p.get(done, true));
        let _ = p.send(&frames);
        let _ = answer(p, done);
        Vec::new()
    });
    assert_calmed(&mut p, Flood::StreamResets);
    // 1,000 of burst plus the time refill (2,000/s over the attack) at one per round.
    assert!(n < 2_000, "cut off after {n} rounds");
}

#[test]
fn hpack_table_churn_is_bounded_work() {
    // Every request shrinks the dynamic table to nothing and grows it back (two size updates
    // at the start of the block, RFC 7541 §4.2), then inserts a fresh 100-byte field: the
    // table is rebuilt 10,000 times, each block costing only its own bytes.
    let mut p = server();
    for i in 0..10_000u32 {
        let mut block = vec![0x20, 0x3f, 0xe1, 0x1f]; // size 0, then size 4096
        block.extend([0x82, 0x86, 0x84, 0x41, 0x01, b'a']); // GET http / , :authority a
        let name = format!("x-churn-{i:08}");
        let value = vec![b'v'; 100 - name.len()];
        block.push(0x40);
        block.push(name.len() as u8);
        block.extend(name.as_bytes());
        block.push(value.len() as u8);
        block.extend(&value);
        let id = 2 * i + 1;
        let h = Frame::Headers(Headers {
            stream_id: StreamId(id),
            block: Bytes::from(block),
            end_stream: true,
            end_headers: true,
            priority: None,
            pad: None,
        });
        p.send(&[h]).unwrap();
        answer(&mut p, id).unwrap();
        p.output();
    }
    assert_untouched(&mut p);
    let heads = p
        .events
        .iter()
        .filter(|e| matches!(e, h2kit_proto::Event::Headers { .. }))
        .count();
    assert_eq!(heads, 10_000);
}
