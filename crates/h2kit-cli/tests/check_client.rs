//! `h2kit check client -- COMMAND {url}` against clients nobody here wrote (curl, nghttp,
//! Python's h2, Go 1.19's net/http) and against h2kit's own `get` and `load`.
//!
//! Each finding asserted below is a rule the client's answer visibly breaks; a checker that
//! stopped finding them would fail here. What the clients get right is asserted too.

mod common;
use common::*;

use h2kit_test_support::peers::go_build;
use serde_json::Value;

/// Runs `h2kit check client ARGS… --json -- COMMAND…`: (exit code, report).
fn check(args: &[&str], command: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["client", "--json"];
    all.extend_from_slice(args);
    all.push("--");
    all.extend_from_slice(command);
    let (code, out, err) = h2kit("check", &all);
    let report = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, report)
}

/// (id, result, detail) of the cases that did not pass.
fn not_passed(report: &Value) -> Vec<(String, String, String)> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] != "passed")
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["result"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn result<'a>(report: &'a Value, id: &str) -> (&'a str, &'a str) {
    let c = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in {report}"));
    (c["result"].as_str().unwrap(), c["detail"].as_str().unwrap())
}

const H2KIT: &str = env!("CARGO_BIN_EXE_h2kit");

#[test]
fn h2kit_get_passes_every_case_over_h2c_and_tls() {
    let (code, report) = check(&["--only", "rfc9113"], &[H2KIT, "get", "{url}"]);
    assert_eq!(code, Some(0), "{:#?}", not_passed(&report));
    // Every case passes, but the late DATA after a reset may find a one-request client
    // already gone (not applicable, by timing).
    for (id, r, detail) in not_passed(&report) {
        assert!(
            id == "5.1/reset-then-data" && r == "not applicable",
            "{id}: {r}: {detail}"
        );
    }
    assert!(report["summary"]["cases"].as_u64().unwrap() > 55);
    let (code, report) = check(
        &["--only", "rfc9113", "--tls"],
        &[H2KIT, "get", "--cacert", "{cacert}", "{url}"],
    );
    assert_eq!(code, Some(0), "{:#?}", not_passed(&report));
}

#[test]
fn h2kit_load_passes_every_citizen_case() {
    let (code, report) = check(
        &["--only", "citizen", "--citizen-timeout", "6s"],
        &[H2KIT, "load", "-n", "3000", "-c", "2", "-m", "10", "{url}"],
    );
    assert_eq!(code, Some(0), "{:#?}", not_passed(&report));
    assert!(not_passed(&report).is_empty(), "{:#?}", not_passed(&report));
    let (_, detail) = result(&report, "citizen/end-stream-in-empty-data-1ms");
    assert!(detail.contains("3000 requests"), "{detail}");
    assert!(
        detail.contains(" 0 RST_STREAM after END_STREAM"),
        "{detail}"
    );
    let (_, detail) = result(&report, "citizen/max-concurrent-1");
    assert!(detail.contains("at most 1 open at once"), "{detail}");
}

#[test]
fn curl_and_nghttp_answer_as_the_rfc_requires() {
    for command in [
        &[
            "curl",
            "-s",
            "--http2-prior-knowledge",
            "-o",
            "/dev/null",
            "{url}",
        ][..],
        &["nghttp", "{url}"][..],
    ] {
        let (code, report) = check(&["--only", "rfc9113"], command);
        assert_eq!(code, Some(0), "{command:?}: {:#?}", not_passed(&report));
        // The late DATA after a reset comes when these one-request clients have already
        // finished with the connection: not applicable, never a pass or a failure by timing.
        for (id, r, _) in not_passed(&report) {
            assert_eq!(r, "not applicable", "{command:?} {id}");
        }
    }
}

#[test]
fn python_h2_is_caught_where_it_breaks_the_rfc() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/h2_get.py");
    let (code, report) = check(&["--only", "rfc9113"], &["python3", script, "{url}"]);
    assert_eq!(code, Some(1));
    // §4.3: a field block that cannot be decompressed is a COMPRESSION_ERROR; h2 says
    // PROTOCOL_ERROR.
    let (r, detail) = result(&report, "4.3/bad-block");
    assert_eq!(r, "failed");
    assert!(
        detail.contains("GOAWAY (PROTOCOL_ERROR), expected COMPRESSION_ERROR"),
        "{detail}"
    );
    // §6.5: a SETTINGS ACK with a payload is a FRAME_SIZE_ERROR.
    assert!(result(&report, "6.5/ack-with-payload")
        .1
        .contains("expected FRAME_SIZE_ERROR"));
    // §5.1: RST_STREAM on an idle stream is a connection error; h2 ignores it.
    assert_eq!(result(&report, "5.1/idle-rst").0, "failed");
    // What it gets right.
    for id in [
        "6.9.1/connection-overflow",
        "8.2/uppercase-name",
        "6.10/continuation",
    ] {
        assert_eq!(result(&report, id).0, "passed", "{id}");
    }
}

/// The seeds' client bug: Go 1.19 decodes a JSON reply, closes the body before END_STREAM
/// has arrived, and resets the stream: with END_STREAM in an empty DATA frame 1 ms after the
/// body, thousands of its resets land on streams the server has already closed.
#[test]
fn go_1_19_client_is_caught_resetting_closed_streams() {
    let dir = Scratch::new("check-go-client");
    let binary = go_build("client", &dir.0);
    let binary = binary.to_str().unwrap();
    let (code, report) = check(
        &[
            "--tls",
            "--case",
            "citizen/end-stream",
            "--case",
            "citizen/no-ping",
        ],
        &[binary, "{url}", "{cacert}", "20", "100"],
    );
    assert_eq!(code, Some(1), "{report:#}");
    let (r, detail) = result(&report, "citizen/end-stream-in-empty-data-1ms");
    assert_eq!(r, "failed", "{detail}");
    assert!(detail.starts_with("2000 requests"), "{detail}");
    let resets: u64 = detail
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{detail}"));
    assert!(resets > 0, "{detail}");
    // It resets without a PING each time.
    assert_eq!(result(&report, "citizen/no-ping-per-reset").0, "passed");
}

#[test]
fn a_client_that_cannot_start_or_never_connects_is_reported_per_case() {
    let (code, report) = check(
        &["--only", "rfc9113", "--case", "6.1", "--timeout", "500ms"],
        &["/nonexistent/client", "{url}"],
    );
    assert_eq!(code, Some(1));
    for (_, r, detail) in not_passed(&report) {
        assert_eq!(r, "failed");
        assert!(
            detail.contains("cannot start the client command `/nonexistent/client`"),
            "{detail}"
        );
    }
    let (code, report) = check(
        &["--only", "rfc9113", "--case", "6.1", "--timeout", "500ms"],
        &["true", "{url}"],
    );
    assert_eq!(code, Some(1));
    for (_, _, detail) in not_passed(&report) {
        assert!(
            detail.contains("ended (exit status: 0) without connecting"),
            "{detail}"
        );
    }
    let (code, report) = check(
        &[
            "--only",
            "rfc9113",
            "--case",
            "6.1/stream",
            "--timeout",
            "300ms",
        ],
        &["sleep", "5"],
    );
    assert_eq!(code, Some(1));
    let (_, detail) = result(&report, "6.1/stream-0");
    assert!(detail.contains("did not connect"), "{detail}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, says) in [
        (vec!["client"], "COMMAND"),
        (vec!["client", "--timeout", "x", "--", "true"], "--timeout"),
        (
            vec!["client", "--case", "9.9", "--", "true"],
            "no case matches",
        ),
    ] {
        let (code, out, err) = h2kit("check", &args);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
