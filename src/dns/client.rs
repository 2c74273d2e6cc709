//! A small DNS client: one question to one server, over UDP with a TCP
//! retry when the answer is truncated. It owns the wire format (through
//! hickory's message types), server addresses (`host[:port]`, the system
//! resolver) and name spelling: the rest of certbridge sees lowercase names
//! without the trailing dot and plain record values, never hickory types
//! other than [`RecordType`] and [`ResponseCode`].

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_net::proto::ProtoError;
use hickory_net::proto::op::{Edns, Message, MessageType, Query};
use hickory_net::proto::rr::{Name, RData as WireData, Record};
use hickory_net::proto::serialize::binary::DecodeError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

pub use hickory_net::proto::op::ResponseCode;
pub use hickory_net::proto::rr::RecordType;

/// UDP tries per query; the time allowed is shared between them.
const ATTEMPTS: u32 = 3;
/// EDNS buffer size (the 2020 DNS flag day value): large TXT sets still fit
/// one datagram without inviting IP fragmentation.
const UDP_PAYLOAD: u16 = 1232;

/// Errors of the DNS client.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The name cannot be put into a query.
    #[error("`{name}` is not a valid DNS name")]
    BadName {
        /// The name as given.
        name: String,
        /// Why hickory rejected it.
        #[source]
        source: ProtoError,
    },
    /// Sending or receiving failed (port closed, no route, connection reset).
    #[error("cannot exchange messages with {server}")]
    Io {
        /// The server.
        server: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// No usable answer arrived in the time allowed.
    #[error("no answer from {server} for {name} {rtype} within {timeout:?} ({ATTEMPTS} tries)")]
    Timeout {
        /// The server.
        server: SocketAddr,
        /// The queried name.
        name: String,
        /// The queried type.
        rtype: RecordType,
        /// The whole time allowed.
        timeout: Duration,
    },
    /// What the server sent was undecodable, or (over TCP) for another question.
    #[error("unusable answer from {server} for {name} {rtype}")]
    BadAnswer {
        /// The server.
        server: SocketAddr,
        /// The queried name.
        name: String,
        /// The queried type.
        rtype: RecordType,
        /// The decoder's error; none when the answer was for another question.
        #[source]
        source: Option<DecodeError>,
    },
    /// A server address that cannot be parsed.
    #[error("invalid DNS server `{text}`: {reason}")]
    BadServer {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The host name of a server has no address.
    #[error("cannot resolve the host name `{host}`")]
    Lookup {
        /// The host name.
        host: String,
        /// The system resolver's error; none when it found no address.
        #[source]
        source: Option<std::io::Error>,
    },
    /// The resolver configuration is unreadable or names no usable server.
    #[error("no usable `nameserver` line in {}", path.display())]
    NoNameserver {
        /// Usually `/etc/resolv.conf`.
        path: PathBuf,
        /// The read error, when the file could not be read.
        #[source]
        source: Option<std::io::Error>,
    },
}

/// The part of a response certbridge looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// RCODE (`NoError`, `NXDomain`, `ServFail`, ...).
    pub response_code: ResponseCode,
    /// The AA flag: the server is authoritative for the queried name.
    pub authoritative: bool,
    /// The answer section, in the order received.
    pub answers: Vec<Rr>,
}

impl Answer {
    /// Data of the answer records owned by `name` (any spelling).
    pub fn at<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a RData> + 'a {
        let name = normalize(name);
        self.answers
            .iter()
            .filter(move |rr| rr.name == name)
            .map(|rr| &rr.data)
    }
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// Owner name: lowercase, no trailing dot.
    pub name: String,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The record's data.
    pub data: RData,
}

/// Record data, for the types certbridge reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// Alias target (lowercase, no trailing dot).
    Cname(String),
    /// The character-strings of one TXT record; [`RData::txt_value`] joins them.
    Txt(Vec<String>),
    /// Start of authority.
    Soa {
        /// Zone serial.
        serial: u32,
        /// Primary server name (lowercase, no trailing dot).
        mname: String,
    },
    /// A name server (lowercase, no trailing dot).
    Ns(String),
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Certification Authority Authorization (RFC 8659).
    Caa {
        /// Flags; 128 is the issuer-critical bit.
        flags: u8,
        /// Property tag (`issue`, `issuewild`, `iodef`, ...), lowercase.
        tag: String,
        /// Property value, as in the zone file but unquoted.
        value: String,
    },
    /// Any other type.
    Other,
}

impl RData {
    /// A TXT record's value: its character-strings joined, as ACME reads it.
    pub fn txt_value(&self) -> Option<String> {
        match self {
            RData::Txt(parts) => Some(parts.concat()),
            _ => None,
        }
    }
}

/// Sends single questions to DNS servers. Every query has its own socket, so
/// concurrent queries share nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct DnsClient;

impl DnsClient {
    /// Ask `server` one question. `timeout` bounds the whole exchange: UDP
    /// is tried up to three times within it, and a truncated UDP answer is
    /// asked again over TCP in the time that is left.
    pub async fn query(
        server: SocketAddr,
        name: &str,
        rtype: RecordType,
        recursion_desired: bool,
        timeout: Duration,
    ) -> Result<Answer, DnsError> {
        let name = normalize(name);
        let bad_name = |source| DnsError::BadName {
            name: name.clone(),
            source,
        };
        let qname = Name::from_ascii(format!("{name}.")).map_err(bad_name)?;
        let mut msg = Message::query();
        msg.metadata.recursion_desired = recursion_desired;
        msg.add_query(Query::query(qname.clone(), rtype));
        msg.set_edns(Edns::new().set_max_payload(UDP_PAYLOAD).clone());
        let bytes = msg.to_vec().map_err(bad_name)?;
        let id = msg.metadata.id;
        let matches = |m: &Message| {
            m.metadata.id == id
                && m.metadata.message_type == MessageType::Response
                && m.queries.len() == 1
                && m.queries[0].name == qname
                && m.queries[0].query_type == rtype
        };
        let io = |source| DnsError::Io { server, source };
        let unusable = |source| DnsError::BadAnswer {
            server,
            name: name.clone(),
            rtype,
            source,
        };
        let timed_out = || DnsError::Timeout {
            server,
            name: name.clone(),
            rtype,
            timeout,
        };
        let deadline = Instant::now() + timeout;
        let mut response = match udp(server, &bytes, &matches, deadline, timeout / ATTEMPTS).await {
            Ok(Ok(m)) => m,
            Ok(Err(Some(undecodable))) => return Err(unusable(Some(undecodable))),
            Ok(Err(None)) => return Err(timed_out()),
            Err(e) => return Err(io(e)),
        };
        if response.metadata.truncation {
            let buf = timeout_at(deadline, tcp(server, &bytes))
                .await
                .map_err(|_| timed_out())?
                .map_err(io)?;
            response = Message::from_vec(&buf).map_err(|e| unusable(Some(e)))?;
            if !matches(&response) {
                return Err(unusable(None));
            }
        }
        Ok(Answer {
            response_code: response.metadata.response_code,
            authoritative: response.metadata.authoritative,
            answers: response.answers.iter().map(convert).collect(),
        })
    }
}

/// The UDP exchange: the matching response, or no response (with the last
/// decoding error, if garbage arrived).
async fn udp(
    server: SocketAddr,
    bytes: &[u8],
    matches: &impl Fn(&Message) -> bool,
    deadline: Instant,
    per_try: Duration,
) -> std::io::Result<Result<Message, Option<DecodeError>>> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).await?;
    sock.connect(server).await?;
    let mut buf = vec![0u8; 65535];
    let mut undecodable = None;
    for _ in 0..ATTEMPTS {
        sock.send(bytes).await?;
        let until = (Instant::now() + per_try).min(deadline);
        // Keep reading until this try's time is up: a stray or garbled
        // datagram must not end the query, and a late answer to an earlier
        // try (same id) is as good as any.
        while let Ok(got) = timeout_at(until, sock.recv(&mut buf)).await {
            match Message::from_vec(&buf[..got?]) {
                Ok(m) if matches(&m) => return Ok(Ok(m)),
                Ok(_) => {}
                Err(e) => undecodable = Some(e),
            }
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    Ok(Err(undecodable))
}

/// The TCP exchange (RFC 1035 4.2.2: each message prefixed by its length).
async fn tcp(server: SocketAddr, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(bytes.len()).map_err(std::io::Error::other)?;
    stream
        .write_all(&[&len.to_be_bytes(), bytes].concat())
        .await?;
    let mut buf = vec![0u8; usize::from(stream.read_u16().await?)];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

fn convert(rec: &Record) -> Rr {
    let data = match &rec.data {
        WireData::CNAME(c) => RData::Cname(plain(&c.0)),
        WireData::TXT(t) => RData::Txt(
            t.txt_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        WireData::SOA(s) => RData::Soa {
            serial: s.serial,
            mname: plain(&s.mname),
        },
        WireData::NS(n) => RData::Ns(plain(&n.0)),
        WireData::A(a) => RData::A(a.0),
        WireData::AAAA(a) => RData::Aaaa(a.0),
        WireData::CAA(c) => RData::Caa {
            flags: c.flags(),
            tag: c.tag.to_ascii_lowercase(),
            value: String::from_utf8_lossy(&c.value).into_owned(),
        },
        _ => RData::Other,
    };
    Rr {
        name: plain(&rec.name),
        ttl: rec.ttl,
        data,
    }
}

fn plain(name: &Name) -> String {
    normalize(&name.to_ascii())
}

/// A name as certbridge spells it: trimmed, lowercase, no trailing dot.
pub fn normalize(name: &str) -> String {
    let name = name.trim();
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Mnemonic of a response code as `dig` prints it (`NXDOMAIN`, `SERVFAIL`).
pub fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("{other} ({})", u16::from(other)),
    }
}

/// An error and its causes on one line, `outer: inner: innermost`.
pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// Where a `host[:port]` points before any name lookup.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
    Addr(SocketAddr),
    Host(String, u16),
}

fn split_server(text: &str, default_port: u16) -> Result<Endpoint, DnsError> {
    let bad = |reason| DnsError::BadServer {
        text: text.to_owned(),
        reason,
    };
    let t = text.trim();
    let port = |p: &str| match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad("the port must be a number from 1 to 65535")),
        Ok(p) => Ok(p),
    };
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if let Some(rest) = t.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(|| bad("missing `]`"))?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| bad("not an IPv6 address in `[...]`"))?;
        let port = match after {
            "" => default_port,
            p => port(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("expected `:port` after `]`"))?,
            )?,
        };
        return Ok(Endpoint::Addr((ip, port).into()));
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(Endpoint::Addr((ip, default_port).into()));
    }
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(Endpoint::Addr(addr));
    }
    let (host, p) = match t.split_once(':') {
        None => (t, default_port),
        Some((_, p)) if p.contains(':') => {
            return Err(bad("write an IPv6 address with a port as `[address]:port`"));
        }
        Some((h, p)) => (h, port(p)?),
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if host.is_empty() || !host.chars().all(valid) {
        return Err(bad(
            "expected an IP address or a host name, with an optional `:port`",
        ));
    }
    Ok(Endpoint::Host(host.to_owned(), p))
}

/// Parse `host[:port]`, `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`. Host
/// names are resolved with the system resolver; the first address wins.
pub async fn parse_server(text: &str, default_port: u16) -> Result<SocketAddr, DnsError> {
    match split_server(text, default_port)? {
        Endpoint::Addr(addr) => Ok(addr),
        Endpoint::Host(host, port) => {
            let (first, source) = match tokio::net::lookup_host(format!("{host}:{port}")).await {
                Ok(mut addrs) => (addrs.next(), None),
                Err(e) => (None, Some(e)),
            };
            first.ok_or(DnsError::Lookup { host, source })
        }
    }
}

/// The first usable `nameserver` of /etc/resolv.conf, port 53.
pub fn system_resolver() -> Result<SocketAddr, DnsError> {
    let path = Path::new("/etc/resolv.conf");
    let text = std::fs::read_to_string(path);
    let first = text.as_deref().ok().and_then(first_nameserver);
    first.ok_or_else(|| DnsError::NoNameserver {
        path: path.to_owned(),
        source: text.err(),
    })
}

fn first_nameserver(text: &str) -> Option<SocketAddr> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            // Link-local addresses with a `%zone` do not parse and are skipped.
            (Some("nameserver"), Some(ip)) => ip.parse::<IpAddr>().ok().map(|ip| (ip, 53).into()),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Endpoint {
        Endpoint::Addr(s.parse().expect("test address"))
    }

    #[test]
    fn servers_in_every_spelling() {
        let ok = |t: &str| split_server(t, 53).expect(t);
        assert_eq!(ok("127.0.0.1"), addr("127.0.0.1:53"));
        assert_eq!(ok(" 127.0.0.1:5454 "), addr("127.0.0.1:5454"));
        assert_eq!(ok("::1"), addr("[::1]:53"));
        assert_eq!(ok("[::1]"), addr("[::1]:53"));
        assert_eq!(ok("[2001:db8::1]:5353"), addr("[2001:db8::1]:5353"));
        assert_eq!(
            ok("ns1.example.org"),
            Endpoint::Host("ns1.example.org".into(), 53)
        );
        assert_eq!(
            ok("ns1.example.org:5454"),
            Endpoint::Host("ns1.example.org".into(), 5454)
        );
        for bad in [
            "",
            "  ",
            "[::1",
            "[::1]5353",
            "[nope]:53",
            "ns1:0",
            "ns1:x",
            "a b",
            "ns1:",
            ":53",
        ] {
            assert!(split_server(bad, 53).is_err(), "{bad:?} should fail");
        }
        let e = split_server("2001:db8::1:5353x", 53).expect_err("ambiguous v6");
        assert!(e.to_string().contains("[address]:port"), "{e}");
    }

    #[tokio::test]
    async fn parse_server_resolves_host_names() {
        let a = parse_server("localhost:5454", 53)
            .await
            .expect("localhost resolves");
        assert!(a.ip().is_loopback());
        assert_eq!(a.port(), 5454);
        assert_eq!(
            parse_server("10.0.0.1", 53).await.expect("ip"),
            "10.0.0.1:53".parse().expect("test address")
        );
    }

    #[test]
    fn resolv_conf_first_usable_nameserver() {
        let text = "# comment\nsearch example.org\nnameserver fe80::1%eth0\nnameserver 10.255.255.53\nnameserver 1.1.1.1\n";
        assert_eq!(
            first_nameserver(text),
            Some("10.255.255.53:53".parse().expect("addr"))
        );
        assert_eq!(first_nameserver("search x\n"), None);
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(
            normalize(" _ACME-Challenge.Example.ORG. "),
            "_acme-challenge.example.org"
        );
        assert_eq!(normalize("example.org"), "example.org");
        assert_eq!(rcode_name(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(
            RData::Txt(vec!["ab".into(), "cd".into()])
                .txt_value()
                .as_deref(),
            Some("abcd")
        );
    }

    #[test]
    fn error_chain_lists_causes() {
        let e = DnsError::Io {
            server: "127.0.0.1:53".parse().expect("addr"),
            source: std::io::Error::other("connection refused"),
        };
        assert_eq!(
            error_chain(&e),
            "cannot exchange messages with 127.0.0.1:53: connection refused"
        );
    }
}
