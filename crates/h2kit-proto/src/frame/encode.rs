//! Frame serialization into a caller-provided buffer. Nothing here allocates: the only memory
//! touched is `dst`, which the caller reuses across frames (it grows only if too small).

use bytes::{BufMut, BytesMut};

use super::*;

/// Writes a 9-octet frame header (§4.1), as one array: one copy of a known size (two `put_*`
/// calls were two calls to `memcpy` per frame).
pub fn put_header(dst: &mut BytesMut, length: usize, kind: u8, flags: u8, stream_id: StreamId) {
    debug_assert!(length <= MAX_MAX_FRAME_SIZE as usize);
    let len = (length as u32).to_be_bytes();
    let id = (stream_id.0 & MAX_WINDOW_SIZE).to_be_bytes();
    dst.extend_from_slice(&[
        len[1], len[2], len[3], kind, flags, id[0], id[1], id[2], id[3],
    ]);
}

fn pad_fields(pad: Option<u8>) -> (u8, usize) {
    match pad {
        Some(p) => (flags::PADDED, 1 + p as usize),
        None => (0, 0),
    }
}

fn put_padding(dst: &mut BytesMut, pad: Option<u8>, before: bool) {
    if let Some(p) = pad {
        if before {
            dst.put_u8(p);
        } else {
            dst.put_bytes(0, p as usize);
        }
    }
}

fn flag(on: bool, bit: u8) -> u8 {
    if on {
        bit
    } else {
        0
    }
}

impl PrioritySpec {
    fn put(&self, dst: &mut BytesMut) {
        dst.put_u32(self.dependency.0 | if self.exclusive { 0x8000_0000 } else { 0 });
        dst.put_u8(self.weight);
    }
}

impl Frame {
    /// Appends the frame, header included, to `dst`. The caller keeps payloads within the
    /// peer's SETTINGS_MAX_FRAME_SIZE; the connection layer splits DATA and header blocks.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Frame::Data(f) => {
                let (pf, pl) = pad_fields(f.pad);
                dst.reserve(HEADER_LEN + pl + f.data.len());
                let fl = pf | flag(f.end_stream, flags::END_STREAM);
                put_header(
                    dst,
                    f.data.len() + pl,
                    FrameType::Data as u8,
                    fl,
                    f.stream_id,
                );
                put_padding(dst, f.pad, true);
                dst.put_slice(&f.data);
                put_padding(dst, f.pad, false);
            }
            Frame::Headers(f) => {
                let (pf, pl) = pad_fields(f.pad);
                let prio = if f.priority.is_some() { 5 } else { 0 };
                let fl = pf
                    | flag(f.end_stream, flags::END_STREAM)
                    | flag(f.end_headers, flags::END_HEADERS)
                    | flag(f.priority.is_some(), flags::PRIORITY);
                dst.reserve(HEADER_LEN + pl + prio + f.block.len());
                let len = pl + prio + f.block.len();
                put_header(dst, len, FrameType::Headers as u8, fl, f.stream_id);
                put_padding(dst, f.pad, true);
                if let Some(p) = &f.priority {
                    p.put(dst);
                }
                dst.put_slice(&f.block);
                put_padding(dst, f.pad, false);
            }
            Frame::Priority(f) => {
                put_header(dst, 5, FrameType::Priority as u8, 0, f.stream_id);
                f.spec.put(dst);
            }
            Frame::RstStream(f) => {
                put_header(dst, 4, FrameType::RstStream as u8, 0, f.stream_id);
                dst.put_u32(f.code.0);
            }
            Frame::Settings(s) => {
                let fl = flag(s.ack, flags::ACK);
                put_header(
                    dst,
                    s.encoded_len(),
                    FrameType::Settings as u8,
                    fl,
                    StreamId(0),
                );
                for (k, v) in s.iter() {
                    dst.put_u16(k as u16);
                    dst.put_u32(v);
                }
            }
            Frame::PushPromise(f) => {
                let (pf, pl) = pad_fields(f.pad);
                let fl = pf | flag(f.end_headers, flags::END_HEADERS);
                let len = pl + 4 + f.block.len();
                put_header(dst, len, FrameType::PushPromise as u8, fl, f.stream_id);
                put_padding(dst, f.pad, true);
                dst.put_u32(f.promised_id.0 & MAX_WINDOW_SIZE);
                dst.put_slice(&f.block);
                put_padding(dst, f.pad, false);
            }
            Frame::Ping(f) => {
                let fl = flag(f.ack, flags::ACK);
                put_header(dst, 8, FrameType::Ping as u8, fl, StreamId(0));
                dst.put_slice(&f.payload);
            }
            Frame::GoAway(f) => {
                let len = 8 + f.debug_data.len();
                put_header(dst, len, FrameType::GoAway as u8, 0, StreamId(0));
                dst.put_u32(f.last_stream_id.0 & MAX_WINDOW_SIZE);
                dst.put_u32(f.code.0);
                dst.put_slice(&f.debug_data);
            }
            Frame::WindowUpdate(f) => {
                put_header(dst, 4, FrameType::WindowUpdate as u8, 0, f.stream_id);
                dst.put_u32(f.increment & MAX_WINDOW_SIZE);
            }
            Frame::Continuation(f) => {
                let fl = flag(f.end_headers, flags::END_HEADERS);
                let len = f.block.len();
                put_header(dst, len, FrameType::Continuation as u8, fl, f.stream_id);
                dst.put_slice(&f.block);
            }
            Frame::Unknown(f) => {
                put_header(dst, f.payload.len(), f.kind, f.flags, f.stream_id);
                dst.put_slice(&f.payload);
            }
        }
    }
}
