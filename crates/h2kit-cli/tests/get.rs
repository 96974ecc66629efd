//! `h2kit get` against `h2kit serve` and nghttpd.

mod common;
use common::*;

fn get(args: &[&str]) -> (Option<i32>, String, String) {
    h2kit("get", args)
}

#[test]
fn get_prints_status_headers_body_and_trailers() {
    let s = Served::start(&[]);
    let (code, out, _) = get(&[&s.url("/")]);
    assert_eq!(code, Some(0));
    assert_eq!(out, ":status: 200\n\nhello from h2kit\n");
    let (code, out, err) = get(&[&s.url("/trailers")]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with("body before trailers\n"), "{out}");
    assert!(err.contains("trailer grpc-status: 0"), "{err}");
    let (_, out, _) = get(&[
        "-X",
        "POST",
        "-H",
        "x-test: 1",
        "-d",
        "sent body",
        &s.url("/echo"),
    ]);
    assert!(out.ends_with("\n\nsent body"), "{out}");
}

#[test]
fn get_verbose_traces_every_frame_as_nghttp_does() {
    let s = Served::start(&[]);
    let (code, _, err) = get(&[
        "-v",
        "-H",
        "authorization: Bearer secret-token",
        &s.url("/"),
    ]);
    assert_eq!(code, Some(0));
    for needle in [
        "] send SETTINGS frame <length=18, flags=0x00, stream_id=0>\n",
        "           [SETTINGS_ENABLE_PUSH:0]\n",
        "] recv SETTINGS frame <length=0, flags=0x01, stream_id=0>\n           ; ACK\n",
        "] send HEADERS frame <length=",
        ", flags=0x05, stream_id=1>\n           ; END_STREAM | END_HEADERS\n",
        "           :method: GET\n",
        "           :path: /\n",
        "           authorization: <redacted: 19 bytes>\n",
        "] recv HEADERS frame <length=1, flags=0x04, stream_id=1>\n           ; END_HEADERS\n           :status: 200\n",
        "] recv DATA frame <length=17, flags=0x01, stream_id=1>\n           ; END_STREAM\n",
        "(window_size_increment=",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
    assert!(!err.contains("secret-token"), "{err}");
    let (_, _, err) = get(&[
        "-v",
        "--trace-secrets",
        "-H",
        "authorization: Bearer secret-token",
        &s.url("/"),
    ]);
    assert!(
        err.contains("authorization: Bearer secret-token\n"),
        "{err}"
    );
}

/// `--trace-format json`: one qlog event per line, as qvis reads them.
#[test]
fn get_verbose_json_is_qlog_lines() {
    let s = Served::start(&[]);
    let (code, _, err) = get(&["-v", "--trace-format", "json", &s.url("/")]);
    assert_eq!(code, Some(0));
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let find = |name: &str, kind: &str| {
        events
            .iter()
            .find(|e| e["name"] == name && e["data"]["frame"]["frame_type"] == kind)
            .unwrap_or_else(|| panic!("no {name} {kind} in {err}"))
    };
    let sent = find("http2:frame_created", "headers");
    assert_eq!(sent["data"]["stream_id"], 1);
    assert_eq!(sent["data"]["frame"]["stream_end"], true);
    assert_eq!(
        sent["data"]["frame"]["flags"],
        serde_json::json!(["END_STREAM", "END_HEADERS"])
    );
    let fields = sent["data"]["frame"]["headers"].as_array().unwrap();
    assert_eq!(
        fields[0],
        serde_json::json!({"name": ":method", "value": "GET"})
    );
    let got = find("http2:frame_parsed", "headers");
    assert_eq!(
        got["data"]["frame"]["headers"][0],
        serde_json::json!({"name": ":status", "value": "200"})
    );
    let settings = find("http2:frame_parsed", "settings");
    let list = settings["data"]["frame"]["settings"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|p| p["name"] == "SETTINGS_MAX_CONCURRENT_STREAMS" && p["value"] == 100),
        "{settings}"
    );
    assert!(events
        .iter()
        .all(|e| e["time"].as_f64().is_some() && e["data"]["header_length"] == 9));
}

#[test]
fn get_failures_exit_1_naming_the_cause_and_bad_input_exits_2() {
    let s = Served::start(&[]);
    // A request that fails is not bad input: exit 1.
    let (code, _, err) = get(&["--response-timeout", "100ms", &s.url("/delay/2000")]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("h2kit: response headers timed out after"),
        "{err}"
    );
    let (code, _, err) = get(&["ftp://example.com/"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("http:// or https://"), "{err}");
    let (code, _, err) = get(&["-H", "no colon", &s.url("/")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("-H"), "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = get(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!("connect to 127.0.0.1:{port} failed")) && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn get_against_tls_with_insecure() {
    let dir = std::env::temp_dir().join(format!("h2kit-get-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("c.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("k.pem"), cert.signing_key.serialize_pem()).unwrap();
    let c = dir.join("c.pem").display().to_string();
    let k = dir.join("k.pem").display().to_string();
    let s = Served::start(&["--tls-cert", &c, "--tls-key", &k]);
    let url = format!("https://localhost:{}/", s.addr.port());
    // Without --insecure the self-signed certificate is rejected; with --cacert it is trusted.
    let (code, _, err) = get(&[&url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("TLS failed"), "{err}");
    let (code, out, _) = get(&["--cacert", &c, &url]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with("hello from h2kit\n"));
    let (code, out, _) = get(&["-k", &url]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with("hello from h2kit\n"));
    std::fs::remove_dir_all(&dir).ok();
}

/// `serve --log frames` traces what the server sees in the same format: curl's request
/// decoded, its cookie redacted.
#[test]
fn serve_log_frames_traces_requests_decoded() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_h2kit"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "frames"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::{BufRead, Read};
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let curl = peer(
        "curl",
        &[
            "-s",
            "--http2-prior-knowledge",
            "-H",
            "cookie: k=v",
            &format!("http://{addr}/"),
        ],
    );
    assert!(curl.status.success(), "{}", text(&curl));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    for needle in [
        "] recv HEADERS frame <",
        "           :path: /\n",
        "           user-agent: curl/",
        "           cookie: <redacted: 3 bytes>\n",
        "] send HEADERS frame <length=",
        "           :status: 200\n",
        "h2kit serving http",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
}
