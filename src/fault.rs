//! Test-only fault injection and stage marks.
//!
//! `CERTBRIDGE_FAULT=after-finalize` (a comma list of point names) makes
//! the process stop dead at that point, as a crash or `kill -9` would, so
//! tests can prove nothing is lost. `CERTBRIDGE_MARKS=FILE` appends a line
//! per stage reached, so a test that kills the process from outside knows
//! where it was. Both are unset in normal operation; each check is one
//! environment lookup.

use std::io::Write as _;

/// Stop the process here if `name` is listed in `CERTBRIDGE_FAULT`.
pub fn point(name: &str) {
    if let Ok(list) = std::env::var("CERTBRIDGE_FAULT")
        && list.split(',').any(|p| p.trim() == name)
    {
        eprintln!("certbridge: fault injection: stopping dead at `{name}`");
        // No destructors, no flushing: as close to kill -9 as std allows.
        std::process::exit(86);
    }
    mark(name);
}

/// Append `<unix seconds> <name>` to the file named by `CERTBRIDGE_MARKS`.
pub fn mark(name: &str) {
    let Some(path) = std::env::var_os("CERTBRIDGE_MARKS") else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    // One write(2) per line, so concurrent marks never interleave.
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(format!("{now:.6} {name}\n").as_bytes());
    }
}
