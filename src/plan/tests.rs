//! Planner reasons at a fixed `now`, scoping, the JSON shape, handler
//! ordering, and validation of the handler map.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::handler_graph::order;
use super::{Action, Facts, Plan, PlanOptions, Reason, Scope, build, render, scope};
use crate::config::Config;
use crate::diag::{Problem, Problems, Severity};
use crate::handlers::{Action as HAction, Handler, HandlerMap};
use crate::inventory::Inventory;
use crate::inventory::fleet::{Certificate, Fleet, FleetHost, NameEntry};
use crate::store::{Deployed, HostRecord, StoreView, StoredCert};

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp literal")
}

fn put(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(&path, text).expect("write file");
    path
}

/// A config with `acme.renew_before` set.
fn config(renew_before: &str) -> Config {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = put(
        dir.path(),
        "certbridge.yaml",
        &format!(
            "inventory: [hosts.yaml]\nacme:\n  renew_before: {renew_before}\ndns:\n  zone: acme.example.org\n"
        ),
    );
    Config::load(&path).expect("valid config")
}

fn cert(host: &str, key: &str, names: &[&str]) -> Certificate {
    let names = names
        .iter()
        .map(|n| {
            let (name, port) = crate::inventory::domain::split_port(n).expect("name");
            NameEntry {
                name: name.to_owned(),
                port,
            }
        })
        .collect();
    Certificate {
        key: key.to_owned(),
        host: host.to_owned(),
        names,
    }
}

fn fleet(certs: Vec<Certificate>, self_signed: &[&str]) -> Fleet {
    let mut f = Fleet::default();
    for c in &certs {
        f.hosts.insert(
            c.host.clone(),
            FleetHost {
                name: c.host.clone(),
                address: c.host.clone(),
                port: None,
                user: None,
                staging: false,
                self_sign: self_signed.contains(&c.host.as_str()),
                account_email: None,
                certcheck_additional: Vec::new(),
            },
        );
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
    store
        .hosts
        .entry(host.to_owned())
        .or_default()
        .deployed
        .insert(
            key.to_owned(),
            Deployed {
                version: version.to_owned(),
                files: BTreeMap::new(),
                at: ts(NB),
            },
        );
}

fn handler(key: &str, actions: &[&str], after: &[&str]) -> Handler {
    Handler {
        name: format!("letsencrypt updated {key}"),
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        after: after
            .iter()
            .map(|a| format!("letsencrypt updated {a}"))
            .collect(),
    }
}

fn hmap(handlers: Vec<Handler>) -> HandlerMap {
    let mut map = HandlerMap::default();
    for h in handlers {
        for a in &h.actions {
            map.actions.insert(
                a.clone(),
                HAction {
                    name: a.clone(),
                    run: format!("run {a}"),
                    only_if: None,
                    timeout: crate::handlers::map::DEFAULT_TIMEOUT,
                },
            );
        }
        map.handlers.insert(h.name.clone(), h);
    }
    map
}

/// Every host of the fleet in scope, every certificate.
fn everything(f: &Fleet) -> PlanOptions {
    PlanOptions {
        scope: Scope {
            hosts: f.hosts.keys().cloned().collect(),
            certs: BTreeSet::new(),
        },
        force: false,
    }
}

fn plan_at(cfg: &Config, f: &Fleet, store: &StoreView, opts: &PlanOptions, now: &str) -> Plan {
    let map = hmap(
        f.certs
            .iter()
            .map(|c| handler(&c.key, &["reload"], &[]))
            .collect(),
    );
    build(cfg, f, &map, store, &Facts::default(), opts, ts(now)).expect("plan")
}

fn reasons(plan: &Plan) -> Vec<(&str, Action, Reason)> {
    plan.certificates
        .iter()
        .map(|c| (c.cert.as_str(), c.action, c.reason))
        .collect()
}

#[test]
fn each_reason_at_a_fixed_now() {
    let f = fleet(
        vec![
            cert("a.example.org", "new", &["a.example.org"]),
            cert(
                "b.example.org",
                "renamed",
                &["b.example.org", "www.b.example.org"],
            ),
            cert("c.example.org", "fine", &["c.example.org"]),
            cert("d.example.org", "missing", &["d.example.org"]),
            cert("e.example.org", "drifted", &["e.example.org"]),
        ],
        &[],
    );
    let mut store = StoreView::default();
    for (key, domains) in [
        ("renamed", &["b.example.org"][..]),
        ("fine", &["c.example.org"]),
        ("missing", &["d.example.org"]),
        ("drifted", &["e.example.org"]),
    ] {
        store
            .certs
            .insert(key.to_owned(), stored(key, domains, "v2"));
    }
    deploy(&mut store, "c.example.org", "fine", "v2");
    deploy(&mut store, "e.example.org", "drifted", "v1");
    let plan = plan_at(
        &config("1/3"),
        &f,
        &store,
        &everything(&f),
        "2026-02-01T00:00:00Z",
    );
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
    let domains: Vec<&str> = plan
        .dns
        .challenges
        .iter()
        .map(|c| c.domain.as_str())
        .collect();
    assert_eq!(
        domains,
        ["a.example.org", "b.example.org", "www.b.example.org"]
    );
    assert_eq!(plan.handlers.len(), 4);
    assert_eq!(plan.certificates[2].not_after, Some(ts(NA)));
    assert_eq!(plan.certificates[0].not_after, None);
}

fn one_valid() -> (Fleet, StoreView) {
    let f = fleet(vec![cert("a.example.org", "main", &["a.example.org"])], &[]);
    let mut store = StoreView::default();
    store
        .certs
        .insert("main".into(), stored("main", &["a.example.org"], "v1"));
    deploy(&mut store, "a.example.org", "main", "v1");
    (f, store)
}

#[test]
fn expiring_at_a_third_of_lifetime_boundary() {
    let (f, store) = one_valid();
    let cfg = config("1/3");
    let at = "2026-03-02T00:00:00Z"; // 90 days, a third is 30 days before the end
    let plan = plan_at(&cfg, &f, &store, &everything(&f), at);
    assert_eq!(reasons(&plan), [("main", Action::Renew, Reason::Expiring)]);
    assert_eq!(plan.certificates[0].renew_at, Some(ts(at)));
    assert_eq!(plan.dns.challenges.len(), 1);
    let plan = plan_at(&cfg, &f, &store, &everything(&f), "2026-03-01T23:59:59Z");
    assert_eq!(reasons(&plan), [("main", Action::Keep, Reason::Valid)]);
    assert!(!plan.has_changes());
}

#[test]
fn expiring_with_a_duration() {
    let (f, store) = one_valid();
    let cfg = config("10d");
    let plan = plan_at(&cfg, &f, &store, &everything(&f), "2026-03-22T00:00:00Z");
    assert_eq!(reasons(&plan), [("main", Action::Renew, Reason::Expiring)]);
    let plan = plan_at(&cfg, &f, &store, &everything(&f), "2026-03-21T23:59:59Z");
    assert_eq!(reasons(&plan), [("main", Action::Keep, Reason::Valid)]);
}

#[test]
fn an_ari_window_wins_over_renew_before() {
    let (f, store) = one_valid();
    let mut facts = Facts::default();
    let window = super::AriWindow {
        start: ts("2026-01-10T00:00:00Z"),
        end: ts("2026-01-11T00:00:00Z"),
    };
    facts.ari.insert("main".into(), window);
    let map = hmap(vec![handler("main", &["reload"], &[])]);
    let cfg = config("1/3");
    let plan = |now| build(&cfg, &f, &map, &store, &facts, &everything(&f), ts(now)).expect("plan");
    assert_eq!(
        reasons(&plan("2026-01-11T00:00:00Z")),
        [("main", Action::Renew, Reason::AriWindow)]
    );
    assert_eq!(
        reasons(&plan("2026-01-09T23:59:59Z")),
        [("main", Action::Keep, Reason::Valid)]
    );
}

#[test]
fn force_renews_but_never_hides_issue() {
    let (mut f, store) = one_valid();
    f.certs
        .push(cert("b.example.org", "fresh", &["b.example.org"]));
    f = fleet(f.certs, &[]);
    let mut opts = everything(&f);
    opts.force = true;
    let plan = plan_at(&config("1/3"), &f, &store, &opts, "2026-01-02T00:00:00Z");
    assert_eq!(
        reasons(&plan),
        [
            ("main", Action::Renew, Reason::Forced),
            ("fresh", Action::Issue, Reason::New),
        ]
    );
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
    let plan = plan_at(
        &config("1/3"),
        &f,
        &StoreView::default(),
        &everything(&f),
        NB,
    );
    let v: serde_json::Value = serde_json::from_str(&render::json(&plan)).expect("json");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "certificates",
            "dns",
            "format_version",
            "handlers",
            "summary"
        ]
    );
    assert_eq!(v["format_version"], 1);
    let c0 = &v["certificates"][0];
    assert_eq!(
        keys(c0),
        [
            "action",
            "cert",
            "directory",
            "domains",
            "handler",
            "host",
            "not_after",
            "reason"
        ]
    );
    assert_eq!(
        c0["domains"],
        serde_json::json!(["a.example.org", "www.example.org"])
    );
    assert_eq!(c0["directory"], "/etc/letsencrypt-certs/a.example.org");
    assert_eq!(c0["action"], "issue");
    assert_eq!(c0["reason"], "new");
    assert!(c0["not_after"].is_null());
    assert_eq!(c0["handler"], "letsencrypt updated a-main");
    assert_eq!(v["dns"]["zone"], "acme.example.org");
    assert!(v["dns"]["challenges"][0]["owner"].is_null());
    assert_eq!(
        v["summary"],
        serde_json::json!({"hosts": 2, "certificates": 2, "domains": 3,
            "issue": 2, "renew": 0, "deploy": 0, "keep": 0})
    );
    assert_eq!(
        keys(&v["handlers"][0]),
        ["actions", "handler", "host", "step"]
    );
}

#[test]
fn self_signed_hosts_need_no_challenges() {
    let f = fleet(
        vec![
            cert("lab.example.org", "lab", &["lab.example.org"]),
            cert("web.example.org", "web", &["web.example.org"]),
        ],
        &["lab.example.org"],
    );
    let plan = plan_at(
        &config("1/3"),
        &f,
        &StoreView::default(),
        &everything(&f),
        NB,
    );
    assert_eq!(plan.summary.issue, 2);
    assert!(plan.certificates[0].self_signed);
    let domains: Vec<&str> = plan
        .dns
        .challenges
        .iter()
        .map(|c| c.domain.as_str())
        .collect();
    assert_eq!(domains, ["web.example.org"]);
}

#[test]
fn pending_handlers_fire_without_changes() {
    let (f, mut store) = one_valid();
    let record = store.hosts.get_mut("a.example.org").expect("record");
    record.pending_handlers = vec![
        "letsencrypt updated main".into(),
        "letsencrypt updated gone".into(), // not in the map any more: dropped
    ];
    store.hosts.insert(
        "other.example.org".into(),
        HostRecord {
            pending_handlers: vec!["letsencrypt updated main".into()],
            ..HostRecord::default()
        },
    );
    let plan = plan_at(
        &config("1/3"),
        &f,
        &store,
        &everything(&f),
        "2026-01-02T00:00:00Z",
    );
    assert_eq!(reasons(&plan), [("main", Action::Keep, Reason::Valid)]);
    assert!(plan.has_changes());
    assert_eq!(plan.handlers.len(), 1, "{:?}", plan.handlers);
    let run = &plan.handlers[0];
    assert_eq!(
        (run.step, run.host.as_str(), run.handler.as_str()),
        (1, "a.example.org", "letsencrypt updated main")
    );
    assert_eq!(run.actions, ["reload"]);
}

// ---- scope ----

fn scoped_fleet() -> (tempfile::TempDir, Inventory, Fleet) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let hosts = ["gitea01", "gitea02", "gitea03", "static01", "review01"];
    let body: String = hosts
        .iter()
        .map(|h| {
            format!("    {h}.opendev.org:\n      letsencrypt_certs:\n        {h}-main: [{h}.opendev.org]\n")
        })
        .collect();
    put(d, "hosts.yaml", &format!("all:\n  hosts:\n{body}"));
    put(
        d,
        "groups.yaml",
        "plugin: yamlgroup\ngroups:\n  letsencrypt: '*.opendev.org'\n  gitea: gitea*\n",
    );
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
    assert_eq!(limit(&inv, &f, "gitea*"), ["gitea01", "gitea02", "gitea03"]);
    assert_eq!(limit(&inv, &f, "^gitea0[12]"), ["gitea01", "gitea02"]);
    assert_eq!(limit(&inv, &f, "gitea"), ["gitea01", "gitea02", "gitea03"]);
    assert_eq!(limit(&inv, &f, "gitea,!gitea02*"), ["gitea01", "gitea03"]);
    assert_eq!(
        limit(&inv, &f, "gitea*,&^gitea0[23]"),
        ["gitea02", "gitea03"]
    );
    assert_eq!(limit(&inv, &f, "!gitea"), ["review01", "static01"]);
    assert_eq!(
        limit(&inv, &f, "static01.opendev.org:review01.opendev.org"),
        ["review01", "static01"]
    );
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
    let p = usage_error(scope::resolve(
        &inv,
        &f,
        Some("gitea01*"),
        &["static01-main".into()],
    ));
    assert!(p.message.contains("--limit leaves out"), "{p}");

    let s = scope::resolve(&inv, &f, Some("gitea"), &[]).expect("group");
    let opts = PlanOptions {
        scope: s,
        force: false,
    };
    let plan = plan_at(&config("1/3"), &f, &StoreView::default(), &opts, NB);
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
        .map(|(h, k)| ((*h).to_owned(), format!("letsencrypt updated {k}")))
        .collect()
}

fn steps(runs: &[super::HandlerRun]) -> Vec<(usize, &str, &str)> {
    runs.iter()
        .map(|r| {
            (
                r.step,
                r.host.as_str(),
                &r.handler["letsencrypt updated ".len()..],
            )
        })
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
    assert_eq!(runs.len(), 2, "duplicates fire once");
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

fn load_map(text: &str, certs: &[&str], known: &[&str]) -> (PathBuf, HandlerMap, Problems) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = put(dir.path(), "handlers.yaml", text);
    let set = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    let mut problems = Problems::default();
    let map = HandlerMap::load(&path, &set(certs), &set(known), &mut problems);
    // The folder goes; the path is still useful for comparisons.
    (path, map, problems)
}

fn errors(problems: &Problems) -> Vec<(Option<usize>, String, String)> {
    problems
        .errors()
        .map(|p| {
            (
                p.line,
                p.item.clone().unwrap_or_default(),
                p.message.clone(),
            )
        })
        .collect()
}

const ACTIONS: &str = "actions:\n  reload:\n    run: systemctl reload apache2\n";

#[test]
fn valid_map_in_all_three_forms() {
    let text = format!(
        "{ACTIONS}  restart:\n    run: restart {{{{ first }}}} {{{{ domains }}}}\n    only_if: test -d {{{{ cert_dir }}}}\n    timeout: 300s\nhandlers:\n  letsencrypt updated a: reload\n  letsencrypt updated b: [reload, restart]\n  letsencrypt updated c:\n    actions: restart\n    after: [letsencrypt updated a]\n"
    );
    let (_p, map, problems) = load_map(&text, &["a", "b", "c"], &[]);
    assert!(problems.all().is_empty(), "{:#?}", problems.all());
    assert_eq!(
        map.handlers["letsencrypt updated b"].actions,
        ["reload", "restart"]
    );
    assert_eq!(
        map.handlers["letsencrypt updated c"].after,
        ["letsencrypt updated a"]
    );
    assert_eq!(map.actions["restart"].timeout.as_secs(), 300);
}

#[test]
fn missing_handler_unknown_action_and_unknown_after() {
    let text = format!(
        "{ACTIONS}handlers:\n  letsencrypt updated a: restart-nginx\n  letsencrypt updated b:\n    actions: [reload]\n    after: [letsencrypt updated zz]\n"
    );
    let (path, _map, problems) = load_map(&text, &["a", "b", "c"], &[]);
    assert!(
        problems
            .all()
            .iter()
            .all(|p| p.file.as_deref() == Some(path.as_path()))
    );
    let e = errors(&problems);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_eq!(
        (e[0].0, e[0].1.as_str()),
        (Some(5), "letsencrypt updated a")
    );
    assert!(e[0].2.contains("restart-nginx"), "{e:?}");
    assert_eq!(
        (e[1].0, e[1].1.as_str()),
        (Some(6), "letsencrypt updated b")
    );
    assert!(e[1].2.contains("letsencrypt updated zz"), "{e:?}");
    assert_eq!(
        (e[2].0, e[2].1.as_str()),
        (Some(4), "letsencrypt updated c")
    );
    assert!(e[2].2.contains("`c` has no handler"), "{e:?}");
}

#[test]
fn cycles_name_every_member() {
    let text = format!(
        "{ACTIONS}handlers:
  letsencrypt updated x: {{actions: reload, after: letsencrypt updated z}}
  letsencrypt updated y: {{actions: reload, after: letsencrypt updated x}}
  letsencrypt updated z: {{actions: reload, after: letsencrypt updated y}}
  letsencrypt updated self: {{actions: reload, after: letsencrypt updated self}}
  letsencrypt updated free: {{actions: reload, after: letsencrypt updated x}}
"
    );
    let (_p, map, problems) = load_map(&text, &["x", "y", "z", "self", "free"], &[]);
    let e = errors(&problems);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(
        (e[0].0, e[0].1.as_str()),
        (Some(8), "letsencrypt updated self")
    );
    assert!(e[0].2.contains("cycle"), "{e:?}");
    assert_eq!(e[1].0, Some(5));
    for member in ["x", "y", "z"] {
        assert!(
            e[1].2.contains(&format!("letsencrypt updated {member}")),
            "{e:?}"
        );
    }
    assert!(!e[1].2.contains("free"), "{e:?}");
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
    let (_p, _map, problems) = load_map(text, &[], &[]);
    let e = errors(&problems);
    let want: [(usize, &str, &str); 5] = [
        (3, "action broken", "template error"),
        (5, "action unknown-var", "unknown variable(s) service"),
        (9, "action extra", "unknown key `user`"),
        (10, "action no-run", "missing `run`"),
        (14, "action slow", "not a duration"),
    ];
    assert_eq!(e.len(), want.len(), "{e:#?}");
    for ((line, item, msg), (wl, wi, wm)) in e.iter().zip(want) {
        assert_eq!((*line, item.as_str()), (Some(wl), wi), "{msg}");
        assert!(msg.contains(wm), "{msg}");
    }
}

#[test]
fn handlers_for_keys_no_host_has_are_warnings() {
    let text = format!(
        "{ACTIONS}handlers:\n  letsencrypt updated a: reload\n  letsencrypt updated retired: reload\n  letsencrypt updated excluded: reload\n  reload-everything: reload\n"
    );
    let (_p, _map, problems) = load_map(&text, &["a"], &["a", "excluded"]);
    let warnings: Vec<&Problem> = problems.warnings().collect();
    assert_eq!(warnings.len(), 1, "{:#?}", problems.all());
    assert_eq!(warnings[0].severity, Severity::Warning);
    assert_eq!(
        warnings[0].item.as_deref(),
        Some("letsencrypt updated retired")
    );
    assert_eq!(warnings[0].line, Some(6));
    // A name without the prefix is an error, though.
    let e = errors(&problems);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!((e[0].0, e[0].1.as_str()), (Some(8), "reload-everything"));
}
