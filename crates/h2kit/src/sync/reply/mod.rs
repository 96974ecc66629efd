//! One request's reply slot, shared by its caller and the connection driver: first the
//! stream the request was opened on, then the response (any [`Reply`] type: the slot knows
//! nothing of HTTP).
//!
//! Why not two oneshot channels: that is two allocations per request, and a wake-up of the
//! caller when the stream opens, though most callers only need the stream to cancel it or to
//! judge a timeout — by then it has long been recorded. Here both live in one allocation, and
//! the opening wakes the caller only if it asked (`poll_opened`: a streamed body, a write
//! timeout).
//!
//! Every request passes through a slot, between two tasks, so its cost is paid per request.
//! A mutex and an `Arc` cost twelve atomic read-modify-write operations per request
//! (measured); this slot costs five, and frees itself without an `Arc`. That takes `unsafe`,
//! with the protocol below as its proof; the loom model tests (`tests.rs`) check it
//! exhaustively (`RUSTFLAGS="--cfg h2kit_loom" cargo test -p h2kit --lib reply`).
//!
//! # Protocol
//!
//! One atomic `state` guards four cells. Who may touch a cell follows from the state:
//!
//! - `opened` is written by the driver (once, at most), before it sets `OPENED`; the caller
//!   reads it only after it has seen `OPENED`. It is never written again.
//! - `response` is written by the driver before it sets `COMPLETE`; from then on the driver
//!   leaves it alone (unless the caller is gone, see below). The caller takes it only after it
//!   has seen `COMPLETE`.
//! - `waker` (the caller waits for the response) and `open_waker` (it waits for the opening):
//!   the caller writes one only while its bit (`WAKER`, `OPEN_WAKER`) is clear and the event it
//!   waits for has not happened (`COMPLETE`; `OPENED` or `COMPLETE`), then sets the bit. The
//!   driver touches a waker only after claiming it: one atomic operation that clears the bit
//!   and sets the event, so the caller will not write it again. A caller that wants to change
//!   a registered waker first clears the bit itself, with a compare-and-swap that fails if the
//!   event has happened (then the driver may own it).
//! - The slot is freed by the end that sets the second of `TX_GONE` and `RX_GONE`: the other
//!   end has left for good. All operations are acquire-release, so everything the other end
//!   did happens before the free.

#[cfg(h2kit_loom)]
use loom::{cell::UnsafeCell, sync::atomic::AtomicU8};
use std::ptr::NonNull;
#[cfg(not(h2kit_loom))]
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::task::{Context, Poll, Waker};
use std::thread::LocalKey;

use super::register;
use std::time::Instant;

use h2kit_proto::StreamId;

/// What a reply slot carries, with the per-thread store its slots and boxes are recycled
/// through (declare one with `reply_spares!`).
pub(crate) trait Reply: Send + Sized + 'static {
    fn spares() -> &'static LocalKey<std::cell::RefCell<Spares<Self>>>;
}

/// Implements [`Reply`] for a type, with a thread-local store of its own.
macro_rules! reply_spares {
    ($t:ty) => {
        impl crate::sync::reply::Reply for $t {
            fn spares() -> &'static ::std::thread::LocalKey<
                ::std::cell::RefCell<crate::sync::reply::Spares<$t>>,
            > {
                ::std::thread_local! {
                    static SPARES: ::std::cell::RefCell<crate::sync::reply::Spares<$t>> = const {
                        ::std::cell::RefCell::new(crate::sync::reply::Spares::new())
                    };
                }
                &SPARES
            }
        }
    };
}
pub(crate) use reply_spares;

/// Where and when a request was opened, and the frames received on its connection then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opened {
    pub stream: StreamId,
    pub frames: u64,
    pub at: Instant,
}

/// `opened` is written.
const OPENED: u8 = 1;
/// `response` is written, or the driver's end is gone without one.
const COMPLETE: u8 = 2;
/// `waker` is registered: the caller waits for the response.
const WAKER: u8 = 4;
/// `open_waker` is registered: the caller waits for the opening.
const OPEN_WAKER: u8 = 8;
const TX_GONE: u8 = 16;
const RX_GONE: u8 = 32;

/// `std::cell::UnsafeCell` with loom's interface, so that one body of code serves both.
#[cfg(not(h2kit_loom))]
struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(h2kit_loom))]
impl<T> UnsafeCell<T> {
    fn new(v: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(v))
    }

    fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

struct Inner<T> {
    state: AtomicU8,
    opened: UnsafeCell<Option<Opened>>,
    /// Boxed: the slot was allocated when the request was sent, a round of all the requests
    /// in flight ago, and is cold by now; a box just used for another response is warm, and
    /// the slot stays small (see `ResponseBox`).
    response: UnsafeCell<Option<ResponseBox<T>>>,
    waker: UnsafeCell<Option<Waker>>,
    open_waker: UnsafeCell<Option<Waker>>,
    /// Loom builds: set instead of freeing, so that a use after free fails the model.
    #[cfg(h2kit_loom)]
    freed: std::sync::atomic::AtomicBool,
}

impl<T> Inner<T> {
    fn new() -> Inner<T> {
        Inner {
            state: AtomicU8::new(0),
            opened: UnsafeCell::new(None),
            response: UnsafeCell::new(None),
            waker: UnsafeCell::new(None),
            open_waker: UnsafeCell::new(None),
            #[cfg(h2kit_loom)]
            freed: Default::default(),
        }
    }

    /// Every cell access goes through here; in loom builds it checks the slot is not freed.
    #[inline(always)]
    fn cells(&self) -> &Self {
        #[cfg(h2kit_loom)]
        assert!(
            !self.freed.load(std::sync::atomic::Ordering::SeqCst),
            "reply slot used after it was freed"
        );
        self
    }
}

#[cfg(h2kit_loom)]
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub(crate) fn channel<T: Reply>() -> (ReplyTx<T>, ReplyRx<T>) {
    #[cfg(h2kit_loom)]
    LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let slot = take_spare::<T, _>(|s| &mut s.slots).unwrap_or_else(|| Box::new(Inner::new()));
    let inner = NonNull::from(Box::leak(slot));
    (
        ReplyTx {
            inner,
            opened: false,
            done: false,
        },
        ReplyRx { inner },
    )
}

/// The box a response crosses in, from the driver to its caller; boxes are recycled per
/// thread.
///
/// Why: a response is about 190 bytes, and glibc keeps only 7 freed blocks of a size in its
/// per-thread cache. A driver writes the responses of a whole read (a hundred or more) before
/// their callers take them and free the boxes, so most of them went through glibc's slower
/// bins, sorted and merged on the way (`unlink_chunk` alone was 3% of a load's CPU time).
/// Here the last box freed on a thread is the next one filled there: a warm one, with no
/// call into the allocator. Reply slots are recycled the same way (see `free`). Together
/// these took the allocator from 6% of a load's CPU time to under 2%, and 4–6% off its CPU
/// per request at `-c10 -m100`.
pub(crate) struct ResponseBox<T>(Box<Option<T>>);

/// Spare response boxes, and spare slots, kept per thread: at most about 150 KB in all.
const SPARE_MAX: usize = 512;

/// A thread's spare response boxes and slots, the allocations themselves being the point
/// (hence `Vec<Box<_>>`).
#[allow(clippy::vec_box)]
pub(crate) struct Spares<T> {
    boxes: Vec<Box<Option<T>>>,
    slots: Vec<Box<Inner<T>>>,
}

impl<T> Spares<T> {
    pub(crate) const fn new() -> Spares<T> {
        Spares {
            boxes: Vec::new(),
            slots: Vec::new(),
        }
    }
}

/// The spare freed last on this thread, if any. Loom builds never reuse one: every slot the
/// model sees is a fresh allocation, poisoned when freed.
fn take_spare<T: Reply, B>(
    list: impl FnOnce(&mut Spares<T>) -> &mut Vec<Box<B>>,
) -> Option<Box<B>> {
    if cfg!(h2kit_loom) {
        return None;
    }
    T::spares()
        .try_with(|s| list(&mut s.borrow_mut()).pop())
        .ok()
        .flatten()
}

/// Keeps `b` for this thread's next use, unless `SPARE_MAX` are kept already.
fn keep_spare<T: Reply, B>(list: impl FnOnce(&mut Spares<T>) -> &mut Vec<Box<B>>, b: Box<B>) {
    if cfg!(h2kit_loom) {
        return;
    }
    let _ = T::spares().try_with(move |s| {
        let mut s = s.borrow_mut();
        let list = list(&mut s);
        if list.len() < SPARE_MAX {
            list.push(b);
        }
    });
}

impl<T: Reply> ResponseBox<T> {
    fn new(response: T) -> ResponseBox<T> {
        match take_spare::<T, _>(|s| &mut s.boxes) {
            Some(mut b) => {
                *b = Some(response);
                ResponseBox(b)
            }
            None => ResponseBox(Box::new(Some(response))),
        }
    }

    /// The response; the box goes back to this thread's spares.
    fn into_inner(self) -> Option<T> {
        let mut b = self.0;
        let response = b.take();
        keep_spare::<T, _>(|s| &mut s.boxes, b);
        response
    }
}

/// Frees the slot, with whatever its cells still hold.
///
/// # Safety
/// Called once, by the end whose atomic operation found the other end's `*_GONE` bit set:
/// the other end has finished with the slot, and this end does not touch it afterwards.
unsafe fn free<T: Reply>(inner: NonNull<Inner<T>>) {
    #[cfg(h2kit_loom)]
    {
        LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: as below; the memory is kept (poisoned) so that a later use is caught.
        let inner = unsafe { inner.as_ref() };
        let inner = inner.cells();
        inner.response.with_mut(|p| unsafe { (*p).take() });
        inner.waker.with_mut(|p| unsafe { (*p).take() });
        inner.open_waker.with_mut(|p| unsafe { (*p).take() });
        inner.freed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    #[cfg(not(h2kit_loom))]
    {
        // SAFETY: allocated by `Box` in `channel`; nobody else holds it any more (above).
        let mut slot = unsafe { Box::from_raw(inner.as_ptr()) };
        // Emptied (what the cells still hold is dropped) and kept for this thread's next
        // request, as response boxes are (see `ResponseBox`): a slot is about 80 bytes,
        // allocated and freed once per request.
        *slot = Inner::new();
        keep_spare::<T, _>(|s| &mut s.slots, slot);
    }
}

/// The driver's end.
pub(crate) struct ReplyTx<T: Reply> {
    inner: NonNull<Inner<T>>,
    /// `opened` was called: a second call must not write the cell the caller may be reading.
    opened: bool,
    /// `send` was called (the slot may be freed: `drop` must not touch it).
    done: bool,
}

// SAFETY: the ends share only `Inner`, whose cells are accessed as the protocol at the top
// allows, across threads as well as within one; `T` (a `Reply`), `Waker` and `Opened` are
// `Send`.
unsafe impl<T: Reply> Send for ReplyTx<T> {}
// SAFETY: as for `ReplyTx`.
unsafe impl<T: Reply> Send for ReplyRx<T> {}

impl<T: Reply> ReplyTx<T> {
    fn inner(&self) -> &Inner<T> {
        // SAFETY: the slot is not freed while `done` is false: only `complete` sets
        // `TX_GONE`, after setting `done`, and no method but `drop` runs after it.
        unsafe { self.inner.as_ref() }
    }

    /// The request went out on `stream` `at` about this time.
    pub(crate) fn opened(&mut self, stream: StreamId, frames: u64, at: Instant) {
        if std::mem::replace(&mut self.opened, true) || self.done {
            return;
        }
        let inner = self.inner();
        // SAFETY: written once, before `OPENED` is set; the caller reads it only after.
        inner
            .cells()
            .opened
            .with_mut(|p| unsafe { *p = Some(Opened { stream, frames, at }) });
        let prev = update(&inner.state, |s| (s | OPENED) & !OPEN_WAKER);
        if prev & OPEN_WAKER != 0 {
            let waker = inner.cells().open_waker.with_mut(|p| {
                // SAFETY: claimed: the caller registered it, and with `OPENED` set it will
                // not write it again.
                unsafe { (*p).take() }
            });
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// The frames received when the request was opened, if it was.
    pub(crate) fn opened_frames(&self) -> Option<u64> {
        if !self.opened {
            return None;
        }
        // SAFETY: this end wrote the cell (before `OPENED`) and never writes it again; the
        // caller only reads it.
        self.inner()
            .cells()
            .opened
            .with(|p| unsafe { (*p).map(|o| o.frames) })
    }

    /// Whether the caller has given up (nobody will read the response).
    pub(crate) fn is_closed(&self) -> bool {
        self.inner().state.load(Acquire) & RX_GONE != 0
    }

    /// Hands over the response; `Err` if the caller has given up (the response is dropped).
    pub(crate) fn send(mut self, response: T) -> Result<(), Closed> {
        self.complete(Some(response))
    }

    /// The end of this end: with the response, or without one (dropped).
    fn complete(&mut self, response: Option<T>) -> Result<(), Closed> {
        debug_assert!(!self.done);
        self.done = true;
        let ptr = self.inner;
        // SAFETY: not freed yet: this end has not set `TX_GONE` (below).
        let inner = unsafe { ptr.as_ref() };
        if let Some(r) = response {
            // SAFETY: written before `COMPLETE` is set; the caller takes it only after.
            inner
                .cells()
                .response
                .with_mut(|p| unsafe { *p = Some(ResponseBox::new(r)) });
        }
        // Claims any registered waker; without one, this end has nothing left to do with the
        // slot and leaves in the same operation.
        let prev = update(&inner.state, |s| {
            if s & (WAKER | OPEN_WAKER) == 0 {
                s | COMPLETE | TX_GONE
            } else {
                (s | COMPLETE) & !(WAKER | OPEN_WAKER)
            }
        });
        if prev & RX_GONE != 0 {
            // SAFETY: the caller is gone and left the slot to this end (its `RX_GONE` saw no
            // `TX_GONE`). The response goes with it.
            unsafe { free(ptr) };
            return Err(Closed);
        }
        if prev & (WAKER | OPEN_WAKER) == 0 {
            return Ok(());
        }
        // SAFETY: claimed above (`COMPLETE` is set: the caller writes neither again).
        let waker = (prev & WAKER != 0)
            .then(|| inner.cells().waker.with_mut(|p| unsafe { (*p).take() }))
            .flatten();
        let open_waker = (prev & OPEN_WAKER != 0)
            .then(|| {
                inner.cells().open_waker.with_mut(|p| {
                    // SAFETY: as above.
                    unsafe { (*p).take() }
                })
            })
            .flatten();
        if inner.state.fetch_or(TX_GONE, AcqRel) & RX_GONE != 0 {
            // SAFETY: the caller left meanwhile, without freeing (it saw no `TX_GONE`).
            unsafe { free(ptr) };
        }
        match (waker, open_waker) {
            (Some(a), Some(b)) if a.will_wake(&b) => a.wake(),
            (a, b) => {
                a.into_iter().chain(b).for_each(Waker::wake);
            }
        }
        Ok(())
    }
}

impl<T: Reply> Drop for ReplyTx<T> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.complete(None);
        }
    }
}

/// One atomic read-modify-write of `state`; returns the previous state.
fn update(state: &AtomicU8, f: impl Fn(u8) -> u8) -> u8 {
    match state.fetch_update(AcqRel, Acquire, |s| Some(f(s))) {
        Ok(s) | Err(s) => s,
    }
}

/// The other end is gone: the driver's without an answer (its connection task ended), or
/// the caller's (it gave up on the request).
#[derive(Debug)]
pub(crate) struct Closed;

/// The caller's end.
pub(crate) struct ReplyRx<T: Reply> {
    inner: NonNull<Inner<T>>,
}

impl<T: Reply> ReplyRx<T> {
    fn inner(&self) -> &Inner<T> {
        // SAFETY: this end sets `RX_GONE` only in `drop`, so the slot is not freed.
        unsafe { self.inner.as_ref() }
    }

    pub(crate) fn opened(&self) -> Option<Opened> {
        let inner = self.inner();
        if inner.state.load(Acquire) & OPENED == 0 {
            return None;
        }
        // SAFETY: written before `OPENED` was set, never again.
        inner.cells().opened.with(|p| unsafe { *p })
    }

    /// Ready once the request is opened (`Some`) or will not be (`None`: the response or
    /// the closed channel says why).
    pub(crate) fn poll_opened(&mut self, cx: &mut Context<'_>) -> Poll<Option<Opened>> {
        let inner = self.inner();
        let ready = |s: u8| match () {
            _ if s & OPENED != 0 => Some(self.opened()),
            _ if s & COMPLETE != 0 => Some(None),
            _ => None,
        };
        let s = inner.state.load(Acquire);
        if let Some(r) = ready(s) {
            return Poll::Ready(r);
        }
        if s & OPEN_WAKER != 0 && !reclaim(&inner.state, OPEN_WAKER, OPENED | COMPLETE) {
            return Poll::Ready(ready(inner.state.load(Acquire)).flatten());
        }
        // SAFETY: `OPEN_WAKER` is clear and neither event happened: the driver does not touch
        // the cell (it would have claimed it, setting one of them).
        inner
            .cells()
            .open_waker
            .with_mut(|p| unsafe { register(&mut *p, cx) });
        match ready(inner.state.fetch_or(OPEN_WAKER, AcqRel)) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    pub(crate) fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, Closed>> {
        let inner = self.inner();
        let s = inner.state.load(Acquire);
        if s & COMPLETE != 0 {
            return Poll::Ready(self.take());
        }
        if s & WAKER != 0 && !reclaim(&inner.state, WAKER, COMPLETE) {
            return Poll::Ready(self.take());
        }
        // SAFETY: `WAKER` and `COMPLETE` are clear: the driver does not touch the cell.
        inner
            .cells()
            .waker
            .with_mut(|p| unsafe { register(&mut *p, cx) });
        if inner.state.fetch_or(WAKER, AcqRel) & COMPLETE != 0 {
            return Poll::Ready(self.take());
        }
        Poll::Pending
    }

    fn take(&mut self) -> Result<T, Closed> {
        // SAFETY: `COMPLETE` was seen: the driver wrote the response before and leaves it
        // alone (it frees the slot only after `RX_GONE`, set in this end's drop).
        self.inner()
            .cells()
            .response
            .with_mut(|p| unsafe { (*p).take() })
            .and_then(ResponseBox::into_inner)
            .ok_or(Closed)
    }
}

/// Takes a registered waker back from the driver's reach: clears `bit` unless one of
/// `events` happened (then the driver may have claimed it: false).
fn reclaim(state: &AtomicU8, bit: u8, events: u8) -> bool {
    state
        .fetch_update(AcqRel, Acquire, |s| (s & events == 0).then_some(s & !bit))
        .is_ok()
}

impl<T: Reply> Drop for ReplyRx<T> {
    fn drop(&mut self) {
        if self.inner().state.fetch_or(RX_GONE, AcqRel) & TX_GONE != 0 {
            // SAFETY: the driver's end is gone and left the slot to this end (the response,
            // if unread, goes with it: dropped here, outside the driver).
            unsafe { free(self.inner) };
        }
    }
}

#[cfg(test)]
mod tests;
