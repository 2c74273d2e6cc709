//! The ssl-cert-check list (`certcheck_file`), as OpenDev's
//! `letsencrypt-config-certcheck` role wrote `/var/lib/certcheck/ssldomains`:
//! one `name port` line per certificate (its first name, with the `:port`
//! of that entry or 443), then each host's
//! `letsencrypt_certcheck_additional_domains`, without repeats.

use std::collections::BTreeSet;

use crate::inventory::fleet::Fleet;

/// The port ssl-cert-check connects to when the inventory names none.
pub const DEFAULT_PORT: u16 = 443;

/// Render the list for every host of the fleet, in host order.
///
/// A wildcard first name is left out: there is no host called `*.x` to
/// connect to (the metrics still cover that certificate).
pub fn render(fleet: &Fleet) -> String {
    let mut seen = BTreeSet::new();
    let mut out = String::new();
    let mut push = |line: String| {
        if seen.insert(line.clone()) {
            out.push_str(&line);
            out.push('\n');
        }
    };
    for (name, host) in &fleet.hosts {
        for c in fleet.certs.iter().filter(|c| &c.host == name) {
            let first = &c.names[0];
            if first.name.starts_with("*.") {
                continue;
            }
            push(format!(
                "{} {}",
                first.name,
                first.port.unwrap_or(DEFAULT_PORT)
            ));
        }
        for extra in &host.certcheck_additional {
            let words: Vec<&str> = extra.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [name] => push(format!("{name} {DEFAULT_PORT}")),
                words => push(words.join(" ")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::fleet::{Certificate, FleetHost, NameEntry};

    fn host(name: &str, extra: &[&str]) -> FleetHost {
        FleetHost {
            name: name.into(),
            address: name.into(),
            port: None,
            user: None,
            staging: false,
            self_sign: false,
            account_email: None,
            certcheck_additional: extra.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn cert(key: &str, host: &str, names: &[(&str, Option<u16>)]) -> Certificate {
        Certificate {
            key: key.into(),
            host: host.into(),
            names: names
                .iter()
                .map(|(n, p)| NameEntry {
                    name: (*n).into(),
                    port: *p,
                })
                .collect(),
        }
    }

    /// Ports from `name:port`, a wildcard first name, extra lines with and
    /// without a port, and a line two hosts both list.
    fn opendev_like_fleet() -> Fleet {
        let mut fleet = Fleet::default();
        for h in [
            host(
                "mirror01.opendev.org",
                &["mirror.opendev.org 4443", "shared.opendev.org"],
            ),
            host("review01.opendev.org", &["shared.opendev.org   443"]),
            host("static01.opendev.org", &[]),
        ] {
            fleet.hosts.insert(h.name.clone(), h);
        }
        fleet.certs = vec![
            cert(
                "mirror01-main",
                "mirror01.opendev.org",
                &[("mirror01.opendev.org", None), ("mirror.opendev.org", None)],
            ),
            cert(
                "review01-main",
                "review01.opendev.org",
                &[
                    ("review.opendev.org", Some(29418)),
                    ("review01.opendev.org", None),
                ],
            ),
            cert(
                "static01-wild",
                "static01.opendev.org",
                &[("*.static.opendev.org", None), ("static.opendev.org", None)],
            ),
            cert(
                "static01-main",
                "static01.opendev.org",
                &[("static.opendev.org", None)],
            ),
        ];
        fleet
    }

    #[test]
    fn certcheck_lists_first_names_ports_and_extras_once() {
        assert_eq!(
            render(&opendev_like_fleet()),
            "mirror01.opendev.org 443\n\
             mirror.opendev.org 4443\n\
             shared.opendev.org 443\n\
             review.opendev.org 29418\n\
             static.opendev.org 443\n"
        );
    }
}
