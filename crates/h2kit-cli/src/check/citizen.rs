//! The `citizen` group: what hurts people in production, run hard enough to catch races.
//!
//! - `churn`: exactly SETTINGS_MAX_CONCURRENT_STREAMS streams open, each replaced in the same
//!   write that follows the read carrying its END_STREAM (the checker reacts within
//!   microseconds), for `--churn-streams` streams. A server that frees a finished stream's
//!   slot late refuses some of them; RFC 9113 §5.1.2 counts a stream as open until both sides
//!   have closed it, and the client here opens one only after both have.
//! - `reset-closed-and-ping`: a client that, after each complete response, sends
//!   RST_STREAM(CANCEL) on the already closed stream and a PING (what some popular clients do)
//!   is within the RFC (§5.1 allows RST_STREAM on a recently closed stream, §6.7 any PING);
//!   it must not be answered with GOAWAY(ENHANCE_YOUR_CALM).
//! - `graceful-goaway`: when the server sends GOAWAY(NO_ERROR) during the churn, every stream
//!   at or below its last stream identifier still gets its response (§6.8).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use h2kit::proto::frame::Frame;
use h2kit::proto::hpack::FieldRef;
use h2kit::proto::ErrorCode;

use super::case::{kind, Verdict};
use super::judge::open;
use super::wire::{Got, Target, Wire};

/// What the churn saw.
pub struct Churn {
    pub verdict: Verdict,
    /// `Some` when the server sent a graceful GOAWAY: what became of the streams below it.
    pub goaway: Option<Verdict>,
}

/// The stream window the checker gives the server (SETTINGS_INITIAL_WINDOW_SIZE), and the
/// connection window it tops up: response bodies are never held back by the checker.
const BIG_WINDOW: u32 = (1 << 31) - 1;

/// The churn's request head, the same GET every time. The first block adds its fields to
/// the server's table and the second refers to them; from then on every block is the same
/// octets, so they are encoded twice per connection and then reused.
struct Request {
    block: BytesMut,
    encoded: u8,
}

impl Request {
    fn new() -> Request {
        Request {
            block: BytesMut::new(),
            encoded: 0,
        }
    }

    /// The next request's header block on `w`.
    fn block(&mut self, w: &mut Wire, t: &Target) -> &[u8] {
        if self.encoded < 2 {
            self.block.clear();
            let fields = [
                FieldRef::new(b":method", b"GET"),
                FieldRef::new(b":scheme", t.scheme().as_bytes()),
                FieldRef::new(b":authority", t.authority.as_bytes()),
                FieldRef::new(b":path", t.path.as_bytes()),
            ];
            w.encoder.encode(fields, &mut self.block);
            self.encoded += 1;
        }
        &self.block
    }
}

/// Opens a connection with the big windows in place.
fn start(t: &Target, timeout: Duration) -> Result<(Wire, Option<u32>), String> {
    let (mut w, s) = open(t, timeout)?;
    let mut settings = [0u8; 6];
    settings[..2].copy_from_slice(&4u16.to_be_bytes());
    settings[2..].copy_from_slice(&BIG_WINDOW.to_be_bytes());
    w.queue_frame(kind::SETTINGS, 0, 0, &settings);
    w.queue_frame(
        kind::WINDOW_UPDATE,
        0,
        0,
        &(BIG_WINDOW - 65_535).to_be_bytes(),
    );
    Ok((w, s.max_concurrent_streams))
}

/// Connection window bytes consumed after which the checker tops it up.
const TOP_UP: u64 = 1 << 30;

pub fn churn(t: &Target, total: u64, timeout: Duration) -> Churn {
    let na = |why: String| Churn {
        verdict: Verdict::NotApplicable(why),
        goaway: None,
    };
    let (mut w, limit) = match start(t, timeout) {
        Ok(x) => x,
        Err(why) => {
            return Churn {
                verdict: Verdict::Failed(why),
                goaway: None,
            }
        }
    };
    let limit = match limit {
        None => {
            return na(
                "the server sets no SETTINGS_MAX_CONCURRENT_STREAMS: no limit to churn at".into(),
            )
        }
        Some(0) => {
            return na("the server allows no streams (SETTINGS_MAX_CONCURRENT_STREAMS 0)".into())
        }
        Some(n) if n > 10_000 => {
            return na(format!(
                "the server allows {n} concurrent streams; the churn keeps at most 10,000 open"
            ))
        }
        Some(n) => n as u64,
    };
    let begun = Instant::now();
    let mut request = Request::new();
    let mut next_id: u32 = 1;
    let mut started = 0u64;
    let mut done = 0u64;
    let mut open_now = 0u64;
    let mut resets: BTreeMap<String, u64> = BTreeMap::new();
    let mut consumed = 0u64;
    let mut connections = 1;
    let mut goaway: Option<Verdict> = None;
    let mut stopped = String::new();
    // The graceful GOAWAY being drained: its last stream id and the streams still open.
    let mut draining: Option<u32> = None;
    let mut in_flight: std::collections::BTreeSet<u32> = Default::default();
    let fail = |why: String, goaway| Churn {
        verdict: Verdict::Failed(why),
        goaway,
    };
    loop {
        while draining.is_none() && open_now < limit && started < total && next_id < (1 << 31) - 2 {
            let block = request.block(&mut w, t);
            w.queue_frame(kind::HEADERS, 0x5, next_id, block);
            in_flight.insert(next_id);
            next_id += 2;
            started += 1;
            open_now += 1;
        }
        if done == total {
            break;
        }
        if !w.frame_buffered() && w.queued() > 0 {
            if let Err(why) = w.flush() {
                return fail(why, goaway);
            }
        }
        let deadline = Instant::now() + timeout;
        match w.read(deadline) {
            Got::Frame(Frame::Headers(h)) if h.end_stream => {
                if in_flight.remove(&h.stream_id.0) {
                    open_now -= 1;
                    done += 1;
                }
            }
            Got::Frame(Frame::Data(d)) => {
                consumed += d.flow_len() as u64;
                if consumed >= TOP_UP {
                    w.queue_frame(kind::WINDOW_UPDATE, 0, 0, &(consumed as u32).to_be_bytes());
                    consumed = 0;
                }
                if d.end_stream && in_flight.remove(&d.stream_id.0) {
                    open_now -= 1;
                    done += 1;
                }
            }
            Got::Frame(Frame::RstStream(r)) => {
                *resets.entry(r.code.to_string()).or_default() += 1;
                if in_flight.remove(&r.stream_id.0) {
                    open_now -= 1;
                    done += 1;
                }
            }
            Got::Frame(Frame::GoAway(g)) if g.code == ErrorCode::NO_ERROR => {
                draining = Some(g.last_stream_id.0);
                // Streams above the last identifier were not processed (§6.8): they are done.
                let above: Vec<u32> = in_flight.range(g.last_stream_id.0 + 1..).copied().collect();
                for id in above {
                    in_flight.remove(&id);
                    open_now -= 1;
                    started -= 1;
                }
            }
            Got::Frame(Frame::GoAway(g)) => {
                return fail(
                    format!(
                        "GOAWAY ({}) after {done} streams at the limit of {limit}{}",
                        g.code,
                        counts(&resets)
                    ),
                    goaway,
                );
            }
            Got::Frame(_) => {}
            Got::Closed if draining.is_some() && !in_flight.is_empty() => {
                let last = draining.unwrap_or_default();
                let why = format!(
                    "GOAWAY (NO_ERROR, last stream {last}), then the connection closed with {} of \
                     the streams at or below it unanswered",
                    in_flight.len()
                );
                return fail(why.clone(), Some(Verdict::Failed(why)));
            }
            Got::Closed if draining.is_some() => {}
            Got::Closed => {
                return fail(
                    format!("the connection closed after {done} streams{}", counts(&resets)),
                    goaway,
                )
            }
            Got::Timeout => {
                return fail(
                    format!(
                        "no progress within the case's timeout after {done} streams ({open_now} open){}",
                        counts(&resets)
                    ),
                    goaway,
                )
            }
            Got::Garbage(why) => return fail(why, goaway),
        }
        if let (Some(last), true) = (draining, in_flight.is_empty()) {
            goaway = Some(Verdict::Passed(format!(
                "GOAWAY (NO_ERROR, last stream {last}): every stream at or below it was answered"
            )));
            // The churn goes on, on a new connection, unless the server is going away for
            // good (a graceful shutdown is not a refusal).
            match start(t, timeout) {
                Ok((nw, _)) => {
                    w = nw;
                    request = Request::new();
                }
                Err(why) => {
                    stopped = format!(
                        "; the server then took no new connection ({why}): the churn ended there"
                    );
                    break;
                }
            }
            connections += 1;
            next_id = 1;
            open_now = 0;
            draining = None;
        }
    }
    let secs = begun.elapsed().as_secs_f64();
    let refused = resets.get("PROTOCOL_ERROR").copied().unwrap_or(0)
        + resets.get("REFUSED_STREAM").copied().unwrap_or(0);
    let text = format!(
        "{done} streams at the server's limit of {limit} in {secs:.1} s ({:.0} streams/s, {connections} \
         connection{}){}{stopped}",
        done as f64 / secs,
        if connections == 1 { "" } else { "s" },
        counts(&resets)
    );
    Churn {
        verdict: if refused == 0 {
            Verdict::Passed(text)
        } else {
            Verdict::Failed(format!(
                "{refused} streams refused or reset as errors: {text}"
            ))
        },
        goaway,
    }
}

/// ", resets: CODE n, …" or nothing.
fn counts(resets: &BTreeMap<String, u64>) -> String {
    if resets.is_empty() {
        return ", no RST_STREAM".into();
    }
    let parts: Vec<String> = resets.iter().map(|(c, n)| format!("{c} {n}")).collect();
    format!(", RST_STREAM received: {}", parts.join(", "))
}

/// `n` requests, each followed, once its response has ended, by RST_STREAM(CANCEL) on the
/// closed stream and a PING; up to 100 (or the server's limit) at a time.
pub fn reset_closed_and_ping(t: &Target, n: u64, timeout: Duration) -> Verdict {
    let (mut w, limit) = match start(t, timeout) {
        Ok(x) => x,
        Err(why) => return Verdict::Failed(why),
    };
    let window = limit.unwrap_or(100).clamp(1, 100) as u64;
    let mut request = Request::new();
    let (mut next_id, mut started, mut done, mut open_now) = (1u32, 0u64, 0u64, 0u64);
    let (mut pings, mut acks) = (0u64, 0u64);
    let mut consumed = 0u64;
    loop {
        while open_now < window && started < n {
            let block = request.block(&mut w, t);
            w.queue_frame(kind::HEADERS, 0x5, next_id, block);
            next_id += 2;
            started += 1;
            open_now += 1;
        }
        if done == n && acks == pings {
            return Verdict::Passed(format!(
                "{n} responses, each followed by RST_STREAM (CANCEL) on the closed stream and a \
                 PING: no GOAWAY, {acks} PINGs acknowledged"
            ));
        }
        if !w.frame_buffered() && w.queued() > 0 {
            if let Err(why) = w.flush() {
                return Verdict::Failed(why);
            }
        }
        let mut ended = None;
        match w.read(Instant::now() + timeout) {
            Got::Frame(Frame::Headers(h)) if h.end_stream => ended = Some(h.stream_id.0),
            Got::Frame(Frame::Data(d)) => {
                consumed += d.flow_len() as u64;
                if consumed >= TOP_UP {
                    w.queue_frame(kind::WINDOW_UPDATE, 0, 0, &(consumed as u32).to_be_bytes());
                    consumed = 0;
                }
                if d.end_stream {
                    ended = Some(d.stream_id.0);
                }
            }
            Got::Frame(Frame::Ping(p)) if p.ack => acks += 1,
            Got::Frame(Frame::RstStream(r)) => {
                return Verdict::Failed(format!(
                    "stream {} was reset ({}) after {done} streams",
                    r.stream_id.0, r.code
                ))
            }
            Got::Frame(Frame::GoAway(g)) => {
                return Verdict::Failed(format!(
                "GOAWAY ({}) after {done} streams, each reset after its END_STREAM and followed \
                     by a PING: a benign client was punished",
                g.code
            ))
            }
            Got::Frame(_) => {}
            Got::Closed => {
                return Verdict::Failed(format!("the connection closed after {done} streams"))
            }
            Got::Timeout => {
                return Verdict::Failed(format!(
                    "no progress within the case's timeout after {done} streams"
                ))
            }
            Got::Garbage(why) => return Verdict::Failed(why),
        }
        if let Some(id) = ended {
            w.queue_frame(kind::RST_STREAM, 0, id, &ErrorCode::CANCEL.0.to_be_bytes());
            pings += 1;
            w.queue_frame(kind::PING, 0, 0, &pings.to_be_bytes());
            done += 1;
            open_now -= 1;
        }
    }
}
