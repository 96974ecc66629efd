//! hpack-test-case: every story encoded by every implementation decodes to exactly its header
//! list, in order, and every raw story encoded by us (with and without Huffman) decodes back.

mod common;
use common::stories;

use bytes::{Bytes, BytesMut};
use h2kit_proto::hpack::{Decoder, Encoder, FieldRef};

fn pairs(fields: &[h2kit_proto::hpack::Field]) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields
        .iter()
        .map(|f| (f.name().to_vec(), f.value().to_vec()))
        .collect()
}

#[test]
fn every_encoders_stories_decode() {
    let dirs = stories::encoder_dirs();
    assert!(
        dirs.len() >= 5,
        "expected the encoder directories, found {dirs:?}"
    );
    let mut cases = 0;
    for dir in dirs {
        let all = stories::load_dir(&dir);
        assert!(!all.is_empty(), "{dir} has no stories");
        for story in all {
            let mut dec = Decoder::default();
            for (i, case) in story.cases.iter().enumerate() {
                if let Some(size) = case.table_size {
                    dec.set_max_table_size(size);
                }
                let fields = dec
                    .decode_vec(&Bytes::from(case.wire.clone()))
                    .unwrap_or_else(|e| panic!("{} case {i}: {e}", story.path.display()));
                assert_eq!(
                    pairs(&fields),
                    case.headers,
                    "{} case {i}",
                    story.path.display()
                );
                cases += 1;
            }
        }
    }
    assert!(cases > 5000, "only {cases} cases decoded");
}

fn round_trip_raw(huffman: bool) {
    let mut fields_total = 0;
    for story in stories::load_dir("raw-data") {
        let mut enc = Encoder::new();
        enc.set_huffman(huffman);
        let mut dec = Decoder::default();
        for (i, case) in story.cases.iter().enumerate() {
            let mut wire = BytesMut::new();
            enc.encode(
                case.headers.iter().map(|(n, v)| FieldRef::new(n, v)),
                &mut wire,
            );
            let fields = dec.decode_vec(&wire.freeze()).unwrap();
            assert_eq!(
                pairs(&fields),
                case.headers,
                "{} case {i}",
                story.path.display()
            );
            // The tables of both ends must agree after every block.
            assert_eq!(enc.table_usage(), dec.table_usage());
            fields_total += fields.len();
        }
    }
    assert!(fields_total > 10_000);
}

#[test]
fn raw_data_round_trips_with_huffman() {
    round_trip_raw(true);
}

#[test]
fn raw_data_round_trips_without_huffman() {
    round_trip_raw(false);
}
