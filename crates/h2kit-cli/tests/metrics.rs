//! `/metrics` scraped while `h2kit load` runs against `h2kit serve`, read by Python's
//! `prometheus_client` parser: the server's request histogram counts exactly what the load
//! got (by method and status), its failures by the reset code the client sent, and the
//! Grafana dashboard in docs/ asks only for metrics that exist.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Scratch, Served};
use h2kit_test_support::peers::free_port;
use h2kit_test_support::prometheus::Scrape;

const DURATION: &str = "http_server_request_duration_seconds";

fn wait_for_metrics(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing serves metrics on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every histogram series is well formed: cumulative buckets ending in `+Inf` = `_count`.
fn histograms_are_consistent(scrape: &Scrape, family: &str) {
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for s in scrape.select(&format!("{family}_bucket"), &[]) {
        let mut labels = s.labels.clone();
        let le = labels.remove("le").unwrap();
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap()
        };
        series
            .entry(format!("{labels:?}"))
            .or_default()
            .push((le, s.value));
    }
    assert!(!series.is_empty(), "no {family} series");
    for s in scrape.select(&format!("{family}_count"), &[]) {
        let key = format!("{:?}", s.labels);
        let mut buckets = series
            .remove(&key)
            .unwrap_or_else(|| panic!("{family}: no buckets for {key}"));
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{family}: not cumulative: {buckets:?}"
        );
        let last = buckets.last().unwrap();
        assert_eq!((last.0, last.1), (f64::INFINITY, s.value), "{family} {key}");
    }
    assert!(
        series.is_empty(),
        "{family}: buckets without a count: {series:?}"
    );
}

#[test]
fn a_scrape_during_a_load_counts_exactly_what_was_served() {
    let server_metrics = format!("127.0.0.1:{}", free_port());
    let s = Served::start(&["--h2c", "--metrics-listen", &server_metrics]);
    wait_for_metrics(&server_metrics);
    let dir = Scratch::new("metrics_scrape");
    let mix = dir.path("mix.txt");
    let u = |p: &str| s.url(p);
    std::fs::write(
        &mix,
        format!(
            "6 GET {}\n2 GET {}\n1 GET {}\n2 PUT {}\n1 GET {}\n",
            u("/"),
            u("/status/404"),
            u("/status/503"),
            u("/echo"),
            // Longer than the response timeout: the client cancels each of these.
            u("/delay/3000"),
        ),
    )
    .unwrap();
    let load_metrics = format!("127.0.0.1:{}", free_port());
    let out = dir.path("run.json");
    let load = Command::new(env!("CARGO_BIN_EXE_h2kit"))
        .args([
            "load",
            "--requests-file",
            &mix,
            "--rate",
            "1200",
            "-n",
            "3600",
        ])
        // A second is far beyond any other response's time, even on a slow machine: only the
        // delayed requests time out.
        .args(["-c", "2", "-m", "50", "--response-timeout", "1s"])
        .args(["--metrics-listen", &load_metrics, "--out", &out])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // During the run (3 s at 1,200 requests a second): both ends answer, and what they say
    // parses and is consistent.
    wait_for_metrics(&load_metrics);
    std::thread::sleep(Duration::from_millis(1200));
    let mid_server = Scrape::fetch(&server_metrics);
    let mid_client = Scrape::fetch(&load_metrics);
    let served_mid = mid_server.sum(&format!("{DURATION}_count"), &[]);
    assert!(
        served_mid > 0.0 && served_mid < 3600.0,
        "{served_mid} served mid-run"
    );
    let sent_mid = mid_client.sum("h2kit_client_requests_total", &[]);
    assert!(
        sent_mid > 0.0 && sent_mid < 3600.0,
        "{sent_mid} sent mid-run"
    );
    let attempts_mid = mid_client.sum("http_client_request_duration_seconds_count", &[]);
    assert!(
        attempts_mid <= sent_mid,
        "{attempts_mid} finished of {sent_mid}"
    );
    let active = mid_client.sum("http_client_active_requests", &[]);
    assert!(
        active >= 0.0 && active <= sent_mid,
        "{active} active of {sent_mid} sent"
    );
    // Open now: at least one, and never more than were opened (a connection a timeout made
    // suspect may be replaced, and stays open until its streams end).
    let conns = mid_client.sum("http_client_open_connections", &[]);
    let opened = mid_client.sum("h2kit_client_connections_opened_total", &[]);
    assert!(
        conns >= 1.0 && conns <= opened,
        "{conns} open of {opened} opened"
    );
    histograms_are_consistent(&mid_server, DURATION);
    histograms_are_consistent(&mid_client, "http_client_request_duration_seconds");
    for s in mid_server.select(&format!("{DURATION}_count"), &[]) {
        assert_eq!(s.kind, "histogram");
        assert_eq!(s.labels["network_protocol_version"], "2");
        assert_eq!(s.labels["url_scheme"], "http");
    }

    let done = load.wait_with_output().unwrap();
    assert!(
        done.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    // After the run: the server saw the client's connections end, and counts every request
    // exactly once.
    let deadline = Instant::now() + Duration::from_secs(10);
    let fin = loop {
        let fin = Scrape::fetch(&server_metrics);
        let open = fin.sum("h2kit_server_connections_open", &[]);
        if open == 0.0 && fin.sum("http_server_active_requests", &[]) == 0.0 {
            break fin;
        }
        assert!(
            Instant::now() < deadline,
            "connections still open after the load: {open}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    histograms_are_consistent(&fin, DURATION);
    // By method and status, what the load's own report counted.
    let mut expected: BTreeMap<(String, String), f64> = BTreeMap::new();
    for line in run["lines"].as_array().unwrap() {
        let method = line["request"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        for (status, n) in line["status"].as_object().unwrap() {
            *expected
                .entry((method.clone(), status.clone()))
                .or_default() += n.as_f64().unwrap();
        }
    }
    assert_eq!(expected.len(), 4, "{expected:?}");
    for ((method, status), n) in &expected {
        let got = fin.sum(
            &format!("{DURATION}_count"),
            &[
                ("http_request_method", method),
                ("http_response_status_code", status),
            ],
        );
        assert_eq!(got, *n, "{method} {status}");
    }
    // 5xx responses are errors by the conventions; 404s are not.
    let e503 = fin.sum(&format!("{DURATION}_count"), &[("error_type", "503")]);
    assert_eq!(e503, expected[&("GET".to_string(), "503".to_string())]);
    assert_eq!(
        fin.sum(&format!("{DURATION}_count"), &[("error_type", "404")]),
        0.0
    );
    // Each timed-out request was cancelled: the client's RST_STREAM(CANCEL) count, the
    // server's received count, and its requests that failed with CANCEL are one number.
    let cancels = run["rst_stream_sent"]["CANCEL"].as_f64().unwrap();
    assert!(
        cancels >= 100.0,
        "{cancels} cancels of 300 delayed requests"
    );
    assert_eq!(
        run["failed"].as_f64().unwrap(),
        cancels,
        "every failure is a cancelled delay: {} {} {}",
        run["failures"],
        run["rst_stream_sent"],
        run["failure_messages"]
    );
    let received = fin.sum(
        "h2kit_rst_stream_total",
        &[
            ("side", "server"),
            ("direction", "received"),
            ("error_code", "CANCEL"),
        ],
    );
    assert_eq!(received, cancels);
    let failed = fin.sum(&format!("{DURATION}_count"), &[("error_type", "CANCEL")]);
    assert_eq!(failed, cancels);
    let total = fin.sum(&format!("{DURATION}_count"), &[]);
    assert_eq!(total, expected.values().sum::<f64>() + cancels);

    // Every metric either end exposed is a documented one, and the dashboard asks only for
    // documented ones.
    let documented: Vec<&str> = h2kit::metrics::all_names().collect();
    for scrape in [&mid_server, &mid_client, &fin] {
        for s in &scrape.0 {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|x| s.name.strip_suffix(x))
                .filter(|f| documented.contains(f))
                .unwrap_or(&s.name);
            assert!(
                documented.contains(&family),
                "undocumented metric {}",
                s.name
            );
        }
    }
    let dashboard = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/grafana/h2kit-http2.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dashboard).unwrap()).unwrap();
    let mut asked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            // A selector is a metric name right before its `{`.
            for before in expr
                .split('{')
                .map(|p| p.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
            {
                let Some(word) = before.into_iter().next().filter(|w| !w.is_empty()) else {
                    continue;
                };
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|x| word.strip_suffix(x))
                    .unwrap_or(word);
                assert!(
                    documented.contains(&family),
                    "the dashboard asks for {word}"
                );
                asked += 1;
            }
        }
    }
    assert!(asked >= 15, "{asked} metric references in the dashboard");
    // What the dashboard's main panels need was there during the run.
    for family in [
        DURATION,
        "http_server_active_requests",
        "h2kit_frames_total",
    ] {
        assert!(
            mid_server.has_family(family),
            "{family} missing from the server"
        );
    }
    for family in [
        "http_client_request_duration_seconds",
        "http_client_active_requests",
        "http_client_open_connections",
        "http_client_connection_duration_seconds",
        "h2kit_client_retries_total",
        "h2kit_rst_stream_total",
    ] {
        assert!(
            mid_client.has_family(family),
            "{family} missing from the load"
        );
    }
}

#[test]
fn a_busy_metrics_port_is_one_line_and_exit_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = common::h2kit("load", &["-n", "10", "--metrics-listen", &addr]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "--metrics-listen {addr}: cannot serve metrics there"
        )),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
