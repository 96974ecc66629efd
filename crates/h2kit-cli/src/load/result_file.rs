//! `h2kit load --out FILE`: the run's result as a versioned JSON document (docs/load-results.md):
//! everything `--json` prints, plus what merging needs — the full latency histogram
//! (HdrHistogram's V2 serialization, base64), each timeline slot's latency buckets, the
//! wall-clock start, the host and the command line.

use std::time::SystemTime;

use base64::Engine as _;
use hdrhistogram::serialization::{Serializer as _, V2Serializer};
use serde_json::{json, Value};

use super::record::Recorder;

/// The schema this version writes and `h2kit report` reads.
pub const SCHEMA: &str = "h2kit-load/1";

/// `report` (the `--json` object) completed into a result document; `started` is the
/// wall-clock time measurement began.
pub fn document(mut report: Value, rec: &Recorder, started: SystemTime) -> Result<Value, String> {
    // Each line of a request mix with its own histogram, so that merged per-line percentiles
    // are exact too.
    if let Some(lines) = report["lines"].as_array_mut() {
        for (line, stats) in lines.iter_mut().zip(&rec.lines) {
            line["latency_histogram"] = json!(encode(&stats.latency)?);
        }
    }
    let started = time::OffsetDateTime::from(started)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("cannot format the start time: {e}"))?;
    if let Some(slots) = report["timeline"]["slots"].as_array_mut() {
        for (slot, rec_slot) in slots.iter_mut().zip(&rec.timeline.slots) {
            slot["buckets"] = json!(rec_slot.buckets());
        }
    }
    let extra = json!({
        "schema": SCHEMA,
        "started_at": started,
        "host": host(),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "latency_histogram": encode(&rec.latency)?,
    });
    if let (Value::Object(r), Value::Object(e)) = (&mut report, extra) {
        r.extend(e);
    }
    Ok(report)
}

/// A histogram in HdrHistogram's V2 serialization, base64.
pub fn encode(h: &hdrhistogram::Histogram<u64>) -> Result<String, String> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| format!("cannot serialize a latency histogram: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(&bytes))
}

/// This machine's name (Linux), or "unknown".
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}
