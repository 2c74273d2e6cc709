//! Inventory loading (yamlgroup membership, ranges, children, variable
//! precedence), fleet and config validation with file and line, and a
//! property test that loading never panics whatever the files contain.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_yaml_ng::Value;

use super::Inventory;
use super::fleet::Fleet;
use crate::config::Config;
use crate::diag::{InputError, Problem, Problems};
use crate::load::Loaded;

/// Write `text` to `dir/rel`, creating folders.
fn put(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(&path, text).expect("write file");
    path
}

/// A temp folder holding `files` (relative path, text).
fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        put(dir.path(), rel, text);
    }
    dir
}

fn load_inv(dir: &Path, sources: &[&str]) -> (Inventory, Problems) {
    let mut problems = Problems::default();
    let paths: Vec<PathBuf> = sources.iter().map(|s| dir.join(s)).collect();
    let inv = Inventory::load(&paths, &mut problems);
    (inv, problems)
}

/// Load `sources` from a fixture that must have no problems.
fn clean_inv(files: &[(&str, &str)], sources: &[&str]) -> Inventory {
    let dir = fixture(files);
    let (inv, problems) = load_inv(dir.path(), sources);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    inv
}

/// Members of `group`, with `.opendev.org` / `.example.org` cut off.
fn members(inv: &Inventory, group: &str) -> Vec<String> {
    let short = |h: &String| h.replace(".opendev.org", "").replace(".example.org", "");
    inv.groups
        .get(group)
        .map(|m| m.iter().map(short).collect())
        .unwrap_or_default()
}

/// Assert string variables of `host`.
fn assert_vars(inv: &Inventory, host: &str, want: &[(&str, &str)]) {
    for (key, value) in want {
        let got = inv.hosts[host]
            .vars
            .get(*key)
            .and_then(|v| v.value.as_str());
        assert_eq!(got, Some(*value), "{host} {key}");
    }
}

/// Config `certbridge.yaml` beside a `hosts.yaml`; returns the fleet.
fn fleet_of(hosts_yaml: &str) -> (tempfile::TempDir, Fleet, Problems) {
    let cfg = "inventory: [hosts.yaml]\nstate_dir: state\nlog_file: null\n";
    let dir = fixture(&[("hosts.yaml", hosts_yaml), ("certbridge.yaml", cfg)]);
    let config = Config::load(&dir.path().join("certbridge.yaml")).expect("valid config");
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

/// (line, item) of each problem.
fn lines_items(problems: &[Problem]) -> Vec<(Option<usize>, &str)> {
    problems
        .iter()
        .map(|p| (p.line, p.item.as_deref().unwrap_or("")))
        .collect()
}

/// `letsencrypt_certs` of web1 in group letsencrypt; `certs` (indented
/// under it here) starts at line 7.
fn one_host(certs: &str) -> String {
    let head = "all:\n  children:\n    letsencrypt:\n      hosts:\n        web1.example.org:\n";
    let body: String = certs
        .lines()
        .map(|l| format!("            {l}\n"))
        .collect();
    format!("{head}          letsencrypt_certs:\n{body}")
}

/// (line, item) of one problem.
fn at(p: &Problem) -> (Option<usize>, Option<&str>) {
    (p.line, p.item.as_deref())
}

#[test]
fn yamlgroup_globs_regexes_lists_and_mapping_items() {
    let names = "nb01 nb02 nb03 mirror01.dfw.rax mirror gitea01 gitea02 review01";
    let body: String = names
        .split(' ')
        .map(|h| format!("    {h}.opendev.org:\n"))
        .collect();
    let hosts = format!("all:\n  hosts:\n{body}");
    let groups = r"plugin: yamlgroup
groups:
  nodepool-builder: '^nb(?!03)[0-9]*\.opendev\.org'
  mirror: mirror[0-9]*.opendev.org
  gitea: gitea*
  review-prefix: ^review
  listed: [gitea02.opendev.org, mirror01*]
  mapped:
    - nb03.opendev.org:
        ignored: value
    - review01.opendev.org
  ghosts: [nothing*.example.org, absent01.opendev.org, ^zuul]
";
    let files = [("hosts.yaml", hosts.as_str()), ("groups.yaml", groups)];
    let inv = clean_inv(&files, &["hosts.yaml", "groups.yaml"]);
    let expect: [(&str, &[&str]); 6] = [
        ("nodepool-builder", &["nb01", "nb02"]), // lookahead leaves nb03 out
        ("mirror", &["mirror01.dfw.rax"]),       // `*` crosses dots; `[0-9]` needs a digit
        ("gitea", &["gitea01", "gitea02"]),      // a single string
        ("review-prefix", &["review01"]),        // `^` anchors at the start only
        ("listed", &["gitea02", "mirror01.dfw.rax"]),
        ("mapped", &["nb03", "review01"]), // a mapping item counts as its first key
    ];
    for (group, want) in expect {
        assert_eq!(members(&inv, group), want, "{group}");
    }
    assert!(!inv.groups.contains_key("ghosts"), "no host, no group");
    assert!(!inv.hosts.contains_key("absent01.opendev.org"));
    let nb01 = &inv.hosts["nb01.opendev.org"];
    assert!(nb01.groups.contains("nodepool-builder") && nb01.groups.contains("all"));
    assert_eq!(members(&inv, "all").len(), 8);
}

#[test]
fn host_ranges_expand_with_their_vars() {
    let hosts = "all:\n  children:\n    mirrors:\n      hosts:\n        mirror[01:03].example.org:\n          role: mirror\n";
    let inv = clean_inv(&[("hosts.yaml", hosts)], &["hosts.yaml"]);
    assert_eq!(
        members(&inv, "mirrors"),
        ["mirror01", "mirror02", "mirror03"]
    );
    for h in [
        "mirror01.example.org",
        "mirror02.example.org",
        "mirror03.example.org",
    ] {
        assert_vars(&inv, h, &[("role", "mirror")]);
    }
}

#[test]
fn nested_children_make_hosts_members_of_every_ancestor() {
    let hosts = "all:
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
";
    let groups = "plugin: yamlgroup\ngroups:\n  gitea: gitea*\n";
    let files = [("hosts.yaml", hosts), ("groups.yaml", groups)];
    let inv = clean_inv(&files, &["hosts.yaml", "groups.yaml"]);
    assert_eq!(members(&inv, "letsencrypt"), ["direct", "gitea01", "web1"]);
    assert_eq!(members(&inv, "webservers"), ["web1"]);
    let groups: Vec<&String> = inv.hosts["web1.example.org"].groups.iter().collect();
    assert_eq!(groups, ["all", "apache", "letsencrypt", "webservers"]);
    let selected = inv.select("letsencrypt", &["webservers".to_owned()]);
    let selected: Vec<&str> = selected.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(selected, ["direct.example.org", "gitea01.example.org"]);
}

#[test]
fn variable_precedence_follows_ansible() {
    let hosts = "all:
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
";
    let dir = fixture(&[
        ("hosts.yaml", hosts),
        ("group_vars/all.yaml", "a: gv-all\ne: gv-all\nh: gv-all\n"),
        ("group_vars/zparent.yaml", "d: gv-parent\nh: gv-parent\n"),
        (
            "group_vars/achild.yml",
            "d: gv-child\nf: gv-child\nh: gv-child\n",
        ),
        (
            "host_vars/web1.example.org.yaml",
            "g: hv-file\nh: hv-file\n",
        ),
    ]);
    let (inv, problems) = load_inv(dir.path(), &["hosts.yaml"]);
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
    assert_vars(&inv, h, &expect);
    let hv = dir.path().join("host_vars/web1.example.org.yaml");
    assert_eq!(inv.hosts[h].vars["g"].origin.doc.path, hv);
}

#[test]
fn host_vars_folder_reads_every_file_in_name_order() {
    let inv = clean_inv(
        &[
            ("hosts.yaml", "all:\n  hosts:\n    web1.example.org:\n"),
            (
                "host_vars/web1.example.org/00-base.yaml",
                "x: base\ny: base\n",
            ),
            ("host_vars/web1.example.org/10-over.yml", "x: override\n"),
            ("host_vars/web1.example.org/README.md", "x: readme\n"),
            ("group_vars/all.yml", "z: from-yml\n"),
        ],
        &["hosts.yaml"],
    );
    let want = [("x", "override"), ("y", "base"), ("z", "from-yml")];
    assert_vars(&inv, "web1.example.org", &want);
}

#[test]
fn later_source_wins_at_the_same_level() {
    let hosts = "all:\n  children:\n    letsencrypt:\n      hosts:\n        web1.example.org:\n";
    let inv = clean_inv(
        &[
            ("inv1/hosts.yaml", hosts),
            ("inv1/group_vars/letsencrypt.yaml", "k: one\nonly1: one\n"),
            (
                "inv1/host_vars/web1.example.org.yaml",
                "hv: one\nhv1: one\n",
            ),
            (
                "inv2/groups.yaml",
                "plugin: yamlgroup\ngroups:\n  extra: web1*\n",
            ),
            ("inv2/group_vars/letsencrypt.yaml", "k: two\n"),
            ("inv2/host_vars/web1.example.org.yaml", "hv: two\n"),
        ],
        &["inv1/hosts.yaml", "inv2/groups.yaml"],
    );
    assert_eq!(members(&inv, "extra"), ["web1"]);
    let want = [
        ("k", "two"),
        ("only1", "one"),
        ("hv", "two"),
        ("hv1", "one"),
    ];
    assert_vars(&inv, "web1.example.org", &want);
}

#[test]
fn vault_and_unknown_tags_are_carried() {
    let vault = "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6231336539666234\nother: !custom plain\n";
    let inv = clean_inv(
        &[
            ("hosts.yaml", "all:\n  hosts:\n    web1.example.org:\n"),
            ("group_vars/all.yaml", vault),
        ],
        &["hosts.yaml"],
    );
    let vars = &inv.hosts["web1.example.org"].vars;
    match &vars["db_password"].value {
        Value::Tagged(t) => assert!(t.tag.to_string().contains("vault"), "{}", t.tag),
        other => panic!("expected a tagged value, got {other:?}"),
    }
    assert!(matches!(vars["other"].value, Value::Tagged(_)));
}

#[test]
fn vaulted_certificate_list_is_an_error_naming_the_host() {
    let (_d, fleet, problems) = fleet_of(&one_host("!vault |\n  $ANSIBLE_VAULT;1.1;AES256"));
    let p = only_error(&problems);
    assert!(p.message.contains("tagged"), "{p}");
    assert_eq!(at(p), (Some(6), Some("web1.example.org")));
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
        let certs = format!("main:\n  - web1.example.org\n  - '{entry}'");
        let (dir, fleet, problems) = fleet_of(&one_host(&certs));
        let p = only_error(&problems);
        let hosts = dir.path().join("hosts.yaml");
        assert_eq!(p.file.as_deref(), Some(hosts.as_path()));
        assert_eq!(at(p), (Some(9), Some("web1.example.org main")), "{entry}");
        assert!(p.message.contains(why), "{entry}: {p}");
        assert!(
            fleet.certs.is_empty(),
            "{entry}: the certificate is dropped"
        );
    }
}

#[test]
fn ports_are_stripped_and_kept() {
    let certs = "main:\n  - review.example.org:29418\n  - '*.review.example.org'";
    let (_d, fleet, problems) = fleet_of(&one_host(certs));
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    let c = &fleet.certs[0];
    assert_eq!(c.domains(), ["review.example.org", "*.review.example.org"]);
    assert_eq!(c.first(), "review.example.org");
    assert_eq!(c.names[0].port, Some(29418));
}

#[test]
fn malformed_certificate_entries() {
    let cases = [
        ("main: []", 7, " main", "empty certificate"),
        ("main:", 7, " main", "empty certificate"),
        ("main: web1.example.org", 7, " main", "not a single string"),
        ("../x: [web1.example.org]", 7, " ../x", "must start with"),
        ("x/y: [web1.example.org]", 7, " x/y", "contains `/`"),
        ("'a b': [web1.example.org]", 7, " a b", "contains ` `"),
        ("- web1.example.org", 6, "", "must be a mapping"),
    ];
    for (certs, line, key, why) in cases {
        let (_d, fleet, problems) = fleet_of(&one_host(certs));
        let p = only_error(&problems);
        let item = format!("web1.example.org{key}");
        assert_eq!(at(p), (Some(line), Some(item.as_str())), "{certs}");
        assert!(p.message.contains(why), "{p}");
        assert!(fleet.certs.is_empty());
    }
}

#[test]
fn a_key_used_by_two_hosts_names_both() {
    let cert = |h: &str| {
        format!(
            "        {h}.example.org:\n          letsencrypt_certs:\n            main: [{h}.example.org]\n"
        )
    };
    let head = "all:\n  children:\n    letsencrypt:\n      hosts:\n";
    let (_d, fleet, problems) = fleet_of(&format!("{head}{}{}", cert("web1"), cert("web2")));
    let p = only_error(&problems);
    assert_eq!(at(p), (Some(10), Some("web2.example.org main")));
    assert!(p.message.contains("web1.example.org"), "{p}");
    assert_eq!(fleet.certs.len(), 1);
    assert_eq!(fleet.certs[0].host, "web1.example.org");
}

#[test]
fn hosts_as_a_list_and_yaml_syntax_errors() {
    let dir = fixture(&[
        ("list.yaml", "all:\n  hosts:\n    - web1.example.org\n"),
        (
            "bad.yaml",
            "all:\n  hosts:\n    web1.example.org:\n      a: 1\n     b: 2\n",
        ),
    ]);
    let (_inv, problems) = load_inv(dir.path(), &["list.yaml"]);
    let p = only_error(&problems);
    assert_eq!(p.file, Some(dir.path().join("list.yaml")));
    assert_eq!(at(p), (Some(2), Some("group all")));
    assert!(p.message.contains("not a list"), "{p}");

    let (_inv, problems) = load_inv(dir.path(), &["bad.yaml"]);
    let p = only_error(&problems);
    assert_eq!(
        (p.file.clone(), p.line),
        (Some(dir.path().join("bad.yaml")), Some(5))
    );
    assert!(p.message.starts_with("invalid YAML"), "{p}");
}

#[test]
fn problems_in_several_files_are_all_reported() {
    let hosts = "all:
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
";
    let handlers = "actions:
  reload:
    run: systemctl reload apache2
handlers:
  letsencrypt updated web1-main: reload
  letsencrypt updated web3-main: restart-nginx
";
    let dir = fixture(&[
        (
            "certbridge.yaml",
            "inventory: [hosts.yaml]\nstate_dir: state\nlog_file: null\n",
        ),
        ("hosts.yaml", hosts),
        (
            "host_vars/web2.example.org.yaml",
            "letsencrypt_certs: not-a-map\n",
        ),
        ("group_vars/letsencrypt.yaml", "foo: [unclosed\n"),
        ("handlers.yaml", handlers),
    ]);
    let err = crate::load::load(&dir.path().join("certbridge.yaml")).expect_err("four problems");
    let mut got: Vec<(PathBuf, Option<usize>)> = err
        .problems
        .iter()
        .map(|p| (p.file.clone().expect("file"), p.line))
        .collect();
    got.sort();
    let mut want: Vec<(PathBuf, Option<usize>)> = [
        ("hosts.yaml", 8),
        ("host_vars/web2.example.org.yaml", 1),
        ("group_vars/letsencrypt.yaml", 2),
        ("handlers.yaml", 6),
    ]
    .iter()
    .map(|(f, l)| (dir.path().join(f), Some(*l)))
    .collect();
    want.sort();
    assert_eq!(got, want, "{:#?}", err.problems);
    assert_eq!(err.to_string(), "4 problem(s) in the input");
}

#[test]
fn config_unknown_keys_are_all_reported_with_lines() {
    let cfg = "inventory: [hosts.yaml]
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
";
    let dir = fixture(&[("certbridge.yaml", cfg)]);
    let err = crate::load::load(&dir.path().join("certbridge.yaml")).expect_err("unknown keys");
    assert_eq!(
        lines_items(&err.problems),
        [
            (Some(2), "state_dri"),
            (Some(4), "acme.directroy"),
            (Some(7), "dns.zonefile"),
            (Some(9), "ssh.usr"),
            (Some(11), "targets.certdir"),
        ]
    );
}

#[test]
fn config_bad_durations_and_renew_before() {
    let cfg = "inventory: [hosts.yaml]
acme:
  renew_before: 3/2
dns:
  propagation_timeout: 5 parsecs
ssh:
  connect_timeout: soon
";
    let dir = fixture(&[("certbridge.yaml", cfg)]);
    let err = Config::load(&dir.path().join("certbridge.yaml")).expect_err("bad values");
    assert_eq!(
        lines_items(&err.problems),
        [
            (Some(5), "dns.propagation_timeout"),
            (Some(7), "ssh.connect_timeout"),
            (Some(3), "acme.renew_before"),
        ]
    );
    assert!(
        err.problems[2].message.contains("fraction"),
        "{}",
        err.problems[2]
    );
}

// ---- property test: loading never panics ----

const FILES: [(&str, &str); 5] = [
    (
        "certbridge.yaml",
        "inventory: [hosts.yaml, groups.yaml]\nstate_dir: state\nlog_file: null\nhandlers: handlers.yaml\n",
    ),
    (
        "hosts.yaml",
        "all:\n  hosts:\n    web1.example.org:\n      letsencrypt_certs:\n        main:\n          - web1.example.org\n          - www.example.org:443\n",
    ),
    (
        "groups.yaml",
        "plugin: yamlgroup\ngroups:\n  letsencrypt: web*.example.org\n",
    ),
    (
        "host_vars/web1.example.org.yaml",
        "letsencrypt_use_staging: false\n",
    ),
    (
        "handlers.yaml",
        "actions:\n  reload:\n    run: \"systemctl reload apache2 && echo {{ first }}\"\nhandlers:\n  letsencrypt updated main: reload\n",
    ),
];

/// Write the five files (the valid baseline where `None`) and load.
fn load_files(texts: [Option<&str>; 5]) -> Result<Loaded, InputError> {
    let dir = tempfile::tempdir().expect("tempdir");
    for ((rel, baseline), text) in FILES.iter().zip(texts) {
        put(dir.path(), rel, text.unwrap_or(baseline));
    }
    crate::load::load(&dir.path().join("certbridge.yaml"))
}

fn check_outcome(result: &Result<Loaded, InputError>) {
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

/// Keys and scalars that steer the generator into the loaders' branches.
const WORDS: &str = "all|hosts|children|vars|plugin|yamlgroup|groups|letsencrypt|letsencrypt_certs|\
web1.example.org|mirror[01:03].example.org|h[1:5:2].x.org|main|actions|handlers|run|after|only_if|\
timeout|letsencrypt updated main|inventory|acme|renew_before|ansible_port|letsencrypt_self_sign_only|\
<<|~|[]|{}|&a x|*a|&b [1, 2]|*b|!vault \"$ANSIBLE_VAULT;1.1;AES256 6162\"|!!binary aGk=|'quoted'|\
yes|1/3|30d|65536|^nb(?!03)[0-9]*|{{ first }}|{{ nope|'*.example.org'";

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS.split('|').collect::<Vec<_>>()).prop_map(str::to_owned),
        1 => "[a-z0-9.*^:!?\\[\\]-]{0,12}",
        1 => "\\PC{0,8}",
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let vault = Node::Scalar("!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162".to_owned());
    let leaf = prop_oneof![5 => word().prop_map(Node::Scalar), 1 => Just(vault)];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((word(), inner.clone()), 0..4).prop_map(Node::Map),
            prop::collection::vec(inner, 0..4).prop_map(Node::Seq),
        ]
    })
}

/// Block-style YAML, `indent` spaces in.
fn render(node: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let items: Vec<(String, &Node)> = match node {
        Node::Scalar(s) => {
            out.push_str(&format!("{pad}{}\n", s.replace('\n', &format!("\n{pad}"))));
            return;
        }
        Node::Map(m) if m.is_empty() => return out.push_str(&format!("{pad}{{}}\n")),
        Node::Seq(s) if s.is_empty() => return out.push_str(&format!("{pad}[]\n")),
        Node::Map(m) => m.iter().map(|(k, v)| (format!("{k}:"), v)).collect(),
        Node::Seq(s) => s.iter().map(|v| ("-".to_owned(), v)).collect(),
    };
    for (lead, child) in items {
        out.push_str(&format!("{pad}{lead}"));
        match child {
            Node::Scalar(s) => {
                let inner = " ".repeat(indent + 2);
                out.push_str(&format!(" {}\n", s.replace('\n', &format!("\n{inner}"))));
            }
            other => {
                out.push('\n');
                render(other, indent + 2, out);
            }
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
        let mut texts: [Option<&str>; 5] = [None; 5];
        for (i, d) in docs.iter().enumerate() {
            // Keep the config valid most of the time so the other files get read.
            let keep_config = i == 0 && d.as_ref().is_some_and(|t| t.len() % 4 != 0);
            texts[i] = if keep_config { None } else { d.as_deref() };
        }
        check_outcome(&load_files(texts));
    }

    #[test]
    fn loading_arbitrary_text_never_panics(
        which in 0usize..5,
        text in "\\PC{0,200}|[ -~\\n\\t]{0,200}",
    ) {
        let mut texts: [Option<&str>; 5] = [None; 5];
        texts[which] = Some(&text);
        check_outcome(&load_files(texts));
    }
}
