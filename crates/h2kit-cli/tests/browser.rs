//! A real browser: Debian's Chromium, headless, loads tests/browser/index.html from
//! `h2kit serve --tls-self-signed --root --enable-connect-protocol`. The page opens a WebSocket
//! to /ws and makes 200 fetches at once, aborting every third mid-response. The page's own
//! findings (read through the DevTools protocol by tests/python/browser.py) and the server's
//! metrics must agree: everything over h2, the WebSocket over an extended CONNECT stream,
//! each abort a RST_STREAM(CANCEL), and no GOAWAY or flood.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::Served;
use h2kit_test_support::prometheus::Scrape;

#[test]
fn chromium_loads_a_page_with_a_websocket_and_aborted_fetches_over_h2() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser");
    let metrics = format!("127.0.0.1:{}", h2kit_test_support::peers::free_port());
    let s = Served::start(&[
        "--tls-self-signed",
        "--root",
        root,
        "--enable-connect-protocol",
        "--metrics-listen",
        &metrics,
    ]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/browser.py");
    let url = format!("https://{}/", s.addr);
    let mut browser = Command::new("python3")
        .args([script, &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 (CI installs it)");
    let mut line = String::new();
    BufReader::new(browser.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        !line.is_empty(),
        "the browser script printed nothing (is chromium installed? CI installs it)"
    );
    let page: serde_json::Value = serde_json::from_str(&line).unwrap();

    // What the page saw.
    assert_eq!(page["page"], "h2", "the page itself: {}", page["page"]);
    assert_eq!(page["ws"]["echo"], "hello from chromium", "{}", page["ws"]);
    let fetches = page["fetches"].as_array().unwrap();
    assert_eq!(fetches.len(), 200);
    let mut aborted = 0;
    for f in fetches {
        if f["i"].as_u64().unwrap() % 3 == 0 {
            // Aborted after its first chunk, long before its 16 MB could arrive.
            assert_eq!(f["aborted"], true, "{f}");
            let got = f["received"].as_u64().unwrap();
            assert!(got > 0 && got < 16_000_000, "{f}");
            aborted += 1;
        } else {
            assert_eq!(f["status"], 200, "{f}");
            assert_eq!(f["received"], 20_000, "{f}");
            assert_eq!(f["protocol"], "h2", "{f}");
            assert_eq!(f["error"], serde_json::Value::Null, "{f}");
        }
    }
    assert_eq!(aborted, 67);

    // What the server counted, while the browser is still up (its GOAWAY when it quits is not
    // part of this). A connection's counters are published when it goes idle.
    let server = [("side", "server")];
    let cancels_received = [
        ("side", "server"),
        ("direction", "received"),
        ("error_code", "CANCEL"),
    ];
    let mut scrape = Scrape::fetch(&metrics);
    for _ in 0..100 {
        if scrape.sum("h2kit_rst_stream_total", &cancels_received) >= aborted as f64
            && scrape.sum("h2kit_extended_connect_streams_total", &server) >= 1.0
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        scrape = Scrape::fetch(&metrics);
    }
    // The WebSocket ran over one extended CONNECT stream (RFC 8441), which ended cleanly.
    assert_eq!(
        scrape.sum("h2kit_extended_connect_streams_total", &server),
        1.0
    );
    let connect = [
        ("http_request_method", "CONNECT"),
        ("http_response_status_code", "200"),
    ];
    let requests = "http_server_request_duration_seconds_count";
    assert_eq!(scrape.sum(requests, &connect), 1.0);
    // Each abort was a RST_STREAM(CANCEL), and the browser sent no other reset.
    let received = [("side", "server"), ("direction", "received")];
    assert_eq!(
        scrape.sum("h2kit_rst_stream_total", &cancels_received),
        aborted as f64
    );
    assert_eq!(
        scrape.sum("h2kit_rst_stream_total", &received),
        aborted as f64
    );
    assert_eq!(
        scrape.sum(requests, &[("error_type", "CANCEL")]),
        aborted as f64
    );
    // No GOAWAY from the server, no flood, no reset of ours.
    let sent = [("side", "server"), ("direction", "sent")];
    assert_eq!(scrape.sum("h2kit_goaway_total", &sent), 0.0);
    assert_eq!(scrape.sum("h2kit_rst_stream_total", &sent), 0.0);
    assert_eq!(scrape.sum("h2kit_floods_total", &server), 0.0);

    // The browser quits now.
    let _ = browser.stdin.as_mut().unwrap().write_all(b"\n");
    assert!(browser.wait().unwrap().success());
}
