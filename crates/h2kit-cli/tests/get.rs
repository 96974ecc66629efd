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
fn get_verbose_traces_every_frame() {
    let s = Served::start(&[]);
    let (code, _, err) = get(&["-v", &s.url("/")]);
    assert_eq!(code, Some(0));
    for needle in [
        "direction=\"send\" frame_type=\"SETTINGS\"",
        "direction=\"recv\" frame_type=\"SETTINGS\"",
        "direction=\"send\" frame_type=\"HEADERS\" flags=5 stream_id=1",
        "direction=\"recv\" frame_type=\"DATA\" flags=1 stream_id=1",
    ] {
        assert!(err.contains(needle), "missing {needle} in\n{err}");
    }
}

#[test]
fn get_timeout_names_the_phase_and_bad_input_exits_2() {
    let s = Served::start(&[]);
    let (code, _, err) = get(&["--response-timeout", "100ms", &s.url("/delay/2000")]);
    assert_eq!(code, Some(2));
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
    assert_eq!(code, Some(2));
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
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("TLS failed"), "{err}");
    let (code, out, _) = get(&["--cacert", &c, &url]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with("hello from h2kit\n"));
    let (code, out, _) = get(&["-k", &url]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with("hello from h2kit\n"));
    std::fs::remove_dir_all(&dir).ok();
}
