//! Incremental, zero-copy frame parsing with the single-frame rules of RFC 9113 §4–§6.

use bytes::{Buf, Bytes, BytesMut};

use super::*;
use crate::{Error, ErrorCode};

const PROTOCOL: ErrorCode = ErrorCode::PROTOCOL_ERROR;
const FRAME_SIZE: ErrorCode = ErrorCode::FRAME_SIZE_ERROR;

/// Parses frames out of a read buffer.
///
/// The decoder holds only the largest frame size we accept (our SETTINGS_MAX_FRAME_SIZE). A
/// frame header announcing more than that is rejected as soon as its nine bytes arrive, before
/// any of its payload is buffered, so a peer cannot make us hold more than one maximum-size
/// frame.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: u32,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
        }
    }
}

impl FrameDecoder {
    /// A decoder for frames up to the default SETTINGS_MAX_FRAME_SIZE (16,384).
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// The largest payload accepted (our SETTINGS_MAX_FRAME_SIZE).
    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    /// Sets the largest payload accepted. The connection layer calls this with our advertised
    /// SETTINGS_MAX_FRAME_SIZE (the larger of the old and new values until the peer ACKs).
    pub fn set_max_frame_size(&mut self, n: u32) {
        self.max_frame_size = n.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE);
    }

    /// Takes the next complete frame from the front of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold a whole frame (nothing is consumed). On
    /// `Err`, the offending frame has been consumed when its whole payload was present, so after
    /// a *stream* error the caller may go on parsing; after a *connection* error it must not.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let head = FrameHeader::parse(head);
        // §4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR. We treat it
        // as a connection error whatever the type (§5.4.1 allows that for any stream error):
        // skipping up to 16 MiB of a DATA frame's payload would mean buffering or tracking it.
        if head.length > self.max_frame_size {
            return Err(Error::connection(
                FRAME_SIZE,
                "frame larger than SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2)",
            ));
        }
        let total = HEADER_LEN + head.length as usize;
        if buf.len() < total {
            // Let the caller's next read land in one piece.
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let mut raw = buf.split_to(total);
        raw.advance(HEADER_LEN);
        parse_payload(head, raw.freeze()).map(Some)
    }
}

/// Parses a payload whose header has been read. Public so that tools which frame bytes
/// themselves (a tracing proxy) can reuse the rules.
pub fn parse_payload(head: FrameHeader, payload: Bytes) -> Result<Frame, Error> {
    let id = head.stream_id;
    let fl = head.flags;
    let Some(kind) = FrameType::from_u8(head.kind) else {
        // §4.1/§5.5: unknown types are ignored (by the connection layer, which still sees them).
        return Ok(Frame::Unknown(Unknown {
            kind: head.kind,
            flags: fl,
            stream_id: id,
            payload,
        }));
    };
    Ok(match kind {
        FrameType::Data => {
            if id.is_zero() {
                return Err(conn(PROTOCOL, "DATA on stream 0 (RFC 9113 §6.1)"));
            }
            let (data, pad) = strip_padding(fl, payload, 0, "DATA padding (RFC 9113 §6.1)")?;
            Frame::Data(Data {
                stream_id: id,
                data,
                end_stream: fl & flags::END_STREAM != 0,
                pad,
            })
        }
        FrameType::Headers => {
            if id.is_zero() {
                return Err(conn(PROTOCOL, "HEADERS on stream 0 (RFC 9113 §6.2)"));
            }
            let prio_len = if fl & flags::PRIORITY != 0 { 5 } else { 0 };
            let (mut block, pad) =
                strip_padding(fl, payload, prio_len, "HEADERS padding (RFC 9113 §6.2)")?;
            let priority = if prio_len > 0 {
                let p = block.split_to(5);
                Some(priority_spec(&p))
            } else {
                None
            };
            // A HEADERS frame that depends on its own stream is a stream error (§5.3.1), but its
            // field block must still be decoded to keep HPACK state in sync (§4.3), so that rule
            // is left to the connection layer: see `Headers::depends_on_itself`.
            Frame::Headers(Headers {
                stream_id: id,
                block,
                end_stream: fl & flags::END_STREAM != 0,
                end_headers: fl & flags::END_HEADERS != 0,
                priority,
                pad,
            })
        }
        FrameType::Priority => {
            if id.is_zero() {
                return Err(conn(PROTOCOL, "PRIORITY on stream 0 (RFC 9113 §6.3)"));
            }
            if payload.len() != 5 {
                return Err(Error::stream(
                    id,
                    FRAME_SIZE,
                    "PRIORITY length other than 5 (RFC 9113 §6.3)",
                ));
            }
            let spec = priority_spec(&payload);
            if spec.dependency == id {
                return Err(Error::stream(
                    id,
                    PROTOCOL,
                    "stream depends on itself (RFC 9113 §5.3.1)",
                ));
            }
            Frame::Priority(Priority {
                stream_id: id,
                spec,
            })
        }
        FrameType::RstStream => {
            if id.is_zero() {
                return Err(conn(PROTOCOL, "RST_STREAM on stream 0 (RFC 9113 §6.4)"));
            }
            if payload.len() != 4 {
                return Err(conn(
                    FRAME_SIZE,
                    "RST_STREAM length other than 4 (RFC 9113 §6.4)",
                ));
            }
            Frame::RstStream(RstStream {
                stream_id: id,
                code: ErrorCode(be32(&payload[..4])),
            })
        }
        FrameType::Settings => {
            if !id.is_zero() {
                return Err(conn(PROTOCOL, "SETTINGS on a stream (RFC 9113 §6.5)"));
            }
            let ack = fl & flags::ACK != 0;
            if ack && !payload.is_empty() {
                return Err(conn(
                    FRAME_SIZE,
                    "SETTINGS ACK with a payload (RFC 9113 §6.5)",
                ));
            }
            if payload.len() % 6 != 0 {
                return Err(conn(
                    FRAME_SIZE,
                    "SETTINGS length not a multiple of 6 (RFC 9113 §6.5)",
                ));
            }
            let mut settings = if ack {
                Settings::ack()
            } else {
                Settings::default()
            };
            for param in payload.chunks_exact(6) {
                let ident = u16::from_be_bytes([param[0], param[1]]);
                let value = be32(&param[2..6]);
                // §6.5.2: unknown or unsupported identifiers MUST be ignored.
                if let Some(s) = Setting::from_id(ident) {
                    s.validate(value)?;
                    settings.set(s, Some(value));
                }
            }
            Frame::Settings(settings)
        }
        FrameType::PushPromise => {
            if id.is_zero() {
                return Err(conn(PROTOCOL, "PUSH_PROMISE on stream 0 (RFC 9113 §6.6)"));
            }
            let (mut block, pad) =
                strip_padding(fl, payload, 4, "PUSH_PROMISE padding (RFC 9113 §6.6)")?;
            let promised = block.split_to(4);
            Frame::PushPromise(PushPromise {
                stream_id: id,
                promised_id: StreamId(be32(&promised) & MAX_WINDOW_SIZE),
                block,
                end_headers: fl & flags::END_HEADERS != 0,
                pad,
            })
        }
        FrameType::Ping => {
            if !id.is_zero() {
                return Err(conn(PROTOCOL, "PING on a stream (RFC 9113 §6.7)"));
            }
            let Ok(payload) = <[u8; 8]>::try_from(&payload[..]) else {
                return Err(conn(FRAME_SIZE, "PING length other than 8 (RFC 9113 §6.7)"));
            };
            Frame::Ping(Ping {
                ack: fl & flags::ACK != 0,
                payload,
            })
        }
        FrameType::GoAway => {
            if !id.is_zero() {
                return Err(conn(PROTOCOL, "GOAWAY on a stream (RFC 9113 §6.8)"));
            }
            if payload.len() < 8 {
                return Err(conn(
                    FRAME_SIZE,
                    "GOAWAY shorter than 8 octets (RFC 9113 §6.8)",
                ));
            }
            Frame::GoAway(GoAway {
                last_stream_id: StreamId(be32(&payload[..4]) & MAX_WINDOW_SIZE),
                code: ErrorCode(be32(&payload[4..8])),
                debug_data: payload.slice(8..),
            })
        }
        FrameType::WindowUpdate => {
            if payload.len() != 4 {
                return Err(conn(
                    FRAME_SIZE,
                    "WINDOW_UPDATE length other than 4 (RFC 9113 §6.9)",
                ));
            }
            let increment = be32(&payload) & MAX_WINDOW_SIZE;
            if increment == 0 {
                // §6.9: a stream error for a stream's window, a connection error for stream 0.
                let reason = "WINDOW_UPDATE increment of 0 (RFC 9113 §6.9)";
                return Err(if id.is_zero() {
                    conn(PROTOCOL, reason)
                } else {
                    Error::stream(id, PROTOCOL, reason)
                });
            }
            Frame::WindowUpdate(WindowUpdate {
                stream_id: id,
                increment,
            })
        }
        FrameType::Continuation => {
            if id.is_zero() {
                return Err(conn(PROTOCOL, "CONTINUATION on stream 0 (RFC 9113 §6.10)"));
            }
            Frame::Continuation(Continuation {
                stream_id: id,
                block: payload,
                end_headers: fl & flags::END_HEADERS != 0,
            })
        }
    })
}

fn conn(code: ErrorCode, reason: &'static str) -> Error {
    Error::connection(code, reason)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn priority_spec(b: &[u8]) -> PrioritySpec {
    let dep = be32(&b[..4]);
    PrioritySpec {
        exclusive: dep & 0x8000_0000 != 0,
        dependency: StreamId(dep & MAX_WINDOW_SIZE),
        weight: b[4],
    }
}

/// Removes the Pad Length octet and the padding of a PADDED frame. `fixed` is the length of the
/// fields that must follow the Pad Length (priority, promised stream id). Both "too small for
/// its mandatory fields" (§4.2, FRAME_SIZE_ERROR) and "padding at least as long as what remains"
/// (§6.1, §6.2, §6.6, PROTOCOL_ERROR) are connection errors: every frame that can be padded
/// carries either a field block or flow-controlled data.
fn strip_padding(
    fl: u8,
    mut payload: Bytes,
    fixed: usize,
    what: &'static str,
) -> Result<(Bytes, Option<u8>), Error> {
    let padded = fl & flags::PADDED != 0;
    let need = fixed + padded as usize;
    if payload.len() < need {
        return Err(conn(
            FRAME_SIZE,
            "frame too short for its mandatory fields (RFC 9113 §4.2)",
        ));
    }
    if !padded {
        return Ok((payload, None));
    }
    let pad = payload[0];
    payload.advance(1);
    if pad as usize > payload.len() - fixed {
        return Err(conn(PROTOCOL, what));
    }
    payload.truncate(payload.len() - pad as usize);
    Ok((payload, Some(pad)))
}

impl Headers {
    /// §5.3.1: "A stream cannot depend on itself" — a stream error the connection layer raises
    /// after decoding the field block.
    pub fn depends_on_itself(&self) -> bool {
        self.priority
            .is_some_and(|p| p.dependency == self.stream_id)
    }
}
