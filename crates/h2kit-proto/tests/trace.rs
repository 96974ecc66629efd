//! The frame trace (`tracing` target `h2kit::frame`).
//!
//! Alone in its test binary on purpose: `tracing` caches each callsite's interest process-wide,
//! and another test emitting the same events on another thread without a subscriber can race
//! with the rebuild that installing this test's subscriber triggers.

mod common;
use common::pair::*;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use h2kit_proto::ErrorCode;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every event of target `h2kit::frame` as "name=value ..." lines.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target() == "h2kit::frame"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut line = Line(String::new());
        e.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn every_frame_sent_and_received_is_traced_with_its_details() {
    let capture = Capture::default();
    let lines = capture.0.clone();
    tracing::subscriber::with_default(capture, || {
        let mut p = Pair::connected();
        let id = p.client.send_request(&get("/"), true).unwrap();
        p.run();
        p.server.reset(id, ErrorCode::REFUSED_STREAM);
        p.run();
    });
    let lines = lines.lock().unwrap();
    let find = |needle: &[&str]| lines.iter().any(|l| needle.iter().all(|n| l.contains(n)));
    // Both directions, every field nghttp -v shows.
    assert!(
        find(&[
            "direction=send",
            "frame_type=SETTINGS",
            "stream_id=0",
            "details=[SETTINGS_ENABLE_PUSH=0"
        ]),
        "{lines:#?}"
    );
    assert!(find(&[
        "direction=recv",
        "frame_type=SETTINGS",
        "SETTINGS_MAX_CONCURRENT_STREAMS=100"
    ]));
    assert!(find(&[
        "direction=send",
        "frame_type=HEADERS",
        "flags=5",
        "stream_id=1"
    ]));
    assert!(find(&[
        "direction=recv",
        "frame_type=HEADERS",
        "flags=5",
        "stream_id=1"
    ]));
    assert!(find(&[
        "frame_type=RST_STREAM",
        "stream_id=1",
        "length=4",
        "error_code=REFUSED_STREAM"
    ]));
    assert!(find(&[
        "frame_type=WINDOW_UPDATE",
        "window_size_increment=16711681"
    ]));
    // Each frame is traced once by its sender and once by its receiver.
    let sent = lines
        .iter()
        .filter(|l| l.contains("direction=send"))
        .count();
    let recv = lines
        .iter()
        .filter(|l| l.contains("direction=recv"))
        .count();
    assert_eq!(sent, recv, "{lines:#?}");
}
