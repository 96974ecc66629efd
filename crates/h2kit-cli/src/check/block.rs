//! A case's payloads as octets: header blocks from the checker's HPACK encoder (with the
//! placeholders filled in) or written by hand, padding, zeros.

use bytes::BytesMut;
use h2kit::proto::hpack::FieldRef;

use super::case::Payload;
use super::wire::Wire;

/// An HPACK string length with a 7-bit prefix (RFC 7541 §5.1), Huffman bit clear.
fn integer(mut n: usize, out: &mut BytesMut) {
    if n < 127 {
        out.extend_from_slice(&[n as u8]);
        return;
    }
    out.extend_from_slice(&[127]);
    n -= 127;
    while n >= 128 {
        out.extend_from_slice(&[(n % 128) as u8 | 0x80]);
        n /= 128;
    }
    out.extend_from_slice(&[n as u8]);
}

/// A header block for `fields`, placeholders filled in.
fn encode(
    w: &mut Wire,
    fill: &dyn Fn(&str) -> String,
    fields: &[(&str, &str)],
    out: &mut BytesMut,
) {
    let values: Vec<String> = fields.iter().map(|(_, v)| fill(v)).collect();
    let refs = fields
        .iter()
        .zip(&values)
        .map(|((n, _), v)| FieldRef::new(n.as_bytes(), v.as_bytes()));
    w.encoder.encode(refs, out);
}

/// The octets of payload `p`: `fill` puts values into placeholders, `max_frame` is the
/// peer's SETTINGS_MAX_FRAME_SIZE.
pub fn payload(w: &mut Wire, fill: &dyn Fn(&str) -> String, max_frame: u32, p: Payload) -> Vec<u8> {
    let mut out = BytesMut::new();
    match p {
        Payload::Empty => {}
        Payload::Bytes(b) | Payload::Block(b) => out.extend_from_slice(b),
        Payload::OverMaxFrame => out.resize(max_frame as usize + 1, 0),
        Payload::Fields(f) => encode(w, fill, f, &mut out),
        Payload::PaddedFields(pad, f) => {
            out.extend_from_slice(&[pad]);
            encode(w, fill, f, &mut out);
            out.resize(out.len() + pad as usize, 0);
        }
        Payload::Prefixed(pre, f) => {
            out.extend_from_slice(pre);
            encode(w, fill, f, &mut out);
        }
        Payload::Suffixed(f, post) => {
            for (name, value) in f {
                let value = fill(value);
                // Literal without indexing, new name (RFC 7541 §6.2.2), no Huffman.
                out.extend_from_slice(&[0]);
                for s in [name.as_bytes(), value.as_bytes()] {
                    integer(s.len(), &mut out);
                    out.extend_from_slice(s);
                }
            }
            out.extend_from_slice(post);
        }
    }
    out.to_vec()
}
