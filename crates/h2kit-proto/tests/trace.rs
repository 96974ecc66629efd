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
            r#"settings=[{"name":"SETTINGS_ENABLE_PUSH","value":0}"#
        ]),
        "{lines:#?}"
    );
    assert!(find(&[
        "direction=recv",
        "frame_type=SETTINGS",
        r#"{"name":"SETTINGS_MAX_CONCURRENT_STREAMS","value":100}"#
    ]));
    assert!(find(&[
        "direction=send",
        "frame_type=HEADERS",
        "flags=5",
        "flag_names=END_STREAM|END_HEADERS",
        "stream_id=1",
        r#"headers=[{"name":":method","value":"GET"},"#,
    ]));
    assert!(find(&[
        "direction=recv",
        "frame_type=HEADERS",
        "flags=5",
        "stream_id=1",
        r#"{"name":":path","value":"/"}"#,
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

fn headers(stream: u32, block: &[u8], end_headers: bool) -> h2kit_proto::frame::Frame {
    h2kit_proto::frame::Frame::Headers(h2kit_proto::frame::Headers {
        stream_id: h2kit_proto::frame::StreamId(stream),
        block: bytes::Bytes::copy_from_slice(block),
        end_stream: true,
        end_headers,
        priority: None,
        pad: None,
    })
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn shown(fields: &h2kit_proto::trace::Fields) -> Vec<String> {
    fields
        .0
        .iter()
        .map(|(n, v)| {
            format!(
                "{}: {}",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(v)
            )
        })
        .collect()
}

/// RFC 7541 Appendix C.3: three requests on one connection, the later ones indexing what the
/// first put in the dynamic table. The observer decodes each as the receiver does, whether the
/// block comes whole or split over CONTINUATION frames.
#[test]
fn the_observer_decodes_header_blocks_as_the_receiver_does() {
    use h2kit_proto::frame::{Continuation, Frame, StreamId};
    let c31 = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
    let c32 = hex("8286 84be 5808 6e6f 2d63 6163 6865");
    let c33 = hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65");
    let mut t = h2kit_proto::trace::HeaderTracer::default();
    let first = t.fields(1, &headers(1, &c31, true)).expect("a whole block");
    assert_eq!(
        shown(&first),
        [
            ":method: GET",
            ":scheme: http",
            ":path: /",
            ":authority: www.example.com"
        ]
    );
    // The other direction has its own table: the same bytes mean the same there.
    assert!(t.fields(0, &headers(1, &c31, true)).is_some());
    // C.3.2 split in two: nothing until the CONTINUATION that ends it.
    assert_eq!(t.fields(1, &headers(3, &c32[..5], false)), None);
    let cont = Frame::Continuation(Continuation {
        stream_id: StreamId(3),
        block: bytes::Bytes::copy_from_slice(&c32[5..]),
        end_headers: true,
    });
    let second = t.fields(1, &cont).expect("the block ends here");
    assert_eq!(
        shown(&second),
        [
            ":method: GET",
            ":scheme: http",
            ":path: /",
            ":authority: www.example.com",
            "cache-control: no-cache"
        ]
    );
    let third = t.fields(1, &headers(5, &c33, true)).unwrap();
    assert_eq!(
        shown(&third),
        [
            ":method: GET",
            ":scheme: https",
            ":path: /index.html",
            ":authority: www.example.com",
            "custom-key: custom-value"
        ]
    );
}

#[test]
fn credentials_are_redacted_unless_revealed() {
    let fields = h2kit_proto::trace::Fields(vec![
        (":path".into(), "/".into()),
        ("Cookie".into(), "sid=1234".into()),
        ("authorization".into(), "Bearer \"x\"".into()),
    ]);
    let text = fields.to_string();
    assert_eq!(
        text,
        r#"[{"name":":path","value":"/"},{"name":"Cookie","value":"<redacted: 8 bytes>"},{"name":"authorization","value":"<redacted: 10 bytes>"}]"#
    );
    h2kit_proto::trace::reveal_secrets(true);
    let revealed = fields.to_string();
    h2kit_proto::trace::reveal_secrets(false);
    assert!(
        revealed.contains(r#"{"name":"authorization","value":"Bearer \"x\""}"#),
        "{revealed}"
    );
    assert_eq!(
        h2kit_proto::trace::flag_names("HEADERS", 0x25),
        "END_STREAM|END_HEADERS|PRIORITY"
    );
    assert_eq!(h2kit_proto::trace::flag_names("PING", 0x01), "ACK");
    assert_eq!(h2kit_proto::trace::flag_names("RST_STREAM", 0xff), "");
}
