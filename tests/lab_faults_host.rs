//! Faults on the host side, in the lab: a refused connection, a changed
//! host key, a host that hangs half-way through an upload, a full disk,
//! handler actions that time out, fail or print 50 MB (in [`handlers`]),
//! and two pulses at once. Each case asserts that the fault stays with its host, that no
//! half-written set becomes visible, and that the next pulse finishes the
//! work without ordering again.
//!
//! Covered in `lab_pulse` and not repeated here: a host that is
//! unreachable on its first deployment, an unknown host key on a fresh
//! host, a handler that exits non-zero staying pending (with its `after:`
//! dependants) until it succeeds.

mod handlers;
mod harness;

use std::process::Command;
use std::time::Duration;

use crate::support::fleet_lab::FleetLab;
use crate::support::lab::LabOptions;
use harness::*;

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
    assert_eq!(pending(&fl, NB01), std::slice::from_ref(&handler_name));

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
    eprintln!("observed: {err}");
    assert!(err.contains(NB01) && err.contains("refused"), "{err}");
    others_all(&refused, &[NB01_CERT], "issued");
    assert_eq!(fl.pebble_orders(), 22);
    assert_eq!(pending(&fl, NB01), std::slice::from_ref(&handler_name));
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
    eprintln!("observed: {err}");
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
        eprintln!("observed: {err}");
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
    eprintln!("observed: {err}");
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
    assert_eq!(second.status.code(), Some(75), "lock busy is EX_TEMPFAIL");
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
