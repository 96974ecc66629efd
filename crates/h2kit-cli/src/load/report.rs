//! The load report: plain text for people, JSON for machines (same figures).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use h2kit::client::ClientStats;
use serde_json::json;

use super::record::Recorder;

pub struct Report<'a> {
    pub url: &'a str,
    pub connections: usize,
    pub streams: usize,
    /// The open model's mean scheduled rate.
    pub rate: Option<f64>,
    /// The rate followed `--stages`.
    pub stages: bool,
    pub warm_up: Option<Duration>,
    /// `--busy-poll`: figures taken with it are not comparable with figures taken without.
    pub busy_poll: bool,
    /// From the end of the warm-up to the last response.
    pub elapsed: Duration,
    pub rec: &'a Recorder,
    pub stats: &'a ClientStats,
    /// The lines of a `--requests-file` mix, as written (empty otherwise).
    pub lines: &'a [String],
}

/// Latency figures in µs.
pub struct Latency {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
}

impl Report<'_> {
    pub fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn requests(&self) -> u64 {
        self.rec.succeeded + self.rec.failed()
    }

    pub fn latency(&self) -> Option<Latency> {
        let h = &self.rec.latency;
        (!h.is_empty()).then(|| Latency {
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            max: h.max(),
        })
    }

    /// How the load was made, for the text and HTML headings.
    pub fn model(&self) -> String {
        let model = match self.rate {
            Some(r) if self.stages => format!("open model, stages averaging {r:.1} req/s"),
            Some(r) => format!("open model, {r} req/s scheduled"),
            None => format!(
                "{} connection(s) × {} streams",
                self.connections, self.streams
            ),
        };
        if self.busy_poll {
            model + ", busy-polling"
        } else {
            model
        }
    }

    fn codes(counts: &h2kit::proto::stats::CodeCounts) -> BTreeMap<String, u64> {
        counts.iter().map(|(c, n)| (c.to_string(), n)).collect()
    }

    pub fn json(&self) -> serde_json::Value {
        let c = &self.stats.connections;
        let secs = self.secs();
        let latency = self.latency().map(|l| {
            json!({"min": l.min, "mean": l.mean, "p50": l.p50, "p90": l.p90, "p99": l.p99,
                   "p99_9": l.p99_9, "max": l.max})
        });
        let timeline: Vec<_> = self
            .rec
            .timeline
            .slots
            .iter()
            .map(|s| {
                json!({"started": s.started, "succeeded": s.succeeded, "failed": s.failed,
                       "p50_us": s.quantile(0.5), "p99_us": s.quantile(0.99), "max_us": s.max_us})
            })
            .collect();
        json!({
            "url": self.url,
            "model": if self.rate.is_some() { "open" } else { "closed" },
            "rate": self.rate,
            "connections": self.connections,
            "streams_per_connection": self.streams,
            "warm_up_seconds": self.warm_up.map(|w| w.as_secs_f64()),
            "busy_poll": self.busy_poll,
            "seconds": secs,
            // Requests the client sent but the report does not count (the warm-up's).
            "warm_up_requests": self.stats.requests.saturating_sub(self.requests()),
            "requests": self.requests(),
            "succeeded": self.rec.succeeded,
            "failed": self.rec.failed(),
            "requests_per_second": self.requests() as f64 / secs,
            "bytes_per_second": self.rec.bytes as f64 / secs,
            "latency_us": latency,
            "status": self.rec.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "failures": self.rec.failures,
            "failure_messages": self.rec.messages.iter().map(|(k, m)| {
                let first: Vec<_> = m.first.iter().map(|(message, n)| json!({"message": message, "count": n})).collect();
                (k.clone(), json!({"first": first, "others": m.others}))
            }).collect::<BTreeMap<_, _>>(),
            "retries": {
                "refused_stream": self.stats.retries_refused_stream,
                "goaway": self.stats.retries_goaway,
                "connection_lost": self.stats.retries_connection_lost,
            },
            "rst_stream_received": Self::codes(&c.resets_received),
            "rst_stream_sent": Self::codes(&c.resets_sent),
            "goaway_received": Self::codes(&c.goaways_received),
            "pings_sent": c.pings_sent,
            "connections_opened": c.connections_accepted,
            "timeline": {"slot_ms": self.rec.timeline.slot_ms, "slots": timeline},
            "lines": self.per_line().iter().map(|l| json!({
                "request": l.0, "succeeded": l.1, "failed": l.2, "status": l.3,
                "p50_us": l.4, "p99_us": l.5,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn text(&self) -> String {
        let mut o = String::new();
        let c = &self.stats.connections;
        let secs = self.secs();
        let warm = self
            .warm_up
            .map(|w| format!(" after {:.1}s warm-up", w.as_secs_f64()))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "h2kit load {}: {}, {secs:.2}s{warm}",
            self.url,
            self.model()
        );
        let _ = writeln!(
            o,
            "requests: {} total, {} succeeded, {} failed — {:.0} req/s, {:.2} MB/s",
            self.requests(),
            self.rec.succeeded,
            self.rec.failed(),
            self.requests() as f64 / secs,
            self.rec.bytes as f64 / secs / 1e6
        );
        if let Some(l) = self.latency() {
            let from = if self.rate.is_some() {
                " (from scheduled time)"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "latency µs{from}: min {} mean {:.0} p50 {} p90 {} p99 {} p99.9 {} max {}",
                l.min, l.mean, l.p50, l.p90, l.p99, l.p99_9, l.max
            );
        }
        let statuses: Vec<String> = self
            .rec
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(o, "status codes: {}", list(statuses));
        for (kind, n) in &self.rec.failures {
            let _ = writeln!(o, "failed: {kind}: {n}");
            if let Some(m) = self.rec.messages.get(kind) {
                for (message, n) in &m.first {
                    let _ = writeln!(o, "  {n} × {message}");
                }
                if m.others > 0 {
                    let _ = writeln!(o, "  {} × other messages", m.others);
                }
            }
        }
        let s = self.stats;
        let _ = writeln!(
            o,
            "retries: {} after REFUSED_STREAM, {} after GOAWAY, {} after a lost connection",
            s.retries_refused_stream, s.retries_goaway, s.retries_connection_lost
        );
        let show = |m: BTreeMap<String, u64>| list(m.iter().map(|(c, n)| format!("{c} {n}")));
        let _ = writeln!(
            o,
            "RST_STREAM received: {}; sent: {} (non-zero only if requests were cancelled)",
            show(Self::codes(&c.resets_received)),
            show(Self::codes(&c.resets_sent))
        );
        let _ = writeln!(
            o,
            "GOAWAY received: {}; PINGs sent: {}; connections opened: {}",
            show(Self::codes(&c.goaways_received)),
            c.pings_sent,
            c.connections_accepted
        );
        if self.warm_up.is_some() {
            let _ = writeln!(
                o,
                "(connection counters include the warm-up; request figures do not)"
            );
        }
        let lines = self.per_line();
        if !lines.is_empty() {
            let _ = writeln!(o, "per request line:");
            for (text, ok, failed, status, p50, p99) in lines {
                let status: Vec<String> = status.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
                let ms =
                    |v: Option<u64>| v.map_or("-".into(), |v| format!("{:.3} ms", v as f64 / 1e3));
                let _ = writeln!(
                    o,
                    "  {text}\n    {ok} succeeded, {failed} failed; {}; p50 {} p99 {}",
                    if status.is_empty() {
                        "no status".to_string()
                    } else {
                        status.join(", ")
                    },
                    ms(p50),
                    ms(p99)
                );
            }
        }
        o
    }

    /// Per line of a mix: (line, succeeded, failed, statuses, p50 µs, p99 µs).
    #[allow(clippy::type_complexity)]
    fn per_line(
        &self,
    ) -> Vec<(
        &str,
        u64,
        u64,
        BTreeMap<String, u64>,
        Option<u64>,
        Option<u64>,
    )> {
        self.lines
            .iter()
            .enumerate()
            .map(|(i, text)| match self.rec.lines.get(i) {
                Some(l) => {
                    let q =
                        |q: f64| (!l.latency.is_empty()).then(|| l.latency.value_at_quantile(q));
                    let status = l
                        .statuses
                        .iter()
                        .map(|(k, v)| (k.to_string(), *v))
                        .collect();
                    (
                        text.as_str(),
                        l.latency.len(),
                        l.failed,
                        status,
                        q(0.5),
                        q(0.99),
                    )
                }
                None => (text.as_str(), 0, 0, BTreeMap::new(), None, None),
            })
            .collect()
    }
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
