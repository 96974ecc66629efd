//! One request's reply slot, shared by its caller and the connection driver: first the
//! stream the request was opened on, then the response.
//!
//! Two oneshot channels did this before, one for each: two allocations per request, and a
//! wake-up of the caller when the stream opened, though most callers only need the stream to
//! cancel it or to judge a timeout — by then it has long been recorded. Here both live in one
//! allocation, and the opening wakes the caller only if it asked (`poll_opened`: a streamed
//! body, a write timeout).
//!
//! Every request passes through a slot, between two tasks, so its cost is paid per request.
//! A mutex and an `Arc` cost twelve atomic read-modify-write operations per request
//! (measured); this slot costs five, and frees itself without an `Arc`. That takes `unsafe`,
//! with the protocol below as its proof; the loom model tests at the end check it
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

struct Inner {
    state: AtomicU8,
    opened: UnsafeCell<Option<Opened>>,
    /// Boxed: the slot was allocated when the request was sent, a round of all the requests
    /// in flight ago, and is cold by now; a box just used for another response is warm, and
    /// the slot stays small (see `ResponseBox`).
    response: UnsafeCell<Option<ResponseBox>>,
    waker: UnsafeCell<Option<Waker>>,
    open_waker: UnsafeCell<Option<Waker>>,
    /// Loom builds: set instead of freeing, so that a use after free fails the model.
    #[cfg(h2kit_loom)]
    freed: std::sync::atomic::AtomicBool,
}

impl Inner {
    fn new() -> Inner {
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

pub(crate) fn channel() -> (ReplyTx, ReplyRx) {
    #[cfg(h2kit_loom)]
    LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let slot = take_spare(&SPARE_SLOTS).unwrap_or_else(|| Box::new(Inner::new()));
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
pub(crate) struct ResponseBox(Box<Option<Response>>);

/// Spare response boxes, and spare slots, kept per thread: at most about 150 KB in all.
const SPARE_MAX: usize = 512;

/// Boxes kept for reuse, the allocations themselves being the point (hence `Vec<Box<_>>`).
#[allow(clippy::vec_box)]
type Spares<T> = std::cell::RefCell<Vec<Box<T>>>;

thread_local! {
    static SPARE_BOXES: Spares<Option<Response>> = const { std::cell::RefCell::new(Vec::new()) };
    static SPARE_SLOTS: Spares<Inner> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The spare freed last on this thread, if any. Loom builds never reuse one: every slot the
/// model sees is a fresh allocation, poisoned when freed.
fn take_spare<T>(spares: &'static LocalKey<Spares<T>>) -> Option<Box<T>> {
    if cfg!(h2kit_loom) {
        return None;
    }
    spares.try_with(|s| s.borrow_mut().pop()).ok().flatten()
}

/// Keeps `b` for this thread's next use, unless `SPARE_MAX` are kept already.
fn keep_spare<T>(spares: &'static LocalKey<Spares<T>>, b: Box<T>) {
    if cfg!(h2kit_loom) {
        return;
    }
    let _ = spares.try_with(move |s| {
        let mut s = s.borrow_mut();
        if s.len() < SPARE_MAX {
            s.push(b);
        }
    });
}

impl ResponseBox {
    fn new(response: Response) -> ResponseBox {
        match take_spare(&SPARE_BOXES) {
            Some(mut b) => {
                *b = Some(response);
                ResponseBox(b)
            }
            None => ResponseBox(Box::new(Some(response))),
        }
    }

    /// The response; the box goes back to this thread's spares.
    fn into_inner(self) -> Option<Response> {
        let mut b = self.0;
        let response = b.take();
        keep_spare(&SPARE_BOXES, b);
        response
    }
}

/// Frees the slot, with whatever its cells still hold.
///
/// # Safety
/// Called once, by the end whose atomic operation found the other end's `*_GONE` bit set:
/// the other end has finished with the slot, and this end does not touch it afterwards.
unsafe fn free(inner: NonNull<Inner>) {
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
        keep_spare(&SPARE_SLOTS, slot);
    }
}

/// The driver's end.
pub(crate) struct ReplyTx {
    inner: NonNull<Inner>,
    /// `opened` was called: a second call must not write the cell the caller may be reading.
    opened: bool,
    /// `send` was called (the slot may be freed: `drop` must not touch it).
    done: bool,
}

// SAFETY: the ends share only `Inner`, whose cells are accessed as the protocol at the top
// allows, across threads as well as within one; `Response`, `Waker` and `Opened` are `Send`.
unsafe impl Send for ReplyTx {}
// SAFETY: as for `ReplyTx`.
unsafe impl Send for ReplyRx {}

const _: () = {
    const fn send<T: Send>() {}
    send::<Response>();
};

impl ReplyTx {
    fn inner(&self) -> &Inner {
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
            // SAFETY: claimed: the caller registered it, and with `OPENED` set it will not
            // write it again.
            if let Some(w) = inner
                .cells()
                .open_waker
                .with_mut(|p| unsafe { (*p).take() })
            {
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
    pub(crate) fn send(mut self, response: Response) -> Result<(), Closed> {
        self.complete(Some(response))
    }

    /// The end of this end: with the response, or without one (dropped).
    fn complete(&mut self, response: Option<Response>) -> Result<(), Closed> {
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
        // SAFETY: as above.
        let open_waker = (prev & OPEN_WAKER != 0)
            .then(|| {
                inner
                    .cells()
                    .open_waker
                    .with_mut(|p| unsafe { (*p).take() })
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

impl Drop for ReplyTx {
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
pub(crate) struct ReplyRx {
    inner: NonNull<Inner>,
}

impl ReplyRx {
    fn inner(&self) -> &Inner {
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

    pub(crate) fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Result<Response, Closed>> {
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

    fn take(&mut self) -> Result<Response, Closed> {
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

/// Stores the task's waker in `slot`, unless the one there already wakes it.
pub(crate) fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        w => *w = Some(cx.waker().clone()),
    }
}

impl Drop for ReplyRx {
    fn drop(&mut self) {
        if self.inner().state.fetch_or(RX_GONE, AcqRel) & TX_GONE != 0 {
            // SAFETY: the driver's end is gone and left the slot to this end (the response,
            // if unread, goes with it: dropped here, outside the driver).
            unsafe { free(self.inner) };
        }
    }
}

#[cfg(all(test, not(h2kit_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A waker that counts its wakes, and the count.
    fn counting_waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn opening_wakes_only_a_caller_that_waits_for_it() {
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);

        let (mut tx, mut rx) = channel();
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

        let (mut tx, mut rx) = channel();
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
    fn a_recycled_slot_and_box_start_clean() {
        // One exchange to its end, then the next on the same thread: it gets the freed slot
        // and the freed response box back, and behaves as a fresh one (nothing opened, no
        // response, no waker left from before).
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let (mut tx, mut rx) = channel();
        let first_slot = rx.inner;
        assert!(rx.poll_response(&mut cx).is_pending());
        tx.opened(StreamId(1), 3, Instant::now());
        assert!(tx.send(Err(Error::Unprocessed)).is_ok());
        let first_box = rx.inner().cells().response.with_mut(|p| unsafe {
            // SAFETY: test only: `COMPLETE` is set and this end has not taken the response.
            (*p).as_ref().map(|b| &*b.0 as *const Option<Response>)
        });
        assert!(rx.poll_response(&mut cx).is_ready());
        drop(rx);

        let (tx, mut rx) = channel();
        assert_eq!(rx.inner, first_slot, "the slot is reused");
        assert!(rx.opened().is_none());
        assert!(!tx.is_closed());
        assert!(rx.poll_response(&mut cx).is_pending());
        assert!(tx.send(Err(Error::ConnectionClosed)).is_ok());
        let second_box = rx.inner().cells().response.with_mut(|p| unsafe {
            // SAFETY: as above.
            (*p).as_ref().map(|b| &*b.0 as *const Option<Response>)
        });
        assert_eq!(second_box, first_box, "the response box is reused");
        assert!(matches!(
            rx.poll_response(&mut cx),
            Poll::Ready(Ok(Err(Error::ConnectionClosed)))
        ));
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn either_end_going_away_is_seen_by_the_other() {
        let (count, waker) = counting_waker();
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

    #[test]
    fn a_changed_waker_is_the_one_woken() {
        let ((a, wa), (b, wb)) = (counting_waker(), counting_waker());
        let (tx, mut rx) = channel();
        assert!(rx.poll_response(&mut Context::from_waker(&wa)).is_pending());
        assert!(rx.poll_response(&mut Context::from_waker(&wb)).is_pending());
        assert!(tx.send(Err(Error::Unprocessed)).is_ok());
        assert_eq!(a.0.load(Ordering::SeqCst), 0);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        // Both wakers are released once the slot is gone (no leak of the task they name).
        drop(rx);
        assert_eq!((Arc::strong_count(&a), Arc::strong_count(&b)), (2, 2));
    }
}

/// Exhaustive interleavings of the two ends under loom's memory model: every cell access
/// race-free, every wake-up delivered, the slot freed exactly once.
#[cfg(all(test, h2kit_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    /// A waker that counts its wake-ups (loom's `Arc`, so that a leaked waker fails the
    /// model too).
    fn counting_waker(count: &Arc<AtomicUsize>) -> Waker {
        use std::task::{RawWaker, RawWakerVTable};
        unsafe fn clone(p: *const ()) -> RawWaker {
            // SAFETY: `p` came from `Arc::into_raw` below.
            unsafe { Arc::increment_strong_count(p as *const AtomicUsize) };
            RawWaker::new(p, &VTABLE)
        }
        unsafe fn wake(p: *const ()) {
            // SAFETY: as in `clone`; this consumes the reference.
            let a = unsafe { Arc::from_raw(p as *const AtomicUsize) };
            a.fetch_add(1, Relaxed);
        }
        unsafe fn wake_by_ref(p: *const ()) {
            // SAFETY: as in `clone`.
            unsafe { &*(p as *const AtomicUsize) }.fetch_add(1, Relaxed);
        }
        unsafe fn drop_waker(p: *const ()) {
            // SAFETY: as in `wake`.
            drop(unsafe { Arc::from_raw(p as *const AtomicUsize) });
        }
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);
        let p = Arc::into_raw(count.clone()) as *const ();
        // SAFETY: the vtable keeps the `Arc` contract above.
        unsafe { Waker::from_raw(RawWaker::new(p, &VTABLE)) }
    }

    /// Polls until ready, yielding to loom in between; every poll after the first must have
    /// been preceded by a wake-up (none is lost).
    fn wait<T>(count: &Arc<AtomicUsize>, mut f: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
        let waker = counting_waker(count);
        let mut cx = Context::from_waker(&waker);
        let mut seen = 0;
        loop {
            if let Poll::Ready(v) = f(&mut cx) {
                return v;
            }
            // Pending: a wake-up must come.
            while count.load(Relaxed) == seen {
                loom::thread::yield_now();
            }
            seen = count.load(Relaxed);
        }
    }

    fn live() -> usize {
        LIVE.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn response_reaches_a_waiting_caller() {
        loom::model(|| {
            let before = live();
            let (mut tx, mut rx) = channel();
            let t = loom::thread::spawn(move || {
                tx.opened(StreamId(1), 0, Instant::now());
                tx.send(Err(Error::Unprocessed)).is_ok()
            });
            let count = Arc::new(AtomicUsize::new(0));
            let r = wait(&count, |cx| rx.poll_response(cx));
            assert!(matches!(r, Ok(Err(Error::Unprocessed))));
            assert_eq!(rx.opened().map(|o| o.stream), Some(StreamId(1)));
            assert!(t.join().unwrap());
            drop(rx);
            assert_eq!(live(), before);
        });
    }

    #[test]
    fn opening_reaches_a_caller_that_waits_for_it_then_the_response() {
        loom::model(|| {
            let (mut tx, mut rx) = channel();
            let t = loom::thread::spawn(move || {
                tx.opened(StreamId(5), 2, Instant::now());
                let _ = tx.send(Err(Error::Unprocessed));
            });
            let count = Arc::new(AtomicUsize::new(0));
            let o = wait(&count, |cx| rx.poll_opened(cx));
            assert_eq!(o.map(|o| o.stream), Some(StreamId(5)));
            let r = wait(&count, |cx| rx.poll_response(cx));
            assert!(matches!(r, Ok(Err(Error::Unprocessed))));
            t.join().unwrap();
        });
    }

    #[test]
    fn a_caller_that_changes_its_waker_is_still_woken() {
        loom::model(|| {
            let (tx, mut rx) = channel();
            let t = loom::thread::spawn(move || {
                let _ = tx.send(Err(Error::Unprocessed));
            });
            let first = Arc::new(AtomicUsize::new(0));
            let w = counting_waker(&first);
            let early = rx.poll_response(&mut Context::from_waker(&w));
            drop(w);
            if early.is_pending() {
                let second = Arc::new(AtomicUsize::new(0));
                let r = wait(&second, |cx| rx.poll_response(cx));
                assert!(matches!(r, Ok(Err(Error::Unprocessed))));
            }
            t.join().unwrap();
        });
    }

    #[test]
    fn caller_giving_up_while_the_response_arrives_frees_once() {
        loom::model(|| {
            let before = live();
            let (mut tx, mut rx) = channel();
            let count = Arc::new(AtomicUsize::new(0));
            let w = counting_waker(&count);
            let _ = rx.poll_response(&mut Context::from_waker(&w));
            let t = loom::thread::spawn(move || {
                tx.opened(StreamId(1), 0, Instant::now());
                let closed = tx.is_closed();
                let sent = tx.send(Err(Error::Unprocessed)).is_ok();
                (closed, sent)
            });
            drop(rx);
            let (closed, _sent) = t.join().unwrap();
            assert!(!closed || live() == before);
            assert_eq!(live(), before);
        });
    }

    #[test]
    fn driver_gone_without_an_answer_is_seen() {
        loom::model(|| {
            let (tx, mut rx) = channel();
            let t = loom::thread::spawn(move || drop(tx));
            let count = Arc::new(AtomicUsize::new(0));
            assert!(matches!(
                wait(&count, |cx| rx.poll_response(cx)),
                Err(Closed)
            ));
            assert!(matches!(wait(&count, |cx| rx.poll_opened(cx)), None));
            t.join().unwrap();
        });
    }
}
