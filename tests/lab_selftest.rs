//! The lab proves itself without certbridge: Debian's lego issues through the
//! lab's CNAMEs and Pebble, the files go to a fake host over scp, and that
//! host's nginx serves them while the other host is untouched. A second test
//! checks that a lab whose owner is SIGKILLed tears itself down.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::lab::{CnameMode, Lab, LabOptions, LabSpec, parse_cert, sha256_file};

const WEB: &str = "web01.example.org";
const DB: &str = "db01.example.org";

fn spec() -> LabSpec {
    LabSpec::new("acme.example.org")
        .secondary()
        .name("www.example.org", CnameMode::Apex)
        .name("host1.example.org", CnameMode::Label)
        .name("*.example.org", CnameMode::Label)
        .host(WEB, &[WEB, "www.example.org"])
        .host_without_group(DB, &[DB])
}

#[test]
fn lab_selftest_lego_issues_and_a_host_serves_it() {
    let lab = Lab::start(&spec(), LabOptions::default());
    let zone = &lab.info().signing_zone;

    // DNS layout: apex and per-label CNAMEs, a wildcard on its base name.
    assert_eq!(
        lab.dig("_acme-challenge.www.example.org", "CNAME"),
        ["acme.example.org."]
    );
    assert_eq!(
        lab.dig("_acme-challenge.host1.example.org", "CNAME"),
        ["host1.example.org.acme.example.org."]
    );
    assert_eq!(
        lab.dig("_acme-challenge.example.org", "CNAME"),
        ["example.org.acme.example.org."]
    );
    // The commands lab.json offers certbridge work as printed.
    for cmd in [lab.check_command_for_zone(), lab.reload_command_for_zone()] {
        let out = Command::new("sh").arg("-c").arg(&cmd).output().expect("sh");
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Before anything is deployed, both hosts serve the placeholder.
    for h in [WEB, DB] {
        let served = lab.tls_handshake(h, "www.example.org");
        assert_eq!(served.subject, "CN=certbridge-lab placeholder", "{h}");
    }

    // The peer baseline: lego through the exec hook (apex + label name).
    let t = Instant::now();
    let cert = lab.lego_issue(&["www.example.org", "host1.example.org"]);
    eprintln!("lego issued in {:.1?}", t.elapsed());
    // The hook cleaned up after itself, with a strictly higher serial.
    let soa = lab.dig(zone, "SOA");
    let serial: u64 = soa[0]
        .split_whitespace()
        .nth(2)
        .expect("serial")
        .parse()
        .expect("num");
    assert!(serial >= 5, "4 zone writes expected, SOA {soa:?}");
    assert!(
        lab.dig("www.example.org.acme.example.org", "TXT")
            .is_empty()
    );
    // The secondary caught up through NOTIFY.
    let secondary = lab.info().dns_secondary.clone().expect("secondary");
    let deadline = Instant::now() + Duration::from_secs(10);
    while crate::support::lab::dig_at(&secondary, zone, "SOA") != soa {
        assert!(Instant::now() < deadline, "secondary never reached {soa:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Deploy to web01 the way OpenDev lays files out, then reload nginx.
    let dir = "/etc/letsencrypt-certs/www.example.org";
    lab.ssh_ok(WEB, &format!("install -d -m 2750 -g letsencrypt {dir}"));
    lab.scp_to(WEB, &cert.key_file, &format!("{dir}/www.example.org.key"));
    lab.scp_to(WEB, &cert.cert_file, &format!("{dir}/fullchain.cer"));
    lab.ssh_ok(WEB, "/etc/certbridge-lab/reload-nginx");

    let served = lab.tls_handshake(WEB, "www.example.org");
    let mut sans = served.sans.clone();
    sans.sort();
    assert_eq!(sans, ["host1.example.org", "www.example.org"]);
    let roots = lab.pebble_roots();
    assert_eq!(roots.len(), 2);
    let intermediate = parse_cert(&roots[1]);
    assert_eq!(served.issuer, intermediate.subject);
    assert!(
        served.issuer.contains("Pebble Intermediate"),
        "{}",
        served.issuer
    );
    assert_eq!(served.chain_pem.len(), 2, "leaf + intermediate");
    assert_eq!(
        served.fingerprint,
        parse_cert(&std::fs::read_to_string(&cert.cert_file).expect("cert")).fingerprint
    );
    // 3600 s validity by default.
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("time");
    assert!(
        (served.not_after - now - 3600).abs() < 120,
        "not_after {}",
        served.not_after
    );
    // Names web01 has no files for still get the placeholder.
    assert_eq!(
        lab.tls_handshake(WEB, WEB).subject,
        "CN=certbridge-lab placeholder"
    );

    // The other host is untouched: placeholder, and no files (isolation).
    assert_eq!(
        lab.tls_handshake(DB, "www.example.org").subject,
        "CN=certbridge-lab placeholder"
    );
    assert!(lab.host_file(DB, &format!("{dir}/fullchain.cer")).is_none());
    assert!(lab.host_file(DB, dir).is_none());
    // ... nor on the real filesystem.
    assert!(!std::path::Path::new(dir).exists());

    // On-host ownership as services see it (the group exists only inside).
    let key = lab
        .host_file(WEB, &format!("{dir}/www.example.org.key"))
        .expect("key");
    assert_eq!(
        (key.owner.as_str(), key.group.as_str()),
        ("root", "letsencrypt")
    );
    assert_eq!(key.sha256, sha256_file(&cert.key_file));
    assert_eq!(key.contents, std::fs::read(&cert.key_file).expect("key"));
    let base = lab
        .host_file(WEB, "/etc/letsencrypt-certs")
        .expect("cert dir");
    assert_eq!((base.group.as_str(), base.mode), ("letsencrypt", 0o2750));
    let base = lab
        .host_file(DB, "/etc/letsencrypt-certs")
        .expect("cert dir");
    assert_eq!((base.group.as_str(), base.mode), ("root", 0o755));
    assert!(!lab.ssh(DB, "getent group letsencrypt").status.success());

    // Handler traces, in order.
    lab.ssh_ok(
        DB,
        "/etc/certbridge-lab/record first && /etc/certbridge-lab/record second",
    );
    let log = lab.handler_log(DB);
    let what: Vec<&str> = log.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(what, ["first", "second"]);
    assert!(log[0].0 <= log[1].0);
    assert_eq!(
        lab.handler_log(WEB).last().map(|(_, w)| w.as_str()),
        Some("reload-nginx")
    );

    // An inventory certbridge can read.
    let inv = lab.dir().join("hosts.yaml");
    lab.write_ansible_inventory(&inv);
    let text = std::fs::read_to_string(&inv).expect("inventory");
    assert!(text.contains(&format!(
        "    {WEB}:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n",
        lab.host(WEB).ssh_port
    )));
}

#[test]
fn lab_selftest_owner_killed_tears_the_lab_down() {
    let mut owner = Command::new("sleep")
        .arg("600")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let spec = LabSpec::new("acme.example.net")
        .name("a.example.net", CnameMode::Label)
        .host("h1.example.net", &["a.example.net"]);
    let lab = Lab::start(
        &spec,
        LabOptions {
            owner_pid: Some(owner.id()),
            ..LabOptions::default()
        },
    );
    assert!(lab.status().contains("state: running"));
    let t = Instant::now();
    owner.kill().expect("SIGKILL owner");
    owner.wait().expect("reap owner");
    loop {
        let st = lab.status();
        if st.contains("state: stopped") && !st.contains("watchdog") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "lab still up: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("watchdog tore the lab down in {:.1?}", t.elapsed());
    // Nothing of it is left: no process mentions the lab dir.
    let dir = lab.dir().to_string_lossy().into_owned();
    let ps = Command::new("ps")
        .args(["-eo", "stat,args"])
        .output()
        .expect("ps");
    let stray: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains(&dir) && !l.starts_with('Z'))
        .map(str::to_owned)
        .collect();
    assert!(stray.is_empty(), "stray processes: {stray:?}");
}
