//! Malformed input never panics a `Connection`, and every failure is a GOAWAY carrying the
//! RFC error code the error names.

mod common;

use bytes::{Bytes, BytesMut};
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::*;
use h2kit_proto::hpack::{Encoder, FieldRef};
use h2kit_proto::{Config, Connection, ErrorCode, StreamId};
use proptest::prelude::*;

/// Frames that are mostly well-formed on their own, so the connection's rules (not only the
/// parser's) are exercised: valid and invalid header blocks, DATA, resets, window updates on
/// random streams.
fn frame() -> impl Strategy<Value = (u8, u32, u32, bool, Vec<u8>)> {
    let kind = prop_oneof![
        5 => Just(0u8), 5 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8), 2 => Just(4u8),
        1 => Just(5u8), 1 => Just(6u8), 1 => Just(7u8), 1 => Just(8u8), 1 => Just(9u8),
        1 => Just(10u8),
    ];
    (
        kind,
        0u32..24,
        any::<u32>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
}

/// `stream` mostly picks one of the streams opened so far (odd ids, as a client opens them);
/// HEADERS sometimes opens the next one; 1 in 12 frames goes to stream 0.
fn build(spec: &[(u8, u32, u32, bool, Vec<u8>)], enc: &mut Encoder) -> BytesMut {
    let mut out = BytesMut::new();
    let mut highest = 0u32;
    for (kind, stream, n, flag, bytes) in spec {
        // The first frame for a stream opens one.
        let kind = if highest == 0 && *stream != 0 && *kind < 10 {
            &1
        } else {
            kind
        };
        let opens = (*kind == 1 || *kind == 2) && (n % 2 == 0 || highest == 0);
        let id = if *stream == 0 {
            StreamId(0)
        } else if opens {
            highest = if highest == 0 { 1 } else { highest + 2 };
            StreamId(highest)
        } else if highest == 0 {
            StreamId(1)
        } else {
            StreamId(1 + 2 * (stream % highest.div_ceil(2)))
        };
        let f = match kind {
            0 => Frame::Data(Data {
                stream_id: id,
                data: Bytes::from(bytes.clone()),
                end_stream: *flag,
                pad: None,
            }),
            1 | 2 => {
                let mut block = BytesMut::new();
                let path = format!("/{}", n % 100);
                let fields = [
                    FieldRef::new(b":method", if *flag { b"GET" } else { b"POST" }),
                    FieldRef::new(b":scheme", b"https"),
                    FieldRef::new(b":path", path.as_bytes()),
                    FieldRef::new(b"content-length", b"3"),
                ];
                enc.encode(fields.into_iter().take(1 + (*n as usize % 4)), &mut block);
                if *kind == 2 {
                    block.extend_from_slice(bytes);
                }
                let whole = block.freeze();
                if n % 7 == 0 && whole.len() > 1 {
                    // The block split over HEADERS and CONTINUATION, as it should be.
                    let (a, b) = whole.split_at(1);
                    Frame::Headers(Headers {
                        stream_id: id,
                        block: Bytes::copy_from_slice(a),
                        end_stream: *flag,
                        end_headers: false,
                        priority: None,
                        pad: None,
                    })
                    .encode(&mut out);
                    Frame::Continuation(Continuation {
                        stream_id: id,
                        block: Bytes::copy_from_slice(b),
                        end_headers: true,
                    })
                } else {
                    Frame::Headers(Headers {
                        stream_id: id,
                        block: whole,
                        end_stream: *flag,
                        end_headers: n % 13 != 0,
                        priority: None,
                        pad: None,
                    })
                }
            }
            3 => Frame::RstStream(RstStream {
                stream_id: id,
                code: ErrorCode(n % 16),
            }),
            4 => Frame::WindowUpdate(WindowUpdate {
                stream_id: id,
                increment: 1 + n % ((1u32 << 31) - 1),
            }),
            5 => Frame::Continuation(Continuation {
                stream_id: id,
                block: Bytes::from(bytes.clone()),
                end_headers: *flag,
            }),
            6 => Frame::Ping(Ping {
                ack: *flag,
                payload: n.to_be_bytes().repeat(2).try_into().unwrap(),
            }),
            7 => {
                let mut s = Settings::default();
                s.set(Setting::InitialWindowSize, Some(n % 200_000));
                s.set(Setting::MaxConcurrentStreams, Some(n % 5));
                Frame::Settings(s)
            }
            8 => Frame::GoAway(GoAway {
                last_stream_id: StreamId(n % 12),
                code: ErrorCode(n % 14),
                debug_data: Bytes::new(),
            }),
            9 => Frame::Priority(Priority {
                stream_id: id,
                spec: PrioritySpec {
                    exclusive: *flag,
                    dependency: StreamId(n % 12),
                    weight: 1,
                },
            }),
            _ => Frame::Unknown(Unknown {
                kind: 0x20 + kind,
                flags: 0,
                stream_id: id,
                payload: Bytes::from(bytes.clone()),
            }),
        };
        f.encode(&mut out);
    }
    out
}

fn check(conn: &mut Connection, mut input: BytesMut, split: usize) -> Result<(), TestCaseError> {
    let now = std::time::Instant::now();
    let mut result = Ok(());
    let mut buf = BytesMut::new();
    while !input.is_empty() && result.is_ok() {
        let n = split.min(input.len()).max(1);
        buf.extend_from_slice(&input.split_to(n));
        result = conn.recv(&mut buf, now);
        while conn.poll_event().is_some() {}
        // The application side reacts: respond to and reset what it can.
        for id in (1..12).step_by(2) {
            let id = StreamId(id);
            if conn.role() == h2kit_proto::Role::Server && id.0 % 4 == 1 {
                let res = http::Response::new(()).into_parts().0;
                let _ = conn.send_response(id, &res, false);
                let _ = conn.send_data(id, Bytes::from_static(b"abc"), true);
            } else if id.0 % 3 == 0 {
                conn.cancel(id);
            }
        }
    }
    let mut out = BytesMut::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    if conn.role() == h2kit_proto::Role::Client {
        let _ = out.split_to(PREFACE.len().min(out.len()));
    }
    let mut dec = FrameDecoder::new();
    dec.set_max_frame_size((1 << 24) - 1);
    let mut goaway = None;
    while let Ok(Some(f)) = dec.decode(&mut out) {
        if let Frame::GoAway(g) = f {
            goaway = Some(g.code);
        }
    }
    if let Err(e) = result {
        prop_assert!(e.code.0 <= 0xd, "not an RFC code: {:?}", e.code);
        prop_assert_eq!(goaway, Some(e.code), "GOAWAY must carry the error's code");
        prop_assert!(conn.error().is_some());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn server_survives_frame_sequences(spec in prop::collection::vec(frame(), 0..40), split in 1usize..200) {
        let now = std::time::Instant::now();
        let mut conn = Connection::server(Config::default(), now);
        let mut input = BytesMut::from(&PREFACE[..]);
        Frame::Settings(Settings::default()).encode(&mut input);
        input.extend_from_slice(&build(&spec, &mut Encoder::new()));
        check(&mut conn, input, split)?;
    }

    #[test]
    fn client_survives_frame_sequences(spec in prop::collection::vec(frame(), 0..40), split in 1usize..200) {
        let now = std::time::Instant::now();
        let mut conn = Connection::client(Config::default(), now);
        let req = http::Request::post("https://a.test/").body(()).unwrap().into_parts().0;
        for _ in 0..5 {
            let _ = conn.send_request(&req, false);
        }
        let mut input = BytesMut::new();
        Frame::Settings(Settings::default()).encode(&mut input);
        input.extend_from_slice(&build(&spec, &mut Encoder::new()));
        check(&mut conn, input, split)?;
    }

    #[test]
    fn server_survives_raw_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600), split in 1usize..100) {
        let now = std::time::Instant::now();
        let mut conn = Connection::server(Config::default(), now);
        let mut input = BytesMut::from(&PREFACE[..]);
        Frame::Settings(Settings::default()).encode(&mut input);
        input.extend_from_slice(&bytes);
        check(&mut conn, input, split)?;
    }
}
