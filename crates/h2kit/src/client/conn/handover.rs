//! How a response reaches its caller: whole when it can be, streaming otherwise. This is
//! the one place that decides.
//!
//! Servers often answer with a HEADERS frame and one DATA frame ending the stream, in the same
//! write. When that DATA is already queued behind the head, the engine hands it over with the
//! head (`Connection::take_whole_body`) and nothing is held. Otherwise (a body in several
//! frames, or one whose DATA has not been read yet) the head is held here: when the whole
//! body turns up among the turn's events, the caller still gets it complete: no channel for
//! the body, no command per chunk to return the window (it goes back at once), no second
//! wake-up. A head is never held past the turn: then it goes out with a streaming body.

use bytes::Bytes;
use h2kit_proto::stream::StreamIdMap;
use h2kit_proto::StreamId;

use super::{Client, ResponseTx};
use crate::conn::body::{BodyMsg, Chunks, RecvBody};
use crate::conn::Io;

/// A final response head: true if the caller has it all (it ended the stream, or its body
/// came with it).
pub(super) fn on_response<T: Io>(
    d: &mut Client<T>,
    stream: StreamId,
    res: http::Response<()>,
    end: bool,
) -> bool {
    // Informational responses (1xx) are not the response.
    if res.status().is_informational() {
        return end;
    }
    let Some(tx) = d.role.waiting.remove(&stream) else {
        return end;
    };
    if end {
        deliver(d, stream, res, tx, RecvBody::empty());
        return true;
    }
    // One DATA frame right behind the head, handed over with it by the engine.
    if let Some(data) = d.conn.take_whole_body(stream) {
        d.conn.release_capacity(stream, data.len());
        let mut chunks = Chunks::default();
        chunks.push(data);
        deliver(d, stream, res, tx, RecvBody::buffered(chunks, None));
        return true;
    }
    // Held until this turn's events are handed out: if the rest of the body is among them,
    // it goes with the head.
    d.role.held.insert(stream, Held::new(res, tx));
    false
}

/// DATA: kept with its held head (given back if the head is not held); the last chunk
/// completes the body, which then goes to the caller whole.
pub(super) fn on_data<T: Io>(
    d: &mut Client<T>,
    stream: StreamId,
    data: Bytes,
    end: bool,
) -> Option<Bytes> {
    let Some(held) = d.role.held.get_mut(stream) else {
        return Some(data);
    };
    if !data.is_empty() {
        held.chunks.push(data);
    }
    if end {
        if let Some(held) = d.role.held.remove(stream) {
            d.conn.release_capacity(stream, held.chunks.len);
            let (res, tx, chunks) = held.into_parts();
            deliver(d, stream, res, tx, RecvBody::buffered(chunks, None));
        }
    }
    None
}

/// Whether response heads are held for bodies still to come.
pub(super) fn holds_heads<T: Io>(d: &Client<T>) -> bool {
    !d.role.held.is_empty()
}

pub(super) fn deliver<T: Io>(
    d: &mut Client<T>,
    stream: StreamId,
    res: http::Response<()>,
    tx: ResponseTx,
    body: RecvBody,
) {
    if tx.send(Ok(res.map(|()| body))).is_err() {
        // The caller gave up: the response is not wanted (cancel sends nothing if the stream
        // is already closed).
        d.conn.cancel(stream);
        d.remove_stream(stream);
    }
}

/// Hands out a held head with a streaming body (its chunks so far first): its body did not
/// end in this turn's events, or something other than DATA came for its stream.
pub(super) fn release_held<T: Io>(d: &mut Client<T>, stream: StreamId) {
    if let Some(held) = d.role.held.remove(stream) {
        release(d, stream, held);
    }
}

fn release<T: Io>(d: &mut Client<T>, stream: StreamId, held: Held) {
    let (res, tx, chunks) = held.into_parts();
    let (btx, brx) = crate::sync::mailbox::mailbox();
    let mut unreleased = 0;
    for chunk in chunks {
        unreleased += chunk.len();
        let _ = btx.send(BodyMsg::Data(chunk));
    }
    // From the engine, which has it even when the fields were not kept.
    let len = d.conn.declared_length(stream);
    let commands = d.sender().erase();
    // A request that was complete in its HEADERS has no context yet (see `open_stream`).
    let ctx = d.streams.entry(stream).or_default();
    ctx.body = Some(btx);
    ctx.unreleased += unreleased;
    let body = RecvBody::new(stream, brx, commands, len).with_idle_timeout(d.role.body_idle);
    deliver(d, stream, res, tx, body);
}

/// Hands out every held head: the turn's events are all handed out.
pub(super) fn release_all_held<T: Io>(d: &mut Client<T>) {
    if d.role.held.is_empty() {
        return;
    }
    let mut heads = d.role.held.take_all();
    for (stream, held) in heads.drain(..).flatten() {
        release(d, stream, held);
    }
    d.role.held.restore(heads);
}

pub(crate) struct Held {
    head: HeldHead,
    tx: ResponseTx,
    pub chunks: Chunks,
}

/// A held head is copied into the store and out again, and most heads a load sees have no
/// fields to keep (`keep_response_headers` off): for those the status and version are the
/// head, 4 bytes where an `http::Response` is 112.
enum HeldHead {
    Bare(http::StatusCode, http::Version),
    Full(Box<http::Response<()>>),
}

impl Held {
    pub(super) fn new(res: http::Response<()>, tx: ResponseTx) -> Held {
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
    pub(super) fn into_parts(self) -> (http::Response<()>, ResponseTx, Chunks) {
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
    pub(super) fn insert(&mut self, stream: StreamId, held: Held) {
        if let Some(old) = self.index.insert(stream, self.heads.len() as u32) {
            // One head per stream (the engine hands out one final response): not reached,
            // but a second must not leave the first findable by a stale position.
            self.heads[old as usize] = None;
        }
        self.heads.push(Some((stream, held)));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    #[cfg(test)]
    fn contains(&self, stream: StreamId) -> bool {
        self.index.contains_key(&stream)
    }

    pub(super) fn get_mut(&mut self, stream: StreamId) -> Option<&mut Held> {
        let at = *self.index.get(&stream)?;
        self.heads[at as usize].as_mut().map(|(_, h)| h)
    }

    pub(super) fn remove(&mut self, stream: StreamId) -> Option<Held> {
        let at = self.index.remove(&stream)?;
        let held = self.heads[at as usize].take().map(|(_, h)| h);
        if self.index.is_empty() {
            self.heads.clear();
        }
        held
    }

    /// Takes every head still held, oldest first, leaving the store empty (its memory kept
    /// for the next turn through [`restore`](Self::restore)).
    pub(super) fn take_all(&mut self) -> Vec<Option<(StreamId, Held)>> {
        self.index.clear();
        std::mem::take(&mut self.heads)
    }

    /// Gives back the vector [`take_all`](Self::take_all) returned, once drained.
    pub(super) fn restore(&mut self, mut heads: Vec<Option<(StreamId, Held)>>) {
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
        let (tx, _rx) = super::super::reply_channel();
        Held::new(http::Response::new(()), tx)
    }

    #[test]
    fn a_head_comes_back_as_it_was_held() {
        let (tx, _rx) = super::super::reply_channel();
        let mut bare = http::Response::new(());
        *bare.status_mut() = http::StatusCode::CREATED;
        *bare.version_mut() = http::Version::HTTP_2;
        let (r, _, _) = Held::new(bare, tx).into_parts();
        assert_eq!(r.status(), 201);
        assert_eq!(r.version(), http::Version::HTTP_2);
        assert!(r.headers().is_empty());
        let (tx, _rx) = super::super::reply_channel();
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
