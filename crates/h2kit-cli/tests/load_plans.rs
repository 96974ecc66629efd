//! How `h2kit load` plans its requests: staged rates (`--stages`) and instances that share a
//! total and start together (`--instance`, `--start-at`).

mod common;
use common::*;

use serde_json::Value;

#[test]
fn stages_ramp_the_scheduled_rate_and_the_timeline_shows_it() {
    let served = Served::start(&[]);
    let (code, out, err) = h2kit(
        "load",
        &[
            "--stages",
            "1s:2000,1s:2000,1s:0",
            "--json",
            &served.url("/"),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    // 1,000 up the ramp, 2,000 level, 1,000 down.
    let n = r["requests"].as_u64().unwrap();
    assert!((3999..=4001).contains(&n), "{n}");
    let started: Vec<u64> = r["timeline"]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["started"].as_u64().unwrap())
        .collect();
    assert_eq!(r["timeline"]["slot_ms"], 100);
    // 100 ms slots: 10, 30, … 190 up; 200 level; 190 … 10 down. A busy machine may move a
    // few requests into the next slot; the shape stays.
    let near = |got: u64, want: u64| got.abs_diff(want) <= 25;
    assert!(near(started[0], 10) && near(started[9], 190), "{started:?}");
    assert!(started[10..20].iter().all(|s| near(*s, 200)), "{started:?}");
    assert!(
        near(started[20], 190) && near(started[29], 10),
        "{started:?}"
    );
    let (code, _, err) = h2kit("load", &["--stages", "30s:100,x:5", "http://127.0.0.1:1/"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("stage 2 ('x:5')"), "{err}");
}

#[test]
fn instances_take_their_share_and_start_together() {
    let served = Served::start(&[]);
    let dir = Scratch::new("load-instances");
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let runs: Vec<_> = (1..=3)
        .map(|i| {
            let (url, at, out) = (served.url("/"), at.clone(), dir.path(&format!("i{i}.json")));
            std::thread::spawn(move || {
                let inst = format!("{i}/3");
                let r = h2kit(
                    "load",
                    &[
                        "--instance",
                        &inst,
                        "-n",
                        "1000",
                        "--start-at",
                        &at,
                        "--out",
                        &out,
                        &url,
                    ],
                );
                (r, out)
            })
        })
        .collect();
    let mut starts = Vec::new();
    let mut total = 0;
    for r in runs {
        let ((code, _, err), out) = r.join().unwrap();
        assert_eq!(code, Some(0), "{err}");
        let d: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        total += d["requests"].as_u64().unwrap();
        let s = time::OffsetDateTime::parse(
            d["started_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        starts.push(s);
    }
    // 334 + 333 + 333.
    assert_eq!(total, 1000);
    let spread = *starts.iter().max().unwrap() - *starts.iter().min().unwrap();
    assert!(spread < time::Duration::milliseconds(200), "{spread}");
    let yesterday = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for (args, says) in [
        (
            vec!["--instance", "4/3", "http://127.0.0.1:1/"],
            "--instance",
        ),
        (
            vec!["--start-at", &yesterday, "http://127.0.0.1:1/"],
            "that time has passed",
        ),
        (
            vec!["--start-at", "noon", "http://127.0.0.1:1/"],
            "not an RFC 3339 time",
        ),
    ] {
        let (code, _, err) = h2kit("load", &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{err}");
    }
}

/// Ctrl-C ends the run early; the report is still printed and the result file written, and
/// the exit code says it was interrupted (130).
#[test]
fn an_interrupted_run_still_reports() {
    let served = Served::start(&[]);
    let dir = Scratch::new("load-interrupt");
    let out = dir.path("r.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_h2kit"))
        .args(["load", "-D", "60s", "--out", &out, &served.url("/")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let begun = std::time::Instant::now();
    let done = child.wait_with_output().unwrap();
    assert!(begun.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(done.status.code(), Some(130), "{}", text(&done));
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("requests:"), "{stdout}");
    assert!(String::from_utf8_lossy(&done.stderr).contains("interrupted"));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(r["requests"].as_u64().unwrap() > 0);
    assert!(r["seconds"].as_f64().unwrap() < 30.0);
}

/// A request mix: lines sent in proportion to their weights, each with its own statuses and
/// latency in the report.
#[test]
fn a_requests_file_mixes_requests_by_weight_and_reports_each_line() {
    let served = Served::start(&[]);
    let dir = Scratch::new("load-mix");
    std::fs::write(dir.0.join("body.txt"), "hello").unwrap();
    let file = dir.path("mix.txt");
    std::fs::write(
        &file,
        format!(
            "# two requests, 3:1\n\n3 GET {} accept: text/plain\nPOST {} @body.txt content-type: text/plain\n",
            served.url("/"),
            served.url("/status/404")
        ),
    )
    .unwrap();
    let (code, out, err) = h2kit("load", &["-n", "4000", "--requests-file", &file, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let lines = r["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    let (a, b) = (
        lines[0]["succeeded"].as_u64().unwrap(),
        lines[1]["succeeded"].as_u64().unwrap(),
    );
    assert_eq!(a + b, 4000);
    assert!((2900..=3100).contains(&a), "{a} {b}");
    assert_eq!(lines[0]["status"]["200"].as_u64().unwrap(), a);
    assert_eq!(lines[1]["status"]["404"].as_u64().unwrap(), b);
    assert!(lines[1]["request"].as_str().unwrap().starts_with("POST "));
    assert!(lines[0]["p99_us"].as_u64().is_some());
    for (content, says) in [
        (
            "GET http://127.0.0.1:1/ bogus\n",
            "line 1: 'bogus' is neither @BODY_FILE nor a header",
        ),
        ("# nothing\n", "no request in it"),
        (
            "\n0 GET http://127.0.0.1:1/\n",
            "line 2: a weight must be at least 1",
        ),
        (
            "G(T http://127.0.0.1:1/\n",
            "line 1: 'G(T' is not an HTTP method",
        ),
        ("GET http://127.0.0.1:1/ @missing.txt\n", "line 1: body"),
    ] {
        std::fs::write(&file, content).unwrap();
        let (code, _, err) = h2kit("load", &["--requests-file", &file]);
        assert_eq!(code, Some(2), "{content}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(says) && err.contains("--requests-file"),
            "{err}"
        );
    }
}
