//! The signing zone file: render it whole from the template, bump the
//! serial, check it, replace it atomically and reload the server.
//!
//! The file is always rendered from desired state, so a record of an earlier
//! run can never survive. The serial is strictly greater than both the one
//! in the current file and the last one certbridge wrote (kept in the store),
//! and at least a date-based `YYYYMMDDnn`, so it never goes back even if the
//! clock does (gotcha G4: secondaries ignore a serial that does not grow).
//! If the check or the reload fails, the old file is put back.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::handlers::command::shell_quote;

/// Time a check or reload command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Failures of a zone update. The old zone stays in place for each of them.
#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    /// The template could not be read.
    #[error("cannot read the zone template {}", path.display())]
    Template {
        /// Template path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The template did not render (syntax, undefined variable).
    #[error("the zone template {} does not render: {message}", path.display())]
    Render {
        /// Template path.
        path: PathBuf,
        /// minijinja's message, with the line.
        message: String,
    },
    /// A TXT value or label is not safe to put in a zone file.
    #[error("refusing to write {what} `{value}` into the zone: {why}")]
    Unsafe {
        /// Label or value.
        what: &'static str,
        /// The text.
        value: String,
        /// Why.
        why: &'static str,
    },
    /// Reading or writing the zone file failed.
    #[error("cannot write the zone file {}", path.display())]
    Io {
        /// Zone file (or its temp file).
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `check_command` rejected the new zone.
    #[error("`{command}` rejected the new zone (exit {code}); the old zone stays: {output}")]
    Check {
        /// Command run.
        command: String,
        /// Exit code (-1 if killed).
        code: i32,
        /// Its output.
        output: String,
    },
    /// `reload_command` failed; the old file was put back.
    #[error("`{command}` failed (exit {code}); the old zone file was put back: {output}")]
    Reload {
        /// Command run.
        command: String,
        /// Exit code (-1 if killed or timed out).
        code: i32,
        /// Its output.
        output: String,
    },
}

/// One TXT record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TxtRecord {
    /// Label relative to the zone, `@` for the apex.
    pub label: String,
    /// Owner FQDN (no trailing dot).
    pub owner: String,
    /// The DNS-01 value (base64url).
    pub value: String,
}

#[derive(Serialize)]
struct Context<'a> {
    zone: &'a str,
    serial: u32,
    records: &'a [TxtRecord],
}

/// Render the whole zone. Labels and values are checked first: they are
/// written raw (the template is not HTML, so nothing escapes them).
pub fn render(
    template: &Path,
    zone: &str,
    serial: u32,
    records: &[TxtRecord],
) -> Result<String, ZoneError> {
    for r in records {
        check_label(&r.label)?;
        check_value(&r.value)?;
    }
    let source = std::fs::read_to_string(template).map_err(|source| ZoneError::Template {
        path: template.to_path_buf(),
        source,
    })?;
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Without keep_trailing_newline the file's last newline is dropped.
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| ZoneError::Render {
                path: template.to_path_buf(),
                message: e.to_string(),
            })?,
    );
    let mut sorted = records.to_vec();
    sorted.sort();
    sorted.dedup();
    env.render_str(
        &source,
        minijinja::Value::from(minijinja::value::Serde(Context {
            zone,
            serial,
            records: &sorted,
        })),
    )
    .map_err(|e| ZoneError::Render {
        path: template.to_path_buf(),
        message: format!("{e:#}"),
    })
}

fn check_value(v: &str) -> Result<(), ZoneError> {
    // SHA-256 in base64url without padding is 43 characters.
    if v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(ZoneError::Unsafe {
            what: "TXT value",
            value: v.escape_default().to_string(),
            why: "a DNS-01 value is 43 base64url characters",
        })
    }
}

fn check_label(l: &str) -> Result<(), ZoneError> {
    let ok = l == "@"
        || (!l.is_empty()
            && l.len() <= 253
            && l.split('.').all(|p| {
                !p.is_empty()
                    && p.len() <= 63
                    && p.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    })
            }));
    if ok {
        Ok(())
    } else {
        Err(ZoneError::Unsafe {
            what: "label",
            value: l.escape_default().to_string(),
            why: "labels are lowercase letters, digits, `-` and `_`",
        })
    }
}

/// The SOA serial of a zone file's text (the third field after `SOA`).
pub fn parse_serial(text: &str) -> Option<u32> {
    let cleaned: String = text
        .lines()
        .map(|l| l.split(';').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['(', ')'], " ");
    let mut words = cleaned.split_whitespace();
    words.find(|w| w.eq_ignore_ascii_case("SOA"))?;
    // mname, rname, then the serial.
    words.nth(2)?.parse().ok()
}

/// The next serial: above everything seen, and at least `YYYYMMDD00` of `now`.
pub fn next_serial(in_file: Option<u32>, last_written: Option<u32>, now: Timestamp) -> u32 {
    let date: u32 = now
        .strftime("%Y%m%d")
        .to_string()
        .parse::<u32>()
        .map_or(1, |d| d.saturating_mul(100));
    let seen = in_file.max(last_written).map_or(0, |s| s.saturating_add(1));
    seen.max(date)
}

/// A zone file on this machine, with its check and reload commands.
#[derive(Debug, Clone)]
pub struct LocalZone {
    /// Zone name.
    pub zone: String,
    /// Zone file.
    pub file: PathBuf,
    /// `check_command` with `{zone}` and `{file}`.
    pub check: String,
    /// `reload_command` with `{zone}`.
    pub reload: String,
}

impl LocalZone {
    /// The current file's text, if it exists.
    pub fn read(&self) -> Result<Option<String>, ZoneError> {
        match std::fs::read_to_string(&self.file) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ZoneError::Io {
                path: self.file.clone(),
                source,
            }),
        }
    }

    /// Check `text` on a temp file, replace the zone file atomically, reload.
    pub async fn install(&self, text: &str) -> Result<(), ZoneError> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let ioerr = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ZoneError::Io { path, source }
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".certbridge-zone")
            .tempfile_in(dir)
            .map_err(ioerr(dir))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(ioerr(tmp.path()))?;
        tmp.as_file().sync_all().map_err(ioerr(tmp.path()))?;
        let old = self.read()?;
        if let Ok(meta) = std::fs::metadata(&self.file) {
            // BIND must still be able to read it: keep mode and ownership.
            let _ = std::fs::set_permissions(
                tmp.path(),
                std::fs::Permissions::from_mode(meta.mode() & 0o7777),
            );
            let _ = std::os::unix::fs::chown(tmp.path(), Some(meta.uid()), Some(meta.gid()));
        } else {
            let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
        }
        let check = substitute(&self.check, &self.zone, Some(tmp.path()));
        let (code, output) = run(&check).await;
        if code != 0 {
            return Err(ZoneError::Check {
                command: check,
                code,
                output,
            });
        }
        tmp.persist(&self.file).map_err(|e| ZoneError::Io {
            path: self.file.clone(),
            source: e.error,
        })?;
        let reload = substitute(&self.reload, &self.zone, None);
        let (code, output) = run(&reload).await;
        if code != 0 {
            if let Some(old) = old {
                let _ = crate::store::write_atomic(&self.file, old.as_bytes());
                // Reloading the old file again is best effort: it was live before.
                let _ = run(&reload).await;
            }
            return Err(ZoneError::Reload {
                command: reload,
                code,
                output,
            });
        }
        Ok(())
    }
}

/// Fill `{zone}` and `{file}`, shell-quoted.
pub fn substitute(template: &str, zone: &str, file: Option<&Path>) -> String {
    let mut s = template.replace("{zone}", &shell_quote(zone));
    if let Some(f) = file {
        s = s.replace("{file}", &shell_quote(&f.to_string_lossy()));
    }
    s
}

/// Run a shell command with a timeout; (exit code, combined output).
async fn run(command: &str) -> (i32, String) {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            (out.status.code().unwrap_or(-1), text.trim().to_owned())
        }
        Ok(Err(e)) => (-1, format!("cannot run: {e}")),
        Err(_) => (
            -1,
            format!("timed out after {}s", COMMAND_TIMEOUT.as_secs()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_is_parsed_from_soa() {
        let z = "$TTL 60\n@ IN SOA ns1.x. host.x. ( 2026120401 ; serial\n 3600 600 864000 60 )\n";
        assert_eq!(parse_serial(z), Some(2_026_120_401));
        assert_eq!(parse_serial("@ 10 IN SOA a. b. 7 1 1 1 1\n"), Some(7));
        assert_eq!(parse_serial("no soa here"), None);
    }

    #[test]
    fn serial_never_goes_back() {
        let now: Timestamp = "2026-12-04T10:00:00Z".parse().expect("ts");
        assert_eq!(next_serial(None, None, now), 2_026_120_400);
        assert_eq!(next_serial(Some(2_026_120_400), None, now), 2_026_120_401);
        // The clock went back a year: the serial still grows.
        let past: Timestamp = "2025-01-01T00:00:00Z".parse().expect("ts");
        assert_eq!(
            next_serial(Some(2_026_120_405), Some(2_026_120_406), past),
            2_026_120_407
        );
        // A hand-edited lower file does not win over what was last written.
        assert_eq!(
            next_serial(Some(5), Some(2_026_120_409), now),
            2_026_120_410
        );
    }

    #[test]
    fn values_and_labels_are_checked() {
        assert!(check_value(&"a".repeat(43)).is_ok());
        assert!(check_value("abc\"; $INCLUDE /etc/shadow").is_err());
        assert!(check_value(&format!("{}\n", "a".repeat(42))).is_err());
        assert!(check_label("@").is_ok());
        assert!(check_label("host1.example.org").is_ok());
        assert!(check_label("a b").is_err());
        assert!(check_label("$INCLUDE").is_err());
    }

    #[test]
    fn renders_every_value_once_sorted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = dir.path().join("z.j2");
        std::fs::write(&t, "$ORIGIN {{ zone }}.\n@ SOA a. b. {{ serial }} 1 1 1 1\n{% for r in records %}\n{{ r.label }} TXT \"{{ r.value }}\"\n{% endfor %}\n").expect("write");
        let v1 = "A".repeat(43);
        let v2 = "B".repeat(43);
        let recs = vec![
            TxtRecord {
                label: "@".into(),
                owner: "acme.x".into(),
                value: v2.clone(),
            },
            TxtRecord {
                label: "@".into(),
                owner: "acme.x".into(),
                value: v1.clone(),
            },
            TxtRecord {
                label: "@".into(),
                owner: "acme.x".into(),
                value: v1.clone(),
            },
        ];
        let out = render(&t, "acme.x", 42, &recs).expect("render");
        assert_eq!(
            out,
            format!("$ORIGIN acme.x.\n@ SOA a. b. 42 1 1 1 1\n@ TXT \"{v1}\"\n@ TXT \"{v2}\"\n")
        );
    }

    #[test]
    fn undefined_variables_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = dir.path().join("z.j2");
        std::fs::write(&t, "{{ hostmaster }}\n").expect("write");
        let err = render(&t, "acme.x", 1, &[]).expect_err("strict");
        assert!(err.to_string().contains("hostmaster"), "{err}");
    }
}
