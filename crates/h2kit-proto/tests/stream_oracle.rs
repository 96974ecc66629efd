//! An oracle for one stream's life: random sequences of the peer's frames and our own actions
//! (responses, DATA, resets, discarding the peer's message, time passing), in both roles,
//! checked step by step against a small reference model of RFC 9113 §5.1.
//!
//! The model is written from the RFC and from the documented policy of `Connection` (how a
//! discarded message drains, how long closed streams are remembered), not from the engine's
//! code: a state, how the stream closed, and the windows as the peer sees them (learned only
//! from the WINDOW_UPDATEs we send, as a real peer learns them). After each step the engine's
//! answer — the RST_STREAM or GOAWAY it wrote, what it delivered, whether it accepted our
//! command — must be the model's.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::peer::{data, ok_response, rst, window_update, with_stream_window, Peer};
use h2kit_proto::frame::{self, Frame as Wire, Settings};
use h2kit_proto::{Config, ErrorCode, Event, StreamId};
use proptest::prelude::*;

const S: u32 = 1;
/// Our stream window (the peer has acknowledged it); the peer's is the default 65,535.
const OUR_WINDOW: i64 = 1000;
const PEER_WINDOW: i64 = 65_535;
const MAX_WINDOW: i64 = (1 << 31) - 1;

fn config() -> Config {
    with_stream_window(OUR_WINDOW as u32)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Server,
    Client,
}

/// What a step can be.
#[derive(Clone, Debug)]
enum Step {
    // The peer's frames on the stream.
    /// A message head: a request (to a server), a response (to a client).
    Head {
        end: bool,
    },
    /// A field block of one regular field, optionally followed by a pseudo-header field.
    Trailers {
        end: bool,
        pseudo: bool,
    },
    Data {
        len: usize,
        end: bool,
    },
    WindowUpdate(u32),
    Rst,
    Priority,
    Unknown,
    ContinuationAlone,
    // Our actions.
    /// Server: the response head.
    Respond {
        end: bool,
    },
    /// Our DATA (the response body on a server, the request body on a client).
    Send {
        len: usize,
        end: bool,
    },
    Reset,
    /// The application stops reading the peer's message (`discard_incoming`).
    Discard,
    /// The application hands back bytes of delivered DATA it has read (`release_capacity`);
    /// at most what was delivered and not yet released.
    Release(usize),
    /// Time passes (and `handle_timeout` runs).
    Wait(Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closure {
    EndStream,
    ResetSent,
    ResetReceived,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Open,
    HalfClosedLocal,
    HalfClosedRemote,
    Closed(Closure),
}

/// What the engine did after a step, as far as the stream goes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    /// A command of ours was accepted (peer frames: always true).
    accepted: bool,
    /// Frames written on the stream (kind, and the code of a RST_STREAM).
    frames: Vec<String>,
    /// The GOAWAY code, if the connection failed.
    goaway: Option<ErrorCode>,
    /// The application got an event about the stream.
    delivered: bool,
}

impl Answer {
    /// Accepted, and nothing done yet.
    fn quiet() -> Answer {
        Answer {
            accepted: true,
            frames: Vec::new(),
            goaway: None,
            delivered: false,
        }
    }
}

/// The reference model of one stream.
#[derive(Clone, Debug)]
struct Model {
    role: Role,
    state: State,
    peer_head: bool,
    our_head: bool,
    discard: bool,
    /// What the peer may still send on the stream, as it knows it.
    peer_window: i64,
    /// What we may still send on the stream.
    our_window: i64,
    /// Delivered DATA the application has not released.
    unreleased: usize,
    now: Duration,
    /// When the drain of a discarded message ends (`Config::drain_timeout`).
    drain_deadline: Option<Duration>,
    /// When the stream closed, or was last answered while closed: it is remembered for
    /// `Config::reset_retention` after that.
    closed_at: Duration,
    failed: bool,
}

fn rst_frame(code: ErrorCode) -> String {
    format!("RST_STREAM {code:?}")
}

impl Model {
    fn new(role: Role) -> Model {
        Model {
            role,
            state: State::Idle,
            peer_head: false,
            our_head: false,
            discard: false,
            peer_window: OUR_WINDOW,
            our_window: PEER_WINDOW,
            unreleased: 0,
            now: Duration::ZERO,
            drain_deadline: None,
            closed_at: Duration::ZERO,
            failed: false,
        }
    }

    fn close(&mut self, how: Closure) {
        self.state = State::Closed(how);
        self.closed_at = self.now;
        self.drain_deadline = None;
    }

    fn recv_open(&self) -> bool {
        matches!(self.state, State::Open | State::HalfClosedLocal)
    }

    fn send_open(&self) -> bool {
        matches!(self.state, State::Open | State::HalfClosedRemote)
    }

    /// §5.1: the peer's END_STREAM.
    fn peer_ended(&mut self) {
        self.state = match self.state {
            State::Open => State::HalfClosedRemote,
            _ => {
                self.close(Closure::EndStream);
                return;
            }
        };
    }

    /// §5.1: our END_STREAM.
    fn we_ended(&mut self) {
        self.state = match self.state {
            State::Open => State::HalfClosedLocal,
            _ => {
                self.close(Closure::EndStream);
                return;
            }
        };
    }

    /// A closed stream as judged after `reset_retention`: how it closed is forgotten. A
    /// client takes any of its own closed streams it does not remember as finished.
    fn remembered(&self) -> Option<Closure> {
        let State::Closed(how) = self.state else {
            return None;
        };
        let forgotten = self.now >= self.closed_at + config().reset_retention;
        match (forgotten, self.role) {
            (false, _) => Some(how),
            (true, Role::Client) => Some(Closure::EndStream),
            (true, Role::Server) => None,
        }
    }

    /// The documented drain of a discarded message: once our side has ended, the peer may
    /// use the rest of its window, then RST_STREAM(NO_ERROR); or `drain_timeout` after.
    fn drain(&mut self, answer: &mut Answer) {
        if !(self.discard && self.state == State::HalfClosedLocal) {
            return;
        }
        let expired = self.drain_deadline.is_some_and(|d| self.now >= d);
        if self.peer_window <= 0 || expired {
            answer.frames.push(rst_frame(ErrorCode::NO_ERROR));
            self.close(Closure::ResetSent);
        } else if self.drain_deadline.is_none() {
            self.drain_deadline = Some(self.now + config().drain_timeout);
        }
    }

    /// A stream error: RST_STREAM(code), and the stream is closed by our reset.
    fn stream_error(&mut self, answer: &mut Answer, code: ErrorCode) {
        answer.frames.push(rst_frame(code));
        self.close(Closure::ResetSent);
    }

    fn conn_error(&mut self, answer: &mut Answer, code: ErrorCode) {
        answer.goaway = Some(code);
        self.failed = true;
    }

    /// The peer's frame: what the engine must answer.
    fn peer(&mut self, step: &Step) -> Answer {
        let mut a = Answer::quiet();
        use ErrorCode as E;
        // Frames whose answer does not depend on the stream's state.
        match step {
            Step::ContinuationAlone => {
                self.conn_error(&mut a, E::PROTOCOL_ERROR); // §6.10
                return a;
            }
            Step::Priority | Step::Unknown => return a, // §5.1, §5.5
            _ => {}
        }
        match self.state {
            State::Idle => match step {
                // §5.1 idle: HEADERS opens the stream; anything else is a connection error.
                Step::Head { end } => {
                    self.state = State::Open;
                    self.peer_head = true;
                    a.delivered = true;
                    if *end {
                        self.peer_ended();
                    }
                }
                // A request head without pseudo-headers: malformed (§8.3.1, §8.1.1).
                Step::Trailers { .. } => {
                    self.state = State::Open;
                    self.stream_error(&mut a, E::PROTOCOL_ERROR);
                }
                _ => self.conn_error(&mut a, E::PROTOCOL_ERROR),
            },
            State::Open | State::HalfClosedLocal => match step {
                Step::Head { end } if !self.peer_head => {
                    self.peer_head = true;
                    a.delivered = !self.discard;
                    if *end {
                        self.peer_ended();
                    }
                }
                // A second field block is trailers: no pseudo-headers, END_STREAM (§8.1).
                Step::Head { .. } => self.stream_error(&mut a, E::PROTOCOL_ERROR),
                Step::Trailers { .. } if !self.peer_head => {
                    self.stream_error(&mut a, E::PROTOCOL_ERROR)
                }
                Step::Trailers { end, pseudo } => {
                    if *pseudo || !*end {
                        self.stream_error(&mut a, E::PROTOCOL_ERROR);
                    } else {
                        a.delivered = !self.discard;
                        self.peer_ended();
                    }
                }
                // DATA before the head (§8.1), beyond the window (§6.9.1).
                Step::Data { .. } if !self.peer_head => {
                    self.stream_error(&mut a, E::PROTOCOL_ERROR)
                }
                Step::Data { len, .. } if *len as i64 > self.peer_window => {
                    self.stream_error(&mut a, E::FLOW_CONTROL_ERROR)
                }
                Step::Data { len, end } => {
                    self.peer_window -= *len as i64;
                    a.delivered = !self.discard;
                    if !self.discard {
                        self.unreleased += len;
                    }
                    if *end {
                        self.peer_ended();
                    }
                }
                Step::WindowUpdate(inc) => self.window_update(&mut a, *inc),
                Step::Rst => {
                    a.delivered = true;
                    self.close(Closure::ResetReceived);
                }
                _ => unreachable!(),
            },
            State::HalfClosedRemote => match step {
                // §5.1 half-closed (remote), §6.1.
                Step::Head { .. } | Step::Trailers { .. } | Step::Data { .. } => {
                    self.stream_error(&mut a, E::STREAM_CLOSED)
                }
                Step::WindowUpdate(inc) => self.window_update(&mut a, *inc),
                Step::Rst => {
                    a.delivered = true;
                    self.close(Closure::ResetReceived);
                }
                _ => unreachable!(),
            },
            State::Closed(_) => match (self.remembered(), step) {
                // After our own reset: the peer may not know yet; dropped (§5.1 closed).
                (Some(Closure::ResetSent), _) => {}
                // §5.1.1: a new header block on an identifier not above every earlier one.
                (None, Step::Head { .. } | Step::Trailers { .. }) => {
                    self.conn_error(&mut a, E::PROTOCOL_ERROR)
                }
                // §6.1, §5.1 closed.
                (_, Step::Head { .. } | Step::Trailers { .. } | Step::Data { .. }) => {
                    self.stream_error(&mut a, E::STREAM_CLOSED)
                }
                // §6.9: increment 0 is a stream error in any state but idle.
                (_, Step::WindowUpdate(0)) => self.stream_error(&mut a, E::PROTOCOL_ERROR),
                // WINDOW_UPDATE and RST_STREAM may trail a closed stream (§5.1 closed).
                (_, Step::WindowUpdate(_) | Step::Rst) => {}
                _ => unreachable!(),
            },
        }
        self.drain(&mut a);
        a
    }

    fn window_update(&mut self, a: &mut Answer, inc: u32) {
        if inc == 0 {
            return self.stream_error(a, ErrorCode::PROTOCOL_ERROR); // §6.9
        }
        if self.our_window + inc as i64 > MAX_WINDOW {
            return self.stream_error(a, ErrorCode::FLOW_CONTROL_ERROR); // §6.9.1
        }
        self.our_window += inc as i64;
    }

    /// Our command: whether it is accepted, and what goes on the wire.
    fn ours(&mut self, step: &Step) -> Answer {
        let mut a = Answer::quiet();
        match step {
            Step::Respond { end } => {
                if self.role != Role::Server || !self.send_open() || self.our_head {
                    a.accepted = false;
                    return a;
                }
                self.our_head = true;
                a.frames.push("HEADERS".into());
                if *end {
                    self.we_ended();
                }
            }
            Step::Send { len, end } => {
                if !self.send_open() || !self.our_head {
                    a.accepted = false;
                    return a;
                }
                self.our_window -= *len as i64;
                if *len > 0 || *end {
                    a.frames.push("DATA".into());
                }
                if *end {
                    self.we_ended();
                }
            }
            Step::Reset => {
                // A reset of a stream that is not open is never sent (§5.1, §5.4.2).
                if matches!(self.state, State::Idle | State::Closed(_)) {
                    return a;
                }
                a.frames.push(rst_frame(ErrorCode::CANCEL));
                self.close(Closure::ResetSent);
            }
            Step::Discard => {
                if self.recv_open() {
                    self.discard = true;
                }
            }
            Step::Release(n) => self.unreleased -= n,
            Step::Wait(d) => self.now += *d,
            _ => unreachable!(),
        }
        self.drain(&mut a);
        a
    }
}

/// The engine under test, its peer scripted.
struct Engine {
    p: Peer,
}

impl Engine {
    fn new(role: Role) -> Engine {
        match role {
            Role::Server => Engine {
                p: Peer::server(config()),
            },
            Role::Client => Engine {
                p: Peer::client(config(), Settings::default()),
            },
        }
    }

    fn step(&mut self, role: Role, step: &Step, model: &mut Model) -> Answer {
        let p = &mut self.p;
        p.events.clear();
        let id = StreamId(S);
        let mut accepted = true;
        let peer_frame = match step {
            Step::Head { end } => Some(match role {
                Role::Server => p.get(S, *end),
                Role::Client => p.headers(S, &[(":status", "200")], *end),
            }),
            Step::Trailers { end, pseudo } => {
                let mut fields = vec![("x-trailer", "1")];
                if *pseudo {
                    fields.push(match role {
                        Role::Server => (":path", "/"),
                        Role::Client => (":status", "200"),
                    });
                }
                Some(p.headers(S, &fields, *end))
            }
            Step::Data { len, end } => Some(data(S, *len, *end)),
            Step::WindowUpdate(inc) => Some(window_update(S, *inc)),
            Step::Rst => Some(rst(S, ErrorCode::CANCEL)),
            Step::Priority => Some(Wire::Priority(frame::Priority {
                stream_id: id,
                spec: frame::PrioritySpec {
                    exclusive: false,
                    dependency: StreamId(0),
                    weight: 15,
                },
            })),
            Step::Unknown => Some(Wire::Unknown(frame::Unknown {
                kind: 0xfa,
                flags: 0,
                stream_id: id,
                payload: Bytes::from_static(b"x"),
            })),
            Step::ContinuationAlone => {
                let block = p.block(&[("x-trailer", "1")]);
                Some(Wire::Continuation(frame::Continuation {
                    stream_id: id,
                    block,
                    end_headers: true,
                }))
            }
            Step::Respond { end } => {
                accepted = p.conn.send_response(id, &ok_response(), *end).is_ok();
                None
            }
            Step::Send { len, end } => {
                let body = Bytes::from(vec![b'o'; *len]);
                accepted = match p.conn.send_data(id, body, *end) {
                    Ok(rest) => rest.is_empty(),
                    Err(_) => false,
                };
                None
            }
            Step::Reset => {
                p.conn.reset(id, ErrorCode::CANCEL);
                None
            }
            Step::Discard => {
                p.conn.discard_incoming(id);
                None
            }
            Step::Release(n) => {
                p.conn.release_capacity(id, *n);
                None
            }
            Step::Wait(d) => {
                p.advance(*d);
                let now = p.now;
                p.conn.handle_timeout(now);
                None
            }
        };
        if let Some(f) = peer_frame {
            let _ = p.send(&[f]);
        }
        let mut answer = Answer {
            accepted,
            ..Answer::quiet()
        };
        for f in p.output() {
            match f {
                Wire::GoAway(g) => answer.goaway = Some(g.code),
                Wire::WindowUpdate(w) if w.stream_id == id => {
                    // The peer learns its window from these (how they are batched is the
                    // engine's choice). None may come once the peer's side has ended, nor for
                    // a message nobody reads once our side has ended too (the drain's bound).
                    let draining = model.discard && model.state == State::HalfClosedLocal;
                    assert!(
                        model.recv_open() && !draining,
                        "stream WINDOW_UPDATE the model does not allow: {model:?}"
                    );
                    model.peer_window += w.increment as i64;
                }
                Wire::RstStream(r) if r.stream_id == id => answer.frames.push(rst_frame(r.code)),
                Wire::Headers(h) if h.stream_id == id => answer.frames.push("HEADERS".into()),
                Wire::Data(d) if d.stream_id == id => answer.frames.push("DATA".into()),
                _ => {}
            }
        }
        answer.delivered = p.events.iter().any(|e| match e {
            Event::Headers { stream, .. } | Event::Data { stream, .. } => *stream == id,
            Event::Reset {
                stream,
                remote: true,
                ..
            } => *stream == id,
            _ => false,
        });
        answer
    }
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let len = prop_oneof![
        Just(0usize),
        Just(1),
        1usize..600,
        Just(OUR_WINDOW as usize)
    ];
    let inc = prop_oneof![Just(0u32), Just(1), Just(1000), Just((1 << 31) - 1)];
    let wait = prop_oneof![
        Just(Duration::from_millis(1)),
        Just(config().drain_timeout),
        Just(config().reset_retention),
    ];
    prop_oneof![
        4 => any::<bool>().prop_map(|end| Step::Head { end }),
        3 => (any::<bool>(), proptest::bool::weighted(0.2))
            .prop_map(|(end, pseudo)| Step::Trailers { end, pseudo }),
        6 => (len, proptest::bool::weighted(0.3)).prop_map(|(len, end)| Step::Data { len, end }),
        2 => inc.prop_map(Step::WindowUpdate),
        1 => Just(Step::Rst),
        1 => Just(Step::Priority),
        1 => Just(Step::Unknown),
        1 => Just(Step::ContinuationAlone),
        4 => any::<bool>().prop_map(|end| Step::Respond { end }),
        4 => (0usize..20, any::<bool>()).prop_map(|(len, end)| Step::Send { len, end }),
        1 => Just(Step::Reset),
        3 => Just(Step::Discard),
        3 => prop_oneof![1usize..1200, Just(usize::MAX)].prop_map(Step::Release),
        2 => wait.prop_map(Step::Wait),
    ]
}

fn is_ours(step: &Step) -> bool {
    matches!(
        step,
        Step::Respond { .. }
            | Step::Send { .. }
            | Step::Reset
            | Step::Discard
            | Step::Release(_)
            | Step::Wait(_)
    )
}

fn check(role: Role, client_ends_request: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut model = Model::new(role);
    let mut engine = Engine::new(role);
    if role == Role::Client {
        // A client's stream starts with its request.
        let req = http::Request::post("http://a.test/")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let id = engine
            .p
            .conn
            .send_request(&req, client_ends_request)
            .unwrap();
        prop_assert_eq!(id, StreamId(S));
        engine.p.output();
        model.state = State::Open;
        model.our_head = true;
        if client_ends_request {
            model.we_ended();
        }
    }
    for (n, step) in steps.iter().enumerate() {
        let before = model.clone();
        // The application releases at most what it was given.
        let step = &match step {
            Step::Release(k) => Step::Release((*k).min(model.unreleased)),
            other => other.clone(),
        };
        let want = if is_ours(step) {
            model.ours(step)
        } else {
            model.peer(step)
        };
        let got = engine.step(role, step, &mut model);
        prop_assert_eq!(
            &got,
            &want,
            "step {} {:?} from model state {:?}; steps {:?}",
            n,
            step,
            before,
            steps
        );
        if model.failed {
            break;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(30_000))]

    #[test]
    fn a_servers_stream_follows_the_model(steps in proptest::collection::vec(step_strategy(), 1..30)) {
        check(Role::Server, false, &steps)?;
    }

    #[test]
    fn a_clients_stream_follows_the_model(
        ends in any::<bool>(),
        steps in proptest::collection::vec(step_strategy(), 1..30),
    ) {
        let steps: Vec<Step> = steps
            .into_iter()
            .filter(|s| !matches!(s, Step::Respond { .. }))
            .collect();
        check(Role::Client, ends, &steps)?;
    }
}
