//! Scratch copies of the example fleet and fixtures, and the built binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch copy of a fleet folder whose store lives inside the scratch dir.
pub(crate) struct Scratch {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// Copy `inventory/` (or a fixture) from the repo; `state_dir` and
    /// `log_file` are pointed into the copy so tests never see machine state.
    pub(crate) fn copy(rel: &str) -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(&repo().join(rel), &dir.path().join("fleet"));
        let cfg = dir.path().join("fleet/certbridge.yaml");
        let text = std::fs::read_to_string(&cfg).expect("read config");
        let text = replace_key(&text, "state_dir", "state");
        let text = replace_key(&text, "log_file", "certbridge.log");
        let template = repo().join("templates/acme-zone.db.j2");
        let text = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("template:") {
                    format!("  template: {}", template.display())
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&cfg, text).expect("write config");
        Scratch { dir }
    }

    /// The config file.
    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join("fleet/certbridge.yaml")
    }

    /// A file inside the copied fleet.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join("fleet").join(rel)
    }

    /// `certbridge --config <copy> ARGS`.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = certbridge();
        c.arg("--config").arg(self.config()).args(args);
        c
    }

    /// Replace `from` with `to` in a file of the copy (must match).
    pub(crate) fn edit(&self, rel: &str, from: &str, to: &str) {
        let p = self.path(rel);
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(
            text.contains(from),
            "{} does not contain {from:?}",
            p.display()
        );
        std::fs::write(&p, text.replacen(from, to, 1)).expect("write");
    }
}

/// The built binary, with the environment cleared of certbridge variables.
pub(crate) fn certbridge() -> Command {
    let mut c = Command::cargo_bin("certbridge").expect("binary built");
    c.env_remove("CERTBRIDGE_CONFIG")
        .env_remove("CERTBRIDGE_LOG");
    c
}

fn replace_key(text: &str, key: &str, value: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with(&format!("{key}:")) {
                format!("{key}: {value}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).expect("copy");
        }
    }
}
