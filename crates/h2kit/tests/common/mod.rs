//! Helpers shared by the integration tests: scripted Python `h2` servers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Empty;

/// A scripted Python `h2` server (`tests/python/scripted_server.py SCENARIO`), killed when
/// dropped; its observation lines are collected.
pub struct Scripted {
    pub child: Child,
    pub port: u16,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub fn start(scenario: &str) -> Scripted {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/scripted_server.py");
        let mut child = Command::new("python3")
            .args(["-u", script.to_str().unwrap(), scenario])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with h2 is required (CI installs it)");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .strip_prefix("port ")
            .expect("port line")
            .parse()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Scripted { child, port, lines }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Observation lines starting with `kind`.
    pub fn seen(&self, kind: &str) -> Vec<String> {
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(kind))
            .cloned()
            .collect()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn get(url: String) -> http::Request<Empty<Bytes>> {
    http::Request::get(url).body(Empty::new()).unwrap()
}

/// h2kit's proxy in front of `upstream`, running until the test's runtime ends.
pub async fn proxy(
    upstream: std::net::SocketAddr,
    faults: h2kit::proxy::Faults,
) -> (std::net::SocketAddr, h2kit::proxy::ProxyHandle) {
    let mut config = h2kit::proxy::ProxyConfig::new(upstream);
    config.faults = faults;
    let p = h2kit::proxy::Proxy::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let out = (p.local_addr(), p.handle());
    tokio::spawn(p.run(std::future::pending()));
    out
}

/// A client that keeps at most one connection per origin.
pub fn single_connection_client() -> h2kit::Client {
    h2kit::Client::builder()
        .max_connections_per_origin(1)
        .build()
}
