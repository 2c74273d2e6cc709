//! `check --dns`: a live, read-only lint of the DNS a pulse relies on, run
//! before the first order. It asks the configured resolver and the signing
//! zone's authoritative servers (never the CA, never a write) and reports
//! every problem as a [`Finding`] naming the record to add or fix:
//!
//! 1. every `_acme-challenge.<name>` is a CNAME into the signing zone;
//! 2. every authoritative server answers for the zone, on one serial;
//! 3. CAA along each name's tree lets the CA, the stored account and DNS-01
//!    issue (RFC 8659, RFC 8657), with a suggested pinning record;
//! 4. no TXT owner gets more values than one UDP answer holds.

pub mod caa;
pub mod findings;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use self::caa::{Caa, Request};
use self::findings::{Ca, CaaSeen, SoaSeen};
use crate::config::Config;
use crate::dns::client::{
    DnsClient, DnsError, RData, RecordType, ResponseCode, error_chain, normalize, parse_server,
    rcode_name, system_resolver,
};
use crate::dns::{owners, propagation};
use crate::inventory::fleet::Fleet;

/// Time allowed for one lookup.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Lookups in flight at once.
const CONCURRENCY: usize = 32;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A pulse would fail for this name or zone.
    Error,
    /// A pulse works, but slower or less robustly than it should.
    Warning,
    /// A suggestion (a CAA record that pins issuance).
    Info,
}

impl Severity {
    /// The word printed for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One problem or suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// The certificate name, zone or TXT owner it is about.
    pub name: String,
    /// The record concerned: owner and type, e.g. `example.org. CAA`.
    pub record: String,
    /// What is wrong and what to do, with the exact record.
    pub message: String,
    /// The record to add or change it to, in zone-file form, when there is one.
    pub fix: Option<String>,
}

/// Run every check for the fleet's ACME names (self-signed hosts need no
/// DNS). Findings come sorted: errors first, then by name.
pub async fn run(config: &Config, fleet: &Fleet) -> Vec<Finding> {
    let zone = normalize(&config.dns.zone);
    let mut out = Vec::new();
    let resolver = match resolver(config).await {
        Ok(r) => Some(r),
        Err(message) => {
            out.push(zone_error(&zone, "dns.resolver", message));
            None
        }
    };
    let resolver = match resolver {
        Some(r) => probe_resolver(r, &zone).await.map_or_else(
            |message| {
                out.push(zone_error(&zone, "dns.resolver", message));
                None
            },
            |()| Some(r),
        ),
        None => None,
    };
    out.extend(check_servers(config, &zone, resolver).await);
    if let Some(resolver) = resolver {
        let uses = name_uses(config, fleet);
        out.extend(check_cnames(&zone, resolver, &uses).await);
        out.extend(check_caa(config, resolver, &uses).await);
    }
    out.sort_by(|a, b| (a.severity, &a.name, &a.record).cmp(&(b.severity, &b.name, &b.record)));
    out
}

fn zone_error(zone: &str, record: &str, message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        name: zone.to_owned(),
        record: record.to_owned(),
        message,
        fix: None,
    }
}

/// One certificate name and the directory it is ordered from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct NameUse {
    name: String,
    directory: String,
}

fn name_uses(config: &Config, fleet: &Fleet) -> Vec<NameUse> {
    let mut uses = Vec::new();
    for cert in &fleet.certs {
        let Some(host) = fleet.hosts.get(&cert.host) else {
            continue;
        };
        if host.self_sign {
            continue;
        }
        let directory = if host.staging {
            &config.acme.staging_directory
        } else {
            &config.acme.directory
        };
        for n in &cert.names {
            uses.push(NameUse {
                name: normalize(&n.name),
                directory: directory.clone(),
            });
        }
    }
    uses
}

async fn resolver(config: &Config) -> Result<SocketAddr, String> {
    match &config.dns.resolver {
        Some(text) => parse_server(text, 53)
            .await
            .map_err(|e| format!("dns.resolver `{text}`: {}", error_chain(&e))),
        None => system_resolver().map_err(|e| format!("system resolver: {}", error_chain(&e))),
    }
}

/// One question first, so a dead resolver is one finding, not one per name.
async fn probe_resolver(resolver: SocketAddr, zone: &str) -> Result<(), String> {
    let why = |what: String| {
        format!(
            "resolver {resolver} {what}; certbridge follows every _acme-challenge CNAME through \
             it: set dns.resolver to a resolver that answers this host"
        )
    };
    match DnsClient::query(resolver, zone, RecordType::SOA, true, TIMEOUT).await {
        Ok(a) if a.response_code == ResponseCode::Refused => {
            Err(why("refuses recursive queries".into()))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(why(format!("does not answer ({})", error_chain(&e)))),
    }
}

async fn check_servers(config: &Config, zone: &str, resolver: Option<SocketAddr>) -> Vec<Finding> {
    let Some(resolver) = resolver.or_else(|| {
        // Configured servers need no resolver; the NS set does.
        (!config.dns.nameservers.is_empty()).then(|| SocketAddr::from(([127, 0, 0, 1], 53)))
    }) else {
        return Vec::new();
    };
    let servers =
        match propagation::authoritative_servers(&config.dns.nameservers, zone, resolver, TIMEOUT)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                return vec![zone_error(
                    zone,
                    &format!("{zone}. NS"),
                    format!(
                        "cannot find the authoritative servers of {zone}: {}",
                        error_chain(&e)
                    ),
                )];
            }
        };
    let seen = futures::future::join_all(servers.iter().map(|s| async move {
        let seen = match DnsClient::query(s.addr, zone, RecordType::SOA, false, TIMEOUT).await {
            Err(DnsError::Timeout { timeout, .. }) => {
                SoaSeen::Problem(format!("does not answer {zone} SOA within {timeout:?}"))
            }
            Err(e) => SoaSeen::Problem(format!("cannot be asked: {}", error_chain(&e))),
            Ok(a) if a.response_code != ResponseCode::NoError => SoaSeen::Problem(format!(
                "answers {} for {zone} SOA: it does not serve the zone",
                rcode_name(a.response_code)
            )),
            Ok(a) if !a.authoritative => SoaSeen::Problem(format!(
                "answers {zone} SOA without the AA flag: it is not authoritative (a lame delegation?)"
            )),
            Ok(a) => a
                .at(zone)
                .find_map(|d| match d {
                    RData::Soa { serial, .. } => Some(SoaSeen::Serial(*serial)),
                    _ => None,
                })
                .unwrap_or_else(|| SoaSeen::Problem(format!("sends no SOA record for {zone}"))),
        };
        (s.to_string(), seen)
    }))
    .await;
    findings::servers(zone, &seen)
}

async fn check_cnames(zone: &str, resolver: SocketAddr, uses: &[NameUse]) -> Vec<Finding> {
    // A name and its wildcard share one challenge name: one finding.
    let mut by_challenge: BTreeMap<String, String> = BTreeMap::new();
    for u in uses {
        let entry = by_challenge
            .entry(owners::challenge_name(&u.name))
            .or_insert_with(|| u.name.clone());
        if entry.starts_with("*.") {
            entry.clone_from(&u.name);
        }
    }
    let names: Vec<String> = by_challenge.values().cloned().collect();
    let resolved = owners::resolve_owners(resolver, zone, &names, TIMEOUT).await;
    let mut out = Vec::new();
    for (name, r) in &resolved {
        if let Err(e) = r {
            out.push(findings::cname(name, zone, e));
        }
    }
    // Every (certificate, name) is one value at its owner.
    let mut per_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in uses {
        let challenge = owners::challenge_name(&u.name);
        let Some(Ok(owner)) = by_challenge.get(&challenge).and_then(|n| resolved.get(n)) else {
            continue;
        };
        per_owner
            .entry(owner.fqdn.clone())
            .or_default()
            .push(u.name.clone());
    }
    out.extend(findings::crowding(zone, &per_owner));
    out
}

/// `name` (wildcard stripped) and each parent down to the last two labels:
/// a TLD holds no CAA, and asking for one would send the resolver to the
/// root for nothing.
fn tree(name: &str) -> Vec<String> {
    let labels: Vec<&str> = name.trim_start_matches("*.").split('.').collect();
    let keep = labels.len().saturating_sub(1).max(1);
    (0..keep).map(|i| labels[i..].join(".")).collect()
}

async fn lookup_caa(resolver: SocketAddr, node: &str) -> Result<Vec<Caa>, String> {
    let a = DnsClient::query(resolver, node, RecordType::CAA, true, TIMEOUT)
        .await
        .map_err(|e| format!("at resolver {resolver} failed: {}", error_chain(&e)))?;
    match a.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        other => {
            return Err(format!(
                "answers {} at resolver {resolver}",
                rcode_name(other)
            ));
        }
    }
    // A CNAME is followed by the resolver: the target's records count for
    // this node (RFC 8659 3), whatever their owner name.
    Ok(a.answers
        .into_iter()
        .filter_map(|rr| match rr.data {
            RData::Caa { flags, tag, value } => Some(Caa { flags, tag, value }),
            _ => None,
        })
        .collect())
}

/// The stored account URI for `directory` (instant-acme's credentials keep
/// it as `id`); `None` when no account was created yet.
fn stored_account(state_dir: &Path, directory: &str) -> Option<String> {
    let path = state_dir.join(crate::acme::account::account_path(directory));
    let text = std::fs::read_to_string(path).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    doc.get("id")?.as_str().map(str::to_owned)
}

async fn check_caa(config: &Config, resolver: SocketAddr, uses: &[NameUse]) -> Vec<Finding> {
    let pairs: BTreeSet<(String, String)> = uses
        .iter()
        .map(|u| (u.directory.clone(), u.name.clone()))
        .collect();
    let nodes: BTreeSet<String> = pairs.iter().flat_map(|(_, n)| tree(n)).collect();
    let found: BTreeMap<String, Result<Vec<Caa>, String>> = futures::stream::iter(nodes)
        .map(|node| async move {
            let r = lookup_caa(resolver, &node).await;
            (node, r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut by_dir: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (dir, name) in pairs {
        by_dir.entry(dir).or_default().push(name);
    }
    let mut out = Vec::new();
    for (directory, names) in by_dir {
        let identities: Vec<String> = if config.acme.caa_identities.is_empty() {
            caa::known_identity(&directory)
                .map(str::to_owned)
                .into_iter()
                .collect()
        } else {
            config.acme.caa_identities.clone()
        };
        let account = stored_account(&config.state_dir, &directory);
        let ca = Ca {
            directory: &directory,
            identity: identities.first().map(String::as_str),
            account: account.as_deref(),
        };
        let mut seen = Vec::new();
        for name in names {
            let s = judge(&name, &identities, account.as_deref(), &found);
            out.extend(findings::caa(&name, &ca, &s));
            seen.push((name, s));
        }
        out.extend(findings::caa_suggestions(&ca, &seen));
        if identities.is_empty() {
            out.push(Finding {
                severity: Severity::Warning,
                name: directory.clone(),
                record: "acme.caa_identities".into(),
                message: format!(
                    "certbridge does not know the CAA issuer domain of {directory}, so it cannot \
                     check CAA records against it: set acme.caa_identities (the directory's \
                     meta.caaIdentities)"
                ),
                fix: None,
            });
        }
    }
    out
}

fn judge(
    name: &str,
    identities: &[String],
    account: Option<&str>,
    found: &BTreeMap<String, Result<Vec<Caa>, String>>,
) -> CaaSeen {
    let mut walked = Vec::new();
    for node in tree(name) {
        match found.get(&node) {
            Some(Ok(records)) => walked.push((node, records.clone())),
            Some(Err(why)) => {
                return CaaSeen::Failed {
                    node,
                    why: why.clone(),
                };
            }
            None => break,
        }
    }
    let top = walked.last().map(|(n, _)| n.clone()).unwrap_or_default();
    let relevant = caa::relevant(&walked).map(|(n, r)| (n.to_owned(), r.to_vec()));
    let req = Request {
        name,
        identities,
        account,
    };
    let verdict = caa::evaluate(&req, relevant.as_ref().map_or(&[], |(_, r)| r));
    CaaSeen::Judged {
        relevant,
        verdict,
        top,
    }
}

/// Human form: one line per finding, `severity name: message`.
pub fn human(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!(
            "{:<7} {}: {}\n",
            f.severity.as_str(),
            f.name,
            f.message
        ));
    }
    let count = |sev| findings.iter().filter(|f| f.severity == sev).count();
    s.push_str(&format!(
        "DNS: {} error(s), {} warning(s), {} suggestion(s).\n",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_stop_above_the_tld() {
        assert_eq!(
            tree("a.b.example.org"),
            ["a.b.example.org", "b.example.org", "example.org"]
        );
        assert_eq!(
            tree("*.zuul.opendev.org"),
            ["zuul.opendev.org", "opendev.org"]
        );
        assert_eq!(tree("opendev.org"), ["opendev.org"]);
        assert_eq!(tree("localhost"), ["localhost"]);
    }

    #[test]
    fn human_lines_and_totals() {
        let f = Finding {
            severity: Severity::Error,
            name: "www.example.org".into(),
            record: "_acme-challenge.www.example.org. CNAME".into(),
            message: "boom".into(),
            fix: None,
        };
        assert_eq!(
            human(&[f]),
            "error   www.example.org: boom\nDNS: 1 error(s), 0 warning(s), 0 suggestion(s).\n"
        );
        assert!(Severity::Error < Severity::Warning && Severity::Warning < Severity::Info);
    }

    #[test]
    fn stored_account_reads_the_credentials_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = "https://127.0.0.1:14000/dir";
        assert_eq!(stored_account(dir.path(), d), None);
        let path = dir.path().join(crate::acme::account::account_path(d));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(
            &path,
            r#"{"id": "https://127.0.0.1:14000/my-account/7", "key_pkcs8": "x"}"#,
        )
        .expect("write");
        assert_eq!(
            stored_account(dir.path(), d).as_deref(),
            Some("https://127.0.0.1:14000/my-account/7")
        );
    }
}
