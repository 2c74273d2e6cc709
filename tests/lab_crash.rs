//! Crash consistency, in the lab: a pulse of 20 certificates is killed with
//! SIGKILL at random points and re-run, and at the end every host serves a
//! certificate that matches its deployed key, the store is readable with
//! nothing pending, the signing zone holds no TXT value, and Pebble saw at
//! most one extra order per kill (Let's Encrypt allows 5 certificates a
//! week per name set: an issued certificate must never be ordered again).
//!
//! Kill delays come from a seeded generator; the seed is printed, and
//! `CERTBRIDGE_CRASH_SEED=N` replays a run. Each run appends the stages it
//! reached to a marks file (`CERTBRIDGE_MARKS`), so the log shows where
//! every kill landed.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fleet_lab::FleetLab;
use crate::support::lab::{LabOptions, parse_cert};

/// Hosts and certificates of the generated fleet.
const HOSTS: usize = 5;
const CERTS: usize = 20;

/// splitmix64: small, seedable, good enough to spread kill points.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Rng {
        let seed = std::env::var("CERTBRIDGE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: CERTBRIDGE_CRASH_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo).max(1))
    }
}

/// Write a fleet shaped like `examples/gen_fleet.rs` (hosts file, yamlgroup
/// patterns, host_vars, a handler per certificate, `after` chains across
/// hosts) into `out`; returns its config file.
fn gen_fleet(out: &Path, hosts: usize, certs: usize) -> PathBuf {
    let host = |i: usize| {
        if i.is_multiple_of(2) {
            format!("svc{i:05}.dc{}.example.org", i % 7)
        } else {
            format!("web{i:05}.example.org")
        }
    };
    for d in ["base", "service/host_vars", "service/group_vars"] {
        std::fs::create_dir_all(out.join(d)).expect("mkdir");
    }
    let mut hosts_yaml = String::from("all:\n  hosts:\n");
    for h in 0..hosts {
        let _ = writeln!(
            hosts_yaml,
            "    {}:\n      ansible_host: 192.0.2.{}",
            host(h),
            h + 1
        );
    }
    let write = |rel: &str, text: &str| std::fs::write(out.join(rel), text).expect("write");
    write("base/hosts.yaml", &hosts_yaml);
    write(
        "service/groups.yaml",
        "plugin: yamlgroup\ngroups:\n  letsencrypt:\n    - 'svc[0-9]*.*.example.org'\n    - '^web[0-9]+\\.'\n",
    );
    write(
        "service/group_vars/letsencrypt.yaml",
        "letsencrypt_account_email: ops@example.org\n",
    );
    // One action per certificate (not one shared, which would run once
    // per host): the lab's stand-in then logs every certificate's run.
    let mut actions = String::from("actions:\n");
    let mut handlers = String::from("handlers:\n");
    let per_host = certs.div_ceil(hosts);
    for h in 0..hosts {
        let mut vars = String::from("letsencrypt_certs:\n");
        for c in 0..per_host.min(certs - h * per_host) {
            let key = format!("{}-c{c}", host(h).replace('.', "-"));
            let first = if c == 0 {
                host(h)
            } else {
                format!("c{c}.{}", host(h))
            };
            let _ = writeln!(vars, "  {key}:\n    - {first}\n    - www.{first}");
            let _ = writeln!(
                actions,
                "  reload-{key}:\n    run: systemctl reload apache2"
            );
            if h > 0 && c == 0 {
                // A rolling restart across hosts, like gitea's.
                let prev = format!("{}-c0", host(h - 1).replace('.', "-"));
                let _ = writeln!(
                    handlers,
                    "  letsencrypt updated {key}:\n    actions: [reload-{key}]\n    after: [letsencrypt updated {prev}]"
                );
            } else {
                let _ = writeln!(handlers, "  letsencrypt updated {key}: reload-{key}");
            }
        }
        write(&format!("service/host_vars/{}.yaml", host(h)), &vars);
    }
    write("handlers.yaml", &format!("{actions}{handlers}"));
    let template = crate::support::fleet::repo().join("templates/acme-zone.db.j2");
    write(
        "certbridge.yaml",
        &format!(
            "inventory: [base/hosts.yaml, service/groups.yaml]\nhandlers: handlers.yaml\n\
             state_dir: state\nlog_file: certbridge.log\n\
             dns:\n  zone: acme.example.org\n  template: {}\n",
            template.display()
        ),
    );
    out.join("certbridge.yaml")
}

/// The crash lab: a generated fleet wired to a fresh lab.
struct CrashLab {
    fl: FleetLab,
    _fleet: tempfile::TempDir,
    runs: usize,
}

/// How one run ended.
#[derive(Debug)]
struct Run {
    /// Killed (true) or exited by itself.
    killed: bool,
    /// Stages reached, with seconds since the run started.
    marks: Vec<(f64, String)>,
    /// Exit code when not killed.
    code: Option<i32>,
}

impl CrashLab {
    fn start() -> CrashLab {
        let fleet = tempfile::tempdir().expect("tempdir");
        let config = gen_fleet(fleet.path(), HOSTS, CERTS);
        let fl = FleetLab::start(config.to_str().expect("utf-8 path"), LabOptions::default());
        CrashLab {
            fl,
            _fleet: fleet,
            runs: 0,
        }
    }

    fn state(&self) -> PathBuf {
        self.fl.fleet_dir().join("state")
    }

    /// Start `pulse`; kill it with SIGKILL once `when` says so (given the
    /// time since start and the stages reached), or let it finish.
    fn pulse(&mut self, mut when: impl FnMut(Duration, &[(f64, String)]) -> bool) -> Run {
        self.runs += 1;
        let dir = self.fl.fleet_dir().join(format!("run{:02}", self.runs));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let marks = dir.join("marks");
        let started = Instant::now();
        let t0 = unix_now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_certbridge"))
            .env_remove("CERTBRIDGE_CONFIG")
            .env_remove("CERTBRIDGE_FAULT")
            .env("CERTBRIDGE_MARKS", &marks)
            .arg("--config")
            .arg(&self.fl.config)
            .args(["--output", "json", "pulse"])
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("stdout")).expect("stdout"))
            .stderr(File::create(dir.join("stderr")).expect("stderr"))
            .spawn()
            .expect("start certbridge");
        let read_marks = || -> Vec<(f64, String)> {
            std::fs::read_to_string(&marks)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split_once(' '))
                .filter_map(|(t, m)| Some((t.parse::<f64>().ok()? - t0, m.to_owned())))
                .collect()
        };
        let deadline = Duration::from_secs(120);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return Run {
                    killed: false,
                    marks: read_marks(),
                    code: status.code(),
                };
            }
            assert!(
                started.elapsed() < deadline,
                "a pulse ran over {deadline:?}"
            );
            if when(started.elapsed(), &read_marks()) {
                child.kill().expect("SIGKILL");
                let status = child.wait().expect("wait");
                // It may have exited just before the signal.
                let killed = status.code().is_none();
                return Run {
                    killed,
                    marks: read_marks(),
                    code: status.code(),
                };
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Run `pulse` with `CERTBRIDGE_FAULT=point`: it must stop dead there.
    fn pulse_dying_at(&mut self, point: &str, args: &[&str]) {
        self.runs += 1;
        let mut all = vec!["pulse"];
        all.extend_from_slice(args);
        let out = self
            .fl
            .cmd(&all)
            .env("CERTBRIDGE_FAULT", point)
            .output()
            .expect("run certbridge");
        assert_eq!(
            out.status.code(),
            Some(86),
            "pulse did not reach `{point}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.assert_store_usable();
    }

    fn stderr(&self, run: usize) -> String {
        std::fs::read_to_string(self.fl.fleet_dir().join(format!("run{run:02}/stderr")))
            .unwrap_or_default()
    }

    /// The store after a kill: its lock is free (the kernel dropped the
    /// dead holder's), and `status` reads it.
    fn assert_store_usable(&self) {
        let lock = self.state().join("certbridge.lock");
        if lock.exists() {
            let f = File::options().write(true).open(&lock).expect("open lock");
            f.try_lock()
                .unwrap_or_else(|e| panic!("the store lock is still held after the kill: {e:?}"));
        }
        let out = self.fl.run(&["status", "--danger-zone", "0s"]);
        assert!(
            out.status.success(),
            "status after a kill: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every host serves, for each of its certificates, the stored current
    /// version, and the key on the host matches it.
    fn assert_consistent(&self) {
        let plan = self.fl.json(&["plan", "--probe"], 0);
        let items = plan["certificates"].as_array().expect("certificates");
        assert_eq!(items.len(), CERTS);
        for c in items {
            assert_eq!(
                (c["action"].as_str(), c["reason"].as_str()),
                (Some("keep"), Some("valid")),
                "{c}"
            );
        }
        assert_eq!(plan["handlers"].as_array().map(Vec::len), Some(0), "{plan}");
        for c in items {
            let host = c["host"].as_str().expect("host");
            let key = c["cert"].as_str().expect("cert");
            let first = c["domains"][0].as_str().expect("first name");
            let cdir = self.state().join("certs").join(key);
            let version = std::fs::read_to_string(cdir.join("current")).expect("current");
            let stored = std::fs::read_to_string(cdir.join(version.trim()).join("cert.pem"))
                .expect("stored cert");
            let served = self.fl.lab.tls_handshake(host, first);
            assert_eq!(
                served.fingerprint,
                parse_cert(&stored).fingerprint,
                "{host} serves another certificate than the store's current {key}"
            );
            let key_pem = self.fl.lab.ssh_ok(
                host,
                &format!("cat /etc/letsencrypt-certs/{first}/{first}.key"),
            );
            assert!(
                certbridge::x509::key_matches(&served.chain_pem[0], &key_pem),
                "{host}: the deployed key of {first} does not match the served certificate"
            );
            // Its handler ran after the current version was switched in,
            // even when the run that switched it died right after.
            let switched: f64 = self
                .fl
                .lab
                .ssh_ok(
                    host,
                    &format!("stat -c %.9Y /etc/letsencrypt-certs/{first}/.certbridge/current"),
                )
                .trim()
                .parse()
                .expect("mtime");
            let ran = self
                .fl
                .lab
                .handler_log(host)
                .into_iter()
                .filter(|(t, what)| what == key && *t >= switched)
                .count();
            assert!(
                ran > 0,
                "{host}: the handler of {key} never ran after its files were switched in"
            );
        }
        // Nothing pending: no order in flight, no handler waiting.
        let orders: Vec<_> = std::fs::read_dir(self.state().join("orders"))
            .expect("orders")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(orders.is_empty(), "orders left in the journal: {orders:?}");
        for e in std::fs::read_dir(self.state().join("hosts"))
            .expect("hosts")
            .flatten()
        {
            let rec: Value =
                serde_json::from_str(&std::fs::read_to_string(e.path()).expect("record"))
                    .expect("host record");
            assert_eq!(
                rec["pending_handlers"].as_array().map(Vec::len),
                Some(0),
                "{}: {rec}",
                e.path().display()
            );
        }
        let status = self.fl.run(&["status", "--danger-zone", "0s"]);
        assert!(status.status.success());
        // No temp file of a killed writer survives the next lock holder.
        let mut dirs = vec![self.state()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("read store").flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(
                    !(name.starts_with(".tmp") || name.ends_with(".tmp")),
                    "temp file left in the store: {}",
                    e.path().display()
                );
                if e.path().is_dir() {
                    dirs.push(e.path());
                }
            }
        }
    }

    /// No TXT value in the zone file or served by BIND for any name.
    fn assert_zone_clean(&self) {
        let zone = self.fl.zone_text();
        assert!(
            !zone.contains("TXT"),
            "TXT values left in the zone:\n{zone}"
        );
        for n in &self.fl.lab.info().names {
            let answer = self.fl.lab.dig(&n.cname, "TXT");
            assert!(
                answer.iter().all(|l| !l.starts_with('"')),
                "{} still has a TXT value: {answer:?}",
                n.cname
            );
        }
        assert!(!self.state().join("dns/records-published").exists());
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn describe(run: &Run) -> String {
    let last = run
        .marks
        .iter()
        .rfind(|(_, m)| m != "after-finalize" && m != "after-store")
        .map_or("start", |(_, m)| m.as_str());
    let stored = run
        .marks
        .iter()
        .filter(|(_, m)| m == "after-finalize")
        .count();
    format!("last stage `{last}`, {stored} finalized")
}

/// Where kill points are anchored, in pipeline order, with the longest
/// random delay after the anchor: connecting and observing, ordering, the
/// zone update, propagation and answering, finalizing and storing, the
/// clean-up and deploy, the on-host switch, handlers. The issuance delays
/// are short: 20 certificates go from publish to all finalized in under
/// 200 ms on 2 cores, and a longer delay lands after issuance.
const ANCHORS: [(&str, u64); 8] = [
    ("start", 2000),
    ("planned", 100),
    ("after-order", 100),
    ("after-publish", 120),
    ("after-finalize", 60),
    ("issued", 300),
    ("mid-deploy", 300),
    ("deployed", 1500),
];

/// True for the anchors that exist only while something is being issued.
fn issuing(anchor: &str) -> bool {
    matches!(
        anchor,
        "planned" | "after-order" | "after-publish" | "after-finalize"
    )
}

#[test]
fn sigkill_at_random_points_loses_nothing_and_orders_at_most_once_per_kill() {
    let mut lab = CrashLab::start();
    let mut rng = Rng::seeded("sigkill_at_random_points");
    // The first kills go through issuance stage by stage (each re-run has
    // less left to issue), the later ones through deploy and handlers; a
    // random delay after each anchor picks the point inside the stage.
    let schedule: Vec<usize> = (0..20)
        .map(|i| {
            if i < 12 {
                1 + i % 4
            } else {
                [0, 5, 6, 7][i % 4]
            }
        })
        .collect();
    let mut kills = 0;
    let mut log = String::new();
    let (mut early, mut late) = (0, 0);
    for &a in &schedule {
        let (anchor, max) = ANCHORS[a];
        let delay = rng.millis(0, max);
        let run = lab.pulse(|t, marks| {
            let at = |name: &str| marks.iter().find(|(_, m)| m == name).map(|(s, _)| *s);
            // Nothing left to issue: anchor on the end of issuance instead.
            let base = if anchor == "start" {
                Some(0.0)
            } else {
                at(anchor).or_else(|| if issuing(anchor) { at("issued") } else { None })
            };
            base.is_some_and(|b| t.as_secs_f64() >= b + delay.as_secs_f64())
        });
        let _ = writeln!(
            log,
            "run {:2}: {:4} ms after `{anchor}`: {} ({})",
            lab.runs,
            delay.as_millis(),
            if run.killed {
                "killed"
            } else {
                "finished first"
            },
            describe(&run)
        );
        if run.killed {
            kills += 1;
            if run.marks.iter().any(|(_, m)| m == "issued") {
                late += 1;
            } else if run.marks.iter().any(|(_, m)| m == "planned") {
                early += 1;
            }
            lab.assert_store_usable();
        } else {
            assert!(
                matches!(run.code, Some(0 | 1)),
                "run {} exited {:?}: {}",
                lab.runs,
                run.code,
                lab.stderr(lab.runs)
            );
        }
    }
    let last = lab.pulse(|_, _| false);
    eprintln!("{log}final run: {}", describe(&last));
    assert_eq!(last.code, Some(0), "{}", lab.stderr(lab.runs));
    lab.assert_consistent();
    lab.assert_zone_clean();
    let orders = lab.fl.pebble_orders();
    eprintln!("{orders} orders at Pebble for {CERTS} certificates and {kills} kills");
    assert!(
        orders <= CERTS + kills,
        "{orders} orders at Pebble for {CERTS} certificates and {kills} kills"
    );
    assert!(
        early >= 3 && late >= 3,
        "kills did not cover the pulse ({early} during issuance, {late} after):\n{log}"
    );
}

#[test]
fn sigkill_during_deploy_and_handlers_ends_with_every_host_serving_its_key() {
    let mut lab = CrashLab::start();
    let mut rng = Rng::seeded("sigkill_during_deploy");
    let mut kills = 0;
    let mut log = String::new();
    // First run: killed once issuance is over (every certificate stored,
    // the zone cleaned), somewhere in deploy or handlers.
    let delay = rng.millis(0, 800);
    let mut since: Option<Instant> = None;
    let run = lab.pulse(|_, marks| {
        if marks.iter().any(|(_, m)| m == "issued") {
            let s = *since.get_or_insert_with(Instant::now);
            return s.elapsed() >= delay;
        }
        false
    });
    let _ = writeln!(
        log,
        "run 1: {} ms after issuance: {}",
        delay.as_millis(),
        describe(&run)
    );
    assert!(run.killed, "the first run finished before the kill:\n{log}");
    kills += 1;
    lab.assert_store_usable();
    // Then runs with nothing to issue, killed at random points after they
    // planned: deploys and handlers are what is left.
    for _ in 0..8 {
        let delay = rng.millis(0, 1500);
        let mut since: Option<Instant> = None;
        let run = lab.pulse(|_, marks| {
            if marks.iter().any(|(_, m)| m == "planned") {
                let s = *since.get_or_insert_with(Instant::now);
                return s.elapsed() >= delay;
            }
            false
        });
        let _ = writeln!(
            log,
            "run {}: {} ms after planning: {} ({})",
            lab.runs,
            delay.as_millis(),
            if run.killed {
                "killed"
            } else {
                "finished first"
            },
            describe(&run)
        );
        if run.killed {
            kills += 1;
            lab.assert_store_usable();
        }
    }
    let last = lab.pulse(|_, _| false);
    eprintln!("{log}final run: {}", describe(&last));
    assert_eq!(last.code, Some(0), "{}", lab.stderr(lab.runs));
    lab.assert_consistent();
    lab.assert_zone_clean();
    assert_eq!(lab.fl.pebble_orders(), CERTS, "nothing was ordered twice");
    assert!(kills >= 3, "only {kills} runs were killed:\n{log}");
}

#[test]
fn dying_between_any_two_steps_loses_nothing_and_orders_nothing_twice() {
    let mut lab = CrashLab::start();
    let orders = |lab: &CrashLab| lab.fl.pebble_orders();
    let journaled = |lab: &CrashLab| {
        std::fs::read_dir(lab.state().join("orders"))
            .expect("orders")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count()
    };
    // One host first: ordered and journaled, published, everything
    // stored but the zone never cleaned.
    let one = ["--limit", "svc00000.dc0.example.org"];
    lab.pulse_dying_at("after-order", &one);
    assert_eq!((orders(&lab), journaled(&lab)), (4, 4));
    // Each certificate's key is journaled with its order, long before its CSR.
    let keyed = std::fs::read_dir(lab.state().join("orders"))
        .expect("orders")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter(|e| {
            let text = std::fs::read_to_string(e.path()).expect("journal entry");
            let entry: Value = serde_json::from_str(&text).expect("json");
            entry["key_pem"]
                .as_str()
                .is_some_and(|k| k.contains("PRIVATE KEY"))
        })
        .count();
    assert_eq!(keyed, 4);
    lab.pulse_dying_at("after-publish", &one);
    assert!(lab.fl.zone_text().contains("TXT"));
    lab.pulse_dying_at("before-cleanup", &one);
    assert_eq!(journaled(&lab), 0);
    assert!(lab.fl.zone_text().contains("TXT"));
    // Nothing left to issue there: the next run cleans the zone anyway.
    lab.pulse_dying_at("mid-deploy", &one);
    lab.assert_zone_clean();
    // The rest: a certificate finalized but not stored, then one stored
    // whose order is still journaled (the next run forgets it rather than
    // keep it for a later renewal to resume), then files switched in on a
    // host but not recorded, so their handler never ran.
    lab.pulse_dying_at("after-finalize", &[]);
    assert_eq!(orders(&lab), CERTS);
    lab.pulse_dying_at("after-store", &[]);
    assert_eq!(journaled(&lab), CERTS - 4);
    lab.pulse_dying_at("after-switch", &[]);
    assert_eq!(journaled(&lab), 0);
    let last = lab.pulse(|_, _| false);
    assert_eq!(last.code, Some(0), "{}", lab.stderr(lab.runs));
    lab.assert_consistent();
    lab.assert_zone_clean();
    assert_eq!(orders(&lab), CERTS, "nothing was ordered twice");
}
