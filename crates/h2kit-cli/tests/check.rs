//! `h2kit check server` against servers nobody here wrote (nghttpd, h2o) and against
//! `h2kit serve`, its reports, and servers that do not speak HTTP/2 at all.
//!
//! What nghttpd and h2o get wrong is asserted case by case: each is a rule of RFC 9113 that
//! the server's answer visibly breaks (the test names the answer), so a checker that stopped
//! finding them would fail here.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use h2kit_test_support::peers::{go_build, GoServer, H2o, Nghttpd};
use serde_json::Value;

/// Held by the tests that churn through many streams: they run one at a time, because the
/// churn must react within microseconds to catch a server's race (Go's), which tests
/// sharing the two CPUs would prevent.
static CHURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn churn_alone() -> std::sync::MutexGuard<'static, ()> {
    CHURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `h2kit check server URL ARGS… --json`: (exit code, report).
fn check(url: &str, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["server", url, "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = h2kit("check", &all);
    let report = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, report)
}

fn case<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in {report}"))
}

fn result<'a>(report: &'a Value, id: &str) -> (&'a str, &'a str) {
    let c = case(report, id);
    (c["result"].as_str().unwrap(), c["detail"].as_str().unwrap())
}

/// The server cases `--list` prints, counted.
fn listed() -> usize {
    let (code, out, _) = h2kit("check", &["--list"]);
    assert_eq!(code, Some(0));
    out.lines()
        .take_while(|l| *l != "check client")
        .filter(|l| l.starts_with("  "))
        .count()
}

#[test]
fn the_list_names_every_case_with_its_section() {
    let (code, out, _) = h2kit("check", &["--list"]);
    assert_eq!(code, Some(0));
    for heading in ["rfc9113", "hpack", "citizen"] {
        assert!(out.lines().any(|l| l == heading), "{heading} in {out}");
    }
    let line = out
        .lines()
        .find(|l| l.contains("6.5.2/enable-push-2"))
        .expect("the case is listed");
    assert!(line.contains("(RFC 9113 §6.5.2)"), "{line}");
    assert!(out.contains("citizen/churn"), "{out}");
    // The client cases follow.
    let client = out
        .split("check client\n")
        .nth(1)
        .expect("a client section");
    assert!(
        client.contains("citizen/end-stream-in-empty-data-1ms"),
        "{client}"
    );
    assert!(
        client.lines().filter(|l| l.starts_with("  ")).count() > 60,
        "{client}"
    );
    assert!(listed() > 90, "{out}");
}

#[test]
fn h2kit_serve_passes_every_case_over_h2c_and_tls() {
    let _alone = churn_alone();
    let n = listed();
    let served = Served::start(&[]);
    // The churn at its full default of 1,000,000 streams.
    let (code, report) = check(&served.url("/"), &[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["summary"]["cases"], n);
    assert_eq!(report["summary"]["failed"], 0, "{report:#}");
    let (r, detail) = result(&report, "citizen/churn");
    assert_eq!(r, "passed");
    assert!(
        detail.starts_with("1000000 streams at the server's limit of"),
        "{detail}"
    );
    // Handlers run as tasks answer later: the same answers.
    let spawned = Served::start(&["--spawn-handlers"]);
    let (code, report) = check(&spawned.url("/"), &["--churn-streams", "100000"]);
    assert_eq!(code, Some(0), "{report:#}");

    let dir = Scratch::new("check-tls");
    let cert = dir.path("cert.pem");
    let tls = Served::start(&["--tls-self-signed", "--tls-cert-out", &cert]);
    let url = format!("https://localhost:{}/", tls.addr.port());
    let (code, report) = check(&url, &["--cacert", &cert, "--churn-streams", "100000"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["summary"]["failed"], 0);
    // The one case that needs a GOAWAY the server chooses to send.
    assert_eq!(
        result(&report, "citizen/graceful-goaway").0,
        "not applicable"
    );
}

/// A graceful shutdown in the middle of the churn: the server's GOAWAY (NO_ERROR) is judged
/// (every stream at or below its last stream answered), and the churn ends there rather than
/// failing.
#[test]
fn a_graceful_goaway_during_the_churn_is_judged() {
    let _alone = churn_alone();
    let served = Served::start(&[]);
    let pid = served.child.id().to_string();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
    });
    let (code, report) = check(
        &served.url("/"),
        &[
            "--only",
            "citizen",
            "--case",
            "citizen/churn",
            "--case",
            "citizen/graceful",
            "--churn-streams",
            "1000000000",
        ],
    );
    stopper.join().unwrap();
    assert_eq!(code, Some(0), "{report:#}");
    let (r, detail) = result(&report, "citizen/graceful-goaway");
    assert_eq!(r, "passed", "{detail}");
    assert!(
        detail.contains("every stream at or below it was answered"),
        "{detail}"
    );
    let (r, detail) = result(&report, "citizen/churn");
    assert_eq!(r, "passed", "{detail}");
    assert!(detail.contains("the churn ended there"), "{detail}");
}

#[test]
fn nghttpd_is_caught_where_it_breaks_the_rfc() {
    let _alone = churn_alone();
    let dir = Scratch::new("check-nghttpd");
    std::fs::write(dir.0.join("index.html"), "from nghttpd\n").unwrap();
    let nghttpd = Nghttpd::start(&dir.0, &["--no-tls"], &[]);
    let url = format!("http://127.0.0.1:{}/", nghttpd.port);
    let junit = dir.path("junit.xml");
    let (code, report) = check(&url, &["--churn-streams", "200000", "--junit", &junit]);
    assert_eq!(code, Some(1), "a failed case makes the exit code 1");

    // §6.9.2: an INITIAL_WINDOW_SIZE that overflows a stream's window is a connection error;
    // nghttpd resets the stream instead.
    let (r, detail) = result(&report, "6.9.2/settings-overflow");
    assert_eq!(r, "failed");
    assert!(
        detail.contains("RST_STREAM (FLOW_CONTROL_ERROR) on stream 1"),
        "{detail}"
    );
    // A failed case carries the frames exchanged, in the trace format.
    let frames = case(&report, "6.9.2/settings-overflow")["frames"]
        .as_str()
        .unwrap();
    assert!(frames.contains("send SETTINGS frame"), "{frames}");
    assert!(frames.contains("recv RST_STREAM frame"), "{frames}");
    // Resetting closed streams, each followed by a PING: nghttp2's reset rate limit ends the
    // connection (the seeds' story).
    let (r, detail) = result(&report, "citizen/reset-closed-and-ping");
    assert_eq!(r, "failed");
    assert!(detail.contains("GOAWAY"), "{detail}");
    // What it gets right passes: the churn at its limit, the HPACK rules.
    assert_eq!(result(&report, "citizen/churn").0, "passed");
    for c in report["cases"].as_array().unwrap() {
        if c["group"] == "hpack" {
            assert_eq!(c["result"], "passed", "{c}");
        }
    }

    // The JUnit report says the same, in XML a CI system reads.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let out = peer(
        "python3",
        &[
            "-c",
            "import sys, xml.etree.ElementTree as E\n\
             r = E.parse(sys.argv[1]).getroot()\n\
             cases = r.findall('./testsuite/testcase')\n\
             print(len(cases), len([c for c in cases if c.find('failure') is not None]), \
             len([c for c in cases if c.find('skipped') is not None]), r.get('failures'))",
            &junit,
        ],
    );
    let counts = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let s = &report["summary"];
    assert_eq!(
        counts,
        format!(
            "{} {} {} {}",
            s["cases"], s["failed"], s["not_applicable"], s["failed"]
        ),
        "{xml}"
    );
}

#[test]
fn h2o_is_checked_over_tls_and_caught_where_it_breaks_the_rfc() {
    let _alone = churn_alone();
    let dir = Scratch::new("check-h2o");
    openssl_self_signed(&dir.0, "h2o", "/CN=localhost", "DNS:localhost,IP:127.0.0.1");
    let h2o = H2o::start(&dir.0, &dir.0.join("h2o.pem"), &dir.0.join("h2o.key"));
    let url = format!("https://localhost:{}/", h2o.tls_port);
    let cacert = dir.path("h2o.pem");
    let (code, report) = check(&url, &["--cacert", &cacert, "--churn-streams", "200000"]);
    assert_eq!(code, Some(1));
    // §8.2.1: a field value must not start with whitespace; h2o answers it with 200.
    let (r, detail) = result(&report, "8.2.1/leading-space-in-value");
    assert_eq!(r, "failed");
    assert!(detail.contains("status 200"), "{detail}");
    // §8.3.1: an empty :path is malformed; h2o answers it too.
    assert_eq!(result(&report, "8.3.1/empty-path").0, "failed");
    assert_eq!(result(&report, "citizen/churn").0, "passed");
    assert_eq!(result(&report, "citizen/reset-closed-and-ping").0, "passed");
    // Its 400 answers to other malformed requests are accepted (§8.1.1 allows a response).
    let (r, detail) = result(&report, "8.2/uppercase-name");
    assert_eq!(r, "passed");
    assert!(detail.contains("status 400"), "{detail}");
    // The same server in cleartext (prior knowledge): RFC 7541 §4.2 allows a table size
    // update only at the start of a block; h2o accepts one after a field.
    let (_, report) = check(
        &format!("http://127.0.0.1:{}/", h2o.port),
        &["--only", "hpack", "--timeout", "500ms"],
    );
    for c in report["cases"].as_array().unwrap() {
        let wrong = c["id"] == "4.2/size-update-after-field";
        assert_eq!(c["result"], if wrong { "failed" } else { "passed" }, "{c}");
    }
}

/// The seeds' server bug: Go 1.19's HTTP/2 server frees a finished stream's slot only once
/// its handler's goroutine has finished writing, so a client that opens a new stream the
/// moment END_STREAM arrives, at exactly the advertised limit of 250, is refused now and then
/// with RST_STREAM(PROTOCOL_ERROR). The churn is fast enough to see it (150 per 1,000,000
/// streams measured; a client reacting in 100 µs sees none).
#[test]
fn go_1_19_server_is_caught_refusing_streams_at_its_own_limit() {
    let _alone = churn_alone();
    let dir = Scratch::new("check-go-server");
    openssl_self_signed(&dir.0, "go", "/CN=localhost", "DNS:localhost,IP:127.0.0.1");
    let binary = go_build("server", &dir.0);
    let go = GoServer::start(&binary, &[&dir.0.join("go.pem"), &dir.0.join("go.key")]);
    let url = format!("https://localhost:{}/", go.port);
    let (code, report) = check(
        &url,
        &[
            "--cacert",
            &dir.path("go.pem"),
            "--only",
            "citizen",
            "--churn-streams",
            "1000000",
        ],
    );
    assert_eq!(code, Some(1), "{report:#}");
    let (r, detail) = result(&report, "citizen/churn");
    assert_eq!(r, "failed", "{detail}");
    assert!(detail.contains("at the server's limit of 250"), "{detail}");
    assert!(
        detail.contains("RST_STREAM received: PROTOCOL_ERROR"),
        "{detail}"
    );
}

/// A listener that does `f` with each connection, on a thread.
fn fake(f: fn(std::net::TcpStream)) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for c in l.incoming().map_while(Result::ok) {
            std::thread::spawn(move || f(c));
        }
    });
    url
}

#[test]
fn servers_that_do_not_speak_http2_are_reported_case_by_case_without_hanging() {
    let http1 = fake(|mut c| {
        let mut b = [0; 1024];
        let _ = c.read(&mut b);
        let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    });
    let closes = fake(drop);
    let silent = fake(|c| {
        std::thread::sleep(Duration::from_secs(30));
        drop(c);
    });
    for (url, says) in [
        (
            &http1,
            "the server answered in HTTP/1.x (`HTTP/1.1 400 Bad Request`)",
        ),
        (&closes, "closed the connection"),
        (
            &silent,
            "the server sent nothing in answer to the connection preface",
        ),
    ] {
        let begun = Instant::now();
        let (code, report) = check(url, &["--only", "hpack", "--timeout", "300ms"]);
        assert_eq!(code, Some(1));
        let cases = report["cases"].as_array().unwrap();
        assert!(cases.len() > 5);
        for c in cases {
            assert_eq!(c["result"], "failed", "{c}");
            assert!(c["detail"].as_str().unwrap().contains(says), "{url}: {c}");
        }
        // Each case gave up at its own timeout: no hang.
        assert!(
            begun.elapsed() < Duration::from_secs(20),
            "{:?}",
            begun.elapsed()
        );
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, says) in [
        (
            vec!["server", "ftp://127.0.0.1/"],
            "must start with http:// or https://",
        ),
        (
            vec!["server", "http://127.0.0.1:1/", "--only", "nope"],
            "--only",
        ),
        (
            vec!["server", "http://127.0.0.1:1/", "--timeout", "soon"],
            "--timeout",
        ),
        (
            vec![
                "server",
                "http://127.0.0.1:1/",
                "--junit",
                "/nonexistent/dir/j.xml",
            ],
            "--junit /nonexistent/dir/j.xml",
        ),
        (
            vec!["server", "http://127.0.0.1:1/", "--case", "9.9.9"],
            "no case matches",
        ),
        (vec![], "check needs a mode"),
    ] {
        let (code, out, err) = h2kit("check", &args);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
