//! `h2kit check server`: the connection preface, frames, stream states, flow control and
//! SETTINGS (RFC 9113 §3–§6).

use super::*;
use crate::check::case::Group::Rfc9113;
use crate::check::case::Payload::{Bytes, Empty, Fields, OverMaxFrame, PaddedFields};
use crate::check::case::Step::{AwaitResponse, ExceedConcurrency, Frame, Raw};

pub const FRAMING: &[Case] = &[
    // First: the URL answers a plain GET (what every other case builds on).
    case!(
        Rfc9113,
        "8.1/get",
        "RFC 9113 §8.1",
        "a valid GET on the URL's path is answered with success",
        [get(1)],
        Success(1)
    ),
    // §3.4 Connection preface.
    Case {
        id: "3.4/bad-preface",
        group: Rfc9113,
        section: "RFC 9113 §3.4",
        title: "an invalid connection preface is a connection error PROTOCOL_ERROR",
        preface: false,
        steps: &[Raw(
            b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        )],
        expect: ConnectionError(PROTOCOL),
    },
    case!(
        Rfc9113,
        "3.4/settings-ack",
        "RFC 9113 §3.4, §6.5.3",
        "the server acknowledges the client's SETTINGS",
        [],
        SettingsAck
    ),
    // §4.1 Frame format.
    case!(
        Rfc9113,
        "4.1/unknown-type",
        "RFC 9113 §4.1, §5.5",
        "a frame of an unknown type is ignored",
        [Frame(0x16, NONE, 0, Bytes(b"h2kit"))],
        Ignored
    ),
    case!(
        Rfc9113,
        "4.1/undefined-flags",
        "RFC 9113 §4.1",
        "undefined flags on a PING are ignored: it is acknowledged",
        [Frame(PING, 0x16 | 0x80, 0, Bytes(b"flagsset"))],
        PingAck(b"flagsset")
    ),
    case!(
        Rfc9113,
        "4.1/reserved-bit",
        "RFC 9113 §4.1",
        "the reserved bit of a stream identifier is ignored: the request is answered",
        [Frame(HEADERS, ES_EH, 0x8000_0001, Fields(GET))],
        Response(1)
    ),
    // §4.2 Frame size.
    case!(
        Rfc9113,
        "4.2/data-too-large",
        "RFC 9113 §4.2",
        "DATA larger than the server's SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR",
        [post(1), Frame(DATA, END_STREAM, 1, OverMaxFrame)],
        StreamError(1, FRAME_SIZE)
    ),
    case!(
        Rfc9113,
        "4.2/headers-too-large",
        "RFC 9113 §4.2",
        "HEADERS larger than SETTINGS_MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR",
        [Frame(HEADERS, ES_EH, 1, OverMaxFrame)],
        ConnectionError(FRAME_SIZE)
    ),
    // §4.3 Field section compression.
    case!(
        Rfc9113,
        "4.3/bad-block",
        "RFC 9113 §4.3",
        "a field block that cannot be decompressed is a connection error COMPRESSION_ERROR",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            block(b"\x82\x86\x84\xff\xff\xff\xff\xff\xff\xff\xff\x7f")
        )],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Rfc9113,
        "4.3/priority-inside-block",
        "RFC 9113 §4.3",
        "a PRIORITY between HEADERS and its CONTINUATION is a connection error PROTOCOL_ERROR",
        [
            Frame(HEADERS, END_STREAM, 1, Fields(GET)),
            Frame(PRIORITY, NONE, 1, Bytes(b"\x00\x00\x00\x00\x0f"))
        ],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "4.3/other-stream-inside-block",
        "RFC 9113 §4.3",
        "HEADERS on another stream inside a field block is a connection error PROTOCOL_ERROR",
        [Frame(HEADERS, END_STREAM, 1, Fields(GET)), get(3)],
        ConnectionError(PROTOCOL)
    ),
    // §5.1 Stream states.
    case!(
        Rfc9113,
        "5.1/idle-data",
        "RFC 9113 §5.1",
        "DATA on an idle stream is a connection error PROTOCOL_ERROR",
        [Frame(DATA, END_STREAM, 1, Bytes(b"h2kit"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.1/idle-rst",
        "RFC 9113 §5.1, §6.4",
        "RST_STREAM on an idle stream is a connection error PROTOCOL_ERROR",
        [Frame(RST_STREAM, NONE, 1, Bytes(b"\x00\x00\x00\x08"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.1/idle-window-update",
        "RFC 9113 §5.1",
        "WINDOW_UPDATE on an idle stream is a connection error PROTOCOL_ERROR",
        [Frame(WINDOW_UPDATE, NONE, 1, Bytes(b"\x00\x00\x00\x01"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.1/idle-continuation",
        "RFC 9113 §5.1, §6.10",
        "CONTINUATION on an idle stream is a connection error PROTOCOL_ERROR",
        [Frame(CONTINUATION, END_HEADERS, 1, Fields(GET))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.1/idle-priority",
        "RFC 9113 §5.1, §6.3",
        "PRIORITY on an idle stream is allowed",
        [Frame(PRIORITY, NONE, 9, Bytes(b"\x00\x00\x00\x00\x0f"))],
        Ignored
    ),
    // §5.1: the frames every state allows.
    case!(
        Rfc9113,
        "5.1/open-priority",
        "RFC 9113 §5.1, §6.3",
        "PRIORITY on an open stream is allowed",
        [
            post(1),
            Frame(PRIORITY, NONE, 1, Bytes(b"\x00\x00\x00\x00\x0f"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/open-window-update",
        "RFC 9113 §5.1, §6.9",
        "WINDOW_UPDATE on an open stream is allowed",
        [
            post(1),
            Frame(WINDOW_UPDATE, NONE, 1, Bytes(b"\x00\x00\x03\xe8"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/open-rst",
        "RFC 9113 §5.1, §6.4",
        "RST_STREAM (CANCEL) on an open stream closes it, and nothing more",
        [
            post(1),
            Frame(RST_STREAM, NONE, 1, Bytes(b"\x00\x00\x00\x08"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/half-closed-priority",
        "RFC 9113 §5.1, §6.3",
        "PRIORITY on a half-closed (remote) stream is allowed",
        [
            get(1),
            Frame(PRIORITY, NONE, 1, Bytes(b"\x00\x00\x00\x00\x0f"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/half-closed-window-update",
        "RFC 9113 §5.1, §6.9",
        "WINDOW_UPDATE on a half-closed (remote) stream is allowed",
        [
            get(1),
            Frame(WINDOW_UPDATE, NONE, 1, Bytes(b"\x00\x00\x03\xe8"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/half-closed-rst",
        "RFC 9113 §5.1, §6.4",
        "RST_STREAM (CANCEL) on a half-closed (remote) stream closes it, and nothing more",
        [
            get(1),
            Frame(RST_STREAM, NONE, 1, Bytes(b"\x00\x00\x00\x08"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/closed-priority",
        "RFC 9113 §5.1, §6.3",
        "PRIORITY on a closed stream is allowed",
        [
            get(1),
            AwaitResponse(1),
            Frame(PRIORITY, NONE, 1, Bytes(b"\x00\x00\x00\x00\x0f"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/half-closed-data",
        "RFC 9113 §5.1",
        "DATA after END_STREAM (half-closed remote) is a stream error STREAM_CLOSED",
        [get(1), Frame(DATA, END_STREAM, 1, Bytes(b"h2kit"))],
        StreamError(1, CLOSED)
    ),
    case!(
        Rfc9113,
        "5.1/half-closed-headers",
        "RFC 9113 §5.1",
        "HEADERS after END_STREAM (half-closed remote) is a stream error STREAM_CLOSED",
        [
            get(1),
            Frame(HEADERS, ES_EH, 1, Fields(&[("x-trailer", "late")]))
        ],
        StreamError(1, CLOSED)
    ),
    case!(
        Rfc9113,
        "5.1/half-closed-continuation",
        "RFC 9113 §5.1, §6.10",
        "CONTINUATION after a complete field block is a connection error PROTOCOL_ERROR",
        [
            get(1),
            Frame(CONTINUATION, END_HEADERS, 1, Fields(&[("x-late", "1")]))
        ],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.1/reset-data",
        "RFC 9113 §5.1",
        "DATA after the client's RST_STREAM is a stream error STREAM_CLOSED",
        [
            post(1),
            Frame(RST_STREAM, NONE, 1, Bytes(b"\x00\x00\x00\x08")),
            Frame(DATA, END_STREAM, 1, Bytes(b"h2kit"))
        ],
        StreamError(1, CLOSED)
    ),
    case!(
        Rfc9113,
        "5.1/reset-headers",
        "RFC 9113 §5.1",
        "HEADERS after the client's RST_STREAM is a stream error STREAM_CLOSED",
        [
            post(1),
            Frame(RST_STREAM, NONE, 1, Bytes(b"\x00\x00\x00\x08")),
            Frame(HEADERS, ES_EH, 1, Fields(&[("x-trailer", "late")]))
        ],
        StreamError(1, CLOSED)
    ),
    case!(
        Rfc9113,
        "5.1/closed-data",
        "RFC 9113 §5.1",
        "DATA on a stream closed by END_STREAM both ways is an error STREAM_CLOSED",
        [
            get(1),
            AwaitResponse(1),
            Frame(DATA, END_STREAM, 1, Bytes(b"h2kit"))
        ],
        StreamError(1, CLOSED)
    ),
    case!(
        Rfc9113,
        "5.1/closed-rst-tolerated",
        "RFC 9113 §5.1",
        "RST_STREAM on a stream the server just closed is tolerated",
        [
            get(1),
            AwaitResponse(1),
            Frame(RST_STREAM, NONE, 1, Bytes(b"\x00\x00\x00\x08"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1/closed-window-update-tolerated",
        "RFC 9113 §5.1",
        "WINDOW_UPDATE on a stream the server just closed is tolerated",
        [
            get(1),
            AwaitResponse(1),
            Frame(WINDOW_UPDATE, NONE, 1, Bytes(b"\x00\x00\x00\x01"))
        ],
        Ignored
    ),
    case!(
        Rfc9113,
        "5.1.1/even-stream",
        "RFC 9113 §5.1.1",
        "a request on an even-numbered stream is a connection error PROTOCOL_ERROR",
        [get(2)],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.1.1/decreasing-stream",
        "RFC 9113 §5.1.1",
        "a new stream numbered below one already used is a connection error PROTOCOL_ERROR",
        [get(5), get(3)],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.1.2/over-limit",
        "RFC 9113 §5.1.2",
        "a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS is refused (PROTOCOL_ERROR or \
         REFUSED_STREAM)",
        [ExceedConcurrency],
        Refused
    ),
    // §5.3 Priority (the self-dependency rule stays in RFC 9113).
    case!(
        Rfc9113,
        "5.3.1/headers-self-dependency",
        "RFC 9113 §5.3.1",
        "HEADERS whose priority depends on its own stream is a stream error PROTOCOL_ERROR",
        [Frame(
            HEADERS,
            ES_EH | PRIO,
            1,
            Payload::Prefixed(b"\x00\x00\x00\x01\x0f", GET)
        )],
        StreamError(1, PROTOCOL)
    ),
    case!(
        Rfc9113,
        "5.3.1/priority-self-dependency",
        "RFC 9113 §5.3.1",
        "PRIORITY that makes a stream depend on itself is a stream error PROTOCOL_ERROR",
        [
            post(1),
            Frame(PRIORITY, NONE, 1, Bytes(b"\x00\x00\x00\x01\x0f"))
        ],
        StreamError(1, PROTOCOL)
    ),
    // §5.5 Extending HTTP/2.
    case!(
        Rfc9113,
        "5.5/unknown-setting",
        "RFC 9113 §5.5, §6.5.2",
        "an unknown SETTINGS parameter is ignored and acknowledged",
        [Frame(SETTINGS, NONE, 0, Bytes(b"\x00\xf0\x00\x00\x00\x01"))],
        SettingsAck
    ),
    case!(
        Rfc9113,
        "5.5/unknown-inside-block",
        "RFC 9113 §5.5",
        "an unknown frame type inside a field block is a connection error PROTOCOL_ERROR",
        [
            Frame(HEADERS, END_STREAM, 1, Fields(GET)),
            Frame(0x16, NONE, 1, Bytes(b"h2kit"))
        ],
        ConnectionError(PROTOCOL)
    ),
    // §6.1 DATA.
    case!(
        Rfc9113,
        "6.1/stream-0",
        "RFC 9113 §6.1",
        "DATA on stream 0 is a connection error PROTOCOL_ERROR",
        [Frame(DATA, END_STREAM, 0, Bytes(b"h2kit"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.1/bad-padding",
        "RFC 9113 §6.1",
        "DATA whose padding is as long as its payload is a connection error PROTOCOL_ERROR",
        [
            post(1),
            Frame(DATA, END_STREAM | PADDED, 1, Bytes(b"\x06h2kit"))
        ],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.1/padded",
        "RFC 9113 §6.1",
        "padded DATA is accepted",
        [
            post(1),
            Frame(
                DATA,
                END_STREAM | PADDED,
                1,
                Bytes(b"\x03h2kit\x00\x00\x00")
            )
        ],
        Response(1)
    ),
    // §6.2 HEADERS.
    case!(
        Rfc9113,
        "6.2/stream-0",
        "RFC 9113 §6.2",
        "HEADERS on stream 0 is a connection error PROTOCOL_ERROR",
        [Frame(HEADERS, ES_EH, 0, Fields(GET))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.2/bad-padding",
        "RFC 9113 §6.2",
        "HEADERS whose padding is longer than its payload is a connection error PROTOCOL_ERROR",
        [Frame(HEADERS, ES_EH | PADDED, 1, Bytes(b"\xff\x82"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.2/padded",
        "RFC 9113 §6.2",
        "padded HEADERS is accepted",
        [Frame(HEADERS, ES_EH | PADDED, 1, PaddedFields(8, GET))],
        Response(1)
    ),
    case!(
        Rfc9113,
        "6.2/then-data",
        "RFC 9113 §6.2, §6.10",
        "a DATA frame where CONTINUATION must follow is a connection error PROTOCOL_ERROR",
        [
            Frame(HEADERS, NONE, 1, Fields(POST)),
            Frame(DATA, END_STREAM, 1, Bytes(b"h2kit"))
        ],
        ConnectionError(PROTOCOL)
    ),
    // §6.3 PRIORITY.
    case!(
        Rfc9113,
        "6.3/stream-0",
        "RFC 9113 §6.3",
        "PRIORITY on stream 0 is a connection error PROTOCOL_ERROR",
        [Frame(PRIORITY, NONE, 0, Bytes(b"\x00\x00\x00\x01\x0f"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.3/bad-length",
        "RFC 9113 §6.3",
        "PRIORITY of length 4 is a stream error FRAME_SIZE_ERROR",
        [
            post(1),
            Frame(PRIORITY, NONE, 1, Bytes(b"\x00\x00\x00\x03"))
        ],
        StreamError(1, FRAME_SIZE)
    ),
    // §6.4 RST_STREAM.
    case!(
        Rfc9113,
        "6.4/stream-0",
        "RFC 9113 §6.4",
        "RST_STREAM on stream 0 is a connection error PROTOCOL_ERROR",
        [Frame(RST_STREAM, NONE, 0, Bytes(b"\x00\x00\x00\x08"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.4/bad-length",
        "RFC 9113 §6.4",
        "RST_STREAM of length 3 is a connection error FRAME_SIZE_ERROR",
        [post(1), Frame(RST_STREAM, NONE, 1, Bytes(b"\x00\x00\x08"))],
        ConnectionError(FRAME_SIZE)
    ),
    // §6.5 SETTINGS.
    case!(
        Rfc9113,
        "6.5/ack-with-payload",
        "RFC 9113 §6.5",
        "a SETTINGS acknowledgement with a payload is a connection error FRAME_SIZE_ERROR",
        [Frame(SETTINGS, ACK, 0, Bytes(b"\x00\x03\x00\x00\x00\x64"))],
        ConnectionError(FRAME_SIZE)
    ),
    case!(
        Rfc9113,
        "6.5/not-stream-0",
        "RFC 9113 §6.5",
        "SETTINGS on a stream is a connection error PROTOCOL_ERROR",
        [Frame(SETTINGS, NONE, 1, Bytes(b"\x00\x03\x00\x00\x00\x64"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.5/bad-length",
        "RFC 9113 §6.5",
        "SETTINGS whose length is not a multiple of 6 is a connection error FRAME_SIZE_ERROR",
        [Frame(SETTINGS, NONE, 0, Bytes(b"\x00\x03\x00\x00\x00"))],
        ConnectionError(FRAME_SIZE)
    ),
    case!(
        Rfc9113,
        "6.5.2/enable-push-2",
        "RFC 9113 §6.5.2",
        "SETTINGS_ENABLE_PUSH of 2 is a connection error PROTOCOL_ERROR",
        [Frame(SETTINGS, NONE, 0, Bytes(b"\x00\x02\x00\x00\x00\x02"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.5.2/window-too-large",
        "RFC 9113 §6.5.2",
        "SETTINGS_INITIAL_WINDOW_SIZE of 2^31 is a connection error FLOW_CONTROL_ERROR",
        [Frame(SETTINGS, NONE, 0, Bytes(b"\x00\x04\x80\x00\x00\x00"))],
        ConnectionError(FLOW)
    ),
    case!(
        Rfc9113,
        "6.5.2/frame-size-too-small",
        "RFC 9113 §6.5.2",
        "SETTINGS_MAX_FRAME_SIZE of 16,383 is a connection error PROTOCOL_ERROR",
        [Frame(SETTINGS, NONE, 0, Bytes(b"\x00\x05\x00\x00\x3f\xff"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.5.2/frame-size-too-large",
        "RFC 9113 §6.5.2",
        "SETTINGS_MAX_FRAME_SIZE of 2^24 is a connection error PROTOCOL_ERROR",
        [Frame(SETTINGS, NONE, 0, Bytes(b"\x00\x05\x01\x00\x00\x00"))],
        ConnectionError(PROTOCOL)
    ),
    // §6.6 PUSH_PROMISE.
    case!(
        Rfc9113,
        "6.6/from-client",
        "RFC 9113 §6.6, §8.4",
        "PUSH_PROMISE from a client is a connection error PROTOCOL_ERROR",
        [
            post(1),
            Frame(
                PUSH_PROMISE,
                END_HEADERS,
                1,
                Payload::Prefixed(b"\x00\x00\x00\x02", GET)
            )
        ],
        ConnectionError(PROTOCOL)
    ),
    // §6.7 PING.
    case!(
        Rfc9113,
        "6.7/ack",
        "RFC 9113 §6.7",
        "a PING is acknowledged with the same payload",
        [Frame(PING, NONE, 0, Bytes(b"h2kitchk"))],
        PingAck(b"h2kitchk")
    ),
    case!(
        Rfc9113,
        "6.7/no-ack-of-ack",
        "RFC 9113 §6.7",
        "a PING acknowledgement is not answered",
        [Frame(PING, ACK, 0, Bytes(b"notasked"))],
        Ignored
    ),
    case!(
        Rfc9113,
        "6.7/not-stream-0",
        "RFC 9113 §6.7",
        "PING on a stream is a connection error PROTOCOL_ERROR",
        [Frame(PING, NONE, 1, Bytes(b"h2kitchk"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.7/bad-length",
        "RFC 9113 §6.7",
        "PING of length 6 is a connection error FRAME_SIZE_ERROR",
        [Frame(PING, NONE, 0, Bytes(b"h2kit!"))],
        ConnectionError(FRAME_SIZE)
    ),
    // §6.8 GOAWAY.
    case!(
        Rfc9113,
        "6.8/not-stream-0",
        "RFC 9113 §6.8",
        "GOAWAY on a stream is a connection error PROTOCOL_ERROR",
        [Frame(
            GOAWAY,
            NONE,
            1,
            Bytes(b"\x00\x00\x00\x00\x00\x00\x00\x00")
        )],
        ConnectionError(PROTOCOL)
    ),
    // §6.9 WINDOW_UPDATE and flow control.
    case!(
        Rfc9113,
        "6.9/zero-connection",
        "RFC 9113 §6.9",
        "a connection WINDOW_UPDATE of 0 is a connection error PROTOCOL_ERROR",
        [Frame(WINDOW_UPDATE, NONE, 0, Bytes(b"\x00\x00\x00\x00"))],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.9/zero-stream",
        "RFC 9113 §6.9",
        "a stream WINDOW_UPDATE of 0 is a stream error PROTOCOL_ERROR",
        [
            post(1),
            Frame(WINDOW_UPDATE, NONE, 1, Bytes(b"\x00\x00\x00\x00"))
        ],
        StreamError(1, PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.9/bad-length",
        "RFC 9113 §6.9",
        "WINDOW_UPDATE of length 3 is a connection error FRAME_SIZE_ERROR",
        [Frame(WINDOW_UPDATE, NONE, 0, Bytes(b"\x00\x00\x01"))],
        ConnectionError(FRAME_SIZE)
    ),
    case!(
        Rfc9113,
        "6.9.1/connection-overflow",
        "RFC 9113 §6.9.1",
        "a connection window above 2^31-1 is a connection error FLOW_CONTROL_ERROR",
        [Frame(WINDOW_UPDATE, NONE, 0, Bytes(b"\x7f\xff\xff\xff"))],
        ConnectionError(FLOW)
    ),
    case!(
        Rfc9113,
        "6.9.1/stream-overflow",
        "RFC 9113 §6.9.1",
        "a stream window above 2^31-1 is a stream error FLOW_CONTROL_ERROR",
        [
            post(1),
            Frame(WINDOW_UPDATE, NONE, 1, Bytes(b"\x7f\xff\xff\xff"))
        ],
        StreamError(1, FLOW)
    ),
    case!(
        Rfc9113,
        "6.9.2/settings-overflow",
        "RFC 9113 §6.9.2",
        "SETTINGS_INITIAL_WINDOW_SIZE that takes an open stream's window above 2^31-1 is a \
         connection error FLOW_CONTROL_ERROR",
        [
            post(1),
            Frame(WINDOW_UPDATE, NONE, 1, Bytes(b"\x7f\xff\x00\x00")),
            Frame(SETTINGS, NONE, 0, Bytes(b"\x00\x04\x7f\xff\xff\xff"))
        ],
        ConnectionError(FLOW)
    ),
    case!(
        Rfc9113,
        "5.2/data-over-window",
        "RFC 9113 §5.2, §6.9",
        "DATA beyond the server's flow-control window is a FLOW_CONTROL_ERROR",
        [post(1), Step::OverflowWindow(1)],
        FlowError(1)
    ),
    // §6.10 CONTINUATION.
    case!(
        Rfc9113,
        "6.10/continuation",
        "RFC 9113 §6.10",
        "a field block split over HEADERS and CONTINUATION frames is accepted",
        [
            Frame(
                HEADERS,
                END_STREAM,
                1,
                Fields(&[(":method", "GET"), (":scheme", "{scheme}")])
            ),
            Frame(
                CONTINUATION,
                NONE,
                1,
                Fields(&[(":authority", "{authority}")])
            ),
            Frame(CONTINUATION, END_HEADERS, 1, Fields(&[(":path", "{path}")]))
        ],
        Response(1)
    ),
    case!(
        Rfc9113,
        "6.10/stream-0",
        "RFC 9113 §6.10",
        "CONTINUATION on stream 0 is a connection error PROTOCOL_ERROR",
        [
            Frame(HEADERS, END_STREAM, 1, Fields(GET)),
            Frame(CONTINUATION, END_HEADERS, 0, Empty)
        ],
        ConnectionError(PROTOCOL)
    ),
    case!(
        Rfc9113,
        "6.10/other-stream",
        "RFC 9113 §6.10",
        "CONTINUATION on another stream is a connection error PROTOCOL_ERROR",
        [
            Frame(HEADERS, END_STREAM, 1, Fields(GET)),
            Frame(CONTINUATION, END_HEADERS, 3, Empty)
        ],
        ConnectionError(PROTOCOL)
    ),
];
