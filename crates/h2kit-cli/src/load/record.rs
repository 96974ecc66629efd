//! What a load run records: an HDR latency histogram, status and failure counts, and a
//! timeline (requests started, completed, failed and latency quantiles per time slot) for the
//! HTML report and `--rate` checks.
//!
//! Workers record into a few shards (a worker always uses the same one), so recording takes an
//! uncontended lock instead of serialising every request on one; shards are merged once at
//! the end.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The first slot width; it doubles whenever the timeline would exceed `MAX_SLOTS`, so memory
/// stays bounded however long the run.
const FIRST_SLOT_MS: u64 = 100;
const MAX_SLOTS: usize = 600;

/// Log-linear latency buckets for a slot: exact below 16 µs, then 8 sub-buckets per power of
/// two (within 12.5%), up to 2^36 µs. Coarse but tiny; the exact figures come from the HDR
/// histogram.
const SLOT_BUCKETS: usize = 16 + 32 * 8;

fn bucket(us: u64) -> usize {
    if us < 16 {
        return us as usize;
    }
    let e = (63 - us.leading_zeros()) as usize; // ≥ 4
    let sub = ((us >> (e - 3)) & 7) as usize;
    (16 + (e - 4) * 8 + sub).min(SLOT_BUCKETS - 1)
}

/// The middle of a bucket's range, for quantiles read back from a slot.
fn bucket_value(i: usize) -> u64 {
    if i < 16 {
        return i as u64;
    }
    let e = (i - 16) / 8 + 4;
    let sub = ((i - 16) % 8) as u64;
    let low = (1u64 << e) | (sub << (e - 3));
    low + (1u64 << (e - 3)) / 2
}

#[derive(Clone)]
pub struct Slot {
    /// Requests whose first byte was handed to the client in this slot (actual, not scheduled).
    pub started: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub max_us: u64,
    hist: Box<[u32; SLOT_BUCKETS]>,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            started: 0,
            succeeded: 0,
            failed: 0,
            max_us: 0,
            hist: Box::new([0; SLOT_BUCKETS]),
        }
    }
}

impl Slot {
    fn merge(&mut self, o: &Slot) {
        self.started += o.started;
        self.succeeded += o.succeeded;
        self.failed += o.failed;
        self.max_us = self.max_us.max(o.max_us);
        for (a, b) in self.hist.iter_mut().zip(o.hist.iter()) {
            *a += b;
        }
    }

    /// The non-empty latency buckets, `(index, count)` (a result file's form of the slot).
    pub fn buckets(&self) -> Vec<(usize, u32)> {
        self.hist
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (i, *n))
            .collect()
    }

    /// A slot read back from a result file; `None` if a bucket index is out of range.
    pub fn from_parts(
        started: u64,
        succeeded: u64,
        failed: u64,
        max_us: u64,
        buckets: &[(usize, u32)],
    ) -> Option<Slot> {
        let mut s = Slot {
            started,
            succeeded,
            failed,
            max_us,
            ..Slot::default()
        };
        for (i, n) in buckets {
            *s.hist.get_mut(*i)? += n;
        }
        Some(s)
    }

    /// Adds another slot's counts (merging result files).
    pub fn add(&mut self, o: &Slot) {
        self.merge(o);
    }

    /// The latency at quantile `q` of this slot's successes (µs, ±6%), or None if it had none.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.succeeded == 0 {
            return None;
        }
        let rank = ((self.succeeded as f64 * q).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, n) in self.hist.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= rank {
                return Some(bucket_value(i).min(self.max_us));
            }
        }
        Some(self.max_us)
    }
}

/// Slots of equal width from the start of measurement.
#[derive(Clone)]
pub struct Timeline {
    pub slot_ms: u64,
    pub slots: Vec<Slot>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            slot_ms: FIRST_SLOT_MS,
            slots: Vec::new(),
        }
    }
}

impl Timeline {
    fn slot(&mut self, at: Duration) -> &mut Slot {
        let mut i = (at.as_millis() as u64 / self.slot_ms) as usize;
        while i >= MAX_SLOTS {
            self.widen();
            i = (at.as_millis() as u64 / self.slot_ms) as usize;
        }
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, Slot::default);
        }
        &mut self.slots[i]
    }

    /// Doubles the slot width, merging neighbours.
    fn widen(&mut self) {
        let old = std::mem::take(&mut self.slots);
        for pair in old.chunks(2) {
            let mut s = pair[0].clone();
            if let Some(b) = pair.get(1) {
                s.merge(b);
            }
            self.slots.push(s);
        }
        self.slot_ms *= 2;
    }

    fn merge(&mut self, o: &Timeline) {
        let mut o = o.clone();
        while o.slot_ms < self.slot_ms {
            o.widen();
        }
        while self.slot_ms < o.slot_ms {
            self.widen();
        }
        if self.slots.len() < o.slots.len() {
            self.slots.resize_with(o.slots.len(), Slot::default);
        }
        for (a, b) in self.slots.iter_mut().zip(o.slots.iter()) {
            a.merge(b);
        }
    }
}

/// How a request failed: its category (the report's line) and its error's reason (grouped
/// under the category). Boxed: a request's future keeps room for its outcome.
pub struct Failure(Box<(String, String)>);

impl Failure {
    pub fn new(kind: String, e: &h2kit::Error) -> Failure {
        Failure(Box::new((kind, e.reason())))
    }
}

/// Distinct messages kept per failure category; the rest are only counted.
pub const MESSAGES_PER_KIND: usize = 3;

/// The distinct messages of one failure category, first seen first, and the count of those
/// beyond [`MESSAGES_PER_KIND`].
#[derive(Clone, Default)]
pub struct Messages {
    pub first: Vec<(String, u64)>,
    pub others: u64,
}

impl Messages {
    fn add(&mut self, message: &str, n: u64) {
        if let Some(m) = self.first.iter_mut().find(|(m, _)| m == message) {
            m.1 += n;
        } else if self.first.len() < MESSAGES_PER_KIND {
            self.first.push((message.to_string(), n));
        } else {
            self.others += n;
        }
    }
}

/// One shard's (and, merged, the run's) results.
pub struct Recorder {
    pub latency: Histogram<u64>,
    pub timeline: Timeline,
    pub succeeded: u64,
    pub bytes: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub failures: BTreeMap<String, u64>,
    /// By category: what the errors said.
    pub messages: BTreeMap<String, Messages>,
    /// Per line of a `--requests-file` mix (empty otherwise).
    pub lines: Vec<LineStats>,
}

/// One line of a request mix: its statuses, failures and latencies.
#[derive(Clone)]
pub struct LineStats {
    pub statuses: BTreeMap<u16, u64>,
    pub failed: u64,
    pub latency: Histogram<u64>,
}

impl LineStats {
    fn new() -> LineStats {
        LineStats {
            statuses: BTreeMap::new(),
            failed: 0,
            // 1 µs to 1 hour at 2 significant digits: a few KiB per line.
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("histogram bounds"),
        }
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            // 1 µs to 1 hour at 3 significant digits.
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds"),
            timeline: Timeline::default(),
            succeeded: 0,
            bytes: 0,
            statuses: BTreeMap::new(),
            failures: BTreeMap::new(),
            messages: BTreeMap::new(),
            lines: Vec::new(),
        }
    }

    /// The outcome of a request of line `line` of a mix: its status and latency, or `None`
    /// for a failure.
    pub fn line(&mut self, line: usize, outcome: Option<(u16, Duration)>) {
        if self.lines.len() <= line {
            self.lines.resize_with(line + 1, LineStats::new);
        }
        let l = &mut self.lines[line];
        match outcome {
            Some((status, latency)) => {
                *l.statuses.entry(status).or_default() += 1;
                let us = (latency.as_micros() as u64).max(1);
                let _ = l.latency.record(us.min(l.latency.high()));
            }
            None => l.failed += 1,
        }
    }

    /// A request was handed to the client `at` after measurement began.
    pub fn started(&mut self, at: Duration) {
        self.timeline.slot(at).started += 1;
    }

    /// A response completed `at`, `latency` after it was due (scheduled or started).
    pub fn success(&mut self, at: Duration, latency: Duration, status: u16, bytes: u64) {
        let us = (latency.as_micros() as u64).max(1);
        let _ = self.latency.record(us.min(self.latency.high()));
        self.succeeded += 1;
        self.bytes += bytes;
        *self.statuses.entry(status).or_default() += 1;
        let s = self.timeline.slot(at);
        s.succeeded += 1;
        s.max_us = s.max_us.max(us);
        s.hist[bucket(us)] += 1;
    }

    pub fn failure(&mut self, at: Duration, failure: Failure) {
        let (kind, message) = *failure.0;
        self.messages
            .entry(kind.clone())
            .or_default()
            .add(&message, 1);
        *self.failures.entry(kind).or_default() += 1;
        self.timeline.slot(at).failed += 1;
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    fn merge(&mut self, o: &Recorder) {
        let _ = self.latency.add(&o.latency);
        self.timeline.merge(&o.timeline);
        self.succeeded += o.succeeded;
        self.bytes += o.bytes;
        for (k, v) in &o.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &o.failures {
            *self.failures.entry(k.clone()).or_default() += v;
        }
        for (k, m) in &o.messages {
            let mine = self.messages.entry(k.clone()).or_default();
            for (message, n) in &m.first {
                mine.add(message, *n);
            }
            mine.others += m.others;
        }
        if self.lines.len() < o.lines.len() {
            self.lines.resize_with(o.lines.len(), LineStats::new);
        }
        for (a, b) in self.lines.iter_mut().zip(&o.lines) {
            for (k, v) in &b.statuses {
                *a.statuses.entry(*k).or_default() += v;
            }
            a.failed += b.failed;
            let _ = a.latency.add(&b.latency);
        }
    }
}

/// Recorders shared by the workers; worker (or request) `i` uses shard `i % len`.
pub struct Shards(Vec<Mutex<Recorder>>);

impl Shards {
    pub fn new(n: usize) -> Shards {
        Shards((0..n.max(1)).map(|_| Mutex::new(Recorder::new())).collect())
    }

    pub fn with<R>(&self, i: usize, f: impl FnOnce(&mut Recorder) -> R) -> R {
        f(&mut self.0[i % self.0.len()].lock().unwrap())
    }

    /// Requests completed and failed so far, for the progress display.
    pub fn progress(&self) -> (u64, u64) {
        self.0.iter().fold((0, 0), |(done, failed), s| {
            let r = s.lock().unwrap();
            let f = r.failed();
            (done + r.succeeded + f, failed + f)
        })
    }

    pub fn merged(&self) -> Recorder {
        let mut all = Recorder::new();
        for s in &self.0 {
            all.merge(&s.lock().unwrap());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for us in 1..5_000_000u64 {
            let b = bucket(us);
            assert!(b >= last);
            last = b;
            let mid = bucket_value(b);
            assert!(mid.abs_diff(us) * 8 <= us.max(8), "{us} → {b} → {mid}");
        }
    }

    #[test]
    fn timeline_widens_and_keeps_counts() {
        let mut t = Timeline::default();
        for ms in 0..200_000u64 {
            t.slot(Duration::from_millis(ms)).started += 1;
        }
        assert!(t.slots.len() <= MAX_SLOTS);
        assert_eq!(t.slot_ms, 400);
        assert_eq!(t.slots.iter().map(|s| s.started).sum::<u64>(), 200_000);
        let mut other = Timeline::default();
        other.slot(Duration::from_millis(5)).started += 7;
        t.merge(&other);
        assert_eq!(t.slots[0].started, 407);
    }

    #[test]
    fn slot_quantiles() {
        let mut r = Recorder::new();
        for us in 1..=1000u64 {
            r.success(Duration::ZERO, Duration::from_micros(us), 200, 0);
        }
        let s = &r.timeline.slots[0];
        let p50 = s.quantile(0.5).unwrap();
        let p99 = s.quantile(0.99).unwrap();
        assert!((440..=560).contains(&p50), "{p50}");
        assert!((930..=1000).contains(&p99), "{p99}");
        assert_eq!(s.max_us, 1000);
    }
}
