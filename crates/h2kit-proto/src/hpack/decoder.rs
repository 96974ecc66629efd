//! The HPACK decoder (RFC 7541 §3, §6).

use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue};

use super::table::DynamicTable;
use super::{huffman, integer, static_table, DecodeError, Field, Pseudo, DEFAULT_TABLE_SIZE};

/// Decodes field blocks, keeping the dynamic table between blocks of one connection.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// The SETTINGS_HEADER_TABLE_SIZE in force: the ceiling for size updates (RFC 7541 §4.2).
    limit: usize,
    /// Set when `limit` was lowered below the table's maximum: the next block must start with a
    /// size update no larger than this.
    required_update: Option<usize>,
    max_header_list_size: usize,
    /// Huffman output for the current block; fields are split off it, so one allocation serves
    /// many strings.
    scratch: BytesMut,
    /// Bumped whenever anything a block's decoding depends on changes: the table's entries or
    /// size, the size limits, an owed size update. Equal generations and equal bytes decode
    /// to equal fields, which lets the connection reuse the last decoded head.
    generation: u64,
    /// Whether the last block left the decoder's state as it was: no size update, no literal
    /// with incremental indexing (RFC 7541 §6.1, §6.2.2, §6.2.3 representations only).
    pure: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_TABLE_SIZE)
    }
}

/// What a literal representation does with the dynamic table (RFC 7541 §6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Indexing {
    Incremental,
    Without,
    Never,
}

impl Decoder {
    /// A decoder whose peer may use a dynamic table of up to `table_size` bytes. The header
    /// list size is unlimited until [`set_max_header_list_size`](Self::set_max_header_list_size).
    pub fn new(table_size: usize) -> Decoder {
        Decoder {
            table: DynamicTable::new(table_size),
            limit: table_size,
            required_update: None,
            max_header_list_size: usize::MAX,
            scratch: BytesMut::new(),
            generation: 0,
            pure: false,
        }
    }

    /// A decoder for an observer of a connection (a frame trace, a proxy): it starts with the
    /// protocol's default table, as both endpoints do, and accepts any table size update up to
    /// `max_table_size`, since it does not know what the receiver advertised.
    pub fn for_observer(max_table_size: usize) -> Decoder {
        Decoder {
            limit: max_table_size,
            ..Decoder::new(DEFAULT_TABLE_SIZE)
        }
    }

    /// Applies our SETTINGS_HEADER_TABLE_SIZE once the peer has acknowledged it. Lowering it
    /// below the table's current maximum obliges the peer's encoder to shrink the table at the
    /// start of its next block (RFC 7541 §4.2).
    pub fn set_max_table_size(&mut self, size: usize) {
        if size < self.table.max() {
            self.required_update = Some(self.required_update.map_or(size, |r| r.min(size)));
        }
        self.limit = size;
        self.generation += 1;
    }

    /// Our SETTINGS_MAX_HEADER_LIST_SIZE: the largest decoded list (RFC 9113 §6.5.2 accounting).
    pub fn set_max_header_list_size(&mut self, size: usize) {
        self.max_header_list_size = size;
        self.generation += 1;
    }

    /// Drops the Huffman scratch buffer (it is re-created on demand).
    pub fn shrink_to_fit(&mut self) {
        self.scratch = BytesMut::new();
    }

    /// Changes whenever the decoding of some block could change (see the field).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the last block decoded left the decoder's state untouched (indexed fields and
    /// literals without indexing only), so that decoding it again in the same
    /// [`generation`](Self::generation) gives the same fields and changes nothing.
    pub fn last_was_pure(&self) -> bool {
        self.pure
    }

    /// Current size of the dynamic table in bytes (§4.1 accounting) and its number of entries.
    pub fn table_usage(&self) -> (usize, usize) {
        (self.table.size(), self.table.len())
    }

    /// Decodes a whole field block, handing each field to `emit` in order.
    ///
    /// On `Err(HeaderListTooLarge)` the block was still read to its end, so the compression
    /// state is consistent and the connection can continue; the fields already emitted are the
    /// prefix that fitted. Any other error leaves the state undefined: a connection error.
    pub fn decode(
        &mut self,
        block: &Bytes,
        mut emit: impl FnMut(Field),
    ) -> Result<(), DecodeError> {
        let buf: &[u8] = block;
        let mut pos = 0;
        let mut list_size = 0usize;
        let mut over_limit = false;
        let mut at_start = true;
        self.pure = true;
        while pos < buf.len() {
            let b = buf[pos];
            if b & 0xe0 == 0x20 {
                // §6.3 dynamic table size update; §4.2 only at the start of a block.
                if !at_start {
                    return Err(DecodeError::SizeUpdateNotAtStart);
                }
                self.pure = false;
                self.generation += 1;
                let n = integer::decode(buf, &mut pos, 5)?;
                if n > self.limit {
                    return Err(DecodeError::SizeUpdateTooLarge {
                        value: n,
                        max: self.limit,
                    });
                }
                self.table.set_max(n);
                if self.required_update.is_some_and(|r| n <= r) {
                    self.required_update = None;
                }
                continue;
            }
            if self.required_update.is_some() {
                return Err(DecodeError::MissingSizeUpdate);
            }
            at_start = false;
            if b & 0x80 != 0 {
                // §6.1 indexed field.
                let idx = integer::decode(buf, &mut pos, 7)?;
                let field = self.lookup(idx)?;
                if admit(&mut list_size, field.size(), self.max_header_list_size) {
                    if !over_limit {
                        emit(field.clone());
                    }
                } else {
                    over_limit = true;
                }
                continue;
            }
            // §6.2 literal field: 01 incremental (6-bit index), 0001 never (4), 0000 without (4).
            let (prefix, indexing) = if b & 0x40 != 0 {
                (6, Indexing::Incremental)
            } else if b & 0x10 != 0 {
                (4, Indexing::Never)
            } else {
                (4, Indexing::Without)
            };
            let idx = integer::decode(buf, &mut pos, prefix)?;
            let name = if idx == 0 {
                Some(self.read_string(block, &mut pos)?)
            } else {
                self.lookup(idx)?;
                None
            };
            let name_len = match &name {
                Some(n) => n.len(),
                None => self.lookup(idx)?.name().len(),
            };
            // Past the limit a literal that is not indexed is only skipped: nothing is built.
            if over_limit && indexing != Indexing::Incremental {
                skip_string(buf, &mut pos)?;
                continue;
            }
            let value = self.read_string(block, &mut pos)?;
            let fits = admit(
                &mut list_size,
                name_len + value.len() + super::ENTRY_OVERHEAD,
                self.max_header_list_size,
            );
            over_limit |= !fits;
            if over_limit && indexing != Indexing::Incremental {
                continue;
            }
            let sensitive = indexing == Indexing::Never;
            // A table entry may live for the whole connection. Built from slices it would pin
            // the entire read buffer (raw literals) or Huffman scratch buffer it points into,
            // so entries get compact copies; fields that are only emitted stay zero-copy.
            let (name, value) = if indexing == Indexing::Incremental {
                (name.map(compact), compact(value))
            } else {
                (name, value)
            };
            let field = match name {
                Some(name) => field_from_literal(name, value, sensitive),
                None => field_with_value(self.lookup(idx)?, value, sensitive),
            };
            if indexing == Indexing::Incremental {
                self.table.insert(field.clone());
                self.pure = false;
                self.generation += 1;
            }
            if !over_limit {
                emit(field);
            }
        }
        if over_limit {
            return Err(DecodeError::HeaderListTooLarge {
                limit: self.max_header_list_size,
            });
        }
        Ok(())
    }

    /// Convenience for tests and tools: the fields of one block as a vector.
    pub fn decode_vec(&mut self, block: &Bytes) -> Result<Vec<Field>, DecodeError> {
        let mut out = Vec::new();
        self.decode(block, |f| out.push(f))?;
        Ok(out)
    }

    fn lookup(&self, idx: usize) -> Result<&Field, DecodeError> {
        match idx {
            0 => Err(DecodeError::InvalidIndex(0)),
            1..=61 => Ok(&static_table::fields()[idx - 1]),
            _ => self
                .table
                .get(idx - 62)
                .ok_or(DecodeError::InvalidIndex(idx)),
        }
    }

    /// Reads a string literal (§5.2): a slice of `block` when raw, Huffman-decoded otherwise.
    fn read_string(&mut self, block: &Bytes, pos: &mut usize) -> Result<Bytes, DecodeError> {
        let huff = block.get(*pos).is_some_and(|b| b & 0x80 != 0);
        let len = integer::decode(block, pos, 7)?;
        if len > block.len() - *pos {
            return Err(DecodeError::Truncated);
        }
        let raw = &block[*pos..*pos + len];
        let start = *pos;
        *pos += len;
        if !huff {
            return Ok(block.slice(start..start + len));
        }
        let need = huffman::max_decoded_len(len);
        if self.scratch.capacity() < need {
            // The previous buffer stays alive as long as fields split from it do.
            self.scratch = BytesMut::with_capacity(need.max(4096));
        }
        huffman::decode(raw, &mut self.scratch).map_err(DecodeError::Huffman)?;
        Ok(self.scratch.split().freeze())
    }
}

fn compact(b: Bytes) -> Bytes {
    Bytes::copy_from_slice(&b)
}

fn skip_string(buf: &[u8], pos: &mut usize) -> Result<(), DecodeError> {
    let len = integer::decode(buf, pos, 7)?;
    if len > buf.len() - *pos {
        return Err(DecodeError::Truncated);
    }
    *pos += len;
    Ok(())
}

/// RFC 9113 §6.5.2 accounting: adds `size` and says whether the list still fits.
fn admit(list_size: &mut usize, size: usize, max: usize) -> bool {
    *list_size = list_size.saturating_add(size);
    *list_size <= max
}

/// RFC 9113 §8.2.1: NUL, CR and LF are never valid in a field value.
fn forbidden_in_value(v: &[u8]) -> bool {
    v.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n')
}

fn pseudo_field(p: Pseudo, value: Bytes) -> Field {
    if forbidden_in_value(&value) {
        Field::Invalid {
            name: Bytes::from_static(p.as_str().as_bytes()),
            value,
        }
    } else {
        Field::Pseudo(p, value)
    }
}

fn header_field(name: HeaderName, value: Bytes, sensitive: bool) -> Field {
    match HeaderValue::from_maybe_shared(value.clone()) {
        Ok(mut v) => {
            v.set_sensitive(sensitive);
            Field::Header(name, v)
        }
        Err(_) => Field::Invalid {
            name: Bytes::copy_from_slice(name.as_str().as_bytes()),
            value,
        },
    }
}

fn field_from_literal(name: Bytes, value: Bytes, sensitive: bool) -> Field {
    if name.first() == Some(&b':') {
        return match Pseudo::from_bytes(&name) {
            Some(p) => pseudo_field(p, value),
            None => Field::Invalid { name, value },
        };
    }
    // `from_lowercase` rejects uppercase: RFC 9113 §8.2.1 makes such a field malformed.
    match HeaderName::from_lowercase(&name) {
        Ok(n) => header_field(n, value, sensitive),
        Err(_) => Field::Invalid { name, value },
    }
}

fn field_with_value(name_of: &Field, value: Bytes, sensitive: bool) -> Field {
    match name_of {
        Field::Pseudo(p, _) => pseudo_field(*p, value),
        Field::Header(n, _) => header_field(n.clone(), value, sensitive),
        Field::Invalid { name, .. } => Field::Invalid {
            name: name.clone(),
            value,
        },
    }
}
