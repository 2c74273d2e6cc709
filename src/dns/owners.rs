//! Where each TXT value goes. Every `_acme-challenge.<name>` is a CNAME
//! (possibly a chain) into the signing zone; the name it ends at inside that
//! zone owns the TXT record: the zone apex (OpenDev's layout) or a per-name
//! label. This module follows the chains through a recursive resolver and
//! explains, with the record to add, every name whose chain is broken.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;

use super::client::{DnsClient, DnsError, RData, RecordType, ResponseCode, normalize, rcode_name};

/// Longest CNAME chain followed; resolvers give up around here too.
const MAX_HOPS: usize = 8;
/// Lookups in flight at once.
const CONCURRENCY: usize = 32;

/// Where the TXT value of one certificate name goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Owner name of the TXT record (lowercase, no trailing dot).
    pub fqdn: String,
    /// The same name relative to the signing zone; `@` for the apex.
    pub label: String,
}

/// Why a certificate name has no owner in the signing zone.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    /// The challenge name does not exist at all.
    #[error("{challenge} does not exist (NXDOMAIN); {}", add_hint(.challenge, .zone))]
    NoSuchName {
        /// `_acme-challenge.<name>`.
        challenge: String,
        /// The signing zone.
        zone: String,
    },
    /// The challenge name exists but is no alias.
    #[error("no CNAME at {challenge}; {}", add_hint(.challenge, .zone))]
    NoCname {
        /// `_acme-challenge.<name>`.
        challenge: String,
        /// The signing zone.
        zone: String,
    },
    /// The chain ends outside the signing zone.
    #[error(
        "{challenge} points to {target}.{} which is outside the signing zone {zone}; \
         point it at {zone}. or a name below it",
        via(.chain)
    )]
    OutsideZone {
        /// `_acme-challenge.<name>`.
        challenge: String,
        /// Where the chain ends.
        target: String,
        /// The signing zone.
        zone: String,
        /// Every name of the chain, `challenge` first, `target` last.
        chain: Vec<String>,
    },
    /// The chain comes back to a name it already passed.
    #[error("CNAME loop from {challenge}: {}", chain.join(" -> "))]
    Loop {
        /// `_acme-challenge.<name>`.
        challenge: String,
        /// The chain, ending with the repeated name.
        chain: Vec<String>,
    },
    /// The chain is longer than certbridge follows.
    #[error("CNAME chain from {challenge} is longer than {MAX_HOPS} hops: {}", chain.join(" -> "))]
    TooLong {
        /// `_acme-challenge.<name>`.
        challenge: String,
        /// The names followed so far.
        chain: Vec<String>,
    },
    /// The resolver could not resolve a name of the chain.
    #[error(
        "resolver {resolver} answered SERVFAIL for {name} CNAME \
         (a broken delegation or a DNSSEC failure on the way)"
    )]
    ServFail {
        /// The name looked up.
        name: String,
        /// The resolver.
        resolver: SocketAddr,
    },
    /// The resolver refused to answer.
    #[error(
        "resolver {resolver} refused the query for {name} CNAME (does it allow recursion for this host?)"
    )]
    Refused {
        /// The name looked up.
        name: String,
        /// The resolver.
        resolver: SocketAddr,
    },
    /// Any other failure code.
    #[error("resolver {resolver} answered {rcode} for {name} CNAME")]
    Rcode {
        /// The name looked up.
        name: String,
        /// The resolver.
        resolver: SocketAddr,
        /// The response code's mnemonic.
        rcode: String,
    },
    /// The resolver did not answer in time.
    #[error("resolver {resolver} did not answer for {name} CNAME (timeout)")]
    Timeout {
        /// The name looked up.
        name: String,
        /// The resolver.
        resolver: SocketAddr,
    },
    /// The lookup failed before any answer.
    #[error("cannot look up {name} CNAME at resolver {resolver}")]
    Query {
        /// The name looked up.
        name: String,
        /// The resolver.
        resolver: SocketAddr,
        /// The client's error.
        #[source]
        source: DnsError,
    },
}

fn add_hint(challenge: &str, zone: &str) -> String {
    let name = challenge
        .strip_prefix("_acme-challenge.")
        .unwrap_or(challenge);
    format!("add `{challenge}. IN CNAME {zone}.` (or a per-name label such as {name}.{zone}.)")
}

fn via(chain: &[String]) -> String {
    match chain {
        [_, middle @ .., _] if !middle.is_empty() => format!(" (via {})", middle.join(" -> ")),
        _ => String::new(),
    }
}

/// `_acme-challenge.<name>` for a certificate name; `*.x` shares `x`'s.
pub fn challenge_name(cert_name: &str) -> String {
    let name = normalize(cert_name);
    let base = name.strip_prefix("*.").unwrap_or(&name);
    format!("_acme-challenge.{base}")
}

/// `fqdn` relative to `zone`: `@` for the apex, `None` when outside it.
pub fn label_in_zone(fqdn: &str, zone: &str) -> Option<String> {
    let (fqdn, zone) = (normalize(fqdn), normalize(zone));
    if fqdn == zone {
        return Some("@".into());
    }
    fqdn.strip_suffix(&zone)
        .and_then(|rest| rest.strip_suffix('.'))
        .filter(|label| !label.is_empty())
        .map(str::to_owned)
}

/// Follow `_acme-challenge.<name>` for every certificate name (as given,
/// `*.x` allowed) through `resolver` (recursion desired). A name succeeds
/// when its chain reaches `zone`; the map is keyed by the names as given.
pub async fn resolve_owners(
    resolver: SocketAddr,
    zone: &str,
    names: &[String],
    timeout: Duration,
) -> BTreeMap<String, Result<Owner, OwnerError>> {
    let zone = normalize(zone);
    futures::stream::iter(names)
        .map(|name| {
            let zone = &zone;
            async move {
                let owner = follow(resolver, zone, &challenge_name(name), timeout).await;
                (name.clone(), owner)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

async fn follow(
    resolver: SocketAddr,
    zone: &str,
    challenge: &str,
    timeout: Duration,
) -> Result<Owner, OwnerError> {
    let mut chain = vec![challenge.to_owned()];
    loop {
        let current = chain.last().map_or(challenge, String::as_str).to_owned();
        // Inside the signing zone we stop: what is there is ours to write,
        // and asking for a label that has no TXT yet would only plant an
        // NXDOMAIN in the resolver's negative cache.
        if let Some(label) = label_in_zone(&current, zone) {
            return Ok(Owner {
                fqdn: current,
                label,
            });
        }
        if chain.len() > MAX_HOPS {
            return Err(OwnerError::TooLong {
                challenge: challenge.to_owned(),
                chain,
            });
        }
        let answer = DnsClient::query(resolver, &current, RecordType::CNAME, true, timeout)
            .await
            .map_err(|e| match e {
                DnsError::Timeout { .. } => OwnerError::Timeout {
                    name: current.clone(),
                    resolver,
                },
                source => OwnerError::Query {
                    name: current.clone(),
                    resolver,
                    source,
                },
            })?;
        let first = chain.len() == 1;
        match answer.response_code {
            ResponseCode::NoError => {}
            ResponseCode::NXDomain if first => {
                return Err(OwnerError::NoSuchName {
                    challenge: challenge.to_owned(),
                    zone: zone.to_owned(),
                });
            }
            ResponseCode::NXDomain => return Err(outside(challenge, zone, chain)),
            ResponseCode::ServFail => {
                return Err(OwnerError::ServFail {
                    name: current,
                    resolver,
                });
            }
            ResponseCode::Refused => {
                return Err(OwnerError::Refused {
                    name: current,
                    resolver,
                });
            }
            other => {
                return Err(OwnerError::Rcode {
                    name: current,
                    resolver,
                    rcode: rcode_name(other),
                });
            }
        }
        let next = answer.at(&current).find_map(|d| match d {
            RData::Cname(target) => Some(target.clone()),
            _ => None,
        });
        match next {
            None if first => {
                return Err(OwnerError::NoCname {
                    challenge: challenge.to_owned(),
                    zone: zone.to_owned(),
                });
            }
            None => return Err(outside(challenge, zone, chain)),
            Some(target) => {
                let repeated = chain.contains(&target);
                chain.push(target);
                if repeated {
                    return Err(OwnerError::Loop {
                        challenge: challenge.to_owned(),
                        chain,
                    });
                }
            }
        }
    }
}

fn outside(challenge: &str, zone: &str, chain: Vec<String>) -> OwnerError {
    OwnerError::OutsideZone {
        challenge: challenge.to_owned(),
        target: chain.last().cloned().unwrap_or_default(),
        zone: zone.to_owned(),
        chain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_names() {
        assert_eq!(
            challenge_name("gitea01.opendev.org"),
            "_acme-challenge.gitea01.opendev.org"
        );
        assert_eq!(
            challenge_name("*.opendev.org"),
            "_acme-challenge.opendev.org"
        );
        assert_eq!(
            challenge_name("Example.ORG."),
            "_acme-challenge.example.org"
        );
    }

    #[test]
    fn labels_in_zone() {
        let z = "acme.opendev.org";
        assert_eq!(label_in_zone("acme.opendev.org", z).as_deref(), Some("@"));
        assert_eq!(label_in_zone("ACME.opendev.org.", z).as_deref(), Some("@"));
        assert_eq!(
            label_in_zone("gitea01.acme.opendev.org", z).as_deref(),
            Some("gitea01")
        );
        assert_eq!(
            label_in_zone("gitea01.opendev.org.acme.opendev.org", z).as_deref(),
            Some("gitea01.opendev.org")
        );
        assert_eq!(label_in_zone("xacme.opendev.org", z), None);
        assert_eq!(label_in_zone("opendev.org", z), None);
        assert_eq!(label_in_zone("elsewhere.example", z), None);
    }

    #[test]
    fn messages_name_the_record_to_add() {
        let e = OwnerError::NoCname {
            challenge: "_acme-challenge.gitea01.opendev.org".into(),
            zone: "acme.opendev.org".into(),
        };
        assert_eq!(
            e.to_string(),
            "no CNAME at _acme-challenge.gitea01.opendev.org; add \
             `_acme-challenge.gitea01.opendev.org. IN CNAME acme.opendev.org.` \
             (or a per-name label such as gitea01.opendev.org.acme.opendev.org.)"
        );
        let e = OwnerError::OutsideZone {
            challenge: "_acme-challenge.x".into(),
            target: "elsewhere.example".into(),
            zone: "acme.opendev.org".into(),
            chain: vec![
                "_acme-challenge.x".into(),
                "mid.example".into(),
                "elsewhere.example".into(),
            ],
        };
        assert_eq!(
            e.to_string(),
            "_acme-challenge.x points to elsewhere.example. (via mid.example) which is outside \
             the signing zone acme.opendev.org; point it at acme.opendev.org. or a name below it"
        );
    }

    #[tokio::test]
    async fn inside_the_zone_needs_no_lookup() {
        // Port 9 (discard) would time out: proof that nothing is asked.
        let r = resolve_owners(
            "127.0.0.1:9".parse().expect("addr"),
            "Example.org.",
            &["www.example.org".into(), "*.example.org".into()],
            Duration::from_millis(300),
        )
        .await;
        let owner = |n: &str| r[n].as_ref().expect("in zone").clone();
        assert_eq!(owner("www.example.org").label, "_acme-challenge.www");
        assert_eq!(owner("*.example.org").fqdn, "_acme-challenge.example.org");
    }
}
