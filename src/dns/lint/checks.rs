//! The lookups behind `check --dns`: SOA at each authoritative server,
//! the challenge CNAMEs (through [`owners`], as a pulse follows them) and
//! CAA up each name's tree. Each gathers what it saw and hands it to
//! [`findings`] for the wording.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

use futures::StreamExt;

use super::caa::{self, Caa, Request};
use super::findings::{self, Ca, CaaSeen, SoaSeen};
use super::{CONCURRENCY, Finding, NameUse, Severity, TIMEOUT, zone_error};
use crate::config::Config;
use crate::dns::client::{
    DnsClient, DnsError, RData, RecordType, ResponseCode, error_chain, rcode_name,
};
use crate::dns::{owners, propagation};

pub(super) async fn check_servers(
    config: &Config,
    zone: &str,
    resolver: Option<SocketAddr>,
) -> Vec<Finding> {
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

pub(super) async fn check_cnames(
    zone: &str,
    resolver: SocketAddr,
    uses: &[NameUse],
    limit: usize,
) -> Vec<Finding> {
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
    out.extend(findings::crowding(zone, &per_owner, limit));
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

pub(super) async fn check_caa(
    config: &Config,
    resolver: SocketAddr,
    uses: &[NameUse],
) -> Vec<Finding> {
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
