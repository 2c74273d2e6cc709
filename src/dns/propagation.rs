//! Propagation check: before any challenge is answered, every authoritative
//! server of the signing zone must serve the new serial and every TXT value.
//! The CA validates from several perspectives (MPIC), each of which may ask
//! any of those servers, so one lagging secondary is enough to fail an order.
//! This module finds the servers and polls each of them directly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use tokio::time::Instant;

use super::client::{
    DnsClient, DnsError, RData, RecordType, ResponseCode, error_chain, normalize, parse_server,
    rcode_name,
};

/// Longest wait for one query while polling; a dead server must not hold up
/// a round for the whole propagation timeout.
const MAX_QUERY_TIME: Duration = Duration::from_secs(3);
/// TXT lookups in flight at once, per server.
const TXT_CONCURRENCY: usize = 32;

/// Errors while finding the authoritative servers.
#[derive(Debug, thiserror::Error)]
pub enum PropagationError {
    /// An entry of `dns.nameservers` is unusable.
    #[error("nameserver `{text}`")]
    Configured {
        /// The entry as written.
        text: String,
        /// Why it cannot be used.
        #[source]
        source: DnsError,
    },
    /// The NS lookup failed.
    #[error("cannot look up the NS set of {zone} at resolver {resolver}")]
    NsLookup {
        /// The signing zone.
        zone: String,
        /// The resolver.
        resolver: SocketAddr,
        /// The client's error.
        #[source]
        source: DnsError,
    },
    /// The resolver gave no NS set (with the response code it gave).
    #[error("no NS records for {zone} at resolver {resolver} ({rcode}); {SET_THEM}")]
    NoNs {
        /// The signing zone.
        zone: String,
        /// The resolver.
        resolver: SocketAddr,
        /// The response code's mnemonic.
        rcode: String,
    },
    /// A name server has no address this host can reach.
    #[error("no reachable A/AAAA address for name server {ns}; {SET_THEM}")]
    Address {
        /// The name server.
        ns: String,
        /// The lookup's error, if it failed.
        #[source]
        source: Option<DnsError>,
    },
}

const SET_THEM: &str = "list the servers in dns.nameservers";

/// One authoritative server, at one address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Server {
    /// The NS name or the configured entry.
    pub name: String,
    /// Where it is asked.
    pub addr: SocketAddr,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == self.addr.to_string() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{} ({})", self.name, self.addr)
        }
    }
}

/// The servers to check: the configured `host[:port]` entries (in order,
/// one per address), else the zone's NS set through `resolver`, every A and
/// AAAA address of each (port 53; IPv6 ones only when this host has an IPv6
/// route to them).
pub async fn authoritative_servers(
    configured: &[String],
    zone: &str,
    resolver: SocketAddr,
    timeout: Duration,
) -> Result<Vec<Server>, PropagationError> {
    if !configured.is_empty() {
        let mut servers: Vec<Server> = Vec::new();
        for text in configured {
            let addr =
                parse_server(text, 53)
                    .await
                    .map_err(|source| PropagationError::Configured {
                        text: text.clone(),
                        source,
                    })?;
            if servers.iter().all(|s| s.addr != addr) {
                let name = text.trim().to_owned();
                servers.push(Server { name, addr });
            }
        }
        return Ok(servers);
    }
    let mut servers = BTreeSet::new();
    let zone = normalize(zone);
    let answer = DnsClient::query(resolver, &zone, RecordType::NS, true, timeout)
        .await
        .map_err(|source| PropagationError::NsLookup {
            zone: zone.clone(),
            resolver,
            source,
        })?;
    let names: BTreeSet<String> = answer
        .at(&zone)
        .filter_map(|d| match d {
            RData::Ns(ns) => Some(ns.clone()),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        let rcode = rcode_name(answer.response_code);
        return Err(PropagationError::NoNs {
            zone,
            resolver,
            rcode,
        });
    }
    let found = join_all(names.iter().map(|ns| addresses(resolver, ns, timeout))).await;
    for (ns, addrs) in names.iter().zip(found) {
        for addr in addrs? {
            servers.insert(Server {
                name: ns.clone(),
                addr,
            });
        }
    }
    Ok(servers.into_iter().collect())
}

async fn addresses(
    resolver: SocketAddr,
    ns: &str,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, PropagationError> {
    let mut addrs = Vec::new();
    for rtype in [RecordType::A, RecordType::AAAA] {
        let answer = DnsClient::query(resolver, ns, rtype, true, timeout)
            .await
            .map_err(|e| PropagationError::Address {
                ns: ns.to_owned(),
                source: Some(e),
            })?;
        // A CNAME chain may precede the addresses, so any owner counts.
        for rr in &answer.answers {
            let ip: IpAddr = match rr.data {
                RData::A(ip) => ip.into(),
                RData::Aaaa(ip) => ip.into(),
                _ => continue,
            };
            let addr = SocketAddr::new(ip, 53);
            if ip.is_ipv4() || routable(addr).await {
                addrs.push(addr);
            }
        }
    }
    if addrs.is_empty() {
        return Err(PropagationError::Address {
            ns: ns.to_owned(),
            source: None,
        });
    }
    Ok(addrs)
}

/// Whether this host has a route to an IPv6 address: connecting a UDP socket
/// sends nothing but fails without one, so an IPv4-only host does not wait
/// out a timeout on every poll.
async fn routable(addr: SocketAddr) -> bool {
    match tokio::net::UdpSocket::bind("[::]:0").await {
        Ok(sock) => sock.connect(addr).await.is_ok(),
        Err(_) => false,
    }
}

/// Whether zone serial `seen` is at or past `want` in RFC 1982 serial
/// arithmetic, so a serial that wrapped past 2^32 still counts as newer.
pub fn serial_at_least(seen: u32, want: u32) -> bool {
    seen.wrapping_sub(want) < 1 << 31
}

/// What one server showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// The server.
    pub server: Server,
    /// The last SOA serial it served with the AA flag.
    pub serial_seen: Option<u32>,
    /// Whether it ever answered at all.
    pub answered: bool,
    /// It serves the serial and every expected value.
    pub ok: bool,
    /// Expected values not served yet, per owner (all of them until the
    /// serial is there).
    pub missing: BTreeMap<String, Vec<String>>,
    /// The last problem seen, if the last round had one.
    pub last_error: Option<String>,
}

/// The outcome of [`wait_for`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropagationReport {
    /// Time spent waiting.
    pub elapsed: Duration,
    /// The serial waited for.
    pub serial: u32,
    /// The owners whose values were waited for.
    pub owners: BTreeSet<String>,
    /// One entry per server, in the order given.
    pub per_server: Vec<ServerStatus>,
}

impl PropagationReport {
    /// Every server serves the serial and every value (false with no servers).
    pub fn all_ok(&self) -> bool {
        !self.per_server.is_empty() && self.per_server.iter().all(|s| s.ok)
    }

    /// Owners missing a value on at least one server; every owner where a
    /// server never showed the serial, and every owner when there is no server.
    pub fn failed_owners(&self) -> BTreeSet<String> {
        if self.per_server.is_empty() {
            return self.owners.clone();
        }
        let mut failed = BTreeSet::new();
        for s in self.per_server.iter().filter(|s| !s.ok) {
            let reached = s
                .serial_seen
                .is_some_and(|v| serial_at_least(v, self.serial));
            if reached && !s.missing.is_empty() {
                failed.extend(s.missing.keys().cloned());
            } else {
                failed.extend(self.owners.iter().cloned());
            }
        }
        failed
    }

    /// One line per server that is not there yet, naming it and why.
    pub fn describe_failures(&self) -> Vec<String> {
        if self.per_server.is_empty() {
            return vec!["no authoritative server to check".into()];
        }
        let after = secs(self.elapsed);
        let want = self.serial;
        let mut lines = Vec::new();
        for s in self.per_server.iter().filter(|s| !s.ok) {
            let who = &s.server;
            let error = s
                .last_error
                .as_deref()
                .unwrap_or("no SOA record in the answer");
            let mut line = match s.serial_seen {
                None if !s.answered => format!("{who} does not answer: {error} (waited {after})"),
                None => format!("{who} {error} (waited {after})"),
                Some(seen) if !serial_at_least(seen, want) => {
                    format!("{who} still serves serial {seen} (want >= {want}) after {after}")
                }
                Some(seen) => {
                    let owners: Vec<String> = s
                        .missing
                        .iter()
                        .map(|(owner, values)| format!("{} at {owner}", values.len()))
                        .collect();
                    format!(
                        "{who} serves serial {seen} but lacks TXT values ({}) after {after}",
                        owners.join(", ")
                    )
                }
            };
            if let (Some(_), Some(e)) = (s.serial_seen, &s.last_error) {
                line.push_str(&format!("; last error: {e}"));
            }
            lines.push(line);
        }
        lines
    }
}

fn secs(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{}s", d.as_secs_f64().round())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Poll every server directly until each serves SOA serial >= `serial` with
/// the AA flag and every `expected` TXT value (others may be there too), or
/// `timeout` passes. All servers are polled at once, each at a pause that grows to `poll`; the
/// wait ends as soon as everything is visible everywhere.
pub async fn wait_for(
    servers: &[Server],
    zone: &str,
    serial: u32,
    expected: &BTreeMap<String, BTreeSet<String>>,
    timeout: Duration,
    poll: Duration,
) -> PropagationReport {
    let started = Instant::now();
    let deadline = started + timeout;
    let zone = normalize(zone);
    let expected: BTreeMap<String, BTreeSet<String>> = expected
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(owner, values)| (owner.clone(), values.clone()))
        .collect();
    let all_missing: BTreeMap<String, Vec<String>> = expected
        .iter()
        .map(|(owner, values)| (owner.clone(), values.iter().cloned().collect()))
        .collect();
    let mut states: Vec<ServerStatus> = servers
        .iter()
        .map(|server| ServerStatus {
            server: server.clone(),
            serial_seen: None,
            answered: false,
            ok: false,
            missing: all_missing.clone(),
            last_error: None,
        })
        .collect();
    let watches = states
        .iter_mut()
        .map(|s| watch(s, &zone, serial, &expected, deadline, poll));
    join_all(watches).await;
    PropagationReport {
        elapsed: started.elapsed(),
        serial,
        owners: expected.into_keys().collect(),
        per_server: states,
    }
}

/// Poll one server until it is there or time is up. Each server has its
/// own rhythm, so a dead one does not slow the others down.
async fn watch(
    s: &mut ServerStatus,
    zone: &str,
    serial: u32,
    expected: &BTreeMap<String, BTreeSet<String>>,
    deadline: Instant,
    poll: Duration,
) {
    // A reload takes BIND a few milliseconds, so the first check often
    // comes too early; the pause ramps up to `poll` instead of starting
    // there, which would add a whole `poll` to every pulse.
    let mut pause = (poll / 8).max(Duration::from_millis(10)).min(poll);
    for round in 1u32.. {
        let begun = Instant::now();
        let budget = deadline
            .saturating_duration_since(begun)
            .clamp(Duration::from_millis(100), MAX_QUERY_TIME);
        check(s, zone, serial, expected, budget).await;
        tracing::debug!(server = %s.server, round, ok = s.ok, "propagation poll");
        if s.ok || Instant::now() >= deadline {
            break;
        }
        // The last poll happens at the deadline itself.
        tokio::time::sleep_until((begun + pause).min(deadline)).await;
        pause = (pause * 2).min(poll);
    }
}

/// One poll of one server: the SOA first, the TXT sets once the serial is there.
async fn check(
    s: &mut ServerStatus,
    zone: &str,
    serial: u32,
    expected: &BTreeMap<String, BTreeSet<String>>,
    budget: Duration,
) {
    let addr = s.server.addr;
    let soa = match DnsClient::query(addr, zone, RecordType::SOA, false, budget).await {
        Ok(a) => a,
        Err(e) => {
            s.last_error = Some(short(&e));
            return;
        }
    };
    s.answered = true;
    s.last_error = None;
    if soa.response_code != ResponseCode::NoError {
        let code = rcode_name(soa.response_code);
        s.last_error = Some(format!(
            "answers {code} for {zone} SOA: does it serve the zone?"
        ));
        return;
    }
    if !soa.authoritative {
        s.last_error = Some(format!(
            "answers for {zone} SOA without the AA flag: not authoritative (a lame delegation?)"
        ));
        return;
    }
    let seen = soa.at(zone).find_map(|d| match d {
        RData::Soa { serial, .. } => Some(*serial),
        _ => None,
    });
    s.serial_seen = seen.or(s.serial_seen);
    if !seen.is_some_and(|v| serial_at_least(v, serial)) {
        return;
    }
    let lookups = expected.iter().map(|(owner, values)| async move {
        let r = DnsClient::query(addr, owner, RecordType::TXT, false, budget).await;
        (owner, values, r)
    });
    // Bounded: hundreds of per-name labels times several servers would
    // otherwise open that many sockets at once.
    let results: Vec<_> = futures::stream::iter(lookups)
        .buffer_unordered(TXT_CONCURRENCY)
        .collect()
        .await;
    let mut missing = BTreeMap::new();
    let mut problem = None;
    for (owner, values, result) in results {
        let served: BTreeSet<String> = match result {
            Ok(a) if !a.authoritative => {
                problem = Some(format!("answers for {owner} TXT without the AA flag"));
                BTreeSet::new()
            }
            Ok(a)
                if matches!(
                    a.response_code,
                    ResponseCode::NoError | ResponseCode::NXDomain
                ) =>
            {
                a.at(owner).filter_map(RData::txt_value).collect()
            }
            Ok(a) => {
                let code = rcode_name(a.response_code);
                problem = Some(format!("answers {code} for {owner} TXT"));
                BTreeSet::new()
            }
            Err(e) => {
                problem = Some(short(&e));
                BTreeSet::new()
            }
        };
        let lacking: Vec<String> = values.difference(&served).cloned().collect();
        if !lacking.is_empty() {
            missing.insert(owner.clone(), lacking);
        }
    }
    s.ok = missing.is_empty() && problem.is_none();
    s.missing = missing;
    s.last_error = problem;
}

fn short(e: &DnsError) -> String {
    match e {
        DnsError::Timeout { .. } => "timeout".into(),
        DnsError::Io { source, .. } => source.to_string(),
        other => error_chain(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, port: u16) -> Server {
        Server {
            name: name.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn status(s: Server, serial_seen: Option<u32>, missing: &[(&str, &str)]) -> ServerStatus {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (owner, value) in missing {
            m.entry((*owner).into()).or_default().push((*value).into());
        }
        ServerStatus {
            server: s,
            serial_seen,
            answered: serial_seen.is_some(),
            ok: serial_seen == Some(42) && m.is_empty(),
            missing: m,
            last_error: serial_seen.is_none().then(|| "timeout".into()),
        }
    }

    fn report(per_server: Vec<ServerStatus>) -> PropagationReport {
        PropagationReport {
            elapsed: Duration::from_secs(30),
            serial: 42,
            owners: ["a.acme", "b.acme", "acme"].map(String::from).into(),
            per_server,
        }
    }

    #[test]
    fn serial_arithmetic_wraps() {
        assert!(serial_at_least(42, 42));
        assert!(serial_at_least(43, 42));
        assert!(!serial_at_least(41, 42));
        assert!(
            serial_at_least(3, u32::MAX - 2),
            "wrapped past 2^32 is newer"
        );
        assert!(!serial_at_least(u32::MAX - 2, 3));
        assert!(
            !serial_at_least(42 + (1 << 31), 42),
            "exactly half-way is undefined"
        );
        assert!(serial_at_least(42 + (1 << 31) - 1, 42));
    }

    #[test]
    fn failed_owners_per_server() {
        let ok = report(vec![status(server("ns1", 1), Some(42), &[])]);
        assert!(ok.all_ok());
        assert!(ok.failed_owners().is_empty());
        assert!(ok.describe_failures().is_empty());

        let r = report(vec![
            status(server("ns1", 1), Some(42), &[]),
            status(
                server("ns2", 2),
                Some(42),
                &[("a.acme", "v1"), ("a.acme", "v2")],
            ),
        ]);
        assert!(!r.all_ok());
        assert_eq!(r.failed_owners(), ["a.acme".to_string()].into());
        assert_eq!(
            r.describe_failures(),
            ["ns2 (127.0.0.1:2) serves serial 42 but lacks TXT values (2 at a.acme) after 30s"]
        );

        let lagging = report(vec![status(
            server("ns2", 5454),
            Some(41),
            &[("a.acme", "v1")],
        )]);
        assert_eq!(lagging.failed_owners(), lagging.owners);
        assert_eq!(
            lagging.describe_failures(),
            ["ns2 (127.0.0.1:5454) still serves serial 41 (want >= 42) after 30s"]
        );

        let silent = report(vec![status(server("127.0.0.1:9", 9), None, &[])]);
        assert_eq!(silent.failed_owners(), silent.owners);
        assert_eq!(
            silent.describe_failures(),
            ["127.0.0.1:9 does not answer: timeout (waited 30s)"]
        );

        let none = report(Vec::new());
        assert!(!none.all_ok());
        assert_eq!(none.failed_owners(), none.owners);
    }

    #[tokio::test]
    async fn configured_servers_win_over_ns() {
        let s = authoritative_servers(
            &[
                "127.0.0.1:5454".into(),
                "[::1]".into(),
                " 127.0.0.1:5454".into(),
            ],
            "acme.example.org",
            "127.0.0.1:9".parse().expect("addr"),
            Duration::from_millis(100),
        )
        .await
        .expect("configured");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].to_string(), "127.0.0.1:5454");
        assert_eq!(s[1].addr, "[::1]:53".parse::<SocketAddr>().expect("addr"));
        assert_eq!(s[1].to_string(), "[::1] ([::1]:53)");
    }
}
