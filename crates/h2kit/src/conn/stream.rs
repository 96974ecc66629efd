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
    pub pending: Option<Pending>,
}
