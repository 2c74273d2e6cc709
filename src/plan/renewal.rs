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
    fn never_before_issuance() {
        let (nb, na) = (t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z"));
        let long = RenewBefore::Remaining(Duration::from_secs(30 * 86_400));
        assert_eq!(renew_at(nb, na, long), nb);
    }
}
