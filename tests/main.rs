//! Integration tests: one binary, one module per area (ripgrep style).
//!
//! Modules whose name starts with `lab_` need the real lab (BIND, Pebble,
//! sshd, nginx) and fail loudly when a component is missing.

mod support;

mod cli;
mod cli_ops;
mod cli_tools;
mod docs;
mod hostile;
mod lab_check_dns;
mod lab_crash;
mod lab_faults_ca;
mod lab_faults_dns;
mod lab_faults_host;
mod lab_monitor;
mod lab_pulse;
mod lab_secrets;
mod lab_selftest;
mod plan_snapshots;
