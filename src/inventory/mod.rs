//! The fleet's Ansible inventory, read the way Ansible reads it.
//!
//! [`Inventory::load`] reads every source in order (YAML host files, then
//! yamlgroup files applied to the hosts that exist), resolves group
//! membership through `children`, and merges variables with Ansible's
//! precedence. [`fleet`] then turns the `letsencrypt_*` variables into typed
//! certificates. Every problem is collected, never just the first.

pub mod domain;
pub mod fleet;
pub mod pattern;
pub mod sources;
pub mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::Problems;
use crate::yaml::YamlDoc;
use sources::Declared;
use vars::{HostVars, VarsDir};

/// One host with its groups and merged variables.
#[derive(Debug, Clone)]
pub struct Host {
    /// Inventory name (usually the FQDN).
    pub name: String,
    /// Every group the host is in, including ancestors and `all`.
    pub groups: BTreeSet<String>,
    /// Merged variables.
    pub vars: HostVars,
}

/// Hosts and groups of the whole inventory.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Hosts by name.
    pub hosts: BTreeMap<String, Host>,
    /// Group name to every member host (transitively).
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

impl Inventory {
    /// Read the sources in order; problems are pushed, not returned.
    pub fn load(sources: &[PathBuf], problems: &mut Problems) -> Inventory {
        let mut declared = Declared::default();
        let mut yamlgroups = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for source in sources {
            match YamlDoc::load(source) {
                Ok(doc) => declared.add_source(&Arc::new(doc), &mut yamlgroups, problems),
                Err(p) => problems.push(p),
            }
            let dir = source.parent().unwrap_or(Path::new(".")).to_path_buf();
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        for doc in &yamlgroups {
            declared.apply_yamlgroup(doc, problems);
        }
        let vars_dirs: Vec<VarsDir> = dirs.iter().map(|d| VarsDir::load(d, problems)).collect();
        build(&declared, &vars_dirs, problems)
    }

    /// Hosts in `group`, minus hosts in any of `exclude`.
    pub fn select(&self, group: &str, exclude: &[String]) -> Vec<&Host> {
        let empty = BTreeSet::new();
        let members = self.groups.get(group).unwrap_or(&empty);
        members
            .iter()
            .filter_map(|h| self.hosts.get(h))
            .filter(|h| !exclude.iter().any(|g| h.groups.contains(g)))
            .collect()
    }
}

fn build(declared: &Declared, vars_dirs: &[VarsDir], problems: &mut Problems) -> Inventory {
    // Ancestors and depth of each group (`all` is depth 0, top level 1).
    let mut ancestors: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut memo: BTreeMap<String, usize> = BTreeMap::new();
    for name in declared.groups.keys() {
        let mut seen = BTreeSet::new();
        ancestors_of(declared, name, &mut seen);
        let d = depth_of(declared, name, &mut memo, &mut Vec::new());
        if seen.contains(name.as_str()) {
            problems.push(
                crate::diag::Problem::error(
                    Path::new("inventory"),
                    "group is its own ancestor through `children`",
                )
                .item(format!("group {name}")),
            );
        }
        depth.insert(name.as_str(), if name == "all" { 0 } else { d });
        ancestors.insert(name.as_str(), seen);
    }
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, decl) in &declared.groups {
        for host in &decl.hosts {
            groups.entry(name.clone()).or_default().insert(host.clone());
            for a in &ancestors[name.as_str()] {
                groups.entry(a.clone()).or_default().insert(host.clone());
            }
        }
    }
    groups.insert("all".into(), declared.hosts.keys().cloned().collect());

    let mut hosts = BTreeMap::new();
    for (name, inline) in &declared.hosts {
        let mut member: Vec<&str> = groups
            .iter()
            .filter(|(g, m)| g.as_str() != "all" && m.contains(name))
            .map(|(g, _)| g.as_str())
            .collect();
        member.sort_by_key(|g| (depth.get(g).copied().unwrap_or(1), *g));
        let mut merged = HostVars::new();
        // Inline group vars: all, then groups by depth and name.
        for g in std::iter::once("all").chain(member.iter().copied()) {
            if let Some(decl) = declared.groups.get(g) {
                for block in &decl.vars {
                    vars::apply(&mut merged, block);
                }
            }
        }
        for dir in vars_dirs {
            for doc in dir.group("all") {
                vars::apply(&mut merged, &vars::file_block(doc));
            }
        }
        for dir in vars_dirs {
            for g in &member {
                for doc in dir.group(g) {
                    vars::apply(&mut merged, &vars::file_block(doc));
                }
            }
        }
        for block in inline {
            vars::apply(&mut merged, block);
        }
        for dir in vars_dirs {
            for doc in dir.host(name) {
                vars::apply(&mut merged, &vars::file_block(doc));
            }
        }
        let mut all_groups: BTreeSet<String> = member.iter().map(|g| (*g).to_owned()).collect();
        all_groups.insert("all".into());
        hosts.insert(
            name.clone(),
            Host {
                name: name.clone(),
                groups: all_groups,
                vars: merged,
            },
        );
    }
    Inventory { hosts, groups }
}

/// Collect every ancestor of `name` into `seen` (cycles stop the walk).
fn ancestors_of(declared: &Declared, name: &str, seen: &mut BTreeSet<String>) {
    let Some(decl) = declared.groups.get(name) else {
        return;
    };
    for p in &decl.parents {
        if seen.insert(p.clone()) {
            ancestors_of(declared, p, seen);
        }
    }
}

/// A group's depth: one more than its deepest parent (top level is 1), so a
/// group reached by a long and a short path gets the long one, as in
/// Ansible. Memoized; a cycle (reported elsewhere) counts as depth 1.
fn depth_of(
    declared: &Declared,
    name: &str,
    memo: &mut BTreeMap<String, usize>,
    visiting: &mut Vec<String>,
) -> usize {
    if let Some(d) = memo.get(name) {
        return *d;
    }
    let Some(decl) = declared.groups.get(name) else {
        return 1;
    };
    if visiting.iter().any(|v| v == name) || visiting.len() > 64 {
        return 1;
    }
    visiting.push(name.to_owned());
    let d = decl
        .parents
        .iter()
        .map(|p| 1 + depth_of(declared, p, memo, visiting))
        .max()
        .unwrap_or(1);
    visiting.pop();
    memo.insert(name.to_owned(), d);
    d
}

#[cfg(test)]
mod tests;
