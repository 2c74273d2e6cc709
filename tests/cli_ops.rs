//! Operator tooling without a lab: `status` and its danger zone on a store
//! built here, `export`, the lock-busy exit code, shell completions, the man
//! page and `--version`.

use std::fs::File;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use clap::CommandFactory as _;
use predicates::prelude::*;

use crate::support::fleet::{Scratch, certbridge, repo};

#[path = "../build/version.rs"]
#[allow(dead_code)]
mod build_version;

/// A leaf for `name` valid from an hour ago until `days` from now.
fn leaf_pem(name: &str, days: i64) -> String {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().expect("key");
    params.self_signed(&key).expect("sign").pem()
}

/// Put version `version` of `key` (expiring in `days`) into the store at
/// `state`, optionally making it current.
fn store_version(state: &Path, key: &str, name: &str, version: &str, days: i64, current: bool) {
    let dir = state.join("certs").join(key).join(version);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("cert.pem"), leaf_pem(name, days)).expect("write cert");
    if current {
        std::fs::write(
            state.join("certs").join(key).join("current"),
            format!("{version}\n"),
        )
        .expect("write current");
    }
}

/// Record `host` as having `version` of `key`.
fn store_deployed(state: &Path, host: &str, key: &str, version: &str) {
    std::fs::create_dir_all(state.join("hosts")).expect("mkdir");
    let record = serde_json::json!({
        "deployed": {key: {"version": version, "files": {}, "at": "2026-12-01T00:00:00Z"}},
        "pending_handlers": [],
    });
    std::fs::write(
        state.join("hosts").join(format!("{host}.json")),
        record.to_string(),
    )
    .expect("write host record");
}

/// gitea01: a fresh version is stored (60 days) but the host still has the
/// old one (2 days); nb01: the host has the current version (3 days);
/// every other certificate is not issued.
fn fleet_near_expiry() -> Scratch {
    let s = Scratch::copy("inventory");
    let state = s.path("state");
    store_version(
        &state,
        "gitea01-main",
        "gitea01.opendev.org",
        "v1",
        2,
        false,
    );
    store_version(
        &state,
        "gitea01-main",
        "gitea01.opendev.org",
        "v2",
        60,
        true,
    );
    store_deployed(&state, "gitea01.opendev.org", "gitea01-main", "v1");
    store_version(
        &state,
        "nb01-opendev-org-main",
        "nb01.opendev.org",
        "v1",
        3,
        true,
    );
    store_deployed(&state, "nb01.opendev.org", "nb01-opendev-org-main", "v1");
    s
}

#[test]
fn status_exits_1_when_a_hosts_certificate_is_in_the_danger_zone() {
    let s = fleet_near_expiry();
    let out = s
        .cmd(&["status"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("DANGER: 2 certificate(s) on their hosts expire within 7d:")
            && text.contains("  gitea01.opendev.org gitea01-main: expires ")
            && text.contains("  nb01.opendev.org nb01-opendev-org-main: expires "),
        "{text}"
    );
    // The host's old version decides, not the fresh stored one: with a
    // 1-day zone nothing is in danger.
    s.cmd(&["status", "--danger-zone", "1d"]).assert().code(0);
    s.cmd(&["status", "--danger-zone", "60h"]).assert().code(1);
    s.cmd(&["status", "--limit", "gitea02.opendev.org"])
        .assert()
        .code(0);

    let out = s
        .cmd(&["--output", "json", "status"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(doc["danger"], true);
    assert_eq!(doc["danger_zone_seconds"], 7 * 86_400);
    let danger: Vec<&str> = doc["certificates"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["danger"] == true)
        .map(|r| r["cert"].as_str().expect("cert"))
        .collect();
    assert_eq!(danger, ["gitea01-main", "nb01-opendev-org-main"]);
}

#[test]
fn danger_zone_comes_from_the_config_and_the_flag_wins() {
    let s = fleet_near_expiry();
    s.edit(
        "certbridge.yaml",
        "certcheck_file: null",
        "certcheck_file: null\ndanger_zone: 1d",
    );
    s.cmd(&["status"]).assert().code(0);
    s.cmd(&["status", "--danger-zone", "3d"]).assert().code(1);
    s.edit("certbridge.yaml", "danger_zone: 1d", "danger_zone: soon");
    s.cmd(&["status"]).assert().code(2).stderr(
        predicate::str::contains("certbridge.yaml:").and(predicate::str::contains("danger_zone")),
    );
    s.cmd(&["status", "--danger-zone", "soon"]).assert().code(2);
}

#[test]
fn export_prints_or_writes_the_monitoring_files() {
    let s = fleet_near_expiry();
    let metrics = s
        .cmd(&["export", "metrics"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    for line in [
        "certbridge_cert_danger{host=\"nb01.opendev.org\",cert=\"nb01-opendev-org-main\"} 1",
        "certbridge_cert_deployed{host=\"gitea01.opendev.org\",cert=\"gitea01-main\"} 0",
        "certbridge_cert_last_success_timestamp_seconds{host=\"zuul01.opendev.org\",cert=\"zuul01-opendev-org-main\"} 0",
        "# TYPE certbridge_cert_expiry_timestamp_seconds gauge",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    // Not written without a path in the config: an input error.
    s.cmd(&["export", "metrics", "--write"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`metrics_file` is not set"));
    s.edit(
        "certbridge.yaml",
        "certcheck_file: null",
        "certcheck_file: certcheck/ssldomains",
    );
    let list = s
        .cmd(&["export", "certcheck"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    s.cmd(&["export", "certcheck", "--write"]).assert().code(0);
    let path = s.path("certcheck/ssldomains");
    assert_eq!(std::fs::read(&path).expect("written"), list);
    assert_eq!(
        std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
        0o644
    );
    let list = String::from_utf8_lossy(&list);
    assert!(list.starts_with("gitea01.opendev.org 443\n"), "{list}");
    assert!(
        list.contains("\nmirror.dfw.rax.opendev.org 4443\n"),
        "{list}"
    );
}

#[test]
fn a_pulse_that_finds_the_lock_taken_exits_75_and_touches_nothing() {
    let s = Scratch::copy("inventory");
    s.edit(
        "certbridge.yaml",
        "metrics_file: null",
        "metrics_file: textfile/certbridge.prom",
    );
    let state = s.path("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    let lock = File::create(state.join("certbridge.lock")).expect("lock file");
    lock.try_lock().expect("take the lock");
    s.cmd(&["pulse"])
        .assert()
        .code(75)
        .stderr(predicate::str::contains(
            "another certbridge run holds the store lock",
        ));
    s.cmd(&["renew", "gitea01.opendev.org"]).assert().code(75);
    assert!(
        !s.path("textfile").exists(),
        "monitoring files written while locked"
    );
    assert!(!state.join("monitor.json").exists());
}

/// Every subcommand a user can call (clap's own `help` included).
fn subcommands() -> Vec<String> {
    certbridge::cli::Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect()
}

#[test]
fn completions_name_every_subcommand() {
    let subs = subcommands();
    assert!(subs.len() >= 8, "{subs:?}");
    for shell in ["bash", "zsh", "fish"] {
        let out = certbridge()
            .args(["completions", shell])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&out);
        for sub in &subs {
            assert!(
                text.contains(sub.as_str()),
                "{shell} completion lacks `{sub}`"
            );
        }
    }
    let bash = certbridge()
        .args(["completions", "bash"])
        .output()
        .expect("run");
    let bash = String::from_utf8_lossy(&bash.stdout);
    assert!(bash.contains("complete -F _certbridge"), "{bash}");
    assert!(bash.contains("--danger-zone"));
    certbridge().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_pages_describe_every_subcommand_and_the_exit_codes() {
    let out = certbridge()
        .arg("manpage")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let page = String::from_utf8_lossy(&out);
    assert!(
        page.starts_with(".ie ") || page.contains(".TH certbridge 1"),
        "{page}"
    );
    for sub in subcommands() {
        assert!(
            page.contains(&format!("certbridge\\-{}(1)", sub.replace('-', "\\-"))),
            "man page lacks `{sub}`"
        );
    }
    assert!(
        page.contains("another run holds the store lock"),
        "exit codes missing"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let to = dir.path().join("man1");
    certbridge()
        .args(["manpage", "--dir"])
        .arg(&to)
        .assert()
        .code(0);
    let mut pages: Vec<String> = std::fs::read_dir(&to)
        .expect("pages written")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut want: Vec<String> = subcommands()
        .iter()
        .map(|s| format!("certbridge-{s}.1"))
        .chain(["certbridge.1".to_owned()])
        .collect();
    want.sort();
    assert_eq!(pages, want);
    let status = std::fs::read_to_string(to.join("certbridge-status.1")).expect("status page");
    assert!(status.contains("danger\\-zone"), "{status}");
}

#[test]
fn version_names_the_commit_and_build_date() {
    let out = certbridge()
        .arg("--version")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let line = String::from_utf8_lossy(&out).trim().to_owned();
    let want_prefix = format!("certbridge {} (", env!("CARGO_PKG_VERSION"));
    let rest = line
        .strip_prefix(&want_prefix)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version: {line}"));
    let (commit, date) = rest.split_once(' ').expect("commit and date");
    // Built from this checkout: the same commit git reports now.
    let head = std::process::Command::new("git")
        .args(["-C"])
        .arg(repo())
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .expect("git is needed to check the commit");
    assert!(
        head.status.success(),
        "not a git checkout: {}",
        repo().display()
    );
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    assert_eq!(commit.trim_end_matches("-dirty"), head, "{line}");
    let d: Vec<&str> = date.split('-').collect();
    assert!(
        d.len() == 3 && d[0].len() == 4 && d.iter().all(|p| p.parse::<u32>().is_ok()),
        "{line}"
    );
    // Subcommands say the same.
    certbridge()
        .args(["status", "--version"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(rest));
}

#[test]
fn build_version_falls_back_to_unknown_outside_its_own_checkout() {
    assert_eq!(build_version::civil_date(0), "1970-01-01");
    assert_eq!(build_version::civil_date(951_782_400), "2000-02-29");
    assert_eq!(build_version::civil_date(1_796_378_400), "2026-12-04");
    // A folder that is no git checkout (an unpacked tarball).
    let plain = tempfile::tempdir().expect("tempdir");
    let s = build_version::describe(plain.path(), Some(0));
    assert_eq!(
        (s.commit.as_str(), s.date.as_str()),
        ("unknown", "1970-01-01")
    );
    assert!(s.watch.is_empty());
    // A copy unpacked inside some other repository: that repository's
    // commit is not ours.
    let outer = tempfile::tempdir().expect("tempdir");
    let ok = std::process::Command::new("git")
        .arg("init")
        .arg("-q")
        .arg(outer.path())
        .status()
        .expect("git is needed for this test");
    assert!(ok.success());
    let inner = outer.path().join("certbridge-0.1.0");
    std::fs::create_dir_all(&inner).expect("mkdir");
    assert_eq!(build_version::describe(&inner, None).commit, "unknown");
    // This checkout: a hash, and git's files to watch.
    let here = build_version::describe(&repo(), None);
    assert_ne!(here.commit, "unknown");
    assert!(
        here.watch.iter().any(|p| p.ends_with("HEAD")),
        "{:?}",
        here.watch
    );
}

#[test]
fn a_pulse_that_cannot_read_the_store_counts_the_failure_and_says_the_files_are_stale() {
    let s = fleet_near_expiry();
    s.edit(
        "certbridge.yaml",
        "metrics_file: null",
        "metrics_file: textfile/certbridge.prom",
    );
    s.cmd(&["export", "metrics", "--write"]).assert().code(0);
    let before = std::fs::read_to_string(s.path("textfile/certbridge.prom")).expect("written");
    std::fs::write(s.path("state/hosts/nb01.opendev.org.json"), "{not json").expect("corrupt");
    for _ in 0..2 {
        s.cmd(&["pulse"]).assert().code(1).stderr(
            predicate::str::contains("reading the central store")
                .and(predicate::str::contains("monitoring files not written")),
        );
    }
    // The old file stays (node_exporter's mtime shows its age) ...
    assert_eq!(
        std::fs::read_to_string(s.path("textfile/certbridge.prom")).expect("still there"),
        before
    );
    // ... and the failures are counted for when the store is readable again.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.path("state/monitor.json")).expect("monitor.json"),
    )
    .expect("json");
    assert_eq!(state["pulse"]["success"], false);
    assert_eq!(state["pulse"]["consecutive_failures"], 2);
    assert!(
        state["pulse"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("nb01.opendev.org.json")),
        "{state}"
    );
}

#[test]
fn export_metrics_write_matches_what_it_prints() {
    let s = fleet_near_expiry();
    s.edit(
        "certbridge.yaml",
        "metrics_file: null",
        "metrics_file: textfile/certbridge.prom",
    );
    let printed = s
        .cmd(&["export", "metrics"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    s.cmd(&["export", "metrics", "--write"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("wrote "));
    let path = s.path("textfile/certbridge.prom");
    assert_eq!(std::fs::read(&path).expect("written"), printed);
    assert_eq!(
        std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
        0o644
    );
}
