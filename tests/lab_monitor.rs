//! Monitoring end to end, in the lab: a real pulse writes the Prometheus
//! textfile and the certcheck list (also when it fails), the counters
//! follow failures and recovery, and `status` exits 1 while the hosts'
//! one-hour lab certificates are inside the danger zone.

use std::collections::BTreeMap;

use crate::support::fleet_lab::FleetLab;
use crate::support::lab::LabOptions;

const FLEET: &str = "inventory/certbridge.yaml";
const NB01: &str = "{host=\"nb01.opendev.org\",cert=\"nb01-opendev-org-main\"}";

/// The textfile as `name{labels}` → value; panics on a malformed line.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            (
                k.to_owned(),
                v.parse().unwrap_or_else(|_| panic!("bad value {l:?}")),
            )
        })
        .collect()
}

#[test]
fn a_pulse_writes_metrics_and_certcheck_and_status_sees_the_danger_zone() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    fl.edit(
        "certbridge.yaml",
        "\"log_file\": \"certbridge.log\",",
        "\"log_file\": \"certbridge.log\", \"metrics_file\": \"textfile/certbridge.prom\", \"certcheck_file\": \"certcheck/ssldomains\",",
    );
    let metrics_path = fl.fleet_dir().join("textfile/certbridge.prom");
    let certcheck_path = fl.fleet_dir().join("certcheck/ssldomains");
    let metrics = || samples(&std::fs::read_to_string(&metrics_path).expect("metrics written"));

    // nb01 unreachable: its certificate is stored but not deployed; the
    // pulse fails and says so in the textfile.
    let port = fl.lab.host("nb01.opendev.org").ssh_port;
    let closed = fl.lab.info().port_base + 199;
    fl.edit(
        "lab-hosts.yaml",
        &format!("\"ansible_port\": {port}"),
        &format!("\"ansible_port\": {closed}"),
    );
    let before = jiff::Timestamp::now().as_second() as f64;
    fl.json(
        &["pulse", "--limit", "nb01.opendev.org,gitea01.opendev.org"],
        1,
    );
    let m = metrics();
    assert_eq!(m["certbridge_pulse_success"], 0.0);
    assert_eq!(m["certbridge_pulse_consecutive_failures"], 1.0);
    assert_eq!(m["certbridge_pulse_last_success_timestamp_seconds"], 0.0);
    assert!(m["certbridge_pulse_last_run_timestamp_seconds"] >= before);
    assert!(m["certbridge_pulse_duration_seconds"] > 0.0);
    assert_eq!(
        m[&format!("certbridge_cert_consecutive_failures{NB01}")],
        1.0
    );
    assert_eq!(
        m[&format!("certbridge_cert_last_success_timestamp_seconds{NB01}")],
        0.0
    );
    assert_eq!(m[&format!("certbridge_cert_deployed{NB01}")], 0.0);
    assert!(m[&format!("certbridge_cert_expiry_timestamp_seconds{NB01}")] > before);
    assert!(!m.contains_key(&format!(
        "certbridge_cert_deployed_expiry_timestamp_seconds{NB01}"
    )));
    let gitea = "{host=\"gitea01.opendev.org\",cert=\"gitea01-main\"}";
    assert_eq!(
        m[&format!("certbridge_cert_consecutive_failures{gitea}")],
        0.0
    );
    assert!(m[&format!("certbridge_cert_last_success_timestamp_seconds{gitea}")] >= before);
    // Hosts outside --limit keep their series.
    assert_eq!(
        m["certbridge_cert_last_success_timestamp_seconds{host=\"zuul01.opendev.org\",cert=\"zuul01-opendev-org-main\"}"],
        0.0
    );
    // Nothing of nb01 is on its host yet: not in the danger zone; gitea01's
    // one-hour certificate is.
    let out = fl.run(&["status", "--limit", "nb01.opendev.org"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = fl.run(&["status"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("DANGER: 1 certificate(s)")
            && text.contains("gitea01.opendev.org gitea01-main: expires"),
        "{text}"
    );

    // nb01 back: the stored certificate lands, the counters reset.
    fl.edit(
        "lab-hosts.yaml",
        &format!("\"ansible_port\": {closed}"),
        &format!("\"ansible_port\": {port}"),
    );
    let after = jiff::Timestamp::now().as_second() as f64;
    fl.json(&["pulse", "--limit", "nb01.opendev.org"], 0);
    let m = metrics();
    assert_eq!(m["certbridge_pulse_success"], 1.0);
    assert_eq!(m["certbridge_pulse_consecutive_failures"], 0.0);
    assert!(m["certbridge_pulse_last_success_timestamp_seconds"] >= after);
    assert_eq!(
        m[&format!("certbridge_cert_consecutive_failures{NB01}")],
        0.0
    );
    assert!(m[&format!("certbridge_cert_last_success_timestamp_seconds{NB01}")] >= after);
    assert_eq!(m[&format!("certbridge_cert_deployed{NB01}")], 1.0);
    let expiry = m[&format!("certbridge_cert_expiry_timestamp_seconds{NB01}")];
    assert_eq!(
        m[&format!("certbridge_cert_deployed_expiry_timestamp_seconds{NB01}")],
        expiry
    );
    // The lab issues one-hour certificates: inside the default 7-day zone.
    assert!(expiry - after <= 3700.0, "{expiry} {after}");
    assert_eq!(m[&format!("certbridge_cert_danger{NB01}")], 1.0);
    assert!(m[&format!("certbridge_cert_renewal_timestamp_seconds{NB01}")] < expiry);

    // status: exit 1 in the zone, 0 with a zone shorter than the hour left.
    let doc = fl.json(&["status", "--limit", "nb01.opendev.org"], 1);
    assert_eq!(doc["danger"], true);
    assert_eq!(
        doc["certificates"][0]["host_not_after"],
        doc["certificates"][0]["not_after"]
    );
    fl.json(
        &[
            "status",
            "--limit",
            "nb01.opendev.org",
            "--danger-zone",
            "5m",
        ],
        0,
    );

    // The certcheck list: every first name with its port, and the extras.
    let list = std::fs::read_to_string(&certcheck_path).expect("certcheck written");
    for line in [
        "nb01.opendev.org 443",
        "gitea01.opendev.org 443",
        "review.opendev.org 443",
        "mirror.dfw.rax.opendev.org 4443",
    ] {
        assert!(list.lines().any(|l| l == line), "{line:?} missing:\n{list}");
    }
    // `export` renders the same files without a pulse.
    let out = fl.run(&["export", "certcheck"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), list);
    let out = fl.run(&["export", "metrics"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&metrics_path).expect("metrics")
    );
}
