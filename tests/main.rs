//! Integration tests: one binary, one module per area (ripgrep style).
//!
//! Modules whose name starts with `lab_` need the real lab (BIND, Pebble,
//! sshd, nginx) and fail loudly when a component is missing.

mod support;

mod cli;
mod lab_check_dns;
mod lab_pulse;
mod lab_selftest;
mod plan_snapshots;
