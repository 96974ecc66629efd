//! Server-wide counters: atomics readable as a snapshot, mirrored to the `metrics` facade.
//!
//! Connection drivers count in their engine (`h2kit_proto::Stats`, no atomics on the hot path)
//! and add the difference to these totals once a second and when they end.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use h2kit_proto::frame::FrameType;
use h2kit_proto::stats::{CodeCounts, FrameCounts};
use h2kit_proto::{ErrorCode, Stats};

use crate::metrics::facade::{counter, gauge, histogram, Histogram};
use crate::metrics::names;
use crate::metrics::request::{Durations, Outcome};
use crate::metrics::semconv::method_label;

struct Counts<const N: usize>([AtomicU64; N]);

impl<const N: usize> Default for Counts<N> {
    fn default() -> Self {
        Counts(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl<const N: usize> Counts<N> {
    fn add(&self, i: usize, n: u64) {
        self.0[i.min(N - 1)].fetch_add(n, Relaxed);
    }
    fn load(&self) -> [u64; N] {
        std::array::from_fn(|i| self.0[i].load(Relaxed))
    }
}

/// Counters of a server's (or a client's) connections, updated as they run; read them with
/// [`snapshot`](Self::snapshot).
#[derive(Default)]
pub struct ServerStats {
    accepted: AtomicU64,
    open: AtomicU64,
    closed: AtomicU64,
    rejected: AtomicU64,
    http1_rejected: AtomicU64,
    handshake_failed: AtomicU64,
    streams: AtomicU64,
    refused_streams: AtomicU64,
    extended_connects: AtomicU64,
    suppressed_resets: AtomicU64,
    pings_sent: AtomicU64,
    ping_acks_received: AtomicU64,
    pings_received: AtomicU64,
    last_rtt_micros: AtomicU64,
    frames_sent: Counts<11>,
    frames_received: Counts<11>,
    resets_sent: Counts<15>,
    resets_received: Counts<15>,
    goaways_sent: Counts<15>,
    goaways_received: Counts<15>,
    floods: Counts<4>,
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Connections accepted (a client: opened).
    pub connections_accepted: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// Connections that have ended.
    pub connections_closed: u64,
    /// Closed at once because `max_connections` was reached.
    pub connections_rejected: u64,
    /// Answered in HTTP/1.1 that this server speaks HTTP/2 only.
    pub http1_rejected: u64,
    /// TLS handshakes that failed or timed out.
    pub handshakes_failed: u64,
    /// Streams opened.
    pub streams: u64,
    /// Streams refused with REFUSED_STREAM (beyond the concurrency limit, or after GOAWAY).
    pub refused_streams: u64,
    /// Extended CONNECT streams (RFC 8441, such as WebSockets): opened by a client, accepted
    /// by a server.
    pub extended_connects: u64,
    /// Resets we did not send because the stream had already ended (a late cancel).
    pub suppressed_resets: u64,
    /// PINGs we sent.
    pub pings_sent: u64,
    /// Answers to our PINGs.
    pub ping_acks_received: u64,
    /// PINGs the peers sent (each answered).
    pub pings_received: u64,
    /// The round-trip time of the most recently acknowledged PING, if any.
    pub last_rtt: Option<std::time::Duration>,
    /// Frames sent, by type.
    pub frames_sent: FrameCounts,
    /// Frames received, by type.
    pub frames_received: FrameCounts,
    /// RST_STREAM sent, by error code.
    pub resets_sent: CodeCounts,
    /// RST_STREAM received, by error code.
    pub resets_received: CodeCounts,
    /// GOAWAY sent, by error code.
    pub goaways_sent: CodeCounts,
    /// GOAWAY received, by error code.
    pub goaways_received: CodeCounts,
    /// Connections ended with GOAWAY(ENHANCE_YOUR_CALM) for a flood, by kind: stream resets
    /// (rapid reset, MadeYouReset, refused streams), empty frames, CONTINUATION frames,
    /// PRIORITY and unknown-type frames.
    pub floods: [u64; 4],
}

impl std::fmt::Debug for ServerStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl ServerStats {
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections_accepted: self.accepted.load(Relaxed),
            connections_open: self.open.load(Relaxed),
            connections_closed: self.closed.load(Relaxed),
            connections_rejected: self.rejected.load(Relaxed),
            http1_rejected: self.http1_rejected.load(Relaxed),
            handshakes_failed: self.handshake_failed.load(Relaxed),
            streams: self.streams.load(Relaxed),
            refused_streams: self.refused_streams.load(Relaxed),
            extended_connects: self.extended_connects.load(Relaxed),
            suppressed_resets: self.suppressed_resets.load(Relaxed),
            pings_sent: self.pings_sent.load(Relaxed),
            ping_acks_received: self.ping_acks_received.load(Relaxed),
            pings_received: self.pings_received.load(Relaxed),
            last_rtt: match self.last_rtt_micros.load(Relaxed) {
                0 => None,
                us => Some(std::time::Duration::from_micros(us)),
            },
            frames_sent: FrameCounts(self.frames_sent.load()),
            frames_received: FrameCounts(self.frames_received.load()),
            resets_sent: CodeCounts(self.resets_sent.load()),
            resets_received: CodeCounts(self.resets_received.load()),
            goaways_sent: CodeCounts(self.goaways_sent.load()),
            goaways_received: CodeCounts(self.goaways_received.load()),
            floods: self.floods.load(),
        }
    }

    pub(crate) fn open_connections(&self) -> u64 {
        self.open.load(Relaxed)
    }

    pub(crate) fn connection_opened(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.open.fetch_add(1, Relaxed);
        counter!(names::SERVER_CONNECTIONS_ACCEPTED).increment(1);
        gauge!(names::SERVER_CONNECTIONS_OPEN).increment(1.0);
    }

    /// A client connection (counted as accepted, without the server's metrics).
    pub(crate) fn connection_opened_client(&self) {
        self.accepted.fetch_add(1, Relaxed);
        counter!(names::CLIENT_CONNECTIONS_OPENED).increment(1);
    }

    pub(crate) fn connection_closed(&self) {
        self.open.fetch_sub(1, Relaxed);
        self.closed.fetch_add(1, Relaxed);
        counter!(names::SERVER_CONNECTIONS_CLOSED).increment(1);
        gauge!(names::SERVER_CONNECTIONS_OPEN).decrement(1.0);
    }

    pub(crate) fn connection_rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
        counter!(names::SERVER_CONNECTIONS_REJECTED).increment(1);
    }

    pub(crate) fn http1_rejected(&self) {
        self.http1_rejected.fetch_add(1, Relaxed);
        counter!(names::SERVER_HTTP1_REJECTED).increment(1);
    }

    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn handshake_failed(&self) {
        self.handshake_failed.fetch_add(1, Relaxed);
        counter!(names::SERVER_HANDSHAKES_FAILED).increment(1);
    }
}

/// One connection's view: remembers what it already reported.
pub(crate) struct StatsSink {
    shared: Arc<ServerStats>,
    last: Stats,
    /// "server" or "client": a label on the shared metrics, so a process that is both (a
    /// proxy) keeps them apart.
    side: &'static str,
    /// A server's requests since the last flush; boxed and made on the first request, given
    /// back when the connection goes idle (idle connections are many).
    requests: Option<Box<Requests>>,
    /// The flow-control wait histogram, taken when a stream first waits.
    blocked: Option<Histogram>,
}

#[derive(Default)]
struct Requests {
    /// Started minus ended, by method and scheme (`http_server_active_requests`, moved once
    /// a flush rather than twice a request).
    active: [i32; 20],
    durations: Durations,
}

fn type_label(i: usize) -> &'static str {
    FrameType::from_u8(i as u8).map_or("UNKNOWN", FrameType::name)
}

fn code_label(i: usize) -> &'static str {
    ErrorCode(i as u32).name().unwrap_or("OTHER")
}

impl StatsSink {
    pub(crate) fn new(shared: Arc<ServerStats>, side: &'static str) -> StatsSink {
        StatsSink {
            shared,
            last: Stats::default(),
            side,
            requests: None,
            blocked: None,
        }
    }

    /// A request began (`method`: its index in the conventions' list).
    pub(crate) fn request_started(&mut self, method: u8, https: bool) {
        let r = self.requests.get_or_insert_with(Box::default);
        r.active[usize::from(method) * 2 + usize::from(https)] += 1;
    }

    /// A request that `request_started` counted ended, after `ns` nanoseconds.
    #[inline]
    pub(crate) fn request_ended(&mut self, outcome: Outcome, ns: u64) {
        let r = self.requests.get_or_insert_with(Box::default);
        r.active[usize::from(outcome.method) * 2 + usize::from(outcome.https)] -= 1;
        r.durations.record(outcome, ns);
    }

    /// An idle connection keeps no per-request memory (call after a flush).
    pub(crate) fn release(&mut self) {
        if self
            .requests
            .as_ref()
            .is_some_and(|r| r.active.iter().all(|n| *n == 0))
        {
            self.requests = None;
        }
    }

    /// A stream's data waited this long for flow-control window.
    pub(crate) fn blocked(&mut self, waited: std::time::Duration) {
        let side = self.side;
        self.blocked
            .get_or_insert_with(|| histogram!(names::FLOW_CONTROL_BLOCKED, "side" => side))
            .record(waited.as_secs_f64());
    }

    /// Whether a rare event (RST_STREAM, GOAWAY, PING) happened since the last flush: those are
    /// reported at once, the frame counts at most once a second.
    pub(crate) fn rare_events_pending(&self, now: &Stats) -> bool {
        let l = &self.last;
        now.resets_sent.total() != l.resets_sent.total()
            || now.resets_received.total() != l.resets_received.total()
            || now.goaways_sent.total() != l.goaways_sent.total()
            || now.goaways_received.total() != l.goaways_received.total()
            || now.pings_sent != l.pings_sent
            || now.ping_acks_received != l.ping_acks_received
    }

    /// Adds what changed since the last flush to the shared totals and the metrics.
    pub(crate) fn flush(&mut self, now: &Stats) {
        let s = &self.shared;
        let side = self.side;
        let d = |a: u64, b: u64| a.saturating_sub(b);
        if let Some(r) = self.requests.as_mut() {
            r.durations.flush();
            for (i, n) in r.active.iter_mut().enumerate() {
                if *n != 0 {
                    let scheme = if i % 2 == 1 { "https" } else { "http" };
                    gauge!(
                        names::SERVER_ACTIVE_REQUESTS,
                        "http_request_method" => method_label((i / 2) as u8),
                        "url_scheme" => scheme
                    )
                    .increment(f64::from(*n));
                    *n = 0;
                }
            }
        }
        let streams = d(
            now.streams_opened_remote + now.streams_opened_local,
            self.last.streams_opened_remote + self.last.streams_opened_local,
        );
        s.streams.fetch_add(streams, Relaxed);
        counter!(names::STREAMS, "side" => side).increment(streams);
        let pings = d(now.pings_sent, self.last.pings_sent);
        s.pings_sent.fetch_add(pings, Relaxed);
        counter!(names::PINGS_SENT, "side" => side).increment(pings);
        let acks = d(now.ping_acks_received, self.last.ping_acks_received);
        s.ping_acks_received.fetch_add(acks, Relaxed);
        s.pings_received
            .fetch_add(d(now.pings_received, self.last.pings_received), Relaxed);
        if let Some(rtt) = now.last_rtt {
            s.last_rtt_micros.store(rtt.as_micros() as u64, Relaxed);
            if acks > 0 {
                // Acknowledgements flush at once (a rare event), so this is each one's RTT.
                histogram!(names::PING_RTT, "side" => side)
                    .record_many(rtt.as_secs_f64(), acks as usize);
            }
        }
        let refused = d(now.refused_streams, self.last.refused_streams);
        s.refused_streams.fetch_add(refused, Relaxed);
        counter!(names::STREAMS_REFUSED, "side" => side).increment(refused);
        let extended = d(now.extended_connects, self.last.extended_connects);
        if extended > 0 {
            s.extended_connects.fetch_add(extended, Relaxed);
            counter!(names::EXTENDED_CONNECT, "side" => side).increment(extended);
        }
        if let (Some(kind), None) = (now.flood, self.last.flood) {
            use h2kit_proto::connection::Flood;
            let i = match kind {
                Flood::StreamResets => 0,
                Flood::EmptyFrames => 1,
                Flood::Continuation => 2,
                Flood::IgnoredFrames => 3,
            };
            s.floods.add(i, 1);
            counter!(names::FLOODS, "kind" => kind.name(), "side" => side).increment(1);
        }
        let suppressed = d(now.suppressed_resets, self.last.suppressed_resets);
        s.suppressed_resets.fetch_add(suppressed, Relaxed);
        counter!(names::RESETS_SUPPRESSED, "side" => side).increment(suppressed);
        for (dir, now_c, last_c, total) in [
            (
                "sent",
                &now.frames_sent,
                &self.last.frames_sent,
                &s.frames_sent,
            ),
            (
                "received",
                &now.frames_received,
                &self.last.frames_received,
                &s.frames_received,
            ),
        ] {
            for i in 0..11 {
                let n = d(now_c.0[i], last_c.0[i]);
                if n > 0 {
                    total.add(i, n);
                    counter!(names::FRAMES, "direction" => dir, "type" => type_label(i), "side" => side)
                        .increment(n);
                }
            }
        }
        for (name, dir, now_c, last_c, total) in [
            (
                names::RST_STREAM,
                "sent",
                &now.resets_sent,
                &self.last.resets_sent,
                &s.resets_sent,
            ),
            (
                names::RST_STREAM,
                "received",
                &now.resets_received,
                &self.last.resets_received,
                &s.resets_received,
            ),
            (
                names::GOAWAY,
                "sent",
                &now.goaways_sent,
                &self.last.goaways_sent,
                &s.goaways_sent,
            ),
            (
                names::GOAWAY,
                "received",
                &now.goaways_received,
                &self.last.goaways_received,
                &s.goaways_received,
            ),
        ] {
            for i in 0..15 {
                let n = d(now_c.0[i], last_c.0[i]);
                if n > 0 {
                    total.add(i, n);
                    counter!(name, "direction" => dir, "error_code" => code_label(i), "side" => side)
                        .increment(n);
                }
            }
        }
        self.last = now.clone();
    }
}
