//! Shared helpers for the integration tests.

pub(crate) mod fleet;
// pub mod lab;
