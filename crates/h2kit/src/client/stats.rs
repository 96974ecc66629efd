//! Client-wide counters: what the client did, and why requests failed or were retried.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::stats::StatsSnapshot;
use crate::{ErrorKind, Phase};

const PHASES: [Phase; 7] = [
    Phase::Queue,
    Phase::Connect,
    Phase::Tls,
    Phase::Write,
    Phase::ResponseHeaders,
    Phase::BodyIdle,
    Phase::Total,
];

fn phase_index(p: Phase) -> usize {
    PHASES.iter().position(|q| *q == p).unwrap_or(0)
}

#[derive(Default)]
pub(crate) struct ClientCounters {
    requests: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    retries_refused: AtomicU64,
    retries_unprocessed: AtomicU64,
    retries_connection: AtomicU64,
    timeouts: [AtomicU64; 7],
}

/// Why a request was retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryCause {
    Refused,
    Unprocessed,
    Connection,
}

impl ClientCounters {
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Relaxed);
        crate::metric::counter!("h2kit_client_requests_total").increment(1);
    }

    pub(crate) fn outcome(&self, err: Option<ErrorKind>) {
        match err {
            None => {
                self.succeeded.fetch_add(1, Relaxed);
            }
            Some(kind) => {
                self.failed.fetch_add(1, Relaxed);
                if let ErrorKind::Timeout(p) = kind {
                    self.timeouts[phase_index(p)].fetch_add(1, Relaxed);
                    crate::metric::counter!("h2kit_client_timeouts_total", "phase" => p.name())
                        .increment(1);
                }
                crate::metric::counter!("h2kit_client_failures_total").increment(1);
            }
        }
    }

    pub(crate) fn retry(&self, cause: RetryCause) {
        let (counter, label) = match cause {
            RetryCause::Refused => (&self.retries_refused, "refused_stream"),
            RetryCause::Unprocessed => (&self.retries_unprocessed, "goaway"),
            RetryCause::Connection => (&self.retries_connection, "connection_lost"),
        };
        counter.fetch_add(1, Relaxed);
        crate::metric::counter!("h2kit_client_retries_total", "cause" => label).increment(1);
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
                .map(|p| (*p, self.timeouts[phase_index(*p)].load(Relaxed)))
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
