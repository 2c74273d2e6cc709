//! Test-only fault injection: `CERTBRIDGE_FAULT=after-finalize` (a comma
//! list of point names) makes the process stop dead at that point, as a
//! crash or `kill -9` would, so tests can prove nothing is lost. Unset in
//! normal operation; the check is one environment lookup.

/// Stop the process here if `name` is listed in `CERTBRIDGE_FAULT`.
pub fn point(name: &str) {
    if let Ok(list) = std::env::var("CERTBRIDGE_FAULT")
        && list.split(',').any(|p| p.trim() == name)
    {
        eprintln!("certbridge: fault injection: stopping dead at `{name}`");
        // No destructors, no flushing: as close to kill -9 as std allows.
        std::process::exit(86);
    }
}
