//! RFC 7541 Appendix C.2–C.6, byte-exact in both directions. The vectors in
//! `data/rfc7541-appendix-c.json` are extracted from the RFC text by
//! `scripts/gen_rfc7541_examples.py`.

use bytes::{Bytes, BytesMut};
use h2kit_proto::hpack::{Decoder, Encoder, FieldRef};
use serde_json::Value;

struct Example {
    section: String,
    headers: Vec<(String, String)>,
    wire: Vec<u8>,
    table_size: usize,
    table_entries: usize,
}

fn examples() -> Vec<Example> {
    let text = include_str!("data/rfc7541-appendix-c.json");
    let v: Value = serde_json::from_str(text).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| Example {
            section: e["section"].as_str().unwrap().to_string(),
            headers: e["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_string(),
                        h[1].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
            wire: hex::decode(e["wire"].as_str().unwrap()).unwrap(),
            table_size: e["table_size"].as_u64().unwrap_or(0) as usize,
            table_entries: e["table_entries"].as_u64().unwrap() as usize,
        })
        .collect()
}

/// Examples of one group (C.3, C.4, ...) share a compression context; each C.2 example stands
/// alone. C.5 and C.6 use a 256-byte table.
fn groups() -> Vec<(String, Vec<Example>)> {
    let mut out: Vec<(String, Vec<Example>)> = Vec::new();
    for e in examples() {
        let group = if e.section.starts_with("C.2") {
            e.section.clone()
        } else {
            e.section[..3].to_string()
        };
        match out.last_mut() {
            Some((g, v)) if *g == group => v.push(e),
            _ => out.push((group, vec![e])),
        }
    }
    out
}

fn table_size_for(group: &str) -> usize {
    if group.starts_with("C.5") || group.starts_with("C.6") {
        256
    } else {
        4096
    }
}

#[test]
fn appendix_c_has_every_example() {
    let sections: Vec<String> = examples().into_iter().map(|e| e.section).collect();
    assert_eq!(sections.len(), 16, "{sections:?}");
    for s in ["C.2.1", "C.2.4", "C.3.3", "C.4.3", "C.5.3", "C.6.3"] {
        assert!(sections.iter().any(|x| x == s), "{s} missing");
    }
}

#[test]
fn appendix_c_decode() {
    for (group, exs) in groups() {
        let mut dec = Decoder::new(table_size_for(&group));
        for e in exs {
            let fields = dec.decode_vec(&Bytes::from(e.wire.clone())).unwrap();
            let got: Vec<(String, String)> = fields
                .iter()
                .map(|f| {
                    (
                        String::from_utf8(f.name().to_vec()).unwrap(),
                        String::from_utf8(f.value().to_vec()).unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, e.headers, "{}", e.section);
            assert_eq!(
                dec.table_usage(),
                (e.table_size, e.table_entries),
                "{} table after decoding",
                e.section
            );
            if e.section == "C.2.3" {
                assert!(
                    fields[0].is_sensitive(),
                    "never-indexed field must stay sensitive"
                );
            }
        }
    }
}

#[test]
fn appendix_c_encode() {
    for (group, exs) in groups() {
        let size = table_size_for(&group);
        // C.2.2 shows a literal without indexing; our encoder picks that representation for a
        // field that cannot go in the table, which a zero-size table guarantees.
        let mut enc = if group == "C.2.2" {
            Encoder::with_table_size(0)
        } else {
            Encoder::with_table_size(size)
        };
        enc.set_huffman(group.starts_with("C.4") || group.starts_with("C.6"));
        for e in exs {
            let fields: Vec<FieldRef> = e
                .headers
                .iter()
                .map(|(n, v)| FieldRef {
                    name: n.as_bytes(),
                    value: v.as_bytes(),
                    // C.2.3 is the never-indexed example.
                    sensitive: e.section == "C.2.3",
                })
                .collect();
            let mut out = BytesMut::new();
            enc.encode(fields, &mut out);
            assert_eq!(hex::encode(&out), hex::encode(&e.wire), "{}", e.section);
            assert_eq!(
                enc.table_usage(),
                (e.table_size, e.table_entries),
                "{}",
                e.section
            );
        }
    }
}
