//! Shared helpers for the integration tests.

pub(crate) mod fleet;
pub(crate) mod fleet_lab;
pub(crate) mod lab;
