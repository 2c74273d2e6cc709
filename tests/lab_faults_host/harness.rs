//! What the host fault tests share: reading reports and host folders, a
//! certbridge run held at a pause point, and host faults undone on drop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fleet_lab::FleetLab;
use crate::support::lab::{lab_script, sha256_file};

pub(crate) const FLEET: &str = "inventory/certbridge.yaml";
pub(crate) const NB01: &str = "nb01.opendev.org";
pub(crate) const NB01_CERT: &str = "nb01-opendev-org-main";

pub(crate) fn items(report: &Value) -> &Vec<Value> {
    report["certificates"].as_array().expect("certificates")
}

pub(crate) fn cert<'a>(report: &'a Value, key: &str) -> &'a Value {
    items(report)
        .iter()
        .find(|c| c["cert"] == key)
        .unwrap_or_else(|| panic!("no {key} in the report"))
}

pub(crate) fn others_all(report: &Value, except: &[&str], outcome: &str) {
    let bad: BTreeMap<String, String> = items(report)
        .iter()
        .filter(|c| !except.iter().any(|e| c["cert"] == *e))
        .filter(|c| c["outcome"] != outcome)
        .map(|c| (c["cert"].to_string(), c["outcome"].to_string()))
        .collect();
    assert!(bad.is_empty(), "expected all others {outcome}: {bad:#?}");
}

pub(crate) fn handler<'a>(report: &'a Value, cert: &str) -> &'a Value {
    let name = format!("letsencrypt updated {cert}");
    report["handlers"]
        .as_array()
        .expect("handlers")
        .iter()
        .find(|h| h["handler"] == name.as_str())
        .unwrap_or_else(|| panic!("no handler run for {cert}: {:#}", report["handlers"]))
}

pub(crate) fn pending(fl: &FleetLab, host: &str) -> Vec<String> {
    let path = fl.fleet_dir().join(format!("state/hosts/{host}.json"));
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("host record")).expect("JSON");
    rec["pending_handlers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h.as_str().expect("name").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Give `cert`'s handler an action of its own running `run`.
pub(crate) fn own_action(fl: &FleetLab, cert: &str, run: &str, timeout: &str) {
    let path = fl.fleet_dir().join("handlers.yaml");
    let mut map: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON map");
    let action = format!("fault-{cert}");
    map["actions"][&action] = json!({"run": run, "timeout": timeout});
    map["handlers"][format!("letsencrypt updated {cert}")]["actions"] = json!([action]);
    std::fs::write(&path, map.to_string()).expect("write handlers.yaml");
}

pub(crate) fn host_of(report: &Value, cert_key: &str) -> String {
    cert(report, cert_key)["host"]
        .as_str()
        .expect("host")
        .to_owned()
}

/// The folder the lab mounts as a host's /etc/letsencrypt-certs.
pub(crate) fn certs_dir(fl: &FleetLab, host: &str) -> PathBuf {
    fl.lab.host(host).dir.join("certs")
}

/// What a host serves from `<first>/`: where `current` points and the
/// checksum of each of the four names services read.
pub(crate) fn on_disk(fl: &FleetLab, host: &str, first: &str) -> (String, Vec<String>) {
    let dir = certs_dir(fl, host).join(first);
    let current = std::fs::read_link(dir.join(".certbridge/current"))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let sums = [
        format!("{first}.key"),
        format!("{first}.cer"),
        "ca.cer".into(),
        "fullchain.cer".into(),
    ]
    .iter()
    .map(|n| sha256_file(&dir.join(n)))
    .collect();
    (current, sums)
}

pub(crate) fn served(fl: &FleetLab, host: &str, first: &str) -> String {
    fl.lab.tls_handshake(host, first).fingerprint
}

/// A certbridge run in the background, paused at a fault point.
pub(crate) struct Paused {
    child: Child,
    dir: tempfile::TempDir,
    point: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Paused {
    pub(crate) fn start(fl: &FleetLab, args: &[&str], point: &str) -> Paused {
        let dir = tempfile::tempdir().expect("tempdir");
        let stdout = dir.path().join("stdout");
        let stderr = dir.path().join("stderr");
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let child = Command::new(env!("CARGO_BIN_EXE_certbridge"))
            .env_remove("CERTBRIDGE_CONFIG")
            .env_remove("CERTBRIDGE_FAULT")
            .env("CERTBRIDGE_PAUSE", point)
            .env("CERTBRIDGE_PAUSE_DIR", dir.path())
            .arg("--config")
            .arg(&fl.config)
            .args(&all)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start certbridge");
        let mut p = Paused {
            child,
            dir,
            point: point.to_owned(),
            stdout,
            stderr,
        };
        p.wait_reached();
        p
    }

    fn wait_reached(&mut self) {
        let reached = self.dir.path().join(format!("{}.reached", self.point));
        let deadline = Instant::now() + Duration::from_secs(180);
        while !reached.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "certbridge ended ({status}) before reaching `{}`:\n{}",
                    self.point,
                    self.stderr_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "certbridge never reached `{}`:\n{}",
                self.point,
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Let it go on; wait (bounded) for its exit code and JSON report.
    pub(crate) fn resume(mut self, within: Duration) -> (i32, Value, Duration) {
        let started = Instant::now();
        std::fs::write(self.dir.path().join(format!("{}.go", self.point)), "")
            .expect("write go file");
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "certbridge did not finish within {within:?} after `{}`:\n{}",
                    self.point,
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let elapsed = started.elapsed();
        let out = std::fs::read_to_string(&self.stdout).expect("stdout");
        let report = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("no JSON report ({e}): {out}\n{}", self.stderr_text()));
        (status.code().expect("exit code"), report, elapsed)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A host fault undone on drop, so a failing test leaves nothing stopped
/// or mounted behind.
pub(crate) struct HostFault {
    script: &'static str,
    undo: &'static str,
    lab: PathBuf,
    host: String,
}

impl HostFault {
    pub(crate) fn apply(
        fl: &FleetLab,
        script: &'static str,
        (verb, undo): (&str, &'static str),
        host: &str,
    ) -> HostFault {
        let fault = HostFault {
            script,
            undo,
            lab: fl.lab.dir().to_path_buf(),
            host: host.to_owned(),
        };
        fault_script(script, verb, &fault.lab, host);
        fault
    }
}

impl Drop for HostFault {
    fn drop(&mut self) {
        let _ = Command::new(lab_script(self.script))
            .arg(self.undo)
            .arg(&self.lab)
            .arg(&self.host)
            .status();
    }
}

pub(crate) fn fault_script(script: &str, verb: &str, lab: &Path, host: &str) -> String {
    let out = Command::new(lab_script(script))
        .arg(verb)
        .arg(lab)
        .arg(host)
        .output()
        .expect("run fault script");
    assert!(
        out.status.success(),
        "{script} {verb} {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
