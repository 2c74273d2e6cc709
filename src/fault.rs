//! Test-only fault injection and stage marks.
//!
//! `CERTBRIDGE_FAULT=after-finalize` (a comma list of point names) makes
//! the process stop dead at that point, as a crash or `kill -9` would, so
//! tests can prove nothing is lost. `CERTBRIDGE_MARKS=FILE` appends a line
//! per stage reached, so a test that kills the process from outside knows
//! where it was. Both are unset in normal operation; each check is one
//! environment lookup.
//!
//! [`pause`] holds the process at a point while a test acts (freezes a
//! host, starts a second pulse), then lets it go on.

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

/// Wait at `name` while a test acts on the world, then go on.
///
/// `CERTBRIDGE_PAUSE` lists points (`locked`, or `upload-1@HOST` for one
/// host only); `CERTBRIDGE_PAUSE_DIR` is where the process writes
/// `<point>.reached` (holding its PID) on arrival and then waits until the
/// test creates `<point>.go`. This makes "the first pulse holds the lock"
/// or "the host stalls half-way through an upload" deterministic. Unset in
/// normal operation; the check is one environment lookup.
pub async fn pause(name: &str, tag: Option<&str>) {
    let (Ok(list), Some(dir)) = (
        std::env::var("CERTBRIDGE_PAUSE"),
        std::env::var_os("CERTBRIDGE_PAUSE_DIR"),
    ) else {
        return;
    };
    let tagged = tag.map(|t| format!("{name}@{t}"));
    let Some(point) = list
        .split(',')
        .map(str::trim)
        .find(|p| *p == name || Some(*p) == tagged.as_deref())
    else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let go = dir.join(format!("{point}.go"));
    eprintln!(
        "certbridge: fault injection: pausing at `{point}` until {} exists",
        go.display()
    );
    let _ = std::fs::write(
        dir.join(format!("{point}.reached")),
        std::process::id().to_string(),
    );
    while !go.exists() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
