//! Connections per origin. Picking a connection takes read locks and atomics only; write locks
//! are taken to add or prune a connection, and waiting happens only when every connection is
//! full and no more may open.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::ClientConfig;
use crate::{Error, ErrorKind, Phase};
mod backoff;
pub use backoff::ConnectBackoff;
mod checkout;
mod connect;
mod origin;

use super::conn::shared::{Capacity, ConnShared, LiveConnections};
use super::conn::{ClientCommand, CommandTx, Open, ResponseRx};
use crate::conn::{Command, ConnConfig};
use checkout::{ConnView, Step};
pub(crate) use origin::{Origin, OriginHasher, OriginRef};

/// One connection as the pool sees it.
pub(crate) struct ConnHandle {
    pub tx: CommandTx,
    pub shared: Arc<ConnShared>,
    cancel: CancellationToken,
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        // The pool let go: the driver says GOAWAY and ends once its streams are done.
        self.cancel.cancel();
    }
}

impl ConnHandle {
    fn load(&self) -> usize {
        self.shared.active.load(Relaxed) + self.shared.reserved.load(Relaxed)
    }

    fn usable(&self) -> bool {
        !self.shared.closed.load(Relaxed)
    }

    /// Suspect connections take no new streams until they show signs of life.
    fn suspect(&self) -> bool {
        self.shared.suspect.load(Relaxed)
    }

    /// Hands a request to the connection's driver, on the slot reserved for it at checkout;
    /// `None` if the driver is gone (the reservation is released).
    pub(crate) fn open(
        &self,
        parts: &Arc<http::request::Parts>,
        body: Option<bytes::Bytes>,
        end_stream: bool,
        span: Option<&tracing::Span>,
    ) -> Option<ResponseRx> {
        let (reply_tx, reply) = crate::sync::reply::channel();
        let open = Open {
            parts: parts.clone(),
            body,
            end_stream,
            reply: reply_tx,
            span: span.map(|s| Box::new(s.clone())),
        };
        if self
            .tx
            .send(Command::Role(ClientCommand::Open(open)))
            .is_err()
        {
            self.shared.reserved.fetch_sub(1, Relaxed);
            return None;
        }
        Some(reply)
    }
}

type OriginMap = HashMap<Origin, Arc<OriginPool>, std::hash::BuildHasherDefault<OriginHasher>>;

pub(crate) struct OriginPool {
    origin: Origin,
    /// After GOAWAY(ENHANCE_YOUR_CALM): no new connection before this instant, and the current
    /// backoff (doubling, 100 ms to 5 s, while the server keeps asking for calm).
    calm: std::sync::Mutex<(Option<Instant>, Duration)>,
    /// After failed connections: requests fail at once until the next attempt is due.
    backoff: std::sync::Mutex<backoff::Backoff>,
    conns: RwLock<Vec<Arc<ConnHandle>>>,
    connecting: AtomicUsize,
    /// Signalled when a stream ends or a connection is added (FIFO wake-ups).
    capacity: Arc<Capacity>,
}

pub(crate) struct Pool {
    config: Arc<ClientConfig>,
    stats: Arc<crate::stats::ServerStats>,
    driver_config: Arc<ConnConfig>,
    tls: connect::Tls,
    origins: RwLock<OriginMap>,
    /// The origin pool used last (see `origin_pool`).
    last: RwLock<Option<Arc<OriginPool>>>,
    live: LiveConnections,
}

/// A connection being set up for an origin (one at a time: the others wait for it). Ends
/// however the setup does: with a connection, an error, or the request giving up (its future
/// dropped during the connect or the backoff before it) — otherwise a request cancelled
/// mid-connect would leave every later request waiting for a connection nobody opens.
struct Connecting<'a>(&'a OriginPool);

impl<'a> Connecting<'a> {
    /// Claims the origin's one setup, if no other request holds it. One atomic step: with
    /// requests on several threads, a load of the count and a later increment would let two
    /// of them see none and both connect, one more connection than the origin may have.
    fn try_start(pool: &'a OriginPool) -> Option<Connecting<'a>> {
        pool.connecting
            .compare_exchange(0, 1, AcqRel, Relaxed)
            .ok()
            .map(|_| Connecting(pool))
    }
}

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.connecting.fetch_sub(1, Relaxed);
        // Waiters look again: at the new connection, or to open one themselves.
        self.0.capacity.notify_all();
    }
}

/// Connections that count against `max_connections_per_origin`: suspect ones do not, so that
/// the next request gets a fresh connection.
fn open_count(conns: &[Arc<ConnHandle>]) -> usize {
    conns.iter().filter(|c| !c.suspect()).count()
}

/// Phase timings of one checkout.
#[derive(Clone, Default)]
pub(crate) struct Checkout {
    pub queue: Duration,
    pub connect: Option<Duration>,
    pub tls: Option<Duration>,
}

impl Pool {
    pub(crate) fn new(
        config: Arc<ClientConfig>,
        tls: connect::Tls,
        stats: Arc<crate::stats::ServerStats>,
    ) -> Pool {
        let driver_config = Arc::new(ConnConfig {
            proto: config.proto.clone(),
            handshake_timeout: config.timeouts.connect.unwrap_or(Duration::from_secs(30)) * 2,
            idle_timeout: config.idle_timeout,
            shutdown_grace: Duration::from_secs(30),
            inline_first_poll: true,
            // A request body blocked by the server's window waits as long as the request's
            // own deadlines allow.
            send_stall_timeout: None,
        });
        Pool {
            config,
            stats,
            driver_config,
            tls,
            origins: RwLock::new(OriginMap::default()),
            last: RwLock::new(None),
            live: Default::default(),
        }
    }

    /// `f` of the origin pool used last, if `origin` is its origin. A request whose
    /// authority is a clone of the last one's (a client reusing a base URI) shares its bytes:
    /// the same address and length mean the same, immutable text, so the pool is found
    /// without hashing or comparing the authority byte by byte (together about 600
    /// instructions per request, by callgrind).
    fn with_last<R>(
        &self,
        origin: OriginRef<'_>,
        f: impl FnOnce(&Arc<OriginPool>) -> R,
    ) -> Option<R> {
        let last = self.last.read().unwrap_or_else(|e| e.into_inner());
        last.as_ref().filter(|p| p.origin.same_as(origin)).map(f)
    }

    fn origin_pool(&self, origin: OriginRef<'_>) -> Arc<OriginPool> {
        self.with_last(origin, Arc::clone)
            .unwrap_or_else(|| self.find_origin_pool(origin))
    }

    /// The origin's pool from the map (made if new), which becomes the one used last.
    fn find_origin_pool(&self, origin: OriginRef<'_>) -> Arc<OriginPool> {
        let origin = origin.owned();
        let found = self
            .origins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&origin)
            .cloned();
        let pool = found.unwrap_or_else(|| self.insert_origin(&origin));
        *self.last.write().unwrap_or_else(|e| e.into_inner()) = Some(pool.clone());
        pool
    }

    fn insert_origin(&self, origin: &Origin) -> Arc<OriginPool> {
        let mut w = self.origins.write().unwrap_or_else(|e| e.into_inner());
        w.entry(origin.clone())
            .or_insert_with(|| {
                Arc::new(OriginPool {
                    origin: origin.clone(),
                    conns: RwLock::new(Vec::new()),
                    connecting: AtomicUsize::new(0),
                    calm: std::sync::Mutex::new((None, Duration::ZERO)),
                    backoff: Default::default(),
                    capacity: Arc::default(),
                })
            })
            .clone()
    }

    /// A connection with a stream slot reserved for one request: the least loaded healthy
    /// connection below its limit; else a new connection if allowed; else wait (FIFO).
    pub(crate) async fn checkout(
        &self,
        origin: OriginRef<'_>,
        timings: &mut Option<Box<Checkout>>,
        exclude: Option<&Arc<ConnHandle>>,
        deadline: Option<Instant>,
    ) -> Result<Arc<ConnHandle>, Error> {
        // The common case, a connection with room, takes no await and no clock read; the
        // rest lives in a boxed future so that every request's future stays small.
        if let Some(c) = self.checkout_now(origin, exclude) {
            return Ok(c);
        }
        let pool = self.origin_pool(origin);
        // Timings only exist for a checkout that waited (none is a zero queue time): a
        // request's future is touched whole on every request, so it carries a pointer to them
        // rather than the timings.
        let timings = timings.get_or_insert_with(Default::default);
        Box::pin(self.checkout_slow(pool, timings, exclude, deadline)).await
    }

    /// A connection with room, reserved, if there is one now. The origin used last is
    /// looked at under its lock, without taking a reference to its pool.
    pub(crate) fn checkout_now(
        &self,
        origin: OriginRef<'_>,
        exclude: Option<&Arc<ConnHandle>>,
    ) -> Option<Arc<ConnHandle>> {
        match self.with_last(origin, |p| self.reserve(p, exclude).0) {
            Some(c) => c,
            None => self.reserve(&self.find_origin_pool(origin), exclude).0,
        }
    }

    /// What the checkout policy sees of a connection.
    fn view(&self, c: &ConnHandle, exclude: Option<&Arc<ConnHandle>>) -> ConnView {
        ConnView {
            settled: c.shared.settled.load(Relaxed),
            grace_left: c.shared.suspect_grace_left(self.config.ping_timeout),
            ..self.pick_view(c, exclude)
        }
    }

    /// Reserves a slot on the connection the policy picks, if one has room; also says whether
    /// closed connections should be pruned.
    fn reserve(
        &self,
        pool: &OriginPool,
        exclude: Option<&Arc<ConnHandle>>,
    ) -> (Option<Arc<ConnHandle>>, bool) {
        let conns = pool.conns.read().unwrap_or_else(|e| e.into_inner());
        let views = conns.iter().map(|c| self.pick_view(c, exclude));
        let picked = checkout::pick(views, self.config.max_connections_per_origin);
        let best = picked.conn.map(|i| {
            let c = &conns[i];
            c.shared.reserved.fetch_add(1, Relaxed);
            c.clone()
        });
        (best, picked.prune)
    }

    /// [`view`](Self::view) without what `pick` does not read (on every request's path):
    /// the load and limit only of connections that may take a stream.
    fn pick_view(&self, c: &ConnHandle, exclude: Option<&Arc<ConnHandle>>) -> ConnView {
        let usable = c.usable();
        let suspect = c.suspect();
        let live = usable && !suspect;
        ConnView {
            usable,
            suspect,
            load: if live { c.load() } else { 0 },
            limit: if live { self.limit(c) } else { 0 },
            excluded: exclude.is_some_and(|x| std::ptr::eq(&**x, c)),
            ..ConnView::default()
        }
    }

    async fn checkout_slow(
        &self,
        pool: Arc<OriginPool>,
        timings: &mut Checkout,
        exclude: Option<&Arc<ConnHandle>>,
        deadline: Option<Instant>,
    ) -> Result<Arc<ConnHandle>, Error> {
        let start = Instant::now();
        let _waiting = pool.capacity.waiting();
        loop {
            let notified = pool.capacity.notified();
            let (best, prune) = self.reserve(&pool, exclude);
            if let Some(c) = best {
                timings.queue = start.elapsed();
                return Ok(c);
            }
            if prune {
                let mut conns = pool.conns.write().unwrap_or_else(|e| e.into_inner());
                if conns
                    .iter()
                    .any(|c| !c.usable() && c.shared.calmed.load(Relaxed))
                {
                    // The server asked for calm: back off before the next connection.
                    let mut calm = pool.calm.lock().unwrap_or_else(|e| e.into_inner());
                    let next = checkout::calm_backoff(calm.1);
                    *calm = (Some(Instant::now() + next), next);
                }
                for c in conns.iter().filter(|c| !c.usable()) {
                    let failure = c
                        .shared
                        .setup_failure
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take();
                    if let Some(e) = failure {
                        self.connection_failed(&pool, e);
                    }
                }
                conns.retain(|c| c.usable());
            }
            let (step, open) = {
                let conns = pool.conns.read().unwrap_or_else(|e| e.into_inner());
                let views: Vec<ConnView> = conns.iter().map(|c| self.view(c, exclude)).collect();
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                let max = self.config.max_connections_per_origin;
                (checkout::next_step(&views, max, left), open_count(&conns))
            };
            if let Step::Hold(grace) = step {
                let mut wait = grace;
                if let Some(limit) = self.config.timeouts.queue {
                    let left = limit.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        timings.queue = start.elapsed();
                        return Err(Error::new(ErrorKind::Timeout(Phase::Queue)));
                    }
                    wait = wait.min(left);
                }
                let _ = tokio::time::timeout(wait, notified).await;
                continue;
            }
            // One connection set up at a time: a burst waits for it rather than opening many.
            let connecting = (step == Step::Connect)
                .then(|| Connecting::try_start(&pool))
                .flatten();
            if step == Step::Connect {
                if let Some(e) = self.backing_off(&pool) {
                    timings.queue = start.elapsed();
                    return Err(e);
                }
            }
            if let Some(connecting) = connecting {
                // A setup that ended between the count above and the claim put its connection
                // in the list before it let go: look again, now that no other can start.
                let open_now = open_count(&pool.conns.read().unwrap_or_else(|e| e.into_inner()));
                if open_now > open {
                    drop(connecting);
                    continue;
                }
                let until = pool.calm.lock().unwrap_or_else(|e| e.into_inner()).0;
                if let Some(until) = until.filter(|u| *u > Instant::now()) {
                    tokio::time::sleep_until(until.into()).await;
                }
                timings.queue = start.elapsed();
                // Boxed: the connect and TLS futures are large and rarely live, and a
                // request's future is moved several times on the way in.
                let handle = match Box::pin(self.connect(&pool, timings)).await {
                    Ok(h) => h,
                    Err(e) => {
                        self.connection_failed(&pool, e.clone());
                        return Err(e);
                    }
                };
                handle.shared.reserved.fetch_add(1, Relaxed);
                pool.conns
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(handle.clone());
                drop(connecting);
                return Ok(handle);
            }
            // Every connection is full: wait for a slot, within the queue deadline.
            match self.config.timeouts.queue {
                Some(limit) => {
                    let left = limit.saturating_sub(start.elapsed());
                    if tokio::time::timeout(left, notified).await.is_err() {
                        timings.queue = start.elapsed();
                        return Err(Error::new(ErrorKind::Timeout(Phase::Queue)));
                    }
                }
                None => notified.await,
            }
        }
    }

    /// A connection to the origin failed (to open, or before HTTP/2 began): back off.
    fn connection_failed(&self, pool: &OriginPool, e: Error) {
        if let Some(cfg) = &self.config.connect_backoff {
            let mut b = pool.backoff.lock().unwrap_or_else(|e| e.into_inner());
            b.failed(cfg, Instant::now(), e, backoff::random());
        }
    }

    /// The error a request fails with at once while the origin backs off; ends the back-off
    /// if a connection of the origin has reached HTTP/2 since.
    fn backing_off(&self, pool: &OriginPool) -> Option<Error> {
        self.config.connect_backoff?;
        let reached_h2 = pool
            .conns
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|c| c.shared.settled.load(Relaxed));
        let mut b = pool.backoff.lock().unwrap_or_else(|e| e.into_inner());
        if reached_h2 {
            b.succeeded();
        }
        b.blocked(Instant::now())
    }

    /// Connections by state: (open and usable, suspect, closed but not yet pruned).
    pub(crate) fn connection_states(&self) -> (u64, u64, u64) {
        let origins = self.origins.read().unwrap_or_else(|e| e.into_inner());
        let mut counts = (0, 0, 0);
        for p in origins.values() {
            for c in p.conns.read().unwrap_or_else(|e| e.into_inner()).iter() {
                if !c.usable() {
                    counts.2 += 1;
                } else if c.suspect() {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
            }
        }
        counts
    }

    /// Streams all drivers still keep state for.
    pub(crate) fn tracked_streams(&self) -> usize {
        let origins = self.origins.read().unwrap_or_else(|e| e.into_inner());
        origins
            .values()
            .flat_map(|p| {
                p.conns
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|c| c.shared.tracked.load(Relaxed))
                    .collect::<Vec<_>>()
            })
            .sum()
    }

    fn limit(&self, c: &ConnHandle) -> usize {
        let peer = c.shared.peer_max_streams.load(Relaxed) as usize;
        match self.config.max_streams_per_connection {
            Some(m) => peer.min(m as usize),
            None => peer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin_pool() -> OriginPool {
        OriginPool {
            origin: Origin::new(false, http::uri::Authority::from_static("a.test")),
            conns: RwLock::new(Vec::new()),
            connecting: AtomicUsize::new(0),
            calm: std::sync::Mutex::new((None, Duration::ZERO)),
            backoff: Default::default(),
            capacity: Arc::default(),
        }
    }

    #[test]
    fn one_request_at_a_time_claims_the_setup_and_any_ending_releases_it() {
        let pool = origin_pool();
        let first = Connecting::try_start(&pool).expect("nobody is connecting");
        assert!(Connecting::try_start(&pool).is_none(), "a second setup");
        // Dropped however the setup ends (a connection, an error, the caller giving up).
        drop(first);
        assert!(Connecting::try_start(&pool).is_some());
    }
}
