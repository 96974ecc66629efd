//! Primitives the connection task and its callers share: the command queue and body
//! mailboxes ([`mailbox`]) and the one-shot reply slot of a request ([`reply`]).
//!
//! They know nothing of HTTP/2 or of the roles, and import nothing else of this crate: the
//! connection task, the server and the client all build on them. The only `unsafe` code of
//! the crate lives here (the reply slot), with its proof and its loom model tests.

pub(crate) mod mailbox;
pub(crate) mod reply;

use std::task::{Context, Waker};

/// Stores the task's waker in `slot`, unless the one there already wakes it.
pub(crate) fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        w => *w = Some(cx.waker().clone()),
    }
}

/// A waker that counts its wake-ups, for the tests of the primitives.
#[cfg(test)]
pub(crate) fn counting_waker() -> (std::sync::Arc<WakeCount>, Waker) {
    let count = std::sync::Arc::new(WakeCount(Default::default()));
    (count.clone(), Waker::from(count))
}

/// See [`counting_waker`].
#[cfg(test)]
pub(crate) struct WakeCount(pub std::sync::atomic::AtomicUsize);

#[cfg(test)]
impl std::task::Wake for WakeCount {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
