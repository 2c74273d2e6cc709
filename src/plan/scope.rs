//! Which hosts and certificates a command works on: `--limit` (Ansible-style
//! host patterns) and `--cert`.
//!
//! `--limit` items are comma- or colon-separated; each is a group name, a
//! whole-name glob, or a `^regex` (as yamlgroup reads them); `!item` removes
//! and `&item` intersects, as in Ansible. An item that matches nothing is an
//! input error: a typo must never silently turn into "nothing to do".

use std::collections::BTreeSet;

use crate::diag::Problem;
use crate::inventory::Inventory;
use crate::inventory::fleet::Fleet;
use crate::inventory::pattern::HostPattern;

/// Resolve `--limit` and `--cert` to the in-scope (host, cert key) set.
pub fn resolve(
    inv: &Inventory,
    fleet: &Fleet,
    limit: Option<&str>,
    certs: &[String],
) -> Result<Scope, Vec<Problem>> {
    let mut problems = Vec::new();
    let all: BTreeSet<String> = fleet.hosts.keys().cloned().collect();
    let hosts = match limit {
        None => all,
        Some(text) => {
            let mut included: Option<BTreeSet<String>> = None;
            let mut excluded = BTreeSet::new();
            let mut intersect: Vec<BTreeSet<String>> = Vec::new();
            for raw in text
                .split(if text.contains(',') { ',' } else { ':' })
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                let (mode, item) = match raw.as_bytes()[0] {
                    b'!' => ('!', &raw[1..]),
                    b'&' => ('&', &raw[1..]),
                    _ => ('+', raw),
                };
                let matched = match match_item(inv, &all, item) {
                    Ok(m) => m,
                    Err(e) => {
                        problems.push(Problem::usage("--limit", e));
                        continue;
                    }
                };
                if matched.is_empty() && mode != '!' {
                    problems.push(Problem::usage(
                        "--limit",
                        format!(
                            "`{item}` matches none of the {} host(s) that get certificates",
                            fleet.hosts.len()
                        ),
                    ));
                }
                match mode {
                    '!' => excluded.extend(matched),
                    '&' => intersect.push(matched),
                    _ => included.get_or_insert_with(BTreeSet::new).extend(matched),
                }
            }
            let mut set = included.unwrap_or_else(|| all.clone());
            for i in intersect {
                set.retain(|h| i.contains(h));
            }
            set.retain(|h| !excluded.contains(h));
            set
        }
    };
    let keys: BTreeSet<String> = fleet.certs.iter().map(|c| c.key.clone()).collect();
    for key in certs {
        if !keys.contains(key) {
            problems.push(Problem::usage(
                "--cert",
                format!("no certificate in the fleet has key `{key}`"),
            ));
        } else if let Some(c) = fleet.certs.iter().find(|c| &c.key == key)
            && !hosts.contains(&c.host)
        {
            problems.push(Problem::usage(
                "--cert",
                format!("`{key}` belongs to {}, which --limit leaves out", c.host),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Scope {
        hosts,
        certs: certs.iter().cloned().collect(),
    })
}

fn match_item(
    inv: &Inventory,
    hosts: &BTreeSet<String>,
    item: &str,
) -> Result<BTreeSet<String>, String> {
    if let Some(members) = inv.groups.get(item) {
        return Ok(members
            .iter()
            .filter(|h| hosts.contains(*h))
            .cloned()
            .collect());
    }
    let pattern = HostPattern::new(item)?;
    Ok(hosts
        .iter()
        .filter(|h| pattern.matches(h))
        .cloned()
        .collect())
}

/// The resolved scope of a command.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Hosts in scope.
    pub hosts: BTreeSet<String>,
    /// When non-empty, only these certificate keys.
    pub certs: BTreeSet<String>,
}

impl Scope {
    /// Is (host, key) in scope?
    pub fn contains(&self, host: &str, key: &str) -> bool {
        self.hosts.contains(host) && (self.certs.is_empty() || self.certs.contains(key))
    }
}
