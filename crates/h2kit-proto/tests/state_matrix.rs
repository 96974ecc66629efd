//! Every stream state of RFC 9113 §5.1 × every frame a peer can send on a stream, for the server
//! and the client role, in both orders relative to the end of our own message.
//!
//! The expected outcome of each cell is a row of the tables in `state_matrix/table.rs`,
//! written from the RFC (the section is cited on the row); one function runs every row: it
//! brings a fresh connection to the state, sends the frame, and compares what the engine wrote
//! and delivered with the row.
//!
//! "Both orders": whether our own END_STREAM (a server's response, a client's request) went
//! out before the peer's frame arrived or after is a matter of timing the peer cannot see, so
//! each state that can be reached either way is a pair of rows — open / half-closed (local),
//! half-closed (remote) / closed by END_STREAM both ways, and the two closed-by-reset states
//! with and without our message ended first. `pairs_answer_alike` checks on the tables that the
//! two rows of a pair give the same error answer, except where the RFC itself answers
//! differently (listed there).
//!
//! Outcomes:
//! - `Deliver`: no error; the application gets an event for the stream (its head, DATA,
//!   trailers, or the peer's reset).
//! - `Quiet`: no error and nothing delivered: a control frame applied, or a frame dropped
//!   (on a stream we reset, or whose message the application discards).
//! - `Stream(code)`: RST_STREAM(code) on that stream; the connection goes on, and a new stream
//!   still works.
//! - `Conn(code)`: GOAWAY(code).

mod common;

use bytes::Bytes;
use common::peer::{data, ok_response, rst, window_update, with_stream_window, Peer};
use h2kit_proto::frame::{self, Frame as Wire, Settings};
use h2kit_proto::{Config, ErrorCode, Event, StreamId};

#[path = "state_matrix/table.rs"]
mod table;
use table::*;
use table::{Frame as F, Outcome::*, State::*};

fn config() -> Config {
    with_stream_window(WINDOW as u32)
}

fn post_head() -> http::request::Parts {
    http::Request::post("http://a.test/up")
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn get_head() -> http::request::Parts {
    common::peer::get_head()
}

/// A peer's POST without END_STREAM and without content-length (a body of unknown length).
fn post_frame(p: &mut Peer, id: u32) -> Wire {
    p.headers(
        id,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "a.test"),
            (":path", "/up"),
        ],
        false,
    )
}

fn headers_frame(p: &mut Peer, id: u32, fields: &[(&str, &str)], end_stream: bool) -> Wire {
    p.headers(id, fields, end_stream)
}

/// Brings a fresh connection to `state` on one stream; returns the peer and the stream.
fn setup(role: Role, state: State) -> (Peer, u32) {
    match role {
        Role::Server => setup_server(state),
        Role::Client => setup_client(state),
    }
}

fn setup_server(state: State) -> (Peer, u32) {
    let mut p = Peer::server(config());
    let s = 1;
    let id = StreamId(s);
    let open = |p: &mut Peer| {
        let h = post_frame(p, s);
        p.send(&[h]).unwrap();
    };
    let respond = |p: &mut Peer| {
        p.conn.send_response(id, &ok_response(), true).unwrap();
    };
    match state {
        Idle => {}
        Open => open(&mut p),
        HalfClosedLocal => {
            open(&mut p);
            respond(&mut p);
            p.conn.discard_incoming(id);
        }
        HalfClosedRemote => {
            let h = p.get(s, true);
            p.send(&[h]).unwrap();
        }
        ClosedEndStream => {
            let h = p.get(s, true);
            p.send(&[h]).unwrap();
            respond(&mut p);
        }
        ResetSent => {
            open(&mut p);
            p.conn.reset(id, ErrorCode::CANCEL);
        }
        ResetSentAfterEnd => {
            open(&mut p);
            respond(&mut p);
            p.conn.discard_incoming(id);
            p.output();
            // The peer does not finish within drain_timeout: RST_STREAM(NO_ERROR).
            p.advance(config().drain_timeout);
            p.conn.handle_timeout(p.now);
            p.expect_rst(s, ErrorCode::NO_ERROR);
        }
        ResetReceived => {
            open(&mut p);
            p.send(&[rst(s, ErrorCode::CANCEL)]).unwrap();
        }
        ResetReceivedAfterEnd => {
            open(&mut p);
            respond(&mut p);
            p.conn.discard_incoming(id);
            p.send(&[rst(s, ErrorCode::CANCEL)]).unwrap();
        }
        BeyondGoaway => {
            let out = p.shut_down_gracefully();
            assert!(out
                .iter()
                .any(|f| matches!(f, Wire::GoAway(g) if g.last_stream_id == StreamId(0))));
            // A request crossing the final GOAWAY: not processed.
            open(&mut p);
        }
    }
    p.output();
    p.events.clear();
    (p, s)
}

fn setup_client(state: State) -> (Peer, u32) {
    let mut p = Peer::client(config(), Settings::default());
    let status = |p: &mut Peer, s: u32, end: bool| {
        let h = headers_frame(p, s, &[(":status", "200")], end);
        p.send(&[h]).unwrap();
    };
    // A POST whose body is still to come, and the response head.
    let open = |p: &mut Peer| -> u32 {
        let id = p.conn.send_request(&post_head(), false).unwrap();
        status(p, id.0, false);
        id.0
    };
    let end_ours = |p: &mut Peer, s: u32| {
        let rest = p.conn.send_data(StreamId(s), Bytes::new(), true).unwrap();
        assert!(rest.is_empty());
    };
    let s = match state {
        Idle => 1,
        Open => open(&mut p),
        HalfClosedLocal => {
            let s = open(&mut p);
            end_ours(&mut p, s);
            s
        }
        HalfClosedRemote => {
            let s = open(&mut p);
            p.send(&[data(s, 10, true)]).unwrap();
            s
        }
        ClosedEndStream => {
            let s = open(&mut p);
            p.send(&[data(s, 10, true)]).unwrap();
            end_ours(&mut p, s);
            s
        }
        ResetSent => {
            let s = open(&mut p);
            p.conn.cancel(StreamId(s));
            s
        }
        ResetSentAfterEnd => {
            let s = open(&mut p);
            end_ours(&mut p, s);
            p.conn.cancel(StreamId(s));
            s
        }
        ResetReceived => {
            let s = open(&mut p);
            p.send(&[rst(s, ErrorCode::CANCEL)]).unwrap();
            s
        }
        ResetReceivedAfterEnd => {
            let s = open(&mut p);
            end_ours(&mut p, s);
            p.send(&[rst(s, ErrorCode::CANCEL)]).unwrap();
            s
        }
        BeyondGoaway => {
            let id = p.conn.send_request(&get_head(), true).unwrap();
            let goaway = Wire::GoAway(frame::GoAway {
                last_stream_id: StreamId(0),
                code: ErrorCode::NO_ERROR,
                debug_data: Bytes::new(),
            });
            p.send(&[goaway]).unwrap();
            assert!(p
                .events
                .iter()
                .any(|e| matches!(e, Event::Unprocessed { stream } if *stream == id)));
            id.0
        }
    };
    p.output();
    p.events.clear();
    (p, s)
}

/// The frame of `kind` on stream `s`, as the peer of `role` would send it.
fn build(p: &mut Peer, role: Role, kind: Frame, s: u32) -> Wire {
    let id = StreamId(s);
    let pseudo = match role {
        Role::Server => (":path", "/"),
        Role::Client => (":status", "200"),
    };
    match kind {
        F::Data => data(s, 10, false),
        F::DataEnd => data(s, 10, true),
        F::DataOverWindow => data(s, WINDOW + 1, false),
        F::DataOverFrameSize => data(s, frame::DEFAULT_MAX_FRAME_SIZE as usize + 1, false),
        F::HeadersNew => match role {
            Role::Server => p.get(s, true),
            Role::Client => headers_frame(p, s, &[(":status", "200")], true),
        },
        F::Trailers => headers_frame(p, s, &[("x-trailer", "1")], true),
        F::HeadersNoEnd => headers_frame(p, s, &[("x-trailer", "1")], false),
        F::TrailersPseudo => headers_frame(p, s, &[("x-trailer", "1"), pseudo], true),
        F::ContinuationAlone => {
            let block = p.block(&[("x-trailer", "1")]);
            Wire::Continuation(frame::Continuation {
                stream_id: id,
                block,
                end_headers: true,
            })
        }
        F::Priority => Wire::Priority(frame::Priority {
            stream_id: id,
            spec: frame::PrioritySpec {
                exclusive: false,
                dependency: StreamId(0),
                weight: 15,
            },
        }),
        F::RstStream => rst(s, ErrorCode::CANCEL),
        F::WindowUpdateZero => window_update(s, 0),
        F::WindowUpdate => window_update(s, 100),
        F::WindowUpdateOverflow => window_update(s, frame::MAX_WINDOW_SIZE),
        F::Unknown => Wire::Unknown(frame::Unknown {
            kind: 0xfa,
            flags: 0,
            stream_id: id,
            payload: Bytes::from_static(b"extension"),
        }),
    }
}

/// What the engine did with the frame.
fn observe(p: &mut Peer, s: u32) -> Outcome {
    let out = p.output();
    if let Some(code) = out.iter().find_map(|f| match f {
        Wire::GoAway(g) => Some(g.code),
        _ => None,
    }) {
        return Conn(code);
    }
    let resets: Vec<ErrorCode> = out
        .iter()
        .filter_map(|f| match f {
            Wire::RstStream(r) if r.stream_id == StreamId(s) => Some(r.code),
            _ => None,
        })
        .collect();
    match resets.as_slice() {
        [] => {}
        [code] => return Stream(*code),
        more => panic!("more than one RST_STREAM: {more:?}"),
    }
    let delivered = p.events.iter().any(|e| match e {
        Event::Headers { stream, .. } | Event::Data { stream, .. } => stream.0 == s,
        Event::Reset {
            stream,
            remote: true,
            ..
        } => stream.0 == s,
        _ => false,
    });
    if delivered {
        Deliver
    } else {
        Quiet
    }
}

/// After a frame that did not end the connection, a new stream still completes.
fn new_stream_works(p: &mut Peer, role: Role, state: State) {
    assert!(p.conn.error().is_none());
    if state == BeyondGoaway {
        return;
    }
    p.events.clear();
    match role {
        Role::Server => {
            let h = p.get(101, true);
            p.send(&[h]).unwrap();
            assert!(
                p.events.iter().any(
                    |e| matches!(e, Event::Headers { stream, .. } if *stream == StreamId(101))
                ),
                "the next request was not delivered: {:?}",
                p.events
            );
            p.conn
                .send_response(StreamId(101), &ok_response(), true)
                .unwrap();
        }
        Role::Client => {
            let id = p.conn.send_request(&get_head(), true).unwrap();
            let h = headers_frame(p, id.0, &[(":status", "204")], true);
            p.send(&[h]).unwrap();
            assert!(
                p.events
                    .iter()
                    .any(|e| matches!(e, Event::Headers { stream, .. } if *stream == id)),
                "the next response was not delivered: {:?}",
                p.events
            );
        }
    }
    let out = p.output();
    assert!(
        !out.iter()
            .any(|f| matches!(f, Wire::GoAway(_) | Wire::RstStream(_))),
        "{out:?}"
    );
}

/// Our own message ends after the frame (the "frame first" order of the paired states).
fn end_ours_afterwards(p: &mut Peer, role: Role, state: State, s: u32) {
    let id = StreamId(s);
    match (role, state) {
        (Role::Server, Open | HalfClosedRemote | ResetReceived | ResetSent) => {
            let _ = p.conn.send_response(id, &ok_response(), true);
        }
        (Role::Client, Open | HalfClosedRemote | ResetReceived | ResetSent) => {
            let _ = p.conn.send_data(id, Bytes::new(), true);
        }
        _ => {}
    }
    let out = p.output();
    assert!(
        !out.iter().any(|f| matches!(f, Wire::GoAway(_))),
        "ending our message afterwards failed the connection: {out:?}"
    );
}

fn run(role: Role, table: &[Row]) {
    let mut failures = Vec::new();
    for &(state, kind, want, section) in table {
        let (mut p, s) = setup(role, state);
        let f = build(&mut p, role, kind, s);
        let _ = p.send(&[f]);
        let got = observe(&mut p, s);
        if got != want {
            failures.push(format!(
                "{role:?} {state:?} × {kind:?}: want {want:?} ({section}), got {got:?}"
            ));
            continue;
        }
        if !matches!(want, Conn(_)) {
            end_ours_afterwards(&mut p, role, state, s);
            new_stream_works(&mut p, role, state);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The tables cover every state × every frame, once.
fn complete(table: &[Row]) {
    for state in ALL_STATES {
        for kind in ALL_FRAMES {
            let n = table.iter().filter(|r| r.0 == state && r.1 == kind).count();
            assert_eq!(n, 1, "{state:?} × {kind:?} appears {n} times");
        }
    }
}

#[test]
fn server_state_matrix() {
    complete(SERVER);
    run(Role::Server, SERVER);
}

#[test]
fn client_state_matrix() {
    complete(CLIENT);
    run(Role::Client, CLIENT);
}

/// The answer does not depend on whether our END_STREAM went out before the peer's frame or
/// after: within each pair of rows the error answers are the same (what is delivered may
/// differ: a server discards a request body it answered without reading), except the cells
/// where the RFC itself answers differently.
#[test]
fn pairs_answer_alike() {
    for table in [SERVER, CLIENT] {
        let cell = |state, kind| {
            table
                .iter()
                .find(|r| r.0 == state && r.1 == kind)
                .map(|r| r.2)
                .unwrap()
        };
        let error = |o: Outcome| matches!(o, Stream(_) | Conn(_)).then_some(o);
        for &(a, b) in PAIRS {
            for kind in ALL_FRAMES {
                let (x, y) = (cell(a, kind), cell(b, kind));
                if RFC_DIFFERS.contains(&(b, kind)) {
                    assert_ne!(
                        error(x),
                        error(y),
                        "{a:?}/{b:?} × {kind:?} is listed as differing"
                    );
                    continue;
                }
                assert_eq!(error(x), error(y), "{a:?} / {b:?} × {kind:?}");
            }
        }
    }
}
