//! `h2kit load --out` result files and `h2kit report`: three instances against one server,
//! merged count for count; thresholds; files that are not whole are refused.

mod common;
use common::*;

use serde_json::Value;

fn json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn three_instances_merge_count_for_count_with_exact_percentiles() {
    let served = Served::start(&[]);
    let dir = Scratch::new("report-merge");
    let url = served.url("/");
    let files: Vec<String> = (0..3).map(|i| dir.path(&format!("r{i}.json"))).collect();
    // Three instances at once, as on three machines.
    let runs: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (url, f) = (url.clone(), f.clone());
            std::thread::spawn(move || {
                let n = (5000 * (i + 1)).to_string();
                h2kit(
                    "load",
                    &[
                        "-c",
                        "1",
                        "-m",
                        "8",
                        "-n",
                        &n,
                        "--threads",
                        "1",
                        "--out",
                        &f,
                        &url,
                    ],
                )
            })
        })
        .collect();
    for r in runs {
        let (code, out, err) = r.join().unwrap();
        assert_eq!(code, Some(0), "{out}{err}");
    }
    let docs: Vec<Value> = files.iter().map(|f| json(f)).collect();
    for d in &docs {
        assert_eq!(d["schema"], "h2kit-load/1");
        assert!(d["latency_histogram"].as_str().unwrap().len() > 20);
        assert!(d["started_at"].as_str().unwrap().contains('T'));
        assert!(d["command_line"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--out"));
    }
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.push("--json");
    let (code, out, err) = h2kit("report", &args);
    assert_eq!(code, Some(0), "{err}");
    let m: Value = serde_json::from_str(&out).unwrap();
    let sum = |k: &str| docs.iter().map(|d| d[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(m["requests"].as_u64().unwrap(), 30_000);
    for k in ["requests", "succeeded", "failed", "connections_opened"] {
        assert_eq!(m[k].as_u64().unwrap(), sum(k), "{k}");
    }
    let status_200: u64 = docs
        .iter()
        .map(|d| d["status"]["200"].as_u64().unwrap())
        .sum();
    assert_eq!(m["status"]["200"].as_u64().unwrap(), status_200);
    // A quantile of the merged histogram lies between the instances' own.
    let p99s: Vec<u64> = docs
        .iter()
        .map(|d| d["latency_us"]["p99"].as_u64().unwrap())
        .collect();
    let p99 = m["latency_us"]["p99"].as_u64().unwrap();
    assert!(
        p99 >= *p99s.iter().min().unwrap() && p99 <= *p99s.iter().max().unwrap(),
        "{p99} {p99s:?}"
    );
    // The timelines, on one clock, still hold every request.
    let started: u64 = m["timeline"]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["succeeded"].as_u64().unwrap() + s["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(started, 30_000);
    // The same page `load --report` writes, for the merged result.
    let html = dir.path("merged.html");
    let mut with_html: Vec<&str> = files.iter().map(String::as_str).collect();
    with_html.extend(["--html", &html]);
    let (code, _, err) = h2kit("report", &with_html);
    assert_eq!(code, Some(0), "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("<svg"),
        "{page}"
    );
    assert!(page.contains("30000"), "the page counts every request");
    // The merged result is a result file again.
    let merged = dir.path("merged.json");
    std::fs::write(&merged, &out).unwrap();
    let (code, out, _) = h2kit("report", &[&merged, "--json"]);
    assert_eq!(code, Some(0));
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["requests"], m["requests"]);
    assert_eq!(again["latency_us"]["p99"], m["latency_us"]["p99"]);
}

#[test]
fn thresholds_gate_load_and_report() {
    let served = Served::start(&[]);
    let dir = Scratch::new("report-thresholds");
    let out = dir.path("r.json");
    let url = served.url("/");
    let (code, _, err) = h2kit(
        "load",
        &["-n", "2000", "--out", &out, "--fail-on", "p50<1us", &url],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("threshold 'p50<1us' breached: measured"),
        "{err}"
    );
    let (code, _, err) = h2kit(
        "report",
        &[
            &out,
            "--fail-on",
            "failure_rate<0.1%",
            "--fail-on",
            "p99<=10s",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = h2kit("report", &[&out, "--fail-on", "rps>1000000000"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("threshold 'rps>1000000000' breached: measured"),
        "{err}"
    );
}

#[test]
fn files_that_are_not_whole_are_refused_and_named() {
    let served = Served::start(&[]);
    let dir = Scratch::new("report-bad");
    let good = dir.path("good.json");
    let (code, _, err) = h2kit("load", &["-n", "500", "--out", &good, &served.url("/")]);
    assert_eq!(code, Some(0), "{err}");
    let mut doc = json(&good);
    let write = |name: &str, v: &Value| {
        let p = dir.path(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p
    };
    let mut other = doc.clone();
    other["schema"] = "h2kit-load/9".into();
    let other = write("other.json", &other);
    let mut wrong_count = doc.clone();
    wrong_count["succeeded"] = 1.into();
    let wrong_count = write("count.json", &wrong_count);
    doc["latency_histogram"] = "bm90IGEgaGlzdG9ncmFt".into();
    let corrupt = write("corrupt.json", &doc);
    let text = dir.path("text.json");
    std::fs::write(&text, "not json").unwrap();
    for (file, says) in [
        (&other, "schema 'h2kit-load/9'"),
        (&wrong_count, "the latency histogram holds"),
        (&corrupt, "latency_histogram does not decode"),
        (&text, "not a result file"),
    ] {
        // Never a partial merge: the good file beside it changes nothing.
        let (code, out, err) = h2kit("report", &[&good, file]);
        assert_eq!(code, Some(2), "{out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(file.as_str()) && err.contains(says), "{err}");
        assert!(out.is_empty(), "{out}");
    }
    for (args, says) in [
        (
            vec!["-n", "10", "--fail-on", "p99<50", "http://127.0.0.1:1/"],
            "a latency needs a unit",
        ),
        (
            vec![
                "-n",
                "10",
                "--out",
                "/nonexistent/dir/r.json",
                "http://127.0.0.1:1/",
            ],
            "--out /nonexistent/dir/r.json",
        ),
    ] {
        let (code, _, err) = h2kit("load", &args);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn compare_puts_two_runs_side_by_side_and_calls_only_changes_beyond_their_noise() {
    let served = Served::start(&[]);
    let dir = Scratch::new("report-compare");
    let (one, many) = (dir.path("one.json"), dir.path("many.json"));
    let url = served.url("/");
    for (file, m) in [(&one, "1"), (&many, "100")] {
        let (code, _, err) = h2kit(
            "load",
            &["-D", "2s", "-c", "1", "-m", m, "--out", file, &url],
        );
        assert_eq!(code, Some(0), "{err}");
    }
    // A run against itself: no change anywhere.
    let (code, out, err) = h2kit("report", &["--compare", &one, &one]);
    assert_eq!(code, Some(0), "{err}");
    let line = out.lines().find(|l| l.starts_with("requests/s")).unwrap();
    assert!(
        line.contains("+0.0%") && line.contains("within noise"),
        "{out}"
    );
    // One stream at a time against a hundred: the throughput changes far beyond the noise.
    let (code, out, _) = h2kit("report", &["--compare", &one, &many]);
    assert_eq!(code, Some(0));
    let line = out.lines().find(|l| l.starts_with("requests/s")).unwrap();
    assert!(line.contains("beyond the noise"), "{out}");
    let line = out.lines().find(|l| l.starts_with("max")).unwrap();
    assert!(line.contains("noise not estimated"), "{out}");
}

/// The lines of a request mix merge too: counts summed, percentiles from merged histograms.
#[test]
fn request_mix_lines_merge_across_files() {
    let served = Served::start(&[]);
    let dir = Scratch::new("report-lines");
    let mix = dir.path("mix.txt");
    std::fs::write(
        &mix,
        format!(
            "3 GET {}\nGET {}\n",
            served.url("/"),
            served.url("/status/404")
        ),
    )
    .unwrap();
    let files: Vec<String> = (0..2).map(|i| dir.path(&format!("m{i}.json"))).collect();
    for f in &files {
        let (code, _, err) = h2kit("load", &["-n", "2000", "--requests-file", &mix, "--out", f]);
        assert_eq!(code, Some(0), "{err}");
    }
    let (code, out, err) = h2kit("report", &[&files[0], &files[1], "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let m: Value = serde_json::from_str(&out).unwrap();
    let docs: Vec<Value> = files.iter().map(|f| json(f)).collect();
    let lines = m["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        let sum: u64 = docs
            .iter()
            .map(|d| d["lines"][i]["succeeded"].as_u64().unwrap())
            .sum();
        assert_eq!(l["succeeded"].as_u64().unwrap(), sum);
        assert_eq!(l["request"], docs[0]["lines"][i]["request"]);
        let p99s: Vec<u64> = docs
            .iter()
            .map(|d| d["lines"][i]["p99_us"].as_u64().unwrap())
            .collect();
        let p99 = l["p99_us"].as_u64().unwrap();
        // Per-line histograms keep 2 significant digits: within 1% of the instances' range.
        let (lo, hi) = (*p99s.iter().min().unwrap(), *p99s.iter().max().unwrap());
        assert!(
            p99 * 100 >= lo * 99 && p99 * 100 <= hi * 101,
            "{p99} {p99s:?}"
        );
    }
    assert_eq!(
        lines[1]["status"]["404"].as_u64().unwrap(),
        lines[1]["succeeded"].as_u64().unwrap()
    );
    let (code, text, _) = h2kit("report", &[&files[0], &files[1]]);
    assert_eq!(code, Some(0));
    assert!(text.contains("per request line:"), "{text}");
}
