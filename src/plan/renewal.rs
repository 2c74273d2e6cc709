//! When a stored certificate is due for renewal (without ARI).
//!
//! A fraction renews when less than `num/den` of the lifetime is left (Let's
//! Encrypt's guidance is a third); a duration renews when less than that is
//! left. The renewal time is a pure function of the certificate and the
//! setting, so `plan` and `pulse` always agree.

use jiff::{SignedDuration, Timestamp};

use crate::config::RenewBefore;

/// The moment from which the certificate counts as due.
pub fn renew_at(not_before: Timestamp, not_after: Timestamp, rule: RenewBefore) -> Timestamp {
    let before = match rule {
        RenewBefore::Fraction { num, den } => {
            let life = not_after.duration_since(not_before).as_secs().max(0);
            SignedDuration::from_secs(life.saturating_mul(i64::from(num)) / i64::from(den))
        }
        RenewBefore::Remaining(d) => {
            SignedDuration::from_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))
        }
    };
    not_after
        .checked_sub(before)
        .unwrap_or(Timestamp::MIN)
        .max(not_before)
}

/// The point inside an ARI window at which this certificate renews: a
/// fraction of the window derived from the key and serial, so it is stable
/// across runs (plan and pulse agree) and spreads a fleet across the window.
pub fn ari_point(window: super::AriWindow, key: &str, serial: &str) -> Timestamp {
    // FNV-1a: tiny, stable across versions and platforms (unlike std's hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain([0]).chain(serial.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let span = window.end.duration_since(window.start).as_secs().max(0);
    let offset = (u128::from(h) * span as u128 / u128::from(u64::MAX)) as i64;
    window
        .start
        .checked_add(SignedDuration::from_secs(offset))
        .unwrap_or(window.start)
}

/// Is the certificate due at `now`?
pub fn is_due(
    not_before: Timestamp,
    not_after: Timestamp,
    rule: RenewBefore,
    now: Timestamp,
) -> bool {
    now >= renew_at(not_before, not_after, rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn a_third_of_ninety_days() {
        let (nb, na) = (t("2026-01-01T00:00:00Z"), t("2026-04-01T00:00:00Z"));
        let third = RenewBefore::Fraction { num: 1, den: 3 };
        assert_eq!(renew_at(nb, na, third), t("2026-03-02T00:00:00Z"));
        assert!(!is_due(nb, na, third, t("2026-03-01T23:59:59Z")));
        assert!(is_due(nb, na, third, t("2026-03-02T00:00:00Z")));
    }

    #[test]
    fn a_fixed_duration() {
        let (nb, na) = (t("2026-01-01T00:00:00Z"), t("2026-04-01T00:00:00Z"));
        let thirty = RenewBefore::Remaining(Duration::from_secs(30 * 86_400));
        assert_eq!(renew_at(nb, na, thirty), t("2026-03-02T00:00:00Z"));
    }

    #[test]
    fn ari_point_is_stable_and_inside_the_window() {
        let w = crate::plan::AriWindow {
            start: t("2026-12-01T00:00:00Z"),
            end: t("2026-12-03T00:00:00Z"),
        };
        let a = ari_point(w, "web-main", "0a1b");
        assert_eq!(a, ari_point(w, "web-main", "0a1b"));
        assert!(a >= w.start && a <= w.end);
        let others: Vec<Timestamp> = (0..20)
            .map(|i| ari_point(w, &format!("k{i}"), "0a1b"))
            .collect();
        assert!(others.iter().any(|p| *p != a), "spread across the window");
    }

    #[test]
    fn never_before_issuance() {
        let (nb, na) = (t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z"));
        let long = RenewBefore::Remaining(Duration::from_secs(30 * 86_400));
        assert_eq!(renew_at(nb, na, long), nb);
    }
}
