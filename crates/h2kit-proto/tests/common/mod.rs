//! Helpers shared by the integration tests.
// Shared by many test crates, each using a part: `pub` here is for them, not an API.
#![allow(unreachable_pub)]
#![allow(dead_code)]

pub mod commands;
pub mod pair;
pub mod peer;
pub mod stories;

use h2kit_proto::{Event, Head};

/// The first request head among `events`.
pub fn first_request(events: &[Event]) -> Option<&http::Request<()>> {
    events.iter().find_map(|e| match e {
        Event::Headers {
            head: Head::Request(r),
            ..
        } => Some(&**r),
        _ => None,
    })
}
