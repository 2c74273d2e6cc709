//! Per-name circuit breakers: after repeated failed validations a name is
//! not ordered for a cooling period, well before Let's Encrypt's own limit
//! (5 failed authorizations per name per hour) or its pause.
//!
//! Kept in `state_dir/breakers.json`; `plan` and `status` show open ones.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Consecutive failures before a name is held.
pub const THRESHOLD: u32 = 3;
/// First cooling period; it doubles with every further failure.
const FIRST_COOLING: SignedDuration = SignedDuration::from_hours(1);
/// Longest cooling period.
const MAX_COOLING: SignedDuration = SignedDuration::from_hours(24);

/// One name's breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaker {
    /// Consecutive failed validations.
    pub failures: u32,
    /// When the last one happened.
    pub last_failure: Timestamp,
    /// Held until then, once open.
    pub until: Option<Timestamp>,
}

/// All breakers by name.
pub type Breakers = BTreeMap<String, Breaker>;

/// The file's path under the store.
pub const FILE: &str = "breakers.json";

/// Read the breakers (none if the file is missing or unreadable).
pub fn read(root: &Path) -> Breakers {
    std::fs::read_to_string(root.join(FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Names held at `now`, with the time they are released.
pub fn held(breakers: &Breakers, now: Timestamp) -> BTreeMap<String, Timestamp> {
    breakers
        .iter()
        .filter_map(|(n, b)| b.until.filter(|u| *u > now).map(|u| (n.clone(), u)))
        .collect()
}

/// Record a success (closes the breaker) or a failed validation of `name`.
pub fn record(breakers: &mut Breakers, name: &str, failed: bool, now: Timestamp) {
    if !failed {
        breakers.remove(name);
        return;
    }
    let b = breakers.entry(name.to_owned()).or_insert(Breaker {
        failures: 0,
        last_failure: now,
        until: None,
    });
    b.failures += 1;
    b.last_failure = now;
    if b.failures >= THRESHOLD {
        let doublings = (b.failures - THRESHOLD).min(5);
        let cooling = FIRST_COOLING
            .checked_mul(1 << doublings)
            .unwrap_or(MAX_COOLING)
            .min(MAX_COOLING);
        b.until = now.checked_add(cooling).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_backs_off() {
        let now: Timestamp = "2026-12-04T00:00:00Z".parse().expect("ts");
        let mut b = Breakers::new();
        record(&mut b, "a.example.org", true, now);
        record(&mut b, "a.example.org", true, now);
        assert!(held(&b, now).is_empty());
        record(&mut b, "a.example.org", true, now);
        assert_eq!(
            held(&b, now)["a.example.org"],
            now + SignedDuration::from_hours(1)
        );
        record(&mut b, "a.example.org", true, now);
        assert_eq!(
            held(&b, now)["a.example.org"],
            now + SignedDuration::from_hours(2)
        );
        for _ in 0..10 {
            record(&mut b, "a.example.org", true, now);
        }
        assert_eq!(
            held(&b, now)["a.example.org"],
            now + SignedDuration::from_hours(24)
        );
        record(&mut b, "a.example.org", false, now);
        assert!(b.is_empty());
    }
}
