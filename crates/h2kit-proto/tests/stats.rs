//! The per-connection statistics.

mod common;
use common::pair::*;

use h2kit_proto::frame::FrameType;
use h2kit_proto::ErrorCode;

#[test]
fn stats_count_frames_resets_and_suppressed_resets() {
    let mut p = Pair::connected();
    let a = p.client.send_request(&get("/a"), true).unwrap();
    let b = p.client.send_request(&get("/b"), true).unwrap();
    p.run();
    p.server.send_response(a, &ok(), true).unwrap();
    p.server.reset(b, ErrorCode::INTERNAL_ERROR);
    p.client.ping(p.now);
    p.run();
    p.client.cancel(a); // already closed: suppressed
    let c = p.client.stats();
    let s = p.server.stats();
    assert_eq!(c.frames_sent.get(FrameType::Headers), 2);
    assert_eq!(s.frames_received.get(FrameType::Headers), 2);
    assert_eq!(s.resets_sent.get(ErrorCode::INTERNAL_ERROR), 1);
    assert_eq!(c.resets_received.get(ErrorCode::INTERNAL_ERROR), 1);
    assert_eq!(c.suppressed_resets, 1);
    assert_eq!(
        (c.pings_sent, c.ping_acks_received, s.pings_received),
        (1, 1, 1)
    );
    assert!(c.last_rtt.is_some());
    assert_eq!(c.frames_sent.total(), s.frames_received.total());
    assert_eq!(s.frames_sent.total(), c.frames_received.total());
    assert_eq!((c.streams_opened_local, s.streams_opened_remote), (2, 2));
}
