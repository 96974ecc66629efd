//! `check client`: h2kit plays a scripted server for one declarative case. The client command
//! connects to a fresh listener; once its request has arrived, the case's frames go out in
//! one write and the client's answer is judged, together with how the command ended.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use h2kit::proto::frame::{Frame, Setting};
use h2kit::proto::ErrorCode;

use super::block;
use super::case::{self, codes, kind, Case, Expect, Step, Verdict, REQ};
use super::command::{ClientCommand, Running};
use super::wire::{Got, Wire};

pub struct Setup {
    pub command: ClientCommand,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub timeout: Duration,
}

/// What the handshake learnt about the client, and what the server has sent.
pub struct Client {
    pub max_frame: u32,
    pub push_disabled: bool,
    /// The stream of the client's first request.
    pub req: u32,
    pub settings_sent: u32,
    pub acks: u32,
}

/// Starts the command, accepts its connection, reads its preface; with `settings`, sends
/// SETTINGS (these parameters) and reads until the client's first request head is complete.
pub fn connect(
    s: &Setup,
    settings: Option<&[u8]>,
    deadline: Instant,
) -> Result<(Running, Wire, Client), String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen: {e}"))?;
    let mut run = s.command.start(&l)?;
    let tcp = run.accept(&l, deadline)?;
    let mut w = Wire::accepted(tcp, s.tls.as_ref(), s.timeout)?;
    w.read_preface(deadline)?;
    let mut c = Client {
        max_frame: 16_384,
        push_disabled: false,
        req: 1,
        settings_sent: 0,
        acks: 0,
    };
    let Some(settings) = settings else {
        return Ok((run, w, c));
    };
    w.queue_frame(kind::SETTINGS, 0, 0, settings);
    c.settings_sent = 1;
    w.flush()?;
    loop {
        match w.read(deadline) {
            Got::Frame(Frame::Settings(f)) if f.ack => c.acks += 1,
            Got::Frame(Frame::Settings(f)) => {
                if let Some(n) = f.get(Setting::MaxFrameSize) {
                    c.max_frame = n;
                }
                c.push_disabled = f.get(Setting::EnablePush) == Some(0);
                w.queue_frame(kind::SETTINGS, 1, 0, &[]);
                w.flush()?;
            }
            Got::Frame(Frame::Headers(h)) => {
                c.req = h.stream_id.0;
                if h.end_headers {
                    return Ok((run, w, c));
                }
            }
            Got::Frame(Frame::Continuation(f)) if f.end_headers => return Ok((run, w, c)),
            Got::Frame(Frame::GoAway(g)) => {
                return Err(format!(
                    "the client sent GOAWAY ({}) before its request",
                    g.code
                ))
            }
            Got::Frame(_) => {}
            Got::Closed => return Err("the client closed the connection before its request".into()),
            Got::Timeout => {
                return Err("the client sent no request within the case's timeout".into())
            }
            Got::Garbage(why) => return Err(why.replace("the server", "the client")),
        }
    }
}

pub fn run(case: &Case, s: &Setup) -> Verdict {
    let deadline = Instant::now() + s.timeout;
    let settings: Option<&[u8]> = case.preface.then_some(&[]);
    let (mut run, mut w, mut c) = match connect(s, settings, deadline) {
        Ok(x) => x,
        Err(why) => return Verdict::Failed(why),
    };
    let mut ended = false;
    for step in case.steps {
        match *step {
            Step::NeedsPushDisabled if !c.push_disabled => {
                return Verdict::NotApplicable(
                    "the client did not disable server push (SETTINGS_ENABLE_PUSH 0)".into(),
                )
            }
            Step::Frame(k, flags, stream, p) => {
                let stream = if stream & 0x7fff_ffff == REQ {
                    (stream & 0x8000_0000) | c.req
                } else {
                    stream
                };
                let body = block::payload(&mut w, &|v| v.to_string(), c.max_frame, p);
                if k == kind::SETTINGS && flags & 1 == 0 && stream == 0 && body.len() % 6 == 0 {
                    c.settings_sent += 1;
                }
                if stream & 0x7fff_ffff == c.req
                    && (k == kind::DATA || k == kind::HEADERS)
                    && flags & 1 != 0
                {
                    ended = true;
                }
                w.queue_frame(k, flags, stream, &body);
            }
            Step::Raw(b) => w.queue_bytes(b),
            _ => {}
        }
    }
    if matches!(case.expect, Expect::Ignored) && !ended {
        let head = block::payload(
            &mut w,
            &|v| v.to_string(),
            c.max_frame,
            super::case::Payload::Fields(&[(":status", "200")]),
        );
        w.queue_frame(kind::HEADERS, 0x4, c.req, &head);
        w.queue_frame(kind::DATA, 0x1, c.req, b"ok");
    }
    let _ = w.flush();
    judge(&mut w, &mut run, &mut c, case.expect, deadline)
}

const LATE: &str = "the client ended the connection once its stream was over, before the late \
                    frame could be judged";

/// The connection closed: what the command's exit says about it. An error expected and a
/// command that exits with success means the client took the bad frames for good ones.
fn closed(run: &mut Running, deadline: Instant, error_expected: bool) -> Verdict {
    match run.wait_until(deadline) {
        Some(st) if st.success() && error_expected => Verdict::Failed(
            "the client closed the connection without a GOAWAY or RST_STREAM and exited with \
             success: it did not treat the frames as an error"
                .into(),
        ),
        Some(st) if error_expected => Verdict::Passed(format!(
            "the client closed the connection and exited ({st}) (accepted, as h2spec does)"
        )),
        Some(st) if st.success() => {
            Verdict::Passed("the client read the response and exited with success".into())
        }
        Some(st) => Verdict::Failed(format!("the client exited ({st}) after valid frames")),
        None if error_expected => {
            Verdict::Passed("the client closed the connection (accepted, as h2spec does)".into())
        }
        None => Verdict::Failed("the client closed the connection after valid frames".into()),
    }
}

fn judge(w: &mut Wire, run: &mut Running, c: &mut Client, e: Expect, deadline: Instant) -> Verdict {
    let req = c.req;
    let error_expected = matches!(
        e,
        Expect::ConnectionError(_) | Expect::StreamError(..) | Expect::Malformed(_)
    );
    loop {
        if matches!(e, Expect::SettingsAck) && c.acks >= c.settings_sent {
            return Verdict::Passed(format!("{} SETTINGS acknowledged", c.acks));
        }
        let got = w.read(deadline);
        match (e, got) {
            (_, Got::Garbage(why)) => {
                return Verdict::Failed(why.replace("the server", "the client"))
            }
            (_, Got::Frame(Frame::Settings(f))) if f.ack => c.acks += 1,
            (
                Expect::ConnectionError(want) | Expect::StreamError(_, want),
                Got::Frame(Frame::GoAway(g)),
            ) => {
                return if want.contains(&g.code) {
                    Verdict::Passed(format!("GOAWAY ({})", g.code))
                } else {
                    Verdict::Failed(format!(
                        "GOAWAY ({}), expected {}",
                        g.code,
                        codes::list(want)
                    ))
                }
            }
            (Expect::Malformed(_), Got::Frame(Frame::GoAway(g))) => {
                return if g.code == ErrorCode::PROTOCOL_ERROR {
                    Verdict::Passed("GOAWAY (PROTOCOL_ERROR)".into())
                } else {
                    Verdict::Failed(format!("GOAWAY ({}), expected PROTOCOL_ERROR", g.code))
                }
            }
            (Expect::StreamError(_, want), Got::Frame(Frame::RstStream(r)))
                if r.stream_id.0 == req =>
            {
                return if want.contains(&r.code) {
                    Verdict::Passed(format!("RST_STREAM ({})", r.code))
                } else {
                    Verdict::Failed(format!(
                        "RST_STREAM ({}), expected {}",
                        r.code,
                        codes::list(want)
                    ))
                }
            }
            (Expect::Malformed(_), Got::Frame(Frame::RstStream(r))) if r.stream_id.0 == req => {
                return if r.code == ErrorCode::PROTOCOL_ERROR {
                    Verdict::Passed("RST_STREAM (PROTOCOL_ERROR)".into())
                } else {
                    Verdict::Failed(format!("RST_STREAM ({}), expected PROTOCOL_ERROR", r.code))
                }
            }
            (Expect::LateOnClosed, Got::Frame(Frame::RstStream(r))) if r.stream_id.0 == req => {
                return if r.code == ErrorCode::STREAM_CLOSED {
                    Verdict::Passed("RST_STREAM (STREAM_CLOSED)".into())
                } else {
                    Verdict::Failed(format!("RST_STREAM ({}), expected STREAM_CLOSED", r.code))
                }
            }
            (Expect::LateOnClosed, Got::Frame(Frame::GoAway(g))) => {
                return match g.code {
                    ErrorCode::STREAM_CLOSED => Verdict::Passed("GOAWAY (STREAM_CLOSED)".into()),
                    ErrorCode::NO_ERROR => Verdict::NotApplicable(LATE.into()),
                    c => Verdict::Failed(format!("GOAWAY ({c}), expected STREAM_CLOSED")),
                }
            }
            (Expect::LateOnClosed, Got::Closed) => return Verdict::NotApplicable(LATE.into()),
            (
                Expect::Ignored | Expect::PingAck(_) | Expect::SettingsAck,
                Got::Frame(Frame::GoAway(g)),
            ) if g.code != ErrorCode::NO_ERROR => {
                return Verdict::Failed(format!("GOAWAY ({}) after valid frames", g.code))
            }
            (Expect::Ignored, Got::Frame(Frame::RstStream(r))) => {
                return Verdict::Failed(format!(
                    "RST_STREAM ({}) on stream {} after valid frames",
                    r.code, r.stream_id.0
                ))
            }
            (Expect::PingAck(want), Got::Frame(Frame::Ping(p))) if p.ack => {
                return case::ping_ack(&p.payload, want);
            }
            (Expect::PingAck(_) | Expect::SettingsAck, Got::Closed) => {
                return Verdict::Failed("the client closed the connection instead".into())
            }
            (_, Got::Closed) => return closed(run, deadline, error_expected),
            (Expect::Ignored, Got::Timeout) => {
                return Verdict::Passed(
                    "the client sent no error (still connected at the case's end)".into(),
                )
            }
            (_, Got::Timeout) => {
                return Verdict::Failed(match e {
                    Expect::ConnectionError(want) => format!(
                        "no GOAWAY ({}) and no close within the case's timeout",
                        codes::list(want)
                    ),
                    Expect::StreamError(_, want) => format!(
                        "no RST_STREAM ({}) on stream {req} within the case's timeout",
                        codes::list(want)
                    ),
                    Expect::LateOnClosed => format!(
                        "no RST_STREAM (STREAM_CLOSED) on stream {req} within the case's timeout"
                    ),
                    Expect::Malformed(_) => format!(
                        "no RST_STREAM (PROTOCOL_ERROR) on stream {req} within the case's timeout"
                    ),
                    Expect::SettingsAck => format!(
                        "{} of {} SETTINGS acknowledged within the case's timeout",
                        c.acks, c.settings_sent
                    ),
                    _ => "no answer within the case's timeout".into(),
                })
            }
            (_, Got::Frame(_)) => {}
        }
    }
}
