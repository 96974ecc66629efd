//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod commands;
pub mod pair;
pub mod peer;
pub mod stories;
