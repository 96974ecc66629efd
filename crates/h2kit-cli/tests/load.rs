//! `h2kit load`: the embedded run, the JSON report, a server that refuses streams, bad input.

mod common;
use common::h2kit;
use h2kit_test_support::peers::Nghttpd;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn load(args: &[&str]) -> (Option<i32>, String, String) {
    h2kit("load", args)
}

#[test]
fn embedded_run_completes_without_errors() {
    let (code, out, err) = load(&["-D", "1s"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(" succeeded, 0 failed"), "{out}");
    assert!(out.contains("latency µs: min"), "{out}");
    assert!(
        out.contains("RST_STREAM received: none; sent: none"),
        "{out}"
    );
}

#[test]
fn json_counts_add_up() {
    let (code, out, err) = load(&["-n", "5000", "-c", "2", "-m", "20", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("valid JSON");
    let requests = v["requests"].as_u64().unwrap();
    let succeeded = v["succeeded"].as_u64().unwrap();
    let failed = v["failed"].as_u64().unwrap();
    assert_eq!(requests, 5000);
    assert_eq!(succeeded + failed, requests);
    let statuses: u64 = v["status"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(statuses, succeeded);
    assert_eq!(v["connections_opened"].as_u64(), Some(2));
    assert_eq!(v["busy_poll"], false);
    assert!(v["latency_us"]["p99"].as_u64().unwrap() >= v["latency_us"]["p50"].as_u64().unwrap());
}

/// `--busy-poll` on one thread and on several: every request answered, the report says the
/// figures were taken polling, and the process ends (the pollers stop with the run).
#[test]
fn busy_poll_runs_complete_and_say_so() {
    for threads in ["1", "2"] {
        let (code, out, err) = load(&[
            "-n",
            "4000",
            "-c",
            "2",
            "-m",
            "20",
            "--threads",
            threads,
            "--busy-poll",
            "--json",
        ]);
        assert_eq!(code, Some(0), "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("valid JSON");
        assert_eq!(v["requests"].as_u64(), Some(4000), "{v}");
        assert_eq!(v["failed"].as_u64(), Some(0), "{v}");
        assert_eq!(v["busy_poll"], true);
    }
    let (code, out, err) = load(&["-n", "100", "--busy-poll"]);
    assert_eq!(code, Some(0), "{err}");
    let first = out.lines().next().unwrap();
    assert!(first.contains("streams, busy-polling, "), "{out}");
}

/// The open model sends at the requested rate whatever the responses do: every full second of
/// the run starts within 5% of the rate, and the report's rate agrees.
#[test]
fn rate_is_held_within_5_percent() {
    let rate = 2000.0;
    let (code, out, err) = load(&["--rate", "2000", "-D", "3s", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("valid JSON");
    assert_eq!(v["model"], "open");
    assert_eq!(v["failed"].as_u64(), Some(0), "{v}");
    let achieved = v["requests_per_second"].as_f64().unwrap();
    assert!((achieved - rate).abs() <= rate * 0.05, "{achieved} req/s");
    let slot_ms = v["timeline"]["slot_ms"].as_u64().unwrap();
    let started: Vec<u64> = v["timeline"]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["started"].as_u64().unwrap())
        .collect();
    let per_second = (1000 / slot_ms) as usize;
    let seconds: Vec<u64> = started
        .chunks(per_second)
        .filter(|c| c.len() == per_second)
        .map(|c| c.iter().sum())
        .collect();
    assert!(seconds.len() >= 2, "{started:?}");
    for n in &seconds {
        assert!((*n as f64 - rate).abs() <= rate * 0.05, "{seconds:?}");
    }
}

/// Warm-up requests are sent but not counted.
#[test]
fn warm_up_is_sent_but_not_counted() {
    let (code, out, err) = load(&["--warm-up", "500ms", "-n", "700", "-m", "10", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["requests"].as_u64(), Some(700), "{v}");
    assert_eq!(v["warm_up_seconds"].as_f64(), Some(0.5));
    assert!(v["warm_up_requests"].as_u64().unwrap() > 100, "{v}");
    let in_timeline: u64 = v["timeline"]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["succeeded"].as_u64().unwrap() + s["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(in_timeline, 700);
}

/// `--report` writes one self-contained page with the three charts.
#[test]
fn html_report_is_self_contained() {
    let dir = std::env::temp_dir().join(format!("h2kit-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.html");
    let (code, out, err) = load(&["-D", "1s", "--report", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("report: "), "{out}");
    let html = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(html.matches("<svg").count(), 3);
    assert_eq!(html.matches("</svg>").count(), 3);
    assert!(html.contains("Latency over time") && html.contains("Latency histogram"));
    assert!(
        html.matches("<polyline").count() >= 4,
        "throughput and latency lines"
    );
    assert!(html.matches("<rect").count() >= 3, "histogram bars");
    for external in ["<script", "<link", "src=", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn refused_streams_show_up_as_retries() {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/scripted_server.py");
    let mut server = Command::new("python3")
        .args(["-u", script.to_str().unwrap(), "refuse-third"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with h2 is required (CI installs it)");
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().strip_prefix("port ").unwrap().to_string();
    let url = format!("http://127.0.0.1:{port}/");
    let (code, out, err) = load(&["-n", "300", "-m", "10", "--json", &url]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let retries = v["retries"]["refused_stream"].as_u64().unwrap();
    // Every third stream is refused: about 150 refusals for 300 requests and their retries.
    assert!(retries >= 100, "{v}");
    // Every refusal was either retried or, after the client's 3 retries, reported as such
    // (a request is refused four times in a row with probability 1/81).
    let gave_up = v["failures"]["REFUSED_STREAM (after retries)"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        v["rst_stream_received"]["REFUSED_STREAM"].as_u64(),
        Some(retries + gave_up),
        "{v}"
    );
    assert_eq!(v["failed"].as_u64(), Some(gave_up), "{v}");
    assert!(gave_up <= 15, "{v}");
    assert_eq!(v["succeeded"].as_u64(), Some(300 - gave_up), "{v}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [
        vec!["-n", "0"],
        vec!["-c", "0"],
        vec!["-D", "0s"],
        vec!["--threads", "0"],
        vec!["-X", "BAD METHOD"],
        vec!["--rate", "0"],
        vec!["--rate=-3"],
        vec!["--bogus"],
        vec!["--rate", "fast"],
        vec!["--warm-up", "soon"],
        vec!["--response-timeout", "x"],
        vec!["--h2c", "https://127.0.0.1:1/"],
        vec!["ftp://example.com/"],
    ] {
        let (code, _, err) = load(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    let (code, _, err) = load(&["-n", "5", "-D", "2s"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--requests") && err.contains("--duration"),
        "{err}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = load(&["-n", "10", &format!("http://127.0.0.1:{port}/")]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("h2kit: cannot reach") && err.trim().lines().count() == 1,
        "{err}"
    );
}

/// The requests say who sends them, as h2load's and curl's do; `-H user-agent:` replaces it.
/// Checked in what nghttpd (an independent server) prints of the requests it received.
#[test]
fn requests_carry_a_user_agent_that_h_replaces() {
    let dir = std::env::temp_dir().join(format!("h2kit-ua-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "ua\n").unwrap();
    let server = Nghttpd::start(&dir, &["--no-tls", "-v"], &[]);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let (code, _, err) = load(&["-n", "1", "-c", "1", "-m", "1", &url]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = load(&[
        "-n",
        "1",
        "-c",
        "1",
        "-m",
        "1",
        "-H",
        "user-agent: probe/7",
        &url,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let log = server.finish();
    let agents: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("user-agent: ").map(|(_, v)| v.trim()))
        .collect();
    assert_eq!(
        agents,
        [concat!("h2kit/", env!("CARGO_PKG_VERSION")), "probe/7"],
        "{log}"
    );
}
