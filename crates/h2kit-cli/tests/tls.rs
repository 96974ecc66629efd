//! TLS as deployments use it, with openssl-made certificates and real peers: trust as curl
//! gives it, every handshake failure said in words, `--tls-self-signed`, `SSLKEYLOGFILE`, and
//! no connection storm against a server whose certificate is rejected.

mod common;
use common::*;

/// curl, trusting `cert`, fetches `url` over HTTP/2.
fn assert_curl_h2(cert: &str, url: &str) {
    let curl = peer(
        "curl",
        &[
            "-s",
            "--cacert",
            cert,
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            url,
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout),
        "2",
        "{}",
        text(&curl)
    );
}

/// The usual `openssl req -x509` certificate is CA:TRUE. curl trusts it with `--cacert`; so
/// does `h2kit get`, while its name is still checked; without it the error names the
/// certificate and the fix.
#[test]
fn cacert_trusts_the_servers_own_certificate_as_curl_does() {
    let dir = Scratch::new("tls-cacert");
    openssl_self_signed(&dir.0, "srv", "/CN=localhost", "IP:127.0.0.1,DNS:localhost");
    openssl_self_signed(&dir.0, "other", "/CN=other.test", "DNS:other.test");
    let (cert, key) = (dir.path("srv.pem"), dir.path("srv.key"));
    let s = Served::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let port = s.addr.port();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}/");
        assert_curl_h2(&cert, &url);
        let (code, out, err) = h2kit("get", &["--cacert", &cert, &url]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.starts_with(":status: 200"), "{out}");
    }
    // Untrusted: named, with the hint; exit 1 (the request failed), not 2 (bad input).
    let url = format!("https://localhost:{port}/");
    let (code, _, err) = h2kit("get", &[&url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("the server's certificate (CN=localhost) is self-signed and not trusted"),
        "{err}"
    );
    assert!(err.contains("--cacert"), "{err}");
    assert!(
        !err.contains("Other(") && !err.contains("CaUsedAsEndEntity"),
        "Debug text: {err}"
    );
    // Trusting another certificate does not trust this one.
    let (code, _, err) = h2kit("get", &["--cacert", &dir.path("other.pem"), &url]);
    assert_eq!(code, Some(1));
    assert!(err.contains("self-signed and not trusted"), "{err}");
    // The name is still checked for a certificate trusted as it is.
    let (_, _, err) = h2kit(
        "get",
        &["--cacert", &cert, &format!("https://127.0.0.2:{port}/")],
    );
    assert!(
        err.contains("connect to 127.0.0.2"),
        "not listening there: {err}"
    );
    let s2 = Served::start(&[
        "--tls-cert",
        &dir.path("other.pem"),
        "--tls-key",
        &dir.path("other.key"),
    ]);
    let url2 = format!("https://localhost:{}/", s2.addr.port());
    let (code, _, err) = h2kit("get", &["--cacert", &dir.path("other.pem"), &url2]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the server's certificate is for other.test, not for localhost"),
        "{err}"
    );
    // -k accepts anything.
    let (code, _, _) = h2kit("get", &["-k", &url2]);
    assert_eq!(code, Some(0));
}

/// A chain from a CA: unknown issuer named; a CA certificate misused as a server
/// certificate named as such when its issuer is trusted.
#[test]
fn chain_failures_name_the_certificates() {
    let dir = Scratch::new("tls-chain");
    openssl_self_signed(&dir.0, "ca", "/CN=h2kit Test CA", "DNS:ca.test");
    openssl_issued(
        &dir.0,
        "leaf",
        "ca",
        "IP:127.0.0.1,DNS:localhost",
        "CA:FALSE",
    );
    openssl_issued(
        &dir.0,
        "caleaf",
        "ca",
        "IP:127.0.0.1,DNS:localhost",
        "CA:TRUE",
    );
    let leaf = Served::start(&[
        "--tls-cert",
        &dir.path("leaf.pem"),
        "--tls-key",
        &dir.path("leaf.key"),
    ]);
    let url = format!("https://localhost:{}/", leaf.addr.port());
    let (code, _, err) = h2kit("get", &[&url]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the server's certificate (CN=localhost) was issued by CN=h2kit Test CA, which is not trusted"),
        "{err}"
    );
    let (code, out, err) = h2kit("get", &["--cacert", &dir.path("ca.pem"), &url]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with(":status: 200"));
    let ca_leaf = Served::start(&[
        "--tls-cert",
        &dir.path("caleaf.pem"),
        "--tls-key",
        &dir.path("caleaf.key"),
    ]);
    let url = format!("https://localhost:{}/", ca_leaf.addr.port());
    let (code, _, err) = h2kit("get", &["--cacert", &dir.path("ca.pem"), &url]);
    assert_eq!(code, Some(1));
    // (OpenSSL, hence curl, accepts it: the web PKI rules h2kit applies do not.)
    assert!(err.contains("is a CA certificate (CA:TRUE)"), "{err}");
}

/// Dates: a certificate (made by rcgen, since openssl 3.0 cannot backdate one) expired or not
/// yet valid is named with its dates, even when trusted as it is.
#[test]
fn expired_and_future_certificates_say_their_dates() {
    let dir = Scratch::new("tls-dates");
    let now = time::OffsetDateTime::now_utc();
    for (name, from, to, words) in [
        (
            "old",
            now - time::Duration::days(60),
            now - time::Duration::days(30),
            "expired on ",
        ),
        (
            "new",
            now + time::Duration::days(30),
            now + time::Duration::days(60),
            "is not valid before ",
        ),
    ] {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = from;
        params.not_after = to;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.0.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.0.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        let s = Served::start(&[
            "--tls-cert",
            &dir.path(&format!("{name}.pem")),
            "--tls-key",
            &dir.path(&format!("{name}.key")),
        ]);
        let url = format!("https://localhost:{}/", s.addr.port());
        let (code, _, err) = h2kit(
            "get",
            &["--cacert", &dir.path(&format!("{name}.pem")), &url],
        );
        assert_eq!(code, Some(1));
        assert!(err.contains(words), "{name}: {err}");
        let year = to.year().min(from.year()).to_string();
        assert!(
            err.contains(&year) && err.contains(" UTC (it is now "),
            "{name}: {err}"
        );
    }
}

/// ALPN: a TLS server that does not offer h2 is named as such (openssl s_server).
#[test]
fn a_server_without_h2_says_so() {
    let dir = Scratch::new("tls-alpn");
    openssl_self_signed(&dir.0, "srv", "/CN=localhost", "IP:127.0.0.1,DNS:localhost");
    let port = h2kit_test_support::peers::free_port();
    let accept = port.to_string();
    let mut server = std::process::Command::new("openssl")
        .args([
            "s_server", "-accept", &accept, "-cert", "srv.pem", "-key", "srv.key", "-alpn",
            "http/1.1", "-www", "-quiet",
        ])
        .current_dir(&dir.0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server");
    assert!(h2kit_test_support::peers::wait_listening(port));
    let url = format!("https://localhost:{port}/");
    let (code, _, err) = h2kit("get", &["--cacert", &dir.path("srv.pem"), &url]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(code, Some(1));
    // OpenSSL 3 refuses the handshake with an alert; older ones complete it without ALPN.
    assert!(
        err.contains("the alert no_application_protocol (120)")
            || err.contains("did not agree on HTTP/2: offered h2 by ALPN, it selected no protocol"),
        "{err}"
    );
}

/// `--tls-self-signed` writes a certificate that clients trust with `--cacert`: h2kit,
/// curl and nghttp.
#[test]
fn self_signed_serving_is_trusted_with_the_written_certificate() {
    let dir = Scratch::new("tls-self");
    let out = dir.path("served.pem");
    let s = Served::start(&["--tls-self-signed", "--tls-cert-out", &out]);
    let port = s.addr.port();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}/");
        let (code, _, err) = h2kit("get", &["--cacert", &out, &url]);
        assert_eq!(code, Some(0), "{host}: {err}");
        assert_curl_h2(&out, &url);
    }
    let nghttp = peer(
        "nghttp",
        &["-n", "-s", &format!("https://localhost:{port}/")],
    );
    // nghttp does not verify certificates; it must negotiate h2 and complete the request.
    assert!(nghttp.status.success(), "{}", text(&nghttp));
}

/// SSLKEYLOGFILE: client and server both write the TLS 1.3 secrets in the NSS key log format
/// that Wireshark reads, for the same session.
#[test]
fn key_logging_writes_the_sessions_secrets() {
    let dir = Scratch::new("tls-keylog");
    let cert = dir.path("c.pem");
    let server_log = dir.path("server.keys");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_h2kit"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--tls-self-signed",
            "--tls-cert-out",
            &cert,
        ])
        .env("SSLKEYLOGFILE", &server_log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    let client_log = dir.path("client.keys");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_h2kit"))
        .args([
            "get",
            "--cacert",
            &cert,
            &format!("https://localhost:{}/", addr.rsplit(':').next().unwrap()),
        ])
        .env("SSLKEYLOGFILE", &client_log)
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", text(&out));
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let (client, server) = (read(&client_log), read(&server_log));
    let randoms = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 "))
            .map(|l| l.split(' ').nth(1).unwrap().to_string())
            .collect()
    };
    assert_eq!(randoms(&client).len(), 1, "{client}");
    assert_eq!(
        randoms(&client),
        randoms(&server),
        "the same session in both logs"
    );
    for label in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
        "SERVER_TRAFFIC_SECRET_0 ",
    ] {
        assert!(client.contains(label), "{client}");
    }
}

/// `h2kit load` against a server whose certificate it rejects: a handful of connections (the
/// origin backs off), the reason named with its count, exit 1.
#[test]
fn load_against_a_rejected_certificate_does_not_storm() {
    let dir = Scratch::new("tls-storm");
    openssl_self_signed(&dir.0, "srv", "/CN=localhost", "IP:127.0.0.1,DNS:localhost");
    let s = Served::start(&[
        "--tls-cert",
        &dir.path("srv.pem"),
        "--tls-key",
        &dir.path("srv.key"),
    ]);
    let url = format!("https://localhost:{}/", s.addr.port());
    let (code, out, err) = h2kit("load", &[&url, "-D", "2s", "--json"]);
    assert_eq!(code, Some(1), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(v["succeeded"], 0);
    let opened = v["connections_opened"].as_u64().unwrap();
    // 100 ms doubling: 100+200+400+800 ms fit in 2 s, jitter only shortens the waits.
    assert!((1..=8).contains(&opened), "{opened} connections in 2 s");
    let messages = &v["failure_messages"]["TLS failed"]["first"];
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
    let m = &messages[0];
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .contains("self-signed and not trusted"),
        "{m}"
    );
    assert_eq!(m["count"], v["failed"]);
    assert!(err.contains("no request succeeded"), "{err}");
}

/// Bad TLS input to `serve`: one line naming the file and what is wrong, exit 2.
#[test]
fn bad_certificate_files_are_named() {
    let dir = Scratch::new("tls-bad");
    openssl_self_signed(&dir.0, "a", "/CN=localhost", "DNS:localhost");
    openssl_self_signed(&dir.0, "b", "/CN=localhost", "DNS:localhost");
    std::fs::write(dir.0.join("empty.pem"), "not a certificate\n").unwrap();
    let cases: [(&str, &str, &str); 4] = [
        ("missing.pem", "a.key", "cannot read certificate file"),
        ("empty.pem", "a.key", "holds no certificate"),
        ("a.pem", "a.pem", "holds no private key"),
        ("a.pem", "b.key", "does not belong to the certificate"),
    ];
    for (cert, key, words) in cases {
        let (code, _, err) = h2kit(
            "serve",
            &[
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                &dir.path(cert),
                "--tls-key",
                &dir.path(key),
            ],
        );
        assert_eq!(code, Some(2), "{cert} {key}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(words), "{cert} {key}: {err}");
        assert!(
            err.contains(&dir.path(cert)) || err.contains(&dir.path(key)),
            "{err}"
        );
    }
}
