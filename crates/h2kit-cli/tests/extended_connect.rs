//! `h2kit serve --enable-connect-protocol` (RFC 8441) with independent peers: nghttp sees the
//! setting only when asked for; Python's h2 opens an extended CONNECT stream that the server
//! answers with the setting, and that it resets (PROTOCOL_ERROR) without it.

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
    assert_eq!(r["status"], 200, "{r}");

    let off = Served::start(&["--h2c"]);
    let out = peer("nghttp", &["-nv", &off.url("/")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"), "{text}");
    let r = python_connect(&off);
    assert_eq!(r["advertised"], false, "{r}");
    // Malformed without the setting (RFC 8441 §3): a stream error, PROTOCOL_ERROR (1).
    assert_eq!(r["reset"], 1, "{r}");
}
