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
mod checks;
pub mod findings;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::dns::client::{
    DnsClient, RecordType, ResponseCode, error_chain, normalize, parse_server, system_resolver,
};
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
    out.extend(checks::check_servers(config, &zone, resolver).await);
    if let Some(resolver) = resolver {
        let uses = name_uses(config, fleet);
        out.extend(checks::check_cnames(&zone, resolver, &uses, config.dns.txt_answer_limit).await);
        out.extend(checks::check_caa(config, resolver, &uses).await);
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
}
