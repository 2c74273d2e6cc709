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
