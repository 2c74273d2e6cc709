//! The text of every `check --dns` finding: what is wrong, and the exact
//! record to add or change. Pure functions of what the lookups saw, so the
//! wording is tested without a DNS server.

use std::collections::BTreeMap;

use super::caa::{self, Caa, Verdict};
use super::{Finding, Severity};
use crate::dns::batch;
use crate::dns::owners::{OwnerError, challenge_name};

/// The per-name label a challenge CNAME should point at: `<base>.<zone>`
/// (a wildcard shares its base name's label).
pub fn label_target(name: &str, zone: &str) -> String {
    let base = name.trim_start_matches("*.");
    format!("{base}.{zone}")
}

fn cname_record(name: &str, zone: &str) -> String {
    format!(
        "{}. CNAME {}.",
        challenge_name(name),
        label_target(name, zone)
    )
}

/// The finding for a name whose `_acme-challenge` CNAME does not lead into
/// the signing zone.
pub fn cname(name: &str, zone: &str, err: &OwnerError) -> Finding {
    let challenge = challenge_name(name);
    let want = cname_record(name, zone);
    let (message, fix) = match err {
        OwnerError::NoSuchName { .. } => (
            format!("{challenge} does not exist; add `{want}`"),
            Some(want),
        ),
        OwnerError::NoCname { .. } => (
            format!(
                "{challenge} exists but is no CNAME (a TXT record left from acme.sh?); \
                 replace its records with `{want}`"
            ),
            Some(want),
        ),
        OwnerError::OutsideZone { target, chain, .. } => {
            let first = chain.get(1).unwrap_or(target);
            let ends = if first == target {
                String::new()
            } else {
                format!(" (the chain ends at {target}.)")
            };
            (
                format!(
                    "{challenge} is a CNAME to {first}.{ends}, outside the signing zone {zone}; \
                     change it to `{want}`"
                ),
                Some(want),
            )
        }
        OwnerError::Loop { chain, .. } | OwnerError::TooLong { chain, .. } => (
            format!(
                "{challenge} never reaches the signing zone ({}); replace it with `{want}`",
                chain.join(" -> ")
            ),
            Some(want),
        ),
        other => (
            format!(
                "cannot follow {challenge}: {}",
                crate::dns::client::error_chain(other)
            ),
            None,
        ),
    };
    Finding {
        severity: Severity::Error,
        name: name.to_owned(),
        record: format!("{challenge}. CNAME"),
        message,
        fix,
    }
}

/// What one authoritative server answered for the zone's SOA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoaSeen {
    /// An authoritative answer with this serial.
    Serial(u32),
    /// Anything else, said as a sentence fragment.
    Problem(String),
}

/// Findings about the signing zone's authoritative servers: each must
/// answer for the zone, and they should agree on the serial.
pub fn servers(zone: &str, seen: &[(String, SoaSeen)]) -> Vec<Finding> {
    let mut out = Vec::new();
    let record = format!("{zone}. SOA");
    for (server, s) in seen {
        if let SoaSeen::Problem(why) = s {
            out.push(Finding {
                severity: Severity::Error,
                name: zone.to_owned(),
                record: record.clone(),
                message: format!(
                    "authoritative server {server} {why}; every pulse waits for each server, \
                     so its orders would fail (fix the server, or list only the servers that \
                     serve {zone} in dns.nameservers)"
                ),
                fix: None,
            });
        }
    }
    let serials: BTreeMap<u32, Vec<&str>> =
        seen.iter().fold(BTreeMap::new(), |mut m, (server, s)| {
            if let SoaSeen::Serial(v) = s {
                m.entry(*v).or_insert_with(Vec::new).push(server.as_str());
            }
            m
        });
    if serials.len() > 1 {
        let list: Vec<String> = serials
            .iter()
            .map(|(serial, servers)| format!("{serial} at {}", servers.join(", ")))
            .collect();
        out.push(Finding {
            severity: Severity::Warning,
            name: zone.to_owned(),
            record,
            message: format!(
                "the authoritative servers disagree on the serial ({}): a secondary is not \
                 transferring from the primary (check NOTIFY, allow-transfer and its refresh); \
                 a pulse would wait for it until dns.propagation_timeout",
                list.join("; ")
            ),
            fix: None,
        });
    }
    out
}

/// Warnings for TXT owners that would carry more values than an answer of
/// `limit` bytes (`dns.txt_answer_limit`) holds when every certificate is
/// due at once. `owners` maps each owner to the names that put a value
/// there (one entry per value).
pub fn crowding(zone: &str, owners: &BTreeMap<String, Vec<String>>, limit: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    for (owner, names) in owners {
        let n = names.len();
        let room = batch::values_within(owner, limit);
        if n <= room {
            continue;
        }
        let size = batch::txt_response_size(owner, n);
        let example = names
            .iter()
            .find(|x| !x.starts_with("*."))
            .unwrap_or(&names[0]);
        out.push(Finding {
            severity: Severity::Warning,
            name: owner.clone(),
            record: format!("{owner}. TXT"),
            message: format!(
                "{n} names put their DNS-01 value at {owner} when every certificate is due at \
                 once (first pulse, --force): an answer of about {size} bytes, over the \
                 {limit}-byte limit (dns.txt_answer_limit), which holds {room}; a pulse \
                 publishes them in at least {} zone updates, each with its own propagation wait. Give \
                 names their own labels, e.g. `{}`",
                n.div_ceil(room),
                cname_record(example, zone)
            ),
            fix: Some(cname_record(example, zone)),
        });
    }
    out
}

/// What the CAA lookups found for one name.
#[derive(Debug, Clone)]
pub enum CaaSeen {
    /// A lookup on the way up failed.
    Failed {
        /// The node whose lookup failed.
        node: String,
        /// Why, as a sentence fragment.
        why: String,
    },
    /// The relevant RRset (none when no node has CAA records) and verdict.
    Judged {
        /// Node and records of the relevant RRset.
        relevant: Option<(String, Vec<Caa>)>,
        /// The CA's decision.
        verdict: Verdict,
        /// The topmost node looked at (where a new record would go).
        top: String,
    },
}

/// The CA a name is ordered from.
#[derive(Debug, Clone)]
pub struct Ca<'a> {
    /// Directory URL.
    pub directory: &'a str,
    /// Its first CAA identity, if known.
    pub identity: Option<&'a str>,
    /// The stored account URI, if any.
    pub account: Option<&'a str>,
}

/// The error or warning for one name's CAA, if any (suggestions are made
/// per node by [`caa_suggestions`]).
pub fn caa(name: &str, ca: &Ca<'_>, seen: &CaaSeen) -> Option<Finding> {
    let (node, records, verdict) = match seen {
        CaaSeen::Failed { node, why } => {
            return Some(Finding {
                severity: Severity::Error,
                name: name.to_owned(),
                record: format!("{node}. CAA"),
                message: format!(
                    "the CAA lookup for {node} {why}; the CA refuses to issue when it cannot \
                     check CAA"
                ),
                fix: None,
            });
        }
        CaaSeen::Judged {
            relevant: Some((node, records)),
            verdict,
            ..
        } => (node, records, verdict),
        CaaSeen::Judged { .. } => return None,
    };
    let shown: Vec<String> = records
        .iter()
        .map(|c| format!("`{node}. CAA {}`", c.presentation()))
        .collect();
    let shown = shown.join(", ");
    let fix = ca
        .identity
        .map(|id| caa::suggested_record(node, id, ca.account));
    let add = fix
        .as_deref()
        .map_or(String::new(), |f| format!("; add `{f}`"));
    let (severity, message) = match verdict {
        Verdict::Open | Verdict::Allowed { .. } => return None,
        Verdict::Unknown { issuers } => (
            Severity::Warning,
            format!(
                "CAA at {node} allows only {} ({shown}); certbridge cannot tell whether {} is \
                 one of them: set acme.caa_identities",
                list_or_none(issuers),
                ca.directory
            ),
        ),
        Verdict::Critical { tag } => (
            Severity::Error,
            format!(
                "CAA at {node} has the unknown property `{tag}` marked critical ({shown}); \
                 every CA must refuse: remove that record or its critical flag (128)"
            ),
        ),
        Verdict::OtherIssuers { issuers } => (
            Severity::Error,
            format!(
                "CAA at {node} allows only {} ({shown}), not {}: the CA will refuse{add}",
                list_or_none(issuers),
                ca.identity.unwrap_or("this CA")
            ),
        ),
        Verdict::WrongAccount { allowed } => {
            let ours = ca.account.map_or_else(
                || format!("certbridge has no account for {} yet, and the one its first pulse creates will have a new URI", ca.directory),
                |a| format!("certbridge's account is {a}"),
            );
            (
                Severity::Error,
                format!(
                    "CAA at {node} lets {} issue only for account {} ({shown}), but {ours}: \
                     the CA will refuse{add}",
                    ca.identity.unwrap_or("this CA"),
                    allowed.join(", ")
                ),
            )
        }
        Verdict::WrongMethod { allowed } => (
            Severity::Error,
            format!(
                "CAA at {node} allows only the validation methods {allowed} ({shown}), but \
                 certbridge proves control with {}: the CA will refuse{add}",
                caa::METHOD
            ),
        ),
    };
    Some(Finding {
        severity,
        name: name.to_owned(),
        record: format!("{node}. CAA"),
        message,
        fix: if verdict.denies() { fix } else { None },
    })
}

fn list_or_none(issuers: &[String]) -> String {
    if issuers.is_empty() {
        "no CA".into()
    } else {
        issuers.join(", ")
    }
}

/// One suggestion per node where a record would pin issuance to this CA,
/// account and DNS-01: the top node of names no CAA restricts, and the
/// node of a relevant RRset that lets the CA issue without pinning both.
/// `seen` is (name, judgement) for names ordered from `ca`.
pub fn caa_suggestions(ca: &Ca<'_>, seen: &[(String, CaaSeen)]) -> Vec<Finding> {
    let Some(identity) = ca.identity else {
        return Vec::new();
    };
    let mut open: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut loose: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, s) in seen {
        match s {
            CaaSeen::Judged {
                verdict: Verdict::Open,
                relevant,
                top,
            } => open
                .entry(relevant.as_ref().map_or(top, |(n, _)| n).clone())
                .or_default()
                .push(name),
            CaaSeen::Judged {
                verdict:
                    Verdict::Allowed {
                        pinned_account,
                        pinned_method,
                    },
                relevant: Some((node, _)),
                ..
            } if !(*pinned_account && *pinned_method) => {
                loose.entry(node.clone()).or_default().push(name);
            }
            _ => {}
        }
    }
    let later = match ca.account {
        Some(_) => String::new(),
        None => format!(
            " (add accounturi=<account URL> once certbridge has an account for {}: after its \
             first pulse, run check --dns again)",
            ca.directory
        ),
    };
    let why = "Let's Encrypt enforces accounturi and validationmethods (RFC 8657), and every CA \
               must from 15 March 2027 (CA/Browser Forum ballot SC-098)";
    let mut out = Vec::new();
    for (groups, what) in [
        (open, "no CAA record restricts issuance for"),
        (
            loose,
            "CAA lets the CA issue without pinning account and method for",
        ),
    ] {
        for (node, names) in groups {
            let record = caa::suggested_record(&node, identity, ca.account);
            out.push(Finding {
                severity: Severity::Info,
                name: node.clone(),
                record: format!("{node}. CAA"),
                message: format!(
                    "{what} {} ({}); {why}: add `{record}`{later}",
                    plural(names.len(), "name"),
                    abbreviate(&names)
                ),
                fix: Some(record),
            });
        }
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn abbreviate(names: &[&str]) -> String {
    const SHOWN: usize = 4;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{}, and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
