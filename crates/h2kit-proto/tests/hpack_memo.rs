//! `Encoder::encode_repeatable` copies the bytes of the last list whose encoding changed
//! nothing. It must be invisible: byte for byte what `encode` produces in the same state.

use bytes::BytesMut;
use h2kit_proto::hpack::{Decoder, Encoder, FieldRef};
use proptest::prelude::*;

/// What one step of a sequence does to both encoders.
#[derive(Clone, Debug)]
enum Step {
    /// Encode list `i` of the pool.
    List(usize),
    /// The peer changes SETTINGS_HEADER_TABLE_SIZE.
    TableSize(usize),
    Huffman(bool),
}

type List = Vec<(String, String, bool)>;

fn list() -> impl Strategy<Value = List> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                ":method",
                ":path",
                ":authority",
                "x-a",
                "cookie",
                "authorization",
            ]),
            (0usize..3, 0usize..300),
            any::<bool>(),
        )
            .prop_map(|(n, (v, len), sensitive)| {
                (n.to_string(), format!("{v}").repeat(len), sensitive)
            }),
        0..5,
    )
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0usize..4).prop_map(Step::List),
        1 => prop::sample::select(vec![0usize, 100, 1000, 4096]).prop_map(Step::TableSize),
        1 => any::<bool>().prop_map(Step::Huffman),
    ]
}

fn refs(l: &List) -> impl Iterator<Item = FieldRef<'_>> {
    l.iter().map(|(n, v, s)| FieldRef {
        name: n.as_bytes(),
        value: v.as_bytes(),
        sensitive: *s,
    })
}

proptest! {
    #[test]
    fn repeatable_encoding_is_byte_identical_to_encoding(
        pool in prop::collection::vec(list(), 4),
        steps in prop::collection::vec(step(), 1..80),
    ) {
        let (mut plain, mut memo) = (Encoder::new(), Encoder::new());
        let mut decoder = Decoder::new(4096);
        for s in steps {
            match s {
                Step::List(i) => {
                    let l = &pool[i];
                    let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
                    plain.encode(refs(l), &mut a);
                    memo.encode_repeatable(|| refs(l), &mut b);
                    prop_assert_eq!(&a[..], &b[..]);
                    // And the bytes mean the list.
                    let got = decoder.decode_vec(&b.freeze()).unwrap();
                    prop_assert_eq!(got.len(), l.len());
                    for (f, (n, v, _)) in got.iter().zip(l) {
                        prop_assert_eq!(f.name(), n.as_bytes());
                        prop_assert_eq!(f.value(), v.as_bytes());
                    }
                }
                Step::TableSize(n) => {
                    plain.set_peer_max_table_size(n);
                    memo.set_peer_max_table_size(n);
                }
                Step::Huffman(on) => {
                    plain.set_huffman(on);
                    memo.set_huffman(on);
                }
            }
        }
    }
}

#[test]
fn a_repeated_list_is_copied_and_a_table_change_re_encodes_it() {
    let mut enc = Encoder::new();
    let a = [
        FieldRef::new(b":method", b"GET"),
        FieldRef::new(b":authority", b"a.test"),
    ];
    let mut blocks = Vec::new();
    for _ in 0..3 {
        let mut b = BytesMut::new();
        enc.encode_repeatable(|| a.iter().copied(), &mut b);
        blocks.push(b);
    }
    // First: :authority added to the table; then indexed (62) twice, the second a copy.
    assert_ne!(blocks[0], blocks[1]);
    assert_eq!(&blocks[1][..], &[0x82, 0xbe]);
    assert_eq!(blocks[1], blocks[2]);
    // A new entry moves :authority to index 63: the same list now encodes differently.
    let mut b = BytesMut::new();
    enc.encode_repeatable(|| [FieldRef::new(b"x-new", b"1")].into_iter(), &mut b);
    let mut b = BytesMut::new();
    enc.encode_repeatable(|| a.iter().copied(), &mut b);
    assert_eq!(&b[..], &[0x82, 0xbf]);
}
