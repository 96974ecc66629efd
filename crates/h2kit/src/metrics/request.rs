//! Recording request durations without a lookup per request.
//!
//! `histogram!` finds a series by hashing its name and labels in the recorder's registry,
//! behind a lock. A request's series is one of a few (method, status, outcome, origin), so
//! each thread keeps the handles it has used and finds them again by comparing one packed
//! key (and, for a client, the authority's text). The labels are built,
//! and the URI parsed, only the first time a thread meets a series.
//!
//! A client request records through its handle at once (the Prometheus exporter appends the
//! value to a lock-free bucket). A server connection adds its requests up by bucket itself
//! and hands the sums over once per flush ([`Durations`]): per request, recording through
//! the exporter cost more than the rest of the bookkeeping together.

use super::facade::Histogram;
use super::semconv::Failure;

/// What tells a request's series apart: method, scheme, status (0: none) and failure, packed
/// (`key`), with the failure itself for the labels.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub method: u8,
    pub https: bool,
    pub status: u16,
    pub failure: Option<Failure>,
}

impl Outcome {
    #[inline]
    pub(crate) fn key(&self) -> u64 {
        u64::from(self.method)
            | u64::from(self.https) << 8
            | u64::from(self.status) << 16
            | u64::from(self.failure.map_or(0, Failure::code)) << 32
    }
}

/// The conventions' request-duration boundaries in nanoseconds (`le`: a value on a boundary
/// belongs to the bucket below it).
const BOUNDS_NS: [u64; 14] = {
    let mut b = [0u64; 14];
    let mut i = 0;
    while i < 14 {
        b[i] = (super::REQUEST_DURATION_BUCKETS[i] * 1e9) as u64;
        i += 1;
    }
    b
};

/// A connection's request durations since its last flush, by series and by the
/// conventions' buckets: a request costs a comparison or two and two additions, and the
/// recorder sees each bucket once per flush. Each bucket is handed over as its count of
/// observations at their mean, which lies inside the bucket: with the conventions' boundaries
/// (`REQUEST_DURATION_BUCKETS`) the recorder's bucket counts and its sum are exact.
#[derive(Default)]
pub(crate) struct Durations {
    series: Vec<Series>,
}

struct Series {
    key: u64,
    handle: Histogram,
    count: [u32; 15],
    sum_ns: [u64; 15],
}

impl Durations {
    /// A server request finished after `ns` nanoseconds.
    #[inline(always)]
    pub(crate) fn record(&mut self, outcome: Outcome, ns: u64) {
        let key = outcome.key();
        let i = match self.series.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                self.series.push(Series {
                    key,
                    handle: handle(key, outcome),
                    count: [0; 15],
                    sum_ns: [0; 15],
                });
                self.series.len() - 1
            }
        };
        let s = &mut self.series[i];
        let b = BOUNDS_NS.iter().position(|b| ns <= *b).unwrap_or(14);
        s.count[b] += 1;
        s.sum_ns[b] += ns;
    }

    /// Hands what was recorded to the recorder.
    pub(crate) fn flush(&mut self) {
        for s in &mut self.series {
            for b in 0..15 {
                let n = std::mem::take(&mut s.count[b]);
                let sum = std::mem::take(&mut s.sum_ns[b]);
                if n > 0 {
                    let mean = sum as f64 / f64::from(n) * 1e-9;
                    s.handle.record_many(mean, n as usize);
                }
            }
        }
    }
}

/// Records a finished client request (an attempt: each is a request on the wire) to
/// `authority` (as the URI wrote it).
#[inline]
pub(crate) fn client(authority: &str, outcome: Outcome, seconds: f64) {
    with_handle(false, outcome.key(), outcome, Some(authority), |h| {
        h.record(seconds)
    });
}

/// The thread's handle for a server series.
fn handle(key: u64, outcome: Outcome) -> Histogram {
    with_handle(true, key, outcome, None, Histogram::clone).unwrap_or_else(noop)
}

#[cfg(feature = "metrics")]
fn noop() -> Histogram {
    Histogram::noop()
}

#[cfg(not(feature = "metrics"))]
fn noop() -> Histogram {
    super::facade::Noop
}

#[cfg(not(feature = "metrics"))]
#[inline]
fn with_handle<R>(
    _server: bool,
    _key: u64,
    _outcome: Outcome,
    _authority: Option<&str>,
    f: impl FnOnce(&Histogram) -> R,
) -> Option<R> {
    Some(f(&super::facade::Noop))
}

/// Calls `f` with the thread's handle for the series, which the registry gives (and whose
/// labels are built) the first time the thread meets the series. `None` only while the
/// thread exits.
#[cfg(feature = "metrics")]
fn with_handle<R>(
    server: bool,
    key: u64,
    outcome: Outcome,
    authority: Option<&str>,
    f: impl FnOnce(&Histogram) -> R,
) -> Option<R> {
    use std::cell::RefCell;

    struct Entry {
        server: bool,
        key: u64,
        authority: Option<Box<str>>,
        handle: Histogram,
    }

    /// Beyond this many series a thread looks up the rest in the registry each time.
    const MAX_CACHED: usize = 128;

    thread_local! {
        static HANDLES: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    }

    HANDLES
        .try_with(|cell| {
            let mut handles = cell.try_borrow_mut().ok()?;
            if let Some(e) = handles
                .iter()
                .find(|e| e.key == key && e.server == server && e.authority.as_deref() == authority)
            {
                return Some(f(&e.handle));
            }
            let handle = register(server, outcome, authority);
            let r = f(&handle);
            if handles.len() < MAX_CACHED {
                handles.push(Entry {
                    server,
                    key,
                    authority: authority.map(Box::from),
                    handle,
                });
            }
            Some(r)
        })
        .ok()
        .flatten()
}

/// The series' handle, from the registry.
#[cfg(feature = "metrics")]
fn register(server: bool, o: Outcome, authority: Option<&str>) -> Histogram {
    use super::semconv::{error_type, method_label};
    use metrics::Label;
    let mut v = Vec::with_capacity(8);
    v.push(Label::new("http_request_method", method_label(o.method)));
    if let Some(authority) = authority {
        let (host, port) = match authority.parse::<http::uri::Authority>() {
            Ok(a) => {
                let port = a.port_u16().unwrap_or(if o.https { 443 } else { 80 });
                let host = a.host();
                let host = host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .unwrap_or(host);
                (host.to_owned(), port)
            }
            Err(_) => (authority.to_owned(), 0),
        };
        v.push(Label::new("server_address", host));
        v.push(Label::new("server_port", port.to_string()));
    }
    v.push(Label::new(
        "url_scheme",
        if o.https { "https" } else { "http" },
    ));
    if o.status != 0 {
        v.push(Label::new(
            "http_response_status_code",
            o.status.to_string(),
        ));
    }
    if let Some(e) = error_type(o.failure, o.status, server) {
        v.push(Label::new("error_type", e));
    }
    v.push(Label::new("network_protocol_name", "http"));
    v.push(Label::new("network_protocol_version", "2"));
    let name = if server {
        super::names::SERVER_REQUEST_DURATION
    } else {
        super::names::CLIENT_REQUEST_DURATION
    };
    metrics::histogram!(name, v)
}
