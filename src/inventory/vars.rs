//! `group_vars/` and `host_vars/` beside each inventory source, merged with
//! Ansible's precedence (hash_behaviour = replace, so later layers replace
//! whole top-level keys):
//!
//! inline group vars (by depth, then name) < `group_vars/all` <
//! `group_vars/<group>` (per source, groups by depth then name) <
//! inline host vars < `host_vars/<host>`.
//!
//! A vars entry may be `<name>.yaml`, `<name>.yml`, `<name>.json`, a file
//! named `<name>`, or a folder `<name>/` whose files are read in name order.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml_ng::Value;

use super::sources::VarBlock;
use crate::diag::{Problem, Problems};
use crate::yaml::{Seg, YamlDoc};

/// A variable's value and the file and key it came from.
#[derive(Debug, Clone)]
pub struct Var {
    /// The value (tags such as `!vault` kept).
    pub value: Value,
    /// Where the winning definition was written.
    pub origin: VarBlock,
    /// The key name.
    pub key: String,
}

impl Var {
    /// A problem about this variable, or about `sub` inside it.
    pub fn problem(&self, sub: &[Seg], message: impl Into<String>) -> Problem {
        let mut path = self.origin.path.clone();
        path.push(Seg::Key(self.key.clone()));
        path.extend_from_slice(sub);
        self.origin.doc.problem(&path, message)
    }
}

/// Merged variables of one host.
pub type HostVars = BTreeMap<String, Var>;

/// The vars files found beside one inventory source.
#[derive(Debug, Default)]
pub struct VarsDir {
    groups: HashMap<String, Vec<Arc<YamlDoc>>>,
    hosts: HashMap<String, Vec<Arc<YamlDoc>>>,
}

impl VarsDir {
    /// Read `group_vars/` and `host_vars/` under `dir`.
    pub fn load(dir: &Path, problems: &mut Problems) -> VarsDir {
        VarsDir {
            groups: load_entries(&dir.join("group_vars"), problems),
            hosts: load_entries(&dir.join("host_vars"), problems),
        }
    }

    /// Files for group `name`, in read order.
    pub fn group(&self, name: &str) -> &[Arc<YamlDoc>] {
        self.groups.get(name).map_or(&[], Vec::as_slice)
    }

    /// Files for host `name`, in read order.
    pub fn host(&self, name: &str) -> &[Arc<YamlDoc>] {
        self.hosts.get(name).map_or(&[], Vec::as_slice)
    }
}

fn load_entries(dir: &Path, problems: &mut Problems) -> HashMap<String, Vec<Arc<YamlDoc>>> {
    let mut out: HashMap<String, Vec<Arc<YamlDoc>>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            for f in files.into_iter().filter(|f| f.is_file() && is_vars_file(f)) {
                if let Some(doc) = load_vars_file(&f, problems) {
                    out.entry(file_name.to_owned()).or_default().push(doc);
                }
            }
        } else if is_vars_file(&path) {
            let name = match path.extension().and_then(|e| e.to_str()) {
                Some("yaml" | "yml" | "json") => path.file_stem().and_then(|s| s.to_str()),
                _ => Some(file_name),
            };
            if let (Some(name), Some(doc)) = (name, load_vars_file(&path, problems)) {
                out.entry(name.to_owned()).or_default().push(doc);
            }
        }
    }
    out
}

fn is_vars_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml" | "json") | None => true,
        // `group_vars/mirror.opendev.org` style names have dots but no
        // YAML extension; Ansible reads them, and so do we.
        Some(ext) => !matches!(ext, "md" | "txt" | "orig" | "rej" | "swp" | "bak"),
    }
}

fn load_vars_file(path: &Path, problems: &mut Problems) -> Option<Arc<YamlDoc>> {
    match YamlDoc::load(path) {
        Ok(doc) => match &doc.value {
            Value::Mapping(_) => Some(Arc::new(doc)),
            Value::Null => None,
            _ => {
                problems.push(doc.problem(
                    &[],
                    "a vars file must be a mapping of variable names to values",
                ));
                None
            }
        },
        Err(p) => {
            problems.push(p);
            None
        }
    }
}

/// Layer `block`'s keys over `into`.
pub fn apply(into: &mut HostVars, block: &VarBlock) {
    if let Some(map) = block.mapping() {
        for (k, v) in map {
            if let Some(key) = k.as_str() {
                into.insert(
                    key.to_owned(),
                    Var {
                        value: v.clone(),
                        origin: block.clone(),
                        key: key.to_owned(),
                    },
                );
            }
        }
    }
}

/// A whole vars file as a block.
pub fn file_block(doc: &Arc<YamlDoc>) -> VarBlock {
    VarBlock {
        doc: Arc::clone(doc),
        path: Vec::new(),
    }
}
