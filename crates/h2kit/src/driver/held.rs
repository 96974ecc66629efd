//! Response heads held back while the rest of a turn's events are handed out.
//!
//! Servers often answer with a HEADERS frame and one DATA frame ending the stream, in the same
//! write. When that DATA is already queued behind the head, the engine hands it over with the
//! head (`Connection::take_whole_body`) and nothing is held. Otherwise (a body in several
//! frames, or one whose DATA has not been read yet) the head is held here: when the whole
//! body turns up among the turn's events, the caller still gets it complete: no channel for
//! the body, no command per chunk to return the window (it goes back at once), no second
//! wake-up. A head is never held past the turn.

use h2kit_proto::stream::StreamIdMap;
use h2kit_proto::StreamId;

use super::client::ResponseTx;

pub(crate) struct Held {
    head: HeldHead,
    tx: ResponseTx,
    pub chunks: crate::body::Chunks,
}

/// A held head is copied into the store and out again, and most heads a load sees have no
/// fields to keep (`keep_response_headers` off): for those the status and version are the
/// head, 4 bytes where an `http::Response` is 112.
enum HeldHead {
    Bare(http::StatusCode, http::Version),
    Full(Box<http::Response<()>>),
}

impl Held {
    pub fn new(res: http::Response<()>, tx: ResponseTx) -> Held {
        let head = if res.headers().is_empty() && res.extensions().is_empty() {
            HeldHead::Bare(res.status(), res.version())
        } else {
            HeldHead::Full(Box::new(res))
        };
        Held {
            head,
            tx,
            chunks: Default::default(),
        }
    }

    /// The response head as it was given to [`new`](Self::new), its caller and its body so
    /// far.
    pub fn into_parts(self) -> (http::Response<()>, ResponseTx, crate::body::Chunks) {
        let res = match self.head {
            HeldHead::Bare(status, version) => {
                let mut res = http::Response::new(());
                *res.status_mut() = status;
                *res.version_mut() = version;
                res
            }
            HeldHead::Full(res) => *res,
        };
        (res, self.tx, self.chunks)
    }
}

/// The turn's held heads, in arrival order, found by stream through a small index.
///
/// Why not a map of heads: a head is about 200 bytes, and a hash table scatters a turn's
/// hundreds of them over a table the size of the largest turn, a cold slot (and a 200-byte
/// copy in, another out) each. Here they go one after another into memory the last turn used,
/// and the map holds 4-byte positions.
#[derive(Default)]
pub(crate) struct HeldHeads {
    heads: Vec<Option<(StreamId, Held)>>,
    index: StreamIdMap<u32>,
}

impl HeldHeads {
    pub fn insert(&mut self, stream: StreamId, held: Held) {
        if let Some(old) = self.index.insert(stream, self.heads.len() as u32) {
            // One head per stream (the engine hands out one final response): not reached,
            // but a second must not leave the first findable by a stale position.
            self.heads[old as usize] = None;
        }
        self.heads.push(Some((stream, held)));
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn contains(&self, stream: StreamId) -> bool {
        self.index.contains_key(&stream)
    }

    pub fn get_mut(&mut self, stream: StreamId) -> Option<&mut Held> {
        let at = *self.index.get(&stream)?;
        self.heads[at as usize].as_mut().map(|(_, h)| h)
    }

    pub fn remove(&mut self, stream: StreamId) -> Option<Held> {
        let at = self.index.remove(&stream)?;
        let held = self.heads[at as usize].take().map(|(_, h)| h);
        if self.index.is_empty() {
            self.heads.clear();
        }
        held
    }

    /// Takes every head still held, oldest first, leaving the store empty (its memory kept
    /// for the next turn through [`restore`](Self::restore)).
    pub fn take_all(&mut self) -> Vec<Option<(StreamId, Held)>> {
        self.index.clear();
        std::mem::take(&mut self.heads)
    }

    /// Gives back the vector [`take_all`](Self::take_all) returned, once drained.
    pub fn restore(&mut self, mut heads: Vec<Option<(StreamId, Held)>>) {
        heads.clear();
        if self.heads.is_empty() && self.heads.capacity() < heads.capacity() {
            self.heads = heads;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held() -> Held {
        let (tx, _rx) = super::super::reply::channel();
        Held::new(http::Response::new(()), tx)
    }

    #[test]
    fn a_head_comes_back_as_it_was_held() {
        let (tx, _rx) = super::super::reply::channel();
        let mut bare = http::Response::new(());
        *bare.status_mut() = http::StatusCode::CREATED;
        *bare.version_mut() = http::Version::HTTP_2;
        let (r, _, _) = Held::new(bare, tx).into_parts();
        assert_eq!(r.status(), 201);
        assert_eq!(r.version(), http::Version::HTTP_2);
        assert!(r.headers().is_empty());
        let (tx, _rx) = super::super::reply::channel();
        let full = http::Response::builder()
            .status(404)
            .header("server", "x")
            .body(())
            .unwrap();
        let (r, _, _) = Held::new(full, tx).into_parts();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["server"], "x");
    }

    #[test]
    fn finds_removes_and_hands_out_the_rest_in_arrival_order() {
        let mut h = HeldHeads::default();
        for id in [7, 3, 5, 9] {
            h.insert(StreamId(id), held());
        }
        assert!(h.contains(StreamId(3)) && !h.contains(StreamId(11)));
        h.get_mut(StreamId(5))
            .unwrap()
            .chunks
            .push(bytes::Bytes::from_static(b"abc"));
        assert_eq!(h.remove(StreamId(5)).unwrap().chunks.len, 3);
        assert!(h.remove(StreamId(5)).is_none() && h.get_mut(StreamId(5)).is_none());
        let rest: Vec<u32> = h
            .take_all()
            .into_iter()
            .flatten()
            .map(|(s, _)| s.0)
            .collect();
        assert_eq!(rest, [7, 3, 9]);
        assert!(h.is_empty() && !h.contains(StreamId(7)));
    }

    #[test]
    fn the_last_removal_empties_the_store_for_the_next_turn() {
        let mut h = HeldHeads::default();
        h.insert(StreamId(1), held());
        h.insert(StreamId(3), held());
        h.remove(StreamId(3));
        h.remove(StreamId(1));
        assert!(h.is_empty());
        // Positions start again at 0: the new head is found, not a stale one.
        h.insert(StreamId(5), held());
        assert!(h.get_mut(StreamId(5)).is_some());
        assert_eq!(h.take_all().len(), 1);
    }
}
