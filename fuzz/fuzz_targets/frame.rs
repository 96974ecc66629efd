//! Frame parser: arbitrary bytes, delivered in arbitrary splits, never panic; every frame that
//! parses re-encodes to bytes that parse back to the same frame.
#![no_main]

use bytes::BytesMut;
use h2kit_proto::frame::FrameDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let mut dec = FrameDecoder::new();
    // Exercise larger frame limits too.
    if split & 0x80 != 0 {
        dec.set_max_frame_size(1 << 20);
    }
    let chunk = (split as usize & 0x3f) + 1;
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let mut out = BytesMut::new();
                    frame.encode(&mut out);
                    let mut again = FrameDecoder::new();
                    again.set_max_frame_size((1 << 24) - 1);
                    let back = again.decode(&mut out).expect("re-encoded frame parses");
                    assert_eq!(back.as_ref(), Some(&frame));
                }
                Ok(None) => break,
                Err(e) if e.is_connection_error() => return,
                Err(_) => {}
            }
        }
    }
});
