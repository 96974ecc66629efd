//! HPACK rules beyond the example vectors: size updates, never-indexed literals, the decoded
//! header list limit and error classification. Each test names its section.

use bytes::{BufMut, Bytes, BytesMut};
use h2kit_proto::hpack::{integer, DecodeError, Decoder, Encoder, Field, FieldRef, Pseudo};
use h2kit_proto::{ErrorCode, StreamId};

fn encode(enc: &mut Encoder, fields: &[(&str, &str)]) -> Bytes {
    let mut out = BytesMut::new();
    enc.encode(
        fields
            .iter()
            .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes())),
        &mut out,
    );
    out.freeze()
}

/// A literal-with-incremental-indexing field with a literal name, no Huffman (§6.2.1).
fn literal_indexed(name: &[u8], value: &[u8], out: &mut BytesMut) {
    out.put_u8(0x40);
    integer::encode(name.len(), 7, 0, out);
    out.put_slice(name);
    integer::encode(value.len(), 7, 0, out);
    out.put_slice(value);
}

#[test]
fn rfc7541_4_2_size_update_after_a_field_is_an_error() {
    let mut dec = Decoder::default();
    // :method GET, then a size update to 0.
    let err = dec
        .decode_vec(&Bytes::from_static(&[0x82, 0x20]))
        .unwrap_err();
    assert_eq!(err, DecodeError::SizeUpdateNotAtStart);
    assert_eq!(err.to_error(StreamId(1)).code, ErrorCode::COMPRESSION_ERROR);
    assert!(err.to_error(StreamId(1)).is_connection_error());
}

#[test]
fn rfc7541_4_2_size_update_above_settings_is_an_error() {
    let mut dec = Decoder::new(4096);
    let mut b = BytesMut::new();
    integer::encode(4097, 5, 0x20, &mut b);
    let err = dec.decode_vec(&b.freeze()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::SizeUpdateTooLarge {
            value: 4097,
            max: 4096
        }
    );
}

#[test]
fn rfc7541_4_2_two_size_updates_at_start_are_accepted() {
    let mut dec = Decoder::new(4096);
    // Update to 0, then to 4096, then :method GET.
    let mut b = BytesMut::new();
    integer::encode(0, 5, 0x20, &mut b);
    integer::encode(4096, 5, 0x20, &mut b);
    b.put_u8(0x82);
    let fields = dec.decode_vec(&b.freeze()).unwrap();
    assert_eq!(
        fields,
        vec![Field::Pseudo(Pseudo::Method, Bytes::from_static(b"GET"))]
    );
}

#[test]
fn rfc7541_4_2_lowered_setting_requires_an_update() {
    let mut enc = Encoder::new();
    let mut dec = Decoder::new(4096);
    let first = encode(&mut enc, &[("x-a", "1")]);
    dec.decode_vec(&first).unwrap();
    // We lower our SETTINGS_HEADER_TABLE_SIZE and the peer ACKs; a block that does not start
    // with an update honouring it is a COMPRESSION_ERROR.
    dec.set_max_table_size(100);
    let err = dec.decode_vec(&Bytes::from_static(&[0x82])).unwrap_err();
    assert_eq!(err, DecodeError::MissingSizeUpdate);
    // An encoder told of the change emits the update and the decoder accepts it.
    let mut dec = Decoder::new(4096);
    dec.decode_vec(&first).unwrap();
    dec.set_max_table_size(100);
    enc.set_peer_max_table_size(100);
    let next = encode(&mut enc, &[("x-b", "2")]);
    assert_eq!(next[0] & 0xe0, 0x20, "block must start with a size update");
    dec.decode_vec(&next).unwrap();
    assert_eq!(enc.table_usage(), dec.table_usage());
}

#[test]
fn rfc7541_4_2_lower_then_raise_signals_the_low_point() {
    let mut enc = Encoder::new();
    let mut dec = Decoder::new(4096);
    dec.decode_vec(&encode(&mut enc, &[("x-a", "1"), ("x-b", "2")]))
        .unwrap();
    assert_eq!(dec.table_usage().1, 2);
    // Between two blocks the peer lowers SETTINGS_HEADER_TABLE_SIZE to 0 and raises it back.
    enc.set_peer_max_table_size(0);
    dec.set_max_table_size(0);
    enc.set_peer_max_table_size(4096);
    dec.set_max_table_size(4096);
    let block = encode(&mut enc, &[("x-a", "1")]);
    // Two updates: 0 (the minimum, evicting everything) then 4096 (the final size).
    assert_eq!(&block[..3], &[0x20, 0x3f, 0xe1], "{block:02x?}");
    let fields = dec.decode_vec(&block).unwrap();
    assert_eq!(fields.len(), 1);
    // x-a was evicted by the update to 0, so it was sent as a literal and re-added.
    assert_eq!(dec.table_usage(), (3 + 1 + 32, 1));
    assert_eq!(enc.table_usage(), dec.table_usage());
}

#[test]
fn rfc7541_4_2_unchanged_setting_sends_no_update() {
    let mut enc = Encoder::new();
    enc.set_peer_max_table_size(4096);
    let block = encode(&mut enc, &[(":method", "GET")]);
    assert_eq!(&block[..], &[0x82]);
    // Raising above what we use (4096) changes nothing either.
    enc.set_peer_max_table_size(65536);
    assert_eq!(&encode(&mut enc, &[(":method", "GET")])[..], &[0x82]);
}

/// The representation of the first field: 0x10 never indexed, 0x40 incremental, 0x00 without.
fn first_representation(block: &[u8]) -> u8 {
    if block[0] & 0x80 != 0 {
        0x80
    } else if block[0] & 0x40 != 0 {
        0x40
    } else {
        block[0] & 0xf0
    }
}

#[test]
fn rfc7541_7_1_3_sensitive_fields_are_never_indexed() {
    for (name, value) in [
        (
            "authorization",
            "Bearer abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        ("proxy-authorization", "Basic dXNlcjpwYXNz"),
        ("cookie", "sid=1234567"),
    ] {
        let mut enc = Encoder::new();
        let block = encode(&mut enc, &[(name, value)]);
        assert_eq!(first_representation(&block), 0x10, "{name}");
        assert_eq!(enc.table_usage(), (0, 0), "{name} must not enter the table");
        // Sending it again still does not use the table.
        let again = encode(&mut enc, &[(name, value)]);
        assert_eq!(first_representation(&again), 0x10);
        let fields = Decoder::default().decode_vec(&block).unwrap();
        assert!(fields[0].is_sensitive(), "{name} decodes as never-indexed");
    }
    // A long cookie is indexed: guessing 20+ bytes is not practical.
    let mut enc = Encoder::new();
    let block = encode(&mut enc, &[("cookie", "session=0123456789abcdefghij")]);
    assert_eq!(first_representation(&block), 0x40);
}

#[test]
fn rfc7541_6_2_3_never_indexed_field_is_reencoded_never_indexed() {
    // A peer sends x-secret as never-indexed; a proxy decodes and re-encodes it.
    let block = {
        let mut b = BytesMut::new();
        b.put_u8(0x10);
        integer::encode(8, 7, 0, &mut b);
        b.put_slice(b"x-secret");
        integer::encode(6, 7, 0, &mut b);
        b.put_slice(b"hunter");
        b.freeze()
    };
    let fields = Decoder::default().decode_vec(&block).unwrap();
    assert!(fields[0].is_sensitive());
    let mut enc = Encoder::new();
    let mut out = BytesMut::new();
    enc.encode(fields.iter().map(FieldRef::from), &mut out);
    assert_eq!(first_representation(&out), 0x10);
    assert_eq!(enc.table_usage(), (0, 0));
    // The same through the http types.
    let (name, value) = match &fields[0] {
        Field::Header(n, v) => (n.clone(), v.clone()),
        f => panic!("unexpected {f:?}"),
    };
    let mut out = BytesMut::new();
    enc.encode([FieldRef::header(&name, &value)], &mut out);
    assert_eq!(first_representation(&out), 0x10);
}

#[test]
fn rfc9113_6_5_2_hpack_bomb_stops_at_the_header_list_limit() {
    let mut dec = Decoder::new(4096);
    dec.set_max_header_list_size(64 * 1024);
    // Block 1 inserts one ~4 KiB entry.
    let mut b = BytesMut::new();
    literal_indexed(b"x-bomb", &[b'a'; 4000], &mut b);
    dec.decode_vec(&b.freeze()).unwrap();
    // Block 2: 4 KiB of references to it (index 62 = 0xbe), i.e. 16 MiB if expanded.
    let block = Bytes::from(vec![0xbe; 4096]);
    let mut emitted = 0usize;
    let err = dec.decode(&block, |_| emitted += 1).unwrap_err();
    assert_eq!(err, DecodeError::HeaderListTooLarge { limit: 64 * 1024 });
    // (4000 + 6 + 32) bytes each: 16 fit in 64 KiB; nothing past the limit is built.
    assert_eq!(emitted, 16);
    // The compression state is intact: a stream error, and the next block decodes.
    let e = err.to_error(StreamId(3));
    assert!(!e.is_connection_error());
    assert_eq!(
        dec.decode_vec(&Bytes::from_static(&[0xbe])).unwrap().len(),
        1
    );
}

#[test]
fn rfc9113_6_5_2_over_limit_literals_still_update_the_table() {
    let mut dec = Decoder::new(4096);
    dec.set_max_header_list_size(100);
    let mut b = BytesMut::new();
    literal_indexed(b"x-one", &[b'1'; 80], &mut b);
    literal_indexed(b"x-two", b"2", &mut b);
    assert!(matches!(
        dec.decode_vec(&b.freeze()),
        Err(DecodeError::HeaderListTooLarge { .. })
    ));
    // Both entries were inserted even though the list was over the limit, as the peer's
    // encoder assumes: index 62 is x-two.
    dec.set_max_header_list_size(usize::MAX);
    let f = dec.decode_vec(&Bytes::from_static(&[0xbe])).unwrap();
    assert_eq!(f[0].name(), b"x-two");
}

#[test]
fn rfc7541_2_3_3_bad_indices_are_compression_errors() {
    for block in [&[0x80][..], &[0xbe][..], &[0xff, 0x00][..]] {
        let err = Decoder::default()
            .decode_vec(&Bytes::copy_from_slice(block))
            .unwrap_err();
        assert!(
            matches!(err, DecodeError::InvalidIndex(_)),
            "{block:02x?}: {err:?}"
        );
        let e = err.to_error(StreamId(1));
        assert_eq!(
            (e.code, e.is_connection_error()),
            (ErrorCode::COMPRESSION_ERROR, true)
        );
    }
}

#[test]
fn rfc7541_5_2_huffman_errors_are_compression_errors() {
    // Literal without indexing, name index 1 (:authority), Huffman value 0xff (8 bits padding).
    let err = Decoder::default()
        .decode_vec(&Bytes::from_static(&[0x01, 0x81, 0xff]))
        .unwrap_err();
    assert!(matches!(err, DecodeError::Huffman(_)), "{err:?}");
    assert!(err.is_connection_error());
}

#[test]
fn truncated_blocks_are_compression_errors() {
    for block in [
        &[0x40, 0x05, b'a'][..],
        &[0x01, 0x85, 0xff][..],
        &[0xff][..],
    ] {
        let err = Decoder::default()
            .decode_vec(&Bytes::copy_from_slice(block))
            .unwrap_err();
        assert_eq!(err, DecodeError::Truncated, "{block:02x?}");
    }
}

#[test]
fn rfc9113_8_2_1_malformed_fields_decode_as_invalid_without_breaking_state() {
    let mut dec = Decoder::default();
    let mut b = BytesMut::new();
    literal_indexed(b"X-Upper", b"v", &mut b);
    literal_indexed(b":bogus", b"v", &mut b);
    literal_indexed(b"x-crlf", b"a\r\nb", &mut b);
    let fields = dec.decode_vec(&b.freeze()).unwrap();
    assert!(
        fields.iter().all(|f| matches!(f, Field::Invalid { .. })),
        "{fields:?}"
    );
    // They were indexed, so later references still resolve.
    assert_eq!(dec.table_usage().1, 3);
}

#[test]
fn regular_fields_come_out_as_http_types_without_copying() {
    let mut b = BytesMut::new();
    b.put_u8(0x0f);
    b.put_u8(28 - 15); // literal without indexing, name index 28 (content-length)
    b.put_u8(4);
    b.put_slice(b"1234");
    let block = b.freeze();
    let range = block.as_ptr() as usize..block.as_ptr() as usize + block.len();
    let fields = Decoder::default().decode_vec(&block).unwrap();
    match &fields[0] {
        Field::Header(n, v) => {
            assert_eq!(n, http::header::CONTENT_LENGTH);
            assert_eq!(v, "1234");
            assert!(
                range.contains(&(v.as_bytes().as_ptr() as usize)),
                "value was copied"
            );
        }
        f => panic!("unexpected {f:?}"),
    }
}
