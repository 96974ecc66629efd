//! `h2kit load`: the embedded run, the JSON report, a server that refuses streams, bad input.

mod common;
use common::h2kit;

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
    assert!(v["latency_us"]["p99"].as_u64().unwrap() >= v["latency_us"]["p50"].as_u64().unwrap());
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
    assert_eq!(
        v["rst_stream_received"]["REFUSED_STREAM"].as_u64(),
        Some(retries),
        "{v}"
    );
    assert_eq!(v["succeeded"].as_u64(), Some(300), "{v}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [
        vec!["-n", "0"],
        vec!["-c", "0"],
        vec!["-D", "0s"],
        vec!["--threads", "0"],
        vec!["-X", "BAD METHOD"],
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
