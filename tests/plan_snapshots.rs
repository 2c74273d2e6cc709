//! Snapshots of `plan` for the example fleet and the OpenDev-sized fixture,
//! in both forms, so that any change to a plan shows up as a diff.

use crate::support::fleet::Scratch;

const AT: &str = "2026-12-01T00:00:00Z";

fn plan(fleet: &str, output: &str) -> String {
    let s = Scratch::copy(fleet);
    let out = s
        .cmd(&["--output", output, "-q", "plan", "--at", AT])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn example_fleet_human() {
    insta::assert_snapshot!(plan("inventory", "human"));
}

#[test]
fn example_fleet_json() {
    insta::assert_snapshot!(plan("inventory", "json"));
}

#[test]
fn opendev_2021_human() {
    insta::assert_snapshot!(plan("tests/fixtures/opendev-2021", "human"));
}

#[test]
fn opendev_2021_json() {
    insta::assert_snapshot!(plan("tests/fixtures/opendev-2021", "json"));
}
