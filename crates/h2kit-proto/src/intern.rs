//! Header values kept for the life of the process, so that copies of them cost nothing.
//!
//! A response head copied from the connection's memo (see `connection::memo`) clones every
//! value: with ordinary `Bytes` that is an atomic increment now and an atomic decrement when
//! the copy is dropped, per value and per response — about a tenth of a client's work per
//! request when a server answers with the same head again and again. A value made of static
//! bytes is copied by copying a pointer. So the memo interns the values of the heads it keeps:
//! each distinct value is allocated once and never freed.
//!
//! What bounds it: at most `CAP` bytes in the whole process, then values are simply not
//! interned (the memo still works, with reference counts). Values that change with time
//! (`date`) would only fill it with dead entries and are never interned; nor are values that
//! may be secrets (never-indexed ones, cookies, credentials), which must not outlive their use.

use std::collections::HashSet;
use std::sync::Mutex;

use http::header::{self, HeaderName, HeaderValue};

/// All interned values together, in bytes.
const CAP: usize = 64 << 10;
/// A longer value is not worth keeping forever.
const MAX_VALUE: usize = 256;

struct Interned {
    values: HashSet<&'static [u8]>,
    bytes: usize,
}

static INTERNED: Mutex<Option<Interned>> = Mutex::new(None);

fn may_intern(name: &HeaderName, value: &HeaderValue) -> bool {
    value.len() <= MAX_VALUE
        && !value.is_sensitive()
        && *name != header::DATE
        && *name != header::SET_COOKIE
        && *name != header::COOKIE
        && *name != header::AUTHORIZATION
        && *name != header::PROXY_AUTHORIZATION
        && *name != header::WWW_AUTHENTICATE
        && *name != header::PROXY_AUTHENTICATE
}

/// The value as static bytes, if it may be and there is room.
pub(crate) fn intern(name: &HeaderName, value: &HeaderValue) -> Option<HeaderValue> {
    if !may_intern(name, value) {
        return None;
    }
    let mut g = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    let table = g.get_or_insert_with(|| Interned {
        values: HashSet::new(),
        bytes: 0,
    });
    let bytes = value.as_bytes();
    let kept: &'static [u8] = match table.values.get(bytes) {
        Some(k) => k,
        None if table.bytes + bytes.len() > CAP => return None,
        None => {
            // Leaked on purpose, within `CAP` for the whole process (see the module docs).
            let k: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
            table.values.insert(k);
            table.bytes += k.len();
            k
        }
    };
    drop(g);
    HeaderValue::from_maybe_shared(bytes::Bytes::from_static(kept)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    // One test: the table is process-wide, and the cap check fills it.
    #[test]
    fn interns_once_keeps_secrets_out_and_stops_at_the_cap() {
        let server = HeaderName::from_static("server");
        let a = intern(&server, &value("nghttpd")).unwrap();
        let b = intern(&server, &value("nghttpd")).unwrap();
        assert_eq!(a, "nghttpd");
        assert_eq!(
            a.as_bytes().as_ptr(),
            b.as_bytes().as_ptr(),
            "not deduplicated"
        );

        let mut secret = value("s3cr3t");
        secret.set_sensitive(true);
        assert!(intern(&server, &secret).is_none());
        for name in [header::SET_COOKIE, header::AUTHORIZATION, header::DATE] {
            assert!(intern(&name, &value("x")).is_none(), "{name}");
        }
        assert!(intern(&server, &value(&"x".repeat(MAX_VALUE + 1))).is_none());

        // Fill the table: past the cap nothing new is kept, known values still are.
        let mut i = 0;
        while intern(&server, &value(&format!("{i:0>200}"))).is_some() {
            i += 1;
            assert!(i <= CAP / 200, "more than the cap was kept");
        }
        assert!(i >= CAP / 200 - 2, "stopped early at {i}");
        assert!(intern(&server, &value("nghttpd")).is_some());
        let used = INTERNED.lock().unwrap().as_ref().unwrap().bytes;
        assert!(used <= CAP, "{used}");
    }
}
