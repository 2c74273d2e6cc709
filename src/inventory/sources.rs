//! Ansible inventory sources: YAML host files and yamlgroup files.
//!
//! A YAML host file is the `yaml` inventory plugin's format (`all: hosts:`,
//! `vars:`, nested `children:`), with host ranges like `web[01:03].x.org`.
//! A file whose top level has `plugin: yamlgroup` instead assigns hosts that
//! already exist to groups by pattern. Nothing here merges variables; that is
//! `vars.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_yaml_ng::{Mapping, Value};

use super::pattern::HostPattern;
use crate::diag::Problems;
use crate::yaml::{Seg, YPath, YamlDoc};

/// Where a mapping of variables was written.
#[derive(Debug, Clone)]
pub struct VarBlock {
    /// The file.
    pub doc: Arc<YamlDoc>,
    /// The path of the mapping inside it.
    pub path: YPath,
}

impl VarBlock {
    /// The mapping, when the block is one.
    pub fn mapping(&self) -> Option<&Mapping> {
        let mut v = &self.doc.value;
        for seg in &self.path {
            v = match seg {
                Seg::Key(k) => v.get(k.as_str())?,
                Seg::Index(i) => v.get(*i)?,
            };
        }
        v.as_mapping()
    }
}

/// Hosts and groups as the sources declare them, before variables.
#[derive(Debug, Default)]
pub struct Declared {
    /// Every host, with its inline variable blocks in source order.
    pub hosts: BTreeMap<String, Vec<VarBlock>>,
    /// Every group: direct hosts, parents, inline vars.
    pub groups: BTreeMap<String, GroupDecl>,
}

/// One group as declared.
#[derive(Debug, Default)]
pub struct GroupDecl {
    /// Hosts listed directly in the group.
    pub hosts: BTreeSet<String>,
    /// Groups this group is a child of (`all` is implicit).
    pub parents: BTreeSet<String>,
    /// Inline `vars:` blocks.
    pub vars: Vec<VarBlock>,
}

impl Declared {
    fn group(&mut self, name: &str) -> &mut GroupDecl {
        self.groups.entry(name.to_owned()).or_default()
    }

    /// Read one source; yamlgroup files are queued in `yamlgroups` and
    /// applied once every host is known.
    pub fn add_source(
        &mut self,
        doc: &Arc<YamlDoc>,
        yamlgroups: &mut Vec<Arc<YamlDoc>>,
        problems: &mut Problems,
    ) {
        let top = match &doc.value {
            Value::Mapping(m) => m,
            Value::Null => return,
            _ => {
                problems.push(doc.problem(&[], "an inventory file must be a mapping (`all: hosts: ...` or `plugin: yamlgroup`)"));
                return;
            }
        };
        if let Some(plugin) = top.get("plugin") {
            match plugin.as_str() {
                Some("yamlgroup") => yamlgroups.push(Arc::clone(doc)),
                _ => problems.push(
                    doc.problem(&["plugin".into()], "unsupported inventory plugin; certbridge reads YAML host files and `plugin: yamlgroup`")
                        .item(format!("plugin: {}", scalar_text(plugin))),
                ),
            }
            return;
        }
        for (name, body) in top {
            let Some(name) = name.as_str() else {
                problems.push(doc.problem(&[], "group names must be strings"));
                continue;
            };
            self.add_group(
                doc,
                &[Seg::Key(name.to_owned())],
                name,
                None,
                body,
                problems,
                0,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_group(
        &mut self,
        doc: &Arc<YamlDoc>,
        path: &[Seg],
        name: &str,
        parent: Option<&str>,
        body: &Value,
        problems: &mut Problems,
        depth: usize,
    ) {
        if depth > 64 {
            problems.push(
                doc.problem(path, "groups nested more than 64 deep")
                    .item(name),
            );
            return;
        }
        let group = self.group(name);
        if let Some(p) = parent
            && p != "all"
        {
            group.parents.insert(p.to_owned());
        }
        let body = match body {
            Value::Null => return,
            Value::Mapping(m) => m,
            _ => {
                problems.push(
                    doc.problem(
                        path,
                        "a group must be a mapping with `hosts`, `vars` or `children`",
                    )
                    .item(format!("group {name}")),
                );
                return;
            }
        };
        for (key, value) in body {
            let key = key.as_str().unwrap_or("?");
            let mut sub = path.to_vec();
            sub.push(Seg::Key(key.to_owned()));
            match key {
                "hosts" => self.add_hosts(doc, &sub, name, value, problems),
                "vars" => match value {
                    Value::Mapping(_) => self.group(name).vars.push(VarBlock {
                        doc: Arc::clone(doc),
                        path: sub,
                    }),
                    Value::Null => {}
                    _ => problems.push(
                        doc.problem(&sub, "`vars` must be a mapping")
                            .item(format!("group {name}")),
                    ),
                },
                "children" => match value {
                    Value::Mapping(children) => {
                        for (child, child_body) in children {
                            let Some(child) = child.as_str() else {
                                continue;
                            };
                            let mut cpath = sub.clone();
                            cpath.push(Seg::Key(child.to_owned()));
                            self.add_group(
                                doc,
                                &cpath,
                                child,
                                Some(name),
                                child_body,
                                problems,
                                depth + 1,
                            );
                        }
                    }
                    Value::Null => {}
                    _ => problems.push(
                        doc.problem(&sub, "`children` must be a mapping of group names")
                            .item(format!("group {name}")),
                    ),
                },
                other => problems.push(
                    doc.problem(
                        &sub,
                        format!(
                            "unknown key `{other}` in a group; expected hosts, vars or children"
                        ),
                    )
                    .item(format!("group {name}")),
                ),
            }
        }
    }

    fn add_hosts(
        &mut self,
        doc: &Arc<YamlDoc>,
        path: &YPath,
        group: &str,
        value: &Value,
        problems: &mut Problems,
    ) {
        let hosts = match value {
            Value::Mapping(m) => m,
            Value::Null => return,
            Value::Sequence(_) => {
                problems.push(
                    doc.problem(
                        path,
                        "`hosts` must be a mapping (`host.example.org:` with a colon), not a list",
                    )
                    .item(format!("group {group}")),
                );
                return;
            }
            _ => {
                problems.push(
                    doc.problem(path, "`hosts` must be a mapping")
                        .item(format!("group {group}")),
                );
                return;
            }
        };
        for (pattern, vars) in hosts {
            let Some(pattern) = pattern.as_str() else {
                problems.push(
                    doc.problem(path, "host names must be strings")
                        .item(format!("group {group}")),
                );
                continue;
            };
            let mut hpath = path.clone();
            hpath.push(Seg::Key(pattern.to_owned()));
            let names = match expand_range(pattern) {
                Ok(n) => n,
                Err(e) => {
                    problems.push(doc.problem(&hpath, e).item(pattern));
                    continue;
                }
            };
            if !matches!(vars, Value::Null | Value::Mapping(_)) {
                problems.push(
                    doc.problem(&hpath, "host variables must be a mapping (or nothing)")
                        .item(pattern),
                );
                continue;
            }
            for name in names {
                let blocks = self.hosts.entry(name.clone()).or_default();
                if vars.is_mapping() {
                    blocks.push(VarBlock {
                        doc: Arc::clone(doc),
                        path: hpath.clone(),
                    });
                }
                self.group(group).hosts.insert(name);
            }
        }
    }

    /// Apply a yamlgroup file: groups collect only hosts that exist.
    pub fn apply_yamlgroup(&mut self, doc: &YamlDoc, problems: &mut Problems) {
        let groups = match doc.value.get("groups") {
            Some(Value::Mapping(m)) => m,
            Some(Value::Null) | None => return,
            Some(_) => {
                problems.push(doc.problem(
                    &["groups".into()],
                    "`groups` must be a mapping of group name to pattern(s)",
                ));
                return;
            }
        };
        for (key, _) in doc.value.as_mapping().into_iter().flatten() {
            if !matches!(key.as_str(), Some("plugin" | "groups")) {
                let k = scalar_text(key);
                problems.push(
                    doc.problem(
                        &[Seg::Key(k.clone())],
                        "unknown key in a yamlgroup file; expected plugin and groups",
                    )
                    .item(k),
                );
            }
        }
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        for (group, patterns) in groups {
            let Some(group) = group.as_str() else {
                continue;
            };
            let gpath: YPath = vec!["groups".into(), Seg::Key(group.to_owned())];
            let items: Vec<(YPath, &Value)> = match patterns {
                Value::Sequence(seq) => seq
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let mut p = gpath.clone();
                        p.push(Seg::Index(i));
                        (p, v)
                    })
                    .collect(),
                Value::Null => Vec::new(),
                other => vec![(gpath.clone(), other)],
            };
            let mut members = BTreeSet::new();
            for (ipath, item) in items {
                // yamlgroup quirk: a mapping item counts as its first key.
                let item = match item {
                    Value::Mapping(m) => m.keys().next().unwrap_or(&Value::Null),
                    other => other,
                };
                let Some(text) = item.as_str() else {
                    problems.push(
                        doc.problem(&ipath, "a pattern must be a string")
                            .item(format!("group {group}")),
                    );
                    continue;
                };
                match HostPattern::new(text) {
                    Ok(p) => members.extend(names.iter().filter(|n| p.matches(n)).cloned()),
                    Err(e) => problems.push(doc.problem(&ipath, e).item(format!("group {group}"))),
                }
            }
            // Groups with no matching host are never created, as in yamlgroup.
            if !members.is_empty() {
                self.group(group).hosts.extend(members);
            }
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// Expand Ansible host ranges: `web[01:03].x` → web01, web02, web03;
/// `[a:c]` letters; `[1:9:2]` with a stride. Several ranges multiply.
pub fn expand_range(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_owned()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| i + open)
        .ok_or_else(|| format!("host range `{pattern}` has `[` without `]`"))?;
    let (head, spec, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || {
        format!("host range `[{spec}]` in `{pattern}` is not `[start:end]` or `[start:end:step]`")
    };
    if parts.len() < 2 || parts.len() > 3 {
        return Err(bad());
    }
    let step: usize = match parts.get(2) {
        Some(s) => s.parse().ok().filter(|s| *s > 0).ok_or_else(bad)?,
        None => 1,
    };
    let (start, end) = (parts[0], parts[1]);
    let mut items = Vec::new();
    if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        if a > b || b - a > 100_000 {
            return Err(bad());
        }
        let width = if start.len() > 1 && start.starts_with('0') {
            start.len()
        } else {
            0
        };
        let mut i = a;
        while i <= b {
            items.push(format!("{i:0width$}"));
            match i.checked_add(step as u64) {
                Some(next) => i = next,
                None => break,
            }
        }
    } else if start.len() == 1 && end.len() == 1 {
        let (a, b) = (start.as_bytes()[0], end.as_bytes()[0]);
        if !(a.is_ascii_lowercase() && b.is_ascii_lowercase()
            || a.is_ascii_uppercase() && b.is_ascii_uppercase())
            || a > b
        {
            return Err(bad());
        }
        items.extend((a..=b).step_by(step).map(|c| (c as char).to_string()));
    } else {
        return Err(bad());
    }
    let rest = expand_range(tail)?;
    if items.len().saturating_mul(rest.len()) > 100_000 {
        return Err(format!(
            "host range `{pattern}` expands to more than 100000 hosts"
        ));
    }
    let mut out = Vec::with_capacity(items.len() * rest.len());
    for item in &items {
        for r in &rest {
            out.push(format!("{head}{item}{r}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            expand_range("mirror[01:03].x.org").expect("range"),
            ["mirror01.x.org", "mirror02.x.org", "mirror03.x.org"]
        );
        assert_eq!(expand_range("n[a:c]").expect("letters"), ["na", "nb", "nc"]);
        assert_eq!(
            expand_range("h[1:5:2]").expect("stride"),
            ["h1", "h3", "h5"]
        );
        assert_eq!(expand_range("r[1:2]-[a:b]").expect("two").len(), 4);
        assert!(expand_range("bad[1:]").is_err());
        assert!(expand_range("bad[3:1]").is_err());
        assert!(expand_range("bad[1:2").is_err());
    }
}
