//! A `metrics` recorder that keeps every metric in atomics and histograms in fixed buckets.
//!
//! Why not `metrics-exporter-prometheus`: it keeps every observation of a histogram until
//! the next scrape or upkeep, and records a batch (`record_many`) one observation at a time.
//! A server that hands over a connection's request durations as one count per bucket
//! (`h2kit::metrics`) then still paid about 200 instructions per request for the exporter
//! alone. Here a batch is one bucket's addition, and memory does not grow with traffic.
//!
//! Handles are registered under a lock; recording through them takes none.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};

/// Prometheus' default boundaries, for a histogram nobody gave boundaries to.
const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone)]
pub(super) enum Metric {
    Counter(Arc<AtomicU64>),
    /// An `f64` in its bits (as `metrics` implements `GaugeFn` for `AtomicU64`).
    Gauge(Arc<AtomicU64>),
    Histogram(Arc<Buckets>),
}

/// A histogram: a count per bucket (the last is above every boundary) and the sum.
pub(super) struct Buckets {
    pub(super) bounds: Vec<f64>,
    pub(super) counts: Box<[AtomicU64]>,
    /// An `f64` in its bits.
    pub(super) sum: AtomicU64,
}

impl HistogramFn for Buckets {
    fn record(&self, value: f64) {
        self.record_many(value, 1);
    }

    fn record_many(&self, value: f64, count: usize) {
        // `le`: a value on a boundary belongs to that boundary's bucket.
        let i = self.bounds.partition_point(|b| *b < value);
        self.counts[i].fetch_add(count as u64, Relaxed);
        let add = value * count as f64;
        let _ = self.sum.fetch_update(Relaxed, Relaxed, |s| {
            Some((f64::from_bits(s) + add).to_bits())
        });
    }
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) metrics: Mutex<HashMap<Key, Metric>>,
    /// Descriptions by metric name.
    pub(super) help: Mutex<HashMap<String, String>>,
    /// Boundaries by histogram name.
    buckets: HashMap<String, Vec<f64>>,
}

/// The recorder; cheap to clone (the exposition reads through a clone).
#[derive(Clone)]
pub struct Recorder {
    pub(super) inner: Arc<Inner>,
}

impl Recorder {
    /// A recorder whose histograms named in `buckets` use those boundaries.
    pub fn new(buckets: &[(&str, &[f64])]) -> Recorder {
        let inner = Inner {
            buckets: buckets
                .iter()
                .map(|(n, b)| ((*n).to_string(), b.to_vec()))
                .collect(),
            ..Inner::default()
        };
        Recorder {
            inner: Arc::new(inner),
        }
    }

    fn describe(&self, key: KeyName, description: SharedString) {
        let mut help = self.inner.help.lock().unwrap_or_else(|e| e.into_inner());
        help.insert(key.as_str().to_string(), description.into_owned());
    }

    /// The metric registered under `key`, made now if it is new.
    fn metric(&self, key: &Key, make: impl FnOnce() -> Metric) -> Metric {
        let mut metrics = self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner());
        metrics.entry(key.clone()).or_insert_with(make).clone()
    }
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match self.metric(key, || Metric::Counter(Arc::default())) {
            Metric::Counter(c) => Counter::from_arc(c),
            // The key was registered as another kind: this use records nothing.
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match self.metric(key, || Metric::Gauge(Arc::default())) {
            Metric::Gauge(g) => Gauge::from_arc(g),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let bounds = self
            .inner
            .buckets
            .get(key.name())
            .cloned()
            .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
        let make = || {
            let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
            Metric::Histogram(Arc::new(Buckets {
                bounds,
                counts,
                sum: AtomicU64::new(0f64.to_bits()),
            }))
        };
        match self.metric(key, make) {
            Metric::Histogram(h) => Histogram::from_arc(h),
            _ => Histogram::noop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Recorder as _;

    #[test]
    fn a_batch_lands_in_one_bucket_with_its_sum() {
        let r = Recorder::new(&[("d", &[0.005, 0.01])]);
        let key = Key::from_name("d");
        let meta = Metadata::new("t", metrics::Level::INFO, None);
        let h = r.register_histogram(&key, &meta);
        h.record_many(0.004, 3);
        h.record(0.005);
        h.record(0.02);
        let metrics = r.inner.metrics.lock().unwrap();
        let Some(Metric::Histogram(b)) = metrics.get(&key) else {
            panic!("no histogram")
        };
        let counts: Vec<u64> = b.counts.iter().map(|c| c.load(Relaxed)).collect();
        assert_eq!(counts, [4, 0, 1]);
        let sum = f64::from_bits(b.sum.load(Relaxed));
        assert!((sum - (0.012 + 0.005 + 0.02)).abs() < 1e-12, "{sum}");
    }
}
