//! Origins: the pool's keys, and how a request's origin is found without copying or
//! hashing its authority when it can be.

/// A pool key: scheme and authority as the URI wrote them (so `host` and `host:80` get
/// separate pools, which is harmless).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub tls: bool,
    authority: http::uri::Authority,
}

/// A request's origin, borrowed from its URI: finding its pool needs no copy of the
/// authority (a clone of its bytes and its drop were two atomic operations per request).
#[derive(Clone, Copy)]
pub(crate) struct OriginRef<'a> {
    pub tls: bool,
    pub authority: &'a http::uri::Authority,
}

impl OriginRef<'_> {
    pub(crate) fn owned(self) -> Origin {
        Origin::new(self.tls, self.authority.clone())
    }
}

impl Origin {
    pub(crate) fn new(tls: bool, authority: http::uri::Authority) -> Origin {
        Origin { tls, authority }
    }

    /// The same origin by identity: a clone of the same URI's authority shares its bytes,
    /// and the same address and length mean the same, immutable text (no hashing, no byte
    /// comparison). Different bytes may still be the same origin; the map finds those.
    pub(crate) fn same_as(&self, o: OriginRef<'_>) -> bool {
        let (a, b) = (self.authority.as_str(), o.authority.as_str());
        self.tls == o.tls && a.as_ptr() == b.as_ptr() && a.len() == b.len()
    }

    /// The host, without an IPv6 literal's brackets.
    pub(crate) fn host(&self) -> &str {
        let h = self.authority.host();
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(h)
    }

    pub(crate) fn port(&self) -> u16 {
        self.authority
            .port_u16()
            .unwrap_or(if self.tls { 443 } else { 80 })
    }
}

/// FNV-1a for the origin map. `Authority` hashes byte by byte (lowercased, to agree with its
/// case-insensitive equality), so with the default SipHash every request paid for about
/// seventeen hasher calls (700 instructions, measured with callgrind) just to find its pool.
/// The keys are the origins the application itself calls, so hash flooding is not a concern.
pub(crate) struct OriginHasher(u64);

impl Default for OriginHasher {
    fn default() -> Self {
        OriginHasher(0xcbf2_9ce4_8422_2325) // the FNV offset basis
    }
}

impl std::hash::Hasher for OriginHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
