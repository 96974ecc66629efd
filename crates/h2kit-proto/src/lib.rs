//! Sans-IO HTTP/2 protocol engine.
//!
//! Everything here is deterministic: bytes and commands go in, bytes and events come out. There
//! are no sockets, no async runtime and no clock; callers pass time in where it matters. The
//! layers so far:
//!
//! - [`frame`]: the frame codec of RFC 9113 §4 and §6 — incremental, zero-copy parsing and
//!   allocation-free serialization, with every single-frame rule enforced.
//! - [`hpack`]: header compression, RFC 7541.
//! - [`error`]: RFC 9113 §7 error codes and the connection/stream classification of §5.4.

pub mod error;
pub mod frame;
pub mod hpack;

pub use error::{Error, ErrorCode};
pub use frame::StreamId;
