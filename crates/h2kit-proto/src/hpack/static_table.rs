//! The static table (RFC 7541 Appendix A).

use std::sync::OnceLock;

use super::Field;

/// Entries 1..=61; `STATIC[i - 1]` is index `i`.
pub const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// The static entries as decoded fields, built once so that an indexed reference is a clone of
/// values that own no heap memory.
pub fn fields() -> &'static [Field; 61] {
    static FIELDS: OnceLock<[Field; 61]> = OnceLock::new();
    FIELDS.get_or_init(|| STATIC.map(|(n, v)| Field::from_static(n, v)))
}

/// Looks `name`/`value` up for the encoder: `(index of an exact match, index of a name match)`.
pub fn find(name: &[u8], value: &[u8]) -> (Option<usize>, Option<usize>) {
    // Entries sharing a name are adjacent; find the run by name, then scan its values.
    let (first, count) = match name {
        b":authority" => (1, 1),
        b":method" => (2, 2),
        b":path" => (4, 2),
        b":scheme" => (6, 2),
        b":status" => (8, 7),
        _ => match STATIC[14..].iter().position(|(n, _)| n.as_bytes() == name) {
            Some(p) => (15 + p, 1),
            None => return (None, None),
        },
    };
    let exact = (first..first + count).find(|&i| STATIC[i - 1].1.as_bytes() == value);
    (exact, Some(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_matches_table() {
        for (i, (n, v)) in STATIC.iter().enumerate() {
            let (exact, by_name) = find(n.as_bytes(), v.as_bytes());
            assert_eq!(exact, Some(i + 1), "{n}: {v}");
            assert_eq!(STATIC[by_name.unwrap() - 1].0, *n);
        }
        assert_eq!(find(b":status", b"201"), (None, Some(8)));
        assert_eq!(find(b"x-custom", b""), (None, None));
    }
}
