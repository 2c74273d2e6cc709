//! `check --dns` in the lab: the example fleet with a missing challenge
//! CNAME, one pointing elsewhere, a CAA record naming another CA, one pinning
//! another account and a dead authoritative server. Each gives its finding
//! with the record to add, exit 1; applying exactly the suggested records
//! makes the check pass; and nothing ever reaches Pebble.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::fleet::Scratch;
use crate::support::fleet_lab::FleetLab;
use crate::support::lab::{CnameMode, LabOptions};

const FLEET: &str = "inventory/certbridge.yaml";
/// The CAA identity the lab's config gives Pebble.
const IDENTITY: &str = "pebble.certbridge.test";
/// An account the CAA record pins that is not certbridge's.
const OTHER_ACCOUNT: &str = "https://127.0.0.1:1/my-account/999";

/// The generated config (JSON), changed by `f`.
fn set_config(fl: &FleetLab, f: impl FnOnce(&mut Value)) {
    let text = std::fs::read_to_string(&fl.config).expect("read config");
    let mut doc: Value = serde_json::from_str(&text).expect("config is JSON");
    f(&mut doc);
    std::fs::write(&fl.config, doc.to_string()).expect("write config");
}

/// A stored account, as instant-acme's credentials keep it (`id` is the
/// account URL); `check --dns` never talks to the CA, so no key is needed.
fn store_account(fl: &FleetLab, uri: &str) -> PathBuf {
    let slug: String = fl
        .lab
        .info()
        .acme_directory
        .trim_start_matches("https://")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = fl
        .fleet_dir()
        .join("state/accounts")
        .join(slug.trim_matches('-'));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("account.json");
    std::fs::write(
        &path,
        format!(r#"{{"id": "{uri}", "key_pkcs8": "unused"}}"#),
    )
    .expect("write account");
    path
}

fn findings(doc: &Value) -> Vec<Value> {
    doc["findings"].as_array().expect("findings").clone()
}

fn of<'a>(all: &'a [Value], severity: &str, name: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|f| f["severity"] == severity && f["name"] == name)
        .collect()
}

fn one<'a>(all: &'a [Value], severity: &str, name: &str) -> &'a Value {
    let got = of(all, severity, name);
    assert_eq!(got.len(), 1, "one {severity} for {name}: {all:#?}");
    got[0]
}

fn message(f: &Value) -> &str {
    f["message"].as_str().expect("message")
}

/// Rewrite one parent zone of the lab: drop lines containing any of
/// `drop`, append `add`, bump the serial, reload.
fn rewrite_zone(fl: &FleetLab, zone: &str, drop: &[&str], add: &[&str]) {
    let path = fl.lab.dir().join(format!("bind/{zone}.db"));
    let text = std::fs::read_to_string(&path).expect("read parent zone");
    assert!(text.contains("( 1 60 60 600 30 )"), "{text}");
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !drop.iter().any(|d| l.contains(d)))
        .map(|l| l.replace("( 1 60 60 600 30 )", "( 2 60 60 600 30 )"))
        .collect();
    out.extend(add.iter().map(|a| (*a).to_owned()));
    std::fs::write(&path, out.join("\n") + "\n").expect("write parent zone");
    let reload = fl.lab.info().reload_command.replace("{zone}", zone);
    let out = Command::new("sh")
        .arg("-c")
        .arg(&reload)
        .output()
        .expect("rndc");
    assert!(
        out.status.success(),
        "{reload}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for _ in 0..50 {
        if fl
            .lab
            .dig(zone, "SOA")
            .iter()
            .any(|l| l.contains(" 2 60 60 600 30"))
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{zone} still serves serial 1 after rndc reload");
}

#[test]
fn check_dns_names_every_record_to_fix_and_never_orders() {
    let fl = FleetLab::start_with(FLEET, LabOptions::default(), |mut spec| {
        // nb01: no CNAME at all; docs: a CNAME to somewhere else.
        spec.names
            .retain(|(n, _)| n != "nb01.opendev.org" && n != "docs.opendev.org");
        spec.zone_record(
            "_acme-challenge.docs.opendev.org",
            "CNAME",
            "docs.old-dns.zuul-ci.org.",
        )
        .zone_record("zuul-ci.org", "CAA", "0 issue \"ca.example.net\"")
        .zone_record(
            "review.opendev.org",
            "CAA",
            &format!("0 issue \"{IDENTITY}; accounturi={OTHER_ACCOUNT}\""),
        )
    });
    let zone = fl.lab.info().signing_zone.clone();
    let account = format!(
        "{}/my-account/1",
        fl.lab.info().acme_directory.trim_end_matches("/dir")
    );
    let account_file = store_account(&fl, &account);
    let dead = format!("127.0.0.1:{}", fl.lab.info().port_base + 6);
    set_config(&fl, |c| {
        c["acme"]["caa_identities"] = serde_json::json!([IDENTITY]);
        c["dns"]["nameservers"]
            .as_array_mut()
            .expect("nameservers")
            .push(dead.clone().into());
    });
    let zone_before = fl.zone_text();

    let doc = fl.json(&["check", "--dns"], 1);
    assert_eq!(doc["ok"], false);
    let all = findings(&doc);

    let f = one(&all, "error", "nb01.opendev.org");
    let add_nb01 = format!("_acme-challenge.nb01.opendev.org. CNAME nb01.opendev.org.{zone}.");
    assert_eq!(f["record"], "_acme-challenge.nb01.opendev.org. CNAME");
    assert_eq!(
        message(f),
        format!("_acme-challenge.nb01.opendev.org does not exist; add `{add_nb01}`")
    );
    assert_eq!(f["fix"], add_nb01.as_str());

    let f = one(&all, "error", "docs.opendev.org");
    let add_docs = format!("_acme-challenge.docs.opendev.org. CNAME docs.opendev.org.{zone}.");
    assert_eq!(
        message(f),
        format!(
            "_acme-challenge.docs.opendev.org is a CNAME to docs.old-dns.zuul-ci.org., outside \
             the signing zone {zone}; change it to `{add_docs}`"
        )
    );

    let pin = |node: &str| {
        format!(
            "{node}. CAA 0 issue \"{IDENTITY}; accounturi={account}; validationmethods=dns-01\""
        )
    };
    for name in ["zuul-ci.org", "www.zuul-ci.org"] {
        let f = one(&all, "error", name);
        assert_eq!(f["record"], "zuul-ci.org. CAA");
        assert_eq!(
            message(f),
            format!(
                "CAA at zuul-ci.org allows only ca.example.net (`zuul-ci.org. CAA 0 issue \
                 \"ca.example.net\"`), not {IDENTITY}: the CA will refuse; add `{}`",
                pin("zuul-ci.org")
            )
        );
    }
    let f = one(&all, "error", "review.opendev.org");
    assert_eq!(f["record"], "review.opendev.org. CAA");
    assert!(
        message(f).starts_with(&format!(
            "CAA at review.opendev.org lets {IDENTITY} issue only for account {OTHER_ACCOUNT} ("
        )),
        "{}",
        message(f)
    );
    assert!(
        message(f).contains(&format!(
            "but certbridge's account is {account}: the CA will refuse"
        )),
        "{}",
        message(f)
    );
    assert_eq!(f["fix"], pin("review.opendev.org").as_str());

    let f = one(&all, "error", &zone);
    assert!(
        message(f).starts_with(&format!("authoritative server {dead} ")),
        "{}",
        message(f)
    );
    let errors: Vec<&Value> = all.iter().filter(|f| f["severity"] == "error").collect();
    assert_eq!(errors.len(), 6, "{errors:#?}");
    // Names no CAA restricts get one suggestion per registered domain.
    let s = one(&all, "info", "opendev.org");
    assert_eq!(s["fix"], pin("opendev.org").as_str());

    // The same, for people: one line per finding.
    let out = fl.run(&["check", "--dns"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("error   nb01.opendev.org: ") && l.contains(&add_nb01)),
        "{text}"
    );
    assert!(text.contains("DNS: 6 error(s), 0 warning(s), "), "{text}");

    // Apply exactly what the findings say; the check passes.
    rewrite_zone(
        &fl,
        "opendev.org",
        &["docs.old-dns", OTHER_ACCOUNT],
        &[&add_nb01, &add_docs, &pin("review.opendev.org")],
    );
    rewrite_zone(
        &fl,
        "zuul-ci.org",
        &["ca.example.net"],
        &[&pin("zuul-ci.org")],
    );
    set_config(&fl, |c| {
        let ns = c["dns"]["nameservers"].as_array_mut().expect("nameservers");
        ns.retain(|s| s != dead.as_str());
    });
    let doc = fl.json(&["check", "--dns"], 0);
    assert_eq!(doc["ok"], true);
    let all = findings(&doc);
    assert!(
        all.iter().all(|f| f["severity"] == "info"),
        "a correct fleet has no errors or warnings: {all:#?}"
    );
    assert!(
        of(&all, "info", "zuul-ci.org").is_empty(),
        "pinned: {all:#?}"
    );

    // Read-only: no order, no new account, no zone write, no journal.
    assert_eq!(fl.pebble_orders(), 0);
    let pebble_log =
        std::fs::read_to_string(fl.lab.dir().join("pebble/pebble.log")).expect("pebble log");
    assert!(
        !pebble_log.contains("POST /"),
        "certbridge talked to the CA:\n{pebble_log}"
    );
    assert_eq!(fl.zone_text(), zone_before);
    assert!(account_file.exists());
    assert!(!fl.fleet_dir().join("state/orders").exists());
}

#[test]
fn check_dns_with_a_dead_resolver_is_one_error() {
    let s = Scratch::copy("inventory");
    // A UDP port nobody listens on: refused at once, no timeout to wait.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    s.edit(
        "certbridge.yaml",
        "  resolver: null",
        &format!("  resolver: 127.0.0.1:{port}"),
    );
    let out = s
        .cmd(&["--output", "json", "check", "--dns"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["severity"], "error");
    assert_eq!(all[0]["record"], "dns.resolver");
    assert!(
        message(&all[0]).starts_with(&format!("resolver 127.0.0.1:{port} does not answer")),
        "{}",
        message(&all[0])
    );
}

#[test]
fn a_crowded_apex_is_warned_about_and_a_pulse_publishes_it_in_batches() {
    // OpenDev's layout for every name: all 22 values at the apex.
    let fl = FleetLab::start_with(FLEET, LabOptions::default(), |mut spec| {
        for (_, mode) in &mut spec.names {
            *mode = CnameMode::Apex;
        }
        spec
    });
    let zone = fl.lab.info().signing_zone.clone();
    // Pebble's validator reads at most 512 bytes over UDP and never retries
    // over TCP: one update with all 22 values would fail most orders.
    set_config(&fl, |c| {
        c["dns"]["txt_answer_limit"] = 512.into();
        c["acme"]["caa_identities"] = serde_json::json!([IDENTITY]);
    });
    let doc = fl.json(&["check", "--dns"], 0);
    let all = findings(&doc);
    let w = one(&all, "warning", &zone);
    assert!(
        message(w).starts_with(&format!(
            "22 names put their DNS-01 value at {zone} when every certificate is due at once"
        )),
        "{}",
        message(w)
    );
    assert!(
        message(w).contains("over the 512-byte limit (dns.txt_answer_limit), which holds 6; a pulse publishes them in at least 4 zone updates"),
        "{}",
        message(w)
    );
    assert_eq!(fl.pebble_orders(), 0);

    let report = fl.json(&["pulse"], 0);
    let certs = report["certificates"].as_array().expect("certificates");
    assert_eq!(certs.len(), 11);
    for c in certs {
        assert_eq!(c["outcome"], "issued", "{c:#}");
    }
    let dns = &report["dns"]["outcome"];
    assert_eq!(dns["records"], 22);
    let first = dns["serial"].as_u64().expect("serial");
    let cleanup = dns["cleanup_serial"].as_u64().expect("cleanup serial");
    // One serial per batch, then the clean-up.
    assert!(cleanup - first >= 4, "{dns:#}");
    assert!(!fl.zone_text().contains("TXT"), "{}", fl.zone_text());
}
