//! The operator's `certbridge.yaml` (PRODUCT.md 3.1): every key, its default,
//! and the validated [`Config`] the rest of the program reads.
//!
//! Raw serde structs mirror the file; [`Config::load`] resolves paths against
//! the config file's folder, parses durations and fractions, and reports every
//! unknown key with its line before anything else runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::diag::{InputError, Problems};
use crate::yaml::{Seg, YamlDoc};

mod check;

/// Default config location (`--config` and `CERTBRIDGE_CONFIG` override it).
pub const DEFAULT_CONFIG: &str = "/etc/certbridge/certbridge.yaml";

/// The validated configuration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    /// Ansible inventory sources, in order.
    pub inventory: Vec<PathBuf>,
    /// The group whose hosts get certificates.
    pub group: String,
    /// Hosts in any of these groups are left alone.
    pub exclude_groups: Vec<String>,
    /// The handler map.
    pub handlers: PathBuf,
    /// The central store.
    pub state_dir: PathBuf,
    /// Log file (appended to by `pulse` and `renew`).
    pub log_file: Option<PathBuf>,
    /// Prometheus textfile written after each pulse.
    pub metrics_file: Option<PathBuf>,
    /// ssl-cert-check domain list.
    pub certcheck_file: Option<PathBuf>,
    /// `status` exits 1 when a host's certificate expires within this.
    #[serde(with = "duration_secs")]
    pub danger_zone: Duration,
    /// ACME settings.
    pub acme: AcmeConfig,
    /// Signing-zone settings.
    pub dns: DnsConfig,
    /// SSH settings.
    pub ssh: SshConfig,
    /// Where and how files land on hosts.
    pub targets: TargetsConfig,
}

/// `acme:` section.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AcmeConfig {
    /// Production directory URL.
    pub directory: String,
    /// Directory for hosts with `letsencrypt_use_staging`.
    pub staging_directory: String,
    /// Account contacts; empty means `mailto:` + `letsencrypt_account_email`.
    pub contact: Vec<String>,
    /// PEM roots trusted for the ACME server instead of the platform's.
    pub trust_roots: Vec<PathBuf>,
    /// Key type of certificate keys.
    pub key_type: KeyType,
    /// ACME profile to request, if any.
    pub profile: Option<String>,
    /// When to renew without ARI.
    pub renew_before: RenewBefore,
    /// Orders being created at once: newOrder, authorizations, journal
    /// (answering and finalizing run for all at once, up to 256).
    pub max_concurrent_orders: usize,
    /// newOrder requests in flight at once (at most `max_concurrent_orders`).
    pub max_concurrent_new_orders: usize,
    /// The CA's CAA issuer domains (RFC 8555 `caaIdentities`), checked by
    /// `check --dns`; empty = derived from the directory URL where known.
    pub caa_identities: Vec<String>,
    /// External account binding: key id and the decoded HMAC key.
    #[serde(skip)]
    pub eab: Option<(String, Vec<u8>)>,
}

/// `dns:` section.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DnsConfig {
    /// The signing zone.
    pub zone: String,
    /// Its zone file (on `host`, or locally).
    pub zone_file: PathBuf,
    /// minijinja template of the whole zone.
    pub template: PathBuf,
    /// Run write/check/reload there over SSH; `None` = locally.
    pub host: Option<String>,
    /// `{zone}` and `{file}` are substituted.
    pub check_command: String,
    /// `{zone}` is substituted.
    pub reload_command: String,
    /// Authoritative servers to verify (`host[:port]`); empty = the NS set.
    pub nameservers: Vec<String>,
    /// Resolver used to follow `_acme-challenge` CNAMEs; `None` = system.
    pub resolver: Option<String>,
    /// How long to wait for every server to serve the update.
    #[serde(with = "duration_secs")]
    pub propagation_timeout: Duration,
    /// Largest TXT answer (bytes) one zone update may make the CA's
    /// validator read; past it a pulse publishes in batches.
    pub txt_answer_limit: usize,
}

/// `ssh:` section.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SshConfig {
    /// Login user unless `ansible_user` says otherwise.
    pub user: String,
    /// Private key to use.
    pub identity_file: Option<PathBuf>,
    /// known_hosts file; host keys are always checked strictly.
    pub known_hosts: Option<PathBuf>,
    /// Connection timeout.
    #[serde(with = "duration_secs")]
    pub connect_timeout: Duration,
    /// Longest one step on a host may take (the read-only probe, each file
    /// upload, the switch); handler actions have their own `timeout`.
    #[serde(with = "duration_secs")]
    pub command_timeout: Duration,
    /// Hosts worked on at once.
    pub max_hosts: usize,
}

/// `targets:` section.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetsConfig {
    /// Base directory on each host.
    pub cert_dir: PathBuf,
    /// Owner of deployed files.
    pub owner: String,
    /// Group of deployed files.
    pub group: String,
}

/// Certificate key algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// RSA, 2048 bits.
    Rsa2048,
    /// RSA, 4096 bits.
    Rsa4096,
}

/// When a certificate is due for renewal when the CA offers no ARI window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewBefore {
    /// Renew when less than `num/den` of the lifetime is left.
    Fraction {
        /// Numerator.
        num: u32,
        /// Denominator.
        den: u32,
    },
    /// Renew when less than this is left.
    Remaining(#[serde(with = "duration_secs")] Duration),
}

mod duration_secs {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

/// Parse `300s`, `5m`, `2h`, `30d`, `1w` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 300s, 5m, 2h or 30d"))?;
    let mult = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("`{text}` has an unknown unit; use s, m, h, d or w")),
    };
    n.checked_mul(mult)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Parse `1/3` (a fraction of lifetime) or a duration like `30d`.
pub fn parse_renew_before(text: &str) -> Result<RenewBefore, String> {
    if let Some((a, b)) = text.split_once('/') {
        let num: u32 = a.trim().parse().map_err(|_| bad_fraction(text))?;
        let den: u32 = b.trim().parse().map_err(|_| bad_fraction(text))?;
        if num == 0 || den == 0 || num >= den {
            return Err(bad_fraction(text));
        }
        return Ok(RenewBefore::Fraction { num, den });
    }
    parse_duration(text)
        .map(RenewBefore::Remaining)
        .map_err(|_| bad_fraction(text))
}

fn bad_fraction(text: &str) -> String {
    format!(
        "`{text}` is neither a fraction of lifetime below 1 (like 1/3) nor a duration (like 30d)"
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    inventory: Vec<String>,
    group: String,
    exclude_groups: Vec<String>,
    handlers: String,
    state_dir: String,
    log_file: Option<String>,
    metrics_file: Option<String>,
    certcheck_file: Option<String>,
    danger_zone: String,
    acme: RawAcme,
    dns: RawDns,
    ssh: RawSsh,
    targets: RawTargets,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            inventory: Vec::new(),
            group: "letsencrypt".into(),
            exclude_groups: vec!["disabled".into()],
            handlers: "handlers.yaml".into(),
            state_dir: "/var/lib/certbridge".into(),
            log_file: Some("/var/log/certbridge/certbridge.log".into()),
            metrics_file: None,
            certcheck_file: None,
            danger_zone: "7d".into(),
            acme: RawAcme::default(),
            dns: RawDns::default(),
            ssh: RawSsh::default(),
            targets: RawTargets::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAcme {
    directory: String,
    staging_directory: String,
    contact: Vec<String>,
    trust_roots: Vec<String>,
    key_type: KeyType,
    profile: Option<String>,
    renew_before: String,
    eab_kid: Option<String>,
    eab_hmac_key: Option<String>,
    max_concurrent_orders: usize,
    max_concurrent_new_orders: Option<usize>,
    caa_identities: Vec<String>,
}

impl Default for RawAcme {
    fn default() -> Self {
        RawAcme {
            directory: "https://acme-v02.api.letsencrypt.org/directory".into(),
            staging_directory: "https://acme-staging-v02.api.letsencrypt.org/directory".into(),
            contact: Vec::new(),
            trust_roots: Vec::new(),
            key_type: KeyType::EcdsaP256,
            profile: None,
            renew_before: "1/3".into(),
            eab_kid: None,
            eab_hmac_key: None,
            // Enough to make 200 orders take well under a second, few enough
            // that a CA sees a handful of requests at once.
            max_concurrent_orders: 8,
            max_concurrent_new_orders: None,
            caa_identities: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDns {
    zone: String,
    zone_file: String,
    template: String,
    host: Option<String>,
    check_command: String,
    reload_command: String,
    nameservers: Vec<String>,
    resolver: Option<String>,
    propagation_timeout: String,
    txt_answer_limit: usize,
}

impl Default for RawDns {
    fn default() -> Self {
        RawDns {
            zone: "acme.opendev.org".into(),
            zone_file: "/var/lib/bind/zones/acme.opendev.org/zone.db".into(),
            template: "templates/acme-zone.db.j2".into(),
            host: None,
            check_command: "named-checkzone {zone} {file}".into(),
            reload_command: "rndc reload {zone}".into(),
            nameservers: Vec::new(),
            resolver: None,
            propagation_timeout: "300s".into(),
            txt_answer_limit: crate::dns::batch::UDP_PAYLOAD,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSsh {
    user: String,
    identity_file: Option<String>,
    known_hosts: Option<String>,
    connect_timeout: String,
    command_timeout: String,
    max_hosts: usize,
}

impl Default for RawSsh {
    fn default() -> Self {
        RawSsh {
            user: "root".into(),
            identity_file: None,
            known_hosts: None,
            connect_timeout: "10s".into(),
            command_timeout: "60s".into(),
            max_hosts: 32,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTargets {
    cert_dir: String,
    owner: String,
    group: String,
}

impl Default for RawTargets {
    fn default() -> Self {
        RawTargets {
            cert_dir: "/etc/letsencrypt-certs".into(),
            owner: "root".into(),
            group: "letsencrypt".into(),
        }
    }
}

/// Keys allowed in each section, for reporting every unknown key at once.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "inventory",
            "group",
            "exclude_groups",
            "handlers",
            "state_dir",
            "log_file",
            "metrics_file",
            "certcheck_file",
            "danger_zone",
            "acme",
            "dns",
            "ssh",
            "targets",
        ],
    ),
    (
        "acme",
        &[
            "directory",
            "staging_directory",
            "contact",
            "trust_roots",
            "key_type",
            "profile",
            "renew_before",
            "eab_kid",
            "eab_hmac_key",
            "max_concurrent_orders",
            "max_concurrent_new_orders",
            "caa_identities",
        ],
    ),
    (
        "dns",
        &[
            "zone",
            "zone_file",
            "template",
            "host",
            "check_command",
            "reload_command",
            "nameservers",
            "resolver",
            "propagation_timeout",
            "txt_answer_limit",
        ],
    ),
    (
        "ssh",
        &[
            "user",
            "identity_file",
            "known_hosts",
            "connect_timeout",
            "command_timeout",
            "max_hosts",
        ],
    ),
    ("targets", &["cert_dir", "owner", "group"]),
];

impl Config {
    /// Load and validate the config file; every problem is reported together.
    pub fn load(path: &Path) -> Result<Config, InputError> {
        let doc = YamlDoc::load(path).map_err(InputError::one)?;
        let mut problems = Problems::default();
        unknown_keys(&doc, &mut problems);
        if problems.has_errors() {
            return Err(InputError {
                problems: problems.all().to_vec(),
            });
        }
        let raw: RawConfig = if doc.value.is_null() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_str(doc.source())
                .map_err(|e| InputError::one(crate::yaml::syntax_problem(path, &e)))?
        };
        let config = Config::from_raw(path, &doc, raw, &mut problems);
        problems.into_result()?;
        Ok(config)
    }

    fn from_raw(path: &Path, doc: &YamlDoc, raw: RawConfig, problems: &mut Problems) -> Config {
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let resolve = |p: &str| base.join(p);
        let mut duration = |section: &str, key: &str, text: &str, default: u64| {
            parse_duration(text).unwrap_or_else(|e| {
                problems.push(
                    doc.problem(&[section.into(), key.into()], e)
                        .item(format!("{section}.{key}")),
                );
                Duration::from_secs(default)
            })
        };
        let propagation_timeout = duration(
            "dns",
            "propagation_timeout",
            &raw.dns.propagation_timeout,
            300,
        );
        let connect_timeout = duration("ssh", "connect_timeout", &raw.ssh.connect_timeout, 10);
        let mut command_timeout = duration("ssh", "command_timeout", &raw.ssh.command_timeout, 60);
        if command_timeout.is_zero() {
            problems.push(
                doc.problem(
                    &["ssh".into(), "command_timeout".into()],
                    "must be more than 0: a host that stalls must fail, not hang the pulse",
                )
                .item("ssh.command_timeout"),
            );
            command_timeout = Duration::from_secs(60);
        }
        let danger_zone = parse_duration(&raw.danger_zone).unwrap_or_else(|e| {
            problems.push(doc.problem(&["danger_zone".into()], e).item("danger_zone"));
            Duration::from_secs(7 * 86_400)
        });
        let renew_before = parse_renew_before(&raw.acme.renew_before).unwrap_or_else(|e| {
            problems.push(
                doc.problem(&["acme".into(), "renew_before".into()], e)
                    .item("acme.renew_before"),
            );
            RenewBefore::Fraction { num: 1, den: 3 }
        });
        if raw.inventory.is_empty() {
            problems.push(
                doc.problem(
                    &["inventory".into()],
                    "no inventory sources listed; name at least one Ansible inventory file",
                )
                .item("inventory"),
            );
        }
        let eab = match (&raw.acme.eab_kid, &raw.acme.eab_hmac_key) {
            (None, None) => None,
            (Some(kid), Some(key)) => match crate::acme::account::decode_base64url(key) {
                Some(k) if !k.is_empty() => Some((kid.clone(), k)),
                _ => {
                    problems.push(
                        doc.problem(&["acme".into(), "eab_hmac_key".into()], "not base64url")
                            .item("acme.eab_hmac_key"),
                    );
                    None
                }
            },
            _ => {
                problems.push(
                    doc.problem(
                        &["acme".into()],
                        "set both eab_kid and eab_hmac_key, or neither",
                    )
                    .item("acme.eab_kid"),
                );
                None
            }
        };
        if raw.dns.txt_answer_limit < 512 {
            problems.push(
                doc.problem(
                    &["dns".into(), "txt_answer_limit".into()],
                    "must be at least 512 (bytes: the smallest DNS answer every resolver takes)",
                )
                .item("dns.txt_answer_limit"),
            );
        }
        if raw.ssh.max_hosts == 0 {
            problems.push(
                doc.problem(&["ssh".into(), "max_hosts".into()], "must be at least 1")
                    .item("ssh.max_hosts"),
            );
        }
        if !crate::inventory::domain::is_valid_name(&raw.dns.zone) {
            problems.push(
                doc.problem(
                    &["dns".into(), "zone".into()],
                    format!("`{}` is not a valid DNS zone name", raw.dns.zone),
                )
                .item("dns.zone"),
            );
        }
        check::check_strings(doc, &raw, problems);
        for (key, cmd, needs) in [
            (
                "check_command",
                &raw.dns.check_command,
                &["{zone}", "{file}"][..],
            ),
            ("reload_command", &raw.dns.reload_command, &["{zone}"][..]),
        ] {
            for n in needs {
                if !cmd.contains(n) {
                    problems.push(
                        doc.problem(&["dns".into(), key.into()], format!("must contain {n}"))
                            .item(format!("dns.{key}")),
                    );
                }
            }
        }
        Config {
            path: path.to_path_buf(),
            inventory: raw.inventory.iter().map(|p| resolve(p)).collect(),
            group: raw.group,
            exclude_groups: raw.exclude_groups,
            handlers: resolve(&raw.handlers),
            state_dir: resolve(&raw.state_dir),
            log_file: raw.log_file.as_deref().map(resolve),
            metrics_file: raw.metrics_file.as_deref().map(resolve),
            certcheck_file: raw.certcheck_file.as_deref().map(resolve),
            danger_zone,
            acme: AcmeConfig {
                directory: raw.acme.directory,
                staging_directory: raw.acme.staging_directory,
                contact: raw.acme.contact,
                trust_roots: raw.acme.trust_roots.iter().map(|p| resolve(p)).collect(),
                key_type: raw.acme.key_type,
                profile: raw.acme.profile,
                renew_before,
                max_concurrent_orders: raw.acme.max_concurrent_orders.max(1),
                max_concurrent_new_orders: raw
                    .acme
                    .max_concurrent_new_orders
                    .unwrap_or(raw.acme.max_concurrent_orders)
                    .clamp(1, raw.acme.max_concurrent_orders.max(1)),
                caa_identities: raw.acme.caa_identities,
                eab,
            },
            dns: DnsConfig {
                zone: raw.dns.zone,
                // The zone file may live on `dns.host`; only resolve it when local.
                zone_file: if raw.dns.host.is_some() {
                    PathBuf::from(&raw.dns.zone_file)
                } else {
                    resolve(&raw.dns.zone_file)
                },
                template: resolve(&raw.dns.template),
                host: raw.dns.host,
                check_command: raw.dns.check_command,
                reload_command: raw.dns.reload_command,
                nameservers: raw.dns.nameservers,
                resolver: raw.dns.resolver,
                propagation_timeout,
                txt_answer_limit: raw.dns.txt_answer_limit,
            },
            ssh: SshConfig {
                user: raw.ssh.user,
                identity_file: raw.ssh.identity_file.as_deref().map(resolve),
                known_hosts: raw.ssh.known_hosts.as_deref().map(resolve),
                connect_timeout,
                command_timeout,
                max_hosts: raw.ssh.max_hosts,
            },
            targets: TargetsConfig {
                // A path on the hosts, never relative to the bridge.
                cert_dir: PathBuf::from(raw.targets.cert_dir),
                owner: raw.targets.owner,
                group: raw.targets.group,
            },
        }
    }
}

fn unknown_keys(doc: &YamlDoc, problems: &mut Problems) {
    let Value::Mapping(top) = &doc.value else {
        if !doc.value.is_null() {
            problems.push(doc.problem(
                &[],
                "the config must be a mapping of keys (inventory, group, acme, dns, ...)",
            ));
        }
        return;
    };
    for (section, allowed) in KNOWN {
        let (map, prefix): (&serde_yaml_ng::Mapping, Vec<Seg>) = if section.is_empty() {
            (top, Vec::new())
        } else {
            match top.get(*section) {
                Some(Value::Mapping(m)) => (m, vec![Seg::Key((*section).to_owned())]),
                _ => continue,
            }
        };
        for key in map.keys() {
            let name = key.as_str().unwrap_or("?");
            if !allowed.contains(&name) {
                let mut path = prefix.clone();
                path.push(Seg::Key(name.to_owned()));
                let dotted = if section.is_empty() {
                    name.to_owned()
                } else {
                    format!("{section}.{name}")
                };
                problems.push(
                    doc.problem(
                        &path,
                        format!("unknown key; expected one of: {}", allowed.join(", ")),
                    )
                    .item(dotted),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("42"), Ok(Duration::from_secs(42)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn renew_before_forms() {
        assert_eq!(
            parse_renew_before("1/3"),
            Ok(RenewBefore::Fraction { num: 1, den: 3 })
        );
        assert_eq!(
            parse_renew_before("30d"),
            Ok(RenewBefore::Remaining(Duration::from_secs(30 * 86_400)))
        );
        assert!(parse_renew_before("3/3").is_err());
        assert!(parse_renew_before("0/3").is_err());
    }

    #[test]
    fn unknown_keys_are_all_reported_with_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("certbridge.yaml");
        std::fs::write(
            &path,
            "inventory: [hosts.yaml]\nstate_dri: /tmp/x\nacme:\n  directroy: https://x\n",
        )
        .expect("write");
        let err = Config::load(&path).expect_err("unknown keys");
        let text: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        assert_eq!(err.problems.len(), 2, "{text:?}");
        assert_eq!(err.problems[0].line, Some(2));
        assert_eq!(err.problems[0].item.as_deref(), Some("state_dri"));
        assert_eq!(err.problems[1].line, Some(4));
        assert_eq!(err.problems[1].item.as_deref(), Some("acme.directroy"));
    }

    #[test]
    fn defaults_and_relative_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("certbridge.yaml");
        std::fs::write(&path, "inventory: [inv/hosts.yaml]\nstate_dir: state\n").expect("write");
        let c = Config::load(&path).expect("valid");
        assert_eq!(c.inventory, vec![dir.path().join("inv/hosts.yaml")]);
        assert_eq!(c.state_dir, dir.path().join("state"));
        assert_eq!(c.group, "letsencrypt");
        assert_eq!(c.exclude_groups, vec!["disabled".to_owned()]);
        assert_eq!(c.dns.propagation_timeout, Duration::from_secs(300));
        assert_eq!(c.ssh.max_hosts, 32);
        assert_eq!(c.targets.cert_dir, PathBuf::from("/etc/letsencrypt-certs"));
        assert_eq!(c.acme.max_concurrent_orders, 8);
        assert_eq!(c.acme.max_concurrent_new_orders, 8);
    }

    #[test]
    fn new_orders_at_once_default_to_and_stay_within_orders_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("certbridge.yaml");
        let load = |acme: &str| {
            std::fs::write(&path, format!("inventory: [a.yaml]\nacme:\n{acme}")).expect("write");
            let c = Config::load(&path).expect("valid");
            (
                c.acme.max_concurrent_orders,
                c.acme.max_concurrent_new_orders,
            )
        };
        assert_eq!(load("  max_concurrent_orders: 4\n"), (4, 4));
        assert_eq!(
            load("  max_concurrent_orders: 8\n  max_concurrent_new_orders: 1\n"),
            (8, 1)
        );
        assert_eq!(
            load("  max_concurrent_orders: 2\n  max_concurrent_new_orders: 9\n"),
            (2, 2)
        );
        assert_eq!(load("  max_concurrent_new_orders: 0\n"), (8, 1));
    }

    #[test]
    fn bad_types_name_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("certbridge.yaml");
        std::fs::write(&path, "inventory: [a.yaml]\nssh:\n  max_hosts: lots\n").expect("write");
        let err = Config::load(&path).expect_err("bad type");
        assert_eq!(err.problems[0].line, Some(3), "{}", err.problems[0]);
    }
}
