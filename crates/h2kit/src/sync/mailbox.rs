//! A single-producer, single-consumer mailbox from the connection driver to one body, and
//! the many-producer queue of commands to a driver ([`queue`]).
//!
//! Why not `tokio::sync::mpsc`: its unbounded channel allocates a cache-padded shared state and
//! a 32-slot block up front, about 2 KB per body, which showed up as the largest per-request
//! cost of request bodies. A body receives a handful of messages at most (the stream window
//! bounds the data), so one small `Arc` with a `VecDeque` behind an uncontended mutex does the
//! job with two small allocations. The mutex is per stream, never shared across streams.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::register;

/// Both kinds share their state and their send; they differ in how they end.
struct State<T> {
    items: VecDeque<T>,
    waker: Option<Waker>,
    receiver_gone: bool,
    /// Mailbox only: the sender is gone; after the queue drains, the receiver sees the end.
    closed: bool,
}

type Shared<T> = Arc<Mutex<State<T>>>;

fn shared<T>() -> Shared<T> {
    Arc::new(Mutex::new(State {
        items: VecDeque::new(),
        waker: None,
        receiver_gone: false,
        closed: false,
    }))
}

fn lock<T>(s: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    // A panic while holding this lock cannot leave the queue inconsistent (every critical
    // section is a single push, pop or flag store), so a poisoned lock is still usable.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes the receiver, if it waits, after releasing the lock.
fn wake<T>(mut s: MutexGuard<'_, State<T>>) {
    let waker = s.waker.take();
    drop(s);
    if let Some(w) = waker {
        w.wake();
    }
}

/// Queues `msg`; gives it back if the receiver is gone.
fn send<T>(shared: &Mutex<State<T>>, msg: T) -> Result<(), T> {
    let mut s = lock(shared);
    if s.receiver_gone {
        return Err(msg);
    }
    s.items.push_back(msg);
    wake(s);
    Ok(())
}

pub(crate) struct Sender<T>(Shared<T>);
pub(crate) struct Receiver<T>(Shared<T>);

pub(crate) fn mailbox<T>() -> (Sender<T>, Receiver<T>) {
    let shared = shared();
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Sender<T> {
    /// Queues `msg`; gives it back if the receiver is gone.
    pub(crate) fn send(&self, msg: T) -> Result<(), T> {
        send(&self.0, msg)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.0);
        s.closed = true;
        wake(s);
    }
}

impl<T> Receiver<T> {
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = lock(&self.0);
        if let Some(msg) = s.items.pop_front() {
            return Poll::Ready(Some(msg));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        register(&mut s.waker, cx);
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.0);
        s.receiver_gone = true;
        s.items.clear();
    }
}

/// Many producers, one consumer: a connection driver's command queue.
///
/// Why not `tokio::sync::mpsc`: every request sends its driver a command, and the unbounded
/// channel spends five or six atomic operations per message (slot index, ready bits, permit,
/// receiver wake-up) plus a 32-slot block every 32 messages. Here a sender takes one
/// uncontended lock, and the driver takes everything queued in one lock per batch. The
/// driver's waker is stored only when it found the queue empty, so a burst of commands wakes
/// it once.
pub(crate) struct QueueTx<T>(Shared<T>);
pub(crate) struct QueueRx<T>(Shared<T>);

impl<T> Clone for QueueTx<T> {
    fn clone(&self) -> Self {
        QueueTx(self.0.clone())
    }
}

pub(crate) fn queue<T>() -> (QueueTx<T>, QueueRx<T>) {
    let shared = shared();
    (QueueTx(shared.clone()), QueueRx(shared))
}

impl<T> QueueTx<T> {
    /// Queues `msg`; gives it back if the receiver is gone.
    pub(crate) fn send(&self, msg: T) -> Result<(), T> {
        send(&self.0, msg)
    }
}

impl<T: Send + 'static> QueueTx<T> {
    /// A sender of `M` into this queue, whose item type it does not name (the queue takes
    /// `T::from(m)`): for a sender that serves queues of several item types. No allocation:
    /// it shares the queue's own.
    pub(crate) fn erase<M>(&self) -> ErasedTx<M>
    where
        T: From<M>,
    {
        ErasedTx(self.0.clone())
    }
}

/// See [`QueueTx::erase`].
pub(crate) struct ErasedTx<M>(Arc<dyn Enqueue<M>>);

impl<M> ErasedTx<M> {
    /// Queues `msg`; false if the receiver is gone.
    pub(crate) fn send(&self, msg: M) -> bool {
        self.0.enqueue(msg)
    }
}

trait Enqueue<M>: Send + Sync {
    fn enqueue(&self, msg: M) -> bool;
}

impl<T: From<M> + Send, M> Enqueue<M> for Mutex<State<T>> {
    fn enqueue(&self, msg: M) -> bool {
        send(self, T::from(msg)).is_ok()
    }
}

impl<T> QueueRx<T> {
    /// Moves everything queued to the end of `out`: Ready if there was something, else
    /// Pending with the task registered for the next message.
    pub(crate) fn poll_recv_all(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut VecDeque<T>,
    ) -> Poll<()> {
        let mut s = lock(&self.0);
        if s.items.is_empty() {
            register(&mut s.waker, cx);
            return Poll::Pending;
        }
        if out.is_empty() {
            // Swap buffers: the driver's emptied one becomes the queue's next, from its first
            // slot (`clear` resets the ring's head): otherwise the senders would write their
            // way round the whole ring, a cold slot each time, once it had grown.
            out.clear();
            std::mem::swap(&mut s.items, out);
        } else {
            out.append(&mut s.items);
        }
        Poll::Ready(())
    }
}

impl<T> Drop for QueueRx<T> {
    fn drop(&mut self) {
        let items = {
            let mut s = lock(&self.0);
            s.receiver_gone = true;
            std::mem::take(&mut s.items)
        };
        // Dropped outside the lock: a message may own something whose drop sends again.
        drop(items);
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
    fn queue_hands_over_batches_and_wakes_once() {
        use std::sync::atomic::Ordering;
        let (count, waker) = crate::sync::counting_waker();
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = queue();
        let tx2 = tx.clone();
        let mut out = VecDeque::new();
        assert!(rx.poll_recv_all(&mut cx, &mut out).is_pending());
        tx.send(1).unwrap();
        tx2.send(2).unwrap();
        tx.send(3).unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "one wake-up for a burst");
        assert!(rx.poll_recv_all(&mut cx, &mut out).is_ready());
        assert_eq!(out, [1, 2, 3]);
        tx.send(4).unwrap();
        assert!(rx.poll_recv_all(&mut cx, &mut out).is_ready());
        assert_eq!(out, [1, 2, 3, 4], "appended behind what was not taken yet");
        drop(rx);
        assert_eq!(tx2.send(5), Err(5));
    }

    #[test]
    fn send_fails_once_the_receiver_is_gone() {
        let (tx, rx) = mailbox();
        drop(rx);
        assert_eq!(tx.send(7), Err(7));
    }
}
