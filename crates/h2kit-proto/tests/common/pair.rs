//! Two connections wired together in memory, with a log of every frame on the wire.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::{Frame, FrameDecoder, FrameType};
use h2kit_proto::{Config, Connection, Event, StreamId};

/// A small deterministic generator (xorshift64*), so tests need no `rand`.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Server,
}

/// Parses one direction of the wire as it is delivered.
pub struct Tap {
    dec: FrameDecoder,
    buf: BytesMut,
    preface_left: usize,
}

impl Tap {
    fn new(preface: bool) -> Tap {
        let mut dec = FrameDecoder::new();
        dec.set_max_frame_size((1 << 24) - 1);
        Tap {
            dec,
            buf: BytesMut::new(),
            preface_left: if preface { PREFACE.len() } else { 0 },
        }
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        let mut bytes = bytes;
        if self.preface_left > 0 {
            let n = self.preface_left.min(bytes.len());
            bytes = &bytes[n..];
            self.preface_left -= n;
        }
        self.buf.extend_from_slice(bytes);
        while let Ok(Some(f)) = self.dec.decode(&mut self.buf) {
            out.push(f);
        }
    }
}

/// One entry of the wire log: a frame as its sender produced it, or as its receiver got it.
#[derive(Debug)]
pub enum Wire {
    Sent(Side, Frame),
    Received(Side, Frame),
}

pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Instant,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    /// Frames in the order they were produced, with their sender.
    pub wire: Vec<(Side, Frame)>,
    /// Production and delivery in the order they happened.
    pub log: Vec<Wire>,
    /// When set, bytes are delivered in random pieces.
    pub rng: Option<Rng>,
    c2s: Tap,
    s2c: Tap,
    /// Produced, not yet delivered: bytes and their frames, per sender.
    pending_c2s: (Vec<u8>, Vec<Frame>),
    pending_s2c: (Vec<u8>, Vec<Frame>),
}

fn other(side: Side) -> Side {
    match side {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    }
}

impl Pair {
    pub fn new(client: Config, server: Config) -> Pair {
        let now = Instant::now();
        Pair {
            client: Connection::client(client, now),
            server: Connection::server(server, now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            wire: Vec::new(),
            log: Vec::new(),
            rng: None,
            c2s: Tap::new(true),
            s2c: Tap::new(false),
            pending_c2s: Default::default(),
            pending_s2c: Default::default(),
        }
    }

    /// A pair that has exchanged prefaces and settings.
    pub fn connected() -> Pair {
        let mut p = Pair::new(Config::default(), Config::default());
        p.run();
        p.clear();
        p
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Takes what both sides produced since the last call and logs it as sent.
    pub fn collect(&mut self) {
        for side in [Side::Client, Side::Server] {
            let (conn, tap, pending) = match side {
                Side::Client => (&mut self.client, &mut self.c2s, &mut self.pending_c2s),
                Side::Server => (&mut self.server, &mut self.s2c, &mut self.pending_s2c),
            };
            let mut bytes = Vec::new();
            while let Some(b) = conn.poll_transmit() {
                bytes.extend_from_slice(&b);
            }
            if bytes.is_empty() {
                continue;
            }
            let mut frames = Vec::new();
            tap.feed(&bytes, &mut frames);
            for f in &frames {
                self.wire.push((side, f.clone()));
                self.log.push(Wire::Sent(side, f.clone()));
            }
            pending.0.extend_from_slice(&bytes);
            pending.1.extend(frames);
        }
    }

    /// Delivers everything `from` has produced to the other side.
    fn deliver_from(&mut self, from: Side) {
        self.collect();
        let to = other(from);
        let (bytes, frames) = match from {
            Side::Client => std::mem::take(&mut self.pending_c2s),
            Side::Server => std::mem::take(&mut self.pending_s2c),
        };
        if bytes.is_empty() {
            return;
        }
        self.log
            .extend(frames.into_iter().map(|f| Wire::Received(to, f)));
        let (conn, events) = match to {
            Side::Server => (&mut self.server, &mut self.server_events),
            Side::Client => (&mut self.client, &mut self.client_events),
        };
        let mut buf = BytesMut::new();
        let mut rest = Bytes::from(bytes);
        while !rest.is_empty() {
            let n = match &mut self.rng {
                Some(r) => 1 + r.below(rest.len() as u64) as usize,
                None => rest.len(),
            };
            buf.extend_from_slice(&rest.split_to(n));
            let _ = conn.recv(&mut buf, self.now);
            while let Some(e) = conn.poll_event() {
                events.push(e);
            }
        }
        self.collect();
    }

    /// Moves bytes both ways until neither side has anything to send.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            self.collect();
            if self.pending_c2s.0.is_empty() && self.pending_s2c.0.is_empty() {
                return;
            }
            self.deliver_from(Side::Client);
            self.deliver_from(Side::Server);
        }
        panic!("connections never went quiet");
    }

    /// Client output only, delivered to the server (server output stays queued).
    pub fn client_to_server(&mut self) {
        self.deliver_from(Side::Client);
    }

    pub fn server_to_client(&mut self) {
        self.deliver_from(Side::Server);
    }

    /// Frames of `kind` that `side` sent.
    pub fn sent(&self, side: Side, kind: FrameType) -> Vec<&Frame> {
        self.wire
            .iter()
            .filter(|(s, f)| *s == side && f.frame_type() == Some(kind))
            .map(|(_, f)| f)
            .collect()
    }

    pub fn clear(&mut self) {
        self.wire.clear();
        self.log.clear();
        self.client_events.clear();
        self.server_events.clear();
    }
}

/// A GET request head.
pub fn get(path: &str) -> http::request::Parts {
    http::Request::get(format!("http://example.com{path}"))
        .body(())
        .unwrap()
        .into_parts()
        .0
}

pub fn post(path: &str, len: usize) -> http::request::Parts {
    http::Request::post(format!("http://example.com{path}"))
        .header("content-length", len)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

pub fn ok() -> http::response::Parts {
    http::Response::new(()).into_parts().0
}

pub fn status(code: u16) -> http::response::Parts {
    http::Response::builder()
        .status(code)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

/// The stream ids of request heads the server received.
pub fn requests(events: &[Event]) -> Vec<StreamId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Headers {
                stream,
                head: h2kit_proto::Head::Request(_),
                ..
            } => Some(*stream),
            _ => None,
        })
        .collect()
}
