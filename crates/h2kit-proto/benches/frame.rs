//! Frame parse and serialize throughput over a realistic mix: request HEADERS, 1 KiB and 16 KiB
//! DATA, WINDOW_UPDATE, PING, SETTINGS, RST_STREAM. `cargo bench -p h2kit-proto --bench frame`.
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use h2kit_proto::frame::*;
use h2kit_proto::{ErrorCode, StreamId};

fn mix() -> Vec<Frame> {
    let block = Bytes::from_static(&[
        0x82, 0x86, 0x84, 0x41, 0x8a, 0x08, 0x9d, 0x5c, 0x0b, 0x81, 0x70, 0xdc, 0x78, 0x0f, 0x03,
    ]);
    let small = Bytes::from(vec![b'x'; 1024]);
    let big = Bytes::from(vec![b'y'; 16_384]);
    let mut frames = Vec::new();
    for i in 0..1000u32 {
        let id = StreamId(2 * i + 1);
        frames.push(Frame::Headers(Headers {
            stream_id: id,
            block: block.clone(),
            end_stream: i % 2 == 0,
            end_headers: true,
            priority: None,
            pad: None,
        }));
        frames.push(Frame::Data(Data {
            stream_id: id,
            data: if i % 10 == 0 {
                big.clone()
            } else {
                small.clone()
            },
            end_stream: true,
            pad: None,
        }));
        frames.push(Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId(0),
            increment: 65_535,
        }));
        if i % 50 == 0 {
            frames.push(Frame::Ping(Ping {
                ack: false,
                payload: i.to_be_bytes().repeat(2).try_into().unwrap(),
            }));
            frames.push(Frame::RstStream(RstStream {
                stream_id: id,
                code: ErrorCode::CANCEL,
            }));
            let mut s = Settings::default();
            s.set(Setting::MaxConcurrentStreams, Some(100));
            frames.push(Frame::Settings(s));
        }
    }
    frames
}

fn bench(c: &mut Criterion) {
    let frames = mix();
    let mut wire = BytesMut::new();
    for f in &frames {
        f.encode(&mut wire);
    }
    let wire = wire.freeze();

    let mut g = c.benchmark_group("frame-parse");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("frames", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut dec = FrameDecoder::new();
                let mut n = 0;
                while let Some(f) = dec.decode(&mut buf).unwrap() {
                    black_box(f);
                    n += 1;
                }
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("bytes", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut dec = FrameDecoder::new();
                while let Some(f) = dec.decode(&mut buf).unwrap() {
                    black_box(f);
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    // Serialization of the non-DATA frames only measures framing work; DATA payload copies are
    // memcpy and would dominate, so they get their own line.
    let control: Vec<Frame> = frames
        .iter()
        .filter(|f| !matches!(f, Frame::Data(_)))
        .cloned()
        .collect();
    let mut out = BytesMut::with_capacity(wire.len());
    let mut g = c.benchmark_group("frame-serialize");
    g.throughput(Throughput::Elements(control.len() as u64));
    g.bench_function("control-frames", |b| {
        b.iter(|| {
            out.clear();
            for f in &control {
                f.encode(&mut out);
            }
            black_box(out.len())
        })
    });
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("all-frames-bytes", |b| {
        b.iter(|| {
            out.clear();
            for f in &frames {
                f.encode(&mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
