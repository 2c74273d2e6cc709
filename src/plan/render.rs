//! Printing a plan: a table grouped by host for people, JSON for machines.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::{Action, CertPlan, Plan};

/// The plan as JSON (PRODUCT.md section 4, format 1).
pub fn json(plan: &Plan) -> String {
    // Serializing plain data cannot fail.
    serde_json::to_string_pretty(plan).unwrap_or_default()
}

/// The plan as a human table grouped by host.
pub fn human(plan: &Plan, now: Timestamp) -> String {
    let mut out = String::new();
    let key_w = plan
        .certificates
        .iter()
        .map(|c| c.cert.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut host: Option<&str> = None;
    for c in &plan.certificates {
        if host != Some(c.host.as_str()) {
            if host.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", c.host);
            host = Some(&c.host);
        }
        let _ = writeln!(
            out,
            "  {:<7} {:<key_w$}  {:<16} {}",
            c.action.as_str(),
            c.cert,
            c.reason.as_str(),
            detail(c, now),
        );
    }
    if plan.certificates.is_empty() {
        out.push_str("No certificates in scope.\n");
    }
    if !plan.dns.challenges.is_empty() {
        let resolved = plan
            .dns
            .challenges
            .iter()
            .filter(|c| c.owner.is_some())
            .count();
        let _ = writeln!(
            out,
            "\nDNS: one update of {} with {} TXT record(s){}",
            plan.dns.zone,
            plan.dns.challenges.len(),
            if resolved == 0 {
                " (owners resolved when the pulse runs)".to_owned()
            } else {
                format!(", {resolved} owner(s) resolved")
            }
        );
    }
    if !plan.handlers.is_empty() {
        out.push_str("\nHandlers (same step = may run concurrently):\n");
        let hw = plan
            .handlers
            .iter()
            .map(|h| h.host.len())
            .max()
            .unwrap_or(0);
        let nw = plan
            .handlers
            .iter()
            .map(|h| h.handler.len())
            .max()
            .unwrap_or(0);
        for h in &plan.handlers {
            let mut actions = h.actions.join(", ");
            if !h.merged.is_empty() {
                if !actions.is_empty() {
                    actions.push_str(", ");
                }
                let _ = write!(
                    actions,
                    "({} runs once per host, above)",
                    h.merged.join(", ")
                );
            }
            let _ = writeln!(
                out,
                "  step {:<3} {:<hw$}  {:<nw$}  -> {}",
                h.step, h.host, h.handler, actions
            );
        }
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "\nPlan: {} issue, {} renew, {} deploy, {} keep ({} certificate(s), {} name(s), {} host(s)); {} handler run(s).",
        s.issue,
        s.renew,
        s.deploy,
        s.keep,
        s.certificates,
        s.domains,
        s.hosts,
        plan.handlers.len()
    );
    out
}

fn detail(c: &CertPlan, now: Timestamp) -> String {
    let mut d = c.domains.join(", ");
    if c.self_signed {
        d.push_str("  [self-signed]");
    }
    if let Some(until) = c.held_until {
        let _ = write!(
            d,
            "  [ON HOLD until {}: repeated validation failures or the CA's rate limit]",
            until.strftime("%Y-%m-%d %H:%M UTC")
        );
    }
    if let (Some(na), Some(at)) = (c.not_after, c.renew_at) {
        let when = |t: Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
        let extra = match c.action {
            Action::Renew | Action::Keep | Action::Deploy if now >= na => {
                format!("expired {}", when(na))
            }
            Action::Renew => format!("due since {}, expires {}", when(at), when(na)),
            _ => format!("expires {}, renews {}", when(na), when(at)),
        };
        let _ = write!(d, "  ({extra})");
    }
    d
}
