//! What h2kit's tests share, in one place (not published):
//!
//! - [`wire`]: HTTP/2 frames written and read by hand, a peer that shares no code with
//!   `h2kit-proto`;
//! - [`server`]: an h2kit server (and h2kit's proxy) on a free port, in process;
//! - [`client`]: h2kit clients and requests as the tests use them;
//! - [`prometheus`]: `/metrics` scrapes read by Python's `prometheus_client` parser;
//! - [`peers`]: independent peers as child processes (nghttpd, a scripted Python `h2`
//!   server), killed when dropped. A missing peer fails the test: `scripts/test` installs
//!   them.
#![forbid(unsafe_code)]

pub mod client;
pub mod peers;
pub mod prometheus;
pub mod server;
pub mod wire;
