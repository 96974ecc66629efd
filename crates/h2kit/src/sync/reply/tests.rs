//! The reply slot's tests: its behaviour, then (under `--cfg h2kit_loom`) its loom model.

#[cfg(not(h2kit_loom))]
mod unit {
    use super::super::*;
    use crate::sync::counting_waker;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    /// A reply for the tests.
    #[derive(Debug)]
    enum Answer {
        Unprocessed,
        Closed,
    }
    crate::sync::reply::reply_spares!(Answer);

    #[test]
    fn opening_wakes_only_a_caller_that_waits_for_it() {
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);

        let (mut tx, mut rx) = channel::<Answer>();
        assert!(rx.poll_response(&mut cx).is_pending());
        tx.opened(StreamId(1), 7, Instant::now());
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "woken for the opening");
        assert_eq!(
            rx.opened().map(|o| (o.stream, o.frames)),
            Some((StreamId(1), 7))
        );
        assert!(tx.send(Answer::Unprocessed).is_ok());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            rx.poll_response(&mut cx),
            Poll::Ready(Ok(Answer::Unprocessed))
        ));

        let (mut tx, mut rx) = channel::<Answer>();
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
        let (mut tx, mut rx) = channel::<Answer>();
        let first_slot = rx.inner;
        assert!(rx.poll_response(&mut cx).is_pending());
        tx.opened(StreamId(1), 3, Instant::now());
        assert!(tx.send(Answer::Unprocessed).is_ok());
        let first_box = rx.inner().cells().response.with_mut(|p| unsafe {
            // SAFETY: test only: `COMPLETE` is set and this end has not taken the response.
            (*p).as_ref().map(|b| &*b.0 as *const Option<Answer>)
        });
        assert!(rx.poll_response(&mut cx).is_ready());
        drop(rx);

        let (tx, mut rx) = channel::<Answer>();
        assert_eq!(rx.inner, first_slot, "the slot is reused");
        assert!(rx.opened().is_none());
        assert!(!tx.is_closed());
        assert!(rx.poll_response(&mut cx).is_pending());
        assert!(tx.send(Answer::Closed).is_ok());
        let second_box = rx.inner().cells().response.with_mut(|p| unsafe {
            // SAFETY: as above.
            (*p).as_ref().map(|b| &*b.0 as *const Option<Answer>)
        });
        assert_eq!(second_box, first_box, "the response box is reused");
        assert!(matches!(
            rx.poll_response(&mut cx),
            Poll::Ready(Ok(Answer::Closed))
        ));
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn either_end_going_away_is_seen_by_the_other() {
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);

        let (tx, mut rx) = channel::<Answer>();
        assert!(rx.poll_response(&mut cx).is_pending());
        drop(tx);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            rx.poll_response(&mut cx),
            Poll::Ready(Err(Closed))
        ));
        assert!(matches!(rx.poll_opened(&mut cx), Poll::Ready(None)));

        let (tx, rx) = channel::<Answer>();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert!(tx.send(Answer::Closed).is_err());
    }

    #[test]
    fn a_changed_waker_is_the_one_woken() {
        let ((a, wa), (b, wb)) = (counting_waker(), counting_waker());
        let (tx, mut rx) = channel::<Answer>();
        assert!(rx.poll_response(&mut Context::from_waker(&wa)).is_pending());
        assert!(rx.poll_response(&mut Context::from_waker(&wb)).is_pending());
        assert!(tx.send(Answer::Unprocessed).is_ok());
        assert_eq!(a.0.load(Ordering::SeqCst), 0);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        // Both wakers are released once the slot is gone (no leak of the task they name).
        drop(rx);
        assert_eq!((Arc::strong_count(&a), Arc::strong_count(&b)), (2, 2));
    }
}

/// Exhaustive interleavings of the two ends under loom's memory model: every cell access
/// race-free, every wake-up delivered, the slot freed exactly once.
#[cfg(h2kit_loom)]
mod loom_model {
    use super::super::*;

    #[derive(Debug)]
    enum Answer {
        Unprocessed,
    }
    crate::sync::reply::reply_spares!(Answer);

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
            let (mut tx, mut rx) = channel::<Answer>();
            let t = loom::thread::spawn(move || {
                tx.opened(StreamId(1), 0, Instant::now());
                tx.send(Answer::Unprocessed).is_ok()
            });
            let count = Arc::new(AtomicUsize::new(0));
            let r = wait(&count, |cx| rx.poll_response(cx));
            assert!(matches!(r, Ok(Answer::Unprocessed)));
            assert_eq!(rx.opened().map(|o| o.stream), Some(StreamId(1)));
            assert!(t.join().unwrap());
            drop(rx);
            assert_eq!(live(), before);
        });
    }

    #[test]
    fn opening_reaches_a_caller_that_waits_for_it_then_the_response() {
        loom::model(|| {
            let (mut tx, mut rx) = channel::<Answer>();
            let t = loom::thread::spawn(move || {
                tx.opened(StreamId(5), 2, Instant::now());
                let _ = tx.send(Answer::Unprocessed);
            });
            let count = Arc::new(AtomicUsize::new(0));
            let o = wait(&count, |cx| rx.poll_opened(cx));
            assert_eq!(o.map(|o| o.stream), Some(StreamId(5)));
            let r = wait(&count, |cx| rx.poll_response(cx));
            assert!(matches!(r, Ok(Answer::Unprocessed)));
            t.join().unwrap();
        });
    }

    #[test]
    fn a_caller_that_changes_its_waker_is_still_woken() {
        loom::model(|| {
            let (tx, mut rx) = channel::<Answer>();
            let t = loom::thread::spawn(move || {
                let _ = tx.send(Answer::Unprocessed);
            });
            let first = Arc::new(AtomicUsize::new(0));
            let w = counting_waker(&first);
            let early = rx.poll_response(&mut Context::from_waker(&w));
            drop(w);
            if early.is_pending() {
                let second = Arc::new(AtomicUsize::new(0));
                let r = wait(&second, |cx| rx.poll_response(cx));
                assert!(matches!(r, Ok(Answer::Unprocessed)));
            }
            t.join().unwrap();
        });
    }

    #[test]
    fn caller_giving_up_while_the_response_arrives_frees_once() {
        loom::model(|| {
            let before = live();
            let (mut tx, mut rx) = channel::<Answer>();
            let count = Arc::new(AtomicUsize::new(0));
            let w = counting_waker(&count);
            let _ = rx.poll_response(&mut Context::from_waker(&w));
            let t = loom::thread::spawn(move || {
                tx.opened(StreamId(1), 0, Instant::now());
                let closed = tx.is_closed();
                let sent = tx.send(Answer::Unprocessed).is_ok();
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
            let (tx, mut rx) = channel::<Answer>();
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
