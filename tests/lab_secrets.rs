//! Secrets hygiene, in the lab: after real runs of every command (a pulse
//! under umask 000, a forced pulse under umask 077, plan, status, check and
//! a failing pulse), all with `-vvv`, the log file at trace level and every
//! crate's trace on stderr, no private key (certificate keys, the ACME
//! account key, the lab's SSH key) appears in any captured output, log or
//! JSON; and the store's and the hosts' modes are the contract's whatever
//! the umask.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use certbridge::acme::account::decode_base64url;

use crate::support::fleet_lab::FleetLab;
use crate::support::lab::LabOptions;

const FLEET: &str = "inventory/certbridge.yaml";

/// Run certbridge under `umask`, at the most verbose settings there are.
fn run_umask(fl: &FleetLab, umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_certbridge"))
        .arg("--config")
        .arg(&fl.config)
        .arg("-vvv")
        .args(args)
        .env_remove("CERTBRIDGE_CONFIG")
        .env_remove("CERTBRIDGE_FAULT")
        // Every crate's events, not only certbridge's: instant-acme, hyper,
        // rustls and openssh get their say on stderr too.
        .env("CERTBRIDGE_LOG", "trace")
        .output()
        .expect("run certbridge")
}

fn expect(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: stdout {}\nstderr (tail) {}",
        String::from_utf8_lossy(&out.stdout),
        tail(&String::from_utf8_lossy(&out.stderr))
    );
}

fn tail(s: &str) -> &str {
    let start = s.len().saturating_sub(4000);
    let start = (start..s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    &s[start..]
}

/// Standard base64 with padding (PEM bodies) or base64url without it (JWK).
fn base64(bytes: &[u8], url: bool) -> String {
    let abc: &[u8] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(abc[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if !url {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

fn unbase64(text: &str) -> Vec<u8> {
    let url: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    decode_base64url(&url).expect("base64 key body")
}

/// The private scalar of an EC key in PKCS#8 or SEC1 DER (`ECPrivateKey`:
/// version 1, then an OCTET STRING of 32 or 48 bytes): a JWK's `d`.
fn ec_scalar(der: &[u8]) -> Option<Vec<u8>> {
    [32u8, 48].into_iter().find_map(|len| {
        let pat = [0x02, 0x01, 0x01, 0x04, len];
        let at = der.windows(5).position(|w| w == pat)? + 5;
        der.get(at..at + usize::from(len)).map(<[u8]>::to_vec)
    })
}

/// Every string that would betray one private key (DER bytes): the PEM
/// body whole and line by line, base64url of the DER (as instant-acme
/// stores the account), and the EC scalar as JWK `d` and in hex.
fn fingerprints(der: &[u8]) -> Vec<String> {
    let body = base64(der, false);
    let mut out = vec![body.clone(), base64(der, true)];
    // A log may wrap a PEM at 64 columns: each full line betrays it too.
    out.extend(
        body.as_bytes()
            .chunks(64)
            .filter(|c| c.len() == 64)
            .map(|c| String::from_utf8_lossy(c).into_owned()),
    );
    if let Some(d) = ec_scalar(der) {
        out.push(base64(&d, true));
        out.push(d.iter().map(|b| format!("{b:02x}")).collect());
    }
    out
}

/// PEM private key blocks in `text` (also inside JSON strings, `\n`-escaped).
fn pem_keys(text: &str) -> Vec<Vec<u8>> {
    let text = text.replace("\\n", "\n");
    let mut keys = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let Some(head_end) = block.find("-----\n") else {
            break;
        };
        let head = &block[..head_end];
        let Some(end) = block.find("-----END ") else {
            break;
        };
        if head.contains("PRIVATE KEY") {
            let body: String = block[head_end + 6..end]
                .lines()
                .filter(|l| !l.contains(':'))
                .collect();
            keys.push(unbase64(&body));
        }
        rest = &block[end + 9..];
    }
    keys
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        out.push(p.clone());
        if p.is_dir() && !p.is_symlink() {
            walk(&p, out);
        }
    }
}

/// Every private key in the store: PEM files and journals, and the ACME
/// account's PKCS#8 (`key_pkcs8`, base64url).
fn store_keys(state: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    walk(state, &mut files);
    let mut keys = Vec::new();
    let mut accounts = 0;
    for f in files.iter().filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        keys.extend(pem_keys(&text));
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(k) = v["key_pkcs8"].as_str()
        {
            keys.push(decode_base64url(k).expect("account key is base64url"));
            accounts += 1;
        }
    }
    assert_eq!(
        accounts,
        1,
        "expected one ACME account in {}",
        state.display()
    );
    keys
}

/// Assert store modes: every folder 0700, every file 0600.
fn assert_store_modes(state: &Path, umask: &str) {
    let mut files = vec![state.to_path_buf()];
    walk(state, &mut files);
    for f in files {
        let meta = std::fs::symlink_metadata(&f).expect("stat");
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(
            mode,
            want,
            "umask {umask}: {} is {mode:o}, want {want:o}",
            f.display()
        );
    }
}

/// Assert the on-host layout's owners and modes (PRODUCT.md 3.4) for every
/// certificate of the report; returns each host's keys (DER).
fn assert_host_modes(fl: &FleetLab, report: &serde_json::Value, umask: &str) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    for c in report["certificates"].as_array().expect("certificates") {
        let host = c["host"].as_str().expect("host");
        let first = c["domains"][0].as_str().expect("first name");
        let dir = format!("/etc/letsencrypt-certs/{first}");
        let stat = fl.lab.ssh_ok(
            host,
            &format!(
                "cd {dir} && stat -L -c '%n %U:%G %a' . {first}.key {first}.cer ca.cer fullchain.cer \
                 && stat -c '%n %U:%G %a' .certbridge/current/ .certbridge/current/*"
            ),
        );
        for line in stat.lines() {
            let (name, rest) = line.split_once(' ').expect("stat line");
            let want = if name == "." || name.ends_with('/') {
                "root:letsencrypt 2750"
            } else if name.ends_with(".key") {
                "root:letsencrypt 640"
            } else {
                "root:letsencrypt 644"
            };
            assert_eq!(rest, want, "umask {umask}: {host}:{dir}/{name}");
        }
        let key = fl
            .lab
            .host_file(host, &format!("{dir}/{first}.key"))
            .expect("key on host");
        let found = pem_keys(&String::from_utf8_lossy(&key.contents));
        assert_eq!(found.len(), 1, "{host}:{dir}/{first}.key holds one key");
        keys.extend(found);
    }
    keys
}

#[test]
fn no_private_key_in_any_output_and_modes_whatever_the_umask() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let state = fl.fleet_dir().join("state");
    let log = fl.fleet_dir().join("certbridge.log");
    let mut outputs: Vec<(String, Output)> = Vec::new();

    let first = run_umask(&fl, "000", &["--output", "json", "pulse"]);
    expect(&first, 0, "pulse under umask 000");
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).expect("JSON");
    assert_store_modes(&state, "000");
    let mut host_keys = assert_host_modes(&fl, &report, "000");
    outputs.push(("pulse umask 000".into(), first));

    let forced = run_umask(&fl, "077", &["--output", "json", "pulse", "--force"]);
    expect(&forced, 0, "forced pulse under umask 077");
    let report: serde_json::Value = serde_json::from_slice(&forced.stdout).expect("JSON");
    assert_store_modes(&state, "077");
    host_keys.extend(assert_host_modes(&fl, &report, "077"));
    outputs.push(("pulse --force umask 077".into(), forced));

    for (args, code) in [
        (&["plan", "--probe"][..], 0),
        (&["--output", "json", "plan", "--probe"][..], 0),
        (&["status", "--danger-zone", "0s"][..], 0),
        (
            &["--output", "json", "status", "--danger-zone", "0s"][..],
            0,
        ),
        (&["check"][..], 0),
        (&["--output", "json", "check"][..], 0),
    ] {
        let out = run_umask(&fl, "022", args);
        expect(&out, code, &format!("{args:?}"));
        outputs.push((format!("{args:?}"), out));
    }

    // A failing pulse: orders are placed and answered, the zone check fails,
    // so every error path with the account key in memory runs.
    fl.edit(
        "certbridge.yaml",
        "\"named-checkzone {zone} {file}\"",
        "\"named-checkzone {zone} {file} && false\"",
    );
    for format in ["human", "json"] {
        let out = run_umask(&fl, "022", &["--output", format, "pulse", "--force"]);
        expect(&out, 1, "failing pulse");
        outputs.push((format!("failing pulse {format}"), out));
    }
    assert_store_modes(&state, "022");

    // Every key there is: the store's (certificates of both pulses, the
    // account, journals), the hosts', and the SSH key certbridge logs in with.
    let mut keys = store_keys(&state);
    // Positive control: the needles do find each key where it is stored.
    let mut stored = Vec::new();
    walk(&state, &mut stored);
    let store_flat: String = stored
        .iter()
        .filter(|f| f.is_file())
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect::<String>()
        .replace("\\n", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for k in &keys {
        let f = fingerprints(k);
        assert!(
            store_flat.contains(&f[0]) || store_flat.contains(&f[1]),
            "a key's fingerprint is not found in the store it came from"
        );
    }
    keys.extend(host_keys);
    let ssh_key = std::fs::read_to_string(&fl.lab.info().ssh_client_key).expect("ssh key");
    let ssh_keys = pem_keys(&ssh_key);
    // OpenSSH keys are not PKCS#8: their body is the secret.
    let ssh_body: String = ssh_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    keys.extend(ssh_keys);
    let cert_keys = keys.len();
    assert!(
        cert_keys > 2 * 11,
        "found only {cert_keys} keys in the store and on the hosts"
    );
    let mut needles: BTreeSet<String> = keys.iter().flat_map(|k| fingerprints(k)).collect();
    needles.insert(ssh_body);
    assert!(needles.iter().all(|n| n.len() >= 40), "short needle");

    let log_mode = std::fs::metadata(&log).expect("log").permissions().mode() & 0o777;
    assert_eq!(log_mode, 0o640, "log file created under umask 000");
    let log_text = std::fs::read_to_string(&log).expect("log file");
    assert!(
        log_text.contains("TRACE") || log_text.contains("DEBUG"),
        "the log file was not written at debug/trace level"
    );
    let mut haystacks: Vec<(String, String)> = outputs
        .iter()
        .flat_map(|(what, o)| {
            [
                (
                    format!("{what} stdout"),
                    String::from_utf8_lossy(&o.stdout).into_owned(),
                ),
                (
                    format!("{what} stderr"),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                ),
            ]
        })
        .collect();
    haystacks.push(("log file".into(), log_text));
    let total: usize = haystacks.iter().map(|(_, h)| h.len()).sum();
    assert!(
        total > 100_000,
        "only {total} bytes of output: was -vvv honoured?"
    );
    for (what, text) in &haystacks {
        // Compare without whitespace and JSON escapes, so a wrapped or
        // escaped key is still found.
        let flat: String = text
            .replace("\\n", "")
            .replace("\\/", "/")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for n in &needles {
            assert!(
                !flat.contains(n.as_str()),
                "{what} contains private key material ({}...)",
                &n[..12]
            );
        }
        assert!(
            !text.contains("PRIVATE KEY"),
            "{what} contains a PEM private key header"
        );
    }
}
