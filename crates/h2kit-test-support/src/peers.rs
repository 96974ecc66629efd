//! Independent peers as child processes, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A free TCP port on 127.0.0.1 (bound, then released for the peer to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port` (up to 5 s); false if nothing did.
pub fn wait_listening(port: u16) -> bool {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// nghttp2's server, `nghttpd`, serving a directory on a free port.
pub struct Nghttpd {
    child: Child,
    pub port: u16,
}

impl Nghttpd {
    /// Serves `dir`: `extra` goes before the port (`--no-tls`, `-v`), `tls` after it (the key
    /// and certificate files). Returns once it accepts connections. With `-v` among `extra`,
    /// its log of frames is kept for [`finish`](Self::finish).
    pub fn start(dir: &Path, extra: &[&str], tls: &[PathBuf]) -> Nghttpd {
        let port = free_port();
        let log = extra.contains(&"-v");
        let child = Command::new("nghttpd")
            .args(extra)
            .args(["-d", dir.to_str().unwrap(), &port.to_string()])
            .args(tls)
            .stdout(if log { Stdio::piped() } else { Stdio::null() })
            .spawn()
            .expect("nghttpd is required (scripts/test installs nghttp2-server)");
        assert!(wait_listening(port), "nghttpd did not start on port {port}");
        Nghttpd { child, port }
    }

    /// Stops the server; what it printed (with `-v`: every frame it saw).
    pub fn finish(mut self) -> String {
        let _ = self.child.kill();
        let mut out = String::new();
        if let Some(stdout) = self.child.stdout.take() {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Nghttpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scripted Python `h2` server (`tests/python/scripted_server.py SCENARIO` at the
/// repository's root); its observation lines are collected.
pub struct Scripted {
    child: Child,
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub fn start(scenario: &str) -> Scripted {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/scripted_server.py");
        let mut child = Command::new("python3")
            .args(["-u", script.to_str().unwrap(), scenario])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with h2 is required (scripts/test installs it)");
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

    /// Observation lines starting with `kind` (after a moment for the last ones to arrive).
    pub fn seen(&self, kind: &str) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(100));
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
