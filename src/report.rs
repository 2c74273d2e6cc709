//! What a pulse did: the plan it executed plus each item's outcome, as a
//! human summary or JSON (PRODUCT.md section 4, with outcomes), and the exit
//! code (0 all done, 1 something failed; the rest was still done).

use std::fmt::Write as _;

use serde::Serialize;

use crate::issue::{DnsOutcome, IssueReport};
use crate::plan::{Action, CertPlan, Plan};

/// One certificate's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A new version was issued and stored.
    Issued,
    /// Nothing needed doing.
    Kept,
    /// The store has a version the host still needs (deployment pending).
    Pending,
    /// It failed; see `error`.
    Failed,
    /// Not ordered: a name's breaker is open after repeated failures.
    Held,
}

/// A plan item with its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CertOutcome {
    /// The planned item.
    #[serde(flatten)]
    pub plan: CertPlan,
    /// What happened.
    pub outcome: Outcome,
    /// Stored version, when issued.
    pub version: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
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
    /// Handler runs (as planned; run once deployment lands).
    pub handlers: Vec<crate::plan::HandlerRun>,
    /// Totals as planned.
    pub summary: crate::plan::Summary,
    /// Orders created / resumed.
    pub orders: OrderCounts,
    /// Wall time of the pulse.
    pub duration_seconds: f64,
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
    /// Combine the plan with what the issuance stage did.
    pub fn new(plan: Plan, issued: IssueReport, duration: std::time::Duration) -> PulseReport {
        let certificates = plan
            .certificates
            .into_iter()
            .map(|c| {
                let (outcome, version, error) = match c.action {
                    Action::Issue | Action::Renew if c.held_until.is_some() => (
                        Outcome::Held,
                        None,
                        Some("on hold after repeated validation failures".into()),
                    ),
                    Action::Issue | Action::Renew => match issued.results.get(&c.cert) {
                        Some(Ok(i)) => (Outcome::Issued, Some(i.version.clone()), None),
                        Some(Err(e)) => (Outcome::Failed, None, Some(e.clone())),
                        None => (Outcome::Failed, None, Some("not attempted".into())),
                    },
                    Action::Deploy => (Outcome::Pending, None, None),
                    Action::Keep => (Outcome::Kept, None, None),
                };
                CertOutcome {
                    plan: c,
                    outcome,
                    version,
                    error,
                }
            })
            .collect();
        PulseReport {
            format_version: crate::plan::FORMAT_VERSION,
            certificates,
            dns: DnsReport {
                plan: plan.dns,
                outcome: issued.dns,
            },
            handlers: plan.handlers,
            summary: plan.summary,
            orders: OrderCounts {
                created: issued.orders_created,
                resumed: issued.orders_resumed,
            },
            duration_seconds: duration.as_secs_f64(),
        }
    }

    /// Did anything fail?
    pub fn failed(&self) -> bool {
        self.certificates
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Failed | Outcome::Held))
    }

    /// JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Human summary: per host, then DNS and totals; failures spelled out.
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
            "{:<hw$}  {:>6} {:>6} {:>7} {:>6}",
            "HOST", "ISSUED", "KEPT", "PENDING", "FAILED"
        );
        let mut hosts: Vec<&str> = self
            .certificates
            .iter()
            .map(|c| c.plan.host.as_str())
            .collect();
        hosts.dedup();
        for h in hosts {
            let count = |o: Outcome| {
                self.certificates
                    .iter()
                    .filter(|c| c.plan.host == h && c.outcome == o)
                    .count()
            };
            let _ = writeln!(
                out,
                "{h:<hw$}  {:>6} {:>6} {:>7} {:>6}",
                count(Outcome::Issued),
                count(Outcome::Kept),
                count(Outcome::Pending),
                count(Outcome::Failed)
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
                let _ = write!(out, ", visible on every authoritative server after {p:.1}s");
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
        let failures: Vec<&CertOutcome> = self
            .certificates
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .collect();
        if !failures.is_empty() {
            out.push_str("\nFailures:\n");
            for c in failures {
                let _ = writeln!(
                    out,
                    "  {} {}: {}",
                    c.plan.host,
                    c.plan.cert,
                    c.error.as_deref().unwrap_or("?")
                );
            }
        }
        let n = |o: Outcome| self.certificates.iter().filter(|c| c.outcome == o).count();
        let _ = writeln!(
            out,
            "\nPulse: {} issued, {} kept, {} pending deployment, {} failed; {} order(s) created, {} resumed; {:.1}s.",
            n(Outcome::Issued),
            n(Outcome::Kept),
            n(Outcome::Pending),
            n(Outcome::Failed),
            self.orders.created,
            self.orders.resumed,
            self.duration_seconds
        );
        out
    }
}
