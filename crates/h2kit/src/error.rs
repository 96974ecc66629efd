//! The one error type of h2kit: what failed, in which phase, after how many attempts, and the
//! error underneath.

use std::fmt;
use std::time::Duration;

use h2kit_proto::ErrorCode;

type Source = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// Why a request, a received body or a connection failed.
///
/// Opaque: ask [`kind`](Self::kind) or the predicates (`is_timeout`, `is_connect`, …). The
/// error underneath (an `io::Error`, a `rustls::Error`) is its
/// [`source`](std::error::Error::source). Its `Display` is one sentence naming the cause; for a
/// request that timed out, the phase that expired and the time spent in the earlier ones.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    /// Whether the error ends a request (`Client::send`) or a body.
    of_body: bool,
    /// What the kind is about: the address of a failed connect, the reason a request is
    /// invalid.
    detail: Option<String>,
    source: Option<Source>,
    /// Time spent in each completed phase of the last attempt, in order.
    phases: Vec<(Phase, Duration)>,
    attempts: u32,
    /// The origin is backing off: connections failed in a row, time until the next attempt.
    backoff: Option<(u32, Duration)>,
}

/// What kind of failure an [`Error`] is. More kinds may come: match with a wildcard arm.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A deadline expired: the phase says which.
    Timeout(Phase),
    /// The TCP connection could not be opened.
    Connect,
    /// TLS failed: the handshake, the certificate, or a server that did not agree on HTTP/2
    /// (ALPN `h2`).
    Tls,
    /// The server refused the stream (RST_STREAM(REFUSED_STREAM)) on every attempt; it did
    /// not process the request.
    Refused,
    /// The server did not process the request (above its GOAWAY's last stream) on every
    /// attempt.
    Unprocessed,
    /// The peer reset the stream with this code.
    Reset(ErrorCode),
    /// We reset the stream, or ended the connection, because the peer broke a rule of the
    /// protocol (the code sent).
    Protocol(ErrorCode),
    /// The connection ended before the request or body did. `maybe_processed`: the request
    /// went out, so the server may have acted on it; `reset`: a TCP RST (or a broken pipe)
    /// rather than an orderly close.
    ConnectionLost {
        /// The request went out: the server may have acted on it.
        maybe_processed: bool,
        /// A TCP RST or a broken pipe, not an orderly close.
        reset: bool,
    },
    /// The request cannot be sent as given.
    InvalidRequest,
    /// The server does not speak HTTP/2: it answered in HTTP/1.x, or with bytes that are not
    /// frames (the message says what it sent). Not retried.
    NotHttp2,
    /// The server answered an extended CONNECT with this status instead of a 2xx: no tunnel.
    TunnelRefused(http::StatusCode),
}

/// The phases of a request, in order.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for a stream slot on a connection.
    Queue,
    /// TCP connect.
    Connect,
    /// TLS handshake.
    Tls,
    /// Writing the request (head and body).
    Write,
    /// From the request sent to the response headers.
    ResponseHeaders,
    /// Between DATA frames of the response body.
    BodyIdle,
    /// The whole request.
    Total,
}

impl Phase {
    /// The phase's name in messages ("response headers").
    pub fn name(self) -> &'static str {
        match self {
            Phase::Queue => "queue",
            Phase::Connect => "connect",
            Phase::Tls => "TLS handshake",
            Phase::Write => "request write",
            Phase::ResponseHeaders => "response headers",
            Phase::BodyIdle => "response body idle",
            Phase::Total => "total",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Phase::Queue => "queued",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Write => "write",
            Phase::ResponseHeaders => "waited",
            Phase::BodyIdle => "body idle",
            Phase::Total => "total",
        }
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                of_body: false,
                detail: None,
                source: None,
                phases: Vec::new(),
                attempts: 1,
                backoff: None,
            }),
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.inner.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        self.inner.source = Some(source.into().into());
        self
    }

    /// This connection error again, for a request that failed at once because the origin is
    /// backing off after `failures` failed connections, `left` before the next attempt.
    pub(crate) fn backing_off(&self, failures: u32, left: Duration) -> Error {
        let mut e = self.clone();
        e.inner.phases.clear();
        e.inner.attempts = 1;
        e.inner.backoff = Some((failures, left));
        e
    }

    /// Whether the request failed at once because its origin is backing off after failed
    /// connections (the error is the last connection's).
    pub fn is_backoff(&self) -> bool {
        self.inner.backoff.is_some()
    }

    pub(crate) fn with_phases(mut self, phases: Vec<(Phase, Duration)>) -> Error {
        self.inner.phases = phases;
        self
    }

    pub(crate) fn set_attempts(&mut self, attempts: u32) {
        self.inner.attempts = attempts;
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// A deadline expired.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Timeout(_))
    }

    /// The deadline that expired, if one did.
    pub fn timeout_phase(&self) -> Option<Phase> {
        match self.inner.kind {
            ErrorKind::Timeout(p) => Some(p),
            _ => None,
        }
    }

    /// The TCP connection could not be opened.
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connect
    }

    /// TLS failed.
    pub fn is_tls(&self) -> bool {
        self.inner.kind == ErrorKind::Tls
    }

    /// The peer broke a rule of the protocol (we reset the stream or ended the connection).
    pub fn is_protocol(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Protocol(_))
    }

    /// The peer reset the stream (REFUSED_STREAM included).
    pub fn is_reset(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Reset(_) | ErrorKind::Refused)
    }

    /// The server did not process the request: sending it again is safe whatever its
    /// method.
    pub fn is_unprocessed(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Refused | ErrorKind::Unprocessed)
    }

    /// The RST_STREAM code, when the stream was reset (by either side).
    pub fn reset_code(&self) -> Option<ErrorCode> {
        match self.inner.kind {
            ErrorKind::Reset(c) | ErrorKind::Protocol(c) => Some(c),
            ErrorKind::Refused => Some(ErrorCode::REFUSED_STREAM),
            _ => None,
        }
    }

    /// Time spent in each completed phase of the last attempt, in order (the phase that
    /// expired included, for a timeout).
    pub fn phases(&self) -> &[(Phase, Duration)] {
        &self.inner.phases
    }

    /// Attempts made (1 when the request was not retried).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }
}

fn ms(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl Error {
    /// The sentence naming the cause, without the phase timings, attempts and back-off that
    /// `Display` adds: the same text for every request that failed the same way (a load
    /// report groups failures by it).
    pub fn reason(&self) -> String {
        struct Reason<'a>(&'a Error);
        impl fmt::Display for Reason<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_reason(f)
            }
        }
        Reason(self).to_string()
    }

    fn fmt_reason(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        let detail = i.detail.as_deref();
        match (i.kind, i.of_body) {
            (ErrorKind::Timeout(Phase::BodyIdle), true) => {
                write!(f, "response body idle timed out")?;
                if let Some(d) = i.phases.iter().find(|(p, _)| *p == Phase::BodyIdle) {
                    write!(f, " after {}", ms(d.1))?;
                }
            }
            (ErrorKind::Timeout(p), _) => {
                write!(f, "{} timed out", p.name())?;
                if let Some((_, d)) = i.phases.iter().find(|(q, _)| *q == p) {
                    write!(f, " after {}", ms(*d))?;
                }
            }
            (ErrorKind::Connect, _) => match detail {
                Some(to) => write!(f, "connect to {to} failed")?,
                None => f.write_str("connect failed")?,
            },
            (ErrorKind::Tls, _) => match detail {
                Some(what) => write!(f, "TLS failed: {what}")?,
                None => f.write_str("TLS failed")?,
            },
            (ErrorKind::Refused, _) => {
                f.write_str("stream refused by the server (REFUSED_STREAM)")?
            }
            (ErrorKind::Unprocessed, false) => {
                f.write_str("request not processed (server sent GOAWAY)")?
            }
            (ErrorKind::Unprocessed, true) => {
                f.write_str("not processed by the peer (above its GOAWAY's last stream)")?
            }
            (ErrorKind::Reset(c), false) => write!(f, "stream reset by the server ({c})")?,
            (ErrorKind::Reset(c), true) => write!(f, "stream reset by the peer ({c})")?,
            (ErrorKind::Protocol(c), _) => write!(f, "stream reset after a protocol error ({c})")?,
            (ErrorKind::ConnectionLost { reset, .. }, true) => f.write_str(if reset {
                "connection reset (TCP RST) before the body ended"
            } else {
                "connection closed before the body ended"
            })?,
            (
                ErrorKind::ConnectionLost {
                    maybe_processed,
                    reset,
                },
                false,
            ) => write!(
                f,
                "connection {} before the response; the request {} have been processed",
                if reset { "reset (TCP RST)" } else { "lost" },
                if maybe_processed { "may" } else { "cannot" }
            )?,
            (ErrorKind::NotHttp2, _) => match detail {
                Some(what) => f.write_str(what)?,
                None => f.write_str("the server does not speak HTTP/2")?,
            },
            (ErrorKind::TunnelRefused(status), _) => {
                write!(f, "the server answered the extended CONNECT with {status}")?;
                if let Some(body) = detail {
                    write!(f, " ({body})")?;
                }
            }
            (ErrorKind::InvalidRequest, _) => match detail {
                Some(why) => write!(f, "invalid request: {why}")?,
                None => f.write_str("invalid request")?,
            },
        }
        // TLS details are already in words (rustls' own `Display` shows `Debug` forms).
        if let (Some(source), ErrorKind::Connect) = (&i.source, i.kind) {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_reason(f)?;
        let i = &*self.inner;
        let earlier: Vec<String> = i
            .phases
            .iter()
            .filter(|(p, _)| Some(*p) != self.timeout_phase())
            .map(|(p, d)| format!("{} {}", p.short(), ms(*d)))
            .collect();
        if !earlier.is_empty() {
            write!(f, " ({})", earlier.join(", "))?;
        }
        if i.attempts > 1 {
            write!(f, " after {} attempts", i.attempts)?;
        }
        if let Some((failures, left)) = i.backoff {
            write!(
                f,
                " (not dialled: the origin is backing off after {failures} failed connection{}; \
                 next attempt in {})",
                if failures == 1 { "" } else { "s" },
                ms(left)
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(detail) = &self.inner.detail {
            d.field("detail", detail);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        if !self.inner.phases.is_empty() {
            d.field("phases", &self.inner.phases);
        }
        if self.inner.attempts != 1 {
            d.field("attempts", &self.inner.attempts);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|s| s as _)
    }
}

/// How a stream ended abnormally, as the connection task tells its bodies and callers (cheap
/// to clone: one failure reaches every stream of a connection). It becomes an [`Error`] where
/// it leaves the crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// The peer reset the stream with this code.
    Reset(ErrorCode),
    /// We reset the stream because the peer broke a rule on it.
    Protocol(ErrorCode),
    /// The connection ended before the stream did.
    ConnectionClosed,
    /// The connection was reset (TCP RST, or a broken pipe) before the stream ended.
    ConnectionReset,
    /// The stream was above the last_stream_id of the peer's GOAWAY.
    Unprocessed,
    /// The request could not be sent as given (malformed, too large for the peer).
    Request(String),
    /// No DATA arrived within the body-idle timeout.
    BodyIdle(Duration),
    /// The peer does not speak HTTP/2 (what it answered, in words).
    NotHttp2(std::sync::Arc<str>),
}

impl StreamError {
    /// The error a received body reports.
    pub(crate) fn into_body_error(self) -> Error {
        let mut e = self.into_error(true);
        e.inner.of_body = true;
        e
    }

    /// The error of a request or body; `sent`: whether the request went out (a connection
    /// lost afterwards may have let the server act on it).
    pub(crate) fn into_error(self, sent: bool) -> Error {
        let lost = |reset| ErrorKind::ConnectionLost {
            maybe_processed: sent,
            reset,
        };
        match self {
            StreamError::Reset(ErrorCode::REFUSED_STREAM) => Error::new(ErrorKind::Refused),
            StreamError::Reset(c) => Error::new(ErrorKind::Reset(c)),
            StreamError::Protocol(c) => Error::new(ErrorKind::Protocol(c)),
            StreamError::ConnectionClosed => Error::new(lost(false)),
            StreamError::ConnectionReset => Error::new(lost(true)),
            StreamError::Unprocessed => Error::new(ErrorKind::Unprocessed),
            StreamError::Request(why) => Error::new(ErrorKind::InvalidRequest).with_detail(why),
            StreamError::NotHttp2(what) => Error::new(ErrorKind::NotHttp2).with_detail(&*what),
            StreamError::BodyIdle(d) => Error::new(ErrorKind::Timeout(Phase::BodyIdle))
                .with_phases(vec![(Phase::BodyIdle, d)]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_phase_and_the_earlier_ones() {
        let mut e = Error::new(ErrorKind::Timeout(Phase::ResponseHeaders)).with_phases(vec![
            (Phase::Queue, Duration::from_millis(4900)),
            (Phase::Connect, Duration::from_millis(0)),
            (Phase::Write, Duration::from_millis(1)),
            (Phase::ResponseHeaders, Duration::from_millis(100)),
        ]);
        assert_eq!(
            e.to_string(),
            "response headers timed out after 100ms (queued 4.90s, connect 0ms, write 1ms)"
        );
        e.set_attempts(3);
        assert!(e.to_string().ends_with(" after 3 attempts"));
        assert!(e.is_timeout() && !e.is_reset() && e.attempts() == 3);
    }

    #[test]
    fn keeps_the_cause_as_its_source_and_says_it_in_words() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::new(ErrorKind::Connect)
            .with_detail("127.0.0.1:1")
            .with_source(io);
        assert_eq!(e.to_string(), "connect to 127.0.0.1:1 failed: refused");
        assert!(e.is_connect());
        let src = e.source().expect("a source");
        assert_eq!(
            src.downcast_ref::<std::io::Error>().map(|e| e.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
    }

    #[test]
    fn a_body_error_reads_as_one() {
        let e = StreamError::ConnectionClosed.into_body_error();
        assert_eq!(e.to_string(), "connection closed before the body ended");
        let e = StreamError::Reset(ErrorCode::CANCEL).into_body_error();
        assert_eq!(e.reset_code(), Some(ErrorCode::CANCEL));
        assert!(e.is_reset());
        let e = StreamError::BodyIdle(Duration::from_millis(250)).into_body_error();
        assert_eq!(e.to_string(), "response body idle timed out after 250ms");
        assert_eq!(e.timeout_phase(), Some(Phase::BodyIdle));
        let e = StreamError::Protocol(ErrorCode::PROTOCOL_ERROR).into_error(true);
        assert!(e.is_protocol());
    }
}
