//! DNS faults, in the lab: a zone template that does not render, an
//! authoritative server that lags or never gets the update, and
//! `_acme-challenge` CNAMEs that are missing or point outside the signing
//! zone. (A failing zone check and a failing reload are covered in
//! `lab_pulse`.)

use std::time::{Duration, Instant};

use crate::support::fleet_lab::{FleetLab, outcomes};
use crate::support::lab::{CnameMode, LabOptions};

const FLEET: &str = "inventory/certbridge.yaml";
const NB01: &str = "nb01-opendev-org-main";
const DOCS: &str = "static01-docs-opendev-org";

#[test]
fn a_zone_template_that_does_not_render_stops_before_any_order() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let zone = fl.zone_text();
    let config = std::fs::read_to_string(&fl.config).expect("config");
    let template = fl.fleet_dir().join("broken-zone.db.j2");
    let original = config
        .split("\"template\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the config names a template")
        .to_owned();
    fl.edit(
        "certbridge.yaml",
        &format!("\"template\": \"{original}\""),
        &format!("\"template\": \"{}\"", template.display()),
    );
    let good = std::fs::read_to_string(fl.fleet_dir().join(&original))
        .or_else(|_| std::fs::read_to_string(&original))
        .expect("the template");
    // A typo inside the record loop (strict undefined), then a syntax error.
    let broken = [
        good.replace("record.value", "record.valeu"),
        good.replace("{% endfor %}", ""),
    ];
    for text in &broken {
        assert_ne!(text, &good, "the template has the expected shape");
        std::fs::write(&template, text).expect("write template");
        for args in [&["pulse"][..], &["check"][..]] {
            let out = fl.run(args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains("broken-zone.db.j2") && stderr.contains("does not render"),
                "{args:?}: {stderr}"
            );
        }
    }
    assert_eq!(fl.pebble_orders(), 0, "nothing was ordered");
    assert_eq!(fl.zone_text(), zone, "the old zone stays");

    std::fs::write(&template, &good).expect("write template");
    let r = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(outcomes(&r)[NB01].0, "issued");
}

/// SIGSTOP/SIGCONT of this lab's secondary `named` (its pid file, checked
/// against its command line); continued when dropped.
struct Paused(u32);

impl Paused {
    fn secondary(fl: &FleetLab) -> Paused {
        let dir = fl.lab.dir().join("bind2");
        let pid: u32 = std::fs::read_to_string(dir.join("named.run.pid"))
            .expect("the secondary's pid file")
            .trim()
            .parse()
            .expect("pid");
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            cmdline.contains("named") && cmdline.contains(&dir.display().to_string()),
            "pid {pid} is not this lab's secondary: {cmdline}"
        );
        signal(pid, "STOP");
        Paused(pid)
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(ok.success(), "kill -{sig} {pid}");
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}

fn secondary_fleet() -> FleetLab {
    FleetLab::start_with(FLEET, LabOptions::default(), |s| s.secondary())
}

#[test]
fn a_secondary_that_never_gets_the_update_times_out_naming_it() {
    let fl = secondary_fleet();
    let secondary = fl.lab.info().dns_secondary.clone().expect("a secondary");
    fl.edit(
        "certbridge.yaml",
        "\"propagation_timeout\": \"30s\"",
        "\"propagation_timeout\": \"4s\"",
    );
    let paused = Paused::secondary(&fl);
    let started = Instant::now();
    let r = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 1);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded by the timeout"
    );
    let (outcome, error) = outcomes(&r)[NB01].clone();
    assert_eq!(outcome, "failed");
    assert!(
        error.contains(&secondary) && error.contains("does not answer"),
        "{error}"
    );
    let dns_error = r["dns"]["outcome"]["error"].as_str().expect("dns error");
    assert!(dns_error.contains(&secondary), "{dns_error}");
    assert!(
        !fl.zone_text().contains("TXT"),
        "the values were cleaned up:\n{}",
        fl.zone_text()
    );
    drop(paused);

    // Back: the journaled order is resumed, not ordered again.
    let r = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(outcomes(&r)[NB01].0, "issued");
    assert_eq!(r["orders"]["created"], 0);
    assert_eq!(fl.pebble_orders(), 1);
}

#[test]
fn a_secondary_that_lags_is_waited_for() {
    let fl = secondary_fleet();
    let paused = Paused::secondary(&fl);
    let resume = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(4));
        drop(paused);
    });
    let r = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    resume.join().expect("resume thread");
    assert_eq!(outcomes(&r)[NB01].0, "issued");
    let waited = r["dns"]["outcome"]["propagation_seconds"]
        .as_f64()
        .expect("propagation seconds");
    assert!(waited >= 1.0, "propagation took {waited}s: was it paused?");
    assert_eq!(fl.pebble_orders(), 1);
}

#[test]
fn a_missing_or_misdirected_cname_fails_that_certificate_alone_naming_the_record() {
    let fl = FleetLab::start_with(FLEET, LabOptions::default(), |mut spec| {
        spec.names.retain(|(n, _)| n != "nb01.opendev.org");
        for (n, mode) in &mut spec.names {
            if n == "docs.opendev.org" {
                *mode = CnameMode::Elsewhere;
            }
        }
        spec
    });
    let zone = fl.lab.info().signing_zone.clone();
    let r = fl.json(&["pulse"], 1);
    let o = outcomes(&r);
    let (outcome, error) = &o[NB01];
    assert_eq!(outcome, "failed");
    assert!(
        error.contains(&format!(
            "add `_acme-challenge.nb01.opendev.org. IN CNAME {zone}.`"
        )),
        "{error}"
    );
    let (outcome, error) = &o[DOCS];
    assert_eq!(outcome, "failed");
    assert!(
        error.contains("_acme-challenge.docs.opendev.org")
            && error.contains("outside the signing zone"),
        "{error}"
    );
    assert!(
        o.iter()
            .filter(|(k, _)| *k != NB01 && *k != DOCS)
            .all(|(_, (v, _))| v == "issued"),
        "{o:#?}"
    );
    assert_eq!(r["orders"]["created"], o.len() - 2);
    assert_eq!(fl.pebble_orders(), o.len() - 2, "nothing ordered for them");
}
