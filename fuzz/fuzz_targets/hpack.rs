//! HPACK decoder: arbitrary blocks (split at 0xff 0xfe 0xfd markers into several blocks of one
//! connection) never panic; whatever decodes re-encodes with our encoder and decodes back to
//! the same fields.
#![no_main]

use bytes::{Bytes, BytesMut};
use h2kit_proto::hpack::{Decoder, Encoder, FieldRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, data)) = data.split_first() else {
        return;
    };
    let table = [0usize, 64, 256, 4096][(cfg & 3) as usize];
    let mut dec = Decoder::new(table);
    dec.set_max_header_list_size(if cfg & 4 != 0 { 1024 } else { 64 * 1024 });
    let mut enc = Encoder::new();
    let mut dec2 = Decoder::new(4096);
    let mut rest = data;
    while !rest.is_empty() {
        let end = rest
            .windows(3)
            .position(|w| w == [0xff, 0xfe, 0xfd])
            .unwrap_or(rest.len());
        let block = Bytes::copy_from_slice(&rest[..end]);
        rest = &rest[(end + 3).min(rest.len())..];
        let fields = match dec.decode_vec(&block) {
            Ok(f) => f,
            Err(e) if e.is_connection_error() => return,
            Err(_) => continue,
        };
        let mut wire = BytesMut::new();
        enc.encode(fields.iter().map(FieldRef::from), &mut wire);
        let back = dec2.decode_vec(&wire.freeze()).expect("our own block decodes");
        assert_eq!(back.len(), fields.len());
        for (a, b) in back.iter().zip(&fields) {
            assert_eq!((a.name(), a.value()), (b.name(), b.value()));
        }
    }
});
