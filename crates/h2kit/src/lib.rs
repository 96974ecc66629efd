//! h2kit: the tokio runtime around the sans-IO `h2kit-proto` engine.
//!
//! - [`server`]: accept loop, one driver task per connection, handlers as `tower::Service`s.
//! - [`RecvBody`]: received bodies as `http_body::Body`, with flow-control back-pressure.
//! - [`proxy`]: a fault-injecting TCP proxy that traces and watches HTTP/2 frames.
//! - [`stats`]: server-wide counters (snapshot API and the `metrics` facade).
//! - [`tls`]: rustls configuration from PEM files.
//! - [`tunnel`]: extended CONNECT streams (RFC 8441, WebSockets) as byte streams.

pub mod client;
mod conn;
mod error;
pub mod metrics;
pub mod proxy;
pub mod server;
mod span;
pub mod stats;
#[allow(unsafe_code)] // the reply slot: see its proof and its loom model
mod sync;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tunnel;

pub use client::{Client, ClientBuilder, ClientConfig, ConnectBackoff};
pub use conn::body::RecvBody;
pub use error::{Error, ErrorKind, Phase};
pub use h2kit_proto as proto;
pub use server::{HttpService, Server, ServerConfig};
