//! End to end, in the lab: `pulse` and `renew` on the bundled example
//! fleet, asserting on what the hosts really serve and hold, on the zone,
//! and on how many orders Pebble saw.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::fleet_lab::FleetLab;
use crate::support::lab::LabOptions;

const FLEET: &str = "inventory/certbridge.yaml";

fn items(report: &Value) -> &Vec<Value> {
    report["certificates"].as_array().expect("certificates")
}

fn outcomes(report: &Value) -> BTreeMap<String, String> {
    items(report)
        .iter()
        .map(|c| {
            (
                c["cert"].as_str().expect("cert").to_owned(),
                c["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect()
}

fn first_names(report: &Value) -> Vec<(String, String, Vec<String>)> {
    items(report)
        .iter()
        .map(|c| {
            let domains: Vec<String> = c["domains"]
                .as_array()
                .expect("domains")
                .iter()
                .map(|d| d.as_str().expect("domain").to_owned())
                .collect();
            (
                c["host"].as_str().expect("host").to_owned(),
                domains[0].clone(),
                domains,
            )
        })
        .collect()
}

fn norm(pem: &str) -> String {
    pem.split_whitespace().collect()
}

/// Every certificate is served with its names and Pebble's chain, and its
/// files have the contract's owner and modes.
fn assert_served(fl: &FleetLab, report: &Value) {
    let intermediate = norm(&fl.lab.pebble_roots()[1]);
    for (host, first, domains) in first_names(report) {
        let served = fl.lab.tls_handshake(&host, &first);
        let mut want = domains.clone();
        want.sort();
        let mut got = served.sans.clone();
        got.sort();
        assert_eq!(got, want, "{host} serves other names for {first}");
        assert!(
            served.chain_pem.iter().any(|p| norm(p) == intermediate),
            "{host} {first}: served chain does not contain Pebble's intermediate (issuer {})",
            served.issuer
        );
        let dir = format!("/etc/letsencrypt-certs/{first}");
        let stat = fl.lab.ssh_ok(
            &host,
            &format!(
                "stat -L -c '%n %U:%G %a' {dir} {dir}/{first}.key {dir}/{first}.cer {dir}/ca.cer {dir}/fullchain.cer"
            ),
        );
        let lines: Vec<&str> = stat.lines().collect();
        assert_eq!(lines[0], format!("{dir} root:letsencrypt 2750"), "{host}");
        assert_eq!(
            lines[1],
            format!("{dir}/{first}.key root:letsencrypt 640"),
            "{host}"
        );
        for l in &lines[2..] {
            assert!(l.ends_with(" root:letsencrypt 644"), "{host}: {l}");
        }
    }
}

fn log_entries(fl: &FleetLab, host: &str, what: &str) -> Vec<f64> {
    fl.lab
        .handler_log(host)
        .into_iter()
        .filter(|(_, w)| w == what)
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn example_fleet_first_pulse_noop_drift_and_renew_host() {
    let fl = FleetLab::start(FLEET, LabOptions::default());

    // First pulse: everything issued through apex and per-name owners (a
    // multi-name certificate, a wildcard and a name shared by three
    // certificates included), stored, deployed and served.
    let first = fl.json(&["pulse"], 0);
    let n = items(&first).len();
    assert_eq!(n, 11);
    assert!(
        outcomes(&first).values().all(|o| o == "issued"),
        "{:#?}",
        outcomes(&first)
    );
    assert_eq!(first["orders"]["created"], 11);
    assert_eq!(
        first["dns"]["outcome"]["records"],
        first["summary"]["domains"]
    );
    let serial = first["dns"]["outcome"]["serial"].as_u64().expect("serial");
    let cleanup = first["dns"]["outcome"]["cleanup_serial"]
        .as_u64()
        .expect("cleanup serial");
    assert!(cleanup > serial);
    assert!(
        !fl.zone_text().contains("TXT"),
        "the clean-up left TXT records:\n{}",
        fl.zone_text()
    );
    assert_served(&fl, &first);
    assert_eq!(fl.pebble_orders(), 11);

    // The gitea handlers ran as a rolling restart: 01, then 02, then 03.
    let t1 = log_entries(&fl, "gitea01.opendev.org", "gitea01-main");
    let t2 = log_entries(&fl, "gitea02.opendev.org", "gitea02-main");
    let t3 = log_entries(&fl, "gitea03.opendev.org", "gitea03-main");
    assert_eq!((t1.len(), t2.len(), t3.len()), (1, 1, 1));
    let reload1 = log_entries(&fl, "gitea01.opendev.org", "reload-nginx");
    assert!(
        reload1[0] < t2[0] && t2[0] < t3[0],
        "not in order: {t1:?} {reload1:?} {t2:?} {t3:?}"
    );
    // static01's four certificates fire one shared action: it ran once.
    assert_eq!(
        log_entries(&fl, "static01.opendev.org", "reload-nginx").len(),
        1
    );

    // Second pulse: nothing is due, so no order, no zone write, no upload,
    // no handler.
    let zone = fl.zone_text();
    let second = fl.json(&["pulse"], 0);
    assert!(
        outcomes(&second).values().all(|o| o == "kept"),
        "{:#?}",
        outcomes(&second)
    );
    assert_eq!(second["orders"]["created"], 0);
    assert_eq!(second["dns"]["outcome"]["records"], 0);
    assert_eq!(second["handlers"].as_array().map(Vec::len), Some(0));
    assert_eq!(fl.pebble_orders(), 11);
    assert_eq!(fl.zone_text(), zone);
    assert_eq!(
        log_entries(&fl, "gitea01.opendev.org", "gitea01-main").len(),
        1
    );

    // Drift: a deleted key and an altered chain are redeployed, not
    // re-issued, and their hosts' handlers run.
    fl.lab.ssh_ok(
        "gitea01.opendev.org",
        "rm /etc/letsencrypt-certs/gitea01.opendev.org/gitea01.opendev.org.key",
    );
    fl.lab.ssh_ok(
        "zuul01.opendev.org",
        "echo tampered >> /etc/letsencrypt-certs/zuul.opendev.org/.certbridge/current/ca.cer",
    );
    let plan = fl.json(&["plan", "--probe"], 0);
    let reasons: BTreeMap<String, String> = items(&plan)
        .iter()
        .map(|c| {
            (
                c["cert"].as_str().expect("cert").to_owned(),
                format!("{} {}", c["action"], c["reason"]),
            )
        })
        .collect();
    assert_eq!(reasons["gitea01-main"], "\"deploy\" \"missing-on-host\"");
    assert_eq!(reasons["zuul01-opendev-org-main"], "\"deploy\" \"drift\"");
    let third = fl.json(&["pulse"], 0);
    let o = outcomes(&third);
    assert_eq!(o["gitea01-main"], "deployed");
    assert_eq!(o["zuul01-opendev-org-main"], "deployed");
    assert_eq!(third["orders"]["created"], 0);
    assert_eq!(fl.pebble_orders(), 11);
    assert_eq!(
        log_entries(&fl, "gitea01.opendev.org", "gitea01-main").len(),
        2
    );
    assert_served(&fl, &first);

    // renew HOST: only that host's certificate is ordered, only its records
    // go into the zone, only its files and handler change.
    let before_zuul = fl
        .lab
        .tls_handshake("zuul01.opendev.org", "zuul.opendev.org")
        .fingerprint;
    let before_gitea1 = fl
        .lab
        .tls_handshake("gitea01.opendev.org", "gitea01.opendev.org")
        .fingerprint;
    let gitea2_runs = log_entries(&fl, "gitea02.opendev.org", "gitea02-main").len();
    let renewed = fl.json(&["renew", "gitea01.opendev.org"], 0);
    assert_eq!(items(&renewed).len(), 1);
    assert_eq!(items(&renewed)[0]["reason"], "forced");
    assert_eq!(items(&renewed)[0]["outcome"], "issued");
    assert_eq!(renewed["orders"]["created"], 1);
    assert_eq!(renewed["dns"]["outcome"]["records"], 2);
    assert_eq!(fl.pebble_orders(), 12);
    assert_ne!(
        fl.lab
            .tls_handshake("gitea01.opendev.org", "gitea01.opendev.org")
            .fingerprint,
        before_gitea1
    );
    assert_eq!(
        fl.lab
            .tls_handshake("zuul01.opendev.org", "zuul.opendev.org")
            .fingerprint,
        before_zuul
    );
    assert_eq!(
        log_entries(&fl, "gitea02.opendev.org", "gitea02-main").len(),
        gitea2_runs
    );
}

#[test]
fn failing_handler_stays_pending_and_its_dependants_wait() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    // gitea02's handler fails until the marker is removed.
    fl.edit(
        "handlers.yaml",
        "\"run\": \"/etc/certbridge-lab/record",
        "\"run\": \"test ! -e /etc/certbridge-lab/fail && /etc/certbridge-lab/record",
    );
    fl.lab
        .ssh_ok("gitea02.opendev.org", "touch /etc/certbridge-lab/fail");
    let first = fl.json(&["pulse"], 1);
    let handlers: BTreeMap<String, String> = first["handlers"]
        .as_array()
        .expect("handlers")
        .iter()
        .map(|h| {
            (
                h["host"].as_str().expect("host").to_owned(),
                h["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect();
    assert_eq!(handlers["gitea01.opendev.org"], "ran");
    assert_eq!(handlers["gitea02.opendev.org"], "failed");
    assert_eq!(handlers["gitea03.opendev.org"], "blocked");
    assert!(log_entries(&fl, "gitea03.opendev.org", "gitea03-main").is_empty());
    let status = String::from_utf8_lossy(&fl.run(&["status"]).stdout).into_owned();
    assert!(
        status.contains("letsencrypt updated gitea02-main"),
        "{status}"
    );

    // Still failing: stays pending, nothing re-ordered.
    fl.json(&["pulse"], 1);
    assert_eq!(fl.pebble_orders(), 11);

    // Fixed: the next pulse runs the pending handlers, in order, with no
    // certificate changing and nothing ordered.
    fl.lab
        .ssh_ok("gitea02.opendev.org", "rm /etc/certbridge-lab/fail");
    let fixed = fl.json(&["pulse"], 0);
    assert!(outcomes(&fixed).values().all(|o| o == "kept"));
    let ran: Vec<&str> = fixed["handlers"]
        .as_array()
        .expect("handlers")
        .iter()
        .map(|h| h["handler"].as_str().expect("handler"))
        .collect();
    assert_eq!(
        ran,
        [
            "letsencrypt updated gitea02-main",
            "letsencrypt updated gitea03-main"
        ]
    );
    let t2 = log_entries(&fl, "gitea02.opendev.org", "gitea02-main");
    let t3 = log_entries(&fl, "gitea03.opendev.org", "gitea03-main");
    assert!(t2[0] < t3[0]);
    assert_eq!(fl.pebble_orders(), 11);
    fl.json(&["pulse"], 0);
    assert_eq!(
        log_entries(&fl, "gitea03.opendev.org", "gitea03-main").len(),
        1
    );
}

#[test]
fn unreachable_host_gets_its_stored_certificate_later_without_ordering() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let port = fl.lab.host("nb01.opendev.org").ssh_port;
    // Point the inventory at a closed port: connection refused.
    let closed = fl.lab.info().port_base + 199;
    fl.edit(
        "lab-hosts.yaml",
        &format!("\"ansible_port\": {port}"),
        &format!("\"ansible_port\": {closed}"),
    );
    let first = fl.json(&["pulse"], 1);
    let o = outcomes(&first);
    assert_eq!(o["nb01-opendev-org-main"], "stored");
    assert!(
        o.iter()
            .filter(|(k, _)| *k != "nb01-opendev-org-main")
            .all(|(_, v)| v == "issued"),
        "{o:#?}"
    );
    let err = items(&first)
        .iter()
        .find(|c| c["cert"] == "nb01-opendev-org-main")
        .and_then(|c| c["error"].as_str())
        .expect("error")
        .to_owned();
    assert!(err.contains("nb01.opendev.org"), "{err}");
    assert_eq!(fl.pebble_orders(), 11);

    fl.edit(
        "lab-hosts.yaml",
        &format!("\"ansible_port\": {closed}"),
        &format!("\"ansible_port\": {port}"),
    );
    let back = fl.json(&["pulse"], 0);
    let o = outcomes(&back);
    assert_eq!(o["nb01-opendev-org-main"], "deployed");
    assert_eq!(back["orders"]["created"], 0);
    assert_eq!(fl.pebble_orders(), 11);
    let served = fl.lab.tls_handshake("nb01.opendev.org", "nb01.opendev.org");
    assert_eq!(served.sans, ["nb01.opendev.org"]);
}

#[test]
fn a_crash_between_finalize_and_store_resumes_without_ordering_again() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let out = fl
        .cmd(&["pulse", "--limit", "nb01.opendev.org"])
        .env("CERTBRIDGE_FAULT", "after-finalize")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(86),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fl.pebble_orders(), 1);
    assert!(
        fl.fleet_dir()
            .join("state/orders/nb01-opendev-org-main.json")
            .exists()
    );
    let resumed = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(resumed["orders"]["resumed"], 1);
    assert_eq!(resumed["orders"]["created"], 0);
    assert_eq!(fl.pebble_orders(), 1);
    assert_eq!(items(&resumed)[0]["outcome"], "issued");
    assert!(
        !fl.fleet_dir()
            .join("state/orders/nb01-opendev-org-main.json")
            .exists()
    );
    assert_eq!(
        fl.lab
            .tls_handshake("nb01.opendev.org", "nb01.opendev.org")
            .sans,
        ["nb01.opendev.org"]
    );
}

#[test]
fn a_failing_zone_check_or_reload_keeps_the_old_zone() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let zone = fl.zone_text();
    fl.edit(
        "certbridge.yaml",
        "\"named-checkzone {zone} {file}\"",
        "\"named-checkzone {zone} {file} && false\"",
    );
    let r = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 1);
    assert_eq!(items(&r)[0]["outcome"], "failed");
    assert!(
        r["dns"]["outcome"]["error"]
            .as_str()
            .expect("dns error")
            .contains("rejected the new zone")
    );
    assert_eq!(fl.zone_text(), zone);

    fl.edit(
        "certbridge.yaml",
        "\"named-checkzone {zone} {file} && false\"",
        "\"named-checkzone {zone} {file}\"",
    );
    fl.edit(
        "certbridge.yaml",
        "reload {zone}\"",
        "reload {zone}-nonexistent\"",
    );
    let r = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 1);
    let err = r["dns"]["outcome"]["error"]
        .as_str()
        .expect("dns error")
        .to_owned();
    assert!(err.contains("the old zone file was put back"), "{err}");
    assert_eq!(fl.zone_text(), zone);
    // Nothing was stored, and the journaled order is resumed next time.
    fl.edit(
        "certbridge.yaml",
        "reload {zone}-nonexistent\"",
        "reload {zone}\"",
    );
    let ok = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(items(&ok)[0]["outcome"], "issued");
    assert_eq!(ok["orders"]["created"], 0, "the earlier order is resumed");
}

#[test]
fn pebble_defaults_nonce_rejection_and_authorization_reuse() {
    let fl = FleetLab::start(FLEET, LabOptions::pebble_defaults());
    let r = fl.json(&["pulse"], 0);
    assert!(
        outcomes(&r).values().all(|o| o == "issued"),
        "{:#?}",
        outcomes(&r)
    );
    assert_served(&fl, &r);
}

#[test]
fn a_short_lifetime_renews_and_the_next_pulse_is_a_noop() {
    let fl = FleetLab::start(
        FLEET,
        LabOptions {
            validity_secs: Some(30),
            ..LabOptions::default()
        },
    );
    fl.edit(
        "certbridge.yaml",
        "\"key_type\"",
        "\"renew_before\": \"20s\", \"key_type\"",
    );
    let first = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(items(&first)[0]["outcome"], "issued");
    let v1 = items(&first)[0]["version"].clone();
    std::thread::sleep(std::time::Duration::from_secs(12));
    let plan = fl.json(&["plan", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(items(&plan)[0]["reason"], "expiring");
    let renewed = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(items(&renewed)[0]["reason"], "expiring");
    assert_eq!(items(&renewed)[0]["outcome"], "issued");
    assert_ne!(items(&renewed)[0]["version"], v1);
    let again = fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    assert_eq!(items(&again)[0]["outcome"], "kept");
    assert_eq!(again["orders"]["created"], 0);
    assert_eq!(fl.pebble_orders(), 2);
}

/// The ARI stand-in (`tests/lab/ari-proxy.py`) in front of Pebble, stopped
/// when dropped.
struct AriProxy {
    child: std::process::Child,
    window_file: std::path::PathBuf,
}

impl AriProxy {
    fn start(fl: &FleetLab) -> AriProxy {
        let info = fl.lab.info();
        let port = info.port_base + 7;
        let window_file = fl.fleet_dir().join("ari-window.json");
        let pebble = info.dir.join("pebble");
        let mut child = std::process::Command::new(crate::support::lab::lab_script("ari-proxy.py"))
            .arg(port.to_string())
            .arg(&info.acme_directory)
            .arg(&info.acme_ca)
            .arg(pebble.join("cert.pem"))
            .arg(pebble.join("key.pem"))
            .arg(&window_file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(fl.fleet_dir().join("ari-proxy.log")).expect("log"))
            .spawn()
            .expect("start the ARI stand-in (python3)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("ready line");
        assert_eq!(line.trim(), "ready", "ARI stand-in did not start");
        fl.edit(
            "certbridge.yaml",
            &format!("\"directory\": \"{}\"", info.acme_directory),
            &format!("\"directory\": \"https://127.0.0.1:{port}/dir\""),
        );
        AriProxy { child, window_file }
    }

    fn window(&self, start: jiff::Timestamp, end: jiff::Timestamp) {
        std::fs::write(
            &self.window_file,
            format!("{{\"start\": \"{start}\", \"end\": \"{end}\"}}"),
        )
        .expect("window");
    }
}

impl Drop for AriProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ari_windows_decide_renewal_and_renewals_name_what_they_replace() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let ari = AriProxy::start(&fl);
    let limit = ["--limit", "nb01.opendev.org"];
    // No window served yet: issued as usual.
    let first = fl.json(&["pulse", limit[0], limit[1]], 0);
    assert_eq!(items(&first)[0]["outcome"], "issued");

    // renew_before says "due", but the CA's window lies in the future: ARI
    // wins and nothing is renewed.
    fl.edit(
        "certbridge.yaml",
        "\"key_type\"",
        "\"renew_before\": \"99/100\", \"key_type\"",
    );
    let now = jiff::Timestamp::now();
    let day = jiff::SignedDuration::from_hours(24);
    ari.window(now + day * 10, now + day * 11);
    let plan = fl.json(&["plan", limit[0], limit[1]], 0);
    assert_eq!(items(&plan)[0]["action"], "keep");

    // A window whose chosen point has passed: renew, reason ari-window,
    // with `replaces` (Pebble ignores it; the order still succeeds).
    ari.window(now - day * 2, now - day);
    let plan = fl.json(&["plan", limit[0], limit[1]], 0);
    assert_eq!(items(&plan)[0]["reason"], "ari-window");
    let human = String::from_utf8_lossy(&fl.run(&["plan", limit[0], limit[1]]).stdout).into_owned();
    assert!(
        human.contains("ari-window") && human.contains("due since"),
        "{human}"
    );
    let renewed = fl.json(&["pulse", limit[0], limit[1]], 0);
    assert_eq!(items(&renewed)[0]["reason"], "ari-window");
    assert_eq!(items(&renewed)[0]["outcome"], "issued");
    let log = std::fs::read_to_string(fl.fleet_dir().join("ari-proxy.log")).expect("proxy log");
    assert!(log.contains("GET /renewal-info/"), "{log}");
    assert!(
        log.contains("new order replaces "),
        "the renewal named the certificate it replaces:\n{log}"
    );
    assert_eq!(fl.pebble_orders(), 2);
}

#[test]
fn both_authoritative_servers_are_checked_and_a_host_without_the_group_fails_alone() {
    let fl = FleetLab::start_with(FLEET, LabOptions::default(), |mut spec| {
        for h in &mut spec.hosts {
            if h.name == "nb01.opendev.org" {
                h.group = false;
            }
        }
        spec.secondary()
    });
    let config = std::fs::read_to_string(&fl.config).expect("config");
    let secondary = fl.lab.info().dns_secondary.clone().expect("a secondary");
    assert!(
        config.contains(&secondary),
        "both servers are listed:\n{config}"
    );
    let r = fl.json(&["pulse"], 1);
    let o = outcomes(&r);
    assert_eq!(o["nb01-opendev-org-main"], "stored");
    let err = items(&r)
        .iter()
        .find(|c| c["cert"] == "nb01-opendev-org-main")
        .and_then(|c| c["error"].as_str())
        .expect("error")
        .to_owned();
    assert!(err.contains("group letsencrypt does not exist"), "{err}");
    assert!(
        o.iter()
            .filter(|(k, _)| *k != "nb01-opendev-org-main")
            .all(|(_, v)| v == "issued"),
        "{o:#?}"
    );
    // Propagation was checked on both authoritative servers.
    let servers: Vec<&str> = r["dns"]["outcome"]["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| s.as_str().expect("server"))
        .collect();
    assert_eq!(servers.len(), 2, "{servers:?}");
    assert!(
        servers.iter().any(|s| s.contains(&secondary)),
        "{servers:?}"
    );
}

#[test]
fn an_unknown_host_key_fails_that_host_and_nothing_is_written_there() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let info = fl.lab.info();
    let port = fl.lab.host("nb01.opendev.org").ssh_port;
    // A known_hosts without nb01's key: strict checking must refuse it.
    let kh = std::fs::read_to_string(&info.known_hosts).expect("known_hosts");
    let pruned: String = kh
        .lines()
        .filter(|l| !l.contains(&format!("]:{port} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(pruned, kh, "nb01's key was in known_hosts");
    let copy = fl.fleet_dir().join("known_hosts.pruned");
    std::fs::write(&copy, pruned).expect("write");
    fl.edit(
        "certbridge.yaml",
        &format!("\"known_hosts\": \"{}\"", info.known_hosts.display()),
        &format!("\"known_hosts\": \"{}\"", copy.display()),
    );
    let r = fl.json(&["pulse"], 1);
    let nb01 = items(&r)
        .iter()
        .find(|c| c["cert"] == "nb01-opendev-org-main")
        .expect("nb01")
        .clone();
    assert_eq!(nb01["outcome"], "stored");
    let err = nb01["error"].as_str().expect("error");
    assert!(err.contains("host key verification failed"), "{err}");
    assert!(
        fl.lab
            .ssh_ok("nb01.opendev.org", "ls -A /etc/letsencrypt-certs")
            .trim()
            .is_empty(),
        "nothing was written on the refused host"
    );
    let others = outcomes(&r);
    assert!(
        others
            .iter()
            .filter(|(k, _)| *k != "nb01-opendev-org-main")
            .all(|(_, v)| v == "issued")
    );
}
