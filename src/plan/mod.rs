//! The plan: what a pulse will do, computed as data by a pure function.
//!
//! [`build`] takes the fleet, the store, what hosts were observed to have,
//! the options and `now`, and returns a [`Plan`]; it reads no clock, file or
//! network. `plan` prints it and `pulse` executes exactly it.
//!
//! Per (host, certificate), in this order of precedence:
//! `issue` (nothing stored, or its names changed), `renew` (forced, or due),
//! `deploy` (the store has a version the host lacks: never re-issued for
//! this), `keep`. Then the handlers those changes fire, in `after` order.

pub mod handler_graph;
pub mod render;
pub mod renewal;
pub mod scope;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Config;
use crate::handlers::HandlerMap;
use crate::inventory::fleet::{Certificate, Fleet};
use crate::store::StoreView;
pub use scope::Scope;

/// JSON format version of plans and reports.
pub const FORMAT_VERSION: u32 = 1;

/// What happens to one certificate on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Order a new certificate.
    Issue,
    /// Order a replacement.
    Renew,
    /// Upload what the store has.
    Deploy,
    /// Nothing to do.
    Keep,
}

impl Action {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Issue => "issue",
            Action::Renew => "renew",
            Action::Deploy => "deploy",
            Action::Keep => "keep",
        }
    }
}

/// Why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Never issued.
    New,
    /// The inventory lists other names than the stored certificate has.
    NamesChanged,
    /// Inside the CA's ARI renewal window.
    AriWindow,
    /// Less than `renew_before` left.
    Expiring,
    /// `--force` or `renew HOST`.
    Forced,
    /// The host does not have the stored certificate.
    MissingOnHost,
    /// The host has other files than the store.
    Drift,
    /// Nothing to do.
    Valid,
}

impl Reason {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::NamesChanged => "names-changed",
            Reason::AriWindow => "ari-window",
            Reason::Expiring => "expiring",
            Reason::Forced => "forced",
            Reason::MissingOnHost => "missing-on-host",
            Reason::Drift => "drift",
            Reason::Valid => "valid",
        }
    }
}

/// The plan for one certificate on one host.
#[derive(Debug, Clone, Serialize)]
pub struct CertPlan {
    /// Host.
    pub host: String,
    /// Certificate key.
    pub cert: String,
    /// Names, `:port` stripped.
    pub domains: Vec<String>,
    /// Directory on the host.
    pub directory: String,
    /// What happens.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Expiry of the stored certificate, if any.
    pub not_after: Option<Timestamp>,
    /// Handler fired when this changes.
    pub handler: String,
    /// When the stored certificate became or becomes due (not in JSON v1).
    #[serde(skip)]
    pub renew_at: Option<Timestamp>,
    /// Issued by a local throwaway CA instead of ACME.
    #[serde(skip)]
    pub self_signed: bool,
    /// Ordering is on hold until then: a name failed validation repeatedly,
    /// or the CA rate-limited orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_until: Option<Timestamp>,
}

/// One TXT record the pulse will publish.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Challenge {
    /// The name being validated (`*.` kept for wildcards).
    pub domain: String,
    /// Owner name of the TXT record; `None` when not resolved (offline plan).
    pub owner: Option<String>,
}

/// The signing-zone part of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct DnsPlan {
    /// The signing zone.
    pub zone: String,
    /// Every record to publish.
    pub challenges: Vec<Challenge>,
}

/// One handler run on one host.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HandlerRun {
    /// Items with the same step may run concurrently.
    pub step: usize,
    /// Host.
    pub host: String,
    /// Handler name.
    pub handler: String,
    /// Its actions that run here.
    pub actions: Vec<String>,
    /// Its actions that already ran on this host in an earlier item (run once).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<String>,
}

/// Totals.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Hosts in scope.
    pub hosts: usize,
    /// Certificates in scope.
    pub certificates: usize,
    /// Names summed over certificates.
    pub domains: usize,
    /// To issue.
    pub issue: usize,
    /// To renew.
    pub renew: usize,
    /// To deploy.
    pub deploy: usize,
    /// Unchanged.
    pub keep: usize,
}

/// The whole plan (PRODUCT.md section 4).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Per certificate.
    pub certificates: Vec<CertPlan>,
    /// The zone update.
    pub dns: DnsPlan,
    /// Ordered handler runs.
    pub handlers: Vec<HandlerRun>,
    /// Totals.
    pub summary: Summary,
}

impl Plan {
    /// Does the plan change anything?
    pub fn has_changes(&self) -> bool {
        self.certificates.iter().any(|c| c.action != Action::Keep) || !self.handlers.is_empty()
    }
}

/// What was observed on a host for one certificate (from `--probe`, or the
/// store's record when hosts were not probed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFact {
    /// The host has exactly the stored version.
    Matches,
    /// The host has no (complete) certificate directory.
    Missing,
    /// The host has files that differ from the store.
    Differs,
}

/// Facts observed by probing hosts: (host, cert key) → fact.
pub type Observed = BTreeMap<(String, String), HostFact>;

/// A renewal window the CA suggested through ARI (RFC 9773).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AriWindow {
    /// Start of the suggested window.
    pub start: Timestamp,
    /// End of the suggested window.
    pub end: Timestamp,
}

/// Everything observed before planning, besides the store.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// What hosts have (from `--probe`); missing entries fall back to the
    /// store's deployment records.
    pub hosts: Observed,
    /// ARI windows by certificate key, where the CA offers ARI.
    pub ari: BTreeMap<String, AriWindow>,
    /// Names whose ordering is on hold (breaker open, or the CA rate-limited
    /// their directory) until the time given.
    pub held: BTreeMap<String, Timestamp>,
}

/// Options that shape a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Which hosts and certificates.
    pub scope: Scope,
    /// Renew everything in scope.
    pub force: bool,
}

/// Errors from planning.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The handler graph could not be ordered (a bug: cycles are input errors).
    #[error("handler ordering failed: {0} is part of a cycle")]
    HandlerCycle(String),
}

/// Compute the plan. Pure: everything it needs is an argument.
pub fn build(
    config: &Config,
    fleet: &Fleet,
    handlers: &HandlerMap,
    store: &StoreView,
    facts: &Facts,
    options: &PlanOptions,
    now: Timestamp,
) -> Result<Plan, PlanError> {
    let mut certificates = Vec::new();
    let mut challenges = Vec::new();
    for cert in fleet
        .certs
        .iter()
        .filter(|c| options.scope.contains(&c.host, &c.key))
    {
        let self_signed = fleet.host(&cert.host).is_some_and(|h| h.self_sign);
        let mut plan = plan_cert(config, cert, store, facts, options.force, now, self_signed);
        if matches!(plan.action, Action::Issue | Action::Renew) {
            // A name whose breaker is open holds its whole certificate.
            plan.held_until = cert
                .names
                .iter()
                .filter_map(|n| facts.held.get(&n.name).filter(|until| **until > now))
                .max()
                .copied();
        }
        if matches!(plan.action, Action::Issue | Action::Renew)
            && !self_signed
            && plan.held_until.is_none()
        {
            challenges.extend(cert.names.iter().map(|n| Challenge {
                domain: n.name.clone(),
                owner: None,
            }));
        }
        certificates.push(plan);
    }
    challenges.sort();
    let fired: Vec<(String, String)> = certificates
        .iter()
        .filter(|c| c.action != Action::Keep)
        .map(|c| (c.host.clone(), c.handler.clone()))
        .chain(
            store
                .hosts
                .iter()
                .filter(|(h, _)| options.scope.hosts.contains(*h))
                .flat_map(|(h, r)| {
                    r.pending_handlers
                        .iter()
                        .map(move |p| (h.clone(), p.clone()))
                })
                .filter(|(_, p)| handlers.handlers.contains_key(p))
                .filter(|(_, p)| {
                    options.scope.certs.is_empty()
                        || p.strip_prefix(crate::handlers::map::PREFIX)
                            .is_some_and(|k| options.scope.certs.contains(k))
                }),
        )
        .collect();
    let runs = handler_graph::order(handlers, &fired)?;
    let summary = summarize(&certificates);
    Ok(Plan {
        format_version: FORMAT_VERSION,
        certificates,
        dns: DnsPlan {
            zone: config.dns.zone.clone(),
            challenges,
        },
        handlers: runs,
        summary,
    })
}

fn plan_cert(
    config: &Config,
    cert: &Certificate,
    store: &StoreView,
    facts: &Facts,
    force: bool,
    now: Timestamp,
    self_signed: bool,
) -> CertPlan {
    let stored = store.certs.get(&cert.key);
    let wanted: std::collections::BTreeSet<&str> =
        cert.names.iter().map(|n| n.name.as_str()).collect();
    // ARI wins where the CA offers it; otherwise renew_before.
    let ari = stored.and_then(|s| {
        facts
            .ari
            .get(&cert.key)
            .map(|w| renewal::ari_point(*w, &s.key, &s.serial))
    });
    let renew_at = ari.or_else(|| {
        stored.map(|s| renewal::renew_at(s.not_before, s.not_after, config.acme.renew_before))
    });
    let (action, reason) = match stored {
        None => (Action::Issue, Reason::New),
        Some(s)
            if s.domains
                .iter()
                .map(String::as_str)
                .collect::<std::collections::BTreeSet<_>>()
                != wanted =>
        {
            (Action::Issue, Reason::NamesChanged)
        }
        Some(_) if force => (Action::Renew, Reason::Forced),
        Some(_) if ari.is_some_and(|at| now >= at) => (Action::Renew, Reason::AriWindow),
        Some(_) if ari.is_none() && renew_at.is_some_and(|at| now >= at) => {
            (Action::Renew, Reason::Expiring)
        }
        Some(s) => {
            let key = (cert.host.clone(), cert.key.clone());
            let fact = facts.hosts.get(&key).cloned().unwrap_or_else(|| {
                match store.deployed(&cert.host, &cert.key) {
                    Some(d) if d.version == s.version => HostFact::Matches,
                    Some(_) => HostFact::Differs,
                    None => HostFact::Missing,
                }
            });
            match fact {
                HostFact::Matches => (Action::Keep, Reason::Valid),
                HostFact::Missing => (Action::Deploy, Reason::MissingOnHost),
                HostFact::Differs => (Action::Deploy, Reason::Drift),
            }
        }
    };
    CertPlan {
        host: cert.host.clone(),
        cert: cert.key.clone(),
        domains: cert.domains(),
        directory: config
            .targets
            .cert_dir
            .join(cert.first())
            .to_string_lossy()
            .into_owned(),
        action,
        reason,
        not_after: stored.map(|s| s.not_after),
        handler: cert.handler(),
        renew_at,
        self_signed,
        held_until: None,
    }
}

fn summarize(certs: &[CertPlan]) -> Summary {
    let mut s = Summary {
        certificates: certs.len(),
        ..Summary::default()
    };
    let hosts: std::collections::BTreeSet<&str> = certs.iter().map(|c| c.host.as_str()).collect();
    s.hosts = hosts.len();
    for c in certs {
        s.domains += c.domains.len();
        match c.action {
            Action::Issue => s.issue += 1,
            Action::Renew => s.renew += 1,
            Action::Deploy => s.deploy += 1,
            Action::Keep => s.keep += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests;
