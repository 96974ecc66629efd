//! `h2kit proxy`: the frame trace, anomalies seen on the wire, unplug on demand, a TCP reset
//! after N bytes, and bad input.

mod common;
use common::{h2kit, openssl_self_signed, peer, text, Scratch, Served};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use h2kit_test_support::wire;

/// A running `h2kit proxy`: its stdin for commands, its stdout lines, its stderr (the trace).
struct Proxy {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    addr: SocketAddr,
}

impl Proxy {
    fn start(upstream: SocketAddr, extra: &[&str]) -> Proxy {
        let mut child = Command::new(env!("CARGO_BIN_EXE_h2kit"))
            .args(["proxy", "--upstream", &upstream.to_string()])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for l in out.lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let mut first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
        // --tls-self-signed says where its certificate went first.
        if first.starts_with("certificate: ") {
            first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{first}"))
            .parse()
            .unwrap();
        Proxy {
            child,
            stdin,
            lines,
            addr,
        }
    }

    fn command(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.lines.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    fn report(&mut self) -> serde_json::Value {
        // Frames are counted as they pass: give the last ones a moment.
        std::thread::sleep(Duration::from_millis(200));
        serde_json::from_str(&self.command("report")).unwrap()
    }

    /// SIGTERM; returns (the final summary on stdout, the trace on stderr).
    fn stop(mut self) -> (String, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let mut summary = String::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(10)) {
            summary.push_str(&l);
            summary.push('\n');
        }
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let _ = self.child.wait();
        (summary, err)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/2 connection: the preface and an empty SETTINGS written.
fn connect_h2(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    wire::Conn::client(s).unwrap().io
}

/// Reads until the response to stream 1 has ended (a frame with END_STREAM on stream 1).
fn read_response(s: &mut TcpStream) {
    loop {
        let f = wire::read_frame(s).unwrap().expect("connection closed");
        if f.stream == 1 && f.end_stream() {
            return;
        }
    }
}

/// GET / on stream 1: :method GET, :scheme http, :path / (static table), :authority "a".
const GET_BLOCK: [u8; 6] = [0x82, 0x86, 0x84, 0x01, 0x01, b'a'];

#[test]
fn trace_and_anomalies_on_the_wire() {
    let s = Served::start(&[]);
    let mut p = Proxy::start(s.addr, &["--trace", "--json", "--max-pings", "3"]);
    // A well-behaved client first: nghttp, through the proxy.
    let out = peer("nghttp", &["-n", &format!("http://{}/", p.addr)]);
    assert!(out.status.success(), "{}", text(&out));
    let r = p.report();
    assert_eq!(r["connections"], 1, "{r}");
    assert_eq!(r["client"]["streams_opened"], 1, "{r}");
    assert_eq!(r["server"]["frames"]["HEADERS"], 1, "{r}");
    assert!(
        r["anomalies"].as_object().unwrap().values().all(|n| n == 0),
        "{r}"
    );
    // Now a client that resets a finished stream and floods PINGs.
    let mut c = connect_h2(p.addr);
    c.write_all(&wire::frame(0x1, 0x5, 1, &GET_BLOCK)).unwrap(); // HEADERS, END_STREAM|END_HEADERS
    read_response(&mut c);
    c.write_all(&wire::frame(0x3, 0, 1, &8u32.to_be_bytes()))
        .unwrap(); // RST_STREAM(CANCEL)
    for i in 0..5u64 {
        c.write_all(&wire::frame(0x6, 0, 0, &i.to_be_bytes()))
            .unwrap(); // PING
    }
    let r = p.report();
    assert_eq!(r["anomalies"]["rst_stream_on_closed_stream"], 1, "{r}");
    assert_eq!(r["anomalies"]["ping_flood"], 2, "{r}");
    assert_eq!(r["client"]["rst_stream"]["CANCEL"], 1, "{r}");
    drop(c);
    let (summary, trace) = p.stop();
    assert!(
        summary.contains("\"rst_stream_on_closed_stream\":1"),
        "{summary}"
    );
    for needle in [
        "] conn 1 c→s HEADERS frame <",
        "flags=0x25, stream_id=",
        "; END_STREAM | END_HEADERS | PRIORITY\n",
        "           :method: GET\n",
        "] conn 1 s→c SETTINGS frame <",
        "           :status: 200\n",
        "] conn 2 c→s RST_STREAM frame <length=4, flags=0x00, stream_id=1>\n           (error_code=CANCEL)\n",
        "] conn 2 c→s PING frame <length=8, flags=0x00, stream_id=0>\n           (opaque_data=0000000000000004)\n",
        "anomaly=\"rst_stream_on_closed_stream\"",
        "anomaly=\"ping_flood\"",
    ] {
        assert!(trace.contains(needle), "missing {needle} in\n{trace}");
    }
}

/// `unplug` on stdin: the most recent connection stays open but nothing passes either way.
#[test]
fn unplug_keeps_the_connection_open_and_silent() {
    let s = Served::start(&[]);
    let mut p = Proxy::start(s.addr, &["--json"]);
    assert_eq!(p.command("unplug"), "no connection to unplug");
    let mut c = connect_h2(p.addr);
    c.write_all(&wire::frame(0x1, 0x5, 1, &GET_BLOCK)).unwrap();
    read_response(&mut c);
    assert_eq!(p.command("unplug"), "unplugged connection 1");
    // A PING gets no answer, and the socket is not closed either.
    c.write_all(&wire::frame(0x6, 0, 0, &[7; 8])).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    let e = c
        .read(&mut buf)
        .expect_err("nothing passes an unplugged connection");
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e}"
    );
    let r = p.report();
    assert_eq!(r["faults"]["unplugged"], 1, "{r}");
    assert_eq!(r["open"], 1, "{r}");
}

/// `--reset-after-bytes`: the connection is reset (TCP RST) in the middle of a response, and
/// the client says so.
#[test]
fn reset_after_bytes_is_a_tcp_reset() {
    let s = Served::start(&[]);
    let mut p = Proxy::start(s.addr, &["--json", "--reset-after-bytes", "20000"]);
    let url = format!("http://{}/bytes/1000000", p.addr);
    let (code, _, err) = h2kit("get", &[&url]);
    assert_eq!(code, Some(1));
    assert!(err.contains("connection reset (TCP RST)"), "{err}");
    let r = p.report();
    assert_eq!(r["faults"]["resets"], 1, "{r}");
    let passed = r["bytes"]["client_to_server"].as_u64().unwrap()
        + r["bytes"]["server_to_client"].as_u64().unwrap();
    assert_eq!(passed, 20_000, "{r}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let s = Served::start(&[]);
    let up = s.addr.to_string();
    for args in [
        vec!["--upstream", &up, "--unplug-at", "soon"],
        vec!["--upstream", &up, "--delay", "fast"],
        vec!["--upstream", &up, "--bandwidth", "0"],
        vec!["--upstream", &up, "--reset-after-bytes", "-1"],
        vec!["--upstream", "no-port-given"],
        vec!["--upstream", &up, "--listen", "not-an-address"],
    ] {
        let (code, _, err) = h2kit("proxy", &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    // Nothing listens on this port: the upstream is unreachable.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, _, err) = h2kit("proxy", &["--upstream", &free.to_string()]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("h2kit: cannot reach upstream"), "{err}");
    // A busy port.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let (code, _, err) = h2kit("proxy", &["--upstream", &up, "--listen", &busy]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("h2kit: cannot listen on"), "{err}");
}

/// Inside TLS: the proxy terminates TLS toward the client (its own self-signed certificate)
/// and opens it toward the upstream; the trace shows the HTTP/2 between curl and nghttpd,
/// and between nghttp and `h2kit serve`, and the counts are those of h2c.
#[test]
fn traces_inside_tls_between_real_peers() {
    let dir = Scratch::new("proxy-tls");
    openssl_self_signed(&dir.0, "up", "/CN=localhost", "IP:127.0.0.1,DNS:localhost");
    std::fs::write(dir.0.join("file.txt"), "from nghttpd\n").unwrap();
    let nghttpd = h2kit_test_support::peers::Nghttpd::start(
        &dir.0,
        &[],
        &[dir.0.join("up.key"), dir.0.join("up.pem")],
    );
    let upstream: SocketAddr = format!("127.0.0.1:{}", nghttpd.port).parse().unwrap();
    let cert = dir.path("proxy.pem");
    let up_cert = dir.path("up.pem");
    let mut p = Proxy::start(
        upstream,
        &[
            "--trace",
            "--json",
            "--tls-self-signed",
            "--tls-cert-out",
            &cert,
            "--upstream-tls",
            "--upstream-cacert",
            &up_cert,
            "--upstream-sni",
            "localhost",
        ],
    );
    let url = format!("https://localhost:{}/file.txt", p.addr.port());
    let curl = peer(
        "curl",
        &["-s", "--cacert", &cert, "-H", "cookie: id=42", &url],
    );
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout),
        "from nghttpd\n",
        "{}",
        text(&curl)
    );
    let nghttp = peer("nghttp", &["-n", &url]);
    assert!(nghttp.status.success(), "{}", text(&nghttp));
    let r = p.report();
    assert_eq!(r["connections"], 2, "{r}");
    assert_eq!(r["not_h2"], 0, "{r}");
    assert_eq!(r["client"]["streams_opened"], 2, "{r}");
    assert_eq!(r["server"]["frames"]["HEADERS"], 2, "{r}");
    let (_, trace) = p.stop();
    for needle in [
        "] conn 1 c→s HEADERS frame <",
        "           :path: /file.txt\n",
        "           cookie: <redacted: 5 bytes>\n",
        "           server: nghttpd nghttp2/",
        "] conn 1 s→c DATA frame <length=13, flags=0x01, stream_id=1>\n",
        "] conn 2 c→s HEADERS frame <",
    ] {
        assert!(trace.contains(needle), "missing {needle:?} in\n{trace}");
    }
    nghttpd.finish();

    // h2kit serve over TLS as the upstream, trusted with its written certificate.
    let served_cert = dir.path("served.pem");
    let s = Served::start(&["--tls-self-signed", "--tls-cert-out", &served_cert]);
    let mut p = Proxy::start(
        s.addr,
        &[
            "--trace",
            "--json",
            "--tls-self-signed",
            "--upstream-tls",
            "--upstream-cacert",
            &served_cert,
        ],
    );
    let out = peer(
        "nghttp",
        &["-n", "-s", &format!("https://127.0.0.1:{}/", p.addr.port())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = p.report();
    assert_eq!(r["client"]["streams_opened"], 1, "{r}");
    let (_, trace) = p.stop();
    assert!(trace.contains("           :status: 200\n"), "{trace}");
}
