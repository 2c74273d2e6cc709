//! The handler map (`handlers.yaml`): reusable actions, and for each
//! certificate key the handler `letsencrypt updated <key>` with its actions
//! and `after:` ordering. Validation catches what Ansible only noticed when a
//! handler fired: missing handlers, unknown actions or `after` targets,
//! cycles (every member named) and bad command templates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use petgraph::graph::DiGraph;
use serde_yaml_ng::Value;

use crate::config::parse_duration;
use crate::diag::Problems;
use crate::yaml::{Seg, YamlDoc};

/// The prefix every handler name carries.
pub const PREFIX: &str = "letsencrypt updated ";

/// Default time an action may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A reusable command run on a host.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Action {
    /// Its name.
    pub name: String,
    /// Command template.
    pub run: String,
    /// Guard: run only when this exits 0.
    pub only_if: Option<String>,
    /// Time limit.
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// What `letsencrypt updated <key>` does.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Handler {
    /// Full handler name.
    pub name: String,
    /// Actions, in order.
    pub actions: Vec<String>,
    /// Handlers that must have run first (when they fire in the same run).
    pub after: Vec<String>,
}

/// The validated handler map.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HandlerMap {
    /// Where it was read from.
    pub path: PathBuf,
    /// Actions by name.
    pub actions: BTreeMap<String, Action>,
    /// Handlers by full name.
    pub handlers: BTreeMap<String, Handler>,
}

impl HandlerMap {
    /// Load and check against the fleet's certificate keys.
    /// `cert_keys` must each have a handler; a handler whose key is not in
    /// `known_keys` (any host's, in scope or not) draws a warning.
    pub fn load(
        path: &Path,
        cert_keys: &BTreeSet<String>,
        known_keys: &BTreeSet<String>,
        problems: &mut Problems,
    ) -> HandlerMap {
        let mut map = HandlerMap {
            path: path.to_path_buf(),
            ..HandlerMap::default()
        };
        let doc = match YamlDoc::load(path) {
            Ok(d) => d,
            Err(p) => {
                problems.push(p);
                return map;
            }
        };
        let top = match &doc.value {
            Value::Mapping(m) => m,
            Value::Null => &serde_yaml_ng::Mapping::new(),
            _ => {
                problems.push(doc.problem(
                    &[],
                    "the handler map must be a mapping with `actions` and `handlers`",
                ));
                return map;
            }
        };
        for key in top.keys() {
            let k = key.as_str().unwrap_or("?");
            if !matches!(k, "actions" | "handlers") {
                problems.push(
                    doc.problem(
                        &[Seg::Key(k.to_owned())],
                        "unknown key; expected `actions` and `handlers`",
                    )
                    .item(k),
                );
            }
        }
        map.load_actions(&doc, problems);
        map.load_handlers(&doc, problems);
        map.check_refs(&doc, cert_keys, known_keys, problems);
        map
    }

    fn load_actions(&mut self, doc: &YamlDoc, problems: &mut Problems) {
        let Some(actions) = section(doc, "actions", problems) else {
            return;
        };
        for (name, body) in actions {
            let Some(name) = name.as_str() else { continue };
            let path = vec![Seg::Key("actions".into()), Seg::Key(name.to_owned())];
            let item = format!("action {name}");
            let Value::Mapping(body) = body else {
                problems.push(
                    doc.problem(&path, "an action must be a mapping with `run` (and optionally `only_if`, `timeout`)")
                        .item(item),
                );
                continue;
            };
            let mut run = None;
            let mut only_if = None;
            let mut timeout = DEFAULT_TIMEOUT;
            for (k, v) in body {
                let k = k.as_str().unwrap_or("?");
                let mut kp = path.clone();
                kp.push(Seg::Key(k.to_owned()));
                match (k, v) {
                    ("run" | "only_if", Value::String(cmd)) => {
                        if let Err(e) = super::command::check(cmd).and_then(|()| trial_render(cmd))
                        {
                            problems
                                .push(doc.problem(&kp, format!("`{k}`: {e}")).item(item.clone()));
                        }
                        if k == "run" {
                            run = Some(cmd.clone());
                        } else {
                            only_if = Some(cmd.clone());
                        }
                    }
                    ("timeout", v) => {
                        let text = match v {
                            Value::Number(n) => n.to_string(),
                            Value::String(s) => s.clone(),
                            _ => String::new(),
                        };
                        match parse_duration(&text) {
                            Ok(d) if !d.is_zero() => timeout = d,
                            Ok(_) => problems.push(
                                doc.problem(&kp, "timeout must be more than 0")
                                    .item(item.clone()),
                            ),
                            Err(e) => problems.push(doc.problem(&kp, e).item(item.clone())),
                        }
                    }
                    ("run" | "only_if", _) => {
                        problems.push(
                            doc.problem(&kp, format!("`{k}` must be a command string"))
                                .item(item.clone()),
                        );
                    }
                    _ => problems.push(
                        doc.problem(
                            &kp,
                            format!("unknown key `{k}`; expected run, only_if, timeout"),
                        )
                        .item(item.clone()),
                    ),
                }
            }
            let Some(run) = run else {
                problems.push(doc.problem(&path, "missing `run`").item(item));
                continue;
            };
            self.actions.insert(
                name.to_owned(),
                Action {
                    name: name.to_owned(),
                    run,
                    only_if,
                    timeout,
                },
            );
        }
    }

    fn load_handlers(&mut self, doc: &YamlDoc, problems: &mut Problems) {
        let Some(handlers) = section(doc, "handlers", problems) else {
            return;
        };
        for (name, body) in handlers {
            let Some(name) = name.as_str() else { continue };
            let path = vec![Seg::Key("handlers".into()), Seg::Key(name.to_owned())];
            if !name.starts_with(PREFIX) || name.len() == PREFIX.len() {
                problems.push(
                    doc.problem(&path, format!("handler names are `{PREFIX}<cert-key>`"))
                        .item(name),
                );
                continue;
            }
            let mut handler = Handler {
                name: name.to_owned(),
                actions: Vec::new(),
                after: Vec::new(),
            };
            match body {
                Value::String(a) => handler.actions.push(a.clone()),
                Value::Sequence(_) => handler.actions = strings(doc, &path, body, name, problems),
                Value::Mapping(m) => {
                    for (k, v) in m {
                        let k = k.as_str().unwrap_or("?");
                        let mut kp = path.clone();
                        kp.push(Seg::Key(k.to_owned()));
                        match k {
                            "actions" => handler.actions = strings(doc, &kp, v, name, problems),
                            "after" => handler.after = strings(doc, &kp, v, name, problems),
                            _ => problems.push(
                                doc.problem(
                                    &kp,
                                    format!("unknown key `{k}`; expected actions, after"),
                                )
                                .item(name),
                            ),
                        }
                    }
                }
                _ => {
                    problems.push(
                        doc.problem(
                            &path,
                            "a handler is an action name, or `{actions: [...], after: [...]}`",
                        )
                        .item(name),
                    );
                    continue;
                }
            }
            if handler.actions.is_empty() {
                problems.push(
                    doc.problem(&path, "no actions; name at least one")
                        .item(name),
                );
            }
            self.handlers.insert(name.to_owned(), handler);
        }
    }

    fn check_refs(
        &self,
        doc: &YamlDoc,
        cert_keys: &BTreeSet<String>,
        known_keys: &BTreeSet<String>,
        problems: &mut Problems,
    ) {
        let hpath = |name: &str| vec![Seg::Key("handlers".into()), Seg::Key(name.to_owned())];
        for h in self.handlers.values() {
            for a in &h.actions {
                if !self.actions.contains_key(a) {
                    problems.push(
                        doc.problem(
                            &hpath(&h.name),
                            format!("unknown action `{a}`; define it under `actions:`"),
                        )
                        .item(h.name.clone()),
                    );
                }
            }
            for a in &h.after {
                if !self.handlers.contains_key(a) {
                    problems.push(
                        doc.problem(
                            &hpath(&h.name),
                            format!("`after` names unknown handler `{a}`"),
                        )
                        .item(h.name.clone()),
                    );
                }
            }
            let key = &h.name[PREFIX.len()..];
            if !cert_keys.contains(key) && !known_keys.contains(key) {
                problems.push(
                    doc.problem(
                        &hpath(&h.name),
                        "no host in the inventory has a certificate with this key",
                    )
                    .item(h.name.clone())
                    .warning(),
                );
            }
        }
        for key in cert_keys {
            let name = format!("{PREFIX}{key}");
            if !self.handlers.contains_key(&name) {
                problems.push(
                    doc.problem(
                        &["handlers".into()],
                        format!("certificate `{key}` has no handler; add `{name}: <action>`"),
                    )
                    .item(name),
                );
            }
        }
        for cycle in self.cycles() {
            let first = cycle[0].clone();
            problems.push(
                doc.problem(
                    &hpath(&first),
                    format!("`after` forms a cycle: {}", cycle.join(" -> ")),
                )
                .item(first),
            );
        }
    }

    /// Every cycle of `after` edges, each as its members in name order.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut graph = DiGraph::<&str, ()>::new();
        let nodes: BTreeMap<&str, _> = self
            .handlers
            .keys()
            .map(|n| (n.as_str(), graph.add_node(n.as_str())))
            .collect();
        for h in self.handlers.values() {
            for a in &h.after {
                if let Some(&from) = nodes.get(a.as_str()) {
                    graph.add_edge(from, nodes[h.name.as_str()], ());
                }
            }
        }
        let mut out: Vec<Vec<String>> = petgraph::algo::tarjan_scc(&graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
            .map(|scc| {
                let mut names: Vec<String> = scc.iter().map(|n| graph[*n].to_owned()).collect();
                names.sort();
                names
            })
            .collect();
        out.sort();
        out
    }
}

/// Render `cmd` once with sample values, so that what only fails when
/// rendering (`{% include %}` with no templates to include, a filter on the
/// wrong type) is an input error now, not a failed handler in a pulse.
fn trial_render(cmd: &str) -> Result<(), String> {
    let ctx = minijinja::context! {
        host => "host.example.org", cert => "cert-key", first => "www.example.org",
        domains => vec!["www.example.org", "example.org"], cert_dir => "/etc/letsencrypt-certs/www.example.org",
        key_file => "/k", cert_file => "/c", ca_file => "/a", fullchain_file => "/f",
    };
    super::command::render(cmd, &ctx)
        .map(drop)
        .map_err(|e| format!("does not render: {e}"))
}

fn section<'a>(
    doc: &'a YamlDoc,
    name: &str,
    problems: &mut Problems,
) -> Option<&'a serde_yaml_ng::Mapping> {
    match doc.value.get(name) {
        Some(Value::Mapping(m)) => Some(m),
        Some(Value::Null) | None => None,
        Some(_) => {
            problems.push(doc.problem(
                &[Seg::Key(name.to_owned())],
                format!("`{name}` must be a mapping"),
            ));
            None
        }
    }
}

fn strings(
    doc: &YamlDoc,
    path: &[Seg],
    v: &Value,
    item: &str,
    problems: &mut Problems,
) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(seq) => seq
            .iter()
            .enumerate()
            .filter_map(|(i, x)| match x.as_str() {
                Some(s) => Some(s.to_owned()),
                None => {
                    let mut p = path.to_vec();
                    p.push(Seg::Index(i));
                    problems.push(doc.problem(&p, "must be a string").item(item));
                    None
                }
            })
            .collect(),
        Value::Null => Vec::new(),
        _ => {
            problems.push(
                doc.problem(path, "must be a name or a list of names")
                    .item(item),
            );
            Vec::new()
        }
    }
}
