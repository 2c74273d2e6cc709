//! The certificates the fleet asks for, typed and validated.
//!
//! Reads `letsencrypt_certs` and the other `letsencrypt_*` variables of the
//! hosts in the configured group (minus excluded groups), checks every name
//! and key, and produces a [`Fleet`] sorted by host and key so that plans are
//! deterministic.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_yaml_ng::Value;

use super::domain::{
    check_address, check_cert_key, check_cert_name, check_host_name, check_user, split_port,
};
use super::vars::{HostVars, Var};
use super::{Host, Inventory};
use crate::config::Config;
use crate::diag::{Problem, Problems};
use crate::yaml::Seg;

/// A host that gets certificates.
#[derive(Debug, Clone, Serialize)]
pub struct FleetHost {
    /// Inventory name.
    pub name: String,
    /// `ansible_host`, or the name itself.
    pub address: String,
    /// `ansible_port`, if set.
    pub port: Option<u16>,
    /// `ansible_user`, if set.
    pub user: Option<String>,
    /// `letsencrypt_use_staging`.
    pub staging: bool,
    /// `letsencrypt_self_sign_only`.
    pub self_sign: bool,
    /// `letsencrypt_account_email`.
    pub account_email: Option<String>,
    /// `letsencrypt_certcheck_additional_domains` (`name port` lines).
    pub certcheck_additional: Vec<String>,
}

impl FleetHost {
    /// Read a host's connection and `letsencrypt_*` variables.
    pub fn from_host(host: &Host, problems: &mut Problems) -> FleetHost {
        let v = &host.vars;
        FleetHost {
            name: host.name.clone(),
            address: checked_var(v, "ansible_host", check_address, problems)
                .unwrap_or_else(|| host.name.clone()),
            port: port_var(v, problems),
            user: checked_var(v, "ansible_user", check_user, problems),
            staging: bool_var(v, "letsencrypt_use_staging", problems),
            self_sign: bool_var(v, "letsencrypt_self_sign_only", problems),
            account_email: string_var(v, "letsencrypt_account_email", problems),
            certcheck_additional: string_list(
                v,
                "letsencrypt_certcheck_additional_domains",
                problems,
            ),
        }
    }
}

/// One name of a certificate, with the `:port` suffix kept for certcheck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameEntry {
    /// The DNS name (may start with `*.`).
    pub name: String,
    /// The port written after it, if any.
    pub port: Option<u16>,
}

/// A certificate one host asks for.
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    /// Fleet-wide unique key; names the handler.
    pub key: String,
    /// The host it is for.
    pub host: String,
    /// Names in order; the first names the directory.
    pub names: Vec<NameEntry>,
}

impl Certificate {
    /// The first name (the directory name on the host).
    pub fn first(&self) -> &str {
        &self.names[0].name
    }

    /// The names without ports, in order.
    pub fn domains(&self) -> Vec<String> {
        self.names.iter().map(|n| n.name.clone()).collect()
    }

    /// The handler this certificate fires.
    pub fn handler(&self) -> String {
        format!("letsencrypt updated {}", self.key)
    }
}

/// Every in-scope host and certificate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fleet {
    /// Hosts by name.
    pub hosts: BTreeMap<String, FleetHost>,
    /// Certificates sorted by (host, key).
    pub certs: Vec<Certificate>,
}

impl Fleet {
    /// Build the fleet from the inventory; problems are pushed.
    pub fn from_inventory(inv: &Inventory, config: &Config, problems: &mut Problems) -> Fleet {
        let mut fleet = Fleet::default();
        if !inv.groups.contains_key(&config.group) {
            problems.push(
                Problem::error(&config.path, format!(
                    "group `{}` has no hosts in the inventory; check `group:` and the yamlgroup patterns",
                    config.group
                ))
                .item("group"),
            );
        }
        let mut seen_keys: BTreeMap<String, (String, Var)> = BTreeMap::new();
        for host in inv.select(&config.group, &config.exclude_groups) {
            let v = &host.vars;
            if let Err(e) = check_host_name(&host.name) {
                // The name's own line is not tracked; its certificates' is
                // where an operator looks, else the config's group.
                let problem = match v.get("letsencrypt_certs") {
                    Some(var) => var.problem(&[], e),
                    None => Problem::error(&config.path, e),
                };
                problems.push(problem.item(format!("host {}", host.name)));
                continue;
            }
            let fh = FleetHost::from_host(host, problems);
            for cert in certs_of(&host.name, v, problems) {
                let var = &v["letsencrypt_certs"];
                if let Some((other, _)) = seen_keys.get(&cert.key) {
                    problems.push(
                        var.problem(&[Seg::Key(cert.key.clone())], format!(
                            "certificate key is also used by {other}; keys must be unique across the fleet because they name handlers"
                        ))
                        .item(format!("{} {}", host.name, cert.key)),
                    );
                    continue;
                }
                seen_keys.insert(cert.key.clone(), (host.name.clone(), var.clone()));
                fleet.certs.push(cert);
            }
            fleet.hosts.insert(host.name.clone(), fh);
        }
        fleet
            .certs
            .sort_by(|a, b| (&a.host, &a.key).cmp(&(&b.host, &b.key)));
        fleet
    }

    /// The host a certificate belongs to.
    pub fn host(&self, name: &str) -> Option<&FleetHost> {
        self.hosts.get(name)
    }
}

fn certs_of(host: &str, vars: &HostVars, problems: &mut Problems) -> Vec<Certificate> {
    let Some(var) = vars.get("letsencrypt_certs") else {
        return Vec::new();
    };
    let map = match &var.value {
        Value::Mapping(m) => m,
        Value::Null => return Vec::new(),
        Value::Tagged(t) => {
            problems.push(
                var.problem(
                    &[],
                    format!(
                        "`{}`-tagged value cannot be read; write the certificates in plain YAML",
                        t.tag
                    ),
                )
                .item(host),
            );
            return Vec::new();
        }
        _ => {
            problems.push(
                var.problem(
                    &[],
                    "letsencrypt_certs must be a mapping of certificate key to a list of names",
                )
                .item(host),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (key, names) in map {
        let Some(key) = key.as_str() else {
            problems.push(
                var.problem(&[], "certificate keys must be strings")
                    .item(host),
            );
            continue;
        };
        let item = format!("{host} {key}");
        let kpath = [Seg::Key(key.to_owned())];
        if let Err(e) = check_cert_key(key) {
            problems.push(var.problem(&kpath, e).item(item));
            continue;
        }
        let list = match names {
            Value::Sequence(s) if !s.is_empty() => s,
            Value::Sequence(_) | Value::Null => {
                problems.push(
                    var.problem(&kpath, "empty certificate: list at least one name")
                        .item(item),
                );
                continue;
            }
            Value::String(_) => {
                problems.push(
                    var.problem(
                        &kpath,
                        "names must be a list (`- name`), not a single string",
                    )
                    .item(item),
                );
                continue;
            }
            _ => {
                problems.push(
                    var.problem(&kpath, "names must be a list of DNS names")
                        .item(item),
                );
                continue;
            }
        };
        let mut entries: Vec<NameEntry> = Vec::new();
        let mut ok = true;
        for (i, entry) in list.iter().enumerate() {
            let path = [Seg::Key(key.to_owned()), Seg::Index(i)];
            let Some(text) = entry.as_str() else {
                problems.push(
                    var.problem(&path, "a name must be a string")
                        .item(item.clone()),
                );
                ok = false;
                continue;
            };
            let checked = split_port(text).and_then(|(name, port)| {
                check_cert_name(name)?;
                Ok(NameEntry {
                    name: name.to_owned(),
                    port,
                })
            });
            match checked {
                Ok(e) if entries.iter().any(|x| x.name == e.name) => {
                    problems.push(
                        var.problem(&path, format!("`{}` is listed twice", e.name))
                            .item(item.clone()),
                    );
                    ok = false;
                }
                Ok(e) => entries.push(e),
                Err(e) => {
                    problems.push(var.problem(&path, e).item(item.clone()));
                    ok = false;
                }
            }
        }
        if entries.len() > 100 {
            problems.push(
                var.problem(
                    &kpath,
                    format!(
                        "{} names; ACME CAs accept at most 100 per certificate",
                        entries.len()
                    ),
                )
                .item(item.clone()),
            );
            ok = false;
        }
        if ok {
            out.push(Certificate {
                key: key.to_owned(),
                host: host.to_owned(),
                names: entries,
            });
        }
    }
    out
}

fn string_var(vars: &HostVars, key: &str, problems: &mut Problems) -> Option<String> {
    let var = vars.get(key)?;
    match &var.value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        _ => {
            problems.push(var.problem(&[], format!("{key} must be a string")));
            None
        }
    }
}

/// A string variable that must also pass `check`; a failing one is reported
/// and not used.
fn checked_var(
    vars: &HostVars,
    key: &str,
    check: fn(&str) -> Result<(), String>,
    problems: &mut Problems,
) -> Option<String> {
    let value = string_var(vars, key, problems)?;
    match check(&value) {
        Ok(()) => Some(value),
        Err(e) => {
            if let Some(var) = vars.get(key) {
                problems.push(var.problem(&[], format!("{key}: {e}")));
            }
            None
        }
    }
}

fn port_var(vars: &HostVars, problems: &mut Problems) -> Option<u16> {
    let var = vars.get("ansible_port")?;
    let port = match &var.value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    match port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0) {
        Some(p) => Some(p),
        None => {
            problems.push(var.problem(&[], "ansible_port must be a port number (1-65535)"));
            None
        }
    }
}

/// Ansible truthiness for the boolean flags.
fn bool_var(vars: &HostVars, key: &str, problems: &mut Problems) -> bool {
    let Some(var) = vars.get(key) else {
        return false;
    };
    match &var.value {
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::Number(n) => n.as_i64() == Some(1),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" => true,
            "no" | "false" | "off" | "0" | "n" | "" => false,
            _ => {
                problems.push(var.problem(&[], format!("{key} must be true or false")));
                false
            }
        },
        _ => {
            problems.push(var.problem(&[], format!("{key} must be true or false")));
            false
        }
    }
}

fn string_list(vars: &HostVars, key: &str, problems: &mut Problems) -> Vec<String> {
    let Some(var) = vars.get(key) else {
        return Vec::new();
    };
    match &var.value {
        Value::Sequence(s) => s
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v.as_str() {
                Some(t) => Some(t.to_owned()),
                None => {
                    problems.push(var.problem(
                        &[Seg::Index(i)],
                        format!("{key} items must be strings like `name port`"),
                    ));
                    None
                }
            })
            .collect(),
        Value::Null => Vec::new(),
        _ => {
            problems.push(var.problem(&[], format!("{key} must be a list")));
            Vec::new()
        }
    }
}
