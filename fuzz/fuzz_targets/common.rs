//! Shared by the connection fuzz targets.

use bytes::BytesMut;
use h2kit_proto::frame::{Frame, FrameDecoder};
use h2kit_proto::{Connection, ErrorCode};

/// Collects what `conn` still has to write into `out`, checks that all of it parses as frames,
/// and returns the code of the last GOAWAY in it, if any.
pub fn drain_and_parse(conn: &mut Connection, out: &mut BytesMut) -> Option<ErrorCode> {
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut dec = FrameDecoder::new();
    dec.set_max_frame_size((1 << 24) - 1);
    let mut goaway = None;
    while let Some(f) = dec.decode(out).expect("our own output parses") {
        if let Frame::GoAway(g) = f {
            goaway = Some(g.code);
        }
    }
    goaway
}
