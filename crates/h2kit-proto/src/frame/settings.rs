//! SETTINGS parameters (RFC 9113 §6.5).

use crate::{Error, ErrorCode};

use super::{DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE, MAX_WINDOW_SIZE};

/// The defined setting identifiers (§6.5.2, RFC 8441 §3, RFC 9218 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Setting {
    /// SETTINGS_HEADER_TABLE_SIZE.
    HeaderTableSize = 0x1,
    /// SETTINGS_ENABLE_PUSH.
    EnablePush = 0x2,
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    MaxConcurrentStreams = 0x3,
    /// SETTINGS_INITIAL_WINDOW_SIZE.
    InitialWindowSize = 0x4,
    /// SETTINGS_MAX_FRAME_SIZE.
    MaxFrameSize = 0x5,
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    MaxHeaderListSize = 0x6,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441).
    EnableConnectProtocol = 0x8,
    /// SETTINGS_NO_RFC7540_PRIORITIES (RFC 9218).
    NoRfc7540Priorities = 0x9,
}

impl Setting {
    /// Every setting h2kit knows, in identifier order.
    pub const ALL: [Setting; 8] = [
        Setting::HeaderTableSize,
        Setting::EnablePush,
        Setting::MaxConcurrentStreams,
        Setting::InitialWindowSize,
        Setting::MaxFrameSize,
        Setting::MaxHeaderListSize,
        Setting::EnableConnectProtocol,
        Setting::NoRfc7540Priorities,
    ];

    /// The setting with this identifier, if h2kit knows it.
    pub fn from_id(id: u16) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| *s as u16 == id)
    }

    /// Its name as the RFCs write it.
    pub fn name(self) -> &'static str {
        match self {
            Setting::HeaderTableSize => "SETTINGS_HEADER_TABLE_SIZE",
            Setting::EnablePush => "SETTINGS_ENABLE_PUSH",
            Setting::MaxConcurrentStreams => "SETTINGS_MAX_CONCURRENT_STREAMS",
            Setting::InitialWindowSize => "SETTINGS_INITIAL_WINDOW_SIZE",
            Setting::MaxFrameSize => "SETTINGS_MAX_FRAME_SIZE",
            Setting::MaxHeaderListSize => "SETTINGS_MAX_HEADER_LIST_SIZE",
            Setting::EnableConnectProtocol => "SETTINGS_ENABLE_CONNECT_PROTOCOL",
            Setting::NoRfc7540Priorities => "SETTINGS_NO_RFC7540_PRIORITIES",
        }
    }

    /// Checks a received value against the ranges of §6.5.2 (and RFC 8441 §3, RFC 9218 §2.1).
    pub fn validate(self, value: u32) -> Result<(), Error> {
        match self {
            Setting::EnablePush if value > 1 => Err(Error::connection(
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS_ENABLE_PUSH other than 0 or 1 (RFC 9113 §6.5.2)",
            )),
            Setting::InitialWindowSize if value > MAX_WINDOW_SIZE => Err(Error::connection(
                ErrorCode::FLOW_CONTROL_ERROR,
                "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 (RFC 9113 §6.5.2)",
            )),
            Setting::MaxFrameSize
                if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) =>
            {
                Err(Error::connection(
                    ErrorCode::PROTOCOL_ERROR,
                    "SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1 (RFC 9113 §6.5.2)",
                ))
            }
            Setting::EnableConnectProtocol if value > 1 => Err(Error::connection(
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS_ENABLE_CONNECT_PROTOCOL other than 0 or 1 (RFC 8441 §3)",
            )),
            Setting::NoRfc7540Priorities if value > 1 => Err(Error::connection(
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS_NO_RFC7540_PRIORITIES other than 0 or 1 (RFC 9218 §2.1)",
            )),
            _ => Ok(()),
        }
    }
}

/// The parameters carried by one SETTINGS frame: `None` for a parameter the frame does not
/// carry. When a frame repeats a parameter the last value wins, which is what processing the
/// values "in the order in which they appear" (§6.5.3) amounts to. Unknown identifiers are
/// ignored (§6.5.2). A fixed struct rather than a list, so parsing never allocates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// An acknowledgement (carries no values).
    pub ack: bool,
    values: [Option<u32>; 8],
}

impl Settings {
    /// A SETTINGS acknowledgement.
    pub fn ack() -> Settings {
        Settings {
            ack: true,
            ..Settings::default()
        }
    }

    fn slot(s: Setting) -> usize {
        Setting::ALL.iter().position(|x| *x == s).unwrap_or(0)
    }

    /// The value of `s`, if the frame carries it.
    pub fn get(&self, s: Setting) -> Option<u32> {
        self.values[Self::slot(s)]
    }

    /// Sets (or with `None` removes) the value of `s`.
    pub fn set(&mut self, s: Setting, v: Option<u32>) -> &mut Self {
        self.values[Self::slot(s)] = v;
        self
    }

    /// The parameters present, in identifier order.
    pub fn iter(&self) -> impl Iterator<Item = (Setting, u32)> + '_ {
        Setting::ALL
            .iter()
            .zip(self.values.iter())
            .filter_map(|(s, v)| v.map(|v| (*s, v)))
    }

    /// Whether it carries no value.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    pub(crate) fn encoded_len(&self) -> usize {
        self.iter().count() * 6
    }
}
