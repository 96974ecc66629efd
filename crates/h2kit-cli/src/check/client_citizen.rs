//! `check client`'s `citizen` group: a scripted server answers every request the command
//! makes (on as many connections as it opens), with a twist per case, and counts what the
//! client does that hurts servers in production.
//!
//! - `end-stream-in-empty-data` (and `-1ms`): each response's END_STREAM comes in its own
//!   empty DATA frame, in the same write as the body (and 1 ms after it). A client must not
//!   then reset the stream: counted are RST_STREAMs that arrive after the END_STREAM went out.
//! - `no-ping-per-reset`: from the `-1ms` run, a client must not send a PING for each reset
//!   (the pattern that trips servers' ping-flood limits).
//! - `max-concurrent-1`: the server allows one stream at a time; streams beyond are refused
//!   (REFUSED_STREAM) and counted.
//! - `refused-stream-retried`: the first request is refused with REFUSED_STREAM, which
//!   guarantees it was not processed (§8.7): the client must send it again.
//! - `goaway-retry`: once two requests are open on the first connection, the server sends
//!   GOAWAY(NO_ERROR) naming the first as the last it processes: the others must be retried on
//!   a new connection and the first must not be (§6.8).
//! - `silent-connection`: after the first response the connection goes silent (nothing read,
//!   nothing written, the netsplit case); a client must abandon it: a new connection or an
//!   end, within the case's timeout. Counted: requests sent into the silence.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use h2kit::proto::frame::{Frame, Setting};
use h2kit::proto::ErrorCode;

use super::case::{kind, Verdict};
use super::play::Setup;
use super::wire::{Got, Wire};
use h2kit::proto::trace::HeaderTracer;

/// The twist.
#[derive(Clone, Copy, Default)]
struct Policy {
    /// END_STREAM in an empty DATA frame this long after the body (`Some(ZERO)`: same write).
    end_apart: Option<Duration>,
    max_concurrent: Option<u32>,
    refuse_first: bool,
    goaway_at_two: bool,
    silent_after_first: bool,
}

#[derive(Default)]
pub struct Stats {
    connections: u64,
    requests: u64,
    /// (connection, stream) of every request and its path, in order.
    paths: Vec<(u64, u32, String)>,
    rst_total: u64,
    rst_after_end: u64,
    pings: u64,
    max_open: u64,
    /// Streams over the limit once the client had acknowledged the SETTINGS carrying it.
    over_limit: u64,
    /// Streams over the limit before that (the client may not have had the limit yet).
    over_limit_early: u64,
    /// GOAWAY (connection 0): the stream kept and the streams above it.
    goaway: Option<(u32, Vec<u32>)>,
    /// Requests sent into the silent connection after it went silent, and the last one's
    /// time after the silence began.
    into_silence: u64,
    last_into_silence: Option<Duration>,
    silent_at: Option<Instant>,
    /// The connection the GOAWAY or the silence is played on: the first with a request.
    claimed: Option<u64>,
    reconnected_after_silence: Option<Duration>,
    refused: Option<String>,
}

type Shared = Arc<Mutex<Stats>>;

const BODY: &[u8] = b"{\"ok\":true}\n";

/// Runs the command against the policy's server: (stats, the command's exit, if it ended).
fn play(
    s: &Setup,
    p: Policy,
    timeout: Duration,
) -> Result<(Stats, Option<std::process::ExitStatus>), String> {
    let deadline = Instant::now() + timeout;
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen: {e}"))?;
    let mut run = s.command.start(&l)?;
    let stats: Shared = Default::default();
    let mut threads = Vec::new();
    let mut n = 0u64;
    loop {
        match run.accept(&l, deadline) {
            Ok(tcp) => {
                let (stats, tls, conn) = (stats.clone(), s.tls.clone(), n);
                n += 1;
                {
                    let mut st = stats.lock().unwrap();
                    st.connections += 1;
                    if let (Some(at), None) = (st.silent_at, st.reconnected_after_silence) {
                        st.reconnected_after_silence = Some(at.elapsed());
                    }
                }
                threads.push(std::thread::spawn(move || {
                    if let Ok(w) = Wire::accepted(tcp, tls.as_ref(), timeout) {
                        serve(w, conn, p, &stats, deadline);
                    }
                }));
            }
            // The command ended (or the time is up): what it did is in the stats.
            Err(_) if n > 0 => break,
            Err(why) => return Err(why),
        }
    }
    let status = run.wait_until(deadline);
    drop(run);
    for t in threads {
        let _ = t.join();
    }
    let st = std::mem::take(&mut *stats.lock().unwrap());
    Ok((st, status))
}

/// How long the `goaway-retry` server waits for a second request before it gives up and
/// answers the first.
const SECOND_REQUEST_WAIT: Duration = Duration::from_millis(300);

/// One connection's server. Requests are answered once they have ended (a request body is
/// read first, as servers do).
fn serve(mut w: Wire, conn: u64, p: Policy, stats: &Shared, deadline: Instant) {
    if w.read_preface(deadline).is_err() {
        return;
    }
    let mut settings = Vec::new();
    if let Some(n) = p.max_concurrent {
        settings.extend_from_slice(&(Setting::MaxConcurrentStreams as u16).to_be_bytes());
        settings.extend_from_slice(&n.to_be_bytes());
    }
    w.queue_frame(kind::SETTINGS, 0, 0, &settings);
    // The client's request heads, decoded in order (for their paths).
    let mut heads = HeaderTracer::default();
    // Streams open: whether the request has ended; requests waiting to be answered.
    let mut open: BTreeMap<u32, bool> = BTreeMap::new();
    let mut waiting: Vec<u32> = Vec::new();
    let mut ended_out: HashMap<u32, Instant> = HashMap::new();
    let mut late_ends: Vec<(Instant, u32)> = Vec::new();
    let mut silent = false;
    // The client has acknowledged our SETTINGS (and so knows the limit).
    let mut acked = false;
    // goaway-retry: sent (or given up on), and when the first request came. It is played on
    // the first connection that carries a request, as is the silence.
    let mut goaway_done = !p.goaway_at_two;
    let mut mine = false;
    let mut first_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        late_ends.retain(|(at, id)| {
            if *at > now {
                return true;
            }
            w.queue_frame(kind::DATA, 0x1, *id, &[]);
            ended_out.insert(*id, now);
            false
        });
        if !goaway_done && first_at.is_some_and(|t| now >= t + SECOND_REQUEST_WAIT) {
            goaway_done = true;
        }
        {
            let mut st = stats.lock().unwrap();
            if !goaway_done && open.len() >= 2 {
                goaway_done = true;
                let first = *open.keys().next().unwrap_or(&1);
                let above: Vec<u32> = open.keys().copied().filter(|s| *s > first).collect();
                let mut payload = first.to_be_bytes().to_vec();
                payload.extend_from_slice(&ErrorCode::NO_ERROR.0.to_be_bytes());
                w.queue_frame(kind::GOAWAY, 0, 0, &payload);
                for s in &above {
                    open.remove(s);
                }
                waiting.retain(|s| *s <= first);
                st.goaway = Some((first, above));
            }
            if goaway_done && !silent {
                for id in std::mem::take(&mut waiting) {
                    respond(&mut w, id, p, &mut late_ends, &mut ended_out);
                    open.remove(&id);
                    if p.silent_after_first && mine {
                        let _ = w.flush();
                        silent = true;
                        st.silent_at = Some(Instant::now());
                        break;
                    }
                }
            }
        }
        if !w.frame_buffered() && !silent && w.queued() > 0 && w.flush().is_err() {
            return;
        }
        let mut wake = late_ends
            .iter()
            .map(|(at, _)| *at)
            .min()
            .unwrap_or(deadline);
        if let (false, Some(t)) = (goaway_done, first_at) {
            wake = wake.min(t + SECOND_REQUEST_WAIT);
        }
        let got = w.read(wake.min(deadline));
        let mut st = stats.lock().unwrap();
        match got {
            Got::Frame(Frame::Settings(f)) if f.ack => acked = true,
            Got::Frame(Frame::Settings(f)) if !f.ack => {
                if !silent {
                    w.queue_frame(kind::SETTINGS, 1, 0, &[])
                }
            }
            Got::Frame(Frame::Ping(f)) if !f.ack => {
                st.pings += 1;
                if !silent {
                    w.queue_frame(kind::PING, 1, 0, &f.payload);
                }
            }
            Got::Frame(f @ Frame::Continuation(_)) => {
                let _ = heads.fields(1, &f);
            }
            Got::Frame(Frame::Headers(h)) => {
                let id = h.stream_id.0;
                let fields = heads.fields(1, &Frame::Headers(h.clone()));
                if let std::collections::btree_map::Entry::Occupied(mut e) = open.entry(id) {
                    // Trailers end the request.
                    if h.end_stream {
                        e.insert(true);
                        waiting.push(id);
                    }
                    continue;
                }
                st.requests += 1;
                if silent {
                    st.into_silence += 1;
                    st.last_into_silence = st.silent_at.map(|t| t.elapsed());
                    continue;
                }
                let path = fields
                    .and_then(|f| {
                        f.0.iter()
                            .find(|(n, _)| n == ":path")
                            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                    })
                    .unwrap_or_default();
                st.paths.push((conn, id, path.clone()));
                if st.claimed.is_none() {
                    st.claimed = Some(conn);
                    mine = true;
                } else if !mine {
                    goaway_done = true;
                }
                open.insert(id, h.end_stream);
                first_at.get_or_insert(Instant::now());
                st.max_open = st.max_open.max(open.len() as u64);
                let refuse = match p.max_concurrent {
                    Some(limit) if open.len() as u64 > limit as u64 => {
                        if acked {
                            st.over_limit += 1;
                        } else {
                            st.over_limit_early += 1;
                        }
                        true
                    }
                    _ if p.refuse_first && st.refused.is_none() => {
                        st.refused = Some(path);
                        true
                    }
                    _ => false,
                };
                if refuse {
                    open.remove(&id);
                    w.queue_frame(
                        kind::RST_STREAM,
                        0,
                        id,
                        &ErrorCode::REFUSED_STREAM.0.to_be_bytes(),
                    );
                } else if h.end_stream {
                    waiting.push(id);
                }
            }
            Got::Frame(Frame::Data(d)) => {
                let id = d.stream_id.0;
                let n = d.flow_len();
                if n > 0 && !silent {
                    w.queue_frame(kind::WINDOW_UPDATE, 0, 0, &n.to_be_bytes());
                    if !d.end_stream {
                        w.queue_frame(kind::WINDOW_UPDATE, 0, id, &n.to_be_bytes());
                    }
                }
                if d.end_stream && open.get(&id) == Some(&false) {
                    open.insert(id, true);
                    waiting.push(id);
                }
            }
            Got::Frame(Frame::RstStream(r)) => {
                st.rst_total += 1;
                if ended_out.contains_key(&r.stream_id.0) {
                    st.rst_after_end += 1;
                }
                open.remove(&r.stream_id.0);
                waiting.retain(|s| *s != r.stream_id.0);
            }
            Got::Frame(_) => {}
            Got::Timeout if Instant::now() < deadline => {}
            Got::Closed | Got::Timeout | Got::Garbage(_) => return,
        }
    }
}

/// A response: the head and body now; END_STREAM with the body, or in an empty DATA frame
/// now or later, as the policy says.
fn respond(
    w: &mut Wire,
    id: u32,
    p: Policy,
    late: &mut Vec<(Instant, u32)>,
    ended: &mut HashMap<u32, Instant>,
) {
    let mut head = bytes::BytesMut::new();
    w.encoder.encode(
        [
            h2kit::proto::hpack::FieldRef::new(b":status", b"200"),
            h2kit::proto::hpack::FieldRef::new(b"content-type", b"application/json"),
        ],
        &mut head,
    );
    w.queue_frame(kind::HEADERS, 0x4, id, &head);
    let now = Instant::now();
    match p.end_apart {
        None => {
            w.queue_frame(kind::DATA, 0x1, id, BODY);
            ended.insert(id, now);
        }
        Some(d) if d.is_zero() => {
            w.queue_frame(kind::DATA, 0, id, BODY);
            w.queue_frame(kind::DATA, 0x1, id, &[]);
            ended.insert(id, now);
        }
        Some(d) => {
            w.queue_frame(kind::DATA, 0, id, BODY);
            late.push((now + d, id));
        }
    }
}

/// How long after a connection went silent a client may still send requests into it (those
/// already on their way, and the ones sent before a liveness check could notice).
const SILENCE_GRACE: Duration = Duration::from_secs(2);

/// The citizen cases: (id, section, title).
pub const CASES: &[(&str, &str, &str)] = &[
    (
        "end-stream-in-empty-data",
        "RFC 9113 §5.1, §8.1",
        "no RST_STREAM after END_STREAM that comes in its own empty DATA frame",
    ),
    (
        "end-stream-in-empty-data-1ms",
        "RFC 9113 §5.1, §8.1",
        "no RST_STREAM after END_STREAM that comes in an empty DATA frame 1 ms after the body",
    ),
    (
        "no-ping-per-reset",
        "RFC 9113 §6.7",
        "no PING sent for each stream reset",
    ),
    (
        "max-concurrent-1",
        "RFC 9113 §5.1.2",
        "SETTINGS_MAX_CONCURRENT_STREAMS of 1 is honoured",
    ),
    (
        "refused-stream-retried",
        "RFC 9113 §8.7",
        "a request refused with REFUSED_STREAM is sent again",
    ),
    (
        "goaway-retry",
        "RFC 9113 §6.8, §8.7",
        "after GOAWAY, the requests above its last stream are retried and the others are not",
    ),
    (
        "silent-connection",
        "RFC 9113 §6.7, §9.1",
        "a connection that goes silent is abandoned (the netsplit case)",
    ),
];

pub fn run(id: &str, s: &Setup, timeout: Duration, one_ms: &mut Option<Stats>) -> Verdict {
    let p = Policy::default();
    let result = match id {
        "end-stream-in-empty-data" => play(
            s,
            Policy {
                end_apart: Some(Duration::ZERO),
                ..p
            },
            timeout,
        ),
        "end-stream-in-empty-data-1ms" | "no-ping-per-reset" => match one_ms.take() {
            Some(st) => Ok((st, None)),
            None => play(
                s,
                Policy {
                    end_apart: Some(Duration::from_millis(1)),
                    ..p
                },
                timeout,
            ),
        },
        "max-concurrent-1" => play(
            s,
            Policy {
                max_concurrent: Some(1),
                ..p
            },
            timeout,
        ),
        "refused-stream-retried" => play(
            s,
            Policy {
                refuse_first: true,
                ..p
            },
            timeout,
        ),
        "goaway-retry" => play(
            s,
            Policy {
                goaway_at_two: true,
                ..p
            },
            timeout,
        ),
        "silent-connection" => play(
            s,
            Policy {
                silent_after_first: true,
                ..p
            },
            timeout,
        ),
        _ => return Verdict::NotApplicable(format!("no case {id}")),
    };
    let (st, status) = match result {
        Ok(x) => x,
        Err(why) => return Verdict::Failed(why),
    };
    let exit = status.map_or("still running at the case's end".to_string(), |s| {
        format!("exited: {s}")
    });
    let verdict = match id {
        "end-stream-in-empty-data" | "end-stream-in-empty-data-1ms" => {
            let what = format!(
                "{} requests on {} connection(s), {} RST_STREAM after END_STREAM ({} in all); the client {exit}",
                st.requests, st.connections, st.rst_after_end, st.rst_total
            );
            if st.rst_after_end == 0 {
                Verdict::Passed(what)
            } else {
                Verdict::Failed(what)
            }
        }
        "no-ping-per-reset" => {
            let what = format!(
                "{} RST_STREAM and {} PINGs from the client",
                st.rst_total, st.pings
            );
            if st.rst_total >= 10 && st.pings * 2 >= st.rst_total {
                Verdict::Failed(format!("{what}: a PING for (nearly) every reset"))
            } else {
                Verdict::Passed(what)
            }
        }
        "max-concurrent-1" if st.requests < 2 => Verdict::NotApplicable(format!(
            "the command made {} request(s): nothing to limit",
            st.requests
        )),
        "max-concurrent-1" => {
            let what = format!(
                "{} requests, at most {} open at once; over the limit (refused): {} after the \
                 client acknowledged it, {} before",
                st.requests, st.max_open, st.over_limit, st.over_limit_early
            );
            if st.over_limit == 0 {
                Verdict::Passed(what)
            } else {
                Verdict::Failed(what)
            }
        }
        "refused-stream-retried" => {
            let path = st.refused.clone().unwrap_or_default();
            let again = st.paths.iter().filter(|(_, _, p)| *p == path).count();
            if st.refused.is_none() {
                Verdict::Failed("the client made no request".into())
            } else if again >= 2 {
                Verdict::Passed(format!(
                    "{path} was refused and sent again; the client {exit}"
                ))
            } else {
                Verdict::Failed(format!(
                    "{path} was refused and never sent again; the client {exit}"
                ))
            }
        }
        "goaway-retry" => match &st.goaway {
            None => Verdict::NotApplicable(format!(
                "the command never had two requests open on its first connection ({} in all)",
                st.requests
            )),
            Some((kept, above)) => {
                let path_of = |c: u64, s: u32| {
                    st.paths
                        .iter()
                        .find(|(pc, ps, _)| *pc == c && *ps == s)
                        .map(|x| x.2.clone())
                };
                let g = st.claimed.unwrap_or(0);
                let later: Vec<&String> = st
                    .paths
                    .iter()
                    .filter(|(c, _, _)| *c != g)
                    .map(|x| &x.2)
                    .collect();
                let first_paths: Vec<String> = st
                    .paths
                    .iter()
                    .filter(|(c, _, _)| *c == g)
                    .map(|x| x.2.clone())
                    .collect();
                let distinct = {
                    let mut v = first_paths.clone();
                    v.sort();
                    v.dedup();
                    v.len() == first_paths.len()
                };
                let missing: Vec<String> = above
                    .iter()
                    .filter_map(|s| path_of(g, *s))
                    .filter(|p| !later.contains(&p))
                    .collect();
                let kept_path = path_of(g, *kept).unwrap_or_default();
                if !missing.is_empty() {
                    Verdict::Failed(format!(
                        "GOAWAY kept stream {kept}; {} request(s) above it were never retried ({})",
                        missing.len(),
                        missing.join(", ")
                    ))
                } else if distinct && later.contains(&&kept_path) {
                    Verdict::Failed(format!(
                        "GOAWAY kept stream {kept} ({kept_path}), which was answered, and the client sent it again"
                    ))
                } else {
                    Verdict::Passed(format!(
                        "GOAWAY kept stream {kept}; the {} above it were retried on a new connection",
                        above.len()
                    ))
                }
            }
        },
        "silent-connection" => {
            let end = match (st.reconnected_after_silence, status) {
                (Some(after), _) => format!("a new connection {} ms after it", after.as_millis()),
                (None, Some(s)) => format!("the client ended ({s})"),
                (None, None) => "no new connection".to_string(),
            };
            match (st.silent_at, st.last_into_silence) {
                (None, _) => Verdict::Failed("the client made no request".into()),
                (Some(_), None) if st.requests <= 1 => Verdict::NotApplicable(
                    "the command made one request, answered before the silence: nothing to abandon"
                        .into(),
                ),
                (Some(_), None) => Verdict::Passed(format!(
                    "no request was sent into the silent connection; {end}"
                )),
                (Some(_), Some(last)) if last <= SILENCE_GRACE => Verdict::Passed(format!(
                    "{} request(s) sent into the silence, the last {} ms after it began; {end}",
                    st.into_silence,
                    last.as_millis()
                )),
                (Some(_), Some(last)) => Verdict::Failed(format!(
                    "requests kept going into the silent connection: {}, the last {:.1} s after it \
                     began; {end}",
                    st.into_silence,
                    last.as_secs_f64()
                )),
            }
        }
        _ => Verdict::NotApplicable(format!("no case {id}")),
    };
    if id == "end-stream-in-empty-data-1ms" {
        *one_ms = Some(st);
    }
    verdict
}
