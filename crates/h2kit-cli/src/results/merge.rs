//! Reading result files (refusing any that is not whole) and merging them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::load::record::Slot;
use crate::load::result_file::SCHEMA;

/// One result file, checked.
pub struct Loaded {
    pub path: PathBuf,
    pub doc: Value,
    hist: Histogram<u64>,
    started: OffsetDateTime,
    slot_ms: u64,
    slots: Vec<Slot>,
    /// The lines of a request mix: (the request as written, its latency histogram).
    lines: Vec<(String, Histogram<u64>)>,
}

/// A histogram from its base64 V2 serialization.
fn decode(b64: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("not base64 ({e})"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("does not decode ({e:?})"))
}

impl Loaded {
    /// Reads and checks a file: its schema, its histogram (and that it holds as many
    /// latencies as the file has successes), its timeline. Errors name the file.
    pub fn read(path: &Path) -> Result<Loaded, String> {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{name}: not a result file: {e}"))?;
        Loaded::from_doc(path, doc)
    }

    /// Checks a result document (see `read`).
    fn from_doc(path: &Path, doc: Value) -> Result<Loaded, String> {
        let name = path.display();
        match doc["schema"].as_str() {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(format!(
                    "{name}: schema '{other}'; this h2kit reads {SCHEMA} (`h2kit load --out`)"
                ))
            }
            None => {
                return Err(format!(
                    "{name}: no schema: not a result file of `h2kit load --out`"
                ))
            }
        }
        let corrupt = |what: String| format!("{name}: corrupt result file: {what}");
        let hist = decode(doc["latency_histogram"].as_str().unwrap_or_default())
            .map_err(|e| corrupt(format!("latency_histogram {e}")))?;
        let succeeded = doc["succeeded"].as_u64().unwrap_or(u64::MAX);
        if hist.len() != succeeded {
            return Err(corrupt(format!(
                "the latency histogram holds {} values for {succeeded} successful requests",
                hist.len()
            )));
        }
        let started =
            OffsetDateTime::parse(doc["started_at"].as_str().unwrap_or_default(), &Rfc3339)
                .map_err(|e| corrupt(format!("started_at is not an RFC 3339 time ({e})")))?;
        let slot_ms = doc["timeline"]["slot_ms"]
            .as_u64()
            .filter(|m| *m > 0)
            .ok_or_else(|| corrupt("timeline.slot_ms is missing".into()))?;
        let mut slots = Vec::new();
        for (i, s) in doc["timeline"]["slots"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let n = |k: &str| s[k].as_u64().unwrap_or_default();
            let buckets: Vec<(usize, u32)> = serde_json::from_value(s["buckets"].clone())
                .map_err(|e| corrupt(format!("timeline slot {i}: buckets: {e}")))?;
            let slot = Slot::from_parts(
                n("started"),
                n("succeeded"),
                n("failed"),
                n("max_us"),
                &buckets,
            )
            .ok_or_else(|| corrupt(format!("timeline slot {i}: a bucket out of range")))?;
            slots.push(slot);
        }
        let mut lines = Vec::new();
        for (i, l) in doc["lines"].as_array().into_iter().flatten().enumerate() {
            let h = decode(l["latency_histogram"].as_str().unwrap_or_default())
                .map_err(|e| corrupt(format!("lines[{i}].latency_histogram {e}")))?;
            if h.len() != l["succeeded"].as_u64().unwrap_or(u64::MAX) {
                return Err(corrupt(format!(
                    "lines[{i}]: its histogram holds {} values for {} successes",
                    h.len(),
                    l["succeeded"]
                )));
            }
            lines.push((l["request"].as_str().unwrap_or_default().to_string(), h));
        }
        Ok(Loaded {
            path: path.to_path_buf(),
            doc,
            hist,
            started,
            slot_ms,
            slots,
            lines,
        })
    }
}

impl Loaded {
    /// The figures `load`'s HTML page draws, rebuilt from the document.
    pub fn recorder(&self) -> crate::load::record::Recorder {
        let mut rec = crate::load::record::Recorder::new();
        rec.latency = self.hist.clone();
        rec.timeline = crate::load::record::Timeline {
            slot_ms: self.slot_ms,
            slots: self.slots.clone(),
        };
        rec.succeeded = self.doc["succeeded"].as_u64().unwrap_or_default();
        rec.bytes = (self.doc["bytes_per_second"].as_f64().unwrap_or_default()
            * self.doc["seconds"].as_f64().unwrap_or_default()) as u64;
        for (k, v) in self.doc["status"].as_object().into_iter().flatten() {
            if let Ok(code) = k.parse() {
                rec.statuses.insert(code, v.as_u64().unwrap_or_default());
            }
        }
        for (k, v) in self.doc["failures"].as_object().into_iter().flatten() {
            rec.failures
                .insert(k.clone(), v.as_u64().unwrap_or_default());
        }
        rec
    }
}

/// The lines of request mixes, matched by the request as written (in the order first seen):
/// counts and statuses summed, histograms merged.
fn merge_lines(files: &[Loaded]) -> Result<Vec<(String, Histogram<u64>, Value)>, String> {
    let mut order: Vec<String> = Vec::new();
    let mut merged: BTreeMap<String, (Histogram<u64>, u64, Vec<&Value>)> = BTreeMap::new();
    for f in files {
        for ((request, h), i) in f.lines.iter().zip(0..) {
            let doc = &f.doc["lines"][i];
            let entry = match merged.get_mut(request) {
                Some(e) => e,
                None => {
                    order.push(request.clone());
                    let empty = Histogram::<u64>::new(2).map_err(|e| format!("{e:?}"))?;
                    merged
                        .entry(request.clone())
                        .or_insert((empty, 0, Vec::new()))
                }
            };
            entry
                .0
                .add(h)
                .map_err(|e| format!("{}: line '{request}': {e:?}", f.path.display()))?;
            entry.1 += doc["failed"].as_u64().unwrap_or(0);
            entry.2.push(doc);
        }
    }
    order
        .iter()
        .map(|request| {
            let (h, failed, docs) = &merged[request];
            let q = |q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q));
            let doc = json!({
                "request": request,
                "succeeded": h.len(),
                "failed": failed,
                "status": sum_maps(docs.iter().map(|d| &d["status"])),
                "p50_us": q(0.5),
                "p99_us": q(0.99),
                "latency_histogram": crate::load::result_file::encode(h)?,
            });
            Ok((request.clone(), h.clone(), doc))
        })
        .collect()
}

/// Sums maps of counts (`status`, `failures`, resets by code…) across files.
fn sum_maps<'a>(docs: impl Iterator<Item = &'a Value>) -> Value {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for d in docs {
        for (k, v) in d.as_object().into_iter().flatten() {
            *out.entry(k.clone()).or_default() += v.as_u64().unwrap_or_default();
        }
    }
    json!(out)
}

/// The merged result: a result document of the same schema, with its figures.
pub fn merge(files: &[Loaded]) -> Result<Loaded, String> {
    let mut hist = Histogram::<u64>::new(3).map_err(|e| format!("histogram: {e:?}"))?;
    for f in files {
        hist.add(&f.hist)
            .map_err(|e| format!("{}: cannot merge its histogram: {e:?}", f.path.display()))?;
    }
    let start = files
        .iter()
        .map(|f| f.started)
        .min()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let end = files
        .iter()
        .map(|f| {
            f.started + time::Duration::seconds_f64(f.doc["seconds"].as_f64().unwrap_or_default())
        })
        .max()
        .unwrap_or(start);
    let secs = (end - start).as_seconds_f64().max(1e-9);
    let sum = |k: &str| {
        files
            .iter()
            .map(|f| f.doc[k].as_u64().unwrap_or_default())
            .sum::<u64>()
    };
    let requests = sum("requests");
    let bytes: f64 = files
        .iter()
        .map(|f| {
            f.doc["bytes_per_second"].as_f64().unwrap_or_default()
                * f.doc["seconds"].as_f64().unwrap_or_default()
        })
        .sum();
    // Timelines on one clock: the widest slot, each file's slots placed by their start.
    let slot_ms = files.iter().map(|f| f.slot_ms).max().unwrap_or(100);
    let mut slots: Vec<Slot> = Vec::new();
    for f in files {
        let offset_ms = (f.started - start).whole_milliseconds().max(0) as u64;
        for (i, s) in f.slots.iter().enumerate() {
            let at = offset_ms + i as u64 * f.slot_ms;
            let j = (at / slot_ms) as usize;
            if slots.len() <= j {
                slots.resize_with(j + 1, Slot::default);
            }
            slots[j].add(s);
        }
    }
    let latency = (!hist.is_empty()).then(|| {
        json!({"min": hist.min(), "mean": hist.mean(), "p50": hist.value_at_quantile(0.5),
               "p90": hist.value_at_quantile(0.9), "p99": hist.value_at_quantile(0.99),
               "p99_9": hist.value_at_quantile(0.999), "max": hist.max()})
    });
    let timeline: Vec<Value> = slots
        .iter()
        .map(|s| {
            json!({"started": s.started, "succeeded": s.succeeded, "failed": s.failed,
                   "p50_us": s.quantile(0.5), "p99_us": s.quantile(0.99), "max_us": s.max_us,
                   "buckets": s.buckets()})
        })
        .collect();
    let lines = merge_lines(files)?;
    let mut retries = Map::new();
    for k in ["refused_stream", "goaway", "connection_lost"] {
        let n: u64 = files
            .iter()
            .map(|f| f.doc["retries"][k].as_u64().unwrap_or_default())
            .sum();
        retries.insert(k.into(), json!(n));
    }
    let doc = json!({
        "schema": SCHEMA,
        "merged_from": files.iter().map(|f| json!({
            "file": f.path.display().to_string(),
            "host": f.doc["host"],
            "started_at": f.doc["started_at"],
            "requests": f.doc["requests"],
        })).collect::<Vec<_>>(),
        "started_at": start.format(&Rfc3339).map_err(|e| e.to_string())?,
        "host": "merged",
        "command_line": std::env::args().collect::<Vec<_>>(),
        "url": files.first().map_or(Value::Null, |f| f.doc["url"].clone()),
        "connections": sum("connections"),
        "streams_per_connection": files.first().map_or(Value::Null, |f| f.doc["streams_per_connection"].clone()),
        "seconds": secs,
        "requests": requests,
        "succeeded": sum("succeeded"),
        "failed": sum("failed"),
        "requests_per_second": requests as f64 / secs,
        "bytes_per_second": bytes / secs,
        "latency_us": latency,
        "status": sum_maps(files.iter().map(|f| &f.doc["status"])),
        "failures": sum_maps(files.iter().map(|f| &f.doc["failures"])),
        "retries": retries,
        "rst_stream_received": sum_maps(files.iter().map(|f| &f.doc["rst_stream_received"])),
        "rst_stream_sent": sum_maps(files.iter().map(|f| &f.doc["rst_stream_sent"])),
        "goaway_received": sum_maps(files.iter().map(|f| &f.doc["goaway_received"])),
        "pings_sent": sum("pings_sent"),
        "connections_opened": sum("connections_opened"),
        "timeline": {"slot_ms": slot_ms, "slots": timeline},
        "lines": lines.iter().map(|l| &l.2).collect::<Vec<_>>(),
        "latency_histogram": crate::load::result_file::encode(&hist)?,
    });
    Ok(Loaded {
        path: PathBuf::from("merged"),
        doc,
        hist,
        started: start,
        slot_ms,
        slots,
        lines: lines.into_iter().map(|(r, h, _)| (r, h)).collect(),
    })
}
