//! `status`: per certificate, what the store knows: expiry, when it renews,
//! whether the host has the current version, pending handlers, last error.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;

use crate::load::Loaded;
use crate::plan::{Scope, renewal};
use crate::store::StoreView;

/// One certificate's status.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    /// Host.
    pub host: String,
    /// Certificate key.
    pub cert: String,
    /// Names wanted by the inventory.
    pub domains: Vec<String>,
    /// Stored version, if any.
    pub version: Option<String>,
    /// Expiry of the stored certificate.
    pub not_after: Option<Timestamp>,
    /// When it becomes due for renewal.
    pub renew_at: Option<Timestamp>,
    /// The host has the stored version (per the store's record).
    pub deployed: bool,
    /// Handlers pending on the host.
    pub pending_handlers: Vec<String>,
    /// Last error recorded for the host.
    pub last_error: Option<String>,
    /// Ordering is on hold until then (a name failed validation repeatedly,
    /// or the CA rate-limited orders).
    pub held_until: Option<Timestamp>,
}

/// Build the rows for certificates in scope.
pub fn rows(loaded: &Loaded, store: &StoreView, scope: &Scope, now: Timestamp) -> Vec<StatusRow> {
    let held = crate::acme::ratelimit::merge_holds(
        crate::store::breakers::held(&crate::store::breakers::read(&store.root), now),
        crate::acme::ratelimit::held_names(&store.root, &loaded.config, &loaded.fleet, now),
    );
    loaded
        .fleet
        .certs
        .iter()
        .filter(|c| scope.contains(&c.host, &c.key))
        .map(|c| {
            let stored = store.certs.get(&c.key);
            let record = store.hosts.get(&c.host);
            StatusRow {
                host: c.host.clone(),
                cert: c.key.clone(),
                domains: c.domains(),
                version: stored.map(|s| s.version.clone()),
                not_after: stored.map(|s| s.not_after),
                renew_at: stored.map(|s| {
                    renewal::renew_at(s.not_before, s.not_after, loaded.config.acme.renew_before)
                }),
                deployed: stored.is_some_and(|s| {
                    store
                        .deployed(&c.host, &c.key)
                        .is_some_and(|d| d.version == s.version)
                }),
                pending_handlers: record
                    .map(|r| {
                        r.pending_handlers
                            .iter()
                            .filter(|h| **h == c.handler())
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                last_error: record.and_then(|r| r.last_error.clone()),
                held_until: c
                    .names
                    .iter()
                    .filter_map(|n| held.get(&n.name))
                    .max()
                    .copied(),
            }
        })
        .collect()
}

/// JSON output.
pub fn json(rows: &[StatusRow]) -> String {
    let doc = serde_json::json!({
        "format_version": crate::plan::FORMAT_VERSION,
        "certificates": rows,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Human table.
pub fn human(rows: &[StatusRow], now: Timestamp) -> String {
    let mut out = String::new();
    let kw = rows.iter().map(|r| r.cert.len()).max().unwrap_or(4).max(4);
    let hw = rows.iter().map(|r| r.host.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:<hw$}  {:<kw$}  {:<17} {:<17} {:<9} pending / last error",
        "HOST", "CERT", "EXPIRES", "RENEWS", "DEPLOYED"
    );
    let day = |t: Option<Timestamp>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.strftime("%Y-%m-%d %H:%M").to_string(),
        )
    };
    for r in rows {
        let expires = match r.not_after {
            None => "not issued".to_owned(),
            Some(t) if t <= now => format!("EXPIRED {}", day(Some(t))),
            Some(t) => day(Some(t)),
        };
        let mut extra = r.pending_handlers.join(", ");
        if let Some(until) = r.held_until {
            if !extra.is_empty() {
                extra.push_str("; ");
            }
            extra.push_str(&format!(
                "ON HOLD until {} (repeated validation failures or the CA's rate limit)",
                day(Some(until))
            ));
        }
        if let Some(e) = &r.last_error {
            if !extra.is_empty() {
                extra.push_str("; ");
            }
            extra.push_str(e);
        }
        let _ = writeln!(
            out,
            "{:<hw$}  {:<kw$}  {:<17} {:<17} {:<9} {}",
            r.host,
            r.cert,
            expires,
            day(r.renew_at),
            if r.deployed { "yes" } else { "no" },
            if extra.is_empty() { "-" } else { &extra },
        );
    }
    out
}
