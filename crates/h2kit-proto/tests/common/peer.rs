//! A scripted raw peer: frames built by hand, fed to one `Connection`, its answers parsed.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use h2kit_proto::connection::PREFACE;
use h2kit_proto::frame::*;
use h2kit_proto::hpack::{Encoder, FieldRef};
use h2kit_proto::{Config, Connection, Error, ErrorCode, Event, StreamId};

pub struct Peer {
    pub conn: Connection,
    pub now: Instant,
    pub enc: Encoder,
    tap: FrameDecoder,
    tap_buf: BytesMut,
    strip_preface: bool,
    pub events: Vec<Event>,
}

impl Peer {
    pub fn new(conn: Connection, now: Instant, strip_preface: bool) -> Peer {
        let mut tap = FrameDecoder::new();
        tap.set_max_frame_size((1 << 24) - 1);
        Peer {
            conn,
            now,
            enc: Encoder::new(),
            tap,
            tap_buf: BytesMut::new(),
            strip_preface,
            events: Vec::new(),
        }
    }

    /// A server `Connection` that has received a client preface and empty SETTINGS, and
    /// whose SETTINGS we acknowledged.
    pub fn server(config: Config) -> Peer {
        let now = Instant::now();
        let mut p = Peer::new(Connection::server(config, now), now, false);
        let mut b = BytesMut::from(&PREFACE[..]);
        Frame::Settings(Settings::default()).encode(&mut b);
        Frame::Settings(Settings::ack()).encode(&mut b);
        p.conn.recv(&mut b, now).unwrap();
        while p.conn.poll_event().is_some() {}
        p.output();
        p
    }

    /// A client `Connection` that has received the server's SETTINGS (with `settings`).
    /// A server with the default configuration, its preface exchanged.
    pub fn default_server() -> Peer {
        Peer::server(Config::default())
    }

    pub fn client(config: Config, settings: Settings) -> Peer {
        let now = Instant::now();
        let mut p = Peer::new(Connection::client(config, now), now, true);
        let mut b = BytesMut::new();
        Frame::Settings(settings).encode(&mut b);
        Frame::Settings(Settings::ack()).encode(&mut b);
        p.conn.recv(&mut b, now).unwrap();
        while p.conn.poll_event().is_some() {}
        p.output();
        p
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Feeds the frames in one read.
    pub fn send(&mut self, frames: &[Frame]) -> Result<(), Error> {
        let mut b = BytesMut::new();
        for f in frames {
            f.encode(&mut b);
        }
        self.send_raw(&b)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut b = BytesMut::from(bytes);
        let r = self.conn.recv(&mut b, self.now);
        while let Some(e) = self.conn.poll_event() {
            self.events.push(e);
        }
        r
    }

    /// An HPACK block for the fields, from this peer's encoder.
    pub fn block(&mut self, fields: &[(&str, &str)]) -> Bytes {
        let mut b = BytesMut::new();
        self.enc.encode(
            fields
                .iter()
                .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes())),
            &mut b,
        );
        b.freeze()
    }

    pub fn headers(&mut self, id: u32, fields: &[(&str, &str)], end_stream: bool) -> Frame {
        Frame::Headers(Headers {
            stream_id: StreamId(id),
            block: self.block(fields),
            end_stream,
            end_headers: true,
            priority: None,
            pad: None,
        })
    }

    /// A valid GET request's HEADERS.
    pub fn get(&mut self, id: u32, end_stream: bool) -> Frame {
        self.headers(
            id,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "a.test"),
                (":path", "/"),
            ],
            end_stream,
        )
    }

    /// Opens stream `id` with a GET whose message goes on (no END_STREAM).
    pub fn open(&mut self, id: u32) {
        let h = self.get(id, false);
        self.send(&[h]).unwrap();
    }

    /// Everything the connection wrote since the last call, parsed.
    pub fn output(&mut self) -> Vec<Frame> {
        while let Some(b) = self.conn.poll_transmit() {
            let mut b = &b[..];
            if self.strip_preface {
                b = &b[PREFACE.len()..];
                self.strip_preface = false;
            }
            self.tap_buf.extend_from_slice(b);
        }
        let mut out = Vec::new();
        while let Some(f) = self.tap.decode(&mut self.tap_buf).unwrap() {
            out.push(f);
        }
        out
    }

    /// Starts a graceful shutdown (§6.8) and acknowledges its PING, as a peer does: returns
    /// what the connection wrote then (the final GOAWAY, and whatever it implies).
    pub fn shut_down_gracefully(&mut self) -> Vec<Frame> {
        self.conn.graceful_shutdown(self.now);
        let payload = self
            .output()
            .into_iter()
            .find_map(|f| match f {
                Frame::Ping(p) if !p.ack => Some(p.payload),
                _ => None,
            })
            .expect("a graceful shutdown PINGs");
        self.send(&[Frame::Ping(Ping { ack: true, payload })])
            .unwrap();
        self.output()
    }

    /// Asserts the connection answered with GOAWAY(code) and failed.
    pub fn expect_goaway(&mut self, code: ErrorCode) {
        let out = self.output();
        let g = out
            .iter()
            .find_map(|f| match f {
                Frame::GoAway(g) => Some(g),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no GOAWAY in {out:?}"));
        assert_eq!(g.code, code, "{g:?}");
        assert!(!g.debug_data.is_empty(), "GOAWAY should explain itself");
        assert_eq!(self.conn.error().map(|e| e.code), Some(code));
    }

    /// Asserts the stream was reset with `code` and the connection lives on.
    pub fn expect_rst(&mut self, id: u32, code: ErrorCode) {
        let out = self.output();
        assert!(
            out.iter().any(|f| matches!(f, Frame::RstStream(r) if r.stream_id == StreamId(id) && r.code == code)),
            "expected RST_STREAM({code:?}) on {id}, got {out:?}"
        );
        assert!(
            !out.iter().any(|f| matches!(f, Frame::GoAway(_))),
            "{out:?}"
        );
        assert!(self.conn.error().is_none());
    }

    /// Asserts that a GET on stream `id` still reaches the application (after a stream error:
    /// the connection lives on and HPACK stayed in sync).
    pub fn expect_next_request_decodes(&mut self, id: u32) {
        let h = self.get(id, true);
        self.send(&[h]).unwrap();
        assert!(self
            .events
            .iter()
            .any(|e| matches!(e, Event::Headers { stream, .. } if *stream == StreamId(id))));
    }

    /// Asserts nothing was written at all.
    pub fn expect_silence(&mut self) {
        let out = self.output();
        assert!(out.is_empty(), "expected no frames, got {out:?}");
        assert!(self.conn.error().is_none());
    }
}

pub fn data(id: u32, len: usize, end_stream: bool) -> Frame {
    Frame::Data(Data {
        stream_id: StreamId(id),
        data: Bytes::from(vec![b'd'; len]),
        end_stream,
        pad: None,
    })
}

pub fn window_update(id: u32, increment: u32) -> Frame {
    Frame::WindowUpdate(WindowUpdate {
        stream_id: StreamId(id),
        increment,
    })
}

pub fn rst(id: u32, code: ErrorCode) -> Frame {
    Frame::RstStream(RstStream {
        stream_id: StreamId(id),
        code,
    })
}

pub fn settings(values: &[(Setting, u32)]) -> Frame {
    let mut s = Settings::default();
    for (k, v) in values {
        s.set(*k, Some(*v));
    }
    Frame::Settings(s)
}

/// The head of a GET of http://a.test/, for a client connection to send.
pub fn get_head() -> http::request::Parts {
    http::Request::get("http://a.test/")
        .body(())
        .unwrap()
        .into_parts()
        .0
}

/// A 200 response head with no fields.
pub fn ok_response() -> http::response::Parts {
    http::Response::new(()).into_parts().0
}

/// The default configuration with a small stream window (the peers of these tests acknowledge
/// it), so that DATA beyond it is easy to send.
pub fn with_stream_window(window: u32) -> Config {
    Config {
        initial_stream_window: window,
        ..Config::default()
    }
}
