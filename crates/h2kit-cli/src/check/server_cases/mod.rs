//! The cases `h2kit check server` runs, as data: one entry per rule, written from RFC 9113
//! and RFC 7541 (the section is in each entry). Stream 1 is the first request unless a case
//! says otherwise; `{scheme}`, `{authority}` and `{path}` come from the URL checked.

pub(super) use crate::check::case::codes::*;
pub(super) use crate::check::case::flag::*;
pub(super) use crate::check::case::kind::*;
pub(super) use crate::check::case::Expect::*;
pub(super) use crate::check::case::{Case, Fields, Payload, Step};

pub(super) const GET: Fields = &[
    (":method", "GET"),
    (":scheme", "{scheme}"),
    (":authority", "{authority}"),
    (":path", "{path}"),
];
pub(super) const POST: Fields = &[
    (":method", "POST"),
    (":scheme", "{scheme}"),
    (":authority", "{authority}"),
    (":path", "{path}"),
];

/// A whole GET on `stream`.
pub(super) const fn get(stream: u32) -> Step {
    Step::Frame(HEADERS, ES_EH, stream, Payload::Fields(GET))
}

/// A POST on `stream` whose body is still to come.
pub(super) const fn post(stream: u32) -> Step {
    Step::Frame(HEADERS, END_HEADERS, stream, Payload::Fields(POST))
}

/// A header block as these octets.
pub(super) const fn block(b: &'static [u8]) -> Payload {
    Payload::Block(b)
}

/// A case on a connection after the usual preface.
macro_rules! case {
    ($group:expr, $id:literal, $section:literal, $title:literal, [$($step:expr),* $(,)?], $expect:expr) => {
        Case {
            id: $id,
            group: $group,
            section: $section,
            title: $title,
            preface: true,
            steps: &[$($step),*],
            expect: $expect,
        }
    };
}

/// A request on stream 1 with these fields (END_STREAM, END_HEADERS) that must be refused
/// as malformed (§8.1.1).
macro_rules! malformed {
    ($id:literal, $section:literal, $title:literal, $fields:expr) => {
        Case {
            id: $id,
            group: Rfc9113,
            section: $section,
            title: $title,
            preface: true,
            steps: &[Frame(HEADERS, ES_EH, 1, Fields($fields))],
            expect: Malformed(1),
        }
    };
}

mod framing;
mod messages;

/// Every server case, in the order they run.
pub fn all() -> impl Iterator<Item = &'static Case> {
    framing::FRAMING.iter().chain(messages::MESSAGES)
}
