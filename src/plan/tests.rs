//! Planner reasons at a fixed `now`, scoping, the JSON shape, handler
//! ordering, and validation of the handler map.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::handler_graph::order;
use super::{Action, AriWindow, Facts, HandlerRun, Plan, PlanOptions, Reason, Scope};
use super::{build, render, scope};
use crate::config::Config;
use crate::diag::{Problem, Problems};
use crate::handlers::{Action as HAction, Handler, HandlerMap};
use crate::inventory::Inventory;
use crate::inventory::fleet::{Certificate, Fleet, FleetHost, NameEntry};
use crate::store::{Deployed, HostRecord, StoreView, StoredCert};

/// Every handler name carries it; tests write `@key` instead.
const PREFIX: &str = "letsencrypt updated ";

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp literal")
}

fn put(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::write(&path, text).expect("write file");
    path
}

/// A config with `acme.renew_before` set.
fn config(renew_before: &str) -> Config {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "inventory: [hosts.yaml]\nacme:\n  renew_before: {renew_before}\ndns:\n  zone: acme.example.org\n"
    );
    Config::load(&put(dir.path(), "certbridge.yaml", &text)).expect("valid config")
}

/// A certificate of `host` with `names` (`name[:port]`).
fn cert(host: &str, key: &str, names: &[&str]) -> Certificate {
    let entry = |n: &&str| {
        let (name, port) = crate::inventory::domain::split_port(n).expect("name");
        let name = name.to_owned();
        NameEntry { name, port }
    };
    let (key, host) = (key.to_owned(), host.to_owned());
    Certificate {
        key,
        host,
        names: names.iter().map(entry).collect(),
    }
}

fn fleet(certs: Vec<Certificate>, self_signed: &[&str]) -> Fleet {
    let mut f = Fleet::default();
    for c in &certs {
        let host = FleetHost {
            name: c.host.clone(),
            address: c.host.clone(),
            port: None,
            user: None,
            staging: false,
            self_sign: self_signed.contains(&c.host.as_str()),
            account_email: None,
            certcheck_additional: Vec::new(),
        };
        f.hosts.insert(c.host.clone(), host);
    }
    f.certs = certs;
    f
}

const NB: &str = "2026-01-01T00:00:00Z";
const NA: &str = "2026-04-01T00:00:00Z";

fn stored(key: &str, domains: &[&str], version: &str) -> StoredCert {
    StoredCert {
        key: key.to_owned(),
        version: version.to_owned(),
        dir: PathBuf::from("/state/certs").join(key).join(version),
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        not_before: ts(NB),
        not_after: ts(NA),
        serial: "0a1b".to_owned(),
        issuer: "CN=Test CA".to_owned(),
    }
}

/// Record that `host` has `version` of `key`.
fn deploy(store: &mut StoreView, host: &str, key: &str, version: &str) {
    let (version, files, at) = (version.to_owned(), BTreeMap::new(), ts(NB));
    let record = store.hosts.entry(host.to_owned()).or_default();
    record
        .deployed
        .insert(key.to_owned(), Deployed { version, files, at });
}

fn handler(key: &str, actions: &[&str], after: &[&str]) -> Handler {
    Handler {
        name: format!("{PREFIX}{key}"),
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        after: after.iter().map(|a| format!("{PREFIX}{a}")).collect(),
    }
}

fn hmap(handlers: Vec<Handler>) -> HandlerMap {
    let mut map = HandlerMap::default();
    for h in handlers {
        for a in &h.actions {
            let (name, run, only_if) = (a.clone(), format!("run {a}"), None);
            let timeout = crate::handlers::map::DEFAULT_TIMEOUT;
            map.actions.insert(
                a.clone(),
                HAction {
                    name,
                    run,
                    only_if,
                    timeout,
                },
            );
        }
        map.handlers.insert(h.name.clone(), h);
    }
    map
}

/// Every host of the fleet in scope, every certificate.
fn everything(f: &Fleet) -> PlanOptions {
    let hosts = f.hosts.keys().cloned().collect();
    PlanOptions {
        scope: Scope {
            hosts,
            certs: BTreeSet::new(),
        },
        force: false,
    }
}

/// Plan with one `reload` handler per certificate.
fn plan_with(cfg: &Config, f: &Fleet, store: &StoreView, opts: &PlanOptions, now: &str) -> Plan {
    let map = hmap(
        f.certs
            .iter()
            .map(|c| handler(&c.key, &["reload"], &[]))
            .collect(),
    );
    build(cfg, f, &map, store, &Facts::default(), opts, ts(now)).expect("plan")
}

/// Plan everything with `renew_before: 1/3`.
fn plan_at(f: &Fleet, store: &StoreView, now: &str) -> Plan {
    plan_with(&config("1/3"), f, store, &everything(f), now)
}

fn reasons(plan: &Plan) -> Vec<(&str, Action, Reason)> {
    plan.certificates
        .iter()
        .map(|c| (c.cert.as_str(), c.action, c.reason))
        .collect()
}

fn challenges(plan: &Plan) -> Vec<&str> {
    plan.dns
        .challenges
        .iter()
        .map(|c| c.domain.as_str())
        .collect()
}

#[test]
fn each_reason_at_a_fixed_now() {
    let f = fleet(
        vec![
            cert("a.org", "new", &["a.org"]),
            cert("b.org", "renamed", &["b.org", "www.b.org"]),
            cert("c.org", "fine", &["c.org"]),
            cert("d.org", "missing", &["d.org"]),
            cert("e.org", "drifted", &["e.org"]),
        ],
        &[],
    );
    let mut store = StoreView::default();
    for (key, name) in [
        ("renamed", "b.org"),
        ("fine", "c.org"),
        ("missing", "d.org"),
        ("drifted", "e.org"),
    ] {
        store
            .certs
            .insert(key.to_owned(), stored(key, &[name], "v2"));
    }
    deploy(&mut store, "c.org", "fine", "v2");
    deploy(&mut store, "e.org", "drifted", "v1");
    let plan = plan_at(&f, &store, "2026-02-01T00:00:00Z");
    assert_eq!(
        reasons(&plan),
        [
            ("new", Action::Issue, Reason::New),
            ("renamed", Action::Issue, Reason::NamesChanged),
            ("fine", Action::Keep, Reason::Valid),
            ("missing", Action::Deploy, Reason::MissingOnHost),
            ("drifted", Action::Deploy, Reason::Drift),
        ]
    );
    let s = &plan.summary;
    assert_eq!((s.issue, s.renew, s.deploy, s.keep), (2, 0, 2, 1));
    // Deploys fire handlers but order nothing.
    assert_eq!(challenges(&plan), ["a.org", "b.org", "www.b.org"]);
    assert_eq!(plan.handlers.len(), 4);
    assert_eq!(plan.certificates[2].not_after, Some(ts(NA)));
    assert_eq!(plan.certificates[0].not_after, None);
}

fn one_valid() -> (Fleet, StoreView) {
    let f = fleet(vec![cert("a.org", "main", &["a.org"])], &[]);
    let mut store = StoreView::default();
    store
        .certs
        .insert("main".into(), stored("main", &["a.org"], "v1"));
    deploy(&mut store, "a.org", "main", "v1");
    (f, store)
}

#[test]
fn expiring_at_the_boundary_with_a_fraction_and_a_duration() {
    let (f, store) = one_valid();
    let opts = everything(&f);
    let renew = [("main", Action::Renew, Reason::Expiring)];
    let keep = [("main", Action::Keep, Reason::Valid)];
    // 90 days of life: a third is due 30 days before the end, 10d ten days before.
    for (rule, due, before) in [
        ("1/3", "2026-03-02T00:00:00Z", "2026-03-01T23:59:59Z"),
        ("10d", "2026-03-22T00:00:00Z", "2026-03-21T23:59:59Z"),
    ] {
        let cfg = config(rule);
        let plan = plan_with(&cfg, &f, &store, &opts, due);
        assert_eq!(reasons(&plan), renew, "{rule} at {due}");
        assert_eq!(plan.certificates[0].renew_at, Some(ts(due)));
        assert_eq!(challenges(&plan), ["a.org"]);
        let plan = plan_with(&cfg, &f, &store, &opts, before);
        assert_eq!(reasons(&plan), keep, "{rule} at {before}");
        assert!(!plan.has_changes());
    }
}

#[test]
fn an_ari_window_wins_over_renew_before() {
    let (f, store) = one_valid();
    let mut facts = Facts::default();
    let (start, end) = (ts("2026-01-10T00:00:00Z"), ts("2026-01-11T00:00:00Z"));
    facts.ari.insert("main".into(), AriWindow { start, end });
    let map = hmap(vec![handler("main", &["reload"], &[])]);
    let (cfg, opts) = (config("1/3"), everything(&f));
    let plan = |now| build(&cfg, &f, &map, &store, &facts, &opts, ts(now)).expect("plan");
    let due = plan("2026-01-11T00:00:00Z");
    assert_eq!(reasons(&due), [("main", Action::Renew, Reason::AriWindow)]);
    let early = plan("2026-01-09T23:59:59Z");
    assert_eq!(reasons(&early), [("main", Action::Keep, Reason::Valid)]);
}

#[test]
fn force_renews_but_never_hides_issue() {
    let (f, mut store) = one_valid();
    let mut certs = f.certs;
    certs.push(cert("b.org", "fresh", &["b.org"]));
    certs.push(cert("c.org", "renamed", &["c.org"]));
    store
        .certs
        .insert("renamed".into(), stored("renamed", &["old.c.org"], "v1"));
    let f = fleet(certs, &[]);
    let mut opts = everything(&f);
    opts.force = true;
    let plan = plan_with(&config("1/3"), &f, &store, &opts, "2026-01-02T00:00:00Z");
    let want = [
        ("main", Action::Renew, Reason::Forced),
        ("fresh", Action::Issue, Reason::New),
        ("renamed", Action::Issue, Reason::NamesChanged),
    ];
    assert_eq!(reasons(&plan), want);
}

/// Sorted keys of a JSON object, comma-joined.
fn keys(v: &serde_json::Value) -> String {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k.join(",")
}

#[test]
fn json_shape_and_domain_count() {
    let f = fleet(
        vec![
            cert(
                "a.example.org",
                "a-main",
                &["a.example.org:443", "www.example.org"],
            ),
            cert("b.example.org", "b-main", &["a.example.org"]),
        ],
        &[],
    );
    let plan = plan_at(&f, &StoreView::default(), NB);
    let v: serde_json::Value = serde_json::from_str(&render::json(&plan)).expect("json");
    assert_eq!(keys(&v), "certificates,dns,format_version,handlers,summary");
    assert_eq!(v["format_version"], 1);
    let c0 = &v["certificates"][0];
    let want = "action,cert,directory,domains,handler,host,not_after,reason";
    assert_eq!(keys(c0), want);
    assert_eq!(
        c0["domains"],
        serde_json::json!(["a.example.org", "www.example.org"])
    );
    assert_eq!(c0["directory"], "/etc/letsencrypt-certs/a.example.org");
    assert_eq!(
        (c0["action"].as_str(), c0["reason"].as_str()),
        (Some("issue"), Some("new"))
    );
    assert!(c0["not_after"].is_null());
    assert_eq!(c0["handler"], "letsencrypt updated a-main");
    assert_eq!(v["dns"]["zone"], "acme.example.org");
    assert!(v["dns"]["challenges"][0]["owner"].is_null());
    // Three names summed over two certificates, `:443` stripped.
    let summary = r#"{"hosts": 2, "certificates": 2, "domains": 3, "issue": 2, "renew": 0, "deploy": 0, "keep": 0}"#;
    let summary: serde_json::Value = serde_json::from_str(summary).expect("json");
    assert_eq!(v["summary"], summary);
    assert_eq!(keys(&v["handlers"][0]), "actions,handler,host,step");
}

#[test]
fn self_signed_hosts_need_no_challenges() {
    let f = fleet(
        vec![
            cert("lab.org", "lab", &["lab.org"]),
            cert("web.org", "web", &["web.org"]),
        ],
        &["lab.org"],
    );
    let plan = plan_at(&f, &StoreView::default(), NB);
    assert_eq!(plan.summary.issue, 2);
    assert!(plan.certificates[0].self_signed);
    assert_eq!(challenges(&plan), ["web.org"]);
}

#[test]
fn pending_handlers_fire_without_changes() {
    let (f, mut store) = one_valid();
    let record = store.hosts.get_mut("a.org").expect("record");
    // `gone` is not in the handler map any more: dropped.
    record.pending_handlers = vec![format!("{PREFIX}main"), format!("{PREFIX}gone")];
    let pending_handlers = vec![format!("{PREFIX}main")];
    let out_of_scope = HostRecord {
        pending_handlers,
        ..HostRecord::default()
    };
    store.hosts.insert("other.org".into(), out_of_scope);
    let plan = plan_at(&f, &store, "2026-01-02T00:00:00Z");
    assert_eq!(reasons(&plan), [("main", Action::Keep, Reason::Valid)]);
    assert!(plan.has_changes());
    assert_eq!(steps(&plan.handlers), [(1, "a.org", "main")]);
    assert_eq!(plan.handlers[0].actions, ["reload"]);
}

// ---- scope ----

fn scoped_fleet() -> (tempfile::TempDir, Inventory, Fleet) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let host = |h: &str| {
        format!(
            "    {h}.opendev.org:\n      letsencrypt_certs:\n        {h}-main: [{h}.opendev.org]\n"
        )
    };
    let body: String = ["gitea01", "gitea02", "gitea03", "static01", "review01"]
        .map(host)
        .concat();
    put(d, "hosts.yaml", &format!("all:\n  hosts:\n{body}"));
    let groups = "plugin: yamlgroup\ngroups:\n  letsencrypt: '*.opendev.org'\n  gitea: gitea*\n";
    put(d, "groups.yaml", groups);
    let cfg = put(
        d,
        "certbridge.yaml",
        "inventory: [hosts.yaml, groups.yaml]\n",
    );
    let config = Config::load(&cfg).expect("config");
    let mut problems = Problems::default();
    let inv = Inventory::load(&config.inventory, &mut problems);
    let f = Fleet::from_inventory(&inv, &config, &mut problems);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    (dir, inv, f)
}

fn limit(inv: &Inventory, f: &Fleet, text: &str) -> Vec<String> {
    let s = scope::resolve(inv, f, Some(text), &[]).expect("limit resolves");
    s.hosts
        .iter()
        .map(|h| h.trim_end_matches(".opendev.org").to_owned())
        .collect()
}

fn usage_error(r: Result<Scope, Vec<Problem>>) -> Problem {
    let errs = r.expect_err("usage error");
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().expect("one")
}

#[test]
fn limit_patterns() {
    let (_d, inv, f) = scoped_fleet();
    let all = scope::resolve(&inv, &f, None, &[]).expect("no limit");
    assert_eq!(all.hosts.len(), 5);
    let cases: [(&str, &[&str]); 8] = [
        ("gitea*", &["gitea01", "gitea02", "gitea03"]),
        ("^gitea0[12]", &["gitea01", "gitea02"]),
        ("gitea", &["gitea01", "gitea02", "gitea03"]),
        ("gitea,!gitea02*", &["gitea01", "gitea03"]),
        ("gitea*,&^gitea0[23]", &["gitea02", "gitea03"]),
        ("!gitea", &["review01", "static01"]),
        (
            "static01.opendev.org:review01.opendev.org",
            &["review01", "static01"],
        ),
        ("re*, gitea01.opendev.org", &["gitea01", "review01"]),
    ];
    for (text, want) in cases {
        assert_eq!(limit(&inv, &f, text), want, "{text}");
    }
    let p = usage_error(scope::resolve(&inv, &f, Some("gitea*,nomatch*"), &[]));
    assert_eq!(
        (p.file.as_ref(), p.item.as_deref()),
        (None, Some("--limit"))
    );
    assert!(p.message.contains("nomatch*"), "{p}");
    let p = usage_error(scope::resolve(&inv, &f, Some("^gitea("), &[]));
    assert!(p.message.contains("invalid pattern"), "{p}");
}

#[test]
fn cert_scoping() {
    let (_d, inv, f) = scoped_fleet();
    let s = scope::resolve(&inv, &f, None, &["gitea02-main".into()]).expect("known key");
    assert!(s.contains("gitea02.opendev.org", "gitea02-main"));
    assert!(!s.contains("gitea01.opendev.org", "gitea01-main"));
    let p = usage_error(scope::resolve(&inv, &f, None, &["nope".into()]));
    assert_eq!(p.item.as_deref(), Some("--cert"));
    assert!(p.message.contains("`nope`"), "{p}");
    let excluded = ["static01-main".to_owned()];
    let p = usage_error(scope::resolve(&inv, &f, Some("gitea01*"), &excluded));
    assert!(p.message.contains("--limit leaves out"), "{p}");

    let scope = scope::resolve(&inv, &f, Some("gitea"), &[]).expect("group");
    let opts = PlanOptions {
        scope,
        force: false,
    };
    let plan = plan_with(&config("1/3"), &f, &StoreView::default(), &opts, NB);
    assert_eq!(plan.summary.hosts, 3);
    assert!(
        plan.certificates
            .iter()
            .all(|c| c.host.starts_with("gitea"))
    );
}

// ---- handler ordering ----

fn fire(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(h, k)| ((*h).to_owned(), format!("{PREFIX}{k}")))
        .collect()
}

fn steps(runs: &[HandlerRun]) -> Vec<(usize, &str, &str)> {
    runs.iter()
        .map(|r| (r.step, r.host.as_str(), &r.handler[PREFIX.len()..]))
        .collect()
}

#[test]
fn gitea_chain_runs_in_three_steps_and_independents_share_step_one() {
    let map = hmap(vec![
        handler("gitea01-main", &["restart-gitea"], &[]),
        handler("gitea02-main", &["restart-gitea"], &["gitea01-main"]),
        handler("gitea03-main", &["restart-gitea"], &["gitea02-main"]),
        handler("zz", &["reload"], &[]),
        handler("aa", &["reload"], &[]),
    ]);
    let fired = fire(&[
        ("gitea03", "gitea03-main"),
        ("gitea02", "gitea02-main"),
        ("static02", "zz"),
        ("gitea01", "gitea01-main"),
        ("static01", "zz"),
        ("static01", "aa"),
    ]);
    let runs = order(&map, &fired).expect("acyclic");
    assert_eq!(
        steps(&runs),
        [
            (1, "gitea01", "gitea01-main"),
            (1, "static01", "aa"),
            (1, "static01", "zz"),
            (1, "static02", "zz"),
            (2, "gitea02", "gitea02-main"),
            (3, "gitea03", "gitea03-main"),
        ]
    );
    // `static01 zz` shares `reload` with `static01 aa`: it runs once.
    assert_eq!(runs[1].actions, ["reload"]);
    assert!(runs[2].actions.is_empty());
    assert_eq!(runs[2].merged, ["reload"]);
    assert_eq!(runs[3].actions, ["reload"], "other hosts run it too");
}

#[test]
fn shared_action_runs_once_per_host() {
    let map = hmap(vec![
        handler("k1", &["reload-apache"], &[]),
        handler("k2", &["reload-apache", "restart-x"], &[]),
    ]);
    let runs = order(&map, &fire(&[("a", "k2"), ("a", "k1"), ("a", "k1")])).expect("ok");
    assert_eq!(
        steps(&runs),
        [(1, "a", "k1"), (1, "a", "k2")],
        "duplicates fire once"
    );
    assert_eq!(runs[0].actions, ["reload-apache"]);
    assert!(runs[0].merged.is_empty());
    assert_eq!(runs[1].actions, ["restart-x"]);
    assert_eq!(runs[1].merged, ["reload-apache"]);
}

#[test]
fn after_a_handler_that_does_not_fire_is_ignored_and_cycles_fail() {
    let map = hmap(vec![
        handler("first", &["a"], &[]),
        handler("second", &["b"], &["first"]),
    ]);
    let runs = order(&map, &fire(&[("h", "second")])).expect("ok");
    assert_eq!(steps(&runs), [(1, "h", "second")]);
    let cyclic = hmap(vec![
        handler("x", &["a"], &["y"]),
        handler("y", &["a"], &["x"]),
    ]);
    let err = order(&cyclic, &fire(&[("h", "x"), ("h", "y")])).expect_err("cycle");
    assert!(err.to_string().contains("cycle"), "{err}");
}

// ---- handler map validation ----

/// Load a handler map written with `@key` for `letsencrypt updated key`.
fn load_map(text: &str, certs: &[&str], known: &[&str]) -> (HandlerMap, Problems) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = put(dir.path(), "handlers.yaml", &text.replace('@', PREFIX));
    let set = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    let mut problems = Problems::default();
    let map = HandlerMap::load(&path, &set(certs), &set(known), &mut problems);
    assert!(
        problems
            .all()
            .iter()
            .all(|p| p.file.as_deref() == Some(path.as_path()))
    );
    (map, problems)
}

/// Compare (line, item without the handler prefix, message fragment).
fn assert_problems<'a>(got: impl Iterator<Item = &'a Problem>, want: &[(usize, &str, &str)]) {
    let got: Vec<&Problem> = got.collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (p, (line, item, fragment)) in got.iter().zip(want) {
        let short = p.item.as_deref().map(|i| i.trim_start_matches(PREFIX));
        assert_eq!((p.line, short), (Some(*line), Some(*item)), "{p}");
        assert!(p.message.contains(fragment), "{p} lacks {fragment:?}");
    }
}

const ACTIONS: &str = "actions:\n  reload:\n    run: systemctl reload apache2\n";

#[test]
fn valid_map_in_all_three_forms() {
    let text = format!(
        "{ACTIONS}  restart:
    run: restart {{{{ first }}}} {{{{ domains }}}}
    only_if: test -d {{{{ cert_dir }}}}
    timeout: 300s
handlers:
  '@a': reload
  '@b': [reload, restart]
  '@c': {{actions: restart, after: ['@a']}}
"
    );
    let (map, problems) = load_map(&text, &["a", "b", "c"], &[]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    assert_eq!(
        map.handlers[&format!("{PREFIX}b")].actions,
        ["reload", "restart"]
    );
    assert_eq!(
        map.handlers[&format!("{PREFIX}c")].after,
        [format!("{PREFIX}a")]
    );
    assert_eq!(map.actions["restart"].timeout.as_secs(), 300);
}

#[test]
fn missing_handler_unknown_action_and_unknown_after() {
    let text = format!(
        "{ACTIONS}handlers:\n  '@a': restart-nginx\n  '@b': {{actions: [reload], after: ['@zz']}}\n"
    );
    let (_map, problems) = load_map(&text, &["a", "b", "c"], &[]);
    let want = [
        (5, "a", "unknown action `restart-nginx`"),
        (6, "b", "unknown handler `letsencrypt updated zz`"),
        (4, "c", "certificate `c` has no handler"),
    ];
    assert_problems(problems.errors(), &want);
}

#[test]
fn cycles_name_every_member() {
    let text = format!(
        "{ACTIONS}handlers:
  '@x': {{actions: reload, after: '@z'}}
  '@y': {{actions: reload, after: '@x'}}
  '@z': {{actions: reload, after: '@y'}}
  '@self': {{actions: reload, after: '@self'}}
  '@free': {{actions: reload, after: '@x'}}
"
    );
    let (map, problems) = load_map(&text, &["x", "y", "z", "self", "free"], &[]);
    let want = [
        (8, "self", "cycle: letsencrypt updated self"),
        (5, "x", "cycle"),
    ];
    assert_problems(problems.errors(), &want);
    let cycle = &problems.errors().nth(1).expect("second").message;
    for member in ["x", "y", "z"] {
        assert!(cycle.contains(&format!("{PREFIX}{member}")), "{cycle}");
    }
    assert!(!cycle.contains("free"), "{cycle}");
    assert_eq!(map.cycles().len(), 2);
}

#[test]
fn bad_templates_and_keys_in_actions() {
    let text = "actions:
  broken:
    run: systemctl reload {{ unclosed
  unknown-var:
    run: systemctl reload {{ service }}
    only_if: test -e {{ key_file }}
  extra:
    run: x
    user: root
  no-run:
    only_if: 'true'
  slow:
    run: x
    timeout: soon
handlers: {}
";
    let (_map, problems) = load_map(text, &[], &[]);
    let want = [
        (3, "action broken", "template error"),
        (5, "action unknown-var", "unknown variable(s) service"),
        (9, "action extra", "unknown key `user`"),
        (10, "action no-run", "missing `run`"),
        (14, "action slow", "not a duration"),
    ];
    assert_problems(problems.errors(), &want);
}

#[test]
fn handlers_for_keys_no_host_has_are_warnings() {
    let text = format!(
        "{ACTIONS}handlers:\n  '@a': reload\n  '@retired': reload\n  '@excluded': reload\n  reload-all: reload\n"
    );
    let (_map, problems) = load_map(&text, &["a"], &["a", "excluded"]);
    let warning = "no host in the inventory has a certificate with this key";
    assert_problems(problems.warnings(), &[(6, "retired", warning)]);
    // A name without the prefix is an error, though.
    assert_problems(problems.errors(), &[(8, "reload-all", "handler names are")]);
}
