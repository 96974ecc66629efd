//! Client-wide counters: what the client did, and why requests failed or were retried.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::metrics::facade::{counter, gauge, Counter, Gauge};
use crate::metrics::names;
use crate::metrics::request::Outcome;
use crate::metrics::semconv::{method_index, phase_index, Failure, PHASES};
use crate::stats::StatsSnapshot;
use crate::{ErrorKind, Phase};
use std::time::Instant;

/// The client's counters, and the handles of their metrics (looked up once, when the client
/// is built: a lookup takes the registry's lock).
pub(crate) struct ClientCounters {
    requests: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    retries_refused: AtomicU64,
    retries_unprocessed: AtomicU64,
    retries_connection: AtomicU64,
    timeouts: [AtomicU64; 7],
    metrics: Handles,
}

struct Handles {
    requests: Counter,
    failures: Counter,
    active: Gauge,
    timeouts: [Counter; 7],
    /// By `RetryCause`, in its order.
    retries: [Counter; 3],
}

impl Default for ClientCounters {
    fn default() -> Self {
        ClientCounters {
            requests: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retries_refused: AtomicU64::new(0),
            retries_unprocessed: AtomicU64::new(0),
            retries_connection: AtomicU64::new(0),
            timeouts: Default::default(),
            metrics: Handles {
                requests: counter!(names::CLIENT_REQUESTS),
                failures: counter!(names::CLIENT_FAILURES),
                active: gauge!(names::CLIENT_ACTIVE_REQUESTS),
                timeouts: PHASES
                    .map(|(_, phase, _)| counter!(names::CLIENT_TIMEOUTS, "phase" => phase)),
                retries: ["refused_stream", "goaway", "connection_lost"]
                    .map(|cause| counter!(names::CLIENT_RETRIES, "cause" => cause)),
            },
        }
    }
}

/// A request in `http_client_active_requests`, until dropped.
pub(crate) struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Records one attempt (each is a request on the wire, as the conventions count them):
/// `http_client_request_duration_seconds`, and the end of its span.
pub(crate) fn attempt_done(
    parts: &http::request::Parts,
    started: Instant,
    outcome: Result<u16, ErrorKind>,
    span: Option<&tracing::Span>,
) {
    let (status, failure) = match outcome {
        Ok(status) => (status, None),
        Err(kind) => (0, Some(Failure::of_error(kind))),
    };
    let uri = &parts.uri;
    let outcome = Outcome {
        method: method_index(&parts.method),
        https: uri.scheme() == Some(&http::uri::Scheme::HTTPS),
        status,
        failure,
    };
    let authority = uri.authority().map_or("", |a| a.as_str());
    crate::metrics::request::client(authority, outcome, started.elapsed().as_secs_f64());
    if let Some(span) = span {
        crate::span::finish(span, status, failure, false);
    }
}

/// Why a request was retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryCause {
    Refused,
    Unprocessed,
    Connection,
}

impl ClientCounters {
    /// A request begins; it counts as active until the returned guard is dropped (its
    /// outcome, or its caller giving it up).
    pub(crate) fn request(&self) -> InFlight<'_> {
        self.requests.fetch_add(1, Relaxed);
        self.metrics.requests.increment(1);
        self.metrics.active.increment(1.0);
        InFlight(&self.metrics.active)
    }

    pub(crate) fn outcome(&self, err: Option<ErrorKind>) {
        match err {
            None => {
                self.succeeded.fetch_add(1, Relaxed);
            }
            Some(kind) => {
                self.failed.fetch_add(1, Relaxed);
                if let ErrorKind::Timeout(p) = kind {
                    let i = phase_index(p);
                    self.timeouts[i].fetch_add(1, Relaxed);
                    self.metrics.timeouts[i].increment(1);
                }
                self.metrics.failures.increment(1);
            }
        }
    }

    pub(crate) fn retry(&self, cause: RetryCause) {
        let (counter, i) = match cause {
            RetryCause::Refused => (&self.retries_refused, 0),
            RetryCause::Unprocessed => (&self.retries_unprocessed, 1),
            RetryCause::Connection => (&self.retries_connection, 2),
        };
        counter.fetch_add(1, Relaxed);
        self.metrics.retries[i].increment(1);
    }

    pub(crate) fn snapshot(
        &self,
        connections: StatsSnapshot,
        states: (u64, u64, u64),
        streams_tracked: u64,
    ) -> ClientStats {
        ClientStats {
            requests: self.requests.load(Relaxed),
            succeeded: self.succeeded.load(Relaxed),
            failed: self.failed.load(Relaxed),
            retries_refused_stream: self.retries_refused.load(Relaxed),
            retries_goaway: self.retries_unprocessed.load(Relaxed),
            retries_connection_lost: self.retries_connection.load(Relaxed),
            timeouts: PHASES
                .iter()
                .zip(&self.timeouts)
                .map(|((p, _, _), n)| (*p, n.load(Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            connections_healthy: states.0,
            connections_suspect: states.1,
            connections_closed: states.2,
            streams_tracked,
            connections,
        }
    }
}

/// A snapshot of a client's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests given to the client.
    pub requests: u64,
    /// Requests that got a response (whatever its status).
    pub succeeded: u64,
    /// Requests that failed after their last attempt.
    pub failed: u64,
    /// Attempts sent again because the server refused the stream (REFUSED_STREAM).
    pub retries_refused_stream: u64,
    /// Attempts sent again because they were above a GOAWAY's last stream.
    pub retries_goaway: u64,
    /// Attempts sent again after their connection was lost (idempotent requests).
    pub retries_connection_lost: u64,
    /// Failed requests by the phase whose deadline expired.
    pub timeouts: Vec<(Phase, u64)>,
    /// Connections in the pool now: healthy, suspect (no answer since a timeout), and closed
    /// (GOAWAY or failure) but not yet removed.
    pub connections_healthy: u64,
    /// See `connections_healthy`.
    pub connections_suspect: u64,
    /// See `connections_healthy`.
    pub connections_closed: u64,
    /// Streams the connection tasks keep a record of (requests in flight, bodies still
    /// streaming), as of each task's last turn: zero once every response has been read.
    pub streams_tracked: u64,
    /// Frames, RST_STREAM and GOAWAY by code and direction, PINGs and RTT, streams, over all
    /// the client's connections (`connections_accepted` counts connections opened).
    pub connections: StatsSnapshot,
}
