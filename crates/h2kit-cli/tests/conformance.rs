//! What `h2kit serve` answers to the frames conformance suites send on a request stream, the
//! same whatever the timing.
//!
//! Each case opens stream 1 with a POST's HEADERS without END_STREAM, then sends the case's
//! frames and, in the same write, a GET on stream 3 (the probe: the connection's other streams
//! keep working). Each case runs:
//! - with each way a handler can answer: polled inline as the request is read (the default),
//!   spawned as a task (`--spawn-handlers`), and after waiting 50 ms (`/delay/50`);
//! - in both orders: the frames right behind the HEADERS (before any handler has answered), and
//!   after the whole response has arrived (the handler answered without reading the body);
//! - over h2c and over TLS.
//!
//! The peer writes frames by hand (`h2kit_test_support::wire`, no code shared with h2kit). What the server
//! sends on stream 1 must be exactly the case's answer (after the response, in the second
//! order), and the probe must be answered unless the answer ends the connection.
//! `the_answers_are_the_same_in_every_run` repeats everything 20 times in this process and
//! fails on any difference between runs.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{write_cert, Served};
use h2kit_test_support::wire::{self, code, Conn};

/// The stream window the servers here advertise (a case uses all of it).
const WINDOW: usize = 65_535;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handler {
    Inline,
    Spawned,
    Delayed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// The case's frames in the same write as the request's HEADERS.
    FramesFirst,
    /// The case's frames once the response has fully arrived.
    ResponseFirst,
}

struct Case {
    name: &'static str,
    /// The frames after the HEADERS of stream 1.
    frames: fn() -> Vec<Vec<u8>>,
    /// What the server then sends on stream 1 (or a GOAWAY), RFC 9113 section in the name.
    answer: &'static [&'static str],
    /// Only meaningful once the response is complete.
    response_first_only: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "RST_STREAM then DATA (§5.1 closed, §6.1: STREAM_CLOSED)",
        frames: || {
            vec![
                wire::rst_stream(1, code::CANCEL),
                wire::data(1, b"late", false),
            ]
        },
        answer: &["RST_STREAM(1, STREAM_CLOSED)"],
        response_first_only: false,
    },
    Case {
        name: "RST_STREAM then HEADERS (§5.1 closed: STREAM_CLOSED)",
        frames: || {
            vec![
                wire::rst_stream(1, code::CANCEL),
                wire::trailers(1, true, None),
            ]
        },
        answer: &["RST_STREAM(1, STREAM_CLOSED)"],
        response_first_only: false,
    },
    Case {
        name: "RST_STREAM then CONTINUATION (§6.10: no header block in progress)",
        frames: || {
            vec![
                wire::rst_stream(1, code::CANCEL),
                wire::continuation(1, &wire::block(&[("x-trailer", "1")]), true),
            ]
        },
        answer: &["GOAWAY(last=1, PROTOCOL_ERROR)"],
        response_first_only: false,
    },
    Case {
        name: "WINDOW_UPDATE with increment 0 (§6.9: PROTOCOL_ERROR)",
        frames: || vec![wire::window_update(1, 0)],
        answer: &["RST_STREAM(1, PROTOCOL_ERROR)"],
        response_first_only: false,
    },
    Case {
        name: "WINDOW_UPDATEs above 2^31-1 (§6.9.1: FLOW_CONTROL_ERROR)",
        frames: || {
            vec![
                wire::window_update(1, 0x7fff_ffff),
                wire::window_update(1, 0x7fff_ffff),
            ]
        },
        answer: &["RST_STREAM(1, FLOW_CONTROL_ERROR)"],
        response_first_only: false,
    },
    Case {
        name: "second HEADERS without END_STREAM (§8.1: PROTOCOL_ERROR)",
        frames: || vec![wire::headers(1, &[("x-trailer", "1")], false)],
        answer: &["RST_STREAM(1, PROTOCOL_ERROR)"],
        response_first_only: false,
    },
    Case {
        name: "pseudo-header in trailers (§8.1, §8.3: malformed)",
        frames: || vec![wire::trailers(1, true, Some((":path", "/")))],
        answer: &["RST_STREAM(1, PROTOCOL_ERROR)"],
        response_first_only: false,
    },
    Case {
        name: "DATA larger than SETTINGS_MAX_FRAME_SIZE (§4.2: FRAME_SIZE_ERROR)",
        frames: || vec![wire::data(1, &[b'x'; 16_385], true)],
        answer: &["GOAWAY(last=1, FRAME_SIZE_ERROR)"],
        response_first_only: false,
    },
    Case {
        name: "the rest of the body, then END_STREAM (§8.1: nothing to answer)",
        frames: || vec![wire::data(1, &[b'x'; 100], false), wire::data(1, b"", true)],
        answer: &[],
        response_first_only: false,
    },
    Case {
        name: "a body nobody reads, up to the end of its window (§8.1: RST_STREAM(NO_ERROR))",
        frames: || {
            let mut frames = Vec::new();
            let mut left = WINDOW;
            while left > 0 {
                let n = left.min(16_384);
                frames.push(wire::data(1, &vec![b'x'; n], false));
                left -= n;
            }
            frames
        },
        answer: &["RST_STREAM(1, NO_ERROR)"],
        response_first_only: true,
    },
];

/// The servers of one run: h2c and TLS, each with inline and spawned handlers.
struct Servers {
    h2c_inline: Served,
    h2c_spawned: Served,
    tls_inline: Served,
    tls_spawned: Served,
    tls: Arc<rustls::ClientConfig>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Servers {
    fn start(tag: &str) -> Servers {
        let dir = std::env::temp_dir().join(format!("h2kit-conf-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = write_cert(&dir);
        let window = WINDOW.to_string();
        let base = ["--stream-window", &window];
        let tls = ["--tls-cert", &cert, "--tls-key", &key];
        let with = |extra: &[&str]| {
            let mut args: Vec<&str> = base.to_vec();
            args.extend_from_slice(extra);
            Served::start(&args)
        };
        let mut client = h2kit::tls::insecure_client_config();
        client.alpn_protocols = vec![b"h2".to_vec()];
        Servers {
            h2c_inline: with(&["--h2c"]),
            h2c_spawned: with(&["--h2c", "--spawn-handlers"]),
            tls_inline: with(&tls),
            tls_spawned: with(&[&tls[..], &["--spawn-handlers"]].concat()),
            tls: Arc::new(client),
            _dir: TempDir(dir),
        }
    }
}

/// Every case × handler × order × transport, once: (label, expected, what happened).
fn run_all(servers: &Servers) -> Vec<wire::Exchange> {
    let mut results = Vec::new();
    for tls in [false, true] {
        for handler in [Handler::Inline, Handler::Spawned, Handler::Delayed] {
            let served = match (tls, handler) {
                (false, Handler::Spawned) => &servers.h2c_spawned,
                (false, _) => &servers.h2c_inline,
                (true, Handler::Spawned) => &servers.tls_spawned,
                (true, _) => &servers.tls_inline,
            };
            for case in CASES {
                for order in [Order::FramesFirst, Order::ResponseFirst] {
                    if case.response_first_only && order == Order::FramesFirst {
                        continue;
                    }
                    let label = format!(
                        "{} {handler:?} {order:?}: {}",
                        if tls { "TLS" } else { "h2c" },
                        case.name
                    );
                    let tls = tls.then(|| servers.tls.clone());
                    let seen = exchange(served.addr, tls, handler, case, order);
                    results.push((label, expected(case, order), seen));
                }
            }
        }
    }
    results
}

/// What the case must produce: the response first in that order, then the answer, then the
/// probe's fate.
fn expected(case: &Case, order: Order) -> Vec<String> {
    let mut want = Vec::new();
    if order == Order::ResponseFirst {
        want.push("HEADERS(1)".to_string());
        want.push("DATA(1, END_STREAM)".to_string());
    }
    want.extend(case.answer.iter().map(|s| s.to_string()));
    let ends_connection = case.answer.iter().any(|a| a.starts_with("GOAWAY"));
    if order == Order::FramesFirst && case.answer.is_empty() {
        // Nothing wrong: the handler answers once the frames are in.
        want.push("HEADERS(1)".to_string());
        want.push("DATA(1, END_STREAM)".to_string());
    }
    want.push(if ends_connection {
        "closed".to_string()
    } else {
        "probe answered".to_string()
    });
    want
}

trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

fn connect(addr: SocketAddr, tls: Option<Arc<rustls::ClientConfig>>) -> Box<dyn Io> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    match tls {
        None => Box::new(tcp),
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let conn = rustls::ClientConnection::new(config, name).unwrap();
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
    }
}

/// One case on a fresh connection: the frames the server sent on stream 1, any GOAWAY, then
/// "probe answered" or "closed" (or what went wrong).
fn exchange(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    handler: Handler,
    case: &Case,
    order: Order,
) -> Vec<String> {
    let path = match handler {
        Handler::Delayed => "/delay/50",
        _ => "/",
    };
    let request = wire::headers(
        1,
        &[
            (":method", "POST"),
            (":scheme", if tls.is_some() { "https" } else { "http" }),
            (":authority", "localhost"),
            (":path", path),
        ],
        false,
    );
    let probe = wire::headers(
        3,
        &[
            (":method", "GET"),
            (":scheme", if tls.is_some() { "https" } else { "http" }),
            (":authority", "localhost"),
            (":path", "/"),
        ],
        true,
    );
    let mut conn = Conn::client(connect(addr, tls)).unwrap();
    let mut seen = Vec::new();
    let mut rest: Vec<u8> = (case.frames)().concat();
    rest.extend_from_slice(&probe);
    match order {
        Order::FramesFirst => {
            let mut all = request;
            all.extend_from_slice(&rest);
            conn.send(&all).unwrap();
        }
        Order::ResponseFirst => {
            conn.send(&request).unwrap();
            let mut stream1_done = false;
            while !stream1_done {
                match conn.recv() {
                    Ok(Some(f)) if f.stream == 1 && f.kind != wire::kind::WINDOW_UPDATE => {
                        stream1_done = f.end_stream() || f.kind == wire::kind::RST_STREAM;
                        seen.push(f.to_string());
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        seen.push("closed before the response ended".into());
                        return seen;
                    }
                    Err(e) => {
                        seen.push(format!("no response: {e}"));
                        return seen;
                    }
                }
            }
            conn.send(&rest).unwrap();
        }
    }
    // Until the probe is answered and stream 1 has ended (or the connection has). After its
    // whole response, stream 1 owes only the case's answer, if there is one.
    let mut stream1_done = order == Order::ResponseFirst && case.answer.is_empty();
    let mut probed = false;
    loop {
        if probed && stream1_done {
            seen.push("probe answered".into());
            return seen;
        }
        match conn.recv() {
            Ok(Some(f))
                if f.kind == wire::kind::WINDOW_UPDATE
                    || (f.stream == 0 && f.kind != wire::kind::GOAWAY) => {}
            Ok(Some(f)) if f.stream == 3 => probed |= f.end_stream(),
            Ok(Some(f)) => {
                if f.stream == 1 {
                    stream1_done |= f.end_stream() || f.kind == wire::kind::RST_STREAM;
                }
                seen.push(f.to_string());
            }
            Ok(None) => {
                seen.push("closed".into());
                return seen;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                seen.push("closed".into());
                return seen;
            }
            Err(e) => {
                seen.push(format!("stopped: {e}"));
                return seen;
            }
        }
    }
}

#[test]
fn each_case_gets_the_rfc_answer_in_every_way_and_order() {
    let servers = Servers::start("once");
    wire::assert_expected(&run_all(&servers));
}

/// The conformance run of CI: everything 20 times in one process, against the same servers;
/// any difference between runs fails, and so does any run that is not the expected one.
#[test]
fn the_answers_are_the_same_in_every_run() {
    let servers = Servers::start("repeated");
    wire::assert_same_in_every_run(20, || run_all(&servers));
}

/// `--drain-timeout`: a client that, once the response is complete, neither ends its body nor
/// uses up its window is told to stop with RST_STREAM(NO_ERROR) when the timeout expires, and
/// not before; its frames until then still get the RFC's answers.
#[test]
fn an_unfinished_body_is_reset_with_no_error_when_the_drain_timeout_expires() {
    let served = Served::start(&["--h2c", "--drain-timeout", "400ms"]);
    let mut conn = Conn::client(connect(served.addr, None)).unwrap();
    let request = wire::headers(
        1,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "localhost"),
            (":path", "/"),
        ],
        false,
    );
    conn.send(&request).unwrap();
    let mut seen = Vec::new();
    let mut ended = None;
    while ended.is_none() {
        let f = conn.recv().unwrap().expect("the response");
        if f.stream == 1 {
            seen.push(f.to_string());
            if f.end_stream() {
                ended = Some(std::time::Instant::now());
            }
        }
    }
    conn.send(&wire::data(1, b"more of the body", false))
        .unwrap();
    let reset = loop {
        let f = conn.recv().unwrap().expect("the reset");
        if f.stream == 1 && f.kind != wire::kind::WINDOW_UPDATE {
            seen.push(f.to_string());
            break std::time::Instant::now();
        }
    };
    let waited = reset - ended.unwrap();
    assert_eq!(
        seen,
        [
            "HEADERS(1)",
            "DATA(1, END_STREAM)",
            "RST_STREAM(1, NO_ERROR)"
        ]
    );
    assert!(
        waited >= Duration::from_millis(350),
        "reset after {waited:?}, before the drain timeout"
    );
}
