//! `status`: per certificate, what the store knows: expiry, when it renews,
//! whether the host has the current version, pending handlers, last error,
//! and whether the certificate the host has is in the *danger zone* (expires
//! within `danger_zone`), which makes `status` exit 1.
//!
//! The danger zone judges what the store records as deployed on the host,
//! not the newest stored version: a renewal that never reached the host
//! does not make the host safe. A certificate never issued or never
//! deployed has nothing that expires and is not in the danger zone (the
//! metrics' failure counters cover it).

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;

use crate::load::Loaded;
use crate::plan::{Scope, renewal};
use crate::store::StoreView;

/// Exit code of `status` when a certificate is in the danger zone.
pub const EXIT_DANGER: u8 = crate::app::EXIT_FAILURE;

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
    /// Expiry of the version the store records as deployed on the host.
    pub host_not_after: Option<Timestamp>,
    /// The host's certificate expires within the danger zone (or has).
    pub danger: bool,
    /// Handlers pending on the host.
    pub pending_handlers: Vec<String>,
    /// Last error recorded for the host.
    pub last_error: Option<String>,
    /// Ordering is on hold until then (a name failed validation repeatedly,
    /// or the CA rate-limited orders).
    pub held_until: Option<Timestamp>,
}

/// Build the rows for certificates in `scope` (every certificate when
/// `None`); `danger_zone` decides [`StatusRow::danger`].
pub fn rows(
    loaded: &Loaded,
    store: &StoreView,
    scope: Option<&Scope>,
    now: Timestamp,
    danger_zone: std::time::Duration,
) -> Vec<StatusRow> {
    let held = crate::acme::ratelimit::merge_holds(
        crate::store::breakers::held(&crate::store::breakers::read(&store.root), now),
        crate::acme::ratelimit::held_names(&store.root, &loaded.config, &loaded.fleet, now),
    );
    let horizon = i64::try_from(danger_zone.as_secs())
        .ok()
        .and_then(|s| now.checked_add(jiff::SignedDuration::from_secs(s)).ok())
        .unwrap_or(Timestamp::MAX);
    loaded
        .fleet
        .certs
        .iter()
        .filter(|c| scope.is_none_or(|s| s.contains(&c.host, &c.key)))
        .map(|c| {
            let stored = store.certs.get(&c.key);
            let record = store.hosts.get(&c.host);
            let host_not_after = host_expiry(store, &c.host, &c.key);
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
                host_not_after,
                danger: host_not_after.is_some_and(|t| t <= horizon),
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

/// Expiry of the version the store records as deployed on `host`: the
/// current one, or an older version folder still in the store.
fn host_expiry(store: &StoreView, host: &str, key: &str) -> Option<Timestamp> {
    let deployed = store.deployed(host, key)?;
    match store.certs.get(key) {
        Some(s) if s.version == deployed.version => Some(s.not_after),
        _ => {
            let pem = std::fs::read(
                store
                    .root
                    .join("certs")
                    .join(key)
                    .join(&deployed.version)
                    .join("cert.pem"),
            )
            .ok()?;
            crate::x509::leaf_info(&pem).ok().map(|i| i.not_after)
        }
    }
}

/// Does any row put `status` in the danger zone?
pub fn any_danger(rows: &[StatusRow]) -> bool {
    rows.iter().any(|r| r.danger)
}

/// `7d`, `36h`, `90m` or `45s`: the largest unit that divides it.
pub fn format_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// JSON output.
pub fn json(rows: &[StatusRow], danger_zone: std::time::Duration) -> String {
    let doc = serde_json::json!({
        "format_version": crate::plan::FORMAT_VERSION,
        "danger_zone_seconds": danger_zone.as_secs(),
        "danger": any_danger(rows),
        "certificates": rows,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Human table, then one line per certificate in the danger zone.
pub fn human(rows: &[StatusRow], now: Timestamp, danger_zone: std::time::Duration) -> String {
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
    let danger: Vec<&StatusRow> = rows.iter().filter(|r| r.danger).collect();
    if !danger.is_empty() {
        let _ = writeln!(
            out,
            "\nDANGER: {} certificate(s) on their hosts expire within {}:",
            danger.len(),
            format_duration(danger_zone)
        );
        for r in danger {
            let when = r.host_not_after.map_or_else(String::new, |t| {
                let verb = if t <= now { "expired" } else { "expires" };
                format!("{verb} {}", day(Some(t)))
            });
            let _ = writeln!(out, "  {} {}: {when}", r.host, r.cert);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_print_in_the_largest_unit_that_divides_them() {
        assert_eq!(format_duration(Duration::from_secs(7 * 86_400)), "7d");
        assert_eq!(format_duration(Duration::from_secs(36 * 3600)), "36h");
        assert_eq!(format_duration(Duration::from_secs(90 * 60)), "90m");
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
