//! Peers that do not speak HTTP/2 are named, are not retried as lost connections, and put
//! their origin in back-off (`tests/python/http1_server.py`, an h2kit TLS server reached in
//! cleartext).

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The Python server, its port, and the connections it has counted.
struct Http1 {
    child: Child,
    port: u16,
    conns: Arc<Mutex<u64>>,
}

impl Http1 {
    fn start(mode: &str) -> Http1 {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/python/http1_server.py"
        );
        let mut child = Command::new("python3")
            .args([script, mode])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is required for this test (CI installs it)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first.strip_prefix("listening ").unwrap().parse().unwrap();
        let conns = Arc::new(Mutex::new(0));
        let c = conns.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.starts_with("conn ") {
                    *c.lock().unwrap() += 1;
                }
            }
        });
        Http1 { child, port, conns }
    }

    fn conns(&self) -> u64 {
        // The reader thread lags the server's print by a moment.
        std::thread::sleep(std::time::Duration::from_millis(100));
        *self.conns.lock().unwrap()
    }
}

impl Drop for Http1 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_http1_status_line_is_named_and_not_retried() {
    let s = Http1::start("status");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, _, err) = h2kit("get", &[&url]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(
            "the server answered in HTTP/1.1 (`HTTP/1.0 400 Bad Request`): it does not speak \
             HTTP/2 with prior knowledge (h2c)"
        ),
        "{err}"
    );
    assert!(!err.contains("attempts"), "retried: {err}");
    assert_eq!(s.conns(), 1);
}

#[test]
fn load_opens_a_handful_of_connections_and_names_the_reason() {
    let s = Http1::start("status");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, out, err) = h2kit("load", &[&url, "-n", "2000", "-c", "4", "-m", "10"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.contains("failed: not HTTP/2: 2000"), "{out}");
    assert!(
        out.contains("2000 × the server answered in HTTP/1.1 (`HTTP/1.0 400 Bad Request`)"),
        "{out}"
    );
    let n = s.conns();
    // The preflight check's connection, then at most one dial per configured connection
    // (the four dial together, so all of them may be in flight before the first answer);
    // no connection is dialled again once the answer is known.
    assert!((1..=5).contains(&n), "{n} connections for 2000 requests");
}

#[test]
fn python_http_server_and_a_tls_port_are_named_too() {
    let s = Http1::start("stdlib");
    let (code, _, err) = h2kit("get", &[&format!("http://127.0.0.1:{}/", s.port)]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the server answered")
            && err.contains("it does not speak HTTP/2 with prior knowledge (h2c)"),
        "{err}"
    );
    let tls = Served::start(&["--tls-self-signed"]);
    let (code, _, err) = h2kit("get", &[&format!("http://{}/", tls.addr)]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the server answered in TLS: it expects https://"),
        "{err}"
    );
}
