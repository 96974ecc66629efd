//! RFC 9218 priorities at the engine: who gets the connection window when it reopens
//! (urgency first; one at a time in stream order, or in turns when incremental), where the
//! priority comes from (the `priority` header, PRIORITY_UPDATE before or after the stream
//! opened, defaults for malformed values), the frame's errors, and its flood budget.

mod common;
use common::peer::*;

use std::collections::HashMap;

use bytes::Bytes;
use h2kit_proto::frame::*;
use h2kit_proto::{Config, ErrorCode, Event};

/// A server whose client's stream windows are large: only the connection window (65,535)
/// limits what it sends.
fn server(config: Config) -> Peer {
    let mut p = Peer::server(config);
    let mut big = Settings::default();
    big.set(Setting::InitialWindowSize, Some(1 << 30));
    p.send(&[Frame::Settings(big)]).unwrap();
    p.output();
    p.events.clear();
    p
}

fn request(p: &mut Peer, id: u32, priority: Option<&str>) {
    let mut fields = vec![
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "a.test"),
        (":path", "/"),
    ];
    if let Some(v) = priority {
        fields.push(("priority", v));
    }
    let h = p.headers(id, &fields, true);
    p.send(&[h]).unwrap();
}

fn priority_update(id: u32, value: &str) -> Frame {
    let mut payload = id.to_be_bytes().to_vec();
    payload.extend_from_slice(value.as_bytes());
    Frame::Unknown(Unknown {
        kind: 0x10,
        flags: 0,
        stream_id: StreamId(0),
        payload: Bytes::from(payload),
    })
}

/// The application's side: each stream answers 200 and has `len` bytes to send, offered in
/// stream order (so the first stream takes the window that is open).
struct App {
    pending: HashMap<StreamId, Bytes>,
}

impl App {
    fn respond(p: &mut Peer, streams: &[u32], len: usize) -> App {
        let mut app = App {
            pending: HashMap::new(),
        };
        let ok = http::Response::new(()).into_parts().0;
        for &id in streams {
            let id = StreamId(id);
            p.conn.send_response(id, &ok, false).unwrap();
            let left = p
                .conn
                .send_data(id, Bytes::from(vec![7; len]), true)
                .unwrap();
            if !left.is_empty() {
                app.pending.insert(id, left);
            }
        }
        p.output();
        app
    }

    /// Handles SendCapacity events, as a runtime does, until none is left.
    fn run(&mut self, p: &mut Peer) {
        let mut queued: Vec<Event> = p.events.drain(..).collect();
        loop {
            for e in queued.drain(..) {
                if let Event::SendCapacity { stream } = e {
                    if let Some(rest) = self.pending.remove(&stream) {
                        let left = p.conn.send_data(stream, rest, true).unwrap();
                        if !left.is_empty() {
                            self.pending.insert(stream, left);
                        }
                    }
                }
            }
            match p.conn.poll_event() {
                Some(e) => queued.push(e),
                None => return,
            }
        }
    }

    /// The connection window grows by `n`: which streams' DATA went out, in order, and how
    /// much each frame carried.
    fn window(&mut self, p: &mut Peer, n: u32) -> Vec<(u32, usize)> {
        p.send(&[Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId(0),
            increment: n,
        })])
        .unwrap();
        self.run(p);
        p.output()
            .into_iter()
            .filter_map(|f| match f {
                Frame::Data(d) => Some((d.stream_id.0, d.data.len())),
                _ => None,
            })
            .collect()
    }
}

fn streams_of(frames: &[(u32, usize)]) -> Vec<u32> {
    frames.iter().map(|(s, _)| *s).collect()
}

#[test]
fn rfc9218_10_a_more_urgent_response_takes_the_window_first() {
    let mut p = server(Config::default());
    request(&mut p, 1, Some("u=7"));
    request(&mut p, 3, Some("u=0"));
    // Stream 1 started first and took the whole connection window.
    let mut app = App::respond(&mut p, &[1, 3], 100_000);
    assert_eq!(app.pending[&StreamId(1)].len(), 100_000 - 65_535);
    assert_eq!(app.pending[&StreamId(3)].len(), 100_000);
    // Each time the window reopens, u=0 goes first, until it is done.
    let sent = app.window(&mut p, 60_000);
    assert_eq!(streams_of(&sent), vec![3; 4]);
    let sent = app.window(&mut p, 60_000);
    assert_eq!(
        sent.iter()
            .filter(|(s, _)| *s == 3)
            .map(|(_, n)| n)
            .sum::<usize>(),
        40_000
    );
    assert_eq!(sent.first().map(|f| f.0), Some(3));
    assert_eq!(
        sent.last().map(|f| f.0),
        Some(1),
        "the rest goes to u=7: {sent:?}"
    );
}

#[test]
fn rfc9218_4_defaults_and_malformed_values_are_urgency_3() {
    let mut p = server(Config::default());
    // A malformed field is ignored (u=3), so u=2 goes first, then the two u=3 streams in
    // stream order (non-incremental: one at a time), then u=4.
    request(&mut p, 1, Some("u=4"));
    request(&mut p, 3, Some("u=0,"));
    request(&mut p, 5, None);
    request(&mut p, 7, Some("u=2"));
    let mut app = App::respond(&mut p, &[1, 3, 5, 7], 30_000);
    // Stream 1 took 30,000, stream 3 the same, stream 5 the rest (5,535), stream 7 nothing.
    assert!(!app.pending.contains_key(&StreamId(3)));
    let sent = app.window(&mut p, 50_000);
    let order: Vec<u32> = streams_of(&sent).into_iter().fold(Vec::new(), |mut v, s| {
        if v.last() != Some(&s) {
            v.push(s);
        }
        v
    });
    assert_eq!(order, vec![7, 5], "{sent:?}");
    let of = |id: u32| -> usize { sent.iter().filter(|(s, _)| *s == id).map(|(_, n)| n).sum() };
    assert_eq!((of(7), of(5)), (30_000, 20_000), "{sent:?}");
}

#[test]
fn rfc9218_10_incremental_responses_of_one_urgency_share_the_window() {
    let mut p = server(Config::default());
    for id in [1, 3, 5] {
        request(&mut p, id, Some("u=3, i"));
    }
    request(&mut p, 7, Some("u=4, i"));
    let mut app = App::respond(&mut p, &[1, 3, 5, 7], 100_000);
    // An even split among the three u=3 streams; u=4 waits.
    let sent = app.window(&mut p, 3 * 20_000);
    let mut by_stream: HashMap<u32, usize> = HashMap::new();
    for (s, n) in &sent {
        *by_stream.entry(*s).or_default() += n;
    }
    assert_eq!(
        by_stream,
        HashMap::from([(1, 20_000), (3, 20_000), (5, 20_000)]),
        "{sent:?}"
    );
    // Stream 1 runs out of data within its share: what it leaves goes on (here, to u=4 and
    // to the others' next turns), none of the window stays unused.
    let sent = app.window(&mut p, 3 * 20_000);
    let total: usize = sent.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 60_000, "{sent:?}");
    assert!(!app.pending.contains_key(&StreamId(1)), "stream 1 is done");
    assert_eq!(
        sent.iter()
            .filter(|(s, _)| *s == 1)
            .map(|(_, n)| n)
            .sum::<usize>(),
        100_000 - 65_535 - 20_000
    );
}

/// A share is what a stream's turn allows, however its data is cut into chunks: a runtime
/// that has the next chunk queued hands it over as soon as one runs out, in the same turn
/// (as `h2kit`'s connection task does), and the turn ends at the share.
#[test]
fn rfc9218_10_a_share_spans_the_chunks_of_a_turn() {
    let mut p = server(Config::default());
    for id in [1, 3] {
        request(&mut p, id, Some("u=3, i"));
    }
    let ok = http::Response::new(()).into_parts().0;
    let mut chunks: HashMap<StreamId, Vec<Bytes>> = HashMap::new();
    for id in [1, 3] {
        let id = StreamId(id);
        p.conn.send_response(id, &ok, false).unwrap();
        chunks.insert(id, vec![Bytes::from(vec![7; 10_000]); 10]);
    }
    // Hands a stream's chunks over in order until one is left over (blocked by a window).
    let offer = |p: &mut Peer, chunks: &mut HashMap<StreamId, Vec<Bytes>>, id: StreamId| {
        let queue = chunks.get_mut(&id).unwrap();
        while !queue.is_empty() {
            let last = queue.len() == 1;
            let left = p.conn.send_data(id, queue.remove(0), last).unwrap();
            if !left.is_empty() {
                queue.insert(0, left);
                break;
            }
        }
    };
    // Stream 1 takes the open window (6.5 chunks), stream 3 waits.
    offer(&mut p, &mut chunks, StreamId(1));
    offer(&mut p, &mut chunks, StreamId(3));
    p.output();
    p.events.clear();
    p.send(&[Frame::WindowUpdate(WindowUpdate {
        stream_id: StreamId(0),
        increment: 40_000,
    })])
    .unwrap();
    let mut events: Vec<Event> = p.events.drain(..).collect();
    while !events.is_empty() {
        for e in events.drain(..) {
            if let Event::SendCapacity { stream } = e {
                offer(&mut p, &mut chunks, stream);
            }
        }
        events.extend(std::iter::from_fn(|| p.conn.poll_event()));
    }
    let mut by_stream: HashMap<u32, usize> = HashMap::new();
    for f in p.output() {
        if let Frame::Data(d) = f {
            *by_stream.entry(d.stream_id.0).or_default() += d.data.len();
        }
    }
    // Stream 1's turn: the rest of its 7th chunk, its 8th, part of its 9th.
    assert_eq!(
        by_stream,
        HashMap::from([(1, 20_000), (3, 20_000)]),
        "an even split of the window"
    );
}

#[test]
fn rfc9218_7_1_priority_update_reprioritizes_open_and_idle_streams() {
    let mut p = server(Config::default());
    request(&mut p, 1, None);
    // Stream 3 has not opened yet: its PRIORITY_UPDATE waits, and wins over its header.
    p.send(&[priority_update(3, "u=1")]).unwrap();
    request(&mut p, 3, Some("u=7"));
    request(&mut p, 5, None);
    let mut app = App::respond(&mut p, &[1, 3, 5], 100_000);
    let sent = app.window(&mut p, 16_384);
    assert_eq!(streams_of(&sent), vec![3]);
    // Stream 5, open, now most urgent.
    p.send(&[priority_update(5, "u=0")]).unwrap();
    let sent = app.window(&mut p, 16_384);
    assert_eq!(streams_of(&sent), vec![5]);
    // A malformed value is the defaults: stream 5 back to u=3, behind stream 3 (u=1).
    p.send(&[priority_update(5, "u=0;;")]).unwrap();
    let sent = app.window(&mut p, 16_384);
    assert_eq!(streams_of(&sent), vec![3]);
    // PRIORITY_UPDATE for a closed stream is ignored.
    p.send(&[priority_update(1_001, "u=0")]).unwrap();
    request(&mut p, 1_003, None);
    p.send(&[priority_update(1_001, "u=0")]).unwrap();
    assert!(p.conn.error().is_none());
}

fn goaway_code(p: &mut Peer) -> Option<ErrorCode> {
    p.output().into_iter().find_map(|f| match f {
        Frame::GoAway(g) => Some(g.code),
        _ => None,
    })
}

#[test]
fn rfc9218_7_1_malformed_priority_update_frames_are_connection_errors() {
    let on_stream = Frame::Unknown(Unknown {
        kind: 0x10,
        flags: 0,
        stream_id: StreamId(1),
        payload: Bytes::from_static(b"\0\0\0\x01u=0"),
    });
    let short = Frame::Unknown(Unknown {
        kind: 0x10,
        flags: 0,
        stream_id: StreamId(0),
        payload: Bytes::from_static(b"\0\0\x01"),
    });
    for (frame, code) in [
        (on_stream, ErrorCode::PROTOCOL_ERROR),
        (short, ErrorCode::FRAME_SIZE_ERROR),
        (priority_update(0, "u=0"), ErrorCode::PROTOCOL_ERROR),
        (priority_update(2, "u=0"), ErrorCode::PROTOCOL_ERROR),
    ] {
        let mut p = server(Config::default());
        let _ = p.send(std::slice::from_ref(&frame));
        assert_eq!(goaway_code(&mut p), Some(code), "{frame:?}");
    }
    // Only servers take it.
    let mut c = Peer::client(Config::default(), Settings::default());
    let _ = c.send(&[priority_update(1, "u=0")]);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::PROTOCOL_ERROR));
    // Idle streams' priorities are kept up to the concurrency limit, no further.
    let mut p = server(Config {
        max_concurrent_streams: 4,
        ..Config::default()
    });
    let frames: Vec<Frame> = (0..4).map(|i| priority_update(1 + 2 * i, "u=1")).collect();
    p.send(&frames).unwrap();
    p.send(&[priority_update(1, "u=2")]).unwrap();
    assert_eq!(goaway_code(&mut p), None, "the same streams again");
    let _ = p.send(&[priority_update(9, "u=1")]);
    assert_eq!(goaway_code(&mut p), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn a_priority_update_flood_draws_from_the_ignored_frames_budget() {
    // A client reprioritizing now and then stays far below it.
    let mut p = server(Config::default());
    request(&mut p, 1, None);
    let some: Vec<Frame> = (0..200)
        .map(|i| priority_update(1, ["u=1", "u=5"][i % 2]))
        .collect();
    p.send(&some).unwrap();
    assert_eq!(goaway_code(&mut p), None);
    // A flood is cut off like any other ignored-frame flood.
    let flood: Vec<Frame> = (0..5_000).map(|_| priority_update(1, "u=0")).collect();
    let _ = p.send(&flood);
    assert_eq!(goaway_code(&mut p), Some(ErrorCode::ENHANCE_YOUR_CALM));
}
