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
    /// The name cannot be written as a DNS name.
    #[error("`{name}` is not a valid DNS name")]
    BadName {
        /// The name as given.
        name: String,
        /// Why hickory rejected it.
        #[source]
        source: ProtoError,
    },
    /// The query could not be encoded.
    #[error("cannot encode a query for {name}")]
    Encode {
        /// The queried name.
        name: String,
        /// The encoder's error.
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
    /// Everything the server sent was undecodable.
    #[error("malformed answer from {server} for {name} {rtype}")]
    Malformed {
        /// The server.
        server: SocketAddr,
        /// The queried name.
        name: String,
        /// The queried type.
        rtype: RecordType,
        /// The decoder's error.
        #[source]
        source: DecodeError,
    },
    /// The TCP answer is for another question.
    #[error("answer from {server} over TCP does not match the question {name} {rtype}")]
    Mismatch {
        /// The server.
        server: SocketAddr,
        /// The queried name.
        name: String,
        /// The queried type.
        rtype: RecordType,
    },
    /// A server address that cannot be parsed.
    #[error("invalid DNS server `{text}`: {reason}")]
    BadServer {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The host name of a server could not be resolved.
    #[error("cannot resolve the host name `{host}`")]
    Lookup {
        /// The host name.
        host: String,
        /// The system resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// The host name of a server resolved to no address.
    #[error("host name `{host}` has no address")]
    NoAddress {
        /// The host name.
        host: String,
    },
    /// The resolver configuration could not be read.
    #[error("cannot read {}", path.display())]
    ResolvConf {
        /// Usually `/etc/resolv.conf`.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// The resolver configuration names no usable server.
    #[error("no usable `nameserver` line in {}", path.display())]
    NoNameserver {
        /// Usually `/etc/resolv.conf`.
        path: PathBuf,
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
        let qname = Name::from_ascii(format!("{name}.")).map_err(|source| DnsError::BadName {
            name: name.clone(),
            source,
        })?;
        let mut msg = Message::query();
        msg.metadata.recursion_desired = recursion_desired;
        msg.add_query(Query::query(qname.clone(), rtype));
        let mut edns = Edns::new();
        edns.set_max_payload(UDP_PAYLOAD);
        msg.set_edns(edns);
        let bytes = msg.to_vec().map_err(|source| DnsError::Encode {
            name: name.clone(),
            source,
        })?;
        let q = Question {
            server,
            id: msg.metadata.id,
            qname: &qname,
            name: &name,
            rtype,
            deadline: Instant::now() + timeout,
            timeout,
        };
        let mut response = q.udp(&bytes).await?;
        if response.metadata.truncation {
            response = q.tcp(&bytes).await?;
        }
        Ok(Answer {
            response_code: response.metadata.response_code,
            authoritative: response.metadata.authoritative,
            answers: response.answers.iter().map(convert).collect(),
        })
    }
}

/// One query in flight.
struct Question<'a> {
    server: SocketAddr,
    id: u16,
    qname: &'a Name,
    name: &'a str,
    rtype: RecordType,
    deadline: Instant,
    timeout: Duration,
}

impl Question<'_> {
    fn io(&self, source: std::io::Error) -> DnsError {
        DnsError::Io {
            server: self.server,
            source,
        }
    }

    fn timed_out(&self) -> DnsError {
        DnsError::Timeout {
            server: self.server,
            name: self.name.to_owned(),
            rtype: self.rtype,
            timeout: self.timeout,
        }
    }

    fn matches(&self, m: &Message) -> bool {
        m.metadata.id == self.id
            && m.metadata.message_type == MessageType::Response
            && m.queries.len() == 1
            && m.queries[0].name == *self.qname
            && m.queries[0].query_type == self.rtype
    }

    async fn udp(&self, bytes: &[u8]) -> Result<Message, DnsError> {
        let local: SocketAddr = match self.server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let sock = UdpSocket::bind(local).await.map_err(|e| self.io(e))?;
        sock.connect(self.server).await.map_err(|e| self.io(e))?;
        let per_try = self.timeout / ATTEMPTS;
        let mut buf = vec![0u8; 65535];
        let mut undecodable = None;
        for _ in 0..ATTEMPTS {
            sock.send(bytes).await.map_err(|e| self.io(e))?;
            let until = (Instant::now() + per_try).min(self.deadline);
            // Keep reading until this try's time is up: a stray or garbled
            // datagram must not end the query, and a late answer to an
            // earlier try (same id) is as good as any.
            while let Ok(got) = timeout_at(until, sock.recv(&mut buf)).await {
                let len = got.map_err(|e| self.io(e))?;
                match Message::from_vec(&buf[..len]) {
                    Ok(m) if self.matches(&m) => return Ok(m),
                    Ok(_) => {}
                    Err(e) => undecodable = Some(e),
                }
            }
            if Instant::now() >= self.deadline {
                break;
            }
        }
        Err(match undecodable {
            Some(source) => DnsError::Malformed {
                server: self.server,
                name: self.name.to_owned(),
                rtype: self.rtype,
                source,
            },
            None => self.timed_out(),
        })
    }

    async fn tcp(&self, bytes: &[u8]) -> Result<Message, DnsError> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.server).await?;
            let len = u16::try_from(bytes.len()).map_err(std::io::Error::other)?;
            let mut framed = Vec::with_capacity(bytes.len() + 2);
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(bytes);
            stream.write_all(&framed).await?;
            let len = stream.read_u16().await?;
            let mut buf = vec![0u8; usize::from(len)];
            stream.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        let buf = timeout_at(self.deadline, exchange)
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|e| self.io(e))?;
        let m = Message::from_vec(&buf).map_err(|source| DnsError::Malformed {
            server: self.server,
            name: self.name.to_owned(),
            rtype: self.rtype,
            source,
        })?;
        if self.matches(&m) {
            Ok(m)
        } else {
            Err(DnsError::Mismatch {
                server: self.server,
                name: self.name.to_owned(),
                rtype: self.rtype,
            })
        }
    }
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
            let first = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|source| DnsError::Lookup {
                    host: host.clone(),
                    source,
                })?
                .next();
            first.ok_or(DnsError::NoAddress { host })
        }
    }
}

/// The first usable `nameserver` of /etc/resolv.conf, port 53.
pub fn system_resolver() -> Result<SocketAddr, DnsError> {
    let path = Path::new("/etc/resolv.conf");
    let text = std::fs::read_to_string(path).map_err(|source| DnsError::ResolvConf {
        path: path.to_owned(),
        source,
    })?;
    first_nameserver(&text).ok_or_else(|| DnsError::NoNameserver {
        path: path.to_owned(),
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
