//! Faults on the host side, in the lab: a refused connection, a changed
//! host key, a host that hangs half-way through an upload, a full disk,
//! handler actions that time out, fail or print 50 MB, and two pulses at
//! once. Each case asserts that the fault stays with its host, that no
//! half-written set becomes visible, and that the next pulse finishes the
//! work without ordering again.
//!
//! Covered in `lab_pulse` and not repeated here: a host that is
//! unreachable on its first deployment, an unknown host key on a fresh
//! host, a handler that exits non-zero staying pending (with its `after:`
//! dependants) until it succeeds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fleet_lab::FleetLab;
use crate::support::lab::{LabOptions, lab_script, sha256_file};

const FLEET: &str = "inventory/certbridge.yaml";
const NB01: &str = "nb01.opendev.org";
const NB01_CERT: &str = "nb01-opendev-org-main";

fn items(report: &Value) -> &Vec<Value> {
    report["certificates"].as_array().expect("certificates")
}

fn cert<'a>(report: &'a Value, key: &str) -> &'a Value {
    items(report)
        .iter()
        .find(|c| c["cert"] == key)
        .unwrap_or_else(|| panic!("no {key} in the report"))
}

fn others_all(report: &Value, except: &[&str], outcome: &str) {
    let bad: BTreeMap<String, String> = items(report)
        .iter()
        .filter(|c| !except.iter().any(|e| c["cert"] == *e))
        .filter(|c| c["outcome"] != outcome)
        .map(|c| (c["cert"].to_string(), c["outcome"].to_string()))
        .collect();
    assert!(bad.is_empty(), "expected all others {outcome}: {bad:#?}");
}

fn handler<'a>(report: &'a Value, cert: &str) -> &'a Value {
    let name = format!("letsencrypt updated {cert}");
    report["handlers"]
        .as_array()
        .expect("handlers")
        .iter()
        .find(|h| h["handler"] == name.as_str())
        .unwrap_or_else(|| panic!("no handler run for {cert}: {:#}", report["handlers"]))
}

fn pending(fl: &FleetLab, host: &str) -> Vec<String> {
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
fn own_action(fl: &FleetLab, cert: &str, run: &str, timeout: &str) {
    let path = fl.fleet_dir().join("handlers.yaml");
    let mut map: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON map");
    let action = format!("fault-{cert}");
    map["actions"][&action] = json!({"run": run, "timeout": timeout});
    map["handlers"][format!("letsencrypt updated {cert}")]["actions"] = json!([action]);
    std::fs::write(&path, map.to_string()).expect("write handlers.yaml");
}

fn host_of(report: &Value, cert_key: &str) -> String {
    cert(report, cert_key)["host"]
        .as_str()
        .expect("host")
        .to_owned()
}

/// The folder the lab mounts as a host's /etc/letsencrypt-certs.
fn certs_dir(fl: &FleetLab, host: &str) -> PathBuf {
    fl.lab.host(host).dir.join("certs")
}

/// What a host serves from `<first>/`: where `current` points and the
/// checksum of each of the four names services read.
fn on_disk(fl: &FleetLab, host: &str, first: &str) -> (String, Vec<String>) {
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

fn served(fl: &FleetLab, host: &str, first: &str) -> String {
    fl.lab.tls_handshake(host, first).fingerprint
}

/// A certbridge run in the background, paused at a fault point.
struct Paused {
    child: Child,
    dir: tempfile::TempDir,
    point: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Paused {
    fn start(fl: &FleetLab, args: &[&str], point: &str) -> Paused {
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Let it go on; wait (bounded) for its exit code and JSON report.
    fn resume(mut self, within: Duration) -> (i32, Value, Duration) {
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
struct HostFault {
    script: &'static str,
    undo: &'static str,
    lab: PathBuf,
    host: String,
}

impl HostFault {
    fn apply(
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

fn fault_script(script: &str, verb: &str, lab: &Path, host: &str) -> String {
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

#[test]
fn a_refused_connection_keeps_that_hosts_pending_work_for_the_next_pulse() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    own_action(
        &fl,
        NB01_CERT,
        "test ! -e /etc/certbridge-lab/fail && /etc/certbridge-lab/record nb01 && /etc/certbridge-lab/reload-nginx",
        "60s",
    );
    fl.lab.ssh_ok(NB01, "touch /etc/certbridge-lab/fail");
    // First pulse: nb01's files land but its handler fails: pending.
    let first = fl.json(&["pulse"], 1);
    assert_eq!(cert(&first, NB01_CERT)["outcome"], "issued");
    assert_eq!(handler(&first, NB01_CERT)["outcome"], "failed");
    let handler_name = format!("letsencrypt updated {NB01_CERT}");
    assert_eq!(pending(&fl, NB01), [handler_name.clone()]);

    // Nothing listens on nb01's port now; a forced renewal of everything
    // renews and deploys the others, stores nb01's and keeps its handler.
    let port = fl.lab.host(NB01).ssh_port;
    let closed = fl.lab.info().port_base + 199;
    fl.edit(
        "lab-hosts.yaml",
        &format!("\"ansible_port\": {port}"),
        &format!("\"ansible_port\": {closed}"),
    );
    let refused = fl.json(&["pulse", "--force"], 1);
    let nb01 = cert(&refused, NB01_CERT);
    assert_eq!(nb01["outcome"], "stored");
    let err = nb01["error"].as_str().expect("error");
    assert!(err.contains(NB01) && err.contains("refused"), "{err}");
    others_all(&refused, &[NB01_CERT], "issued");
    assert_eq!(fl.pebble_orders(), 22);
    assert_eq!(pending(&fl, NB01), [handler_name.clone()]);
    let status = String::from_utf8_lossy(&fl.run(&["status", "--limit", NB01]).stdout).into_owned();
    assert!(status.contains(&handler_name), "{status}");
    assert!(
        fl.lab.handler_log(NB01).is_empty(),
        "the handler never succeeded"
    );

    // Back: the stored renewal is deployed without ordering and the
    // pending handler runs once.
    fl.edit(
        "lab-hosts.yaml",
        &format!("\"ansible_port\": {closed}"),
        &format!("\"ansible_port\": {port}"),
    );
    fl.lab.ssh_ok(NB01, "rm /etc/certbridge-lab/fail");
    let back = fl.json(&["pulse"], 0);
    assert_eq!(cert(&back, NB01_CERT)["outcome"], "deployed");
    assert_eq!(back["orders"]["created"], 0);
    assert_eq!(handler(&back, NB01_CERT)["outcome"], "ran");
    assert_eq!(fl.pebble_orders(), 22);
    assert!(pending(&fl, NB01).is_empty());
    let runs: Vec<String> = fl
        .lab
        .handler_log(NB01)
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    assert_eq!(runs.iter().filter(|w| *w == "nb01").count(), 1, "{runs:?}");
    let certs = fl.fleet_dir().join(format!("state/certs/{NB01_CERT}"));
    let version = std::fs::read_to_string(certs.join("current")).expect("current version");
    let pem = std::fs::read_to_string(certs.join(version.trim()).join("cert.pem")).expect("cert");
    assert_eq!(
        served(&fl, NB01, NB01),
        crate::support::lab::parse_cert(&pem).fingerprint,
        "nb01 serves the renewal stored while it was unreachable"
    );
}

#[test]
fn a_changed_host_key_is_refused_and_nothing_is_written_there() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let info = fl.lab.info();
    let port = fl.lab.host(NB01).ssh_port;
    // Another key for nb01's address: what a man in the middle presents.
    let other = fl.fleet_dir().join("other_host_key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).expect("pub key");
    let other_pub: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    let kh = std::fs::read_to_string(&info.known_hosts).expect("known_hosts");
    let marker = format!("[127.0.0.1]:{port} ");
    let changed: String = kh
        .lines()
        .map(|l| {
            if l.starts_with(&marker) {
                format!("{marker}{}\n", other_pub.join(" "))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(changed, kh, "nb01's key was in known_hosts");
    let copy = fl.fleet_dir().join("known_hosts.changed");
    std::fs::write(&copy, changed).expect("write");
    fl.edit(
        "certbridge.yaml",
        &format!("\"known_hosts\": \"{}\"", info.known_hosts.display()),
        &format!("\"known_hosts\": \"{}\"", copy.display()),
    );

    let sshd_log = fl.lab.host(NB01).dir.join("ssh/sshd.log");
    let logins = || {
        std::fs::read_to_string(&sshd_log)
            .expect("sshd log")
            .matches("Accepted")
            .count()
    };
    let logins_before = logins();
    let r = fl.json(&["pulse"], 1);
    let nb01 = cert(&r, NB01_CERT);
    assert_eq!(nb01["outcome"], "stored");
    let err = nb01["error"].as_str().expect("error");
    assert!(err.contains(NB01), "the error names the host: {err}");
    assert!(
        err.contains("host key verification failed: it presents a different key (SHA256:")
            && err.contains("known_hosts.changed:"),
        "{err}"
    );
    others_all(&r, &[NB01_CERT], "issued");
    // The refusal came before authentication: no login, no file.
    assert_eq!(logins(), logins_before, "certbridge logged in to nb01");
    assert!(
        fl.lab
            .ssh_ok(NB01, "ls -A /etc/letsencrypt-certs")
            .trim()
            .is_empty(),
        "nothing was written on the refused host"
    );
}

#[test]
fn a_host_that_hangs_mid_upload_times_out_and_keeps_its_version() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    fl.edit(
        "certbridge.yaml",
        "\"connect_timeout\": \"5s\"",
        "\"connect_timeout\": \"5s\", \"command_timeout\": \"3s\"",
    );
    let limit = ["--limit", NB01];
    fl.json(&["pulse", limit[0], limit[1]], 0);
    let before = on_disk(&fl, NB01, NB01);
    let fingerprint = served(&fl, NB01, NB01);

    // A forced renewal stops before nb01's SFTP session starts (upload-0),
    // then after its first file went up (upload-1); the host's sessions are
    // frozen there; then it goes on.
    for point in ["upload-0", "upload-1"] {
        let paused = Paused::start(&fl, &["renew", NB01], &format!("{point}@{NB01}"));
        let frozen = HostFault::apply(&fl, "host-fault-freeze.sh", ("stop", "cont"), NB01);
        let (code, report, took) = paused.resume(Duration::from_secs(60));
        assert_eq!(code, 1, "{point}: {report:#}");
        assert!(took < Duration::from_secs(30), "{point}: took {took:?}");
        let nb01 = cert(&report, NB01_CERT);
        assert_eq!(nb01["outcome"], "stored", "{point}");
        let err = nb01["error"].as_str().expect("error");
        assert!(
            err.contains(NB01) && err.contains("timed out after 3s") && err.contains("not touched"),
            "{point}: {err}"
        );
        // No half-written set is visible: `current` and all four names are
        // as before, and nginx still serves the old pair.
        assert_eq!(on_disk(&fl, NB01, NB01), before, "{point}");
        assert_eq!(served(&fl, NB01, NB01), fingerprint, "{point}");

        // Thawed, the host finishes nothing it was not asked to finish.
        drop(frozen);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(on_disk(&fl, NB01, NB01), before, "{point}");
    }
    assert_eq!(fl.pebble_orders(), 3);

    let next = fl.json(&["pulse", limit[0], limit[1]], 0);
    assert_eq!(cert(&next, NB01_CERT)["outcome"], "deployed");
    assert_eq!(next["orders"]["created"], 0);
    assert_ne!(on_disk(&fl, NB01, NB01).0, before.0);
    assert_ne!(served(&fl, NB01, NB01), fingerprint);
    assert_eq!(fl.pebble_orders(), 3);
}

#[test]
fn a_full_disk_fails_the_upload_and_the_previous_set_stays_served() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let limit = ["--limit", NB01];
    fl.json(&["pulse", limit[0], limit[1]], 0);
    let before = on_disk(&fl, NB01, NB01);
    let fingerprint = served(&fl, NB01, NB01);
    let dir = format!("/etc/letsencrypt-certs/{NB01}");
    let read_back = |fl: &FleetLab| {
        fl.lab.ssh_ok(
            NB01,
            &format!(
                "readlink {dir}/.certbridge/current; ls -A {dir}/.certbridge; \
                 sha256sum {dir}/{NB01}.key {dir}/{NB01}.cer {dir}/ca.cer {dir}/fullchain.cer"
            ),
        )
    };
    let seen_before = read_back(&fl);

    let full = HostFault::apply(&fl, "host-fault-disk.sh", ("fill", "free"), NB01);
    assert_eq!(
        read_back(&fl),
        seen_before,
        "the full copy serves the same set"
    );
    let r = fl.json(&["renew", NB01], 1);
    let nb01 = cert(&r, NB01_CERT);
    assert_eq!(nb01["outcome"], "stored");
    let err = nb01["error"].as_str().expect("error");
    assert!(
        err.contains(NB01)
            && err.contains("uploading")
            && err.contains("filesystem is full")
            && err.contains("not touched"),
        "{err}"
    );
    // Same link, same files, no temp folder left behind, same leaf served.
    assert_eq!(read_back(&fl), seen_before);
    assert_eq!(served(&fl, NB01, NB01), fingerprint);

    drop(full);
    assert_eq!(on_disk(&fl, NB01, NB01), before);
    let next = fl.json(&["pulse", limit[0], limit[1]], 0);
    assert_eq!(cert(&next, NB01_CERT)["outcome"], "deployed");
    assert_eq!(next["orders"]["created"], 0);
    assert_ne!(served(&fl, NB01, NB01), fingerprint);
    assert_eq!(fl.pebble_orders(), 2);
}

#[test]
fn handler_timeouts_failures_and_huge_output_are_reported_kept_small_and_retried() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let plan = fl.json(&["plan"], 0);
    let hung = host_of(&plan, NB01_CERT);
    let failing_cert = "mirror01-dfw-rax-main";
    let chatty_cert = "review01-opendev-org-main";
    let failing = host_of(&plan, failing_cert);
    let chatty = host_of(&plan, chatty_cert);
    let fail = "[ -e /etc/certbridge-lab/fail ]";
    own_action(
        &fl,
        NB01_CERT,
        &format!(
            "if {fail}; then echo $$ > /etc/certbridge-lab/hung.pid; exec sleep 300; fi; /etc/certbridge-lab/record hung-ok"
        ),
        "2s",
    );
    own_action(
        &fl,
        failing_cert,
        &format!(
            "if {fail}; then echo 'the mirror says no' >&2; exit 7; fi; /etc/certbridge-lab/record failing-ok"
        ),
        "60s",
    );
    // 40 MiB on stdout, 10 MiB on stderr, then the line that matters.
    own_action(
        &fl,
        chatty_cert,
        &format!(
            "head -c 41943040 /dev/zero | tr '\\0' o; head -c 10485760 /dev/zero | tr '\\0' e >&2; \
             if {fail}; then echo 'the end of a long story' >&2; exit 3; fi; /etc/certbridge-lab/record chatty-ok"
        ),
        "60s",
    );
    for h in [&hung, &failing, &chatty] {
        fl.lab.ssh_ok(h, "touch /etc/certbridge-lab/fail");
    }

    let time = Path::new("/usr/bin/time");
    assert!(
        time.exists(),
        "GNU time (apt-get install time) is needed to measure memory"
    );
    let rss_file = fl.fleet_dir().join("maxrss");
    let out = Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(env!("CARGO_BIN_EXE_certbridge"))
        .env_remove("CERTBRIDGE_CONFIG")
        .arg("--config")
        .arg(&fl.config)
        .args(["--output", "json", "pulse"])
        .output()
        .expect("run certbridge under time");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    others_all(&report, &[], "issued");

    let h = handler(&report, NB01_CERT);
    assert_eq!(h["outcome"], "failed");
    let d = h["detail"].as_str().expect("detail");
    assert!(
        d.contains("timed out after 2s and was stopped on the host"),
        "{d}"
    );
    let pid = std::fs::read_to_string(fl.lab.host(&hung).dir.join("lab/hung.pid"))
        .expect("the hung action ran");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the timed-out action ({}) still runs on the host",
        pid.trim()
    );

    let h = handler(&report, failing_cert);
    assert_eq!(h["outcome"], "failed");
    let d = h["detail"].as_str().expect("detail");
    assert!(
        d.contains("exited 7") && d.contains("the mirror says no"),
        "{d}"
    );

    let h = handler(&report, chatty_cert);
    assert_eq!(h["outcome"], "failed");
    let d = h["detail"].as_str().expect("detail");
    assert!(
        d.contains("exited 3")
            && d.contains("the end of a long story")
            && d.contains("52428824 bytes of output"),
        "{}",
        &d[..d.len().min(2000)]
    );
    assert!(d.len() < 2000, "the report keeps {} bytes of it", d.len());
    assert!(
        out.stdout.len() < 100_000,
        "JSON report is {} bytes",
        out.stdout.len()
    );
    let log = std::fs::metadata(fl.fleet_dir().join("certbridge.log"))
        .expect("log")
        .len();
    assert!(log < 1_000_000, "the log grew to {log} bytes");
    let rss_kib: u64 = std::fs::read_to_string(&rss_file)
        .expect("time output")
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("max RSS in KiB");
    eprintln!("certbridge peak RSS while a handler printed 50 MiB: {rss_kib} KiB");
    assert!(
        rss_kib < 80 * 1024,
        "certbridge peaked at {rss_kib} KiB while a handler printed 50 MiB"
    );
    for (host, cert) in [
        (&hung, NB01_CERT),
        (&failing, failing_cert),
        (&chatty, chatty_cert),
    ] {
        assert_eq!(pending(&fl, host), [format!("letsencrypt updated {cert}")]);
    }

    // Fixed: the next pulse retries exactly those three, and they run.
    for h in [&hung, &failing, &chatty] {
        fl.lab.ssh_ok(h, "rm /etc/certbridge-lab/fail");
    }
    let next = fl.json(&["pulse"], 0);
    assert_eq!(next["orders"]["created"], 0);
    let ran: Vec<&str> = next["handlers"]
        .as_array()
        .expect("handlers")
        .iter()
        .map(|h| {
            assert_eq!(h["outcome"], "ran", "{h}");
            h["host"].as_str().expect("host")
        })
        .collect();
    assert_eq!(ran.len(), 3, "{ran:?}");
    for (host, what) in [
        (&hung, "hung-ok"),
        (&failing, "failing-ok"),
        (&chatty, "chatty-ok"),
    ] {
        let log: Vec<String> = fl
            .lab
            .handler_log(host)
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(log, [what], "{host}");
        assert!(pending(&fl, host).is_empty(), "{host}");
    }
}

#[test]
fn a_second_pulse_finds_the_lock_held_names_its_pid_and_touches_nothing() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let first = Paused::start(&fl, &["pulse"], "locked");
    let zone = fl.zone_text();
    let logins = |fl: &FleetLab| -> usize {
        fl.lab
            .hosts()
            .iter()
            .map(|h| {
                std::fs::read_to_string(h.dir.join("ssh/sshd.log"))
                    .unwrap_or_default()
                    .matches("Accepted")
                    .count()
            })
            .sum()
    };
    let logins_before = logins(&fl);

    let second = fl.run(&["--output", "json", "pulse"]);
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("holds the store lock")
            && stderr.contains(&format!("pid {} ", first.pid()))
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(second.stdout.is_empty(), "no report: nothing was done");
    assert_eq!(fl.pebble_orders(), 0, "no order from either pulse yet");
    assert_eq!(fl.zone_text(), zone);
    assert_eq!(
        logins(&fl),
        logins_before,
        "the second pulse logged in nowhere"
    );
    for h in fl.lab.hosts() {
        let entries: Vec<_> = std::fs::read_dir(certs_dir(&fl, &h.name))
            .expect("certs dir")
            .collect();
        assert!(entries.is_empty(), "{} got files", h.name);
    }

    // The first one goes on and does the whole job.
    let (code, report, _) = first.resume(Duration::from_secs(300));
    assert_eq!(code, 0, "{report:#}");
    others_all(&report, &[], "issued");
    assert_eq!(fl.pebble_orders(), 11);
}
