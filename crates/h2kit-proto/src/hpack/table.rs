//! The decoder's dynamic table (RFC 7541 §2.3.2, §4).

use std::collections::VecDeque;

use super::Field;

/// Entries newest first, so that dynamic index 62 is `entries[0]`.
#[derive(Debug, Default)]
pub(super) struct DynamicTable {
    entries: VecDeque<Field>,
    size: usize,
    max: usize,
}

impl DynamicTable {
    pub(super) fn new(max: usize) -> DynamicTable {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max,
        }
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    pub(super) fn max(&self) -> usize {
        self.max
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// `i` counts from 0 = newest.
    pub(super) fn get(&self, i: usize) -> Option<&Field> {
        self.entries.get(i)
    }

    /// §4.3: a new maximum evicts entries until the size fits.
    pub(super) fn set_max(&mut self, max: usize) {
        self.max = max;
        self.evict_to(max);
    }

    /// §4.4: evict until the new entry fits; an entry larger than the table empties it and is
    /// not added.
    pub(super) fn insert(&mut self, field: Field) {
        let size = field.size();
        if size > self.max {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max - size);
        self.size += size;
        self.entries.push_front(field);
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some(f) => self.size -= f.size(),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }
}
