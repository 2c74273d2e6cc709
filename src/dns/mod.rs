//! DNS: where TXT values go, the signing zone file, and propagation checks.

pub mod batch;
pub mod client;
pub mod lint;
pub mod owners;
pub mod propagation;
pub mod target;
pub mod zone;
