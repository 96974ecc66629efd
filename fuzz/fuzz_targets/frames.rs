//! Structure-aware: a server `Connection` fed sequences of well-formed-looking frames built by
//! `arbitrary` (requests from a small field vocabulary, bodies, resets, window updates, PINGs,
//! SETTINGS, PRIORITY, empty frames, CONTINUATION runs) with time moving and an application
//! that answers and resets. Raw bytes rarely get past the preface and the first HEADERS; these
//! reach the stream, flow-control and flood-guard logic.
//!
//! No input may panic the connection; a failure always ends with a GOAWAY; the streams open
//! never exceed the limit; a GOAWAY(ENHANCE_YOUR_CALM) always names its flood.
#![no_main]

#[path = "common.rs"]
mod common;

use bytes::{Bytes, BytesMut};
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::{
    Continuation, Data, Frame, GoAway, Headers, Ping, Priority, PrioritySpec,
    RstStream, Setting, Settings, StreamId, WindowUpdate,
};
use h2kit_proto::hpack::{Encoder, FieldRef};
use h2kit_proto::{Config, Connection, ErrorCode, Event};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Headers {
        stream: u8,
        fields: Vec<u8>,
        end_stream: bool,
        end_headers: bool,
        pad: Option<u8>,
    },
    Continuation {
        stream: u8,
        fields: Vec<u8>,
        end_headers: bool,
    },
    Data {
        stream: u8,
        len: u16,
        end_stream: bool,
        pad: Option<u8>,
    },
    Rst {
        stream: u8,
        code: u8,
    },
    WindowUpdate {
        stream: u8,
        increment: u32,
    },
    Ping {
        ack: bool,
    },
    Settings {
        ack: bool,
        values: Vec<(u8, u32)>,
    },
    Priority {
        stream: u8,
        dependency: u8,
        weight: u8,
    },
    GoAway {
        last: u8,
        code: u8,
    },
    Advance {
        millis: u16,
    },
    Respond {
        stream: u8,
        end: bool,
    },
    Reset {
        stream: u8,
    },
}

/// Odd ids mostly (the client's), sometimes even or zero.
fn id(s: u8) -> StreamId {
    StreamId(match s {
        0 => 0,
        250..=255 => u32::from(s) * 2,
        _ => u32::from(s) * 2 - 1,
    })
}

const VOCAB: [(&str, &str); 12] = [
    (":method", "GET"),
    (":method", "POST"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "a.test"),
    ("content-length", "5"),
    ("te", "trailers"),
    ("connection", "close"),
    ("x-long", "0123456789abcdef0123456789abcdef"),
    (":status", "200"),
    ("host", "b.test"),
    ("Upper", "case"),
];

fn block(enc: &mut Encoder, fields: &[u8]) -> Bytes {
    let mut b = BytesMut::new();
    let list: Vec<FieldRef> = if fields.is_empty() {
        Vec::new()
    } else {
        fields
            .iter()
            .map(|i| VOCAB[*i as usize % VOCAB.len()])
            .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes()))
            .collect()
    };
    enc.encode(list, &mut b);
    b.freeze()
}

fuzz_target!(|ops: Vec<Op>| {
    let mut now = std::time::Instant::now();
    let cfg = Config {
        max_concurrent_streams: 4,
        initial_stream_window: 65_535,
        connection_window: 65_535,
        ..Config::default()
    };
    let mut conn = Connection::server(cfg, now);
    let mut enc = Encoder::new();
    let mut input = BytesMut::from(&PREFACE[..]);
    Frame::Settings(Settings::default()).encode(&mut input);
    let _ = conn.recv(&mut input, now);
    let mut out = BytesMut::new();
    let mut failed = false;
    for op in ops {
        let frame = match op {
            Op::Headers {
                stream,
                fields,
                end_stream,
                end_headers,
                pad,
            } => Frame::Headers(Headers {
                stream_id: id(stream),
                block: block(&mut enc, &fields),
                end_stream,
                end_headers,
                priority: None,
                pad,
            }),
            Op::Continuation {
                stream,
                fields,
                end_headers,
            } => Frame::Continuation(Continuation {
                stream_id: id(stream),
                block: block(&mut enc, &fields),
                end_headers,
            }),
            Op::Data {
                stream,
                len,
                end_stream,
                pad,
            } => Frame::Data(Data {
                stream_id: id(stream),
                data: Bytes::from(vec![b'd'; usize::from(len) % 20_000]),
                end_stream,
                pad,
            }),
            Op::Rst { stream, code } => Frame::RstStream(RstStream {
                stream_id: id(stream),
                code: ErrorCode(u32::from(code % 16)),
            }),
            Op::WindowUpdate { stream, increment } => Frame::WindowUpdate(WindowUpdate {
                stream_id: id(stream),
                increment: increment & 0x7fff_ffff,
            }),
            Op::Ping { ack } => Frame::Ping(Ping {
                ack,
                payload: [7; 8],
            }),
            Op::Settings { ack, values } => {
                let mut s = if ack { Settings::ack() } else { Settings::default() };
                if !ack {
                    for (k, v) in values.into_iter().take(6) {
                        let setting = Setting::ALL[k as usize % Setting::ALL.len()];
                        if setting.validate(v).is_ok() {
                            s.set(setting, Some(v));
                        }
                    }
                }
                Frame::Settings(s)
            }
            Op::Priority {
                stream,
                dependency,
                weight,
            } => Frame::Priority(Priority {
                stream_id: id(stream),
                spec: PrioritySpec {
                    exclusive: false,
                    dependency: id(dependency),
                    weight,
                },
            }),
            Op::GoAway { last, code } => Frame::GoAway(GoAway {
                last_stream_id: id(last),
                code: ErrorCode(u32::from(code % 16)),
                debug_data: Bytes::new(),
            }),
            Op::Advance { millis } => {
                now += std::time::Duration::from_millis(u64::from(millis));
                conn.handle_timeout(now);
                continue;
            }
            Op::Respond { stream, end } => {
                let res = http::Response::new(()).into_parts().0;
                let _ = conn.send_response(id(stream), &res, end);
                continue;
            }
            Op::Reset { stream } => {
                conn.cancel(id(stream));
                continue;
            }
        };
        // Frames the codec itself rejects (a stream id of 0 on DATA, say) are the codec
        // fuzzer's business; encode what the types allow.
        let mut bytes = BytesMut::new();
        frame.encode(&mut bytes);
        if conn.recv(&mut bytes, now).is_err() {
            failed = true;
        }
        while let Some(e) = conn.poll_event() {
            if let Event::Data { stream, data, .. } = e {
                conn.release_capacity(stream, data.len());
            }
        }
        assert!(conn.active_streams().1 <= 4, "more streams than the limit");
        while let Some(b) = conn.poll_transmit() {
            out.extend_from_slice(&b);
        }
        if failed || conn.error().is_some() {
            break;
        }
    }
    // Timeouts and application calls write too.
    let goaway = common::drain_and_parse(&mut conn, &mut out);
    if failed || conn.error().is_some() {
        let code = goaway.expect("a connection error must send GOAWAY");
        if code == ErrorCode::ENHANCE_YOUR_CALM {
            // Either a flood guard or the header-block byte limit.
            let flood = conn.stats().flood.is_some();
            let block_limit = conn
                .error()
                .is_some_and(|e| e.reason.contains("header block"));
            assert!(flood || block_limit, "{:?}", conn.error());
        }
    }
});
