//! Per-connection counters: what was sent and received, by frame type and by error code.

use std::time::Duration;

use crate::frame::FrameType;
use crate::ErrorCode;

/// Counts indexed by error code: 0x0..=0xd as defined in RFC 9113 §7, the last slot for any
/// other code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeCounts(pub [u64; 15]);

impl CodeCounts {
    /// Counts one more `code`.
    pub fn add(&mut self, code: ErrorCode) {
        self.0[(code.0 as usize).min(14)] += 1;
    }

    /// How many of `code`.
    pub fn get(&self, code: ErrorCode) -> u64 {
        self.0[(code.0 as usize).min(14)]
    }

    /// All codes together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Non-zero counts with their codes (the last slot reported as code 0xe, "other").
    pub fn iter(&self) -> impl Iterator<Item = (ErrorCode, u64)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (ErrorCode(i as u32), *n))
    }
}

/// Counts by frame type; index = type code, slot 10 for unknown types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameCounts(pub [u64; 11]);

impl FrameCounts {
    /// Counts one more frame of type code `kind`.
    pub fn add(&mut self, kind: u8) {
        self.0[(kind as usize).min(10)] += 1;
    }

    /// How many frames of type `t`.
    pub fn get(&self, t: FrameType) -> u64 {
        self.0[t as usize]
    }

    /// All frames together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
/// What a connection has done so far.
pub struct Stats {
    /// Frames written, by type.
    pub frames_sent: FrameCounts,
    /// Frames read, by type.
    pub frames_received: FrameCounts,
    /// RST_STREAM sent, by code.
    pub resets_sent: CodeCounts,
    /// RST_STREAM received, by code.
    pub resets_received: CodeCounts,
    /// GOAWAY sent, by code.
    pub goaways_sent: CodeCounts,
    /// GOAWAY received, by code.
    pub goaways_received: CodeCounts,
    /// Resets the application asked for on streams that were already closed: nothing was sent.
    pub suppressed_resets: u64,
    /// Peer streams refused with REFUSED_STREAM (above our concurrency limit).
    pub refused_streams: u64,
    /// Streams we opened.
    pub streams_opened_local: u64,
    /// Streams the peer opened.
    pub streams_opened_remote: u64,
    /// Extended CONNECT streams (RFC 8441, such as WebSockets): sent (client) or accepted
    /// for the application (server).
    pub extended_connects: u64,
    /// PINGs sent (not acknowledgements).
    pub pings_sent: u64,
    /// Acknowledgements of our PINGs.
    pub ping_acks_received: u64,
    /// PINGs the peer sent.
    pub pings_received: u64,
    /// The round trip of the PING acknowledged last.
    pub last_rtt: Option<Duration>,
    /// The smallest round trip seen.
    pub min_rtt: Option<Duration>,
    /// Frames received on streams we reset or ignored, dropped as §5.1 and §6.8 allow.
    pub frames_ignored: u64,
    /// The connection was ended with GOAWAY(ENHANCE_YOUR_CALM) for this flood.
    pub flood: Option<Flood>,
}

/// Why a connection was ended for abuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flood {
    /// Streams reset (by the peer, or by us for its frames) beyond the reset budget.
    StreamResets,
    /// Frames that carry nothing and end nothing.
    EmptyFrames,
    /// Too many CONTINUATION frames in one header block.
    Continuation,
    /// Too many PRIORITY or unknown-type frames.
    IgnoredFrames,
}

impl Flood {
    /// Its name in reports and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Flood::StreamResets => "stream_resets",
            Flood::EmptyFrames => "empty_frames",
            Flood::Continuation => "continuation",
            Flood::IgnoredFrames => "ignored_frames",
        }
    }

    /// The GOAWAY debug text.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Flood::StreamResets => {
                "too many streams reset (rapid reset, CVE-2023-44487 / CVE-2025-8671)"
            }
            Flood::EmptyFrames => "too many empty frames (CVE-2019-9518)",
            Flood::Continuation => "too many CONTINUATION frames in one header block",
            Flood::IgnoredFrames => "too many PRIORITY or unknown-type frames (CVE-2019-9513)",
        }
    }
}
