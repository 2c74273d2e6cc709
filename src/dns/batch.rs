//! How many DNS-01 values one TXT owner can carry, and splitting one
//! pulse's certificates into zone updates that respect it. Every value
//! published at an owner is in every answer for it: with OpenDev's layout
//! (every `_acme-challenge` CNAME to the signing zone's apex) a first pulse
//! of a large fleet would otherwise put hundreds of values into one answer.
//! Pure arithmetic; `check --dns` warns with it and the issuance path can
//! batch with it.

use std::collections::BTreeMap;

/// EDNS UDP payload that fits one unfragmented datagram (DNS flag day
/// 2020); larger answers are truncated and must be asked again over TCP.
pub const UDP_PAYLOAD: usize = 1232;
/// Largest DNS message at all (TCP's 16-bit length prefix).
pub const MAX_MESSAGE: usize = 65535;

/// Header (12) plus the OPT record of an EDNS answer (11).
const FIXED: usize = 12 + 11;
/// The question the CA's validator asks is `_acme-challenge.<name>`, not
/// the owner, and its resolver's answer starts with the CNAME to the
/// owner: room for a challenge name of up to 64 octets, asked and aliased.
const QUESTION: usize = 64 + 4;
/// The CNAME record's fixed part (compressed owner, type, class, TTL,
/// length); its target, the TXT owner, is added in full.
const CNAME_FIXED: usize = 2 + 10;
/// One TXT record in the answer: compressed owner (2), type, class, TTL and
/// length (10), one length octet and a 43-character base64url SHA-256.
const PER_VALUE: usize = 2 + 10 + 1 + 43;

/// Length of `name` in wire format (labels with length octets, root octet).
fn wire_len(name: &str) -> usize {
    let name = name.trim_end_matches('.');
    if name.is_empty() {
        return 1;
    }
    name.split('.').map(|l| l.len() + 1).sum::<usize>() + 1
}

/// Size in bytes of the answer the CA's validator gets for a challenge
/// name whose CNAME leads to `owner` carrying `values` ACME values (no
/// DNSSEC signatures: a signed zone adds an RRSIG).
pub fn txt_response_size(owner: &str, values: usize) -> usize {
    FIXED + QUESTION + CNAME_FIXED + wire_len(owner) + values * PER_VALUE
}

/// How many ACME values fit at `owner` in an answer of at most `limit`
/// bytes; at least 1, since a single value must always be publishable.
pub fn values_within(owner: &str, limit: usize) -> usize {
    let base = txt_response_size(owner, 0);
    (limit.saturating_sub(base) / PER_VALUE).max(1)
}

/// Split `items` (certificates of one pulse) into batches, in order, so
/// that no owner gets more than `max_for(owner)` values in one batch.
/// `owners(item)` lists the TXT owner of each of the item's names, one entry
/// per value (a name and its wildcard give the same owner twice). First
/// fit: each item goes into the first batch with room, so the batches stay
/// few and an item never waits behind a later one. An item that alone
/// exceeds the limit cannot be split (it is one order) and gets a batch of
/// its own.
pub fn split<T>(
    items: Vec<T>,
    max_for: impl Fn(&str) -> usize,
    owners: impl Fn(&T) -> Vec<String>,
) -> Vec<Vec<T>> {
    let mut batches: Vec<(Vec<T>, BTreeMap<String, usize>)> = Vec::new();
    for item in items {
        let mut need: BTreeMap<String, usize> = BTreeMap::new();
        for owner in owners(&item) {
            *need.entry(owner).or_default() += 1;
        }
        let fits = |used: &BTreeMap<String, usize>| {
            need.iter()
                .all(|(o, n)| used.get(o).copied().unwrap_or(0) + n <= max_for(o))
        };
        let slot = batches.iter().position(|(_, used)| fits(used));
        let (batch, used) = match slot {
            Some(i) => &mut batches[i],
            None => {
                batches.push((Vec::new(), BTreeMap::new()));
                batches.last_mut().expect("just pushed")
            }
        };
        for (o, n) in need {
            *used.entry(o).or_default() += n;
        }
        batch.push(item);
    }
    batches.into_iter().map(|(b, _)| b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_wire_format() {
        // acme.opendev.org: 1+4 + 1+7 + 1+3 + 1 = 18 octets.
        assert_eq!(wire_len("acme.opendev.org"), 18);
        assert_eq!(wire_len("acme.opendev.org."), 18);
        assert_eq!(wire_len(""), 1);
        // Header and OPT 23, question 68, CNAME 12 + 18.
        assert_eq!(txt_response_size("acme.opendev.org", 0), 121);
        assert_eq!(txt_response_size("acme.opendev.org", 2), 121 + 112);
        // (1232 - 121) / 56 = 19.8: 19 values fit one datagram, 1168 one message.
        assert_eq!(values_within("acme.opendev.org", UDP_PAYLOAD), 19);
        assert_eq!(values_within("acme.opendev.org", MAX_MESSAGE), 1168);
        assert!(txt_response_size("acme.opendev.org", 19) <= UDP_PAYLOAD);
        assert!(txt_response_size("acme.opendev.org", 20) > UDP_PAYLOAD);
        // A long per-name label leaves room for fewer.
        let long = "a-rather-long-service-name.region01.opendev.org.acme.opendev.org";
        assert!(values_within(long, UDP_PAYLOAD) < 19);
        assert_eq!(values_within("x", 10), 1, "never zero");
    }

    fn owners_of(item: &(&str, Vec<&str>)) -> Vec<String> {
        item.1.iter().map(|o| (*o).to_owned()).collect()
    }

    fn keys(batches: &[Vec<(&str, Vec<&str>)>]) -> Vec<Vec<String>> {
        batches
            .iter()
            .map(|b| b.iter().map(|(k, _)| (*k).to_owned()).collect())
            .collect()
    }

    #[test]
    fn split_keeps_every_owner_under_its_limit() {
        let items = vec![
            ("a", vec!["apex", "apex"]),
            ("b", vec!["apex", "b.label"]),
            ("c", vec!["c.label"]),
            ("d", vec!["apex"]),
            ("e", vec!["apex", "e.label"]),
        ];
        let max = |o: &str| if o == "apex" { 2 } else { 10 };
        let batches = split(items, max, owners_of);
        assert_eq!(
            keys(&batches),
            [vec!["a", "c"], vec!["b", "d"], vec!["e"]],
            "first fit, order kept within each batch"
        );
        for b in &batches {
            let apex: usize = b
                .iter()
                .map(|(_, o)| o.iter().filter(|x| **x == "apex").count())
                .sum();
            assert!(apex <= 2, "{b:?}");
        }
    }

    #[test]
    fn split_is_one_batch_under_the_limit_and_isolates_oversized_items() {
        let items = vec![("a", vec!["apex"]), ("b", vec!["apex"])];
        assert_eq!(keys(&split(items, |_| 19, owners_of)), [vec!["a", "b"]]);
        let items = vec![
            ("big", vec!["apex", "apex", "apex"]),
            ("small", vec!["apex"]),
        ];
        assert_eq!(
            keys(&split(items, |_| 2, owners_of)),
            [vec!["big"], vec!["small"]]
        );
        let none: Vec<(&str, Vec<&str>)> = Vec::new();
        assert!(split(none, |_| 1, owners_of).is_empty());
    }

    #[test]
    fn two_hundred_apex_names_need_eleven_updates() {
        let items: Vec<(String, Vec<String>)> = (0..200)
            .map(|i| (format!("c{i}"), vec!["acme.opendev.org".to_owned()]))
            .collect();
        let batches = split(items, |o| values_within(o, UDP_PAYLOAD), |i| i.1.clone());
        assert_eq!(batches.len(), 11);
        assert!(batches.iter().all(|b| b.len() <= 19));
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 200);
    }
}
