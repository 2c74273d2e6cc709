//! A misbehaving CA, in the lab: `tests/lab/ca-fault-proxy.py` in front of
//! Pebble answers 5xx, drops connections, answers slowly, storms with
//! `badNonce` and rate-limits. certbridge must retry a bounded number of
//! times, honour `Retry-After`, confine failures to the certificates hit,
//! never order a certificate twice, and finish the rest on the next pulse.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::fleet_lab::{FleetLab, outcomes};
use crate::support::lab::{LabOptions, lab_script};

const FLEET: &str = "inventory/certbridge.yaml";
const CERTS: usize = 11;

/// The fault proxy, stopped when dropped.
struct FaultProxy {
    child: Child,
    rules: PathBuf,
    state: PathBuf,
}

impl FaultProxy {
    fn start(fl: &FleetLab) -> FaultProxy {
        let info = fl.lab.info();
        let port = info.port_base + 8;
        let rules = fl.fleet_dir().join("ca-faults.json");
        let state = fl.fleet_dir().join("ca-faults-state.json");
        let pebble = info.dir.join("pebble");
        let mut child = Command::new(lab_script("ca-fault-proxy.py"))
            .arg(port.to_string())
            .arg(&info.acme_directory)
            .arg(&info.acme_ca)
            .arg(pebble.join("cert.pem"))
            .arg(pebble.join("key.pem"))
            .arg(&rules)
            .arg(&state)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(fl.fleet_dir().join("ca-fault-proxy.log")).expect("log"))
            .spawn()
            .expect("start ca-fault-proxy.py (python3)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("ready line");
        assert_eq!(line.trim(), "ready", "the fault proxy did not start");
        fl.edit(
            "certbridge.yaml",
            &format!("\"directory\": \"{}\"", info.acme_directory),
            &format!("\"directory\": \"https://127.0.0.1:{port}/dir\""),
        );
        FaultProxy {
            child,
            rules,
            state,
        }
    }

    /// Replace the fault rules (an empty list: a well-behaved CA).
    fn rules(&self, rules: Value) {
        std::fs::write(&self.rules, json!({ "rules": rules }).to_string()).expect("rules");
    }

    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).expect("proxy state"))
            .expect("proxy state JSON")
    }

    /// How many faults of `kind` were injected so far.
    fn injected(&self, kind: &str) -> u64 {
        self.state()["injected"][kind].as_u64().unwrap_or(0)
    }

    /// Successful new orders at Pebble, per name set.
    fn orders(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for o in self.state()["new_orders"].as_array().expect("new_orders") {
            if o["status"].as_u64().is_some_and(|s| s < 300) {
                *out.entry(o["names"].to_string()).or_insert(0) += 1;
            }
        }
        out
    }

    /// No name set was ordered more than once, and `total` were ordered.
    fn assert_ordered_once(&self, total: usize) {
        let orders = self.orders();
        assert!(orders.values().all(|n| *n == 1), "{orders:#?}");
        assert_eq!(orders.len(), total, "{orders:#?}");
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every certificate has its outcome in `special`, else `default`; returns
/// every certificate's error.
fn expect(report: &Value, special: &[(&str, &str)], default: &str) -> BTreeMap<String, String> {
    let o = outcomes(report);
    let mut errors = BTreeMap::new();
    for (cert, (got, error)) in &o {
        let want = special
            .iter()
            .find(|(c, _)| c == cert)
            .map_or(default, |(_, w)| *w);
        assert_eq!(got, want, "{cert}: {o:#?}");
        errors.insert(cert.clone(), error.clone());
    }
    errors
}

#[test]
fn server_errors_and_dropped_connections_are_retried_and_new_orders_never_doubled() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let ca = FaultProxy::start(&fl);
    ca.rules(json!([
        // Reads and polls: retried within the pulse.
        {"fault": "status", "code": 503, "on": "^HEAD /nonce-plz", "times": 2},
        {"fault": "status", "code": 500, "on": "^POST /authZ/", "times": 3},
        {"fault": "drop", "on": "^POST /my-order/", "times": 2},
        {"fault": "status", "code": 502, "on": "^POST /finalize-order/", "times": 1},
        // A new order whose answer is lost may exist: not sent again.
        {"fault": "status", "code": 503, "on": "^POST /order-plz", "names": ["nb01.opendev.org"], "times": 1},
        {"fault": "drop", "on": "^POST /order-plz", "names": ["docs.opendev.org"], "times": 1},
    ]));
    let r = fl.json(&["pulse"], 1);
    let errors = expect(
        &r,
        &[
            ("nb01-opendev-org-main", "failed"),
            ("static01-docs-opendev-org", "failed"),
        ],
        "issued",
    );
    assert!(
        errors["nb01-opendev-org-main"].contains("creating the order"),
        "{errors:#?}"
    );
    assert!(
        errors["static01-docs-opendev-org"].contains("creating the order"),
        "{errors:#?}"
    );
    assert_eq!(ca.injected("status"), 2 + 3 + 1 + 1);
    assert_eq!(ca.injected("drop"), 2 + 1);
    assert_eq!(r["orders"]["created"], CERTS - 2);
    ca.assert_ordered_once(CERTS - 2);

    // A well-behaved CA again: the next pulse orders exactly what was left.
    ca.rules(json!([]));
    let r = fl.json(&["pulse"], 0);
    expect(
        &r,
        &[
            ("nb01-opendev-org-main", "issued"),
            ("static01-docs-opendev-org", "issued"),
        ],
        "kept",
    );
    assert_eq!(r["orders"]["created"], 2);
    ca.assert_ordered_once(CERTS);
    assert_eq!(fl.pebble_orders(), CERTS);
}

const NB01: &str = "nb01-opendev-org-main";
const NB01_LIMIT: [&str; 4] = ["pulse", "--force", "--limit", "nb01.opendev.org"];

#[test]
fn a_short_retry_after_is_waited_out_and_a_long_one_holds_orders_across_pulses() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let ca = FaultProxy::start(&fl);
    ca.rules(json!([
        {"fault": "ratelimit", "retry_after": 2, "on": "^POST /order-plz", "times": 3},
    ]));
    let started = Instant::now();
    let r = fl.json(&["pulse"], 0);
    expect(&r, &[], "issued");
    assert_eq!(ca.injected("ratelimit"), 3);
    assert!(
        started.elapsed().as_secs_f64() >= 2.0,
        "Retry-After was not honoured"
    );
    ca.assert_ordered_once(CERTS);

    // An hour: not waited out; the certificate fails with the time, and no
    // order goes to the CA until then, not even on the next pulse.
    ca.rules(json!([
        {"fault": "ratelimit", "retry_after": 3600, "on": "^POST /order-plz",
         "names": ["nb01.opendev.org"], "times": -1},
    ]));
    let started = Instant::now();
    let r = fl.json(&NB01_LIMIT, 1);
    assert!(
        started.elapsed().as_secs() < 30,
        "an hour is not waited out"
    );
    let error = expect(&r, &[(NB01, "failed")], "kept")[NB01].clone();
    assert!(
        error.contains("rateLimited") || error.contains("rate limit"),
        "{error}"
    );
    assert!(error.contains("retry after "), "{error}");
    assert_eq!(
        ca.injected("ratelimit"),
        4,
        "a long Retry-After is not retried"
    );
    // `plan` and `status` show the hold; the next pulse keeps it.
    let human = String::from_utf8_lossy(
        &fl.run(&["plan", "--force", "--limit", "nb01.opendev.org"])
            .stdout,
    )
    .into_owned();
    assert!(
        human.contains("ON HOLD until") && human.contains("rate limit"),
        "{human}"
    );
    let status = String::from_utf8_lossy(&fl.run(&["status"]).stdout).into_owned();
    assert!(status.contains("ON HOLD until"), "{status}");
    let plan = fl.json(&["plan", "--force", "--limit", "nb01.opendev.org"], 0);
    assert!(
        plan["certificates"][0]["held_until"].is_string(),
        "{plan:#}"
    );
    let before = ca.state()["new_orders"].clone();
    let r = fl.json(&NB01_LIMIT, 1);
    let error = expect(&r, &[(NB01, "held")], "kept")[NB01].clone();
    assert!(error.contains("rate limit"), "{error}");
    assert_eq!(
        ca.injected("ratelimit"),
        4,
        "no order was sent during the hold"
    );
    assert_eq!(ca.state()["new_orders"], before);

    // Once the time has passed (the hold removed, as time would), ordering
    // resumes.
    ca.rules(json!([]));
    let holds = fl.fleet_dir().join("state/ratelimit");
    assert!(holds.is_dir(), "the hold is kept in the store");
    std::fs::remove_dir_all(&holds).expect("remove the hold");
    let r = fl.json(&NB01_LIMIT, 0);
    expect(&r, &[(NB01, "issued")], "kept");
    assert_eq!(fl.pebble_orders(), CERTS + 1);
}

#[test]
fn a_bad_nonce_storm_is_ridden_out_or_fails_that_certificate_alone() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let ca = FaultProxy::start(&fl);
    // Two in a row at most per request: instant-acme signs again each time.
    ca.rules(json!([{"fault": "badnonce", "on": "^POST ", "times": 2}]));
    let r = fl.json(&["pulse"], 0);
    expect(&r, &[], "issued");
    assert_eq!(ca.injected("badnonce"), 2);
    ca.assert_ordered_once(CERTS);

    // A storm that does not end: bounded attempts, then that certificate
    // fails alone; the next pulse completes it.
    ca.rules(json!([
        {"fault": "badnonce", "on": "^POST /order-plz", "names": ["nb01.opendev.org"], "times": -1},
    ]));
    let r = fl.json(&["pulse", "--force"], 1);
    let error = expect(&r, &[(NB01, "failed")], "issued")[NB01].clone();
    assert!(error.contains("nonce"), "{error}");
    let storm = ca.injected("badnonce") - 2;
    assert!((1..=3).contains(&storm), "{storm} bad nonces: not bounded");
    ca.rules(json!([]));
    let r = fl.json(&NB01_LIMIT, 0);
    expect(&r, &[(NB01, "issued")], "kept");
    assert_eq!(r["orders"]["created"], 1);
    assert_eq!(fl.pebble_orders(), 2 * CERTS);
}

#[test]
fn slow_answers_are_waited_for_and_a_hung_one_is_given_up_and_retried() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let ca = FaultProxy::start(&fl);
    ca.rules(json!([
        {"fault": "slow", "seconds": 3, "on": "^POST /order-plz", "times": 2},
        {"fault": "slow", "seconds": 2, "on": "^POST /finalize-order/", "times": 2},
        {"fault": "slow", "seconds": 1, "on": "^HEAD /nonce-plz", "times": 1},
        // Longer than one attempt may take (30 s): abandoned and sent again.
        {"fault": "slow", "seconds": 40, "on": "^POST /authZ/", "times": 1},
    ]));
    let started = Instant::now();
    let r = fl.json(&["pulse"], 0);
    let took = started.elapsed().as_secs();
    expect(&r, &[], "issued");
    assert_eq!(ca.injected("slow"), 6);
    assert!((30..120).contains(&took), "took {took}s");
    ca.assert_ordered_once(CERTS);
    assert_eq!(fl.pebble_orders(), CERTS);
}
