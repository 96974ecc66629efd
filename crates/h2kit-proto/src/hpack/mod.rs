//! HPACK header compression (RFC 7541).
//!
//! [`Decoder`] turns field blocks into [`Field`]s — `http::HeaderName`/`HeaderValue` for
//! regular fields, pseudo-header fields separately — without copying the bytes of literals
//! that are not Huffman-coded. It enforces a maximum decoded header list size with the RFC 9113
//! §6.5.2 accounting *before* building anything past the limit. [`Encoder`] produces blocks,
//! with dynamic table size updates after the peer changes SETTINGS_HEADER_TABLE_SIZE and
//! never-indexed literals for sensitive fields.

mod decoder;
mod encoder;
pub mod huffman;
mod huffman_codes;
pub mod integer;
mod static_table;
mod table;

use std::fmt;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

pub use decoder::Decoder;
pub use encoder::{Encoder, FieldRef};
pub use huffman::HuffmanError;
pub use static_table::STATIC as STATIC_TABLE;

use crate::{Error, ErrorCode, StreamId};

/// The initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;
/// The per-entry overhead in table size and header list size accounting (RFC 7541 §4.1,
/// RFC 9113 §6.5.2).
pub const ENTRY_OVERHEAD: usize = 32;

/// The pseudo-header fields HTTP/2 defines (RFC 9113 §8.3, RFC 8441 §4 for `:protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pseudo {
    /// `:method`.
    Method,
    /// `:scheme`.
    Scheme,
    /// `:authority`.
    Authority,
    /// `:path`.
    Path,
    /// `:status`.
    Status,
    /// `:protocol` (RFC 8441).
    Protocol,
}

impl Pseudo {
    /// Its name, colon included.
    pub fn as_str(self) -> &'static str {
        match self {
            Pseudo::Method => ":method",
            Pseudo::Scheme => ":scheme",
            Pseudo::Authority => ":authority",
            Pseudo::Path => ":path",
            Pseudo::Status => ":status",
            Pseudo::Protocol => ":protocol",
        }
    }

    /// The pseudo-header with this name, colon included.
    pub fn from_bytes(name: &[u8]) -> Option<Pseudo> {
        Some(match name {
            b":method" => Pseudo::Method,
            b":scheme" => Pseudo::Scheme,
            b":authority" => Pseudo::Authority,
            b":path" => Pseudo::Path,
            b":status" => Pseudo::Status,
            b":protocol" => Pseudo::Protocol,
            _ => return None,
        })
    }
}

/// One decoded field.
#[derive(Clone, PartialEq, Eq)]
pub enum Field {
    /// A pseudo-header field (RFC 9113 §8.3).
    Pseudo(Pseudo, Bytes),
    /// A regular field. A never-indexed literal comes out with `HeaderValue::is_sensitive` set,
    /// so that a proxy re-encoding it keeps it never-indexed (RFC 7541 §6.2.3).
    Header(HeaderName, HeaderValue),
    /// A field HPACK carries but an HTTP/2 message cannot: a name with uppercase or invalid
    /// characters, an unknown pseudo-header, or a value with a forbidden byte. It is still
    /// decoded (and indexed) so the compression state stays in sync; the message that carries
    /// it is malformed (RFC 9113 §8.1.1, §8.2.1) and the stream layer rejects it.
    Invalid {
        /// The name as decoded.
        name: Bytes,
        /// The value as decoded.
        value: Bytes,
    },
}

impl Field {
    pub(crate) fn from_static(name: &'static str, value: &'static str) -> Field {
        match Pseudo::from_bytes(name.as_bytes()) {
            Some(p) => Field::Pseudo(p, Bytes::from_static(value.as_bytes())),
            None => Field::Header(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ),
        }
    }

    /// The field's name as bytes.
    pub fn name(&self) -> &[u8] {
        match self {
            Field::Pseudo(p, _) => p.as_str().as_bytes(),
            Field::Header(n, _) => n.as_str().as_bytes(),
            Field::Invalid { name, .. } => name,
        }
    }

    /// The field's value as bytes.
    pub fn value(&self) -> &[u8] {
        match self {
            Field::Pseudo(_, v) => v,
            Field::Header(_, v) => v.as_bytes(),
            Field::Invalid { value, .. } => value,
        }
    }

    /// Whether the field arrived as a never-indexed literal (tracked for regular fields).
    pub fn is_sensitive(&self) -> bool {
        matches!(self, Field::Header(_, v) if v.is_sensitive())
    }

    /// Name length + value length + 32 (RFC 7541 §4.1, RFC 9113 §6.5.2).
    pub fn size(&self) -> usize {
        self.name().len() + self.value().len() + ENTRY_OVERHEAD
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let tag = if matches!(self, Field::Invalid { .. }) {
            " (invalid)"
        } else {
            ""
        };
        write!(f, "{}: {}{}", s(self.name()), s(self.value()), tag)
    }
}

/// Why a field block could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ended inside a representation.
    Truncated,
    /// An integer above 2^32-1 or with too many continuation bytes (RFC 7541 §5.1).
    IntegerOverflow,
    /// Index 0, or an index past the end of the tables (RFC 7541 §2.3.3).
    InvalidIndex(usize),
    /// A malformed Huffman string (RFC 7541 §5.2).
    Huffman(HuffmanError),
    /// A dynamic table size update above the SETTINGS_HEADER_TABLE_SIZE we sent (RFC 7541 §4.2).
    SizeUpdateTooLarge {
        /// The size asked for.
        value: usize,
        /// The most we allow.
        max: usize,
    },
    /// A dynamic table size update after the first field of a block (RFC 7541 §4.2).
    SizeUpdateNotAtStart,
    /// We lowered SETTINGS_HEADER_TABLE_SIZE below the table's size and the next block did not
    /// begin with a size update that honours it (RFC 7541 §4.2).
    MissingSizeUpdate,
    /// The decoded header list exceeds our SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2).
    /// Decoding stopped building fields at the limit but went on reading the block, so the
    /// compression state is intact: this one is a stream-level problem, not a connection error.
    HeaderListTooLarge {
        /// Our limit.
        limit: usize,
    },
}

impl DecodeError {
    /// Whether the compression context is broken, i.e. a connection error of type
    /// COMPRESSION_ERROR (RFC 9113 §4.3). Only the header list limit leaves it intact.
    pub fn is_connection_error(&self) -> bool {
        !matches!(self, DecodeError::HeaderListTooLarge { .. })
    }

    /// The error in words.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated => "HPACK block truncated inside a representation",
            DecodeError::IntegerOverflow => "HPACK integer overflow (RFC 7541 §5.1)",
            DecodeError::InvalidIndex(_) => "HPACK index out of range (RFC 7541 §2.3.3)",
            DecodeError::Huffman(HuffmanError::Eos) => "HPACK Huffman string contains EOS",
            DecodeError::Huffman(HuffmanError::PaddingTooLong) => {
                "HPACK Huffman padding longer than 7 bits (RFC 7541 §5.2)"
            }
            DecodeError::Huffman(HuffmanError::PaddingNotOnes) => {
                "HPACK Huffman padding not all ones (RFC 7541 §5.2)"
            }
            DecodeError::SizeUpdateTooLarge { .. } => {
                "HPACK table size update above SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §4.2)"
            }
            DecodeError::SizeUpdateNotAtStart => {
                "HPACK table size update after a field (RFC 7541 §4.2)"
            }
            DecodeError::MissingSizeUpdate => {
                "HPACK table size update required after SETTINGS change (RFC 7541 §4.2)"
            }
            DecodeError::HeaderListTooLarge { .. } => {
                "header list larger than SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2)"
            }
        }
    }

    /// The protocol error this amounts to: COMPRESSION_ERROR on the connection, or for an
    /// oversized header list a stream error (the connection layer may answer 431 instead).
    pub fn to_error(&self, stream: StreamId) -> Error {
        if self.is_connection_error() {
            Error::connection(ErrorCode::COMPRESSION_ERROR, self.reason())
        } else {
            Error::stream(stream, ErrorCode::PROTOCOL_ERROR, self.reason())
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidIndex(i) => write!(f, "{} (index {i})", self.reason()),
            DecodeError::SizeUpdateTooLarge { value, max } => {
                write!(f, "{} ({value} > {max})", self.reason())
            }
            DecodeError::HeaderListTooLarge { limit } => {
                write!(f, "{} (limit {limit} bytes)", self.reason())
            }
            _ => f.write_str(self.reason()),
        }
    }
}

impl std::error::Error for DecodeError {}
