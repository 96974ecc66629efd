//! `h2kit serve` against independent HTTP/2 implementations: curl, nghttp and h2load
//! (nghttp2), and Python's `h2` driving edge cases over a raw socket.

mod common;
use common::*;

use std::path::Path;

#[test]
fn curl_get_and_post_with_prior_knowledge() {
    let s = Served::start(&[]);
    let out = peer(
        "curl",
        &[
            "-sS",
            "--http2-prior-knowledge",
            "-w",
            "\n%{http_version} %{http_code}",
            &s.url("/"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from h2kit\n\n2 200"
    );
    let out = peer(
        "curl",
        &[
            "-sS",
            "--http2-prior-knowledge",
            "--data-binary",
            "posted body",
            &s.url("/echo"),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "posted body");
    // A 5 MB upload streams back through flow control.
    let file = std::env::temp_dir().join(format!("h2kit-upload-{}", std::process::id()));
    std::fs::write(&file, vec![b'z'; 5_000_000]).unwrap();
    let out = peer(
        "curl",
        &[
            "-sS",
            "--http2-prior-knowledge",
            "--data-binary",
            &format!("@{}", file.display()),
            &s.url("/echo"),
        ],
    );
    std::fs::remove_file(&file).ok();
    assert_eq!(out.stdout.len(), 5_000_000);
    assert!(out.stdout.iter().all(|b| *b == b'z'));
}

/// An upload to a handler that answers without reading it (`/` ignores the body): the body
/// still fits the stream window, so the server lets it finish and resets nothing. curl 7.88
/// fails such a transfer (exit 92, "stream was not closed cleanly") when the server resets the
/// stream with NO_ERROR after its response, as h2kit did at once before; and it hangs after
/// its last DATA until some frame arrives when the response came while its upload waited for
/// a window (h2kit returns the discarded body's connection credit at its end). nghttp agrees.
#[test]
fn an_upload_the_handler_does_not_read_ends_cleanly_for_curl_and_nghttp() {
    let s = Served::start(&["--h2c"]);
    let file = std::env::temp_dir().join(format!("h2kit-unread-{}", std::process::id()));
    std::fs::write(&file, vec![b'u'; 100_000]).unwrap();
    let upload = format!("@{}", file.display());
    let out = peer(
        "curl",
        &[
            "-sS",
            "--max-time",
            "10",
            "--http2-prior-knowledge",
            "--data-binary",
            &upload,
            "-w",
            "%{http_code}",
            &s.url("/"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from h2kit\n200"
    );
    let out = peer(
        "nghttp",
        &["-v", "-d", &file.display().to_string(), &s.url("/")],
    );
    std::fs::remove_file(&file).ok();
    let trace = text(&out);
    assert!(out.status.success(), "{trace}");
    assert!(!trace.contains("RST_STREAM"), "{trace}");
}

#[test]
fn curl_http1_request_gets_an_http1_answer() {
    let s = Served::start(&[]);
    let out = peer("curl", &["-sS", "-i", "--http1.1", &s.url("/")]);
    let t = text(&out);
    assert!(t.starts_with("HTTP/1.1 505"), "{t}");
    assert!(t.contains("speaks HTTP/2 only"), "{t}");
}

#[test]
fn nghttp_verbose_over_h2c() {
    let s = Served::start(&[]);
    let out = peer("nghttp", &["-v", &s.url("/trailers")]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for needle in [
        "recv SETTINGS frame",
        "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100",
        ":status: 200",
        "body before trailers",
        "grpc-status: 0",
        "recv HEADERS frame <length=",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
    // No protocol errors either way.
    assert!(
        !t.contains("PROTOCOL_ERROR") && !t.contains("RST_STREAM"),
        "{t}"
    );
}

#[test]
fn nghttp_and_curl_over_tls_with_alpn_h2() {
    let dir = std::env::temp_dir().join(format!("h2kit-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = write_cert(&dir);
    let s = Served::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let url = format!("https://{}/", s.addr);
    let out = peer("nghttp", &["-v", &url]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("negotiated protocol: h2"), "{t}");
    assert!(t.contains("hello from h2kit"), "{t}");
    let out = peer(
        "curl",
        &["-sS", "-k", "--http2", "-w", " %{http_version}", &url],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from h2kit\n 2");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn h2load_200k_requests_zero_errors() {
    let s = Served::start(&[]);
    let out = peer("h2load", &["-c4", "-m100", "-n", "200000", &s.url("/")]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("200000 total, 200000 started, 200000 done, 200000 succeeded, 0 failed, 0 errored, 0 timeout"), "{t}");
    assert!(t.contains("200000 2xx"), "{t}");
    // POSTs with 1 KiB bodies (small bodies start their handler once complete).
    let body = std::env::temp_dir().join(format!("h2kit-post-{}", std::process::id()));
    std::fs::write(&body, vec![b'p'; 1024]).unwrap();
    let out = peer(
        "h2load",
        &[
            "-c2",
            "-m100",
            "-n",
            "50000",
            "-d",
            body.to_str().unwrap(),
            &s.url("/sink"),
        ],
    );
    std::fs::remove_file(&body).ok();
    let t = text(&out);
    assert!(
        t.contains("50000 succeeded, 0 failed, 0 errored, 0 timeout"),
        "{t}"
    );
}

#[test]
fn python_h2_edge_cases() {
    let s = Served::start(&["--stream-window", "65535", "--connection-window", "65535"]);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/server_edge_cases.py");
    let out = peer("python3", &[script.to_str().unwrap(), &s.addr.to_string()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("all edge cases passed"), "{t}");
}

/// An independent churn client (Python h2) keeps exactly 100 streams open against a limit of
/// 100 and opens the next one the moment a response ends: the server frees each slot with the
/// frame that ends the stream, so it never refuses or resets one.
#[test]
fn python_churn_client_at_the_stream_limit() {
    let s = Served::start(&["--max-concurrent-streams", "100"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/churn_client.py");
    let out = peer(
        "python3",
        &[
            script.to_str().unwrap(),
            &s.addr.port().to_string(),
            "20000",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let v: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
        .unwrap_or_else(|e| panic!("{e}: {t}"));
    assert_eq!(v["completed"], 20_000, "{v}");
    assert_eq!(v["limit"], 100, "{v}");
    assert_eq!(v["max_open"], 100, "{v}");
    assert_eq!(v["rst"], serde_json::json!({}), "{v}");
    assert_eq!(v["goaway"], serde_json::Value::Null, "{v}");
}

#[test]
fn metrics_are_served_in_prometheus_text() {
    use h2kit_test_support::prometheus::Scrape;
    let metrics = format!("127.0.0.1:{}", h2kit_test_support::peers::free_port());
    let s = Served::start(&["--metrics-listen", &metrics]);
    let out = peer("h2load", &["-c2", "-m10", "-n", "1000", &s.url("/")]);
    assert!(out.status.success());
    // Fetched by curl, read by Python's prometheus_client; the last connection's figures
    // arrive when it ends.
    let mut scrape = None;
    for _ in 0..50 {
        let out = peer("curl", &["-sS", &format!("http://{metrics}/metrics")]);
        let parsed = Scrape::parse(&String::from_utf8_lossy(&out.stdout));
        let done = parsed.sum("h2kit_streams_total", &[("side", "server")]) == 1000.0
            && parsed.sum("h2kit_server_connections_open", &[]) == 0.0;
        scrape = Some(parsed);
        if done {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let scrape = scrape.unwrap();
    assert_eq!(
        scrape.sum("h2kit_server_connections_accepted_total", &[]),
        2.0
    );
    assert_eq!(
        scrape.sum("h2kit_streams_total", &[("side", "server")]),
        1000.0
    );
    let headers = [
        ("side", "server"),
        ("direction", "sent"),
        ("type", "HEADERS"),
    ];
    assert_eq!(scrape.sum("h2kit_frames_total", &headers), 1000.0);
    // h2load's 1,000 GETs, each once, by the conventions' names and labels.
    let ok = [
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("url_scheme", "http"),
        ("network_protocol_version", "2"),
    ];
    assert_eq!(
        scrape.sum("http_server_request_duration_seconds_count", &ok),
        1000.0
    );
    assert_eq!(
        scrape.sum("http_server_request_duration_seconds_count", &[]),
        1000.0
    );
    let inf = [("le", "+Inf"), ("http_response_status_code", "200")];
    assert_eq!(
        scrape.sum("http_server_request_duration_seconds_bucket", &inf),
        1000.0
    );
    assert_eq!(scrape.sum("http_server_active_requests", &[]), 0.0);
    let kind = |name: &str| scrape.select(name, &[]).next().map(|s| s.kind.clone());
    assert_eq!(
        kind("http_server_request_duration_seconds_count").as_deref(),
        Some("histogram")
    );
    assert_eq!(kind("h2kit_streams_total").as_deref(), Some("counter"));
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_h2kit"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["serve", "--max-frame-size", "10"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--max-frame-size"), "{err}");
    let (code, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "/nonexistent.pem",
        "--tls-key",
        "/nonexistent.key",
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent.pem"), "{err}");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (code, err) = run(&["serve", "--listen", &addr]);
    assert_eq!(code, Some(2));
    assert!(err.contains(&addr) && err.lines().count() == 1, "{err}");
    let (code, err) = run(&["serve", "--idle-timeout", "soon"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--idle-timeout"), "{err}");
    for flag in ["--send-stall-timeout", "--flood-penalty", "--drain-timeout"] {
        let (code, err) = run(&["serve", flag, "forever"]);
        assert_eq!(code, Some(2));
        assert!(err.contains(flag) && err.lines().count() == 1, "{err}");
    }
}

#[test]
fn graceful_shutdown_under_load_loses_no_in_flight_request() {
    use std::io::{BufRead, BufReader};
    let s = Served::start(&[]);
    // Background load on other connections while the shutdown happens.
    let url = s.url("/");
    let load = std::thread::spawn(move || peer("h2load", &["-c4", "-m10", "-D", "3", &url]));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/server_edge_cases.py");
    let mut py = std::process::Command::new("python3")
        .args([
            "-u",
            script.to_str().unwrap(),
            &s.addr.to_string(),
            "shutdown",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is required (CI installs it)");
    let mut out = BufReader::new(py.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let started = std::time::Instant::now();
    let status = s.terminate();
    assert!(status.success(), "server exit: {status:?}");
    // The 1.5 s requests were allowed to finish before the server stopped.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(py.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("10 in-flight requests completed"), "{rest}");
    assert!(rest.contains("retryable"), "{rest}");
    let load = load.join().unwrap();
    assert!(text(&load).contains("succeeded"), "{}", text(&load));
}

#[test]
fn h2load_with_spawned_handlers_and_delays() {
    // Every handler as its own task, and handlers that really wait: still 0 errors.
    let s = Served::start(&["--spawn-handlers"]);
    let out = peer("h2load", &["-c2", "-m50", "-n", "20000", &s.url("/")]);
    assert!(
        text(&out).contains("20000 succeeded, 0 failed, 0 errored"),
        "{}",
        text(&out)
    );
    let out = peer(
        "h2load",
        &["-c2", "-m100", "-n", "2000", &s.url("/delay/5")],
    );
    assert!(
        text(&out).contains("2000 succeeded, 0 failed, 0 errored"),
        "{}",
        text(&out)
    );
}

/// Reads until EOF (or the timeout) and returns what arrived and how long it took.
fn read_to_close(
    sock: &mut std::net::TcpStream,
    limit: std::time::Duration,
) -> (Vec<u8>, std::time::Duration) {
    use std::io::Read;
    let start = std::time::Instant::now();
    sock.set_read_timeout(Some(limit)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
    (all, start.elapsed())
}

const PREFACE_AND_SETTINGS: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[test]
fn connection_limits_are_enforced() {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::Duration;
    // max connections: the third connection is closed at once.
    let s = Served::start(&["--max-connections", "2"]);
    let mut a = TcpStream::connect(s.addr).unwrap();
    let mut b = TcpStream::connect(s.addr).unwrap();
    a.write_all(PREFACE_AND_SETTINGS).unwrap();
    b.write_all(PREFACE_AND_SETTINGS).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut c = TcpStream::connect(s.addr).unwrap();
    let (got, took) = read_to_close(&mut c, Duration::from_secs(5));
    assert!(
        got.is_empty() && took < Duration::from_secs(2),
        "{got:?} {took:?}"
    );
    drop(s);

    // Handshake timeout: a client that says nothing is closed after the timeout.
    let s = Served::start(&["--handshake-timeout", "300ms"]);
    let mut silent = TcpStream::connect(s.addr).unwrap();
    let (_, took) = read_to_close(&mut silent, Duration::from_secs(5));
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(s);

    // Idle timeout: a connection without streams gets GOAWAY(NO_ERROR) and is closed.
    let s = Served::start(&["--idle-timeout", "300ms"]);
    let mut idle = TcpStream::connect(s.addr).unwrap();
    idle.write_all(PREFACE_AND_SETTINGS).unwrap();
    idle.write_all(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")
        .unwrap();
    let (got, took) = read_to_close(&mut idle, Duration::from_secs(5));
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The server's frames: SETTINGS, WINDOW_UPDATE, SETTINGS ACK, then GOAWAY(s) with NO_ERROR.
    let goaway = got.windows(5).position(|w| w[3] == 0x7 && w[4] == 0);
    assert!(goaway.is_some(), "no GOAWAY in {got:?}");
}
