//! Installing and identifying the binary: shell completions, man pages and
//! `--version` (with `build/version.rs`, which `build.rs` uses).

use clap::CommandFactory as _;
use predicates::prelude::*;

use crate::support::fleet::{certbridge, repo};

#[path = "../build/version.rs"]
#[allow(dead_code)]
mod build_version;

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
