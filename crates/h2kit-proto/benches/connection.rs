//! Two in-memory `Connection`s exchanging small requests and responses: the protocol work of
//! one request/response pair on one core (frame coding, HPACK, stream state, flow control,
//! events), with no I/O. `cargo bench -p h2kit-proto --bench connection`.
//!
//! Each iteration: the client opens `BATCH` streams with a GET (HEADERS + END_STREAM), the
//! server answers each with `200` + a 13-byte body (HEADERS, DATA + END_STREAM), and the
//! client consumes the responses — the pattern of `h2load -m100`.
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use h2kit_proto::{Config, Connection, Event, Head};

const BATCH: usize = 100;

struct Bench {
    client: Connection,
    server: Connection,
    to_server: BytesMut,
    to_client: BytesMut,
    now: Instant,
    req: http::request::Parts,
    res: http::response::Parts,
    body: Bytes,
    ids: Vec<h2kit_proto::StreamId>,
}

fn pump(from: &mut Connection, to: &mut Connection, buf: &mut BytesMut, now: Instant) {
    while let Some(b) = from.poll_transmit() {
        buf.extend_from_slice(&b);
    }
    to.recv(buf, now).unwrap();
}

impl Bench {
    fn new() -> Bench {
        let now = Instant::now();
        let mut b = Bench {
            client: Connection::client(Config::default(), now),
            server: Connection::server(Config::default(), now),
            to_server: BytesMut::with_capacity(1 << 16),
            to_client: BytesMut::with_capacity(1 << 16),
            now,
            req: http::Request::get("http://127.0.0.1:8080/")
                .header("user-agent", "h2kit-bench")
                .body(())
                .unwrap()
                .into_parts()
                .0,
            res: http::Response::builder()
                .header("content-type", "text/plain")
                .body(())
                .unwrap()
                .into_parts()
                .0,
            body: Bytes::from_static(b"hello, world!"),
            ids: Vec::with_capacity(BATCH),
        };
        for _ in 0..3 {
            pump(&mut b.client, &mut b.server, &mut b.to_server, now);
            pump(&mut b.server, &mut b.client, &mut b.to_client, now);
        }
        while b.client.poll_event().is_some() {}
        while b.server.poll_event().is_some() {}
        b
    }

    /// One batch of request/response pairs; returns the pairs completed.
    fn round(&mut self) -> usize {
        for _ in 0..BATCH {
            self.client.send_request(&self.req, true).unwrap();
        }
        pump(
            &mut self.client,
            &mut self.server,
            &mut self.to_server,
            self.now,
        );
        self.ids.clear();
        while let Some(e) = self.server.poll_event() {
            if let Event::Headers {
                stream,
                head: Head::Request(r),
                ..
            } = e
            {
                black_box(r);
                self.ids.push(stream);
            }
        }
        for &id in &self.ids {
            self.server.send_response(id, &self.res, false).unwrap();
            self.server.send_data(id, self.body.clone(), true).unwrap();
        }
        pump(
            &mut self.server,
            &mut self.client,
            &mut self.to_client,
            self.now,
        );
        let mut done = 0;
        while let Some(e) = self.client.poll_event() {
            match e {
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    self.client.release_capacity(stream, data.len());
                    done += end_stream as usize;
                }
                Event::Headers { head, .. } => {
                    black_box(head);
                }
                _ => {}
            }
        }
        // Window updates go back to the server.
        pump(
            &mut self.client,
            &mut self.server,
            &mut self.to_server,
            self.now,
        );
        while self.server.poll_event().is_some() {}
        done
    }
}

fn bench(c: &mut Criterion) {
    let mut b = Bench::new();
    assert_eq!(b.round(), BATCH);
    let mut g = c.benchmark_group("connection");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("request-response-pairs", |bench| {
        bench.iter(|| {
            // A fresh connection before stream ids run out (2^30 client streams).
            let n = b.round();
            assert_eq!(n, BATCH);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
