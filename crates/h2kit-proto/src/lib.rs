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
//! - [`Connection`]: the connection and stream state machines (§5), flow control (§5.2, §6.9),
//!   settings (§6.5), PING, GOAWAY and the message rules of §8, for both roles.
//! - [`watch`]: a passive observer of both directions of a connection (a tracing proxy's
//!   view) that flags misbehaviour: resets of closed streams, PING floods, streams beyond
//!   the limit, DATA beyond the window, streams after GOAWAY.

#![forbid(unsafe_code)]

pub mod connection;
pub mod error;
pub mod event;
pub mod flow;
pub mod frame;
pub mod hpack;
mod intern;
pub mod message;
pub mod priority;
pub mod stats;
pub mod stream;
pub mod trace;
pub mod watch;

pub use connection::{Config, Connection, Role, SendError};
pub use error::{Error, ErrorCode};
pub use event::Event;
pub use frame::StreamId;
pub use message::Head;
pub use stats::Stats;
pub use stream::StreamState;
