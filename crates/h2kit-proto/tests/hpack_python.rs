//! Our encoder's output for every raw-data story, with and without Huffman coding, decoded by
//! an independent implementation: Python's `hpack` package (`tests/python/hpack_decode_check.py`).
//! A missing `python3` or `hpack` fails the test: CI installs them.

mod common;
use common::stories;

use std::path::Path;
use std::process::Command;

use bytes::BytesMut;
use h2kit_proto::hpack::{Encoder, FieldRef};
use serde_json::json;

fn check_with_python(huffman: bool) {
    let mut out = Vec::new();
    for story in stories::load_dir("raw-data") {
        let mut enc = Encoder::new();
        enc.set_huffman(huffman);
        let mut cases = Vec::new();
        for case in &story.cases {
            let mut wire = BytesMut::new();
            enc.encode(
                case.headers.iter().map(|(n, v)| FieldRef::new(n, v)),
                &mut wire,
            );
            let headers: Vec<_> = case
                .headers
                .iter()
                .map(|(n, v)| json!([hex::encode(n), hex::encode(v)]))
                .collect();
            cases.push(json!({"wire": hex::encode(&wire), "headers": headers}));
        }
        out.push(json!({"name": story.path.display().to_string(), "cases": cases}));
    }
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hpack-python-{huffman}.json"));
    std::fs::write(&file, serde_json::to_vec(&out).unwrap()).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/hpack_decode_check.py");
    let res = Command::new("python3")
        .arg(&script)
        .arg(&file)
        .output()
        .expect("python3 must be installed (CI installs it; a missing peer is a failure)");
    let stdout = String::from_utf8_lossy(&res.stdout);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        res.status.success(),
        "python hpack check failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("0 mismatches") && stdout.contains("32 stories"),
        "{stdout}"
    );
    eprintln!("{stdout}");
}

#[test]
fn python_hpack_decodes_our_huffman_blocks() {
    check_with_python(true);
}

#[test]
fn python_hpack_decodes_our_raw_blocks() {
    check_with_python(false);
}
