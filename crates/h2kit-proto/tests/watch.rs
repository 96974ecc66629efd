//! The watcher (a tracing proxy's view of a connection): each anomaly is flagged, its
//! well-behaved twin is not, and real traffic between two engines that follow the rules —
//! under a low stream limit and small windows — shows no anomaly at all.

mod common;
use common::commands::{apply, cmd};
use common::pair::*;

use std::time::{Duration, Instant};

use bytes::Bytes;
use h2kit_proto::frame::{self, Frame, Setting, Settings, StreamId};
use h2kit_proto::watch::{AnomalyKind, Side as W, WatchConfig, Watcher};
use h2kit_proto::{Config, ErrorCode};
use proptest::prelude::*;

fn headers(id: u32, end: bool) -> Frame {
    Frame::Headers(frame::Headers {
        stream_id: StreamId(id),
        block: Bytes::new(),
        end_stream: end,
        end_headers: true,
        priority: None,
        pad: None,
    })
}

fn data(id: u32, len: usize, end: bool) -> Frame {
    Frame::Data(frame::Data {
        stream_id: StreamId(id),
        data: Bytes::from(vec![0u8; len]),
        end_stream: end,
        pad: None,
    })
}

fn rst(id: u32) -> Frame {
    Frame::RstStream(frame::RstStream {
        stream_id: StreamId(id),
        code: ErrorCode::CANCEL,
    })
}

fn ping(ack: bool) -> Frame {
    Frame::Ping(frame::Ping {
        ack,
        payload: [0; 8],
    })
}

fn settings(s: Setting, v: u32) -> Frame {
    let mut set = Settings::default();
    set.set(s, Some(v));
    Frame::Settings(set)
}

fn settings_ack() -> Frame {
    Frame::Settings(Settings::ack())
}

fn window_update(id: u32, increment: u32) -> Frame {
    Frame::WindowUpdate(frame::WindowUpdate {
        stream_id: StreamId(id),
        increment,
    })
}

fn count(w: &Watcher, kind: AnomalyKind) -> u64 {
    w.anomalies().find(|(k, _)| *k == kind).unwrap().1
}

fn total(w: &Watcher) -> u64 {
    w.anomalies().map(|(_, n)| n).sum()
}

#[test]
fn reset_of_a_closed_stream_is_flagged_and_of_an_open_one_is_not() {
    let now = Instant::now();
    let mut w = Watcher::new(WatchConfig::default());
    // Stream 1: request and response both ended; a reset afterwards is the anomaly.
    w.frame(W::Client, &headers(1, true), now);
    w.frame(W::Server, &headers(1, false), now);
    w.frame(W::Server, &data(1, 10, false), now);
    w.frame(W::Server, &data(1, 0, true), now);
    let a = w.frame(W::Client, &rst(1), now).expect("flagged");
    assert_eq!(a.kind, AnomalyKind::RstOnClosedStream);
    assert_eq!(a.sender, W::Client);
    // Stream 3: reset while the response is still coming is a legitimate cancel.
    w.frame(W::Client, &headers(3, true), now);
    w.frame(W::Server, &headers(3, false), now);
    assert!(w.frame(W::Client, &rst(3), now).is_none());
    // ...and a second reset of it is flagged.
    assert!(w.frame(W::Server, &rst(3), now).is_some());
    assert_eq!(count(&w, AnomalyKind::RstOnClosedStream), 2);
    assert_eq!(w.counts(W::Client).rst_stream.get(ErrorCode::CANCEL), 2);
    assert_eq!(w.open_streams(), 0);
}

/// RFC 9113 §6.1: DATA on a closed stream gets a stream error STREAM_CLOSED. That reset
/// answers the late frame; it is no reset of a closed stream for its own sake, and answers
/// exactly once.
#[test]
fn a_reset_answering_a_frame_on_a_closed_stream_is_not_flagged() {
    let now = Instant::now();
    let mut w = Watcher::new(WatchConfig::default());
    w.frame(W::Client, &headers(1, true), now);
    w.frame(W::Server, &headers(1, true), now);
    assert_eq!(w.open_streams(), 0);
    assert!(w.frame(W::Client, &data(1, 5, false), now).is_none());
    assert!(w.frame(W::Server, &rst(1), now).is_none());
    // A second reset answers nothing.
    assert!(w.frame(W::Server, &rst(1), now).is_some());
    // Nor does the side that sent the late frame get to reset for free.
    w.frame(W::Client, &data(1, 5, false), now);
    assert!(w.frame(W::Client, &rst(1), now).is_some());
    assert_eq!(count(&w, AnomalyKind::RstOnClosedStream), 2);
}

#[test]
fn pings_beyond_the_rate_are_flagged() {
    let t0 = Instant::now();
    let mut w = Watcher::new(WatchConfig {
        max_pings: 10,
        ping_window: Duration::from_secs(10),
    });
    // Ten PINGs in ten seconds, each answered: fine.
    for i in 0..10 {
        assert!(w
            .frame(W::Client, &ping(false), t0 + Duration::from_millis(i * 900))
            .is_none());
        w.frame(W::Server, &ping(true), t0);
    }
    // The eleventh within the window is flagged; PING ACKs never count.
    let a = w
        .frame(W::Client, &ping(false), t0 + Duration::from_millis(9_500))
        .unwrap();
    assert_eq!(a.kind, AnomalyKind::PingFlood);
    // Once the window has moved on, a PING is fine again.
    assert!(w
        .frame(W::Client, &ping(false), t0 + Duration::from_secs(25))
        .is_none());
    assert_eq!(w.counts(W::Client).pings, 12);
    assert_eq!(w.counts(W::Server).pings, 0);
    assert_eq!(total(&w), 1);
}

#[test]
fn streams_beyond_the_acknowledged_limit_are_flagged() {
    let now = Instant::now();
    let mut w = Watcher::new(WatchConfig::default());
    w.frame(W::Server, &settings(Setting::MaxConcurrentStreams, 2), now);
    // Before the client acknowledges the limit, it cannot know it.
    for id in [1, 3, 5] {
        assert!(w.frame(W::Client, &headers(id, true), now).is_none());
    }
    w.frame(W::Client, &settings_ack(), now);
    // Three open, limit 2: the next one is flagged.
    let a = w.frame(W::Client, &headers(7, true), now).unwrap();
    assert_eq!(a.kind, AnomalyKind::ConcurrencyExceeded);
    // Finish streams 1, 3, 5 and 7: the slots are free the moment the server ends them.
    for id in [1, 3, 5, 7] {
        w.frame(W::Server, &headers(id, true), now);
    }
    assert!(w.frame(W::Client, &headers(9, false), now).is_none());
    assert!(w.frame(W::Client, &headers(11, false), now).is_none());
    assert!(w.frame(W::Client, &headers(13, false), now).is_some());
    // Resets free slots too.
    w.frame(W::Client, &rst(9), now);
    w.frame(W::Client, &rst(13), now);
    assert!(w.frame(W::Client, &headers(15, false), now).is_none());
    assert_eq!(count(&w, AnomalyKind::ConcurrencyExceeded), 2);
    assert_eq!(w.counts(W::Client).streams_opened, 8);
}

#[test]
fn data_beyond_the_window_is_flagged() {
    let now = Instant::now();
    let mut w = Watcher::new(WatchConfig::default());
    w.frame(W::Client, &headers(1, false), now);
    // 65,535 bytes fit the default windows exactly.
    for _ in 0..4 {
        assert!(w.frame(W::Client, &data(1, 16_383, false), now).is_none());
    }
    assert!(w.frame(W::Client, &data(1, 3, false), now).is_none());
    let a = w.frame(W::Client, &data(1, 1, false), now).unwrap();
    assert_eq!(a.kind, AnomalyKind::FlowControlExceeded);
    // The server opens both windows; the client may send that much more.
    w.frame(W::Server, &window_update(0, 100_000), now);
    w.frame(W::Server, &window_update(1, 100_000), now);
    assert!(w.frame(W::Client, &data(1, 16_384, false), now).is_none());

    // A larger initial window binds once the peer acknowledged it, and applies to open
    // streams by the difference (§6.9.2).
    let mut w = Watcher::new(WatchConfig::default());
    w.frame(
        W::Server,
        &settings(Setting::InitialWindowSize, 1 << 20),
        now,
    );
    w.frame(W::Server, &window_update(0, 1 << 20), now);
    w.frame(W::Client, &headers(1, false), now);
    w.frame(W::Client, &settings_ack(), now);
    for _ in 0..40 {
        assert!(w.frame(W::Client, &data(1, 16_384, false), now).is_none());
    }
    assert_eq!(total(&w), 0);
}

#[test]
fn a_new_stream_after_goaway_is_flagged() {
    let now = Instant::now();
    let mut w = Watcher::new(WatchConfig::default());
    w.frame(W::Client, &headers(1, false), now);
    w.frame(
        W::Server,
        &Frame::GoAway(frame::GoAway {
            last_stream_id: StreamId(1),
            code: ErrorCode::NO_ERROR,
            debug_data: Bytes::new(),
        }),
        now,
    );
    // Frames on the existing stream are fine; a new stream is not.
    assert!(w.frame(W::Client, &data(1, 5, true), now).is_none());
    let a = w.frame(W::Client, &headers(3, true), now).unwrap();
    assert_eq!(a.kind, AnomalyKind::StreamAfterGoaway);
    assert_eq!(w.counts(W::Server).goaway.get(ErrorCode::NO_ERROR), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Two engines that follow the rules, a limit of 3 streams and 20 KB windows: the watcher,
    /// seeing each frame as it is delivered, flags nothing.
    #[test]
    fn engines_that_follow_the_rules_show_no_anomaly(
        cmds in prop::collection::vec(cmd(false), 1..200),
        seed in any::<u64>(),
    ) {
        let small = Config {
            max_concurrent_streams: 3,
            initial_stream_window: 20_000,
            connection_window: 30_000,
            ..Config::default()
        };
        let mut p = Pair::new(small.clone(), small);
        p.rng = Some(Rng(seed | 1));
        let mut ids: Vec<StreamId> = Vec::new();
        for c in cmds {
            apply(&mut p, &mut ids, c);
            p.advance(Duration::from_millis(1));
        }
        p.run();
        let mut w = Watcher::new(WatchConfig { max_pings: 1000, ping_window: Duration::from_secs(10) });
        for entry in &p.log {
            if let Wire::Received(to, f) = entry {
                let sender = match to { Side::Server => W::Client, Side::Client => W::Server };
                if let Some(a) = w.frame(sender, f, p.now) {
                    return Err(TestCaseError::fail(format!("{a:?}")));
                }
            }
        }
        prop_assert_eq!(total(&w), 0);
    }
}
