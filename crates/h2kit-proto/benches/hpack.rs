//! HPACK throughput over every hpack-test-case story, with the `hpack` and `loona-hpack` crates
//! decoding the same blocks in the same run.
//!
//! `cargo bench -p h2kit-proto --bench hpack`. Groups report MB/s of wire bytes; the
//! `*-fields` groups report header fields per second (the corpus totals are printed first, so
//! fields/s of every decoder follow from its time). Each story is decoded with a fresh
//! decoder, as a new connection would.
//!
//! The other crates are measured with both of their APIs: `decode` (owned `Vec<u8>` pairs, the
//! closest to our owned `http` types) and `decode_with_cb` (borrowed, their fastest).
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

#[path = "../tests/common/stories.rs"]
mod stories;

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use h2kit_proto::hpack::{Decoder, Encoder, FieldRef};

struct Block {
    table_size: Option<usize>,
    wire: Bytes,
}

/// Every story of every encoder directory, as blocks.
fn encoded_stories() -> (Vec<Vec<Block>>, u64, u64) {
    let mut out = Vec::new();
    let (mut bytes, mut fields) = (0u64, 0u64);
    for dir in stories::encoder_dirs() {
        for story in stories::load_dir(&dir) {
            let blocks: Vec<Block> = story
                .cases
                .iter()
                .map(|c| {
                    bytes += c.wire.len() as u64;
                    fields += c.headers.len() as u64;
                    Block {
                        table_size: c.table_size,
                        wire: Bytes::from(c.wire.clone()),
                    }
                })
                .collect();
            out.push(blocks);
        }
    }
    (out, bytes, fields)
}

fn decode_h2kit(all: &[Vec<Block>]) -> usize {
    let mut n = 0;
    for story in all {
        let mut dec = Decoder::default();
        for b in story {
            if let Some(s) = b.table_size {
                dec.set_max_table_size(s);
            }
            dec.decode(&b.wire, |f| {
                black_box(f);
                n += 1;
            })
            .unwrap();
        }
    }
    n
}

macro_rules! other_decoder {
    ($krate:ident, $owned:ident, $cb:ident) => {
        fn $owned(all: &[Vec<Block>]) -> usize {
            let mut n = 0;
            for story in all {
                let mut dec = $krate::Decoder::new();
                for b in story {
                    if let Some(s) = b.table_size {
                        dec.set_max_table_size(s);
                    }
                    let fields = dec.decode(&b.wire).unwrap();
                    n += fields.len();
                    black_box(fields);
                }
            }
            n
        }

        fn $cb(all: &[Vec<Block>]) -> usize {
            let mut n = 0;
            for story in all {
                let mut dec = $krate::Decoder::new();
                for b in story {
                    if let Some(s) = b.table_size {
                        dec.set_max_table_size(s);
                    }
                    dec.decode_with_cb(&b.wire, |k, v| {
                        black_box((k, v));
                        n += 1;
                    })
                    .unwrap();
                }
            }
            n
        }
    };
}

other_decoder!(hpack, decode_hpack, decode_hpack_cb);
other_decoder!(loona_hpack, decode_loona, decode_loona_cb);

type DecodeFn = fn(&[Vec<Block>]) -> usize;

const DECODERS: [(&str, DecodeFn); 5] = [
    ("h2kit", decode_h2kit),
    ("hpack-0.3 decode", decode_hpack),
    ("hpack-0.3 decode_with_cb", decode_hpack_cb),
    ("loona-hpack-0.4 decode", decode_loona),
    ("loona-hpack-0.4 decode_with_cb", decode_loona_cb),
];

fn bench_decode(c: &mut Criterion) {
    let (all, bytes, fields) = encoded_stories();
    // Every decoder must produce the same number of fields, or the comparison is void.
    for (name, f) in DECODERS {
        assert_eq!(
            f(&all) as u64,
            fields,
            "{name} decoded a different field count"
        );
    }
    eprintln!("hpack-test-case corpus: {bytes} wire bytes, {fields} header fields");
    let mut g = c.benchmark_group("hpack-decode");
    g.throughput(Throughput::Bytes(bytes));
    // The other crates take seconds per pass: flat sampling keeps the run short.
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    for (name, f) in DECODERS {
        g.bench_function(name, |b| b.iter(|| f(black_box(&all))));
    }
    g.finish();
    let mut g = c.benchmark_group("hpack-decode-fields");
    g.throughput(Throughput::Elements(fields));
    g.bench_function("h2kit", |b| b.iter(|| decode_h2kit(black_box(&all))));
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let raw = stories::load_dir("raw-data");
    let fields: u64 = raw
        .iter()
        .map(|s| s.cases.iter().map(|c| c.headers.len() as u64).sum::<u64>())
        .sum();
    let encode_all = |huffman: bool, out: &mut BytesMut| {
        out.clear();
        for story in &raw {
            let mut enc = Encoder::new();
            enc.set_huffman(huffman);
            for case in &story.cases {
                enc.encode(case.headers.iter().map(|(n, v)| FieldRef::new(n, v)), out);
            }
        }
        out.len()
    };
    let mut out = BytesMut::with_capacity(1 << 20);
    for (huffman, label) in [(true, "huffman"), (false, "raw")] {
        let wire = encode_all(huffman, &mut out) as u64;
        for (group, tp) in [
            ("hpack-encode", Throughput::Bytes(wire)),
            ("hpack-encode-fields", Throughput::Elements(fields)),
        ] {
            let mut g = c.benchmark_group(group);
            g.throughput(tp);
            g.bench_function(format!("h2kit {label}"), |b| {
                b.iter(|| encode_all(huffman, black_box(&mut out)))
            });
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench_decode, bench_encode
}
criterion_main!(benches);
