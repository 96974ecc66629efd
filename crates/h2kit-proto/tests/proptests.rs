//! Property tests: arbitrary bytes never panic the frame parser or the HPACK decoder and never
//! make them allocate beyond a bound derived from their configured limits; arbitrary header
//! lists round-trip through our encoder and decoder.
//!
//! Allocation is measured with a counting global allocator whose counters are per thread, so
//! tests running in parallel do not see each other's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use h2kit_proto::frame::FrameDecoder;
use h2kit_proto::hpack::{huffman, Decoder, Encoder, FieldRef};
use proptest::prelude::*;

struct Counting;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    // `try_with`: during thread teardown the slots may be gone; then we simply stop counting.
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + delta;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// allocator contract is System's; the only addition is bookkeeping in const-initialised
// thread-local `Cell`s, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        track(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns the most memory it held allocated at once (beyond what was allocated
/// before it started).
fn peak_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = CURRENT.with(|c| c.get());
    PEAK.with(|p| p.set(start));
    let r = f();
    let peak = PEAK.with(|p| p.get());
    (r, (peak - start).max(0) as usize)
}

/// Frame headers with plausible lengths and types followed by random payload bytes, so that
/// the parser gets past the header checks often.
fn frame_like() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            0u8..12,
            any::<u8>(),
            0u32..8,
            prop::collection::vec(any::<u8>(), 0..40),
        ),
        0..20,
    )
    .prop_map(|frames| {
        let mut out = Vec::new();
        for (kind, flags, stream, payload) in frames {
            let len = payload.len() as u32;
            out.extend_from_slice(&len.to_be_bytes()[1..]);
            out.extend_from_slice(&[kind, flags]);
            out.extend_from_slice(&stream.to_be_bytes());
            out.extend_from_slice(&payload);
        }
        out
    })
}

fn parse_all(input: &[u8], max_frame_size: u32) -> usize {
    let mut buf = BytesMut::from(input);
    let mut dec = FrameDecoder::new();
    dec.set_max_frame_size(max_frame_size);
    let (frames, peak) = peak_allocation(|| {
        let mut frames = 0;
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(f)) => {
                    std::hint::black_box(f);
                    frames += 1;
                }
                Ok(None) => break,
                Err(e) if e.is_connection_error() => break,
                Err(_) => continue,
            }
        }
        frames
    });
    // The decoder may reserve room for one maximum-size frame; nothing else grows.
    let bound = max_frame_size as usize + 9 + 1024;
    assert!(
        peak <= bound,
        "frame parser held {peak} bytes (bound {bound})"
    );
    frames
}

fn decode_block(block: &[u8], list_limit: usize) {
    let block = Bytes::copy_from_slice(block);
    let mut dec = Decoder::new(4096);
    dec.set_max_header_list_size(list_limit);
    let (_, peak) = peak_allocation(|| {
        let _ = dec.decode(&block, |f| drop(std::hint::black_box(f)));
        drop(dec);
    });
    // Huffman scratch (8/5 of the block, at least 4 KiB) plus a 4 KiB table with its
    // per-entry overhead: bounded by the block size and the table limit, not by what the
    // block references.
    let bound = 2 * block.len() + 64 * 1024;
    assert!(
        peak <= bound,
        "HPACK decoder held {peak} bytes (bound {bound})"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn frame_parser_survives_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_all(&input, 16_384);
    }

    #[test]
    fn frame_parser_survives_frame_shaped_bytes(input in frame_like()) {
        parse_all(&input, 16_384);
    }

    #[test]
    fn hpack_decoder_survives_arbitrary_bytes(block in prop::collection::vec(any::<u8>(), 0..4096)) {
        decode_block(&block, 16 * 1024);
    }

    #[test]
    fn hpack_decoder_survives_reference_heavy_bytes(
        block in prop::collection::vec(prop_oneof![Just(0xbeu8), Just(0x40), Just(0x7f), any::<u8>()], 0..2048)
    ) {
        decode_block(&block, 16 * 1024);
    }

    #[test]
    fn huffman_round_trips(s in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut enc = BytesMut::new();
        huffman::encode(&s, &mut enc);
        prop_assert_eq!(enc.len(), huffman::encoded_len(&s));
        let mut dec = BytesMut::new();
        huffman::decode(&enc, &mut dec).unwrap();
        prop_assert_eq!(&dec[..], &s[..]);
    }
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(":path".to_string()),
        Just(":authority".to_string()),
        Just("user-agent".to_string()),
        Just("cookie".to_string()),
        Just("authorization".to_string()),
        Just("x-request-id".to_string()),
        "[a-z][a-z0-9-]{0,20}",
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"".to_vec()),
        Just(b"GET".to_vec()),
        "[ -~]{0,60}".prop_map(String::into_bytes),
        prop::collection::vec(prop_oneof![32u8..127, 128u8..=255, Just(b'\t')], 0..200),
    ]
}

type Block = Vec<(String, Vec<u8>, bool)>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn header_lists_round_trip(
        blocks in prop::collection::vec(
            (prop::collection::vec((header_name(), header_value(), any::<bool>()), 0..30),
             prop::option::of(prop_oneof![Just(0usize), Just(64), Just(256), Just(4096), 0usize..8192])),
            1..12),
        huffman in any::<bool>(),
    ) {
        let mut enc = Encoder::new();
        enc.set_huffman(huffman);
        let mut dec = Decoder::new(4096);
        for (fields, new_size) in blocks {
            let fields: Block = fields;
            if let Some(size) = new_size {
                // The peer's SETTINGS_HEADER_TABLE_SIZE changes (and is acknowledged).
                enc.set_peer_max_table_size(size);
                dec.set_max_table_size(size);
            }
            let mut wire = BytesMut::new();
            enc.encode(
                fields.iter().map(|(n, v, s)| FieldRef { name: n.as_bytes(), value: v, sensitive: *s }),
                &mut wire,
            );
            let got = dec.decode_vec(&wire.freeze()).unwrap();
            prop_assert_eq!(got.len(), fields.len());
            for (g, (n, v, s)) in got.iter().zip(&fields) {
                prop_assert_eq!(g.name(), n.as_bytes());
                prop_assert_eq!(g.value(), &v[..]);
                if *s && !n.starts_with(':') {
                    prop_assert!(g.is_sensitive(), "{} lost never-indexed", n);
                }
            }
            prop_assert_eq!(enc.table_usage(), dec.table_usage());
        }
    }
}
