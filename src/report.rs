//! What a pulse did: the plan it executed plus each item's outcome, as a
//! human summary or JSON (PRODUCT.md section 4, with outcomes), and the exit
//! code (0 all done, 1 something failed; the rest was still done).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::handlers::run::HandlerOutcome;
use crate::issue::{DnsOutcome, IssueReport};
use crate::plan::{Action, CertPlan, HandlerRun, Plan};

/// One certificate's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A new version was issued, stored and deployed.
    Issued,
    /// The stored version was deployed (no order).
    Deployed,
    /// Nothing needed doing.
    Kept,
    /// Issued and stored, but not deployed yet (retried next pulse).
    Stored,
    /// It failed; see `error`.
    Failed,
    /// Not ordered: a name's breaker is open after repeated failures.
    Held,
}

/// A deployment's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployOutcome {
    /// This version landed and was verified.
    Deployed(String),
    /// Why it did not.
    Failed(String),
}

impl DeployOutcome {
    /// Did it land?
    pub fn ok(&self) -> bool {
        matches!(self, DeployOutcome::Deployed(_))
    }
}

/// A plan item with its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CertOutcome {
    /// The planned item.
    #[serde(flatten)]
    pub plan: CertPlan,
    /// What happened.
    pub outcome: Outcome,
    /// Stored version, when issued or deployed.
    pub version: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A handler run with its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct HandlerResult {
    /// As planned.
    #[serde(flatten)]
    pub run: HandlerRun,
    /// What happened.
    #[serde(flatten)]
    pub outcome: HandlerOutcome,
}

/// The whole report of a pulse.
#[derive(Debug, Clone, Serialize)]
pub struct PulseReport {
    /// Always 1.
    pub format_version: u32,
    /// Per certificate.
    pub certificates: Vec<CertOutcome>,
    /// The zone update as planned, and what happened.
    pub dns: DnsReport,
    /// Handler runs with outcomes.
    pub handlers: Vec<HandlerResult>,
    /// Totals as planned.
    pub summary: crate::plan::Summary,
    /// Orders created / resumed.
    pub orders: OrderCounts,
    /// Wall time of the pulse.
    pub duration_seconds: f64,
    /// Wall time of each stage: observe, issue, deploy, handlers.
    pub stage_seconds: BTreeMap<String, f64>,
}

/// DNS part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct DnsReport {
    /// Planned.
    #[serde(flatten)]
    pub plan: crate::plan::DnsPlan,
    /// Done.
    pub outcome: DnsOutcome,
}

/// Order counters.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OrderCounts {
    /// New orders.
    pub created: usize,
    /// Resumed from the journal.
    pub resumed: usize,
}

impl PulseReport {
    /// Combine the plan with what the stages did.
    pub fn new(
        plan: Plan,
        issued: IssueReport,
        deployed: BTreeMap<String, DeployOutcome>,
        handlers: BTreeMap<(String, String), HandlerOutcome>,
        duration: std::time::Duration,
        stage_seconds: BTreeMap<String, f64>,
    ) -> PulseReport {
        let certificates = plan
            .certificates
            .into_iter()
            .map(|c| {
                let dep = deployed.get(&c.cert);
                let (outcome, version, error) = match (c.action, c.held_until) {
                    (Action::Issue | Action::Renew, Some(_)) => (
                        Outcome::Held,
                        None,
                        Some(
                            "on hold after repeated validation failures or the CA's rate limit"
                                .into(),
                        ),
                    ),
                    (Action::Issue | Action::Renew, None) => {
                        match (issued.results.get(&c.cert), dep) {
                            (Some(Ok(i)), Some(DeployOutcome::Deployed(_))) => {
                                (Outcome::Issued, Some(i.version.clone()), None)
                            }
                            (Some(Ok(i)), Some(DeployOutcome::Failed(e))) => (
                                Outcome::Stored,
                                Some(i.version.clone()),
                                Some(format!("stored; deploy failed: {e}")),
                            ),
                            (Some(Ok(i)), None) => (Outcome::Stored, Some(i.version.clone()), None),
                            (Some(Err(e)), _) => (Outcome::Failed, None, Some(e.clone())),
                            (None, _) => (Outcome::Failed, None, Some("not attempted".into())),
                        }
                    }
                    (Action::Deploy, _) => match dep {
                        Some(DeployOutcome::Deployed(v)) => {
                            (Outcome::Deployed, Some(v.clone()), None)
                        }
                        Some(DeployOutcome::Failed(e)) => (Outcome::Failed, None, Some(e.clone())),
                        None => (Outcome::Failed, None, Some("not attempted".into())),
                    },
                    (Action::Keep, _) => (Outcome::Kept, None, None),
                };
                CertOutcome {
                    plan: c,
                    outcome,
                    version,
                    error,
                }
            })
            .collect();
        let handlers = plan
            .handlers
            .into_iter()
            .map(|run| {
                let outcome = handlers
                    .get(&(run.host.clone(), run.handler.clone()))
                    .cloned()
                    .unwrap_or(HandlerOutcome::Deferred("not attempted".into()));
                HandlerResult { run, outcome }
            })
            .collect();
        PulseReport {
            format_version: crate::plan::FORMAT_VERSION,
            certificates,
            dns: DnsReport {
                plan: plan.dns,
                outcome: issued.dns,
            },
            handlers,
            summary: plan.summary,
            orders: OrderCounts {
                created: issued.orders_created,
                resumed: issued.orders_resumed,
            },
            duration_seconds: duration.as_secs_f64(),
            stage_seconds,
        }
    }

    /// Did anything fail (exit 1)?
    pub fn failed(&self) -> bool {
        self.certificates
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Failed | Outcome::Held) || c.error.is_some())
            || self.handlers.iter().any(|h| h.outcome.is_pending())
    }

    /// JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Human summary: per host, then DNS, handlers and totals; failures spelled out.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let hw = self
            .certificates
            .iter()
            .map(|c| c.plan.host.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "{:<hw$}  {:>6} {:>8} {:>5} {:>8} {:>6}",
            "HOST", "ISSUED", "DEPLOYED", "KEPT", "HANDLERS", "FAILED"
        );
        let mut hosts: Vec<&str> = self
            .certificates
            .iter()
            .map(|c| c.plan.host.as_str())
            .collect();
        hosts.dedup();
        for h in hosts {
            let count = |o: &[Outcome]| {
                self.certificates
                    .iter()
                    .filter(|c| c.plan.host == h && o.contains(&c.outcome))
                    .count()
            };
            let handlers_ok = self
                .handlers
                .iter()
                .filter(|r| r.run.host == h && r.outcome.ok())
                .count();
            let handlers_bad = self
                .handlers
                .iter()
                .filter(|r| r.run.host == h && r.outcome.is_pending())
                .count();
            let failed = self
                .certificates
                .iter()
                .filter(|c| c.plan.host == h && c.error.is_some())
                .count()
                + handlers_bad;
            let _ = writeln!(
                out,
                "{h:<hw$}  {:>6} {:>8} {:>5} {:>8} {:>6}",
                count(&[Outcome::Issued, Outcome::Stored]),
                count(&[Outcome::Issued, Outcome::Deployed]),
                count(&[Outcome::Kept]),
                handlers_ok,
                failed
            );
        }
        let d = &self.dns.outcome;
        if d.records > 0 {
            let _ = write!(
                out,
                "\nDNS: {} TXT record(s) in {}",
                d.records, self.dns.plan.zone
            );
            if let Some(s) = d.serial {
                let _ = write!(out, ", serial {s}");
            }
            if let Some(p) = d.propagation_seconds {
                let servers = d.servers.len();
                let _ = write!(
                    out,
                    ", served by all {servers} authoritative server(s) after {:.0} ms",
                    p * 1000.0
                );
            }
            if let Some(s) = d.cleanup_serial {
                let _ = write!(out, "; removed again (serial {s})");
            }
            out.push('\n');
            if let Some(e) = &d.error {
                let _ = writeln!(out, "DNS error: {e}");
            }
            if let Some(e) = &d.cleanup_error {
                let _ = writeln!(
                    out,
                    "DNS clean-up error (the next update removes them): {e}"
                );
            }
        }
        let problems: Vec<String> = self
            .certificates
            .iter()
            .filter_map(|c| {
                c.error
                    .as_ref()
                    .map(|e| format!("  {} {}: {e}", c.plan.host, c.plan.cert))
            })
            .chain(
                self.handlers
                    .iter()
                    .filter(|h| h.outcome.is_pending())
                    .map(|h| {
                        let (kind, why) = match &h.outcome {
                            HandlerOutcome::Failed(e) => ("failed, pending", e.as_str()),
                            HandlerOutcome::Blocked(e) => ("blocked, pending", e.as_str()),
                            HandlerOutcome::Deferred(e) => ("not run", e.as_str()),
                            HandlerOutcome::Ran => ("ran", ""),
                        };
                        format!("  {} `{}` {kind}: {why}", h.run.host, h.run.handler)
                    }),
            )
            .collect();
        if !problems.is_empty() {
            out.push_str("\nProblems:\n");
            for p in problems {
                out.push_str(&p);
                out.push('\n');
            }
        }
        let n = |o: Outcome| self.certificates.iter().filter(|c| c.outcome == o).count();
        let ran = self.handlers.iter().filter(|h| h.outcome.ok()).count();
        let _ = writeln!(
            out,
            "\nPulse: {} issued, {} deployed, {} kept, {} stored-not-deployed, {} failed, {} held; {} handler run(s) ok of {}; {} order(s) created, {} resumed; {:.1}s.",
            n(Outcome::Issued),
            n(Outcome::Deployed),
            n(Outcome::Kept),
            n(Outcome::Stored),
            n(Outcome::Failed),
            n(Outcome::Held),
            ran,
            self.handlers.len(),
            self.orders.created,
            self.orders.resumed,
            self.duration_seconds
        );
        out
    }
}
