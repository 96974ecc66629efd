//! Runs one declarative case against a server: a fresh connection, the case's frames in one
//! write, then the server's frames read until the answer the case expects, a wrong answer,
//! or the case's timeout.

use std::time::{Duration, Instant};

use h2kit::proto::frame::{Frame, Setting};
use h2kit::proto::ErrorCode;

use super::block;
use super::case::{self, codes, kind, Case, Expect, Payload, Step, Verdict};
use super::wire::{Got, Target, Wire, PREFACE};

/// What a handshake learnt about the server.
#[derive(Clone, Copy, Default)]
pub struct ServerSettings {
    pub max_concurrent_streams: Option<u32>,
    pub max_frame_size: Option<u32>,
    pub initial_window: Option<u32>,
}

/// The PING payload the checker uses to see that a connection still works.
const PROBE: &[u8; 8] = b"h2kalive";

/// Opens a connection, sends the preface and an empty SETTINGS, and waits for the server's
/// SETTINGS (answered with an ACK, queued).
pub fn open(t: &Target, timeout: Duration) -> Result<(Wire, ServerSettings), String> {
    let deadline = Instant::now() + timeout;
    let mut w = Wire::connect(t, timeout)?;
    w.queue_bytes(PREFACE);
    w.queue_frame(kind::SETTINGS, 0, 0, &[]);
    w.flush()?;
    if let Some(why) = w.not_http2(deadline) {
        return Err(why);
    }
    loop {
        match w.read(deadline) {
            Got::Frame(Frame::Settings(s)) if !s.ack => {
                w.queue_frame(kind::SETTINGS, 1, 0, &[]);
                let settings = ServerSettings {
                    max_concurrent_streams: s.get(Setting::MaxConcurrentStreams),
                    max_frame_size: s.get(Setting::MaxFrameSize),
                    initial_window: s.get(Setting::InitialWindowSize),
                };
                return Ok((w, settings));
            }
            Got::Frame(_) => {}
            Got::Closed => {
                return Err("the server closed the connection during the handshake".into())
            }
            Got::Timeout => {
                return Err("the server sent no SETTINGS within the case's timeout".into())
            }
            Got::Garbage(why) => return Err(why),
        }
    }
}

/// `v` with the target's scheme, authority and path put in.
fn fill(t: &Target, v: &str) -> String {
    v.replace("{scheme}", t.scheme())
        .replace("{authority}", &t.authority)
        .replace("{path}", &t.path)
}

/// Runs `case` against the target.
pub fn run(case: &Case, t: &Target, timeout: Duration) -> Verdict {
    let (mut w, settings) = if case.preface {
        match open(t, timeout) {
            Ok(x) => x,
            Err(why) => return Verdict::Failed(why),
        }
    } else {
        match Wire::connect(t, timeout) {
            Ok(w) => (w, ServerSettings::default()),
            Err(why) => return Verdict::Failed(why),
        }
    };
    let deadline = Instant::now() + timeout;
    let mut refused_stream = 0;
    for step in case.steps {
        match *step {
            Step::Raw(b) => w.queue_bytes(b),
            Step::Frame(k, flags, stream, p) => {
                let max_frame = settings.max_frame_size.unwrap_or(16_384);
                let body = block::payload(&mut w, &|v| fill(t, v), max_frame, p);
                w.queue_frame(k, flags, stream, &body);
            }
            Step::AwaitResponse(stream) => {
                flush(&mut w);
                if let Err(v) = await_end(&mut w, stream, deadline) {
                    return v;
                }
            }
            Step::NeedsPushDisabled => {}
            Step::OverflowWindow(stream) => {
                let window = settings.initial_window.unwrap_or(65_535) as usize;
                let frame = settings.max_frame_size.unwrap_or(16_384) as usize;
                if window > 16 << 20 {
                    return Verdict::NotApplicable(format!(
                        "the server's stream window is {window} octets; this case sends at most 16 MiB"
                    ));
                }
                let zeros = vec![0u8; frame];
                let mut left = window + 1;
                while left > 0 {
                    let n = left.min(frame);
                    left -= n;
                    w.queue_frame(kind::DATA, u8::from(left == 0), stream, &zeros[..n]);
                }
            }
            Step::ExceedConcurrency => {
                let Some(n) = settings.max_concurrent_streams else {
                    return Verdict::NotApplicable(
                        "the server sets no SETTINGS_MAX_CONCURRENT_STREAMS".into(),
                    );
                };
                if n > 1000 {
                    return Verdict::NotApplicable(format!(
                        "the server allows {n} concurrent streams; this case opens at most 1,000"
                    ));
                }
                for i in 0..=n {
                    let body = block::payload(
                        &mut w,
                        &|v| fill(t, v),
                        16_384,
                        Payload::Fields(super::server_cases::POST),
                    );
                    w.queue_frame(kind::HEADERS, 0x4, 2 * i + 1, &body);
                }
                refused_stream = 2 * n + 1;
            }
        }
    }
    if matches!(case.expect, Expect::Ignored) {
        w.queue_frame(kind::PING, 0, 0, PROBE);
    }
    flush(&mut w);
    expect(&mut w, case.expect, refused_stream, deadline)
}

fn flush(w: &mut Wire) {
    // A server that has already closed may make the write fail: what it sent says why.
    let _ = w.flush();
}

/// Reads until `stream`'s response has ended.
fn await_end(w: &mut Wire, stream: u32, deadline: Instant) -> Result<(), Verdict> {
    loop {
        match w.read(deadline) {
            Got::Frame(Frame::Headers(h)) if h.stream_id.0 == stream && h.end_stream => {
                return Ok(())
            }
            Got::Frame(Frame::Data(d)) if d.stream_id.0 == stream && d.end_stream => return Ok(()),
            Got::Frame(Frame::RstStream(r)) if r.stream_id.0 == stream => {
                return Err(Verdict::Failed(format!(
                    "a valid request on stream {stream} was reset ({})",
                    r.code
                )))
            }
            Got::Frame(Frame::GoAway(g)) => {
                return Err(Verdict::Failed(goaway(&g, "a valid request")))
            }
            Got::Frame(_) => {}
            Got::Closed => {
                return Err(Verdict::Failed(format!(
                    "the connection closed before the response on stream {stream} ended"
                )))
            }
            Got::Timeout => {
                return Err(Verdict::Failed(format!(
                    "the response on stream {stream} did not end within the case's timeout"
                )))
            }
            Got::Garbage(why) => return Err(Verdict::Failed(why)),
        }
    }
}

fn goaway(g: &h2kit::proto::frame::GoAway, after: &str) -> String {
    let debug = String::from_utf8_lossy(&g.debug_data);
    let debug = if debug.is_empty() {
        String::new()
    } else {
        format!(", \"{debug}\"")
    };
    format!("GOAWAY ({}{debug}) after {after}", g.code)
}

/// Reads the server's answer and judges it.
fn expect(w: &mut Wire, e: Expect, refused_stream: u32, deadline: Instant) -> Verdict {
    // What the server did that was not the answer, for the message if none comes.
    let mut seen: Option<String> = None;
    // The server credited a window while the DATA was on its way (`FlowError`).
    let mut credited = false;
    // Streams below the one over the limit that the server itself closed (RST_STREAM, often
    // NO_ERROR once a response is complete), freeing their slots.
    let mut freed = 0;
    loop {
        let got = w.read(deadline);
        match (e, got) {
            (_, Got::Garbage(why)) => return Verdict::Failed(why),
            (Expect::ConnectionError(want), Got::Frame(Frame::GoAway(g)))
            | (Expect::StreamError(_, want), Got::Frame(Frame::GoAway(g))) => {
                return if want.contains(&g.code) {
                    Verdict::Passed(format!("GOAWAY ({})", g.code))
                } else {
                    Verdict::Failed(format!("GOAWAY ({}), expected {}", g.code, codes::list(want)))
                };
            }
            (Expect::ConnectionError(want), Got::Closed)
            | (Expect::StreamError(_, want), Got::Closed) => {
                return Verdict::Passed(format!(
                    "the connection closed without a GOAWAY (accepted; {} expected)",
                    codes::list(want)
                ));
            }
            (Expect::StreamError(s, want), Got::Frame(Frame::RstStream(r))) if r.stream_id.0 == s => {
                return if want.contains(&r.code) {
                    Verdict::Passed(format!("RST_STREAM ({})", r.code))
                } else {
                    Verdict::Failed(format!("RST_STREAM ({}), expected {}", r.code, codes::list(want)))
                };
            }
            (Expect::ConnectionError(_), Got::Frame(Frame::RstStream(r))) => {
                seen = Some(format!("RST_STREAM ({}) on stream {}", r.code, r.stream_id.0));
            }
            (Expect::StreamError(s, _), Got::Frame(Frame::Headers(h))) if h.stream_id.0 == s => {
                seen = Some(format!("a response on stream {s} and no reset"));
            }
            (Expect::Success(s), Got::Frame(Frame::Headers(h))) if h.stream_id.0 == s => {
                return match w.statuses.get(&s).copied() {
                    Some(st) if (200..400).contains(&st) => Verdict::Passed(format!("status {st}")),
                    Some(st) => Verdict::Failed(format!(
                        "status {st}: the URL's path should answer a GET with success (other \
                         cases read a 400 as the server telling a malformed request apart)"
                    )),
                    None => Verdict::Failed("a response without :status".into()),
                };
            }
            // Only the stream's own window counts: the DATA is over it whatever the
            // connection's credit.
            (Expect::FlowError(s), Got::Frame(Frame::WindowUpdate(u))) if u.stream_id.0 == s => {
                credited = true;
            }
            (Expect::FlowError(s), Got::Frame(Frame::RstStream(r))) if r.stream_id.0 == s => {
                return match r.code {
                    ErrorCode::FLOW_CONTROL_ERROR => Verdict::Passed("RST_STREAM (FLOW_CONTROL_ERROR)".into()),
                    // §8.1: a server may end a stream whose response is complete this way; DATA
                    // after it is ignored (§5.1), so the window was never overrun.
                    ErrorCode::NO_ERROR => Verdict::NotApplicable(
                        "the server answered and closed the stream with RST_STREAM (NO_ERROR) \
                         before the DATA overran its window"
                            .into(),
                    ),
                    _ if credited => Verdict::NotApplicable(format!(
                        "the server credited the window while the DATA came, then reset the stream ({})",
                        r.code
                    )),
                    c => Verdict::Failed(format!("RST_STREAM ({c}), expected FLOW_CONTROL_ERROR")),
                };
            }
            (Expect::FlowError(_), Got::Frame(Frame::GoAway(g))) => {
                return if g.code == ErrorCode::FLOW_CONTROL_ERROR {
                    Verdict::Passed("GOAWAY (FLOW_CONTROL_ERROR)".into())
                } else {
                    Verdict::Failed(format!("GOAWAY ({}), expected FLOW_CONTROL_ERROR", g.code))
                };
            }
            (Expect::FlowError(_), Got::Closed) => {
                return Verdict::Passed("the connection closed (accepted, as h2spec does)".into())
            }
            (Expect::FlowError(s), Got::Timeout) if credited => {
                return Verdict::NotApplicable(format!(
                    "the server credited the window (WINDOW_UPDATE) while the DATA on stream {s} \
                     came, so it may have had room"
                ))
            }
            (Expect::Malformed(s), Got::Frame(Frame::RstStream(r))) if r.stream_id.0 == s => {
                return if r.code == ErrorCode::PROTOCOL_ERROR {
                    Verdict::Passed("RST_STREAM (PROTOCOL_ERROR)".into())
                } else {
                    Verdict::Failed(format!("RST_STREAM ({}), expected PROTOCOL_ERROR", r.code))
                };
            }
            (Expect::Malformed(_), Got::Frame(Frame::GoAway(g))) => {
                return if g.code == ErrorCode::PROTOCOL_ERROR {
                    Verdict::Passed("GOAWAY (PROTOCOL_ERROR)".into())
                } else {
                    Verdict::Failed(format!("GOAWAY ({}), expected PROTOCOL_ERROR", g.code))
                };
            }
            (Expect::Malformed(s), Got::Frame(f @ (Frame::Headers(_) | Frame::Data(_))))
                if f.stream_id().0 == s =>
            {
                let status = w.statuses.get(&s).copied();
                let ended = match &f {
                    Frame::Headers(h) => h.end_stream,
                    Frame::Data(d) => d.end_stream,
                    _ => false,
                };
                // 400 (Bad Request) only: a server that answers every request with 403 or
                // 404 has not told the malformed request apart.
                match status {
                    Some(st) if st != 400 => {
                        return Verdict::Failed(format!(
                            "the malformed request was answered with status {st}"
                        ))
                    }
                    Some(st) if ended => {
                        return Verdict::Passed(format!(
                            "status {st} and the stream closed (§8.1.1 allows a response before closing)"
                        ))
                    }
                    _ => {}
                }
            }
            (Expect::Malformed(_), Got::Closed) => {
                return Verdict::Passed("the connection closed".into())
            }
            (Expect::Refused, Got::Frame(Frame::RstStream(r))) if r.stream_id.0 == refused_stream => {
                return if [ErrorCode::PROTOCOL_ERROR, ErrorCode::REFUSED_STREAM].contains(&r.code) {
                    Verdict::Passed(format!("RST_STREAM ({}) on stream {refused_stream}", r.code))
                } else {
                    Verdict::Failed(format!(
                        "RST_STREAM ({}) on stream {refused_stream}, expected PROTOCOL_ERROR or REFUSED_STREAM",
                        r.code
                    ))
                };
            }
            (Expect::Refused, Got::Frame(Frame::RstStream(r))) if r.stream_id.0 < refused_stream => {
                freed += 1;
            }
            (Expect::Refused, Got::Frame(Frame::Headers(h)))
                if h.stream_id.0 == refused_stream && freed > 0 =>
            {
                return Verdict::NotApplicable(format!(
                    "the server closed {freed} of the streams below with RST_STREAM, freeing \
                     their slots, and then answered stream {refused_stream}: the limit was not reached"
                ));
            }
            (Expect::Refused, Got::Frame(Frame::Headers(h))) if h.stream_id.0 == refused_stream => {
                return Verdict::Failed(format!(
                    "stream {refused_stream}, one more than SETTINGS_MAX_CONCURRENT_STREAMS allows, was answered"
                ));
            }
            (Expect::Refused, Got::Frame(Frame::GoAway(g))) => {
                return if g.code == ErrorCode::PROTOCOL_ERROR {
                    Verdict::Passed(format!("GOAWAY ({})", g.code))
                } else {
                    Verdict::Failed(goaway(&g, "one stream over the limit"))
                };
            }
            (Expect::Response(s), Got::Frame(Frame::Headers(h))) if h.stream_id.0 == s => {
                return Verdict::Passed(format!("a response on stream {s}"));
            }
            (Expect::Response(s), Got::Frame(Frame::RstStream(r))) if r.stream_id.0 == s => {
                return Verdict::Failed(format!("stream {s} was reset ({}), expected a response", r.code));
            }
            (Expect::Response(_) | Expect::Success(_) | Expect::Ignored | Expect::PingAck(_) | Expect::SettingsAck, Got::Frame(Frame::GoAway(g))) => {
                return Verdict::Failed(goaway(&g, "frames that are valid"));
            }
            (Expect::Ignored, Got::Frame(Frame::Ping(p))) if p.ack && &p.payload == PROBE => {
                return Verdict::Passed("the connection answered a PING afterwards".into());
            }
            (Expect::Ignored, Got::Frame(Frame::Ping(p))) if p.ack => {
                return Verdict::Failed("the server acknowledged a PING acknowledgement".into());
            }
            // A server may end a stream whose response is complete with NO_ERROR (§8.1).
            (Expect::Ignored, Got::Frame(Frame::RstStream(r))) if r.code == ErrorCode::NO_ERROR => {}
            (Expect::Ignored, Got::Frame(Frame::RstStream(r))) => {
                return Verdict::Failed(format!(
                    "stream {} was reset ({}), expected the frame to be ignored",
                    r.stream_id.0, r.code
                ));
            }
            (Expect::PingAck(want), Got::Frame(Frame::Ping(p))) if p.ack => {
                return case::ping_ack(&p.payload, want);
            }
            (Expect::SettingsAck, Got::Frame(Frame::Settings(s))) if s.ack => {
                return Verdict::Passed("SETTINGS acknowledged".into());
            }
            (_, Got::Closed) => {
                return Verdict::Failed(match seen {
                    Some(s) => format!("{s}, then the connection closed"),
                    None => "the connection closed without a GOAWAY".into(),
                })
            }
            (_, Got::Timeout) => {
                return Verdict::Failed(match (e, seen) {
                    (_, Some(s)) => format!("{s}; nothing more within the case's timeout"),
                    (Expect::ConnectionError(want), None) => {
                        format!("no GOAWAY ({}) within the case's timeout", codes::list(want))
                    }
                    (Expect::StreamError(s, want), None) => format!(
                        "no RST_STREAM ({}) on stream {s} within the case's timeout",
                        codes::list(want)
                    ),
                    (Expect::FlowError(s), None) => format!(
                        "no FLOW_CONTROL_ERROR for DATA beyond stream {s}'s window, and no \
                         WINDOW_UPDATE, within the case's timeout"
                    ),
                    (Expect::Malformed(s), None) => format!(
                        "no RST_STREAM (PROTOCOL_ERROR) on stream {s} and no 4xx response within the case's timeout"
                    ),
                    (Expect::Refused, None) => format!(
                        "stream {refused_stream} was neither refused nor answered within the case's timeout"
                    ),
                    _ => "no answer within the case's timeout".into(),
                })
            }
            (_, Got::Frame(_)) => {}
        }
    }
}
