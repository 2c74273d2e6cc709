//! Monitoring without a lab: `status` and its danger zone on a store built
//! here, `export`, the monitor counters when the store is unreadable, and
//! the lock-busy exit code.

use std::fs::File;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use predicates::prelude::*;

use crate::support::fleet::Scratch;

/// A leaf for `name` valid from an hour ago until `days` from now.
fn leaf_pem(name: &str, days: i64) -> String {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().expect("key");
    params.self_signed(&key).expect("sign").pem()
}

/// Put version `version` of `key` (expiring in `days`) into the store at
/// `state`, optionally making it current.
fn store_version(state: &Path, key: &str, name: &str, version: &str, days: i64, current: bool) {
    let dir = state.join("certs").join(key).join(version);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("cert.pem"), leaf_pem(name, days)).expect("write cert");
    if current {
        std::fs::write(
            state.join("certs").join(key).join("current"),
            format!("{version}\n"),
        )
        .expect("write current");
    }
}

/// Record `host` as having `version` of `key`.
fn store_deployed(state: &Path, host: &str, key: &str, version: &str) {
    std::fs::create_dir_all(state.join("hosts")).expect("mkdir");
    let record = serde_json::json!({
        "deployed": {key: {"version": version, "files": {}, "at": "2026-12-01T00:00:00Z"}},
        "pending_handlers": [],
    });
    std::fs::write(
        state.join("hosts").join(format!("{host}.json")),
        record.to_string(),
    )
    .expect("write host record");
}

/// gitea01: a fresh version is stored (60 days) but the host still has the
/// old one (2 days); nb01: the host has the current version (3 days);
/// every other certificate is not issued.
fn fleet_near_expiry() -> Scratch {
    let s = Scratch::copy("inventory");
    let state = s.path("state");
    store_version(
        &state,
        "gitea01-main",
        "gitea01.opendev.org",
        "v1",
        2,
        false,
    );
    store_version(
        &state,
        "gitea01-main",
        "gitea01.opendev.org",
        "v2",
        60,
        true,
    );
    store_deployed(&state, "gitea01.opendev.org", "gitea01-main", "v1");
    store_version(
        &state,
        "nb01-opendev-org-main",
        "nb01.opendev.org",
        "v1",
        3,
        true,
    );
    store_deployed(&state, "nb01.opendev.org", "nb01-opendev-org-main", "v1");
    s
}

#[test]
fn status_exits_1_when_a_hosts_certificate_is_in_the_danger_zone() {
    let s = fleet_near_expiry();
    let out = s
        .cmd(&["status"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("DANGER: 2 certificate(s) on their hosts expire within 7d:")
            && text.contains("  gitea01.opendev.org gitea01-main: expires ")
            && text.contains("  nb01.opendev.org nb01-opendev-org-main: expires "),
        "{text}"
    );
    // The host's old version decides, not the fresh stored one: with a
    // 1-day zone nothing is in danger.
    s.cmd(&["status", "--danger-zone", "1d"]).assert().code(0);
    s.cmd(&["status", "--danger-zone", "60h"]).assert().code(1);
    s.cmd(&["status", "--limit", "gitea02.opendev.org"])
        .assert()
        .code(0);

    let out = s
        .cmd(&["--output", "json", "status"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(doc["danger"], true);
    assert_eq!(doc["danger_zone_seconds"], 7 * 86_400);
    let danger: Vec<&str> = doc["certificates"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["danger"] == true)
        .map(|r| r["cert"].as_str().expect("cert"))
        .collect();
    assert_eq!(danger, ["gitea01-main", "nb01-opendev-org-main"]);
}

#[test]
fn danger_zone_comes_from_the_config_and_the_flag_wins() {
    let s = fleet_near_expiry();
    s.edit(
        "certbridge.yaml",
        "certcheck_file: null",
        "certcheck_file: null\ndanger_zone: 1d",
    );
    s.cmd(&["status"]).assert().code(0);
    s.cmd(&["status", "--danger-zone", "3d"]).assert().code(1);
    s.edit("certbridge.yaml", "danger_zone: 1d", "danger_zone: soon");
    s.cmd(&["status"]).assert().code(2).stderr(
        predicate::str::contains("certbridge.yaml:").and(predicate::str::contains("danger_zone")),
    );
    s.cmd(&["status", "--danger-zone", "soon"]).assert().code(2);
}

#[test]
fn export_prints_or_writes_the_monitoring_files() {
    let s = fleet_near_expiry();
    let metrics = s
        .cmd(&["export", "metrics"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    for line in [
        "certbridge_cert_danger{host=\"nb01.opendev.org\",cert=\"nb01-opendev-org-main\"} 1",
        "certbridge_cert_deployed{host=\"gitea01.opendev.org\",cert=\"gitea01-main\"} 0",
        "certbridge_cert_last_success_timestamp_seconds{host=\"zuul01.opendev.org\",cert=\"zuul01-opendev-org-main\"} 0",
        "# TYPE certbridge_cert_expiry_timestamp_seconds gauge",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    // Not written without a path in the config: an input error.
    s.cmd(&["export", "metrics", "--write"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`metrics_file` is not set"));
    s.edit(
        "certbridge.yaml",
        "certcheck_file: null",
        "certcheck_file: certcheck/ssldomains",
    );
    let list = s
        .cmd(&["export", "certcheck"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    s.cmd(&["export", "certcheck", "--write"]).assert().code(0);
    let path = s.path("certcheck/ssldomains");
    assert_eq!(std::fs::read(&path).expect("written"), list);
    assert_eq!(
        std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
        0o644
    );
    let list = String::from_utf8_lossy(&list);
    assert!(list.starts_with("gitea01.opendev.org 443\n"), "{list}");
    assert!(
        list.contains("\nmirror.dfw.rax.opendev.org 4443\n"),
        "{list}"
    );
}

#[test]
fn a_pulse_that_finds_the_lock_taken_exits_75_and_touches_nothing() {
    let s = Scratch::copy("inventory");
    s.edit(
        "certbridge.yaml",
        "metrics_file: null",
        "metrics_file: textfile/certbridge.prom",
    );
    let state = s.path("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    let lock = File::create(state.join("certbridge.lock")).expect("lock file");
    lock.try_lock().expect("take the lock");
    s.cmd(&["pulse"])
        .assert()
        .code(75)
        .stderr(predicate::str::contains(
            "another certbridge run holds the store lock",
        ));
    s.cmd(&["renew", "gitea01.opendev.org"]).assert().code(75);
    assert!(
        !s.path("textfile").exists(),
        "monitoring files written while locked"
    );
    assert!(!state.join("monitor.json").exists());
}

#[test]
fn a_pulse_that_cannot_read_the_store_counts_the_failure_and_says_the_files_are_stale() {
    let s = fleet_near_expiry();
    s.edit(
        "certbridge.yaml",
        "metrics_file: null",
        "metrics_file: textfile/certbridge.prom",
    );
    s.cmd(&["export", "metrics", "--write"]).assert().code(0);
    let before = std::fs::read_to_string(s.path("textfile/certbridge.prom")).expect("written");
    std::fs::write(s.path("state/hosts/nb01.opendev.org.json"), "{not json").expect("corrupt");
    for _ in 0..2 {
        s.cmd(&["pulse"]).assert().code(1).stderr(
            predicate::str::contains("reading the central store")
                .and(predicate::str::contains("monitoring files not written")),
        );
    }
    // The old file stays (node_exporter's mtime shows its age) ...
    assert_eq!(
        std::fs::read_to_string(s.path("textfile/certbridge.prom")).expect("still there"),
        before
    );
    // ... and the failures are counted for when the store is readable again.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.path("state/monitor.json")).expect("monitor.json"),
    )
    .expect("json");
    assert_eq!(state["pulse"]["success"], false);
    assert_eq!(state["pulse"]["consecutive_failures"], 2);
    assert!(
        state["pulse"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("nb01.opendev.org.json")),
        "{state}"
    );
}

#[test]
fn export_metrics_write_matches_what_it_prints() {
    let s = fleet_near_expiry();
    s.edit(
        "certbridge.yaml",
        "metrics_file: null",
        "metrics_file: textfile/certbridge.prom",
    );
    let printed = s
        .cmd(&["export", "metrics"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    s.cmd(&["export", "metrics", "--write"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("wrote "));
    let path = s.path("textfile/certbridge.prom");
    assert_eq!(std::fs::read(&path).expect("written"), printed);
    assert_eq!(
        std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
        0o644
    );
}
