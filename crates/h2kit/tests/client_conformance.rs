//! What `h2kit::Client` answers when a server sends frames on a stream the client has finished
//! (END_STREAM both ways) or reset, the same whatever the timing: the client's side of the
//! conformance cases of `h2kit-cli/tests/conformance.rs`.
//!
//! The server is scripted in raw frames (`h2kit_test_support::wire`, no code shared with h2kit). It answers
//! the first request on stream 1, then sends the case's frames on that stream, either in the
//! same write as the response (so the client reads them together) or once the client's
//! application has read the whole response; for a reset stream, once the client's
//! RST_STREAM(CANCEL) has arrived. Two PING round trips then make sure everything the client
//! said about those frames has arrived; the client's next request (the probe) must still
//! succeed. `the_answers_are_the_same_in_every_run` repeats every case 20 times.

use h2kit_test_support::client as common;

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use h2kit_test_support::wire::{self, code, kind, Conn};
use http_body_util::BodyExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The client's GET and the server's response both ended.
    Finished,
    /// The client gave the request up before any response (RST_STREAM(CANCEL)).
    Reset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// The case's frames in the same write as the response.
    WithResponse,
    /// The case's frames once the application has read the whole response.
    AfterResponseRead,
}

struct Case {
    name: &'static str,
    frames: fn() -> Vec<u8>,
    /// What the client sends about stream 1 after a finished stream, and after its reset.
    after_finished: &'static [&'static str],
    after_reset: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "DATA (§6.1: STREAM_CLOSED)",
        frames: || wire::data(1, b"late", false),
        after_finished: &["RST_STREAM(1, STREAM_CLOSED)"],
        after_reset: &[],
    },
    Case {
        name: "trailers (§5.1 closed)",
        frames: || wire::trailers(1, true, None),
        after_finished: &["RST_STREAM(1, STREAM_CLOSED)"],
        after_reset: &[],
    },
    Case {
        name: "HEADERS without END_STREAM (§5.1 closed)",
        frames: || wire::trailers(1, false, None),
        after_finished: &["RST_STREAM(1, STREAM_CLOSED)"],
        after_reset: &[],
    },
    Case {
        name: "pseudo-header in trailers (§5.1 closed)",
        frames: || wire::trailers(1, true, Some((":status", "200"))),
        after_finished: &["RST_STREAM(1, STREAM_CLOSED)"],
        after_reset: &[],
    },
    Case {
        name: "WINDOW_UPDATE with increment 0 (§6.9)",
        frames: || wire::window_update(1, 0),
        after_finished: &["RST_STREAM(1, PROTOCOL_ERROR)"],
        after_reset: &[],
    },
    Case {
        name: "WINDOW_UPDATE to 2^31-1 (§5.1 closed: no window left)",
        frames: || wire::window_update(1, 0x7fff_ffff),
        after_finished: &[],
        after_reset: &[],
    },
    Case {
        name: "RST_STREAM (§5.1 closed)",
        frames: || wire::rst_stream(1, code::CANCEL),
        after_finished: &[],
        after_reset: &[],
    },
    Case {
        name: "DATA larger than SETTINGS_MAX_FRAME_SIZE (§4.2)",
        frames: || wire::data(1, &[b'x'; 16_385], false),
        after_finished: &["GOAWAY(last=0, FRAME_SIZE_ERROR)"],
        after_reset: &["GOAWAY(last=0, FRAME_SIZE_ERROR)"],
    },
    Case {
        name: "CONTINUATION without a header block (§6.10)",
        frames: || wire::continuation(1, &wire::block(&[("x-trailer", "1")]), true),
        after_finished: &["GOAWAY(last=0, PROTOCOL_ERROR)"],
        after_reset: &["GOAWAY(last=0, PROTOCOL_ERROR)"],
    },
];

/// What the scripted server saw of the client on the first connection: the frames about
/// stream 1 (RST_STREAM) and GOAWAY, in order, then "closed" if the client closed it.
type Transcript = Vec<String>;

/// Reads the next frame, recording what matters; `None` once the client closed.
fn next(conn: &mut Conn<TcpStream>, seen: &mut Transcript) -> Option<wire::Frame> {
    match conn.recv() {
        Ok(Some(f)) => {
            if (f.kind == kind::RST_STREAM && f.stream == 1) || f.kind == kind::GOAWAY {
                seen.push(f.to_string());
            }
            Some(f)
        }
        Ok(None) => {
            seen.push("closed".into());
            None
        }
        Err(e) => {
            seen.push(format!("read failed: {e}"));
            None
        }
    }
}

fn response(stream: u32, body: &[u8]) -> Vec<u8> {
    let mut b = wire::headers(stream, &[(":status", "200")], false);
    b.extend(wire::data(stream, body, true));
    b
}

/// Two PING round trips: everything the client wrote in answer to earlier frames is in (its
/// PING ACKs go out ahead of other queued frames, so one round trip is not enough).
fn barrier(conn: &mut Conn<TcpStream>, seen: &mut Transcript) -> bool {
    for n in 0..2u8 {
        if conn.send(&wire::ping([n; 8], false)).is_err() {
            return false;
        }
        loop {
            match next(conn, seen) {
                None => return false,
                Some(f) if f.kind == kind::PING && f.is_ack() => break,
                Some(_) => {}
            }
        }
    }
    true
}

/// The scripted server for one case: the first connection's transcript, sent on `done` once
/// the probe has been answered (on that connection or a new one).
fn script(
    listener: TcpListener,
    case: &'static Case,
    ending: Ending,
    order: Order,
    response_read: mpsc::Receiver<()>,
    probe_now: mpsc::Sender<()>,
) -> Transcript {
    let mut seen = Transcript::new();
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut conn = Conn::server(tcp, &[]).unwrap();
    // The first request.
    while let Some(f) = next(&mut conn, &mut seen) {
        if f.kind == kind::HEADERS && f.stream == 1 {
            break;
        }
    }
    match ending {
        Ending::Finished => {
            let mut out = response(1, b"hello");
            if order == Order::WithResponse {
                out.extend((case.frames)());
                conn.send(&out).unwrap();
            } else {
                conn.send(&out).unwrap();
                response_read.recv().unwrap();
                conn.send(&(case.frames)()).unwrap();
            }
        }
        Ending::Reset => {
            // No answer: the client gives up and resets the stream.
            while let Some(f) = next(&mut conn, &mut seen) {
                if f.kind == kind::RST_STREAM && f.stream == 1 {
                    break;
                }
            }
            conn.send(&(case.frames)()).unwrap();
        }
    }
    let alive = barrier(&mut conn, &mut seen);
    probe_now.send(()).unwrap();
    let mut conn = if alive {
        conn
    } else {
        // The client ended the connection: its probe comes on a new one.
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Conn::server(tcp, &[]).unwrap()
    };
    let mut ignored = Transcript::new();
    let log = if alive { &mut seen } else { &mut ignored };
    while let Some(f) = next(&mut conn, log) {
        if f.kind == kind::HEADERS && f.end_stream() {
            conn.send(&response(f.stream, b"probe")).unwrap();
            seen.push("probe answered".into());
            break;
        }
    }
    close_when_the_client_does(conn);
    seen
}

/// Reads until the client closes: closing with its last frames unread would make the kernel
/// answer with a TCP RST, which can take our last response with it.
fn close_when_the_client_does(mut conn: Conn<TcpStream>) {
    while let Ok(Some(_)) = conn.recv() {}
}

/// One case: the server's transcript of the client.
fn exchange(case: &'static Case, ending: Ending, order: Order) -> Transcript {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (read_tx, read_rx) = mpsc::channel();
    let (probe_tx, probe_rx) = mpsc::channel();
    let server =
        std::thread::spawn(move || script(listener, case, ending, order, read_rx, probe_tx));
    let rt = runtime();
    rt.block_on(async {
        let client = common::single_connection_client();
        match ending {
            Ending::Finished => {
                let res = client.send(common::get(format!("{base}/first"))).await;
                let body = res.unwrap().into_body().collect().await.unwrap();
                assert_eq!(body.to_bytes(), "hello");
                let _ = read_tx.send(());
            }
            Ending::Reset => {
                let first = client.send(common::get(format!("{base}/first")));
                let waited = tokio::time::timeout(Duration::from_millis(50), first).await;
                assert!(
                    waited.is_err(),
                    "the script never answers the first request"
                );
            }
        }
        tokio::task::spawn_blocking(move || probe_rx.recv().unwrap())
            .await
            .unwrap();
        let res = client.send(common::get(format!("{base}/probe"))).await;
        let res = res.unwrap_or_else(|e| {
            panic!("{} {ending:?} {order:?}: the probe failed: {e}", case.name)
        });
        let body = res.into_body().collect().await.unwrap();
        assert_eq!(body.to_bytes(), "probe");
    });
    // The client's connections close with its runtime; the script waits for that.
    drop(rt);
    server.join().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn expected(case: &Case, ending: Ending) -> Transcript {
    let mut want = Vec::new();
    if ending == Ending::Reset {
        want.push("RST_STREAM(1, CANCEL)".to_string());
    }
    let answer = match ending {
        Ending::Finished => case.after_finished,
        Ending::Reset => case.after_reset,
    };
    want.extend(answer.iter().map(|s| s.to_string()));
    if answer.iter().any(|a| a.starts_with("GOAWAY")) {
        want.push("closed".into());
    }
    want.push("probe answered".into());
    want
}

/// Every case, ending and order once: (label, expected, seen).
fn run_all() -> Vec<wire::Exchange> {
    let mut results = Vec::new();
    for case in CASES {
        for (ending, order) in [
            (Ending::Finished, Order::WithResponse),
            (Ending::Finished, Order::AfterResponseRead),
            (Ending::Reset, Order::WithResponse),
        ] {
            let label = match ending {
                Ending::Finished => format!("after a finished stream, {order:?}: {}", case.name),
                Ending::Reset => format!("after the client's reset: {}", case.name),
            };
            let seen = exchange(case, ending, order);
            results.push((label, expected(case, ending), seen));
        }
    }
    results
}

#[test]
fn each_case_gets_the_rfc_answer_in_every_order() {
    wire::assert_expected(&run_all());
}

#[test]
fn the_answers_are_the_same_in_every_run() {
    wire::assert_same_in_every_run(20, run_all);
}

/// RFC 9113 §8.1: a server may answer before the request body has been sent, then ask the
/// client to stop with RST_STREAM(NO_ERROR); "clients MUST NOT discard responses as a result".
/// The client keeps the whole response, stops sending its body, sends no reset of its own, and
/// the connection goes on.
#[test]
fn a_reset_with_no_error_after_a_complete_response_keeps_the_response() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut conn = Conn::server(tcp, &[]).unwrap();
        let mut seen = Transcript::new();
        // The upload's HEADERS and its first DATA.
        let mut got_data = false;
        while !got_data {
            let f = next(&mut conn, &mut seen).expect("the upload");
            got_data = f.kind == kind::DATA && f.stream == 1;
        }
        let mut out = response(1, b"early answer");
        out.extend(wire::rst_stream(1, code::NO_ERROR));
        conn.send(&out).unwrap();
        while let Some(f) = next(&mut conn, &mut seen) {
            if f.kind == kind::HEADERS && f.stream == 3 {
                conn.send(&response(3, b"probe")).unwrap();
                break;
            }
        }
        close_when_the_client_does(conn);
        seen
    });
    let rt = runtime();
    rt.block_on(async {
        let client = common::single_connection_client();
        let upload = http::Request::post(format!("{base}/upload"))
            .body(OneChunkThenStall::default())
            .unwrap();
        let res = client.send(upload).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap();
        assert_eq!(body.to_bytes(), "early answer");
        let res = client.send(common::get(format!("{base}/probe"))).await;
        assert_eq!(res.unwrap().status(), 200);
    });
    drop(rt);
    let seen = server.join().unwrap();
    assert!(seen.is_empty(), "the client reset or closed: {seen:?}");
}

/// A request body that sends one chunk, then never ends.
#[derive(Default)]
struct OneChunkThenStall {
    sent: bool,
}

impl http_body::Body for OneChunkThenStall {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.sent {
            return std::task::Poll::Pending;
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
            b"upload starts",
        )))))
    }
}
