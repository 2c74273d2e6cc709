//! Hostile input: fuzzed files, resource bombs and injection attempts.
//!
//! Every input here must either load or be refused as an input problem
//! (exit 2) that names the file and, where the parser knows it, the line;
//! nothing may panic, run away with time or memory, or reach a shell, a
//! path, a zone file or a template as anything but inert data.

mod bounds;
mod fuzz;
mod injection;

use std::path::{Path, PathBuf};

/// A throwaway fleet: config, one hosts file, a handler map, group_vars and
/// host_vars folders, all in a temp dir.
pub(crate) struct Mini {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

/// A valid hosts file with one host and one certificate (`web01-main`).
pub(crate) const HOSTS: &str = "\
all:
  hosts:
    web01.example.org:
      ansible_host: 192.0.2.10
      letsencrypt_certs:
        web01-main:
          - web01.example.org
          - www.example.org
  children:
    letsencrypt:
      hosts:
        web01.example.org:
";

/// A valid handler map for [`HOSTS`].
pub(crate) const HANDLERS: &str = "\
actions:
  reload:
    run: systemctl reload nginx
handlers:
  letsencrypt updated web01-main: reload
";

impl Mini {
    /// A valid fleet; change files with [`Mini::write`].
    pub(crate) fn new() -> Mini {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = Mini { dir };
        m.write(
            "certbridge.yaml",
            "inventory: [hosts.yaml, groups.yaml]\nhandlers: handlers.yaml\nstate_dir: state\nlog_file: certbridge.log\n",
        );
        m.write("hosts.yaml", HOSTS);
        m.write("groups.yaml", "plugin: yamlgroup\ngroups:\n  web: 'web*'\n");
        m.write("handlers.yaml", HANDLERS);
        m
    }

    /// Write `text` (or bytes) to `rel`, creating folders.
    pub(crate) fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }

    /// A path in the fleet folder.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The config file.
    pub(crate) fn config(&self) -> PathBuf {
        self.path("certbridge.yaml")
    }

    /// Load everything through the library, as every command does first.
    pub(crate) fn load(&self) -> Result<certbridge::load::Loaded, certbridge::diag::InputError> {
        certbridge::load::load(&self.config())
    }

    /// Load, expect refusal, and return every error as `file:line: item: message`.
    pub(crate) fn refused(&self) -> Vec<String> {
        let err = self.load().expect_err("hostile input must be refused");
        err.problems
            .iter()
            .filter(|p| p.severity == certbridge::diag::Severity::Error)
            .map(ToString::to_string)
            .collect()
    }
}

/// Does one of `problems` mention every fragment?
pub(crate) fn mentions(problems: &[String], fragments: &[&str]) -> bool {
    problems
        .iter()
        .any(|p| fragments.iter().all(|f| p.contains(f)))
}

/// Assert that `problems` include one naming `file` and each fragment.
#[track_caller]
pub(crate) fn assert_refused(problems: &[String], file: &Path, fragments: &[&str]) {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name");
    let mut want = vec![name];
    want.extend_from_slice(fragments);
    assert!(
        mentions(problems, &want),
        "no problem mentions {want:?}:\n{}",
        problems.join("\n")
    );
}
