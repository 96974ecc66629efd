//! A server `Connection` fed arbitrary bytes after a valid preface, in arbitrary splits, with an
//! application that responds to, streams to and resets what it can. No input may panic it, and
//! a connection error always leaves a GOAWAY in the output.
#![no_main]

#[path = "common.rs"]
mod common;

use bytes::{Bytes, BytesMut};
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::{Frame, Settings};
use h2kit_proto::{Config, Connection, ErrorCode, Event, StreamId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let now = std::time::Instant::now();
    let cfg = Config {
        max_concurrent_streams: 4,
        initial_stream_window: 65_535,
        connection_window: 65_535,
        ..Config::default()
    };
    let mut conn = Connection::server(cfg, now);
    let mut input = BytesMut::from(&PREFACE[..]);
    Frame::Settings(Settings::default()).encode(&mut input);
    input.extend_from_slice(data);
    let chunk = (split as usize % 64) + 1;
    let mut buf = BytesMut::new();
    let mut failed = false;
    let mut out = BytesMut::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        if conn.recv(&mut buf, now).is_err() {
            failed = true;
        }
        while let Some(e) = conn.poll_event() {
            match e {
                Event::Headers { stream, end_stream, .. } => {
                    let res = http::Response::new(()).into_parts().0;
                    let _ = conn.send_response(stream, &res, false);
                    let _ = conn.send_data(stream, Bytes::from_static(b"hello"), end_stream);
                }
                Event::Data { stream, data, .. } => {
                    conn.release_capacity(stream, data.len());
                    if data.len() % 3 == 0 {
                        conn.reset(stream, ErrorCode::CANCEL);
                    }
                }
                Event::SendCapacity { stream } => {
                    let _ = conn.send_data(stream, Bytes::from_static(b"more"), true);
                }
                _ => {}
            }
        }
        while let Some(b) = conn.poll_transmit() {
            out.extend_from_slice(&b);
        }
        if failed {
            break;
        }
    }
    conn.handle_timeout(now + std::time::Duration::from_secs(60));
    conn.cancel(StreamId(1));
    // Whatever we wrote parses as frames, and a failure ends with a GOAWAY.
    let goaway = common::drain_and_parse(&mut conn, &mut out);
    if failed || conn.error().is_some() {
        assert!(goaway.is_some(), "a connection error must send GOAWAY");
    }
});
