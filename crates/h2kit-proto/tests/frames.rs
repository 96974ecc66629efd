//! The frame codec: round trips for every type and flag combination, incremental and zero-copy
//! parsing, and one test per single-frame rule of RFC 9113 asserting the exact error code and
//! whether it is a connection or a stream error (§5.4). Test names carry the section.

use bytes::{BufMut, Bytes, BytesMut};
use h2kit_proto::error::Scope;
use h2kit_proto::frame::*;
use h2kit_proto::{Error, ErrorCode, StreamId};

fn encode(f: &Frame) -> BytesMut {
    let mut b = BytesMut::new();
    f.encode(&mut b);
    b
}

fn decode_one(bytes: &[u8]) -> Result<Option<Frame>, Error> {
    let mut buf = BytesMut::from(bytes);
    FrameDecoder::new().decode(&mut buf)
}

/// Builds raw frame bytes: header plus payload.
fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    put_header(&mut b, payload.len(), kind, flags, StreamId(stream));
    b.put_slice(payload);
    b.to_vec()
}

fn all_frames() -> Vec<Frame> {
    let block = Bytes::from_static(b"\x82\x86\x84");
    let prio = PrioritySpec {
        exclusive: true,
        dependency: StreamId(3),
        weight: 200,
    };
    let mut out = Vec::new();
    for end_stream in [false, true] {
        for pad in [None, Some(0), Some(7)] {
            out.push(Frame::Data(Data {
                stream_id: StreamId(1),
                data: Bytes::from_static(b"hello"),
                end_stream,
                pad,
            }));
            for end_headers in [false, true] {
                for priority in [None, Some(prio)] {
                    out.push(Frame::Headers(Headers {
                        stream_id: StreamId(5),
                        block: block.clone(),
                        end_stream,
                        end_headers,
                        priority,
                        pad,
                    }));
                }
            }
        }
    }
    for end_headers in [false, true] {
        for pad in [None, Some(3)] {
            out.push(Frame::PushPromise(PushPromise {
                stream_id: StreamId(1),
                promised_id: StreamId(2),
                block: block.clone(),
                end_headers,
                pad,
            }));
        }
        out.push(Frame::Continuation(Continuation {
            stream_id: StreamId(5),
            block: block.clone(),
            end_headers,
        }));
    }
    out.push(Frame::Priority(Priority {
        stream_id: StreamId(5),
        spec: PrioritySpec {
            exclusive: false,
            dependency: StreamId(0),
            weight: 15,
        },
    }));
    out.push(Frame::RstStream(RstStream {
        stream_id: StreamId(7),
        code: ErrorCode::CANCEL,
    }));
    let mut s = Settings::default();
    for (i, setting) in Setting::ALL.iter().enumerate() {
        let v = match setting {
            Setting::EnablePush | Setting::EnableConnectProtocol | Setting::NoRfc7540Priorities => {
                1
            }
            Setting::MaxFrameSize => 1 << 20,
            _ => 1000 + i as u32,
        };
        s.set(*setting, Some(v));
    }
    out.push(Frame::Settings(s));
    out.push(Frame::Settings(Settings::default()));
    out.push(Frame::Settings(Settings::ack()));
    for ack in [false, true] {
        out.push(Frame::Ping(Ping {
            ack,
            payload: *b"12345678",
        }));
    }
    out.push(Frame::GoAway(GoAway {
        last_stream_id: StreamId(101),
        code: ErrorCode::ENHANCE_YOUR_CALM,
        debug_data: Bytes::from_static(b"calm down"),
    }));
    out.push(Frame::GoAway(GoAway {
        last_stream_id: StreamId::MAX,
        code: ErrorCode::NO_ERROR,
        debug_data: Bytes::new(),
    }));
    for id in [0, 9] {
        out.push(Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId(id),
            increment: MAX_WINDOW_SIZE,
        }));
    }
    out.push(Frame::Unknown(Unknown {
        kind: 0xfa,
        flags: 0xff,
        stream_id: StreamId(3),
        payload: Bytes::from_static(b"ext"),
    }));
    out
}

#[test]
fn rfc9113_6_every_type_and_flag_combination_round_trips() {
    let frames = all_frames();
    assert!(frames.len() > 40);
    for f in &frames {
        let bytes = encode(f);
        let head = FrameHeader::parse(bytes[..9].try_into().unwrap());
        assert_eq!(head.length as usize, bytes.len() - 9, "{f:?}");
        let back = decode_one(&bytes).unwrap().unwrap();
        assert_eq!(&back, f);
    }
}

#[test]
fn rfc9113_4_1_many_frames_in_one_buffer_and_split_anywhere() {
    let frames = all_frames();
    let mut wire = BytesMut::new();
    for f in &frames {
        f.encode(&mut wire);
    }
    let wire = wire.freeze();
    // Feed the bytes in chunks of every size from 1 to 40: a partial frame waits.
    for chunk in 1..=40 {
        let mut dec = FrameDecoder::new();
        dec.set_max_frame_size(1 << 20);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(f) = dec.decode(&mut buf).unwrap() {
                got.push(f);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(got, frames, "chunk size {chunk}");
    }
}

#[test]
fn rfc9113_4_1_partial_frame_consumes_nothing() {
    let bytes = raw(0x0, 0x1, 1, b"abcdef");
    for cut in 0..bytes.len() {
        let mut buf = BytesMut::from(&bytes[..cut]);
        assert_eq!(FrameDecoder::new().decode(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), cut);
    }
}

#[test]
fn payloads_are_zero_copy_slices_of_the_read_buffer() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&raw(0x0, 0x8, 1, b"\x02payload\0\0"));
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    match FrameDecoder::new().decode(&mut buf).unwrap().unwrap() {
        Frame::Data(d) => {
            assert_eq!(&d.data[..], b"payload");
            assert!(
                range.contains(&(d.data.as_ptr() as usize)),
                "DATA payload was copied"
            );
            assert_eq!(d.flow_len(), 10, "padding counts for flow control");
        }
        f => panic!("{f:?}"),
    }
}

#[test]
fn rfc9113_4_1_reserved_bit_and_unknown_flags_are_ignored() {
    let mut bytes = raw(0x8, 0xfe, 3, &[0, 0, 0, 9]);
    bytes[5] |= 0x80; // reserved bit of the stream id
    let f = decode_one(&bytes).unwrap().unwrap();
    assert_eq!(
        f,
        Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId(3),
            increment: 9
        })
    );
    // Unknown flags on PING (only ACK is defined).
    let f = decode_one(&raw(0x6, 0xf0, 0, b"abcdefgh"))
        .unwrap()
        .unwrap();
    assert_eq!(
        f,
        Frame::Ping(Ping {
            ack: false,
            payload: *b"abcdefgh"
        })
    );
}

#[test]
fn rfc9113_5_5_unknown_frame_types_are_returned_for_skipping() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&raw(0x42, 0, 0, b"whatever"));
    buf.extend_from_slice(&raw(0x6, 0, 0, b"abcdefgh"));
    let mut dec = FrameDecoder::new();
    assert!(matches!(dec.decode(&mut buf).unwrap(), Some(Frame::Unknown(u)) if u.kind == 0x42));
    assert!(matches!(
        dec.decode(&mut buf).unwrap(),
        Some(Frame::Ping(_))
    ));
}

#[test]
fn rfc9113_6_5_2_unknown_settings_are_ignored_and_last_value_wins() {
    let mut p = Vec::new();
    for (id, v) in [(0x3u16, 10u32), (0xff, 7), (0x3, 20)] {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    match decode_one(&raw(0x4, 0, 0, &p)).unwrap().unwrap() {
        Frame::Settings(s) => {
            assert_eq!(s.get(Setting::MaxConcurrentStreams), Some(20));
            assert_eq!(s.iter().count(), 1);
        }
        f => panic!("{f:?}"),
    }
}

/// Asserts that `bytes` fails with `code`, as a connection error or as a stream error on
/// `stream`.
fn assert_error(bytes: &[u8], code: ErrorCode, scope: Scope) {
    let err = decode_one(bytes).expect_err("frame must be rejected");
    assert_eq!((err.code, err.scope), (code, scope), "{err}");
}

const CONN: Scope = Scope::Connection;
fn stream(id: u32) -> Scope {
    Scope::Stream(StreamId(id))
}

fn setting(id: u16, v: u32) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&v.to_be_bytes());
    p
}

#[test]
fn rfc9113_4_2_frame_above_max_frame_size_is_rejected_before_its_payload_arrives() {
    // Only the 9-byte header of a 16,385-byte DATA frame is present.
    let mut b = BytesMut::new();
    put_header(&mut b, 16_385, 0x0, 0, StreamId(1));
    assert_error(&b, ErrorCode::FRAME_SIZE_ERROR, CONN);
    // Exactly the limit is fine; raising the limit admits larger frames.
    assert!(decode_one(&raw(0x0, 0, 1, &vec![0; 16_384]))
        .unwrap()
        .is_some());
    let mut dec = FrameDecoder::new();
    dec.set_max_frame_size(1 << 20);
    let mut buf = BytesMut::from(&raw(0x0, 0, 1, &vec![0; 100_000])[..]);
    assert!(dec.decode(&mut buf).unwrap().is_some());
}

#[test]
fn rfc9113_6_1_data_on_stream_0() {
    assert_error(&raw(0x0, 0, 0, b"x"), ErrorCode::PROTOCOL_ERROR, CONN);
}

#[test]
fn rfc9113_6_1_data_padding_as_long_as_payload() {
    // Payload of 4: pad length 4 >= payload length.
    assert_error(
        &raw(0x0, 0x8, 1, &[4, 0, 0, 0]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
    // Pad length 3 with 3 bytes following: all padding, no data: valid.
    assert!(decode_one(&raw(0x0, 0x8, 1, &[3, 0, 0, 0]))
        .unwrap()
        .is_some());
}

#[test]
fn rfc9113_4_2_padded_data_without_pad_length() {
    assert_error(&raw(0x0, 0x8, 1, &[]), ErrorCode::FRAME_SIZE_ERROR, CONN);
}

#[test]
fn rfc9113_6_2_headers_on_stream_0() {
    assert_error(&raw(0x1, 0x4, 0, b"\x82"), ErrorCode::PROTOCOL_ERROR, CONN);
}

#[test]
fn rfc9113_6_2_headers_padding_exceeds_block() {
    // PADDED|PRIORITY: pad length 1, 5 priority bytes, then nothing left for the padding.
    assert_error(
        &raw(0x1, 0x28, 1, &[1, 0, 0, 0, 3, 16]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
    assert_error(
        &raw(0x1, 0x8, 1, &[2, 0x82]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_4_2_headers_too_short_for_priority() {
    assert_error(
        &raw(0x1, 0x20, 1, &[0, 0, 0]),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_5_3_1_headers_depending_on_itself_is_flagged_for_the_connection_layer() {
    // The block must still be decoded (§4.3), so the parser returns the frame and the
    // connection layer raises the stream error.
    match decode_one(&raw(0x1, 0x24, 5, &[0, 0, 0, 5, 16, 0x82]))
        .unwrap()
        .unwrap()
    {
        Frame::Headers(h) => assert!(h.depends_on_itself()),
        f => panic!("{f:?}"),
    }
}

#[test]
fn rfc9113_6_3_priority_on_stream_0() {
    assert_error(
        &raw(0x2, 0, 0, &[0, 0, 0, 1, 16]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_3_priority_wrong_length_is_a_stream_error() {
    assert_error(
        &raw(0x2, 0, 3, &[0, 0, 0, 1]),
        ErrorCode::FRAME_SIZE_ERROR,
        stream(3),
    );
    assert_error(
        &raw(0x2, 0, 3, &[0, 0, 0, 1, 2, 3]),
        ErrorCode::FRAME_SIZE_ERROR,
        stream(3),
    );
}

#[test]
fn rfc9113_5_3_1_priority_depending_on_itself() {
    assert_error(
        &raw(0x2, 0, 3, &[0, 0, 0, 3, 16]),
        ErrorCode::PROTOCOL_ERROR,
        stream(3),
    );
}

#[test]
fn rfc9113_5_4_stream_error_consumes_the_frame_and_parsing_continues() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&raw(0x2, 0, 3, &[0, 0, 0, 1]));
    buf.extend_from_slice(&raw(0x6, 0, 0, b"abcdefgh"));
    let mut dec = FrameDecoder::new();
    assert!(dec.decode(&mut buf).is_err());
    assert!(matches!(
        dec.decode(&mut buf).unwrap(),
        Some(Frame::Ping(_))
    ));
}

#[test]
fn rfc9113_6_4_rst_stream_on_stream_0() {
    assert_error(
        &raw(0x3, 0, 0, &[0, 0, 0, 8]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_4_rst_stream_wrong_length() {
    assert_error(
        &raw(0x3, 0, 1, &[0, 0, 8]),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
    assert_error(
        &raw(0x3, 0, 1, &[0, 0, 0, 0, 8]),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_5_settings_on_a_stream() {
    assert_error(&raw(0x4, 0, 1, &[]), ErrorCode::PROTOCOL_ERROR, CONN);
}

#[test]
fn rfc9113_6_5_settings_ack_with_payload() {
    assert_error(
        &raw(0x4, 0x1, 0, &setting(3, 1)),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_5_settings_length_not_multiple_of_6() {
    assert_error(
        &raw(0x4, 0, 0, &[0, 3, 0, 0, 1]),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_5_2_enable_push_not_0_or_1() {
    assert_error(
        &raw(0x4, 0, 0, &setting(2, 2)),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_5_2_initial_window_size_above_2_31_minus_1() {
    assert_error(
        &raw(0x4, 0, 0, &setting(4, 1 << 31)),
        ErrorCode::FLOW_CONTROL_ERROR,
        CONN,
    );
    assert!(decode_one(&raw(0x4, 0, 0, &setting(4, (1 << 31) - 1))).is_ok());
}

#[test]
fn rfc9113_6_5_2_max_frame_size_out_of_range() {
    assert_error(
        &raw(0x4, 0, 0, &setting(5, 16_383)),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
    assert_error(
        &raw(0x4, 0, 0, &setting(5, 1 << 24)),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
    assert!(decode_one(&raw(0x4, 0, 0, &setting(5, (1 << 24) - 1))).is_ok());
}

#[test]
fn rfc9113_6_6_push_promise_on_stream_0() {
    assert_error(
        &raw(0x5, 0x4, 0, &[0, 0, 0, 2]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_6_push_promise_padding_exceeds_block() {
    assert_error(
        &raw(0x5, 0xc, 1, &[1, 0, 0, 0, 2]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_4_2_push_promise_too_short_for_promised_id() {
    assert_error(
        &raw(0x5, 0x4, 1, &[0, 0, 2]),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_7_ping_on_a_stream() {
    assert_error(
        &raw(0x6, 0, 1, b"abcdefgh"),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_7_ping_wrong_length() {
    assert_error(
        &raw(0x6, 0, 0, b"abcdefg"),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
    assert_error(
        &raw(0x6, 0x1, 0, b"abcdefghi"),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_8_goaway_on_a_stream() {
    assert_error(&raw(0x7, 0, 1, &[0; 8]), ErrorCode::PROTOCOL_ERROR, CONN);
}

#[test]
fn rfc9113_6_8_goaway_too_short() {
    assert_error(&raw(0x7, 0, 0, &[0; 7]), ErrorCode::FRAME_SIZE_ERROR, CONN);
}

#[test]
fn rfc9113_6_9_window_update_wrong_length() {
    assert_error(
        &raw(0x8, 0, 1, &[0, 0, 1]),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
    assert_error(
        &raw(0x8, 0, 0, &[0, 0, 0, 0, 1]),
        ErrorCode::FRAME_SIZE_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_9_window_update_zero_increment_on_a_stream_is_a_stream_error() {
    assert_error(
        &raw(0x8, 0, 7, &[0, 0, 0, 0]),
        ErrorCode::PROTOCOL_ERROR,
        stream(7),
    );
    // The reserved bit does not make the increment non-zero.
    assert_error(
        &raw(0x8, 0, 7, &[0x80, 0, 0, 0]),
        ErrorCode::PROTOCOL_ERROR,
        stream(7),
    );
}

#[test]
fn rfc9113_6_9_window_update_zero_increment_on_the_connection() {
    assert_error(
        &raw(0x8, 0, 0, &[0, 0, 0, 0]),
        ErrorCode::PROTOCOL_ERROR,
        CONN,
    );
}

#[test]
fn rfc9113_6_10_continuation_on_stream_0() {
    assert_error(&raw(0x9, 0x4, 0, b"\x82"), ErrorCode::PROTOCOL_ERROR, CONN);
}

#[test]
fn error_codes_print_their_rfc_names() {
    assert_eq!(
        format!("{:?}", ErrorCode::ENHANCE_YOUR_CALM),
        "ENHANCE_YOUR_CALM"
    );
    assert_eq!(format!("{:?}", ErrorCode(0x99)), "UNKNOWN_ERROR(0x99)");
    let e = decode_one(&raw(0x6, 0, 1, b"abcdefgh")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "connection error PROTOCOL_ERROR: PING on a stream (RFC 9113 §6.7)"
    );
}
