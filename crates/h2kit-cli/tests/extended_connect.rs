//! `h2kit serve --enable-connect-protocol` (RFC 8441) with independent peers: nghttp sees the
//! setting only when asked for; Python's h2 runs a WebSocket on `/ws` (frames encoded by
//! hand) over an extended CONNECT stream, which the server resets (PROTOCOL_ERROR) without
//! the setting; and `h2kit get --ws` talks to the echo.

mod common;

use common::{peer, Served};

fn python_connect(s: &Served) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/extended_connect.py"
    );
    let out = peer("python3", &[script, &s.addr.port().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn extended_connect_is_opt_in_and_understood_by_python_h2() {
    let on = Served::start(&["--h2c", "--enable-connect-protocol"]);
    let out = peer("nghttp", &["-nv", &on.url("/")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL(0x08):1"),
        "{text}"
    );
    let r = python_connect(&on);
    assert_eq!(r["advertised"], true, "{r}");
    // The WebSocket: accepted, echoed, closed both ways, then END_STREAM (RFC 8441 §5).
    let ws = &r["ws"];
    assert_eq!(ws["status"], 200, "{r}");
    assert_eq!(ws["echo"], "hello over h2", "{r}");
    assert_eq!(ws["close"], true, "{r}");
    assert_eq!(ws["ended"], true, "{r}");
    // Only /ws takes one; a WebSocket without its version is told which one (RFC 6455 §4.4).
    assert_eq!(r["elsewhere"], 404, "{r}");
    assert_eq!(r["no_version"], serde_json::json!([400, "13"]), "{r}");
    // :protocol on a GET is malformed (RFC 8441 §4): a stream error, PROTOCOL_ERROR (1).
    assert_eq!(r["protocol_on_get"], 1, "{r}");

    let off = Served::start(&["--h2c"]);
    let out = peer("nghttp", &["-nv", &off.url("/")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"), "{text}");
    let r = python_connect(&off);
    assert_eq!(r["advertised"], false, "{r}");
    // Malformed without the setting (RFC 8441 §3): a stream error, PROTOCOL_ERROR (1).
    assert_eq!(r["ws"]["reset"], 1, "{r}");
    assert_eq!(r["ws"]["status"], serde_json::Value::Null, "{r}");
}

#[test]
fn get_ws_sends_stdin_lines_and_prints_the_echo() {
    use h2kit_test_support::prometheus::Scrape;
    let metrics = format!("127.0.0.1:{}", h2kit_test_support::peers::free_port());
    let on = Served::start(&[
        "--h2c",
        "--enable-connect-protocol",
        "--metrics-listen",
        &metrics,
    ]);
    let url = format!("ws://{}/ws", on.addr);
    let out = common::h2kit_with_stdin(&["get", "--ws", &url], "first line\nsecond, ünïcode\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "first line\nsecond, ünïcode\n"
    );
    // One extended CONNECT stream, closed cleanly both ways: no reset either way. (The
    // connection's counters are published when it closes.)
    let server = [("side", "server")];
    let mut scrape = Scrape::fetch(&metrics);
    for _ in 0..50 {
        if scrape.sum("h2kit_server_connections_closed_total", &[]) >= 1.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        scrape = Scrape::fetch(&metrics);
    }
    assert_eq!(
        scrape.sum("h2kit_extended_connect_streams_total", &server),
        1.0
    );
    assert_eq!(scrape.sum("h2kit_rst_stream_total", &server), 0.0);

    // A server that did not allow it: exit 1, with the cause and a hint.
    let off = Served::start(&["--h2c"]);
    let url = format!("ws://{}/ws", off.addr);
    let out = common::h2kit_with_stdin(&["get", "--ws", &url], "x\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL")
            && err.contains("--enable-connect-protocol"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // Another path: the server's status and sentence.
    let url = format!("ws://{}/elsewhere", on.addr);
    let out = common::h2kit_with_stdin(&["get", "--ws", &url], "x\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("404 Not Found"), "{err}");

    // A bad flag combination is bad input: exit 2.
    let out = common::h2kit_with_stdin(&["get", "--ws", "-d", "x", &url], "");
    assert_eq!(out.status.code(), Some(2));
}
