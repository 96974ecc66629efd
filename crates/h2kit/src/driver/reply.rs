//! One request's reply slot, shared by its caller and the connection driver: first the
//! stream the request was opened on, then the response.
//!
//! Two oneshot channels did this before, one for each: two allocations per request, and a
//! wake-up of the caller when the stream opened, though most callers only need the stream to
//! cancel it or to judge a timeout — by then it has long been recorded. Here both live in one
//! allocation, and the opening wakes the caller only if it asked (`poll_opened`: a streamed
//! body, a write timeout).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use h2kit_proto::StreamId;

use crate::body::RecvBody;
use crate::Error;

pub(crate) type Response = Result<http::Response<RecvBody>, Error>;

/// Where and when a request was opened, and the frames received on its connection then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opened {
    pub stream: StreamId,
    pub frames: u64,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    opened: Option<Opened>,
    response: Option<Response>,
    waker: Option<Waker>,
    /// The caller waits for the opening too, not only for the response.
    wake_on_open: bool,
    sender_gone: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Set (under the lock) when the caller gives up; read without it by the driver before it
    /// opens a stream, which happens for every request.
    receiver_gone: AtomicBool,
}

type Slot = Arc<Shared>;

fn lock(slot: &Slot) -> MutexGuard<'_, State> {
    // A panic while holding this lock leaves plain data behind: nothing to repair.
    slot.state.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn channel() -> (ReplyTx, ReplyRx) {
    let slot = Slot::default();
    (
        ReplyTx {
            slot: slot.clone(),
            sent: false,
        },
        ReplyRx {
            slot,
            answered: false,
        },
    )
}

/// The driver's end.
pub(crate) struct ReplyTx {
    slot: Slot,
    /// Set by `send`, which also marks the sender gone: the drop then need not lock again.
    sent: bool,
}

impl ReplyTx {
    /// The request went out on `stream` `at` about this time.
    pub(crate) fn opened(&self, stream: StreamId, frames: u64, at: Instant) {
        let mut s = lock(&self.slot);
        s.opened = Some(Opened { stream, frames, at });
        if s.wake_on_open {
            if let Some(w) = s.waker.take() {
                drop(s);
                w.wake();
            }
        }
    }

    /// Whether the caller has given up (nobody will read the response).
    pub(crate) fn is_closed(&self) -> bool {
        self.slot.receiver_gone.load(Ordering::Acquire)
    }

    /// Hands over the response; `Err` if the caller has given up (the response is dropped).
    pub(crate) fn send(mut self, response: Response) -> Result<(), Closed> {
        let mut s = lock(&self.slot);
        s.sender_gone = true;
        self.sent = true;
        if self.slot.receiver_gone.load(Ordering::Relaxed) {
            drop(s);
            drop(response);
            return Err(Closed);
        }
        s.response = Some(response);
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl Drop for ReplyTx {
    fn drop(&mut self) {
        if self.sent {
            return;
        }
        let mut s = lock(&self.slot);
        s.sender_gone = true;
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The other end is gone: the driver's without an answer (its connection task ended), or
/// the caller's (it gave up on the request).
#[derive(Debug)]
pub(crate) struct Closed;

/// The caller's end.
pub(crate) struct ReplyRx {
    slot: Slot,
    /// The response was taken: the driver is done with the slot, so the drop need not
    /// lock it to say the caller is gone.
    answered: bool,
}

impl ReplyRx {
    pub(crate) fn opened(&self) -> Option<Opened> {
        lock(&self.slot).opened
    }

    /// Ready once the request is opened (`Some`) or will not be (`None`: the response or
    /// the closed channel says why).
    pub(crate) fn poll_opened(&self, cx: &mut Context<'_>) -> Poll<Option<Opened>> {
        let mut s = lock(&self.slot);
        if let Some(o) = s.opened {
            return Poll::Ready(Some(o));
        }
        if s.response.is_some() || s.sender_gone {
            return Poll::Ready(None);
        }
        s.wake_on_open = true;
        set_waker(&mut s, cx);
        Poll::Pending
    }

    pub(crate) fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Result<Response, Closed>> {
        let mut s = lock(&self.slot);
        if let Some(r) = s.response.take() {
            self.answered = true;
            return Poll::Ready(Ok(r));
        }
        if s.sender_gone {
            return Poll::Ready(Err(Closed));
        }
        s.wake_on_open = false;
        set_waker(&mut s, cx);
        Poll::Pending
    }
}

fn set_waker(s: &mut State, cx: &mut Context<'_>) {
    match &mut s.waker {
        Some(w) if w.will_wake(cx.waker()) => {}
        w => *w = Some(cx.waker().clone()),
    }
}

impl Drop for ReplyRx {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let mut s = lock(&self.slot);
        self.slot.receiver_gone.store(true, Ordering::Release);
        // A response nobody will read is dropped here, outside the driver.
        let response = s.response.take();
        drop(s);
        drop(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn cx_with(count: &Arc<Count>) -> Waker {
        Waker::from(count.clone())
    }

    #[test]
    fn opening_wakes_only_a_caller_that_waits_for_it() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = cx_with(&count);
        let mut cx = Context::from_waker(&waker);

        let (tx, mut rx) = channel();
        assert!(rx.poll_response(&mut cx).is_pending());
        tx.opened(StreamId(1), 7, Instant::now());
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "woken for the opening");
        assert_eq!(
            rx.opened().map(|o| (o.stream, o.frames)),
            Some((StreamId(1), 7))
        );
        assert!(tx.send(Err(Error::Unprocessed)).is_ok());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            rx.poll_response(&mut cx),
            Poll::Ready(Ok(Err(Error::Unprocessed)))
        ));

        let (tx, rx) = channel();
        assert!(rx.poll_opened(&mut cx).is_pending());
        tx.opened(StreamId(3), 0, Instant::now());
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            2,
            "not woken for the opening"
        );
        assert!(matches!(rx.poll_opened(&mut cx), Poll::Ready(Some(o)) if o.stream == StreamId(3)));
    }

    #[test]
    fn either_end_going_away_is_seen_by_the_other() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = cx_with(&count);
        let mut cx = Context::from_waker(&waker);

        let (tx, mut rx) = channel();
        assert!(rx.poll_response(&mut cx).is_pending());
        drop(tx);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            rx.poll_response(&mut cx),
            Poll::Ready(Err(Closed))
        ));
        assert!(matches!(rx.poll_opened(&mut cx), Poll::Ready(None)));

        let (tx, rx) = channel();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert!(tx.send(Err(Error::ConnectionClosed)).is_err());
    }
}
