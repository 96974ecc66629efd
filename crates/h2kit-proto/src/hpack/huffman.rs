//! Huffman coding of string literals (RFC 7541 §5.2, Appendix B).
//!
//! Decoding runs a finite-state machine over 4-bit nibbles, in the style of nghttp2: each of
//! the 256 states is an internal node of the code tree, and one table lookup per nibble yields
//! the next state and at most one decoded symbol (no code is shorter than 5 bits, so a nibble
//! can finish at most one). The table is built at compile time from the code list in
//! `huffman_codes.rs`, which is generated from the RFC text; it takes 256×16×4 = 16 KiB and
//! stays in L1 cache.

use bytes::{BufMut, BytesMut};

use super::huffman_codes::CODES;

const LEAF: u16 = 0x8000;
const EOS: u16 = 256;

/// The decoded symbol is valid.
const EMIT: u8 = 0x1;
/// The nibble completes the EOS code, which must never appear in a string (§5.2).
const FAIL: u8 = 0x2;
/// Ending the string in this state is valid: the pending bits are a prefix of EOS (all ones)
/// at most 7 bits long (§5.2).
const ACCEPT: u8 = 0x4;
/// The pending bits are all ones (distinguishes the two padding errors in messages).
const ONES: u8 = 0x8;

#[derive(Clone, Copy)]
struct Step {
    state: u8,
    sym: u8,
    flags: u8,
}

struct Tree {
    children: [[u16; 2]; 256],
    /// ACCEPT/ONES flags of each internal node.
    end_flags: [u8; 256],
}

const fn build_tree() -> Tree {
    let mut children = [[0u16; 2]; 256];
    let mut depth = [0u8; 256];
    let mut ones = [false; 256];
    ones[0] = true;
    let mut nodes = 1usize;
    let mut sym = 0;
    while sym < 257 {
        let (code, len) = CODES[sym];
        let mut node = 0usize;
        let mut i = len;
        while i > 1 {
            i -= 1;
            let bit = ((code >> i) & 1) as usize;
            if children[node][bit] == 0 {
                children[node][bit] = nodes as u16;
                depth[nodes] = depth[node] + 1;
                ones[nodes] = ones[node] && bit == 1;
                nodes += 1;
            }
            node = children[node][bit] as usize;
        }
        children[node][(code & 1) as usize] = LEAF | sym as u16;
        sym += 1;
    }
    // 257 leaves of a full binary tree hang from exactly 256 internal nodes.
    assert!(nodes == 256);
    let mut end_flags = [0u8; 256];
    let mut n = 0;
    while n < 256 {
        if ones[n] {
            end_flags[n] |= ONES;
            if depth[n] <= 7 {
                end_flags[n] |= ACCEPT;
            }
        }
        n += 1;
    }
    Tree {
        children,
        end_flags,
    }
}

const fn build_fsm() -> [[Step; 16]; 256] {
    let tree = build_tree();
    let mut fsm = [[Step {
        state: 0,
        sym: 0,
        flags: 0,
    }; 16]; 256];
    let mut s = 0;
    while s < 256 {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = s;
            let mut flags = 0u8;
            let mut sym = 0u8;
            let mut k = 4;
            while k > 0 {
                k -= 1;
                let child = tree.children[node][(nibble >> k) & 1];
                if child & LEAF != 0 {
                    if child & !LEAF == EOS {
                        flags |= FAIL;
                        break;
                    }
                    flags |= EMIT;
                    sym = (child & 0xff) as u8;
                    node = 0;
                } else {
                    node = child as usize;
                }
            }
            flags |= tree.end_flags[node];
            fsm[s][nibble] = Step {
                state: node as u8,
                sym,
                flags,
            };
            nibble += 1;
        }
        s += 1;
    }
    fsm
}

static FSM: [[Step; 16]; 256] = build_fsm();

/// Why a Huffman-coded string was rejected (RFC 7541 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuffmanError {
    /// The string contains the EOS symbol.
    Eos,
    /// The padding is longer than 7 bits.
    PaddingTooLong,
    /// The padding does not consist of the most significant bits of EOS (all ones).
    PaddingNotOnes,
}

/// Upper bound of the decoded length: no code is shorter than 5 bits.
pub fn max_decoded_len(encoded_len: usize) -> usize {
    encoded_len * 8 / 5
}

/// Decodes `src`, appending the result to `dst`.
///
/// The hot loop is branch-free: every nibble writes its symbol slot into a stack buffer and
/// advances by 0 or 1, and the FAIL flag is accumulated and checked once at the end (after an
/// EOS the output is garbage, but it is discarded with the error). The buffer is flushed to
/// `dst` in large copies instead of one `put_u8` per symbol.
pub fn decode(src: &[u8], dst: &mut BytesMut) -> Result<(), HuffmanError> {
    const CHUNK: usize = 256;
    dst.reserve(max_decoded_len(src.len()));
    let mut out = [0u8; CHUNK + 2];
    let mut n = 0usize;
    let mut state = 0usize;
    let mut flags = ACCEPT | ONES;
    let mut failed = 0u8;
    for &b in src {
        let hi = FSM[state][(b >> 4) as usize];
        out[n] = hi.sym;
        n += (hi.flags & EMIT) as usize;
        let lo = FSM[hi.state as usize][(b & 0xf) as usize];
        out[n] = lo.sym;
        n += (lo.flags & EMIT) as usize;
        failed |= hi.flags | lo.flags;
        state = lo.state as usize;
        flags = lo.flags;
        if n >= CHUNK {
            dst.put_slice(&out[..n]);
            n = 0;
        }
    }
    if failed & FAIL != 0 {
        return Err(HuffmanError::Eos);
    }
    dst.put_slice(&out[..n]);
    if flags & ACCEPT != 0 {
        Ok(())
    } else if flags & ONES != 0 {
        Err(HuffmanError::PaddingTooLong)
    } else {
        Err(HuffmanError::PaddingNotOnes)
    }
}

/// The length of the Huffman encoding of `src` in bytes.
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| CODES[b as usize].1 as usize).sum();
    bits.div_ceil(8)
}

/// Appends the Huffman encoding of `src` to `dst`, padded with the high bits of EOS.
pub fn encode(src: &[u8], dst: &mut BytesMut) {
    dst.reserve(encoded_len(src));
    // Up to 7 pending bits plus one code of at most 30 bits fit in 64.
    let mut acc: u64 = 0;
    let mut n: u32 = 0;
    for &b in src {
        let (code, len) = CODES[b as usize];
        acc = (acc << len) | code as u64;
        n += len as u32;
        while n >= 8 {
            n -= 8;
            dst.put_u8((acc >> n) as u8);
        }
    }
    if n > 0 {
        dst.put_u8(((acc << (8 - n)) as u8) | (0xff >> n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> Vec<u8> {
        let mut b = BytesMut::new();
        encode(s, &mut b);
        b.to_vec()
    }

    fn dec(s: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut b = BytesMut::new();
        decode(s, &mut b).map(|_| b.to_vec())
    }

    #[test]
    fn every_symbol_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        let e = enc(&all);
        assert_eq!(e.len(), encoded_len(&all));
        assert_eq!(dec(&e).unwrap(), all);
    }

    #[test]
    fn rfc7541_c4_1_www_example_com() {
        let e = enc(b"www.example.com");
        assert_eq!(hex(&e), "f1e3c2e5f23a6ba0ab90f4ff");
        assert_eq!(dec(&e).unwrap(), b"www.example.com");
    }

    #[test]
    fn eos_in_string_is_rejected() {
        // EOS is 30 one-bits; 32 one-bits contain it (RFC 7541 §5.2).
        assert_eq!(dec(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
    }

    #[test]
    fn padding_longer_than_7_bits_is_rejected() {
        // '0' is 00000; then 11 one-bits of padding.
        assert_eq!(dec(&[0x07, 0xff]), Err(HuffmanError::PaddingTooLong));
        // A whole byte of ones and nothing else: 8 bits of padding.
        assert_eq!(dec(&[0xff]), Err(HuffmanError::PaddingTooLong));
    }

    #[test]
    fn padding_not_all_ones_is_rejected() {
        // '0' (00000) followed by padding 110 instead of 111.
        assert_eq!(dec(&[0x06]), Err(HuffmanError::PaddingNotOnes));
    }

    #[test]
    fn empty_string() {
        assert_eq!(dec(&[]).unwrap(), b"");
        assert!(enc(b"").is_empty());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
