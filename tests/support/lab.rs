//! The end-to-end lab (`tests/lab/lab.sh`) seen from Rust: BIND, Pebble and
//! fake hosts (sshd + nginx in their own mount namespaces).
//!
//! [`Lab::start`] brings a fresh lab up on a free port block and
//! [`Drop`] tears it down, so a panicking test cleans up too; the lab's
//! watchdog (`--owner`) covers a test process that is killed outright.
//! A missing component makes `start` panic: lab tests never skip.

// An API for the lab tests to come: not every test uses every helper.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs::{File, TryLockError};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Every lab lives below this folder; short, because ssh control sockets
/// under a lab dir must fit in a unix socket path.
pub(crate) const LAB_ROOT: &str = "/tmp/certbridge-lab";

/// Where `_acme-challenge.<name>` points into the signing zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CnameMode {
    /// The zone apex (OpenDev's layout): every name shares one owner.
    Apex,
    /// `<name>.<signing_zone>`: one owner per name.
    Label,
    /// A name outside the signing zone (a misconfigured CNAME).
    Elsewhere,
}

/// One fake host: its inventory name and the first names of the
/// certificates its nginx serves (once their files exist).
#[derive(Clone, Debug)]
pub(crate) struct HostSpec {
    /// Inventory name.
    pub name: String,
    /// Certificate first names, as in `/etc/letsencrypt-certs/<first>/`.
    pub certs: Vec<String>,
    /// Whether the host has a `letsencrypt` group.
    pub group: bool,
}

/// What a lab serves; rendered to lab.sh's SPEC format.
#[derive(Clone, Debug)]
pub(crate) struct LabSpec {
    /// The zone that receives the TXT records.
    pub signing_zone: String,
    /// Also run a secondary of the signing zone (on port base + 6).
    pub dns_secondary: bool,
    /// Names that get an `_acme-challenge` CNAME.
    pub names: Vec<(String, CnameMode)>,
    /// Fake hosts, in port order.
    pub hosts: Vec<HostSpec>,
    /// Extra records (`OWNER TYPE RDATA`) served in OWNER's parent zone.
    pub zone_records: Vec<String>,
}

impl LabSpec {
    /// An empty lab with this signing zone.
    pub(crate) fn new(signing_zone: &str) -> LabSpec {
        LabSpec {
            signing_zone: signing_zone.to_owned(),
            dns_secondary: false,
            names: Vec::new(),
            hosts: Vec::new(),
            zone_records: Vec::new(),
        }
    }

    /// Serve one more record (a CAA, a CNAME pointing elsewhere) in the
    /// parent zone of `owner`; never for a name added with [`LabSpec::name`].
    pub(crate) fn zone_record(mut self, owner: &str, rtype: &str, rdata: &str) -> LabSpec {
        self.zone_records.push(format!("{owner} {rtype} {rdata}"));
        self
    }

    /// Add a secondary nameserver for the signing zone.
    pub(crate) fn secondary(mut self) -> LabSpec {
        self.dns_secondary = true;
        self
    }

    /// Add `_acme-challenge.<name>` (a wildcard uses its base name).
    pub(crate) fn name(mut self, name: &str, mode: CnameMode) -> LabSpec {
        self.names.push((name.to_owned(), mode));
        self
    }

    /// Add a host with a `letsencrypt` group.
    pub(crate) fn host(mut self, name: &str, certs: &[&str]) -> LabSpec {
        self.hosts.push(host_spec(name, certs, true));
        self
    }

    /// Add a host without a `letsencrypt` group.
    pub(crate) fn host_without_group(mut self, name: &str, certs: &[&str]) -> LabSpec {
        self.hosts.push(host_spec(name, certs, false));
        self
    }

    /// The SPEC file text lab.sh reads.
    pub(crate) fn render(&self) -> String {
        let mut s = format!(
            "signing_zone {}\ndns_secondary {}\n",
            self.signing_zone,
            if self.dns_secondary { "yes" } else { "no" }
        );
        for (name, mode) in &self.names {
            let mode = match mode {
                CnameMode::Apex => "apex",
                CnameMode::Label => "label",
                CnameMode::Elsewhere => "elsewhere",
            };
            let _ = writeln!(s, "name {name} {mode}");
        }
        for r in &self.zone_records {
            let _ = writeln!(s, "zone_record {r}");
        }
        for h in &self.hosts {
            let _ = write!(s, "host {}", h.name);
            for c in &h.certs {
                let _ = write!(s, " {c}");
            }
            s.push_str(if h.group { "\n" } else { " nogroup\n" });
        }
        s
    }
}

fn host_spec(name: &str, certs: &[&str], group: bool) -> HostSpec {
    HostSpec {
        name: name.to_owned(),
        certs: certs.iter().map(|c| (*c).to_owned()).collect(),
        group,
    }
}

/// Pebble knobs; the defaults keep tests deterministic (no nonce
/// rejections, no authorization reuse, one-hour certificates).
#[derive(Clone, Debug, Default)]
pub(crate) struct LabOptions {
    /// `certificateValidityPeriod` in seconds (lab default 3600).
    pub validity_secs: Option<u64>,
    /// `PEBBLE_WFE_NONCEREJECT` percentage (lab default 0).
    pub nonce_reject_pct: Option<u8>,
    /// `PEBBLE_AUTHZREUSE` percentage (lab default 0).
    pub authz_reuse_pct: Option<u8>,
    /// Tear the lab down when this process dies instead of when the test
    /// process does (for testing the watchdog itself).
    pub owner_pid: Option<u32>,
}

impl LabOptions {
    /// Pebble's own defaults: 5 % bad nonces, 50 % authorization reuse.
    pub(crate) fn pebble_defaults() -> LabOptions {
        LabOptions {
            nonce_reject_pct: Some(5),
            authz_reuse_pct: Some(50),
            ..LabOptions::default()
        }
    }
}

/// `lab.json`, written by `lab.sh up`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LabInfo {
    /// The lab directory.
    pub dir: PathBuf,
    /// First port of the block.
    pub port_base: u16,
    /// Primary DNS, `127.0.0.1:PORT`.
    pub dns: String,
    /// Primary DNS port.
    pub dns_port: u16,
    /// Secondary DNS of the signing zone, if any.
    pub dns_secondary: Option<String>,
    /// rndc control port.
    pub rndc_port: u16,
    /// rndc key file (key name `rndc-key`).
    pub rndc_key: PathBuf,
    /// The signing zone.
    pub signing_zone: String,
    /// Its zone file (the file certbridge rewrites).
    pub zone_file: PathBuf,
    /// Registered domains served with their `_acme-challenge` CNAMEs.
    pub parent_zones: Vec<String>,
    /// ACME directory URL.
    pub acme_directory: String,
    /// PEM of the CA that signs Pebble's listener certificate.
    pub acme_ca: PathBuf,
    /// Pebble management URL (`/roots/0`, `/intermediates/0`).
    pub pebble_management: String,
    /// Certificate lifetime in seconds.
    pub validity: u64,
    /// Pebble nonce rejection percentage.
    pub nonce_reject: u32,
    /// Pebble authorization reuse percentage.
    pub authz_reuse: u32,
    /// Private key authorised for root on every host.
    pub ssh_client_key: PathBuf,
    /// known_hosts with every host's key.
    pub known_hosts: PathBuf,
    /// `dns.check_command` for certbridge.
    pub check_command: String,
    /// `dns.reload_command` for certbridge.
    pub reload_command: String,
    /// Names with their CNAMEs.
    pub names: Vec<LabName>,
    /// The fake hosts.
    pub hosts: Vec<LabHost>,
}

/// One `_acme-challenge` CNAME of the lab.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LabName {
    /// The name as given (may be a wildcard).
    pub name: String,
    /// `apex` or `label`.
    pub mode: String,
    /// `_acme-challenge.<base name>`.
    pub cname: String,
    /// Where it points (no trailing dot).
    pub target: String,
}

/// One fake host.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LabHost {
    /// Inventory name.
    pub name: String,
    /// Always 127.0.0.1.
    pub address: String,
    /// sshd port.
    pub ssh_port: u16,
    /// nginx TLS port.
    pub https_port: u16,
    /// First names of the certificates its nginx serves.
    pub certs: Vec<String>,
    /// Whether it has a `letsencrypt` group.
    pub group: bool,
    /// Its folder in the lab (`certs/` is its /etc/letsencrypt-certs).
    pub dir: PathBuf,
}

/// A certificate as a server presented it.
#[derive(Clone, Debug)]
pub(crate) struct ServedChain {
    /// DNS names of the leaf, in certificate order.
    pub sans: Vec<String>,
    /// Leaf issuer, RFC 4514 style (`CN=Pebble Intermediate CA 4d883c`).
    pub issuer: String,
    /// Leaf subject.
    pub subject: String,
    /// Leaf notAfter, unix seconds.
    pub not_after: i64,
    /// SHA-256 of the leaf DER, lowercase hex.
    pub fingerprint: String,
    /// Every certificate sent, PEM, leaf first.
    pub chain_pem: Vec<String>,
}

/// A file on a fake host.
#[derive(Clone, Debug)]
pub(crate) struct FileInfo {
    /// Owner name.
    pub owner: String,
    /// Group name.
    pub group: String,
    /// Permission bits incl. setgid etc. (`stat %a`), e.g. `0o2750`.
    pub mode: u32,
    /// SHA-256 of the contents, lowercase hex (empty for directories).
    pub sha256: String,
    /// The contents (empty for directories).
    pub contents: Vec<u8>,
}

/// Files `lego-issue.sh` produced.
#[derive(Clone, Debug)]
pub(crate) struct LegoCert {
    /// Full chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key.
    pub key_file: PathBuf,
}

/// A running lab; torn down on drop.
pub(crate) struct Lab {
    info: LabInfo,
    // Held for the lab's life: other labs skip this port block.
    _port_lock: File,
}

/// `tests/lab/<file>` in this checkout.
pub(crate) fn lab_script(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lab")
        .join(file)
}

impl Lab {
    /// Bring up a fresh lab in a new folder under [`LAB_ROOT`].
    ///
    /// Panics with lab.sh's stderr when the lab cannot start.
    pub(crate) fn start(spec: &LabSpec, opts: LabOptions) -> Lab {
        std::fs::create_dir_all(Path::new(LAB_ROOT).join(".locks")).expect("create lab root");
        // Blocks whose ports turned out busy stay locked (by us) until we
        // are done, so the next attempt moves on.
        let mut tried = Vec::new();
        for _ in 0..5 {
            let (base, lock) = reserve_port_block(spec.hosts.len());
            let dir = tempfile::Builder::new()
                .prefix("lab")
                .rand_bytes(5)
                .tempdir_in(LAB_ROOT)
                .expect("create lab dir")
                .keep();
            let spec_file = dir.join("spec.in");
            std::fs::write(&spec_file, spec.render()).expect("write spec");
            let mut cmd = Command::new(lab_script("lab.sh"));
            cmd.arg("up")
                .arg(&dir)
                .arg(&spec_file)
                .arg("--port-base")
                .arg(base.to_string())
                .arg("--owner")
                .arg(opts.owner_pid.unwrap_or_else(std::process::id).to_string());
            if let Some(v) = opts.validity_secs {
                cmd.arg("--validity").arg(v.to_string());
            }
            if let Some(v) = opts.nonce_reject_pct {
                cmd.arg("--nonce-reject").arg(v.to_string());
            }
            if let Some(v) = opts.authz_reuse_pct {
                cmd.arg("--authz-reuse").arg(v.to_string());
            }
            let out = cmd.stdin(Stdio::null()).output().expect("run lab.sh up");
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                let json = std::fs::read_to_string(dir.join("lab.json")).expect("read lab.json");
                let info: LabInfo = serde_json::from_str(&json).expect("parse lab.json");
                return Lab {
                    info,
                    _port_lock: lock,
                };
            }
            // Someone outside our lock protocol took a port: try elsewhere.
            if stderr.contains("already in use") {
                let _ = std::fs::remove_dir_all(&dir);
                tried.push(lock);
                continue;
            }
            panic!(
                "lab.sh up failed ({}); logs in {}:\n{stderr}",
                out.status,
                dir.display()
            );
        }
        panic!("no free port block for a lab after 5 attempts");
    }

    /// Everything from `lab.json`.
    pub(crate) fn info(&self) -> &LabInfo {
        &self.info
    }

    /// The lab directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.info.dir
    }

    /// `lab.env` (shell KEY=VALUE) of this lab.
    pub(crate) fn env_file(&self) -> PathBuf {
        self.info.dir.join("lab.env")
    }

    /// A host by inventory name (panics if unknown).
    pub(crate) fn host(&self, name: &str) -> &LabHost {
        self.info
            .hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no lab host {name}"))
    }

    /// All hosts.
    pub(crate) fn hosts(&self) -> &[LabHost] {
        &self.info.hosts
    }

    /// `dns.check_command` with `{zone}` and `{file}` filled in.
    pub(crate) fn check_command_for_zone(&self) -> String {
        self.info
            .check_command
            .replace("{zone}", &self.info.signing_zone)
            .replace("{file}", &self.info.zone_file.to_string_lossy())
    }

    /// `dns.reload_command` with `{zone}` filled in.
    pub(crate) fn reload_command_for_zone(&self) -> String {
        self.info
            .reload_command
            .replace("{zone}", &self.info.signing_zone)
    }

    /// Write an Ansible YAML hosts file for the lab hosts.
    pub(crate) fn write_ansible_inventory(&self, path: &Path) {
        let mut s = String::from("all:\n  hosts:\n");
        for h in &self.info.hosts {
            let _ = write!(
                s,
                "    {}:\n      ansible_host: {}\n      ansible_port: {}\n      ansible_user: root\n",
                h.name, h.address, h.ssh_port
            );
        }
        std::fs::write(path, s).expect("write inventory");
    }

    /// `ssh` to a host as root with the lab's key and strict host keys;
    /// add the remote command with `.arg(...)`.
    pub(crate) fn ssh_command(&self, host: &str) -> Command {
        let h = self.host(host);
        let mut c = Command::new("ssh");
        c.args(["-F", "/dev/null", "-i"])
            .arg(&self.info.ssh_client_key)
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.info.known_hosts.display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "ConnectTimeout=5",
                "-o",
                "LogLevel=ERROR",
                "-p",
            ])
            .arg(h.ssh_port.to_string())
            .arg(format!("root@{}", h.address))
            .stdin(Stdio::null());
        c
    }

    /// Run a shell command on a host (inside its namespace).
    pub(crate) fn ssh(&self, host: &str, cmd: &str) -> Output {
        self.ssh_command(host).arg(cmd).output().expect("run ssh")
    }

    /// Like [`Lab::ssh`], but panics unless it succeeds; returns stdout.
    pub(crate) fn ssh_ok(&self, host: &str, cmd: &str) -> String {
        let out = self.ssh(host, cmd);
        assert!(
            out.status.success(),
            "ssh {host} {cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Copy a local file to a path on a host with scp.
    pub(crate) fn scp_to(&self, host: &str, local: &Path, remote: &str) {
        let h = self.host(host);
        let out = Command::new("scp")
            .args(["-q", "-F", "/dev/null", "-i"])
            .arg(&self.info.ssh_client_key)
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.info.known_hosts.display()
            ))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
            .args(["-o", "IdentitiesOnly=yes", "-P"])
            .arg(h.ssh_port.to_string())
            .arg(local)
            .arg(format!("root@{}:{remote}", h.address))
            .stdin(Stdio::null())
            .output()
            .expect("run scp");
        assert!(
            out.status.success(),
            "scp {} to {host}:{remote} failed: {}",
            local.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Owner, group, mode, checksum and contents of a path on a host, read
    /// over ssh (so through the host's mounts); `None` if it does not exist.
    pub(crate) fn host_file(&self, host: &str, path: &str) -> Option<FileInfo> {
        let f = shell_quote(path);
        let out = self.ssh(
            host,
            &format!(
                "[ -e {f} ] || exit 3; stat -c '%U %G %a' -- {f}; \
                 if [ -d {f} ]; then echo; else sha256sum <{f} | cut -c1-64; cat -- {f}; fi"
            ),
        );
        if out.status.code() == Some(3) {
            return None;
        }
        assert!(
            out.status.success(),
            "reading {host}:{path} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut parts = out.stdout.splitn(3, |b| *b == b'\n');
        let meta = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let sha256 = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let contents = parts.next().unwrap_or_default().to_vec();
        let meta: Vec<&str> = meta.split_whitespace().collect();
        assert_eq!(meta.len(), 3, "unexpected stat output for {host}:{path}");
        Some(FileInfo {
            owner: meta[0].to_owned(),
            group: meta[1].to_owned(),
            mode: u32::from_str_radix(meta[2], 8).expect("octal mode"),
            sha256,
            contents,
        })
    }

    /// The certificate a host's nginx presents for `server_name` (SNI).
    pub(crate) fn tls_handshake(&self, host: &str, server_name: &str) -> ServedChain {
        let h = self.host(host);
        let out = Command::new("openssl")
            .args(["s_client", "-connect"])
            .arg(format!("{}:{}", h.address, h.https_port))
            .args(["-servername", server_name, "-showcerts"])
            .stdin(Stdio::null())
            .output()
            .expect("run openssl s_client");
        let text = String::from_utf8_lossy(&out.stdout);
        let chain_pem = pem_blocks(&text);
        assert!(
            !chain_pem.is_empty(),
            "no certificate from {host} for {server_name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let leaf = parse_cert(&chain_pem[0]);
        ServedChain {
            sans: leaf.sans,
            issuer: leaf.issuer,
            subject: leaf.subject,
            not_after: leaf.not_after,
            fingerprint: leaf.fingerprint,
            chain_pem,
        }
    }

    /// Pebble's current issuance root and intermediate (PEM, in that order);
    /// they change with every Pebble start.
    pub(crate) fn pebble_roots(&self) -> Vec<String> {
        ["roots/0", "intermediates/0"]
            .iter()
            .map(|p| self.curl_pebble_management(p))
            .collect()
    }

    fn curl_pebble_management(&self, path: &str) -> String {
        let out = Command::new("curl")
            .args(["-sSf", "--cacert"])
            .arg(&self.info.acme_ca)
            .arg(format!("{}/{path}", self.info.pebble_management))
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "GET {path} from Pebble: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `dig +short` at the lab's primary DNS (which also follows CNAMEs,
    /// so a TXT lookup of `_acme-challenge.x` lists the CNAME target first).
    /// TXT answers keep their quotes.
    pub(crate) fn dig(&self, name: &str, rtype: &str) -> Vec<String> {
        dig_at(&self.info.dns, name, rtype)
    }

    /// Entries of a host's `/etc/certbridge-lab/handler.log`:
    /// (unix time, what ran), in file order.
    pub(crate) fn handler_log(&self, host: &str) -> Vec<(f64, String)> {
        let path = self.host(host).dir.join("lab/handler.log");
        let text = std::fs::read_to_string(&path).expect("read handler.log");
        text.lines()
            .filter_map(|l| {
                let (t, what) = l.split_once(' ')?;
                Some((t.parse().ok()?, what.to_owned()))
            })
            .collect()
    }

    /// Issue one certificate with Debian's lego through the lab
    /// (`tests/lab/lego-issue.sh`).
    pub(crate) fn lego_issue(&self, names: &[&str]) -> LegoCert {
        let out = Command::new(lab_script("lego-issue.sh"))
            .arg(&self.info.dir)
            .args(names)
            .stdin(Stdio::null())
            .output()
            .expect("run lego-issue.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "lego-issue.sh {names:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let get = |key: &str| -> PathBuf {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("lego-issue.sh printed no {key}: {stdout}"))
        };
        LegoCert {
            cert_file: get("cert_file="),
            key_file: get("key_file="),
        }
    }

    /// `lab.sh status` output.
    pub(crate) fn status(&self) -> String {
        let out = Command::new(lab_script("lab.sh"))
            .arg("status")
            .arg(&self.info.dir)
            .output()
            .expect("run lab.sh status");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Keep the logs of a failed test (or on request); purge otherwise.
        let keep = std::thread::panicking() || std::env::var_os("CERTBRIDGE_LAB_KEEP").is_some();
        let mut cmd = Command::new(lab_script("lab.sh"));
        cmd.arg("down").arg(&self.info.dir);
        if !keep {
            cmd.arg("--purge");
        }
        match cmd.stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "lab.sh down {} failed: {}",
                self.info.dir.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("lab.sh down: {e}"),
        }
        if keep {
            eprintln!("lab logs kept in {}", self.info.dir.display());
        }
    }
}

/// Lock a port block (base 20000 + 200 k) and check that its ports are free.
/// The lock is per block and held for the lab's life, so concurrent tests
/// (threads or processes) never pick the same block; lab.sh's own default
/// picker honours the same lock files.
fn reserve_port_block(hosts: usize) -> (u16, File) {
    let blocks = 60u16;
    // Start at a process-dependent block so parallel binaries spread out.
    let start = (std::process::id() % u32::from(blocks)) as u16;
    for k in 0..blocks {
        let base = 20000 + 200 * ((start + k) % blocks);
        let path = Path::new(LAB_ROOT).join(format!(".locks/port-{base}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .expect("open port lock");
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => panic!("lock {}: {e}", path.display()),
        }
        if ports_free(base, hosts) {
            return (base, file);
        }
    }
    panic!("no free lab port block in 20000..32000");
}

fn ports_free(base: u16, hosts: usize) -> bool {
    let hosts = u16::try_from(hosts).expect("host count");
    let tcp = (base..=base + 6).chain((0..hosts).flat_map(|i| {
        let p = base + 20 + 2 * i;
        [p, p + 1]
    }));
    let tcp_free = tcp
        .collect::<Vec<_>>()
        .into_iter()
        .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
    tcp_free
        && [base, base + 6]
            .iter()
            .all(|p| UdpSocket::bind(("127.0.0.1", *p)).is_ok())
}

/// `dig +short` at `server` (`host:port`).
pub(crate) fn dig_at(server: &str, name: &str, rtype: &str) -> Vec<String> {
    let (host, port) = server.rsplit_once(':').expect("server is host:port");
    let out = Command::new("dig")
        .arg(format!("@{host}"))
        .args(["-p", port, "+short", "+time=2", "+tries=2", name, rtype])
        .output()
        .expect("run dig");
    assert!(
        out.status.success(),
        "dig {name} {rtype} at {server}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Fields of one certificate.
#[derive(Clone, Debug)]
pub(crate) struct CertSummary {
    /// DNS SANs.
    pub sans: Vec<String>,
    /// Issuer DN.
    pub issuer: String,
    /// Subject DN.
    pub subject: String,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// SHA-256 of the DER, lowercase hex.
    pub fingerprint: String,
}

/// Parse the first certificate of a PEM text.
pub(crate) fn parse_cert(pem: &str) -> CertSummary {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM certificate");
    let cert = pem.parse_x509().expect("X.509 certificate");
    let sans = cert
        .subject_alternative_name()
        .expect("SAN extension")
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    CertSummary {
        sans,
        issuer: cert.issuer().to_string(),
        subject: cert.subject().to_string(),
        not_after: cert.validity().not_after.timestamp(),
        fingerprint: hex(&Sha256::digest(&pem.contents)),
    }
}

/// Every `CERTIFICATE` PEM block in a text, in order.
pub(crate) fn pem_blocks(text: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(BEGIN) {
        let Some(j) = rest[i..].find(END) else { break };
        blocks.push(format!("{}\n", &rest[i..i + j + END.len()]));
        rest = &rest[i + j + END.len()..];
    }
    blocks
}

/// SHA-256 of a local file, lowercase hex.
pub(crate) fn sha256_file(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).expect("read file")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) use certbridge::handlers::command::shell_quote;
