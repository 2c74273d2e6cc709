//! Inventory loading (yamlgroup membership, ranges, children, variable
//! precedence), fleet and config validation with file and line, and a
//! property test that loading never panics whatever the files contain.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_yaml_ng::Value;

use super::Inventory;
use super::fleet::Fleet;
use crate::config::Config;
use crate::diag::{Problem, Problems};

/// Write `text` to `dir/rel`, creating folders.
fn put(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(&path, text).expect("write file");
    path
}

fn load_inv(dir: &Path, sources: &[&str]) -> (Inventory, Problems) {
    let mut problems = Problems::default();
    let paths: Vec<PathBuf> = sources.iter().map(|s| dir.join(s)).collect();
    let inv = Inventory::load(&paths, &mut problems);
    (inv, problems)
}

fn members(inv: &Inventory, group: &str) -> Vec<String> {
    inv.groups
        .get(group)
        .map(|m| m.iter().cloned().collect())
        .unwrap_or_default()
}

fn var(inv: &Inventory, host: &str, key: &str) -> Option<String> {
    let v = &inv.hosts.get(host)?.vars.get(key)?.value;
    v.as_str().map(str::to_owned)
}

/// Config `certbridge.yaml` beside a `hosts.yaml`; returns the fleet.
fn fleet_of(hosts_yaml: &str) -> (tempfile::TempDir, Fleet, Problems) {
    let dir = tempfile::tempdir().expect("tempdir");
    put(dir.path(), "hosts.yaml", hosts_yaml);
    let cfg = put(
        dir.path(),
        "certbridge.yaml",
        "inventory: [hosts.yaml]\nstate_dir: state\nlog_file: null\n",
    );
    let config = Config::load(&cfg).expect("valid config");
    let mut problems = Problems::default();
    let inv = Inventory::load(&config.inventory, &mut problems);
    let fleet = Fleet::from_inventory(&inv, &config, &mut problems);
    (dir, fleet, problems)
}

fn only_error(problems: &Problems) -> &Problem {
    let errors: Vec<&Problem> = problems.errors().collect();
    assert_eq!(errors.len(), 1, "{:#?}", problems.all());
    errors[0]
}

/// `letsencrypt_certs` of web1 in group letsencrypt; `certs` starts at line 7.
fn one_host(certs: &str) -> String {
    format!(
        "all:\n  children:\n    letsencrypt:\n      hosts:\n        web1.example.org:\n          letsencrypt_certs:\n{certs}"
    )
}

#[test]
fn yamlgroup_globs_regexes_lists_and_mapping_items() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = [
        "nb01.opendev.org",
        "nb02.opendev.org",
        "nb03.opendev.org",
        "mirror01.dfw.rax.opendev.org",
        "mirror.opendev.org",
        "gitea01.opendev.org",
        "gitea02.opendev.org",
        "review01.opendev.org",
    ];
    let body: String = hosts.iter().map(|h| format!("    {h}:\n")).collect();
    put(dir.path(), "hosts.yaml", &format!("all:\n  hosts:\n{body}"));
    put(
        dir.path(),
        "groups.yaml",
        r"plugin: yamlgroup
groups:
  nodepool-builder: '^nb(?!03)[0-9]*\.opendev\.org'
  mirror: mirror[0-9]*.opendev.org
  gitea: gitea*
  review-prefix: ^review
  listed:
    - gitea02.opendev.org
    - mirror01*
  mapped:
    - nb03.opendev.org:
        ignored: value
    - review01.opendev.org
  ghosts:
    - nothing*.example.org
    - absent01.opendev.org
    - ^zuul
",
    );
    let (inv, problems) = load_inv(dir.path(), &["hosts.yaml", "groups.yaml"]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    assert_eq!(
        members(&inv, "nodepool-builder"),
        ["nb01.opendev.org", "nb02.opendev.org"]
    );
    // `*` crosses dots; `[0-9]` needs a digit, so mirror.opendev.org is out.
    assert_eq!(members(&inv, "mirror"), ["mirror01.dfw.rax.opendev.org"]);
    assert_eq!(
        members(&inv, "gitea"),
        ["gitea01.opendev.org", "gitea02.opendev.org"]
    );
    assert_eq!(members(&inv, "review-prefix"), ["review01.opendev.org"]);
    assert_eq!(
        members(&inv, "listed"),
        ["gitea02.opendev.org", "mirror01.dfw.rax.opendev.org"]
    );
    assert_eq!(
        members(&inv, "mapped"),
        ["nb03.opendev.org", "review01.opendev.org"]
    );
    assert!(!inv.groups.contains_key("ghosts"), "no host, no group");
    assert!(!inv.hosts.contains_key("absent01.opendev.org"));
    let nb01 = &inv.hosts["nb01.opendev.org"];
    assert!(nb01.groups.contains("nodepool-builder") && nb01.groups.contains("all"));
    assert_eq!(members(&inv, "all").len(), hosts.len());
}

#[test]
fn host_ranges_expand_with_their_vars() {
    let dir = tempfile::tempdir().expect("tempdir");
    put(
        dir.path(),
        "hosts.yaml",
        "all:\n  children:\n    mirrors:\n      hosts:\n        mirror[01:03].example.org:\n          role: mirror\n",
    );
    let (inv, problems) = load_inv(dir.path(), &["hosts.yaml"]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    let want = [
        "mirror01.example.org",
        "mirror02.example.org",
        "mirror03.example.org",
    ];
    assert_eq!(members(&inv, "mirrors"), want);
    for h in want {
        assert_eq!(var(&inv, h, "role").as_deref(), Some("mirror"), "{h}");
    }
}

#[test]
fn nested_children_make_hosts_members_of_every_ancestor() {
    let dir = tempfile::tempdir().expect("tempdir");
    put(
        dir.path(),
        "hosts.yaml",
        "all:
  hosts:
    gitea01.example.org:
  children:
    letsencrypt:
      hosts:
        direct.example.org:
      children:
        webservers:
          children:
            apache:
              hosts:
                web1.example.org:
        gitea:
",
    );
    put(
        dir.path(),
        "groups.yaml",
        "plugin: yamlgroup\ngroups:\n  gitea: gitea*\n",
    );
    let (inv, problems) = load_inv(dir.path(), &["hosts.yaml", "groups.yaml"]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    assert_eq!(
        members(&inv, "letsencrypt"),
        [
            "direct.example.org",
            "gitea01.example.org",
            "web1.example.org"
        ]
    );
    assert_eq!(members(&inv, "webservers"), ["web1.example.org"]);
    let groups: Vec<&str> = inv.hosts["web1.example.org"]
        .groups
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(groups, ["all", "apache", "letsencrypt", "webservers"]);
    let selected: Vec<&str> = inv
        .select("letsencrypt", &["webservers".to_owned()])
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(selected, ["direct.example.org", "gitea01.example.org"]);
}

#[test]
fn variable_precedence_follows_ansible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    put(
        d,
        "hosts.yaml",
        "all:
  vars: {a: all-inline, b: all-inline, e: all-inline}
  hosts:
    web1.example.org: {f: host-inline, g: host-inline}
  children:
    zparent:
      vars: {b: parent-inline, c: parent-inline}
      children:
        achild:
          vars: {c: child-inline, e: child-inline}
          hosts:
            web1.example.org:
",
    );
    put(
        d,
        "group_vars/all.yaml",
        "a: gv-all\ne: gv-all\nh: gv-all\n",
    );
    put(d, "group_vars/zparent.yaml", "d: gv-parent\nh: gv-parent\n");
    put(
        d,
        "group_vars/achild.yml",
        "d: gv-child\nf: gv-child\nh: gv-child\n",
    );
    let hv = put(
        d,
        "host_vars/web1.example.org.yaml",
        "g: hv-file\nh: hv-file\n",
    );
    let (inv, problems) = load_inv(d, &["hosts.yaml"]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    let h = "web1.example.org";
    let expect = [
        ("a", "gv-all"),        // group_vars/all beats inline `all: vars`
        ("b", "parent-inline"), // a group's inline vars beat `all`'s
        ("c", "child-inline"),  // deeper child beats parent (names sort the other way)
        ("d", "gv-child"),      // group_vars/<child>.yml beats group_vars/<parent>
        ("e", "gv-all"),        // inline group vars are below group_vars/all
        ("f", "host-inline"),   // inline host vars beat group_vars
        ("g", "hv-file"),       // host_vars beat inline host vars
        ("h", "hv-file"),
    ];
    for (key, want) in expect {
        assert_eq!(var(&inv, h, key).as_deref(), Some(want), "{key}");
    }
    assert_eq!(inv.hosts[h].vars["g"].origin.doc.path, hv);
}

#[test]
fn host_vars_folder_reads_every_file_in_name_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    put(d, "hosts.yaml", "all:\n  hosts:\n    web1.example.org:\n");
    put(
        d,
        "host_vars/web1.example.org/00-base.yaml",
        "x: base\ny: base\n",
    );
    put(d, "host_vars/web1.example.org/10-over.yml", "x: override\n");
    put(d, "host_vars/web1.example.org/README.md", "x: readme\n");
    put(d, "group_vars/all.yml", "z: from-yml\n");
    let (inv, problems) = load_inv(d, &["hosts.yaml"]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    let h = "web1.example.org";
    assert_eq!(var(&inv, h, "x").as_deref(), Some("override"));
    assert_eq!(var(&inv, h, "y").as_deref(), Some("base"));
    assert_eq!(var(&inv, h, "z").as_deref(), Some("from-yml"));
}

#[test]
fn later_source_wins_at_the_same_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    put(
        d,
        "inv1/hosts.yaml",
        "all:\n  children:\n    letsencrypt:\n      hosts:\n        web1.example.org:\n",
    );
    put(
        d,
        "inv1/group_vars/letsencrypt.yaml",
        "k: one\nonly1: one\n",
    );
    put(
        d,
        "inv1/host_vars/web1.example.org.yaml",
        "hv: one\nhv1: one\n",
    );
    put(
        d,
        "inv2/groups.yaml",
        "plugin: yamlgroup\ngroups:\n  extra: web1*\n",
    );
    put(d, "inv2/group_vars/letsencrypt.yaml", "k: two\n");
    put(d, "inv2/host_vars/web1.example.org.yaml", "hv: two\n");
    let (inv, problems) = load_inv(d, &["inv1/hosts.yaml", "inv2/groups.yaml"]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    let h = "web1.example.org";
    assert_eq!(members(&inv, "extra"), [h]);
    assert_eq!(var(&inv, h, "k").as_deref(), Some("two"));
    assert_eq!(var(&inv, h, "only1").as_deref(), Some("one"));
    assert_eq!(var(&inv, h, "hv").as_deref(), Some("two"));
    assert_eq!(var(&inv, h, "hv1").as_deref(), Some("one"));
}

#[test]
fn vault_and_unknown_tags_are_carried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    put(d, "hosts.yaml", "all:\n  hosts:\n    web1.example.org:\n");
    put(
        d,
        "group_vars/all.yaml",
        "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6231336539666234\nother: !custom plain\n",
    );
    let (inv, problems) = load_inv(d, &["hosts.yaml"]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    let vars = &inv.hosts["web1.example.org"].vars;
    match &vars["db_password"].value {
        Value::Tagged(t) => assert!(t.tag.to_string().contains("vault"), "{}", t.tag),
        other => panic!("expected a tagged value, got {other:?}"),
    }
    assert!(matches!(vars["other"].value, Value::Tagged(_)));
}

#[test]
fn vaulted_certificate_list_is_an_error_naming_the_host() {
    let (_d, fleet, problems) = fleet_of(&one_host(
        "            !vault |\n              $ANSIBLE_VAULT;1.1;AES256\n",
    ));
    let p = only_error(&problems);
    assert!(p.message.contains("tagged"), "{p}");
    assert_eq!(p.item.as_deref(), Some("web1.example.org"));
    assert_eq!(p.line, Some(6));
    assert!(fleet.certs.is_empty());
}

#[test]
fn each_bad_name_is_reported_with_file_line_and_item() {
    let cases = [
        ("Web.example.org", "lowercase"),
        ("web.example.org.", "ends with a dot"),
        ("a..b.org", "`..`"),
        ("a/b.org", "path separator"),
        ("a b.org", "whitespace"),
        ("a;b.org", "character `;`"),
        ("$(reboot).example.org", "character `$`"),
        ("bücher.example.org", "non-ASCII"),
        ("localhost", "single label"),
        ("www.*.example.org", "wildcard may only be"),
        ("web.example.org:https", "not a port number"),
        ("web.example.org:0", "not a port number"),
    ];
    for (entry, why) in cases {
        let (dir, fleet, problems) = fleet_of(&one_host(&format!(
            "            main:\n              - web1.example.org\n              - '{entry}'\n"
        )));
        let p = only_error(&problems);
        assert_eq!(
            p.file.as_deref(),
            Some(dir.path().join("hosts.yaml").as_path())
        );
        assert_eq!(p.line, Some(9), "{entry}: {p}");
        assert_eq!(p.item.as_deref(), Some("web1.example.org main"), "{entry}");
        assert!(p.message.contains(why), "{entry}: {p}");
        assert!(
            fleet.certs.is_empty(),
            "{entry}: an invalid certificate is dropped"
        );
    }
}

#[test]
fn ports_are_stripped_and_kept() {
    let (_d, fleet, problems) = fleet_of(&one_host(
        "            main:\n              - review.example.org:29418\n              - '*.review.example.org'\n",
    ));
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    let c = &fleet.certs[0];
    assert_eq!(c.domains(), ["review.example.org", "*.review.example.org"]);
    assert_eq!(c.names[0].port, Some(29418));
    assert_eq!(c.first(), "review.example.org");
}

#[test]
fn empty_and_malformed_certificate_lists() {
    for (body, why) in [
        ("            main: []\n", "empty certificate"),
        ("            main:\n", "empty certificate"),
        (
            "            main: web1.example.org\n",
            "not a single string",
        ),
    ] {
        let (_d, _f, problems) = fleet_of(&one_host(body));
        let p = only_error(&problems);
        assert_eq!(p.line, Some(7), "{body}: {p}");
        assert_eq!(p.item.as_deref(), Some("web1.example.org main"));
        assert!(p.message.contains(why), "{p}");
    }
}

#[test]
fn letsencrypt_certs_must_be_a_mapping() {
    let dir_text = "all:\n  children:\n    letsencrypt:\n      hosts:\n        web1.example.org:\n          letsencrypt_certs: [web1.example.org]\n";
    let (_d, _f, problems) = fleet_of(dir_text);
    let p = only_error(&problems);
    assert_eq!(p.line, Some(6));
    assert_eq!(p.item.as_deref(), Some("web1.example.org"));
    assert!(p.message.contains("must be a mapping"), "{p}");
}

#[test]
fn unsafe_certificate_keys_are_refused() {
    let (_d, fleet, problems) = fleet_of(&one_host(
        "            ../x: [web1.example.org]\n            'a b': [www.example.org]\n",
    ));
    let errors: Vec<&Problem> = problems.errors().collect();
    assert_eq!(errors.len(), 2, "{:#?}", problems.all());
    assert_eq!(errors[0].item.as_deref(), Some("web1.example.org ../x"));
    assert_eq!(errors[0].line, Some(7));
    assert_eq!(errors[1].item.as_deref(), Some("web1.example.org a b"));
    assert_eq!(errors[1].line, Some(8));
    assert!(fleet.certs.is_empty());
}

#[test]
fn a_key_used_by_two_hosts_names_both() {
    let (_d, fleet, problems) = fleet_of(
        "all:
  children:
    letsencrypt:
      hosts:
        web1.example.org:
          letsencrypt_certs:
            main: [web1.example.org]
        web2.example.org:
          letsencrypt_certs:
            main: [web2.example.org]
",
    );
    let p = only_error(&problems);
    assert_eq!(p.line, Some(10));
    assert_eq!(p.item.as_deref(), Some("web2.example.org main"));
    assert!(p.message.contains("web1.example.org"), "{p}");
    assert_eq!(fleet.certs.len(), 1);
    assert_eq!(fleet.certs[0].host, "web1.example.org");
}

#[test]
fn hosts_as_a_list_and_yaml_syntax_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = put(
        dir.path(),
        "list.yaml",
        "all:\n  hosts:\n    - web1.example.org\n",
    );
    let (_inv, problems) = load_inv(dir.path(), &["list.yaml"]);
    let p = only_error(&problems);
    assert_eq!(p.file.as_deref(), Some(list.as_path()));
    assert_eq!(p.line, Some(2));
    assert_eq!(p.item.as_deref(), Some("group all"));
    assert!(p.message.contains("not a list"), "{p}");

    let bad = put(
        dir.path(),
        "bad.yaml",
        "all:\n  hosts:\n    web1.example.org:\n      a: 1\n     b: 2\n",
    );
    let (_inv, problems) = load_inv(dir.path(), &["bad.yaml"]);
    let p = only_error(&problems);
    assert_eq!(p.file.as_deref(), Some(bad.as_path()));
    assert_eq!(p.line, Some(5), "{p}");
    assert!(p.message.starts_with("invalid YAML"), "{p}");
}

#[test]
fn problems_in_several_files_are_all_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cfg = put(
        d,
        "certbridge.yaml",
        "inventory: [hosts.yaml]\nstate_dir: state\nlog_file: null\n",
    );
    let hosts = put(
        d,
        "hosts.yaml",
        "all:
  children:
    letsencrypt:
      hosts:
        web1.example.org:
          letsencrypt_certs:
            web1-main:
              - Web1.example.org
        web2.example.org:
        web3.example.org:
          letsencrypt_certs:
            web3-main: [web3.example.org]
",
    );
    let hv = put(
        d,
        "host_vars/web2.example.org.yaml",
        "letsencrypt_certs: not-a-map\n",
    );
    let gv = put(d, "group_vars/letsencrypt.yaml", "foo: [unclosed\n");
    let handlers = put(
        d,
        "handlers.yaml",
        "actions:
  reload:
    run: systemctl reload apache2
handlers:
  letsencrypt updated web1-main: reload
  letsencrypt updated web3-main: restart-nginx
",
    );
    let err = crate::load::load(&cfg).expect_err("four problems");
    let mut got: Vec<(PathBuf, Option<usize>)> = err
        .problems
        .iter()
        .map(|p| (p.file.clone().expect("file"), p.line))
        .collect();
    got.sort();
    let mut want = vec![
        (hosts, Some(8)),
        (hv, Some(1)),
        (gv, Some(2)),
        (handlers, Some(6)),
    ];
    want.sort();
    assert_eq!(got, want, "{:#?}", err.problems);
    assert_eq!(err.to_string(), "4 problem(s) in the input");
}

#[test]
fn config_unknown_keys_are_all_reported_with_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = put(
        dir.path(),
        "certbridge.yaml",
        "inventory: [hosts.yaml]
state_dri: x
acme:
  directroy: x
dns:
  zone: acme.example.org
  zonefile: x
ssh:
  usr: root
targets:
  certdir: /x
",
    );
    let err = crate::load::load(&cfg).expect_err("unknown keys");
    let got: Vec<(Option<usize>, Option<&str>)> = err
        .problems
        .iter()
        .map(|p| (p.line, p.item.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(2), Some("state_dri")),
            (Some(4), Some("acme.directroy")),
            (Some(7), Some("dns.zonefile")),
            (Some(9), Some("ssh.usr")),
            (Some(11), Some("targets.certdir")),
        ]
    );
}

#[test]
fn config_bad_durations_and_renew_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = put(
        dir.path(),
        "certbridge.yaml",
        "inventory: [hosts.yaml]
acme:
  renew_before: 3/2
dns:
  propagation_timeout: 5 parsecs
ssh:
  connect_timeout: soon
",
    );
    let err = Config::load(&cfg).expect_err("bad values");
    let got: Vec<(Option<usize>, Option<&str>)> = err
        .problems
        .iter()
        .map(|p| (p.line, p.item.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(5), Some("dns.propagation_timeout")),
            (Some(7), Some("ssh.connect_timeout")),
            (Some(3), Some("acme.renew_before")),
        ]
    );
    assert!(
        err.problems[2].message.contains("fraction"),
        "{}",
        err.problems[2]
    );
}

// ---- property test: loading never panics ----

const CONFIG: &str = "inventory: [hosts.yaml, groups.yaml]\nstate_dir: state\nlog_file: null\nhandlers: handlers.yaml\n";
const HOSTS: &str = "all:\n  hosts:\n    web1.example.org:\n      letsencrypt_certs:\n        main:\n          - web1.example.org\n          - www.example.org:443\n";
const GROUPS: &str = "plugin: yamlgroup\ngroups:\n  letsencrypt: web*.example.org\n";
const HOST_VARS: &str = "letsencrypt_use_staging: false\n";
const HANDLERS: &str = "actions:\n  reload:\n    run: \"systemctl reload apache2 && echo {{ first }}\"\nhandlers:\n  letsencrypt updated main: reload\n";
const FILES: [&str; 5] = [
    "certbridge.yaml",
    "hosts.yaml",
    "groups.yaml",
    "host_vars/web1.example.org.yaml",
    "handlers.yaml",
];

/// Write the five files (baseline where `None`) and load.
fn load_files(texts: [Option<&str>; 5]) -> Result<crate::load::Loaded, crate::diag::InputError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = [CONFIG, HOSTS, GROUPS, HOST_VARS, HANDLERS];
    for ((rel, text), fallback) in FILES.iter().zip(texts).zip(base) {
        put(dir.path(), rel, text.unwrap_or(fallback));
    }
    crate::load::load(&dir.path().join("certbridge.yaml"))
}

fn check_outcome(result: &Result<crate::load::Loaded, crate::diag::InputError>) {
    match result {
        Ok(loaded) => assert!(loaded.fleet.certs.iter().all(|c| !c.names.is_empty())),
        Err(e) => {
            assert!(!e.problems.is_empty());
            for p in &e.problems {
                assert!(!p.message.is_empty() && !p.to_string().is_empty());
            }
        }
    }
}

#[test]
fn the_baseline_files_load() {
    let loaded = load_files([None; 5]).expect("baseline is valid");
    assert_eq!(loaded.fleet.certs.len(), 1);
    assert_eq!(loaded.fleet.certs[0].names[1].port, Some(443));
}

#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

const WORDS: &[&str] = &[
    "all",
    "hosts",
    "children",
    "vars",
    "plugin",
    "yamlgroup",
    "groups",
    "letsencrypt",
    "letsencrypt_certs",
    "web1.example.org",
    "mirror[01:03].example.org",
    "h[1:5:2].x.org",
    "main",
    "actions",
    "handlers",
    "run",
    "after",
    "only_if",
    "timeout",
    "letsencrypt updated main",
    "inventory",
    "acme",
    "renew_before",
    "ansible_port",
    "letsencrypt_self_sign_only",
    "<<",
    "~",
    "[]",
    "{}",
    "&a x",
    "*a",
    "&b [1, 2]",
    "*b",
    "!vault \"$ANSIBLE_VAULT;1.1;AES256 6162\"",
    "!!binary aGk=",
    "'quoted'",
    "yes",
    "1/3",
    "30d",
    "65536",
    "^nb(?!03)[0-9]*",
    "{{ first }}",
    "{{ nope",
    "'*.example.org'",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => "[a-z0-9.*^:!?\\[\\]-]{0,12}",
        1 => "\\PC{0,8}",
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        5 => word().prop_map(Node::Scalar),
        1 => Just(Node::Scalar("!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162".to_owned())),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((word(), inner.clone()), 0..4).prop_map(Node::Map),
            prop::collection::vec(inner, 0..4).prop_map(Node::Seq),
        ]
    })
}

fn render(node: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match node {
        Node::Scalar(s) => {
            out.push_str(&pad);
            out.push_str(&s.replace('\n', &format!("\n{pad}")));
            out.push('\n');
        }
        Node::Map(items) if items.is_empty() => out.push_str(&format!("{pad}{{}}\n")),
        Node::Seq(items) if items.is_empty() => out.push_str(&format!("{pad}[]\n")),
        Node::Map(items) => {
            for (k, v) in items {
                out.push_str(&format!("{pad}{k}:"));
                render_child(v, indent, out);
            }
        }
        Node::Seq(items) => {
            for v in items {
                out.push_str(&format!("{pad}-"));
                render_child(v, indent, out);
            }
        }
    }
}

fn render_child(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Scalar(s) => {
            let pad = " ".repeat(indent + 2);
            out.push(' ');
            out.push_str(&s.replace('\n', &format!("\n{pad}")));
            out.push('\n');
        }
        other => {
            out.push('\n');
            render(other, indent + 2, out);
        }
    }
}

fn doc() -> impl Strategy<Value = String> {
    node().prop_map(|n| {
        let mut out = String::new();
        render(&n, 0, &mut out);
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn loading_structured_yaml_never_panics(
        docs in prop::collection::vec(prop::option::weighted(0.7, doc()), 5),
    ) {
        // Keep the config valid most of the time so the other files get read.
        let mut texts: [Option<&str>; 5] = [None; 5];
        for (i, d) in docs.iter().enumerate() {
            texts[i] = if i == 0 && d.as_ref().is_some_and(|t| t.len() % 4 != 0) {
                None
            } else {
                d.as_deref()
            };
        }
        check_outcome(&load_files(texts));
    }

    #[test]
    fn loading_arbitrary_text_never_panics(which in 0usize..5, text in "\\PC{0,200}|[ -~\\n\\t]{0,200}") {
        let mut texts: [Option<&str>; 5] = [None; 5];
        texts[which] = Some(&text);
        check_outcome(&load_files(texts));
    }
}
