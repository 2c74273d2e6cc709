//! Handler actions that time out, exit non-zero or print 50 MiB: each is
//! reported, stays pending and runs on the next pulse, and none of them
//! costs the bridge memory, log or report space in proportion to its output.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::harness::*;
use crate::support::fleet_lab::FleetLab;
use crate::support::lab::LabOptions;

#[test]
fn handler_timeouts_failures_and_huge_output_are_reported_kept_small_and_retried() {
    let fl = FleetLab::start(FLEET, LabOptions::default());
    let plan = fl.json(&["plan"], 0);
    let hung = host_of(&plan, NB01_CERT);
    let failing_cert = "mirror01-dfw-rax-main";
    let chatty_cert = "review01-opendev-org-main";
    let failing = host_of(&plan, failing_cert);
    let chatty = host_of(&plan, chatty_cert);
    let fail = "[ -e /etc/certbridge-lab/fail ]";
    own_action(
        &fl,
        NB01_CERT,
        &format!(
            "if {fail}; then echo $$ > /etc/certbridge-lab/hung.pid; exec sleep 300; fi; /etc/certbridge-lab/record hung-ok"
        ),
        "2s",
    );
    own_action(
        &fl,
        failing_cert,
        &format!(
            "if {fail}; then echo 'the mirror says no' >&2; exit 7; fi; /etc/certbridge-lab/record failing-ok"
        ),
        "60s",
    );
    // 40 MiB on stdout, 10 MiB on stderr, then the line that matters.
    own_action(
        &fl,
        chatty_cert,
        &format!(
            "head -c 41943040 /dev/zero | tr '\\0' o; head -c 10485760 /dev/zero | tr '\\0' e >&2; \
             if {fail}; then echo 'the end of a long story' >&2; exit 3; fi; /etc/certbridge-lab/record chatty-ok"
        ),
        "60s",
    );
    for h in [&hung, &failing, &chatty] {
        fl.lab.ssh_ok(h, "touch /etc/certbridge-lab/fail");
    }

    let time = Path::new("/usr/bin/time");
    assert!(
        time.exists(),
        "GNU time (apt-get install time) is needed to measure memory"
    );
    let rss_file = fl.fleet_dir().join("maxrss");
    let out = Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(env!("CARGO_BIN_EXE_certbridge"))
        .env_remove("CERTBRIDGE_CONFIG")
        .arg("--config")
        .arg(&fl.config)
        .args(["--output", "json", "pulse"])
        .output()
        .expect("run certbridge under time");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    others_all(&report, &[], "issued");

    let h = handler(&report, NB01_CERT);
    assert_eq!(h["outcome"], "failed");
    let d = h["detail"].as_str().expect("detail");
    eprintln!("observed: {}", &d[..d.len().min(600)]);
    assert!(
        d.contains("timed out after 2s and was stopped on the host"),
        "{d}"
    );
    let pid = std::fs::read_to_string(fl.lab.host(&hung).dir.join("lab/hung.pid"))
        .expect("the hung action ran");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the timed-out action ({}) still runs on the host",
        pid.trim()
    );

    let h = handler(&report, failing_cert);
    assert_eq!(h["outcome"], "failed");
    let d = h["detail"].as_str().expect("detail");
    eprintln!("observed: {}", &d[..d.len().min(600)]);
    assert!(
        d.contains("exited 7") && d.contains("the mirror says no"),
        "{d}"
    );

    let h = handler(&report, chatty_cert);
    assert_eq!(h["outcome"], "failed");
    let d = h["detail"].as_str().expect("detail");
    eprintln!("observed: {}", &d[..d.len().min(600)]);
    assert!(
        d.contains("exited 3")
            && d.contains("the end of a long story")
            && d.contains("52428824 bytes of output"),
        "{}",
        &d[..d.len().min(2000)]
    );
    assert!(d.len() < 2000, "the report keeps {} bytes of it", d.len());
    assert!(
        out.stdout.len() < 100_000,
        "JSON report is {} bytes",
        out.stdout.len()
    );
    let log = std::fs::metadata(fl.fleet_dir().join("certbridge.log"))
        .expect("log")
        .len();
    assert!(log < 1_000_000, "the log grew to {log} bytes");
    let rss_kib: u64 = std::fs::read_to_string(&rss_file)
        .expect("time output")
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("max RSS in KiB");
    eprintln!("certbridge peak RSS while a handler printed 50 MiB: {rss_kib} KiB");
    assert!(
        rss_kib < 80 * 1024,
        "certbridge peaked at {rss_kib} KiB while a handler printed 50 MiB"
    );
    for (host, cert) in [
        (&hung, NB01_CERT),
        (&failing, failing_cert),
        (&chatty, chatty_cert),
    ] {
        assert_eq!(pending(&fl, host), [format!("letsencrypt updated {cert}")]);
    }

    // Fixed: the next pulse retries exactly those three, and they run.
    for h in [&hung, &failing, &chatty] {
        fl.lab.ssh_ok(h, "rm /etc/certbridge-lab/fail");
    }
    let next = fl.json(&["pulse"], 0);
    assert_eq!(next["orders"]["created"], 0);
    let ran: Vec<&str> = next["handlers"]
        .as_array()
        .expect("handlers")
        .iter()
        .map(|h| {
            assert_eq!(h["outcome"], "ran", "{h}");
            h["host"].as_str().expect("host")
        })
        .collect();
    assert_eq!(ran.len(), 3, "{ran:?}");
    for (host, what) in [
        (&hung, "hung-ok"),
        (&failing, "failing-ok"),
        (&chatty, "chatty-ok"),
    ] {
        let log: Vec<String> = fl
            .lab
            .handler_log(host)
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(log, [what], "{host}");
        assert!(pending(&fl, host).is_empty(), "{host}");
    }
}
