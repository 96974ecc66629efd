//! The last decoded head, kept to skip decoding it again.
//!
//! A peer that sends the same head over and over (a load generator's requests, a server's
//! responses for one resource) sends the same few bytes every time once its dynamic table
//! holds the fields: indexed fields (RFC 7541 §6.1) and, for values it chose not to index such
//! as `content-length`, literals without indexing (§6.2.2). Such a block leaves the decoder's
//! state unchanged, so decoding it again yields the same fields as long as that state is the
//! same, which [`Decoder::generation`](crate::hpack::Decoder::generation) identifies.
//! Validation (RFC 9113 §8) depends only on the fields: a block that passed once passes again.
//!
//! A block is remembered (its bytes only) the first time; its head is kept only when the same
//! block comes right back, so traffic that never repeats pays a comparison of a few bytes and
//! no extra copy. A hit copies the head (a `HeaderMap` clone: two allocations and a reference
//! count per value) instead of decoding, validating and hashing every field into a new map.

use crate::message::{Head, Kind, Meta};

/// Blocks longer than this are not kept. A repeated head is one or two bytes per indexed
/// field, so this covers real heads, and it bounds both the comparison and the memory kept.
const MAX_BLOCK: usize = 128;

pub(super) struct HeadMemo {
    kind: Option<Kind>,
    generation: u64,
    len: u8,
    block: [u8; MAX_BLOCK],
    /// The head (with its content-length and priority), once the block has been seen twice. Its values are
    /// compact copies: slices of the block would pin the whole read buffer behind it.
    head: Option<(Head, Meta)>,
}

impl Default for HeadMemo {
    fn default() -> Self {
        HeadMemo {
            kind: None,
            generation: 0,
            len: 0,
            block: [0; MAX_BLOCK],
            head: None,
        }
    }
}

/// What the memo knows about a block it has no head for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// The same block as last time, whose head was not kept yet.
    Repeat,
    New,
}

impl HeadMemo {
    /// The head `block` decodes to as the same kind in the same decoder generation, if kept
    /// (a response's without its header fields unless `fields`).
    pub(super) fn lookup(
        &self,
        kind: Kind,
        generation: u64,
        block: &[u8],
        fields: bool,
    ) -> Result<(Head, Meta), Seen> {
        let same = self.kind == Some(kind)
            && self.generation == generation
            && self.block[..self.len as usize] == *block;
        match &self.head {
            _ if !same => Err(Seen::New),
            Some((h, meta)) => Ok((h.duplicate(fields), *meta)),
            None => Err(Seen::Repeat),
        }
    }

    /// After a block that left the decoder's state unchanged was decoded (`seen` is what
    /// [`lookup`](Self::lookup) said before): remembers it, and on its repetition its head.
    pub(super) fn store(
        &mut self,
        seen: Seen,
        kind: Kind,
        generation: u64,
        block: &[u8],
        head: &Head,
        meta: Meta,
    ) {
        if block.len() > MAX_BLOCK {
            return;
        }
        match seen {
            Seen::Repeat => self.head = head.compacted().map(|h| (h, meta)),
            Seen::New => {
                self.kind = Some(kind);
                self.generation = generation;
                self.len = block.len() as u8;
                self.block[..block.len()].copy_from_slice(block);
                self.head = None;
            }
        }
    }
}
