//! h2kit: the tokio runtime (connection drivers, server, client and pool) around `h2kit-proto`.
//! Filled in by the server and client work; it currently only re-exports the protocol engine.

pub use h2kit_proto as proto;
