//! Honouring the CA's rate limits across pulses: after a `rateLimited`
//! answer too long to wait out within the pulse (see [`super::http`]), no
//! order is sent to that directory again until the time the CA gave ("retry
//! after ..." in the problem detail, or its `Retry-After`), or for an hour
//! when it gave none. Kept in the store, so the next pulses honour it too,
//! and `plan` and `status` show the certificates it holds.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use crate::config::Config;
use crate::inventory::fleet::Fleet;
use crate::store::Store;

/// Wait this long when the CA names no time.
const DEFAULT_WAIT: SignedDuration = SignedDuration::from_hours(1);

fn path(directory: &str) -> String {
    super::account::account_path(directory)
        .replace("accounts/", "ratelimit/")
        .replace("/account.json", ".until")
}

/// Until when orders to `directory` are held, if they are.
pub fn held_until(store: &Store, directory: &str, now: Timestamp) -> Option<Timestamp> {
    let t: Timestamp = store.read(&path(directory))?.trim().parse().ok()?;
    (t > now).then_some(t)
}

/// The names of every certificate whose directory is held at `now`, with
/// the time orders may resume; self-signed hosts order nothing, so they are
/// never held. `root` is the store's folder.
pub fn held_names(
    root: &Path,
    config: &Config,
    fleet: &Fleet,
    now: Timestamp,
) -> BTreeMap<String, Timestamp> {
    let until = |dir: &str| -> Option<Timestamp> {
        let text = std::fs::read_to_string(root.join(path(dir))).ok()?;
        let t: Timestamp = text.trim().parse().ok()?;
        (t > now).then_some(t)
    };
    let production = until(&config.acme.directory);
    let staging = until(&config.acme.staging_directory);
    let mut held = BTreeMap::new();
    for cert in &fleet.certs {
        let Some(host) = fleet.host(&cert.host) else {
            continue;
        };
        let when = match (host.self_sign, host.staging) {
            (true, _) => None,
            (false, true) => staging,
            (false, false) => production,
        };
        if let Some(t) = when {
            for n in &cert.names {
                held.insert(n.name.clone(), t);
            }
        }
    }
    held
}

/// Breaker holds and rate-limit holds together, the later time winning.
pub fn merge_holds(
    mut a: BTreeMap<String, Timestamp>,
    b: BTreeMap<String, Timestamp>,
) -> BTreeMap<String, Timestamp> {
    for (name, t) in b {
        let e = a.entry(name).or_insert(t);
        *e = (*e).max(t);
    }
    a
}

/// Record a `rateLimited` answer; returns until when orders are held.
pub fn record(store: &Store, directory: &str, detail: Option<&str>, now: Timestamp) -> Timestamp {
    let until = detail
        .and_then(retry_after)
        .filter(|t| *t > now)
        .unwrap_or_else(|| now.checked_add(DEFAULT_WAIT).unwrap_or(now));
    if let Err(e) = store.write(&path(directory), format!("{until}\n").as_bytes()) {
        tracing::warn!(error = %e, "could not record the rate limit");
    }
    until
}

/// The time in "retry after 2026-12-05 10:39:52 UTC" (Let's Encrypt's form).
pub fn retry_after(detail: &str) -> Option<Timestamp> {
    let i = detail.find("retry after ")? + "retry after ".len();
    let rest = &detail[i..];
    let text = rest.get(..19)?;
    format!("{}Z", text.replace(' ', "T")).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lets_encrypts_retry_after() {
        let d = "too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, retry after 2026-12-05 10:39:52 UTC: see https://letsencrypt.org/docs/rate-limits/";
        assert_eq!(
            retry_after(d),
            Some("2026-12-05T10:39:52Z".parse().expect("ts"))
        );
        assert_eq!(retry_after("no time here"), None);
    }

    #[test]
    fn merged_holds_keep_the_later_time() {
        let t1: Timestamp = "2026-12-04T10:00:00Z".parse().expect("ts");
        let t2: Timestamp = "2026-12-04T11:00:00Z".parse().expect("ts");
        let a = BTreeMap::from([("a.x".to_owned(), t2), ("b.x".to_owned(), t1)]);
        let b = BTreeMap::from([("a.x".to_owned(), t1), ("c.x".to_owned(), t1)]);
        let m = merge_holds(a, b);
        assert_eq!(m["a.x"], t2);
        assert_eq!((m["b.x"], m["c.x"]), (t1, t1));
    }

    #[test]
    fn holds_until_the_given_time_or_an_hour() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let now: Timestamp = "2026-12-04T10:00:00Z".parse().expect("ts");
        let d = "https://ca.example/dir";
        assert_eq!(held_until(&store, d, now), None);
        let until = record(
            &store,
            d,
            Some("x, retry after 2026-12-04 12:00:00 UTC: y"),
            now,
        );
        assert_eq!(until, "2026-12-04T12:00:00Z".parse().expect("ts"));
        assert_eq!(held_until(&store, d, now), Some(until));
        assert_eq!(held_until(&store, d, until), None);
        assert_eq!(
            record(&store, d, None, now),
            "2026-12-04T11:00:00Z".parse().expect("ts")
        );
    }
}
