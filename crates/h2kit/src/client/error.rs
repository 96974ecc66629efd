//! Client errors that say what happened, in which phase, and how long each phase took.

use std::fmt;
use std::time::Duration;

use h2kit_proto::ErrorCode;

/// The phases of a request, in order.
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
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A phase's deadline expired.
    Timeout(Phase),
    /// TCP connect failed.
    Connect(String),
    /// TLS failed, or the server did not agree on ALPN h2.
    Tls(String),
    /// The server refused the stream (REFUSED_STREAM) on every attempt.
    Refused,
    /// The server never processed the request (above a GOAWAY's last_stream_id) on every attempt.
    Unprocessed,
    /// The server reset the stream with this code.
    Reset(ErrorCode),
    /// The connection failed; `maybe_processed` says whether the server may have acted on the
    /// request (it was sent and no response came).
    /// `reset` says the connection was reset (TCP RST) rather than closed.
    ConnectionLost { maybe_processed: bool, reset: bool },
    /// The request cannot be sent as given.
    InvalidRequest(String),
}

/// A failed request: what happened, the time spent in each phase, and the attempts made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    /// Time spent in each completed phase of the last attempt, in order.
    pub phases: Vec<(Phase, Duration)>,
    /// Attempts made (1 when not retried).
    pub attempts: u32,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            phases: Vec::new(),
            attempts: 1,
        }
    }

    /// Whether a retry on another connection is safe whatever the method.
    pub fn is_unprocessed(&self) -> bool {
        matches!(self.kind, ErrorKind::Refused | ErrorKind::Unprocessed)
    }

    pub fn timeout_phase(&self) -> Option<Phase> {
        match self.kind {
            ErrorKind::Timeout(p) => Some(p),
            _ => None,
        }
    }
}

fn ms(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Timeout(p) => {
                let spent = self.phases.iter().find(|(q, _)| q == p).map(|(_, d)| *d);
                write!(f, "{} timed out", p.name())?;
                if let Some(d) = spent {
                    write!(f, " after {}", ms(d))?;
                }
            }
            ErrorKind::Connect(e) => write!(f, "connect failed: {e}")?,
            ErrorKind::Tls(e) => write!(f, "TLS failed: {e}")?,
            ErrorKind::Refused => f.write_str("stream refused by the server (REFUSED_STREAM)")?,
            ErrorKind::Unprocessed => f.write_str("request not processed (server sent GOAWAY)")?,
            ErrorKind::Reset(c) => write!(f, "stream reset by the server ({c})")?,
            ErrorKind::ConnectionLost {
                maybe_processed,
                reset,
            } => write!(
                f,
                "connection {} before the response; the request {} have been processed",
                if *reset { "reset (TCP RST)" } else { "lost" },
                if *maybe_processed { "may" } else { "cannot" }
            )?,
            ErrorKind::InvalidRequest(e) => write!(f, "invalid request: {e}")?,
        }
        let earlier: Vec<String> = self
            .phases
            .iter()
            .filter(|(p, _)| Some(*p) != self.timeout_phase())
            .map(|(p, d)| format!("{} {}", short(*p), ms(*d)))
            .collect();
        if !earlier.is_empty() {
            write!(f, " ({})", earlier.join(", "))?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

fn short(p: Phase) -> &'static str {
    match p {
        Phase::Queue => "queued",
        Phase::Connect => "connect",
        Phase::Tls => "tls",
        Phase::Write => "write",
        Phase::ResponseHeaders => "waited",
        Phase::BodyIdle => "body idle",
        Phase::Total => "total",
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_phase_and_the_earlier_ones() {
        let e = Error {
            kind: ErrorKind::Timeout(Phase::ResponseHeaders),
            phases: vec![
                (Phase::Queue, Duration::from_millis(4900)),
                (Phase::Connect, Duration::from_millis(0)),
                (Phase::Write, Duration::from_millis(1)),
                (Phase::ResponseHeaders, Duration::from_millis(100)),
            ],
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "response headers timed out after 100ms (queued 4.90s, connect 0ms, write 1ms)"
        );
    }
}
