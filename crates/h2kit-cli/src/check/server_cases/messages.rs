//! `h2kit check server`: HTTP semantics (RFC 9113 §8) and HPACK (RFC 7541).

use super::*;
use crate::check::case::Group::{Hpack, Rfc9113};
use crate::check::case::Payload::{Bytes, Fields};
use crate::check::case::Step::{AwaitResponse, Frame};

pub const MESSAGES: &[Case] = &[
    // §8.1 Message framing.
    case!(
        Rfc9113,
        "8.1/trailers-without-end-stream",
        "RFC 9113 §8.1",
        "a second HEADERS without END_STREAM is a stream error PROTOCOL_ERROR",
        [
            post(1),
            Frame(DATA, NONE, 1, Bytes(b"h2kit")),
            Frame(HEADERS, END_HEADERS, 1, Fields(&[("x-trailer", "1")]))
        ],
        Malformed(1)
    ),
    case!(
        Rfc9113,
        "8.1.1/content-length-mismatch",
        "RFC 9113 §8.1.1",
        "DATA longer than content-length is a stream error PROTOCOL_ERROR",
        [
            Frame(
                HEADERS,
                END_HEADERS,
                1,
                Fields(&[
                    (":method", "POST"),
                    (":scheme", "{scheme}"),
                    (":authority", "{authority}"),
                    (":path", "{path}"),
                    ("content-length", "1")
                ])
            ),
            Frame(DATA, END_STREAM, 1, Bytes(b"h2kit"))
        ],
        Malformed(1)
    ),
    case!(
        Rfc9113,
        "8.1/trailers",
        "RFC 9113 §8.1",
        "a request with trailers is accepted",
        [
            post(1),
            Frame(DATA, NONE, 1, Bytes(b"h2kit")),
            Frame(HEADERS, ES_EH, 1, Fields(&[("x-trailer", "1")]))
        ],
        Response(1)
    ),
    // §8.2 Fields.
    malformed!(
        "8.2/uppercase-name",
        "RFC 9113 §8.2",
        "a field name with uppercase letters makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            ("X-H2kit", "1")
        ]
    ),
    malformed!(
        "8.2.1/space-in-name",
        "RFC 9113 §8.2.1",
        "a field name with a space makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            ("x h2kit", "1")
        ]
    ),
    malformed!(
        "8.2.1/newline-in-value",
        "RFC 9113 §8.2.1",
        "a field value with a line feed makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            ("x-h2kit", "a\nb")
        ]
    ),
    malformed!(
        "8.2.1/nul-in-value",
        "RFC 9113 §8.2.1",
        "a field value with NUL makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            ("x-h2kit", "a\0b")
        ]
    ),
    malformed!(
        "8.2.1/leading-space-in-value",
        "RFC 9113 §8.2.1",
        "a field value that starts with a space makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            ("x-h2kit", " a")
        ]
    ),
    malformed!(
        "8.2.2/connection",
        "RFC 9113 §8.2.2",
        "a connection-specific field (connection) makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            ("connection", "keep-alive")
        ]
    ),
    malformed!(
        "8.2.2/te",
        "RFC 9113 §8.2.2",
        "TE with a value other than \"trailers\" makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            ("te", "gzip")
        ]
    ),
    case!(
        Rfc9113,
        "8.2.2/te-trailers",
        "RFC 9113 §8.2.2",
        "TE: trailers is accepted",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            Fields(&[
                (":method", "GET"),
                (":scheme", "{scheme}"),
                (":authority", "{authority}"),
                (":path", "{path}"),
                ("te", "trailers")
            ])
        )],
        Response(1)
    ),
    // §8.3 Control data.
    malformed!(
        "8.3/unknown-pseudo",
        "RFC 9113 §8.3",
        "an unknown pseudo-header field makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            (":h2kit", "1")
        ]
    ),
    malformed!(
        "8.3/response-pseudo",
        "RFC 9113 §8.3",
        "a response pseudo-header field (:status) in a request makes it malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}"),
            (":status", "200")
        ]
    ),
    malformed!(
        "8.3/pseudo-after-regular",
        "RFC 9113 §8.3",
        "a pseudo-header field after a regular field makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            ("x-h2kit", "1"),
            (":path", "{path}")
        ]
    ),
    malformed!(
        "8.3.1/duplicate-method",
        "RFC 9113 §8.3.1",
        "a repeated :method makes the request malformed",
        &[
            (":method", "GET"),
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}")
        ]
    ),
    malformed!(
        "8.3.1/no-method",
        "RFC 9113 §8.3.1",
        "a request without :method is malformed",
        &[
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}")
        ]
    ),
    malformed!(
        "8.3.1/no-scheme",
        "RFC 9113 §8.3.1",
        "a request without :scheme is malformed",
        &[
            (":method", "GET"),
            (":authority", "{authority}"),
            (":path", "{path}")
        ]
    ),
    malformed!(
        "8.3.1/no-path",
        "RFC 9113 §8.3.1",
        "a request without :path is malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}")
        ]
    ),
    malformed!(
        "8.3.1/empty-path",
        "RFC 9113 §8.3.1",
        "an empty :path makes the request malformed",
        &[
            (":method", "GET"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "")
        ]
    ),
    case!(
        Rfc9113,
        "8.3.1/pseudo-in-trailers",
        "RFC 9113 §8.1, §8.3",
        "a pseudo-header field in trailers makes the request malformed",
        [
            post(1),
            Frame(DATA, NONE, 1, Bytes(b"h2kit")),
            Frame(HEADERS, ES_EH, 1, Fields(&[(":method", "POST")]))
        ],
        Malformed(1)
    ),
    malformed!(
        "8.5/connect-with-path",
        "RFC 9113 §8.5",
        "a CONNECT request with :scheme and :path is malformed",
        &[
            (":method", "CONNECT"),
            (":scheme", "{scheme}"),
            (":authority", "{authority}"),
            (":path", "{path}")
        ]
    ),
    // RFC 7541.
    case!(
        Hpack,
        "6.1/index-0",
        "RFC 7541 §6.1",
        "an indexed field with index 0 is a decoding error: COMPRESSION_ERROR",
        [Frame(HEADERS, ES_EH, 1, block(b"\x80"))],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "2.3.3/index-beyond-table",
        "RFC 7541 §2.3.3",
        "an index beyond both tables is a decoding error: COMPRESSION_ERROR",
        [Frame(HEADERS, ES_EH, 1, block(b"\xff\x80\x08"))],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "4.2/size-update-over-limit",
        "RFC 7541 §4.2, §6.3",
        "a dynamic table size update above SETTINGS_HEADER_TABLE_SIZE is a COMPRESSION_ERROR",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            block(b"\x3f\xe1\xff\xff\x07\x82\x86\x84")
        )],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "4.2/size-update-after-field",
        "RFC 7541 §4.2",
        "a dynamic table size update after a field representation is a COMPRESSION_ERROR",
        [Frame(HEADERS, ES_EH, 1, block(b"\x82\x20\x86\x84"))],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "4.2/size-update-first",
        "RFC 7541 §4.2, §6.3",
        "a dynamic table size update to 0 at the start of a block is accepted",
        [Frame(HEADERS, ES_EH, 1, Payload::Prefixed(b"\x20", GET))],
        Response(1)
    ),
    case!(
        Hpack,
        "5.1/integer-overflow",
        "RFC 7541 §5.1",
        "an integer longer than any the decoder accepts is a COMPRESSION_ERROR",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            block(b"\xff\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01")
        )],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "5.2/huffman-long-padding",
        "RFC 7541 §5.2",
        "Huffman padding longer than 7 bits is a decoding error: COMPRESSION_ERROR",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            block(b"\x82\x86\x84\x0f\x2b\x82\x1f\xff")
        )],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "5.2/huffman-zero-padding",
        "RFC 7541 §5.2",
        "Huffman padding that is not the EOS prefix (ones) is a COMPRESSION_ERROR",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            block(b"\x82\x86\x84\x0f\x2b\x81\x18")
        )],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "5.2/huffman-eos",
        "RFC 7541 §5.2",
        "a Huffman string containing EOS is a decoding error: COMPRESSION_ERROR",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            block(b"\x82\x86\x84\x0f\x2b\x84\xff\xff\xff\xff")
        )],
        ConnectionError(COMPRESSION)
    ),
    case!(
        Hpack,
        "6.2.1/indexed-later",
        "RFC 7541 §6.2.1, §2.3.3",
        "a field added to the dynamic table is found by index in the next block",
        [
            Frame(
                HEADERS,
                ES_EH,
                1,
                Payload::Suffixed(GET, b"\x40\x07x-h2kit\x03one")
            ),
            AwaitResponse(1),
            Frame(HEADERS, ES_EH, 3, Payload::Suffixed(GET, b"\xbe"))
        ],
        Response(3)
    ),
    case!(
        Hpack,
        "6.2.3/never-indexed",
        "RFC 7541 §6.2.3",
        "a never-indexed literal is accepted",
        [Frame(
            HEADERS,
            ES_EH,
            1,
            Payload::Suffixed(GET, b"\x10\x07x-h2kit\x03yes")
        )],
        Response(1)
    ),
];
