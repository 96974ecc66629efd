//! Integer representation with an N-bit prefix (RFC 7541 §5.1).

use bytes::{BufMut, BytesMut};

use super::DecodeError;

/// Appends `value` with an `prefix`-bit prefix; `first` carries the representation's pattern
/// bits above the prefix.
pub fn encode(value: usize, prefix: u8, first: u8, dst: &mut BytesMut) {
    let max = (1usize << prefix) - 1;
    if value < max {
        dst.put_u8(first | value as u8);
        return;
    }
    dst.put_u8(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        dst.put_u8(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    dst.put_u8(rest as u8);
}

/// Reads an integer with a `prefix`-bit prefix starting at `buf[*pos]`, advancing `pos`.
///
/// Values above 2^32-1 are rejected: nothing in HPACK needs more (string lengths and indices are
/// bounded by the block), and bounding the loop keeps hostile encodings cheap.
pub fn decode(buf: &[u8], pos: &mut usize, prefix: u8) -> Result<usize, DecodeError> {
    let max = (1usize << prefix) - 1;
    let Some(&b) = buf.get(*pos) else {
        return Err(DecodeError::Truncated);
    };
    *pos += 1;
    let mut value = (b as usize) & max;
    if value < max {
        return Ok(value);
    }
    let mut shift = 0u32;
    loop {
        let Some(&b) = buf.get(*pos) else {
            return Err(DecodeError::Truncated);
        };
        *pos += 1;
        value += ((b & 0x7f) as usize) << shift;
        if value > u32::MAX as usize {
            return Err(DecodeError::IntegerOverflow);
        }
        if b & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 28 {
            // More continuation bytes than a 32-bit value needs (e.g. endless 0x80 bytes).
            return Err(DecodeError::IntegerOverflow);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7541_c1_examples() {
        // C.1.1: 10 with a 5-bit prefix.
        let mut b = BytesMut::new();
        encode(10, 5, 0, &mut b);
        assert_eq!(&b[..], [0x0a]);
        // C.1.2: 1337 with a 5-bit prefix.
        b.clear();
        encode(1337, 5, 0, &mut b);
        assert_eq!(&b[..], [0x1f, 0x9a, 0x0a]);
        let mut pos = 0;
        assert_eq!(decode(&b, &mut pos, 5).unwrap(), 1337);
        assert_eq!(pos, 3);
        // C.1.3: 42 at an octet boundary.
        b.clear();
        encode(42, 8, 0, &mut b);
        assert_eq!(&b[..], [0x2a]);
    }

    #[test]
    fn overflow_and_truncation() {
        let mut pos = 0;
        assert_eq!(
            decode(&[0x1f, 0x80], &mut pos, 5),
            Err(DecodeError::Truncated)
        );
        let mut pos = 0;
        let endless = [0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        assert_eq!(
            decode(&endless, &mut pos, 5),
            Err(DecodeError::IntegerOverflow)
        );
        let mut pos = 0;
        let big = [0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(decode(&big, &mut pos, 5), Err(DecodeError::IntegerOverflow));
    }

    #[test]
    fn round_trip_boundaries() {
        for prefix in 1..=8u8 {
            for v in [
                0usize,
                1,
                30,
                31,
                127,
                128,
                254,
                255,
                256,
                16383,
                1 << 20,
                u32::MAX as usize,
            ] {
                let mut b = BytesMut::new();
                encode(v, prefix, 0, &mut b);
                let mut pos = 0;
                assert_eq!(decode(&b, &mut pos, prefix).unwrap(), v, "prefix {prefix}");
                assert_eq!(pos, b.len());
            }
        }
    }
}
