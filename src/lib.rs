//! certbridge: central ACME certificates for an Ansible-managed fleet.
//!
//! # Layout
//!
//! The modules follow the data flow of a pulse:
//!
//! 1. [`config`], [`inventory`], [`handlers::map`] — read and validate
//!    the operator's files ([`load`] runs them together, [`diag`] collects
//!    every problem with file and line; [`yaml`] finds the lines).
//! 2. [`store`] — the central store under `state_dir` (read side).
//! 3. [`plan`] — a pure function of fleet, store, observed facts and `now`:
//!    per certificate `issue` / `renew` / `deploy` / `keep`, the TXT records,
//!    and the ordered handler runs. `plan` prints it; `pulse` executes it.
//! 4. (next) acme / dns / deploy / handlers — the effects, sequenced in one place.
//! 5. [`status`] and [`app`] — reports and exit codes; [`monitor`] — the
//!    Prometheus textfile and certcheck list written after every pulse.
//!
//! [`cli`] holds the clap types and [`app`] is the only place that prints.

pub mod acme;
pub mod app;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod diag;
pub mod dns;
pub mod execute;
pub mod fault;
pub mod handlers;
pub mod inventory;
pub mod issue;
pub mod load;
pub mod logging;
pub mod monitor;
pub mod plan;
pub mod remote;
pub mod report;
pub mod status;
pub mod store;
pub mod x509;
pub mod yaml;

/// Version string with the commit it was built from, when known:
/// `0.1.0 (1a2b3c4d5e 2026-12-04)`, `-dirty` after the hash when tracked
/// files differed from it, `unknown` when built outside a git checkout.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CERTBRIDGE_GIT_COMMIT"),
    " ",
    env!("CERTBRIDGE_BUILD_DATE"),
    ")"
);

/// The commit the binary was built from (`unknown` outside a git checkout).
pub const GIT_COMMIT: &str = env!("CERTBRIDGE_GIT_COMMIT");

/// The day the binary was built (UTC, or `SOURCE_DATE_EPOCH`).
pub const BUILD_DATE: &str = env!("CERTBRIDGE_BUILD_DATE");
