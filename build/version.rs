//! What `certbridge --version` says it was built from: the git commit
//! (short hash, `-dirty` when tracked files differ from it) and the build
//! date. Shared by `build.rs` and its tests; only std, so a tarball without
//! git (or without a `.git` of its own) builds too and says `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the build knows about its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// Short commit hash, `-dirty` appended when tracked files changed;
    /// `unknown` outside a git checkout of this crate.
    pub(crate) commit: String,
    /// Build date, `YYYY-MM-DD` (UTC).
    pub(crate) date: String,
    /// Files whose change means the commit may have changed.
    pub(crate) watch: Vec<PathBuf>,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("--no-optional-locks")
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Describe the checkout at `dir`. A parent repository that merely contains
/// `dir` (a vendored or unpacked copy) does not count: its commit would lie.
pub(crate) fn describe(dir: &Path, epoch: Option<u64>) -> Source {
    let date = civil_date(epoch.unwrap_or_else(now));
    let unknown = Source {
        commit: "unknown".to_owned(),
        date: date.clone(),
        watch: Vec::new(),
    };
    let Some(top) = git(dir, &["rev-parse", "--show-toplevel"]) else {
        return unknown;
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), dir) {
        return unknown;
    }
    let Some(hash) = git(dir, &["rev-parse", "--short=10", "HEAD"]) else {
        return unknown;
    };
    let dirty =
        git(dir, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let mut watch = Vec::new();
    for p in ["HEAD", "index", "packed-refs"] {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", p]) {
            watch.push(dir.join(path));
        }
    }
    if let Some(head_ref) = git(dir, &["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(dir, &["rev-parse", "--git-path", &head_ref])
    {
        watch.push(dir.join(path));
    }
    // A watched path that does not exist (a branch that lives only in
    // packed-refs) would make cargo rerun the build script, and rebuild the
    // crate, on every build.
    watch.retain(|p| p.exists());
    Source {
        commit: if dirty { format!("{hash}-dirty") } else { hash },
        date,
        watch,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD` of a Unix time (Howard Hinnant's days-to-civil).
pub(crate) fn civil_date(epoch: u64) -> String {
    let z = (epoch / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
