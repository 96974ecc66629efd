//! `h2kit report FILE...`: merges `h2kit load --out` result files from any number of runs or
//! machines. Percentiles come from the merged histograms, so they are exact (not averages of
//! percentiles). Counts are summed and timelines are aligned by wall-clock time. The output
//! is text, `--json` (a result document again, which can itself be merged) or `--out FILE`,
//! and thresholds are checked with `--fail-on`.

mod compare;
mod merge;

use std::path::PathBuf;

use clap::Args as ClapArgs;
use serde_json::Value;

use crate::threshold::Threshold;

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Result files written by `h2kit load --out`.
    #[arg(required_unless_present = "compare", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Compare two results (each a result file, possibly merged): every figure side by side,
    /// its change, and whether the change is beyond the runs' own noise.
    #[arg(long, num_args = 2, value_names = ["BASE", "NEW"], conflicts_with = "files")]
    compare: Vec<PathBuf>,
    /// Print the merged result as JSON (the same schema as the files).
    #[arg(long)]
    json: bool,
    /// Also write the merged result to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the merged result as the HTML page `load --report` writes.
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
    /// Exit 1 if the merged result breaches this threshold (as `h2kit load --fail-on`).
    #[arg(long = "fail-on", value_name = "EXPR", value_parser = Threshold::parse)]
    fail_on: Vec<Threshold>,
}

pub fn run(args: Args) -> Result<(), crate::Exit> {
    if let [base, new] = &args.compare[..] {
        let (b, n) = (merge::Loaded::read(base)?, merge::Loaded::read(new)?);
        print!(
            "{}",
            compare::text(
                &b.doc,
                &n.doc,
                &base.display().to_string(),
                &new.display().to_string()
            )
        );
        return crate::threshold::gate(&args.fail_on, &n.doc);
    }
    let files = args
        .files
        .iter()
        .map(|p| merge::Loaded::read(p))
        .collect::<Result<Vec<_>, String>>()?;
    let merged = merge::merge(&files)?;
    if args.json {
        println!("{}", merged.doc);
    } else {
        print!("{}", text(&merged.doc, &files));
    }
    if let Some(path) = &args.out {
        std::fs::write(path, merged.doc.to_string())
            .map_err(|e| crate::Exit::Failed(format!("--out {}: {e}", path.display())))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html(&merged)?)
            .map_err(|e| crate::Exit::Failed(format!("--html {}: {e}", path.display())))?;
    }
    crate::threshold::gate(&args.fail_on, &merged.doc)
}

fn ms(us: &Value) -> String {
    us.as_f64()
        .map_or("-".into(), |v| format!("{:.3} ms", v / 1000.0))
}

fn counts(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".into(),
    }
}

/// The merged report for people: totals, latency, counts by kind, then one line per file.
fn text(m: &Value, files: &[merge::Loaded]) -> String {
    let l = &m["latency_us"];
    let mut o = format!(
        "{} result files, {:.1} s from {}\n",
        files.len(),
        m["seconds"].as_f64().unwrap_or_default(),
        m["started_at"].as_str().unwrap_or_default()
    );
    o += &format!(
        "requests: {} total, {} succeeded, {} failed — {:.1} req/s\n",
        m["requests"],
        m["succeeded"],
        m["failed"],
        m["requests_per_second"].as_f64().unwrap_or_default()
    );
    o += &format!(
        "latency: min {}, mean {}, p50 {}, p90 {}, p99 {}, p99.9 {}, max {}\n",
        ms(&l["min"]),
        ms(&l["mean"]),
        ms(&l["p50"]),
        ms(&l["p90"]),
        ms(&l["p99"]),
        ms(&l["p99_9"]),
        ms(&l["max"])
    );
    o += &format!("status: {}\n", counts(&m["status"]));
    o += &format!("failures: {}\n", counts(&m["failures"]));
    o += &format!(
        "RST_STREAM received: {}\n",
        counts(&m["rst_stream_received"])
    );
    o += &format!("GOAWAY received: {}\n", counts(&m["goaway_received"]));
    if let Some(lines) = m["lines"].as_array().filter(|l| !l.is_empty()) {
        o += "per request line:\n";
        for l in lines {
            o += &format!(
                "  {}\n    {} succeeded, {} failed; {}; p50 {} p99 {}\n",
                l["request"].as_str().unwrap_or_default(),
                l["succeeded"],
                l["failed"],
                counts(&l["status"]),
                ms(&l["p50_us"]),
                ms(&l["p99_us"])
            );
        }
    }
    o += "files:\n";
    for f in files {
        let d = &f.doc;
        o += &format!(
            "  {}: {} on {}, {} requests, {:.1} req/s, p99 {}\n",
            f.path.display(),
            d["started_at"].as_str().unwrap_or_default(),
            d["host"].as_str().unwrap_or_default(),
            d["requests"],
            d["requests_per_second"].as_f64().unwrap_or_default(),
            ms(&d["latency_us"]["p99"])
        );
    }
    o
}

/// The merged result as `load`'s HTML page.
fn html(m: &merge::Loaded) -> Result<String, String> {
    let merged = &m.doc;
    let rec = m.recorder();
    let stats = h2kit::client::ClientStats::default();
    let url = merged["url"].as_str().unwrap_or_default();
    let r = crate::load::report::Report {
        url,
        connections: merged["connections"].as_u64().unwrap_or_default() as usize,
        streams: merged["streams_per_connection"]
            .as_u64()
            .unwrap_or_default() as usize,
        rate: None,
        stages: false,
        warm_up: None,
        busy_poll: false,
        elapsed: std::time::Duration::from_secs_f64(merged["seconds"].as_f64().unwrap_or_default()),
        rec: &rec,
        stats: &stats,
        lines: &[],
    };
    Ok(crate::load::html::render(&r))
}
