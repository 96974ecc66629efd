//! What the connection task keeps per stream.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::body::BodyMsg;
use crate::error::StreamError;
use crate::sync::mailbox;

/// A chunk of body waiting for flow-control window, and who waits for it to be taken.
pub(crate) struct Pending {
    pub data: Bytes,
    pub end_stream: bool,
    pub ack: Option<oneshot::Sender<Result<(), StreamError>>>,
}

/// A stream's state in the task: where its received body goes, what it still has to send,
/// and the role's own part (`ext`).
#[derive(Default)]
pub(crate) struct StreamCtx<E> {
    pub ext: E,
    pub body: Option<mailbox::Sender<BodyMsg>>,
    /// Bytes handed to the body and not yet released by it.
    pub unreleased: usize,
    pub body_dropped: bool,
    /// The chunk being sent. The one after it, if its pump is a chunk ahead, waits in the
    /// task's `ahead` map: kept out of here, where every stream pays for its size (each
    /// request's context is moved into and out of the stream map).
    pub pending: Option<Pending>,
}

impl<E> StreamCtx<E> {
    /// The stream ended before its chunk went out: whoever waits for it learns why. (The
    /// chunk queued behind it is dropped: its pump waits for this one first.)
    pub(crate) fn fail_pending(&mut self, err: &StreamError) {
        if let Some(ack) = self.pending.take().and_then(|p| p.ack) {
            let _ = ack.send(Err(err.clone()));
        }
    }
}
