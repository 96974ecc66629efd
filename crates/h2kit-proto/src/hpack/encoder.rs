//! The HPACK encoder (RFC 7541 §6, §7.1).

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderName, HeaderValue};

use super::{huffman, integer, static_table, Field, Pseudo, DEFAULT_TABLE_SIZE, ENTRY_OVERHEAD};

/// A field to encode, borrowed from wherever the caller keeps it.
#[derive(Clone, Copy, Debug)]
pub struct FieldRef<'a> {
    /// The name (lowercase for HTTP/2; a pseudo-header with its colon).
    pub name: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// Encode as a never-indexed literal (RFC 7541 §6.2.3, §7.1.3).
    pub sensitive: bool,
}

impl<'a> FieldRef<'a> {
    /// A field by name and value.
    pub fn new(name: &'a [u8], value: &'a [u8]) -> FieldRef<'a> {
        FieldRef {
            name,
            value,
            sensitive: false,
        }
    }

    /// A pseudo-header field.
    pub fn pseudo(p: Pseudo, value: &'a [u8]) -> FieldRef<'a> {
        FieldRef::new(p.as_str().as_bytes(), value)
    }

    /// A regular field; a value marked sensitive is never indexed.
    pub fn header(name: &'a HeaderName, value: &'a HeaderValue) -> FieldRef<'a> {
        FieldRef {
            name: name.as_str().as_bytes(),
            value: value.as_bytes(),
            sensitive: value.is_sensitive(),
        }
    }
}

impl<'a> From<&'a Field> for FieldRef<'a> {
    fn from(f: &'a Field) -> FieldRef<'a> {
        FieldRef {
            name: f.name(),
            value: f.value(),
            sensitive: f.is_sensitive(),
        }
    }
}

/// A dynamic table entry: name and value in one allocation.
#[derive(Debug)]
struct Entry {
    bytes: Bytes,
    name_len: usize,
    name_hash: u64,
    hash: u64,
}

impl Entry {
    fn name(&self) -> &[u8] {
        &self.bytes[..self.name_len]
    }
    fn value(&self) -> &[u8] {
        &self.bytes[self.name_len..]
    }
    fn size(&self) -> usize {
        self.bytes.len() + ENTRY_OVERHEAD
    }
}

/// Encodes header lists into field blocks, keeping the dynamic table between blocks.
///
/// Policy: exact matches become indexed fields; other fields are added to the table unless
/// they are sensitive or would take more than three quarters of it (such an entry would evict
/// everything useful for one use). `authorization`, `proxy-authorization`, short `cookie`
/// values (under 20 bytes: few enough guesses to brute-force, RFC 7541 §7.1.3) and any value
/// marked sensitive are sent as never-indexed literals. Strings are Huffman-coded unless that is
/// longer.
#[derive(Debug)]
pub struct Encoder {
    entries: VecDeque<Entry>,
    size: usize,
    /// The table size in force, as last signalled to the peer's decoder.
    max: usize,
    /// The most table we are willing to use, whatever the peer allows.
    preferred: usize,
    /// Size updates owed at the start of the next block: the smallest size in force since the
    /// last block, and the final one (RFC 7541 §4.2).
    pending: Option<(usize, usize)>,
    huffman: bool,
    /// Bumped whenever the table or the coding changes: equal generations and equal field
    /// lists encode to equal bytes.
    generation: u64,
    memo: Memo,
}

/// The last field list whose encoding left the encoder's state as it was (every field
/// indexed, or a literal not added to the table), and its encoding. A client repeating one
/// request head, or a server one response head, sends the same bytes every time once the
/// table holds its fields; comparing the list is cheaper than encoding it again (no static
/// table lookup, hashing or table scan per field).
#[derive(Debug, Default)]
struct Memo {
    /// `None` until a list is kept.
    generation: Option<u64>,
    /// Each field as its sensitivity, name length, name, value length, value.
    key: Vec<u8>,
    block: Vec<u8>,
}

/// Lists whose key is longer are not kept: it bounds the memory and the comparison.
const MEMO_MAX_KEY: usize = 512;

impl Memo {
    fn matches<'a>(&self, generation: u64, fields: impl Iterator<Item = FieldRef<'a>>) -> bool {
        if self.generation != Some(generation) {
            return false;
        }
        let mut rest = &self.key[..];
        for f in fields {
            let Some(r) = strip_field(rest, f) else {
                return false;
            };
            rest = r;
        }
        rest.is_empty()
    }

    fn keep<'a>(
        &mut self,
        generation: u64,
        fields: impl Iterator<Item = FieldRef<'a>>,
        block: &[u8],
    ) {
        self.generation = None;
        self.key.clear();
        for f in fields {
            if self.key.len() + f.name.len() + f.value.len() + 9 > MEMO_MAX_KEY {
                return;
            }
            self.key.push(f.sensitive as u8);
            self.key
                .extend_from_slice(&(f.name.len() as u32).to_le_bytes());
            self.key.extend_from_slice(f.name);
            self.key
                .extend_from_slice(&(f.value.len() as u32).to_le_bytes());
            self.key.extend_from_slice(f.value);
        }
        self.block.clear();
        self.block.extend_from_slice(block);
        self.generation = Some(generation);
    }
}

/// `key` without its first field if that field is `f`.
fn strip_field<'k>(key: &'k [u8], f: FieldRef<'_>) -> Option<&'k [u8]> {
    let (&sensitive, key) = key.split_first()?;
    let key = strip_bytes(key, f.name)?;
    let key = strip_bytes(key, f.value)?;
    (sensitive == f.sensitive as u8).then_some(key)
}

fn strip_bytes<'k>(key: &'k [u8], want: &[u8]) -> Option<&'k [u8]> {
    let (len, key) = key.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    (len == want.len() && key.get(..len)? == want).then(|| &key[len..])
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl Encoder {
    /// An encoder for a peer with the default SETTINGS_HEADER_TABLE_SIZE of 4,096.
    pub fn new() -> Encoder {
        Encoder {
            entries: VecDeque::new(),
            size: 0,
            max: DEFAULT_TABLE_SIZE,
            preferred: DEFAULT_TABLE_SIZE,
            pending: None,
            huffman: true,
            generation: 0,
            memo: Memo::default(),
        }
    }

    /// An encoder whose table size both sides already agree on, so no size update is sent
    /// first (the setting of RFC 7541 Appendix C.5/C.6, or a peer that advertised a smaller
    /// SETTINGS_HEADER_TABLE_SIZE before our first block: §4.2 requires no update for a size
    /// the decoder starts with).
    pub fn with_table_size(size: usize) -> Encoder {
        let preferred = size.max(DEFAULT_TABLE_SIZE);
        Encoder {
            max: size,
            preferred,
            ..Encoder::new()
        }
    }

    /// Turns Huffman coding of string literals on (the default) or off.
    pub fn set_huffman(&mut self, on: bool) {
        self.huffman = on;
        self.generation += 1;
    }

    /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE. We use `min(size, 4096)`; whenever that
    /// changes, the next block starts with the size updates RFC 7541 §4.2 requires — two of
    /// them when the size went down and back up in between, so the peer sees the low point.
    pub fn set_peer_max_table_size(&mut self, size: usize) {
        let new = size.min(self.preferred);
        let (low, _) = self.pending.unwrap_or((self.max, self.max));
        if new == self.max && low == self.max {
            return;
        }
        self.pending = Some((low.min(new), new));
    }

    /// The current dynamic table size (bytes, §4.1 accounting) and entry count.
    pub fn table_usage(&self) -> (usize, usize) {
        (self.size, self.entries.len())
    }

    /// Appends one complete field block for `fields` to `dst`.
    pub fn encode<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: IntoIterator<Item = FieldRef<'a>>,
    {
        if let Some((low, last)) = self.pending.take() {
            if low < last {
                integer::encode(low, 5, 0x20, dst);
                self.set_max(low);
            }
            integer::encode(last, 5, 0x20, dst);
            self.set_max(last);
        }
        for f in fields {
            self.encode_field(f, dst);
        }
    }

    /// [`encode`](Self::encode) for a list that may repeat: `fields` gives the list each time
    /// it is called. When the list is the last one whose encoding changed nothing, its bytes
    /// are copied instead of encoded again.
    pub fn encode_repeatable<'a, F, I>(&mut self, fields: F, dst: &mut BytesMut)
    where
        F: Fn() -> I,
        I: Iterator<Item = FieldRef<'a>>,
    {
        if self.pending.is_none() && self.memo.matches(self.generation, fields()) {
            dst.extend_from_slice(&self.memo.block);
            return;
        }
        let (generation, start) = (self.generation, dst.len());
        self.encode(fields(), dst);
        if self.generation == generation {
            self.memo.keep(generation, fields(), &dst[start..]);
        }
    }

    fn encode_field(&mut self, f: FieldRef<'_>, dst: &mut BytesMut) {
        let never = f.sensitive
            || f.name == b"authorization"
            || f.name == b"proxy-authorization"
            || (f.name == b"cookie" && f.value.len() < 20);
        let (static_exact, static_name) = static_table::find(f.name, f.value);
        if !never {
            if let Some(i) = static_exact {
                integer::encode(i, 7, 0x80, dst);
                return;
            }
        }
        let name_hash = hash(f.name);
        let full_hash = mix(name_hash, hash(f.value));
        let mut name_idx = static_name;
        for (i, e) in self.entries.iter().enumerate() {
            if e.name_hash != name_hash || e.name() != f.name {
                continue;
            }
            if !never && e.hash == full_hash && e.value() == f.value {
                integer::encode(62 + i, 7, 0x80, dst);
                return;
            }
            name_idx.get_or_insert(62 + i);
        }
        let size = f.name.len() + f.value.len() + ENTRY_OVERHEAD;
        let (prefix, pattern, index) = if never {
            (4, 0x10, false)
        } else if size > self.max * 3 / 4 {
            (4, 0x00, false)
        } else {
            (6, 0x40, true)
        };
        match name_idx {
            Some(i) => integer::encode(i, prefix, pattern, dst),
            None => {
                dst.put_u8(pattern);
                self.put_string(f.name, dst);
            }
        }
        self.put_string(f.value, dst);
        if index {
            self.insert(f.name, f.value, name_hash, full_hash);
        }
    }

    fn put_string(&self, s: &[u8], dst: &mut BytesMut) {
        if self.huffman {
            let hlen = huffman::encoded_len(s);
            // Ties go to Huffman, as in RFC 7541 Appendix C.6.2 (":status: 307").
            if hlen <= s.len() && !s.is_empty() {
                integer::encode(hlen, 7, 0x80, dst);
                huffman::encode(s, dst);
                return;
            }
        }
        integer::encode(s.len(), 7, 0x00, dst);
        dst.put_slice(s);
    }

    fn insert(&mut self, name: &[u8], value: &[u8], name_hash: u64, hash: u64) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        self.evict_to(self.max - size);
        let mut bytes = BytesMut::with_capacity(name.len() + value.len());
        bytes.put_slice(name);
        bytes.put_slice(value);
        self.size += size;
        self.generation += 1;
        self.entries.push_front(Entry {
            bytes: bytes.freeze(),
            name_len: name.len(),
            name_hash,
            hash,
        });
    }

    fn set_max(&mut self, max: usize) {
        self.max = max;
        self.generation += 1;
        self.evict_to(max);
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some(e) => self.size -= e.size(),
                None => break,
            }
        }
    }
}

/// A fast non-cryptographic hash (FxHash-style, 8 bytes per step) used only to skip table
/// entries that cannot match; equality is always confirmed on the bytes.
fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &x in chunks.remainder() {
        h = (h.rotate_left(5) ^ x as u64).wrapping_mul(K);
    }
    h
}

fn mix(a: u64, b: u64) -> u64 {
    (a.rotate_left(5) ^ b).wrapping_mul(0x517c_c1b7_2722_0a95)
}
