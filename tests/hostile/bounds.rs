//! Resource bombs against `certbridge check`, run as the real binary under
//! `/usr/bin/time -v`: each must end with exit 2 naming the file (and the
//! line where the parser knows it) within the stated wall time and peak
//! RSS. The bounds are for an unoptimised test build on a shared 2-core
//! machine, so they are loose; what they catch is a quadratic parser or an
//! unbounded expansion (100,000 levels of `[` took 52 s and `{a:` 128 s
//! before the nesting guard).

use std::process::Command;
use std::time::{Duration, Instant};

use super::Mini;

/// Wall time and peak RSS of one run.
struct Run {
    code: Option<i32>,
    stderr: String,
    elapsed: Duration,
    max_rss_kb: u64,
}

fn check_under_time(mini: &Mini) -> Run {
    let report = mini.path("time.txt");
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_certbridge"))
        .arg("--config")
        .arg(mini.config())
        .arg("check")
        .env_remove("CERTBRIDGE_LOG")
        .output()
        .expect("/usr/bin/time must be installed (Debian package `time`)");
    let elapsed = start.elapsed();
    let text = std::fs::read_to_string(&report).expect("time report");
    let max_rss_kb = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.parse().ok())
        .expect("time -v reports the maximum RSS");
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
        max_rss_kb,
    }
}

/// Run `check` and assert exit 2, the problem text, and the bounds.
#[track_caller]
fn assert_bounded(mini: &Mini, expect: &[&str], secs: u64, rss_mb: u64) -> Run {
    let r = check_under_time(mini);
    let head: String = r.stderr.chars().take(2000).collect();
    assert_eq!(r.code, Some(2), "{head}");
    for e in expect {
        assert!(r.stderr.contains(e), "stderr lacks {e:?}: {head}");
    }
    assert!(
        r.elapsed < Duration::from_secs(secs),
        "took {:?} (bound {secs} s)",
        r.elapsed
    );
    assert!(
        r.max_rss_kb < rss_mb * 1024,
        "peak RSS {} MB (bound {rss_mb} MB)",
        r.max_rss_kb / 1024
    );
    // No line of output may bury the others.
    assert!(
        r.stderr.lines().all(|l| l.len() < 2_000),
        "an output line is {} bytes long",
        r.stderr.lines().map(str::len).max().unwrap_or(0)
    );
    r
}

#[test]
fn deep_flow_nesting_is_refused_quickly() {
    let mini = Mini::new();
    let n = 100_000;
    for text in [
        format!("all: {}{}\n", "[".repeat(n), "]".repeat(n)),
        format!("all:\n  hosts: {}1{}\n", "{a: ".repeat(n), "}".repeat(n)),
        format!("all: {}\n", "[".repeat(n)),
    ] {
        mini.write("hosts.yaml", text);
        assert_bounded(
            &mini,
            &["hosts.yaml:", "nested more than 512 deep"],
            10,
            200,
        );
    }
}

#[test]
fn deep_block_nesting_is_refused_quickly() {
    let mini = Mini::new();
    // 100,000 block sequences on one line, and 5,000 indented mappings (the
    // deepest that fits the 16 MB limit is about 5,600).
    mini.write("hosts.yaml", format!("{}a\n", "- ".repeat(100_000)));
    assert_bounded(
        &mini,
        &["hosts.yaml:1:", "recursion limit exceeded"],
        10,
        200,
    );
    let text: String = (0..5_000)
        .map(|i| format!("{}a{i}:\n", " ".repeat(i)))
        .collect();
    mini.write("handlers.yaml", text);
    mini.write("hosts.yaml", super::HOSTS);
    assert_bounded(
        &mini,
        &["handlers.yaml:129:", "recursion limit exceeded"],
        10,
        300,
    );
}

#[test]
fn alias_bombs_are_refused() {
    // "Billion laughs": nine levels of nine aliases each, 387 million
    // strings if expanded; also as merge keys.
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for n in 'b'..='i' {
        text.push_str(&format!(
            "{n}: &{n} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
        prev = n;
    }
    let mini = Mini::new();
    mini.write("group_vars/all.yaml", format!("{text}x: *i\n"));
    assert_bounded(
        &mini,
        &["all.yaml", "all.yaml:2:", "expand to too much"],
        10,
        200,
    );

    let mut merge = String::from("m0: &m0 {k: v}\n");
    for i in 1..200 {
        merge.push_str(&format!(
            "m{i}: &m{i} {{<<: [*m{}, *m{}], k{i}: v}}\n",
            i - 1,
            i - 1
        ));
    }
    mini.write("group_vars/all.yaml", merge);
    let r = check_under_time(&mini);
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
    assert!(r.max_rss_kb < 200 * 1024, "{} kB", r.max_rss_kb);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

#[test]
fn a_5_mb_inventory_loads_in_bounded_time_and_memory() {
    // About 40,000 hosts with a certificate each: every one is validated,
    // then every missing handler is reported.
    let mut text = String::from("all:\n  hosts:\n");
    let mut i = 0;
    while text.len() < 5_000_000 {
        text.push_str(&format!(
            "    h{i}.example.org:\n      ansible_host: 192.0.2.1\n      letsencrypt_certs:\n        c{i}:\n          - h{i}.example.org\n"
        ));
        i += 1;
    }
    text.push_str("  children:\n    letsencrypt:\n      hosts:\n        h1.example.org:\n        h2.example.org:\n");
    let mini = Mini::new();
    mini.write("hosts.yaml", text);
    let r = assert_bounded(
        &mini,
        &["handlers.yaml:", "certificate `c1` has no handler"],
        30,
        600,
    );
    eprintln!(
        "5 MB inventory: {:?}, {} MB peak",
        r.elapsed,
        r.max_rss_kb / 1024
    );
}

#[test]
fn a_file_over_16_mb_is_refused_without_reading_it() {
    let mini = Mini::new();
    let f = std::fs::File::create(mini.path("hosts.yaml")).expect("create");
    f.set_len(17 * 1024 * 1024).expect("sparse file");
    assert_bounded(
        &mini,
        &["hosts.yaml:", "larger than the 16777216-byte limit"],
        5,
        50,
    );
    mini.write(
        "certbridge.yaml",
        "inventory: [/dev/zero]\nhandlers: handlers.yaml\nstate_dir: state\n",
    );
    assert_bounded(&mini, &["/dev/zero:", "not a regular file"], 5, 50);
}

#[test]
fn very_long_names_are_refused_with_short_messages() {
    let long = "a".repeat(100_000);
    let mini = Mini::new();
    // An implicit YAML key is at most 1024 characters; `? ` makes it explicit.
    mini.write(
        "hosts.yaml",
        format!(
            "all:\n  children:\n    letsencrypt:\n      hosts:\n        ? {long}.example.org\n        : letsencrypt_certs:\n            main: [{long}.example.org, {}.example.org, {}org]\n            ? \"{}\"\n            : [x.example.org]\n",
            "b".repeat(64),
            "c.".repeat(130),
            "k".repeat(100_000),
        ),
    );
    let r = assert_bounded(&mini, &["hosts.yaml:"], 10, 200);
    assert!(
        r.stderr
            .contains("host name is 100012 characters long; at most 253"),
        "{}",
        &r.stderr[..2000.min(r.stderr.len())]
    );

    // The same names on a host with a short name reach the name checks.
    mini.write(
        "hosts.yaml",
        format!(
            "all:\n  children:\n    letsencrypt:\n      hosts:\n        web01.example.org:\n          letsencrypt_certs:\n            main: [{long}.example.org, {}.example.org, {}org]\n            ? \"{}\"\n            : [x.example.org]\n",
            "b".repeat(64),
            "c.".repeat(130),
            "k".repeat(100_000),
        ),
    );
    let r = assert_bounded(&mini, &["hosts.yaml:7:"], 10, 200);
    for want in [
        "is 100012 characters long, more than DNS allows (253)",
        "is longer than 63 characters",
        "is 263 characters long, more than DNS allows (253)",
        "certificate key is 100000 characters long; at most 128",
    ] {
        assert!(r.stderr.contains(want), "lacks {want:?}");
    }
}
