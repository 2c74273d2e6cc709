//! A lab wired to a certbridge fleet: the lab's hosts and names come from
//! the fleet's own plan (`tests/lab/wire-fleet.sh spec`), and the config
//! points the fleet's inventory at the lab (`wire-fleet.sh config`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

use super::fleet::repo;
use super::lab::{CnameMode, Lab, LabOptions, LabSpec, lab_script};

/// A running lab with a fleet wired to it.
pub(crate) struct FleetLab {
    /// The lab (dropped last: it stops the daemons).
    pub lab: Lab,
    /// The generated certbridge config.
    pub config: PathBuf,
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_certbridge"))
}

impl FleetLab {
    /// Start a lab for the fleet whose config is `rel` (from the repo root).
    pub(crate) fn start(rel: &str, opts: LabOptions) -> FleetLab {
        FleetLab::start_with(rel, opts, |s| s)
    }

    /// Like [`FleetLab::start`], with a chance to change the lab spec
    /// (a secondary DNS server, a host without the letsencrypt group).
    pub(crate) fn start_with(
        rel: &str,
        opts: LabOptions,
        adjust: impl FnOnce(LabSpec) -> LabSpec,
    ) -> FleetLab {
        let config = repo().join(rel);
        let out = std::process::Command::new(lab_script("wire-fleet.sh"))
            .arg("spec")
            .arg(bin())
            .arg(&config)
            .output()
            .expect("run wire-fleet.sh spec");
        assert!(
            out.status.success(),
            "wire-fleet spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let spec = adjust(parse_spec(&String::from_utf8_lossy(&out.stdout)));
        let lab = Lab::start(&spec, opts);
        let out = std::process::Command::new(lab_script("wire-fleet.sh"))
            .arg("config")
            .arg(bin())
            .arg(&config)
            .arg(lab.dir())
            .arg(lab.dir().join("fleet"))
            .output()
            .expect("run wire-fleet.sh config");
        assert!(
            out.status.success(),
            "wire-fleet config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        FleetLab { lab, config }
    }

    /// The folder holding the generated config, store and log.
    pub(crate) fn fleet_dir(&self) -> &Path {
        self.config.parent().expect("config has a folder")
    }

    /// `certbridge --config <lab config> ARGS`, not yet run.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.env_remove("CERTBRIDGE_CONFIG")
            .env_remove("CERTBRIDGE_FAULT");
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    /// Run certbridge and return its output (any exit code).
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run certbridge")
    }

    /// Run `--output json ARGS`, expect `code`, parse stdout.
    pub(crate) fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "certbridge {args:?}: stdout {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    /// Replace text in a generated file (config, handlers, lab-hosts).
    pub(crate) fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.fleet_dir().join(file);
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(text.contains(from), "{} lacks {from:?}", p.display());
        std::fs::write(&p, text.replace(from, to)).expect("write");
    }

    /// How many orders Pebble has been asked to create so far.
    pub(crate) fn pebble_orders(&self) -> usize {
        let log =
            std::fs::read_to_string(self.lab.dir().join("pebble/pebble.log")).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("POST /order-plz"))
            .count()
    }

    /// The signing zone file's text.
    pub(crate) fn zone_text(&self) -> String {
        std::fs::read_to_string(&self.lab.info().zone_file).expect("zone file")
    }
}

fn parse_spec(text: &str) -> LabSpec {
    let mut lines = text.lines();
    let zone = lines
        .next()
        .and_then(|l| l.strip_prefix("signing_zone "))
        .expect("spec starts with signing_zone");
    let mut spec = LabSpec::new(zone);
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["name", name, "apex"] => spec = spec.name(name, CnameMode::Apex),
            ["name", name, "label"] => spec = spec.name(name, CnameMode::Label),
            ["host", name, certs @ ..] => spec = spec.host(name, certs),
            _ => panic!("unexpected spec line {line:?}"),
        }
    }
    spec
}

/// Each certificate's `(outcome, error)` in a pulse report (JSON).
pub(crate) fn outcomes(report: &serde_json::Value) -> BTreeMap<String, (String, String)> {
    report["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| {
            (
                c["cert"].as_str().expect("cert").to_owned(),
                (
                    c["outcome"].as_str().expect("outcome").to_owned(),
                    c["error"].as_str().unwrap_or("").to_owned(),
                ),
            )
        })
        .collect()
}
