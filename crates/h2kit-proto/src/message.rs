//! HTTP message rules of RFC 9113 §8.1–§8.3: turning a decoded field section into an
//! `http::Request`, `http::Response` or trailer `HeaderMap`, and rejecting malformed ones.
//!
//! Fields arrive one by one from the HPACK decoder. A violation is recorded and the remaining
//! fields are still consumed, because the field block must be decoded to its end to keep the
//! compression state in sync (§4.3); the caller then answers with a stream error.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Response, StatusCode, Uri};

use crate::hpack::{Field, Pseudo};

/// A decoded and validated header section.
#[derive(Debug)]
pub enum Head {
    /// A request. The `:protocol` of an extended CONNECT (RFC 8441) is in the extensions as
    /// [`Protocol`]. Boxed: a request head is twice a response's size, and every event of the
    /// connection (DATA too) would be sized for it and copied that large through the queue.
    Request(Box<Request<()>>),
    /// A response; informational (1xx) responses come before the final one.
    Response(Response<()>),
    /// Trailers: the header section after a body.
    Trailers(HeaderMap),
}

impl Head {
    /// A response's head without its header fields (see `Config::keep_response_headers`);
    /// any other head unchanged.
    pub(crate) fn without_response_fields(self) -> Head {
        match self {
            Head::Response(r) if !r.headers().is_empty() => Head::Response(status_only(&r)),
            other => other,
        }
    }

    /// A copy of a head as [`HeadBuilder::finish`] made it (`Request` and `Response` are not
    /// `Clone` because of their extensions; a decoded head carries only [`Protocol`]); a
    /// response's without its header fields unless `fields`.
    pub(crate) fn duplicate(&self, fields: bool) -> Head {
        match self {
            Head::Request(r) => {
                let mut req = Request::new(());
                *req.method_mut() = r.method().clone();
                *req.uri_mut() = r.uri().clone();
                *req.version_mut() = r.version();
                *req.headers_mut() = r.headers().clone();
                if let Some(p) = r.extensions().get::<Protocol>() {
                    req.extensions_mut().insert(p.clone());
                }
                Head::Request(Box::new(req))
            }
            Head::Response(r) => {
                let mut res = status_only(r);
                if fields {
                    *res.headers_mut() = r.headers().clone();
                }
                Head::Response(res)
            }
            Head::Trailers(t) => Head::Trailers(t.clone()),
        }
    }

    /// A copy whose byte strings are all copies too. Decoded values may be slices of the
    /// received block, which would keep the whole read buffer behind it alive. `None` if a
    /// part does not parse again (it always does; the caller just does without the copy).
    pub(crate) fn compacted(&self) -> Option<Head> {
        let copy = |b: &[u8]| Bytes::copy_from_slice(b);
        Some(match self {
            Head::Request(r) => {
                let u = r.uri();
                let mut parts = http::uri::Parts::default();
                parts.scheme = u.scheme().cloned();
                parts.authority = match u.authority() {
                    Some(a) => {
                        Some(Authority::from_maybe_shared(copy(a.as_str().as_bytes())).ok()?)
                    }
                    None => None,
                };
                parts.path_and_query = match u.path_and_query() {
                    Some(p) => {
                        Some(PathAndQuery::from_maybe_shared(copy(p.as_str().as_bytes())).ok()?)
                    }
                    None => None,
                };
                let mut req = Request::new(());
                *req.method_mut() = r.method().clone();
                *req.uri_mut() = Uri::from_parts(parts).ok()?;
                *req.version_mut() = r.version();
                *req.headers_mut() = compact_map(r.headers())?;
                if let Some(p) = r.extensions().get::<Protocol>() {
                    req.extensions_mut().insert(Protocol(copy(&p.0)));
                }
                Head::Request(Box::new(req))
            }
            Head::Response(r) => {
                let mut res = Response::new(());
                *res.status_mut() = r.status();
                *res.version_mut() = r.version();
                *res.headers_mut() = compact_map(r.headers())?;
                Head::Response(res)
            }
            Head::Trailers(t) => Head::Trailers(compact_map(t)?),
        })
    }
}

/// See [`Head::compacted`]. Names are always copies already (`HeaderName` copies on parsing);
/// values are interned where they may be (see `intern`), copied otherwise.
fn compact_map(map: &HeaderMap) -> Option<HeaderMap> {
    let mut out = HeaderMap::with_capacity(map.len());
    for (n, v) in map {
        let c = match crate::intern::intern(n, v) {
            Some(c) => c,
            None => {
                let mut c =
                    HeaderValue::from_maybe_shared(Bytes::copy_from_slice(v.as_bytes())).ok()?;
                c.set_sensitive(v.is_sensitive());
                c
            }
        };
        out.append(n.clone(), c);
    }
    Some(out)
}

/// The `:protocol` pseudo-header of an extended CONNECT request (RFC 8441 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protocol(pub Bytes);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// What a header section is for.
pub enum Kind {
    /// A request's head.
    Request,
    /// A response's head.
    Response,
    /// Trailers.
    Trailers,
}

/// Collects the fields of one header section.
pub struct HeadBuilder {
    kind: Kind,
    pseudo: [Option<Bytes>; 6],
    headers: HeaderMap,
    seen_regular: bool,
    content_length: Option<u64>,
    /// A request's `priority` field lines (RFC 9218 §5), noted as they pass so that nobody
    /// has to look them up in the map again.
    priority: Option<PriorityLines>,
    error: Option<&'static str>,
}

/// One `priority` field line, or several combined (RFC 8941 §3.2).
enum PriorityLines {
    One(HeaderValue),
    Many(Vec<u8>),
}

/// What a header section says besides its head, read as its fields were decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// The declared content-length.
    pub content_length: Option<u64>,
    /// A request's priority, if it carried a `priority` field (RFC 9218 §5).
    pub priority: Option<crate::priority::Priority>,
}

/// §8.2.2: Connection and the fields it usually names must not appear in HTTP/2.
fn is_connection_specific(n: &HeaderName) -> bool {
    *n == header::CONNECTION
        || *n == header::TRANSFER_ENCODING
        || *n == header::UPGRADE
        || n.as_str() == "keep-alive"
        || n.as_str() == "proxy-connection"
}

/// The `priority` field (RFC 9218 §5): a name of 8 bytes is rare enough to test first.
fn is_priority(n: &HeaderName) -> bool {
    let s = n.as_str();
    s.len() == 8 && s == "priority"
}

fn slot(p: Pseudo) -> usize {
    match p {
        Pseudo::Method => 0,
        Pseudo::Scheme => 1,
        Pseudo::Authority => 2,
        Pseudo::Path => 3,
        Pseudo::Status => 4,
        Pseudo::Protocol => 5,
    }
}

impl HeadBuilder {
    /// A builder for a head of `kind`.
    pub fn new(kind: Kind) -> HeadBuilder {
        HeadBuilder {
            kind,
            pseudo: Default::default(),
            headers: HeaderMap::new(),
            seen_regular: false,
            content_length: None,
            priority: None,
            error: None,
        }
    }

    fn fail(&mut self, why: &'static str) {
        self.error.get_or_insert(why);
    }

    /// Adds a decoded field (validated when the head is built).
    pub fn push(&mut self, field: Field) {
        if self.error.is_some() {
            return;
        }
        match field {
            Field::Pseudo(p, v) => {
                if self.seen_regular {
                    return self.fail("pseudo-header field after a regular field (RFC 9113 §8.3)");
                }
                let allowed = match self.kind {
                    Kind::Trailers => {
                        return self.fail("pseudo-header field in trailers (RFC 9113 §8.1)")
                    }
                    Kind::Request => p != Pseudo::Status,
                    Kind::Response => p == Pseudo::Status,
                };
                if !allowed {
                    return self
                        .fail("pseudo-header field not defined for this message (RFC 9113 §8.3)");
                }
                let s = &mut self.pseudo[slot(p)];
                if s.is_some() {
                    return self.fail("duplicate pseudo-header field (RFC 9113 §8.3)");
                }
                *s = Some(v);
            }
            Field::Header(n, v) => {
                self.seen_regular = true;
                if is_connection_specific(&n) {
                    return self.fail("connection-specific header field (RFC 9113 §8.2.2)");
                }
                if n == header::TE && v != "trailers" {
                    return self.fail("TE header field other than \"trailers\" (RFC 9113 §8.2.2)");
                }
                let b = v.as_bytes();
                if matches!(b.first(), Some(b' ' | b'\t')) || matches!(b.last(), Some(b' ' | b'\t'))
                {
                    return self
                        .fail("field value with leading or trailing whitespace (RFC 9113 §8.2.1)");
                }
                if n == header::CONTENT_LENGTH {
                    match parse_content_length(b) {
                        Some(len) if self.content_length.is_none_or(|c| c == len) => {
                            self.content_length = Some(len)
                        }
                        _ => return self.fail("invalid content-length (RFC 9110 §8.6)"),
                    }
                }
                if self.kind == Kind::Request && is_priority(&n) {
                    self.priority = Some(match self.priority.take() {
                        None => PriorityLines::One(v.clone()),
                        Some(PriorityLines::One(first)) => {
                            PriorityLines::Many([first.as_bytes(), b", ", b].concat())
                        }
                        Some(PriorityLines::Many(mut all)) => {
                            all.extend_from_slice(b", ");
                            all.extend_from_slice(b);
                            PriorityLines::Many(all)
                        }
                    });
                }
                self.headers.append(n, v);
            }
            Field::Invalid { .. } => self.fail("invalid field name or value (RFC 9113 §8.2.1)"),
        }
    }

    /// The declared content-length, and a request's priority.
    pub fn meta(&self) -> Meta {
        Meta {
            content_length: self.content_length,
            priority: self.priority.as_ref().map(|p| match p {
                PriorityLines::One(v) => crate::priority::Priority::parse(v.as_bytes()),
                PriorityLines::Many(all) => crate::priority::Priority::parse(all),
            }),
        }
    }

    /// Validates the section as a whole and builds the head.
    pub fn finish(self) -> Result<Head, &'static str> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.kind {
            Kind::Trailers => Ok(Head::Trailers(self.headers)),
            Kind::Response => {
                let Some(status) = &self.pseudo[4] else {
                    return Err("response without :status (RFC 9113 §8.3.2)");
                };
                let status = StatusCode::from_bytes(status)
                    .map_err(|_| "invalid :status (RFC 9113 §8.3.2)")?;
                let mut res = Response::new(());
                *res.status_mut() = status;
                *res.headers_mut() = self.headers;
                Ok(Head::Response(res))
            }
            Kind::Request => self.finish_request(),
        }
    }

    fn finish_request(mut self) -> Result<Head, &'static str> {
        let [method, scheme, authority, path, _, protocol] = std::mem::take(&mut self.pseudo);
        let method = method.ok_or("request without :method (RFC 9113 §8.3.1)")?;
        let method =
            Method::from_bytes(&method).map_err(|_| "invalid :method (RFC 9113 §8.3.1)")?;
        let is_connect = method == Method::CONNECT;
        if protocol.is_some() && !is_connect {
            return Err(":protocol in a request other than CONNECT (RFC 8441 §4)");
        }
        let authority = match authority {
            Some(a) => {
                let a = Authority::from_maybe_shared(a)
                    .map_err(|_| "invalid :authority (RFC 9113 §8.3.1)")?;
                // §8.3.1: a Host that names another entity than :authority is malformed.
                if let Some(host) = self.headers.get(header::HOST) {
                    if host.as_bytes() != a.as_str().as_bytes() {
                        return Err("host header differs from :authority (RFC 9113 §8.3.1)");
                    }
                }
                Some(a)
            }
            None => match self.headers.get(header::HOST) {
                Some(h) => Some(
                    Authority::try_from(h.as_bytes())
                        .map_err(|_| "invalid host header (RFC 9113 §8.3.1)")?,
                ),
                None => None,
            },
        };
        let mut parts = http::uri::Parts::default();
        if is_connect && protocol.is_none() {
            // §8.5: CONNECT carries only :method and :authority.
            if scheme.is_some() || path.is_some() {
                return Err("CONNECT with :scheme or :path (RFC 9113 §8.5)");
            }
            parts.authority = Some(authority.ok_or("CONNECT without :authority (RFC 9113 §8.5)")?);
        } else {
            let scheme = scheme.ok_or("request without :scheme (RFC 9113 §8.3.1)")?;
            let path = path.ok_or("request without :path (RFC 9113 §8.3.1)")?;
            if path.is_empty() {
                return Err("empty :path (RFC 9113 §8.3.1)");
            }
            let scheme =
                Scheme::try_from(&scheme[..]).map_err(|_| "invalid :scheme (RFC 9113 §8.3.1)")?;
            // `*` is valid only for OPTIONS (RFC 9113 §8.3.1); `http` parses it as a path.
            if &path[..] == b"*" && method != Method::OPTIONS {
                return Err(":path \"*\" in a request other than OPTIONS (RFC 9113 §8.3.1)");
            }
            let path = PathAndQuery::from_maybe_shared(path)
                .map_err(|_| "invalid :path (RFC 9113 §8.3.1)")?;
            if authority.is_some() {
                parts.scheme = Some(scheme);
                parts.authority = authority;
            }
            parts.path_and_query = Some(path);
        }
        let uri = Uri::from_parts(parts).map_err(|_| "invalid request target (RFC 9113 §8.3.1)")?;
        let mut req = Request::new(());
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        *req.headers_mut() = self.headers;
        if let Some(p) = protocol {
            req.extensions_mut().insert(Protocol(p));
        }
        Ok(Head::Request(Box::new(req)))
    }
}

/// A response with `r`'s status and version, and no header fields.
fn status_only(r: &Response<()>) -> Response<()> {
    let mut res = Response::new(());
    *res.status_mut() = r.status();
    *res.version_mut() = r.version();
    res
}

/// RFC 9110 §8.6: one or more digits. (A list of identical values is collapsed by the caller
/// seeing the same value twice.)
fn parse_content_length(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Checks a header map we are about to send for what HTTP/2 forbids (§8.2.2), so our own
/// application cannot make us emit a malformed message.
pub fn check_outgoing(headers: &HeaderMap) -> Result<(), &'static str> {
    for (n, v) in headers {
        if is_connection_specific(n) {
            return Err("connection-specific header field (RFC 9113 §8.2.2)");
        }
        if *n == header::TE && v != "trailers" {
            return Err("TE header field other than \"trailers\" (RFC 9113 §8.2.2)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::priority::Priority;

    fn meta_of(fields: &[(&'static str, &'static str)], kind: Kind) -> Meta {
        let mut b = HeadBuilder::new(kind);
        for (n, v) in fields {
            b.push(Field::Header(
                HeaderName::from_static(n),
                HeaderValue::from_static(v),
            ));
        }
        b.meta()
    }

    #[test]
    fn rfc9218_5_a_requests_priority_lines_are_read_as_one_field() {
        let p = |urgency, incremental| {
            Some(Priority {
                urgency,
                incremental,
            })
        };
        let req = Kind::Request;
        assert_eq!(meta_of(&[("accept", "*/*")], req).priority, None);
        assert_eq!(meta_of(&[("priority", "u=1")], req).priority, p(1, false));
        // Lines combine with commas (RFC 8941 §3.2): the second adds `i`, the third overrides
        // `u`.
        let lines = [("priority", "u=1"), ("priority", "i"), ("priority", "u=6")];
        assert_eq!(meta_of(&lines, req).priority, p(6, true));
        // Only a request's.
        assert_eq!(
            meta_of(&[("priority", "u=1")], Kind::Response).priority,
            None
        );
    }
}
