//! A case as data: the frames the checker sends, the answer RFC 9113 or RFC 7541 requires,
//! and the section that requires it. Adding a case is adding one entry to a list
//! (`server_cases.rs`).

use h2kit::proto::ErrorCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Group {
    /// RFC 9113: frames, stream states, flow control, SETTINGS, errors, HTTP semantics.
    Rfc9113,
    /// RFC 7541: header block decoding.
    Hpack,
    /// Good citizenship under load: concurrency-limit churn, resets of closed streams.
    Citizen,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Rfc9113 => "rfc9113",
            Group::Hpack => "hpack",
            Group::Citizen => "citizen",
        }
    }
}

/// Frame type codes (RFC 9113 §6).
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// The error codes cases expect.
pub mod codes {
    use h2kit::proto::ErrorCode;
    pub const PROTOCOL: &[ErrorCode] = &[ErrorCode::PROTOCOL_ERROR];
    pub const FRAME_SIZE: &[ErrorCode] = &[ErrorCode::FRAME_SIZE_ERROR];
    pub const FLOW: &[ErrorCode] = &[ErrorCode::FLOW_CONTROL_ERROR];
    pub const CLOSED: &[ErrorCode] = &[ErrorCode::STREAM_CLOSED];
    pub const COMPRESSION: &[ErrorCode] = &[ErrorCode::COMPRESSION_ERROR];

    /// "PROTOCOL_ERROR or FRAME_SIZE_ERROR", for a message.
    pub fn list(c: &[ErrorCode]) -> String {
        c.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Flag bits.
pub mod flag {
    pub const NONE: u8 = 0x0;
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIO: u8 = 0x20;
    /// HEADERS that is the whole request.
    pub const ES_EH: u8 = END_STREAM | END_HEADERS;
}

/// In `check client` cases: the stream of the client's request (the reserved bit may be
/// added), filled in when the request has arrived.
pub const REQ: u32 = 0x7fff_ffff;

/// A list of header fields; `{scheme}`, `{authority}` and `{path}` in values are replaced by
/// the target's.
pub type Fields = &'static [(&'static str, &'static str)];

/// A frame's payload.
#[derive(Clone, Copy, Debug)]
pub enum Payload {
    Empty,
    Bytes(&'static [u8]),
    /// One zero octet more than the peer's SETTINGS_MAX_FRAME_SIZE.
    OverMaxFrame,
    /// A header block: these fields, HPACK-encoded by the checker.
    Fields(Fields),
    /// A header block as these octets (HPACK cases).
    Block(&'static [u8]),
    /// A pad length octet, the fields' block, then that many zero octets of padding.
    PaddedFields(u8, Fields),
    /// These octets, then the fields' block (a priority block, a table size update).
    Prefixed(&'static [u8], Fields),
    /// The fields as literals that leave the dynamic table alone, then these octets
    /// (representations the encoder does not make; entries they add to the server's table
    /// are unknown to the checker's encoder, so later blocks on the connection should use
    /// `Suffixed` too).
    Suffixed(Fields, &'static [u8]),
}

#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Octets as they are (before or instead of the connection preface).
    Raw(&'static [u8]),
    /// A frame: type, flags, stream identifier (the reserved bit included), payload.
    Frame(u8, u8, u32, Payload),
    /// Everything so far is written; then the checker reads until the stream's response
    /// has ended (a step, not the verdict: the case fails if it does not come).
    AwaitResponse(u32),
    /// Opens one stream more than the server's SETTINGS_MAX_CONCURRENT_STREAMS allows, each
    /// a POST with its body still to come (streams 1, 3, …, 2N+1).
    ExceedConcurrency,
    /// DATA on this stream, one octet more in all than the server's initial stream window
    /// (SETTINGS_INITIAL_WINDOW_SIZE), in frames no larger than its SETTINGS_MAX_FRAME_SIZE.
    OverflowWindow(u32),
    /// The case applies only to a client that disabled server push (SETTINGS_ENABLE_PUSH 0).
    NeedsPushDisabled,
}

/// The answer the RFC requires.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// A connection error (§5.4.1): GOAWAY with one of these codes (or the connection closed,
    /// as h2spec accepts).
    ConnectionError(&'static [ErrorCode]),
    /// A stream error (§5.4.2) on this stream: RST_STREAM with one of these codes; a
    /// connection error with one of them is also an answer §5.4 allows. A response before the
    /// reset is allowed (§8.1.1).
    StreamError(u32, &'static [ErrorCode]),
    /// A malformed request on this stream (§8.1.1): a stream error PROTOCOL_ERROR, or a 400
    /// response that closes the stream ("a server MAY send an HTTP response prior to closing
    /// or resetting the stream").
    Malformed(u32),
    /// A frame on a stream the client already considers closed (`check client`): RST_STREAM
    /// or GOAWAY (STREAM_CLOSED). A client whose only request is over may end the connection
    /// first; the case is then not applicable.
    LateOnClosed,
    /// DATA beyond the flow-control window (§5.2, §6.9): RST_STREAM or GOAWAY
    /// (FLOW_CONTROL_ERROR). A server that credited the window (WINDOW_UPDATE) while the DATA
    /// was on its way may have had room: the case is then not applicable.
    FlowError(u32),
    /// The stream 2N+1 opened by `ExceedConcurrency` is refused: RST_STREAM PROTOCOL_ERROR or
    /// REFUSED_STREAM (§5.1.2).
    Refused,
    /// A response (any status) on this stream, no error.
    Response(u32),
    /// A successful response (2xx or 3xx) on this stream.
    Success(u32),
    /// Nothing: the connection still answers a PING afterwards, with no error before it.
    Ignored,
    /// A PING acknowledgement with this payload.
    PingAck(&'static [u8; 8]),
    /// A SETTINGS acknowledgement (in `check client`: one for every SETTINGS sent).
    SettingsAck,
}

pub struct Case {
    /// Unique within its group: the section and a short name (`6.1/stream-0`).
    pub id: &'static str,
    pub group: Group,
    /// "RFC 9113 §6.1".
    pub section: &'static str,
    /// What is sent and what must come back, as a sentence.
    pub title: &'static str,
    /// Send the connection preface and SETTINGS (and wait for the server's) first; in `check
    /// client`, send SETTINGS and wait for the client's request first (without it, the steps
    /// are the server's first bytes).
    pub preface: bool,
    pub steps: &'static [Step],
    pub expect: Expect,
}

/// How a case ended.
#[derive(Clone, Debug)]
pub enum Verdict {
    Passed(String),
    Failed(String),
    NotApplicable(String),
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed(_) => "passed",
            Verdict::Failed(_) => "failed",
            Verdict::NotApplicable(_) => "not applicable",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Verdict::Passed(d) | Verdict::Failed(d) | Verdict::NotApplicable(d) => d,
        }
    }
}

/// A PING acknowledgement judged against the payload the case sent.
pub fn ping_ack(got: &[u8; 8], want: &[u8; 8]) -> Verdict {
    if got == want {
        Verdict::Passed("PING acknowledged with the same payload".into())
    } else {
        Verdict::Failed(format!(
            "the PING acknowledgement carried {got:02x?}, expected {want:02x?}"
        ))
    }
}

/// One case's result, with the frames exchanged when it failed.
pub struct Outcome {
    pub group: Group,
    pub id: String,
    pub section: String,
    pub title: String,
    pub verdict: Verdict,
    pub frames: String,
    pub millis: u128,
}

impl Outcome {
    /// A declarative case's outcome; `begun` is when it started.
    pub fn of(c: &Case, verdict: Verdict, frames: String, begun: std::time::Instant) -> Outcome {
        Outcome {
            group: c.group,
            id: c.id.to_string(),
            section: c.section.to_string(),
            title: c.title.to_string(),
            verdict,
            frames,
            millis: begun.elapsed().as_millis(),
        }
    }

    /// A citizen case's outcome (those are code, listed as `(id, section, title)`).
    pub fn citizen(
        (id, section, title): (&str, &str, &str),
        verdict: Verdict,
        begun: std::time::Instant,
    ) -> Outcome {
        Outcome {
            group: Group::Citizen,
            id: format!("citizen/{id}"),
            section: section.to_string(),
            title: title.to_string(),
            verdict,
            frames: String::new(),
            millis: begun.elapsed().as_millis(),
        }
    }
}
