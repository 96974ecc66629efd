//! What the pool sees of each connection without asking its task (atomics the task
//! publishes after each turn), the wake-up of requests waiting for a slot, and the count of a
//! client's open connections.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// What the pool can see of a connection without asking its driver.
#[derive(Debug, Default)]
pub(crate) struct ConnShared {
    /// Requests the pool sent this connection that its driver has not picked up yet.
    pub reserved: AtomicUsize,
    /// Streams open on the connection, plus requests queued in the driver (published by it).
    pub active: AtomicUsize,
    /// The peer's MAX_CONCURRENT_STREAMS (until its SETTINGS arrive: the assumed value).
    pub peer_max_streams: AtomicU32,
    /// The peer's SETTINGS have arrived (until then `peer_max_streams` is an assumption).
    pub settled: AtomicBool,
    /// GOAWAY received or the connection ended: no new requests.
    pub closed: AtomicBool,
    /// A request timed out with no frame received since it was written: no new streams until
    /// the peer shows it is alive.
    pub suspect: AtomicBool,
    /// When the connection last turned suspect (µs on [`clock_us`]'s clock).
    pub suspect_since_us: AtomicU64,
    /// Round-trip time, µs (0 until measured: our SETTINGS' ACK, then each PING's).
    pub rtt_us: AtomicU64,
    /// Frames received so far (published after each read), so that a request that times out
    /// can tell at once whether anything arrived since it was written.
    pub frames_received: AtomicU64,
    /// The peer sent GOAWAY(ENHANCE_YOUR_CALM): the pool backs off before the next connection.
    pub calmed: AtomicBool,
    /// Streams the driver still keeps state for (a leak detector for tests and stats).
    pub tracked: AtomicUsize,
    /// The connection ended before the server's SETTINGS arrived: why (the pool backs off).
    pub setup_failure: std::sync::Mutex<Option<crate::Error>>,
    /// The origin pool's wake-up for requests waiting for a slot (set once, at connect).
    pub capacity: std::sync::OnceLock<Arc<Capacity>>,
}

/// An origin pool's wake-up for requests waiting for a stream slot, and how many wait.
///
/// A driver frees slots on most turns, and a `Notify` without waiters still costs an atomic
/// read-modify-write per `notify_one` (it stores a permit). Waiters are rare (a pool at its
/// limit), so the driver looks at the count first, with a plain load.
#[derive(Debug, Default)]
pub(crate) struct Capacity {
    notify: tokio::sync::Notify,
    waiters: AtomicUsize,
}

impl Capacity {
    /// `n` slots freed (published before this call): wakes up to `n` waiters.
    pub(crate) fn freed(&self, n: usize) {
        // Store-buffering with `waiting`: either this load sees the waiter, or the waiter's
        // look at the connections (after its own fence) sees the counts published before
        // this fence. Both fences are needed for that (C++20 [atomics.fences]).
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if self.waiters.load(Relaxed) == 0 {
            return;
        }
        for _ in 0..n {
            self.notify.notify_one();
        }
    }

    /// A connection closed, its limit rose, or one was added: every waiter looks again.
    pub(crate) fn notify_all(&self) {
        self.notify.notify_waiters();
    }

    /// Counts the caller as waiting until the guard drops; call before looking for room.
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        self.waiters.fetch_add(1, Relaxed);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        Waiting(self)
    }

    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

/// See [`Capacity::waiting`].
pub(crate) struct Waiting<'a>(&'a Capacity);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Relaxed);
    }
}

/// The number of a client's open connections (all origins): each driver holds a guard.
#[derive(Clone, Default)]
pub(crate) struct LiveConnections(Arc<AtomicUsize>);

impl LiveConnections {
    pub(crate) fn enter(&self) -> LiveGuard {
        self.0.fetch_add(1, Relaxed);
        LiveGuard(self.0.clone())
    }
}

/// One open connection, counted in its client's [`LiveConnections`] until dropped.
pub(crate) struct LiveGuard(Arc<AtomicUsize>);

impl LiveGuard {
    /// The client's open connections, this one included.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Relaxed)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Microseconds on a process-wide monotonic clock (for timestamps kept in atomics).
pub(crate) fn clock_us() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_micros() as u64
}

impl ConnShared {
    /// No new streams until the peer shows it is alive.
    pub(crate) fn mark_suspect(&self) {
        if !self.suspect.swap(true, Relaxed) {
            self.suspect_since_us.store(clock_us(), Relaxed);
        }
    }

    /// How long requests may wait for a suspect connection's PING answer before giving up on
    /// it: four round trips, at least 2 ms and at most `ping_timeout`. None once that is over
    /// (or if the connection is not suspect).
    pub(crate) fn suspect_grace_left(&self, ping_timeout: Duration) -> Option<Duration> {
        if !self.suspect.load(Relaxed) {
            return None;
        }
        let rtt = Duration::from_micros(self.rtt_us.load(Relaxed));
        let grace = super::super::liveness::suspect_grace(rtt, ping_timeout);
        let waited = clock_us().saturating_sub(self.suspect_since_us.load(Relaxed));
        Some(grace.saturating_sub(Duration::from_micros(waited))).filter(|l| !l.is_zero())
    }

    pub(crate) fn notify_all(&self) {
        if let Some(c) = self.capacity.get() {
            c.notify_all();
        }
    }
}
