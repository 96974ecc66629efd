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

/// h2o serving a directory, over TLS (`tls_port`, with `cert` and `key`) and h2c with prior
/// knowledge (`port`), from a configuration written into `dir`.
pub struct H2o {
    child: Child,
    pub port: u16,
    pub tls_port: u16,
}

impl H2o {
    pub fn start(dir: &Path, cert: &Path, key: &Path) -> H2o {
        let (port, tls_port) = (free_port(), free_port());
        let www = dir.join("h2o-www");
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("index.html"), "from h2o\n").unwrap();
        let conf = dir.join("h2o.conf");
        std::fs::write(
            &conf,
            format!(
                "listen:\n  host: 127.0.0.1\n  port: {tls_port}\n  ssl:\n    certificate-file: {}\n    \
                 key-file: {}\nlisten:\n  host: 127.0.0.1\n  port: {port}\nhosts:\n  default:\n    \
                 paths:\n      /:\n        file.dir: {}\nerror-log: {}\n",
                cert.display(),
                key.display(),
                www.display(),
                dir.join("h2o-error.log").display()
            ),
        )
        .unwrap();
        let child = Command::new("h2o")
            .args(["-c", conf.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("h2o is required (scripts/test installs it)");
        assert!(
            wait_listening(port) && wait_listening(tls_port),
            "h2o did not start"
        );
        H2o {
            child,
            port,
            tls_port,
        }
    }
}

impl Drop for H2o {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Go 1.19's toolchain (Debian's golang-1.19-go), whose net/http has the seeds' HTTP/2 bugs.
pub const GO: &str = "/usr/lib/go-1.19/bin/go";

/// Builds the Go program in `tests/go/NAME/main.go` (standard library only) into `dir`; the
/// binary's path.
pub fn go_build(name: &str, dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/go")
        .join(name)
        .join("main.go");
    let out = dir.join(format!("go-{name}"));
    let status = Command::new(GO)
        .args(["build", "-o"])
        .arg(&out)
        .arg(&src)
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"))
        .env("GO111MODULE", "off")
        .status()
        .unwrap_or_else(|e| panic!("{GO} is required (scripts/test installs golang-1.19-go): {e}"));
    assert!(status.success(), "go build {}", src.display());
    out
}

/// A Go program that prints `listening PORT` first, killed when dropped.
pub struct GoServer {
    child: Child,
    pub port: u16,
}

impl GoServer {
    pub fn start(binary: &Path, args: &[&Path]) -> GoServer {
        let mut child = Command::new(binary)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        GoServer { child, port }
    }
}

impl Drop for GoServer {
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
