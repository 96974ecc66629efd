//! A single-producer, single-consumer mailbox from the connection driver to one body.
//!
//! Why not `tokio::sync::mpsc`: its unbounded channel allocates a cache-padded shared state and
//! a 32-slot block up front, about 2 KB per body, which showed up as the largest per-request
//! cost of request bodies. A body receives a handful of messages at most (the stream window
//! bounds the data), so one small `Arc` with a `VecDeque` behind an uncontended mutex does the
//! job with two small allocations. The mutex is per stream, never shared across streams.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

struct State<T> {
    queue: VecDeque<T>,
    /// The sender is gone: after the queue drains, the receiver sees the end.
    closed: bool,
    receiver_gone: bool,
    waker: Option<Waker>,
}

type Shared<T> = Arc<Mutex<State<T>>>;

pub(crate) struct Sender<T>(Shared<T>);
pub(crate) struct Receiver<T>(Shared<T>);

pub(crate) fn mailbox<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        queue: VecDeque::new(),
        closed: false,
        receiver_gone: false,
        waker: None,
    }));
    (Sender(shared.clone()), Receiver(shared))
}

fn lock<T>(s: &Shared<T>) -> std::sync::MutexGuard<'_, State<T>> {
    // A panic while holding this lock cannot leave the queue inconsistent (every critical
    // section is a single push, pop or flag store), so a poisoned lock is still usable.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Sender<T> {
    /// Queues `msg`; gives it back if the receiver is gone.
    pub(crate) fn send(&self, msg: T) -> Result<(), T> {
        let mut s = lock(&self.0);
        if s.receiver_gone {
            return Err(msg);
        }
        s.queue.push_back(msg);
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.0);
        s.closed = true;
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = lock(&self.0);
        if let Some(msg) = s.queue.pop_front() {
            return Poll::Ready(Some(msg));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.0);
        s.receiver_gone = true;
        s.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn delivers_in_order_then_ends() {
        let (tx, mut rx) = mailbox();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(rx.poll_recv(&mut cx).is_pending());
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(2)));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn send_fails_once_the_receiver_is_gone() {
        let (tx, rx) = mailbox();
        drop(rx);
        assert_eq!(tx.send(7), Err(7));
    }
}
