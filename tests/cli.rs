//! The command line as operators use it: exit codes 0, 1, 2 and 3, and
//! errors that name file, line and item.

use predicates::prelude::*;

use crate::support::fleet::{Scratch, certbridge};

#[test]
fn check_accepts_the_example_fleet() {
    let s = Scratch::copy("inventory");
    s.cmd(&["check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "8 host(s), 11 certificate(s), 22 name(s)",
        ));
}

#[test]
fn plan_exits_0_and_detailed_exitcode_exits_3_with_changes() {
    let s = Scratch::copy("inventory");
    s.cmd(&["plan"]).assert().code(0);
    s.cmd(&["plan", "--detailed-exitcode"]).assert().code(3);
}

#[test]
fn config_from_the_environment() {
    let s = Scratch::copy("inventory");
    certbridge()
        .env("CERTBRIDGE_CONFIG", s.config())
        .arg("check")
        .assert()
        .code(0);
}

#[test]
fn usage_errors_exit_2() {
    certbridge().arg("frobnicate").assert().code(2);
    certbridge()
        .args(["plan", "--no-such-flag"])
        .assert()
        .code(2);
    certbridge().arg("renew").assert().code(2);
}

#[test]
fn help_and_version_exit_0() {
    certbridge()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("pulse"));
    certbridge().arg("--version").assert().code(0);
}

#[test]
fn missing_config_exits_2_naming_it() {
    certbridge()
        .args(["--config", "/nonexistent/certbridge.yaml", "plan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/certbridge.yaml"));
}

#[test]
fn broken_host_vars_name_file_line_and_item() {
    let s = Scratch::copy("inventory");
    s.edit(
        "service/host_vars/gitea02.opendev.org.yaml",
        "- gitea02.opendev.org",
        "- Gitea02.opendev.org",
    );
    s.edit("handlers.yaml", "restart-gitea:\n", "restart-gitea-typo:\n");
    let out = s
        .cmd(&["plan"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("service/host_vars/gitea02.opendev.org.yaml:")
            && err.contains(
                "gitea02.opendev.org gitea02-main: `Gitea02.opendev.org` has uppercase letters"
            ),
        "{err}"
    );
    assert!(err.contains("unknown action `restart-gitea`"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
}

#[test]
fn yaml_syntax_error_names_the_line() {
    let s = Scratch::copy("inventory");
    let p = s.path("service/groups.yaml");
    let mut text = std::fs::read_to_string(&p).expect("read");
    text.push_str("  broken: [unclosed\n");
    std::fs::write(&p, text).expect("write");
    s.cmd(&["check"]).assert().code(2).stderr(
        predicate::str::contains("service/groups.yaml:")
            .and(predicate::str::contains("invalid YAML")),
    );
}

#[test]
fn limit_that_matches_nothing_is_an_input_error() {
    let s = Scratch::copy("inventory");
    s.cmd(&["plan", "--limit", "gitea99*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`gitea99*` matches none of the"));
    s.cmd(&["plan", "--cert", "no-such-key"]).assert().code(2);
}

#[test]
fn limit_and_cert_narrow_the_plan() {
    let s = Scratch::copy("inventory");
    let out = s
        .cmd(&[
            "--output",
            "json",
            "plan",
            "--limit",
            "gitea*,!gitea03.opendev.org",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let plan: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let hosts: Vec<&str> = plan["certificates"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["host"].as_str().expect("host"))
        .collect();
    assert_eq!(hosts, ["gitea01.opendev.org", "gitea02.opendev.org"]);
}

#[test]
fn json_input_errors_are_machine_readable() {
    let s = Scratch::copy("inventory");
    s.edit(
        "certbridge.yaml",
        "group: letsencrypt",
        "group: letsencrypt\ngroupp: x",
    );
    let out = s
        .cmd(&["--output", "json", "check"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(doc["error"], "input");
    assert_eq!(doc["problems"][0]["item"], "groupp");
    assert!(doc["problems"][0]["line"].as_u64().is_some());
}

#[test]
fn renew_validates_its_input_first() {
    let s = Scratch::copy("inventory");
    s.cmd(&["renew", "nope.opendev.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no host `nope.opendev.org` in the inventory",
        ));
    s.cmd(&["renew", "nb03.opendev.org"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not in group `letsencrypt`"));
    s.cmd(&["renew", "gitea01.opendev.org", "--cert", "gitea02-main"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "has no certificate with key `gitea02-main`",
        ));
    // Nothing was created: input errors have no side effects.
    assert!(!s.path("state").exists());
}

#[test]
fn status_lists_every_certificate_as_not_issued() {
    let s = Scratch::copy("inventory");
    s.cmd(&["status"]).assert().code(0).stdout(
        predicate::str::contains("gitea01-main").and(predicate::str::contains("not issued")),
    );
}
