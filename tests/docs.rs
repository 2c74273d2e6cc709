//! Every command the docs show must keep working, so the docs cannot rot.
//!
//! The test reads the shell blocks (```sh, ```bash, ```console) of
//! `README.md` and `docs/*.md` and, for every command line:
//! - `certbridge ...`: must parse with the real CLI; the read-only ones
//!   (`check`, `plan` without `--probe`, `status`, `export`) are run against
//!   a copy of the bundled example fleet and must not fail (`check --dns`
//!   and `export --write` without their live part); the others (`pulse`,
//!   `renew`, `plan --probe`) are run as a `plan` of the same scope, which
//!   proves that the hosts and certificate keys they name exist. Their real
//!   runs are in the lab tests and `scripts/demo.sh`.
//! - a repository script (`scripts/...`, `tests/lab/...`): must exist and
//!   be executable.
//! - anything else: must be listed in [`EXERCISED_ELSEWHERE`] with the test
//!   or script that runs it.

use std::path::{Path, PathBuf};

use clap::Parser as _;

use crate::support::fleet::Scratch;

/// Commands other than certbridge and repository scripts, with where they run.
const EXERCISED_ELSEWHERE: &[(&str, &str)] = &[
    ("cargo", "scripts/test.sh and the bench scripts"),
    ("git", "the developer's own clone"),
    (
        "install",
        "contrib/check.sh (run by scripts/test.sh), into a scratch root",
    ),
    (
        "systemctl",
        "contrib/check.sh: `systemctl --root enable` and `systemd-analyze verify` of the units; \
         daemon-reload, start and list-timers need a booted systemd",
    ),
    (
        "journalctl",
        "the operator's machine; contrib/check.sh verifies the unit whose journal it reads",
    ),
    (
        "logrotate",
        "contrib/check.sh: `logrotate -d` and a forced rotation",
    ),
    (
        "promtool",
        "contrib/check.sh: check metrics, check rules, test rules",
    ),
    (
        "prometheus-node-exporter",
        "contrib/check.sh: reads the textfile certbridge writes",
    ),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (file, line number, command) for every command line in a shell block.
fn doc_commands() -> Vec<(String, usize, String)> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read doc");
        let rel = f.strip_prefix(repo()).unwrap_or(&f).display().to_string();
        let mut in_shell = false;
        let mut in_other = false;
        // In a console block only prompted lines are commands; the rest is
        // what they print.
        let mut console = false;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if let Some(lang) = t.strip_prefix("```") {
                if in_shell || in_other {
                    in_shell = false;
                    in_other = false;
                } else if matches!(lang.trim(), "sh" | "bash" | "console") {
                    in_shell = true;
                    console = lang.trim() == "console";
                } else {
                    in_other = true;
                }
                continue;
            }
            if !in_shell {
                continue;
            }
            let prompted = t.strip_prefix("$ ").or_else(|| t.strip_prefix("# "));
            if console && prompted.is_none() {
                continue;
            }
            let t = prompted.unwrap_or(t);
            let cmd = strip_comment(t);
            if !cmd.is_empty() {
                out.push((rel.clone(), i + 1, cmd));
            }
        }
    }
    out
}

/// The line without a trailing `# comment` (outside quotes).
fn strip_comment(line: &str) -> String {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return line[..i].trim().to_owned(),
            _ => {}
        }
        prev = c;
    }
    line.trim().to_owned()
}

/// Split like a shell does for simple words and quotes (no expansions).
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            // Only the first command of a pipeline or list; redirections
            // end it too (`certbridge manpage | man -l -`).
            (None, '|' | '>' | ';' | '&') => break,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Drop leading `VAR=value` assignments.
fn without_env(words: &[String]) -> &[String] {
    let n = words
        .iter()
        .take_while(|w| {
            w.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
        })
        .count();
    &words[n..]
}

/// The arguments after `certbridge`, without `--config X` (the test
/// supplies the example fleet's).
fn certbridge_args(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        if w == "--config" {
            it.next();
        } else if !w.starts_with("--config=") {
            out.push(w.clone());
        }
    }
    out
}

/// What to run for a documented certbridge command: itself when it is
/// read-only, else a `plan` of the same scope.
fn read_only_equivalent(args: &[String]) -> Vec<String> {
    let Some(pos) = args.iter().position(|a| !a.starts_with('-')) else {
        return args.to_vec();
    };
    let (globals, rest) = args.split_at(pos);
    let mut out: Vec<String> = globals.to_vec();
    match rest[0].as_str() {
        "pulse" => {
            out.push("plan".into());
            out.extend(rest[1..].iter().cloned());
        }
        "renew" => {
            out.extend(["plan".into(), "--force".into(), "--limit".into()]);
            out.extend(rest[1..].iter().cloned());
        }
        "plan" => out.extend(rest.iter().filter(|a| *a != "--probe").cloned()),
        // The live lookups need the lab's DNS (tests/lab_check_dns.rs); the
        // file checks run here.
        "check" => out.extend(rest.iter().filter(|a| *a != "--dns").cloned()),
        // Writing needs the file keys set (tests/cli_ops.rs writes them);
        // the rendering runs here.
        "export" => out.extend(rest.iter().filter(|a| *a != "--write").cloned()),
        _ => out.extend(rest.iter().cloned()),
    }
    out
}

#[test]
fn every_command_in_the_docs_works() {
    let commands = doc_commands();
    assert!(
        commands.len() >= 10,
        "found only {} commands in the docs; is the extraction broken?",
        commands.len()
    );
    let fleet = Scratch::copy("inventory");
    let mut failures = Vec::new();
    let mut ran = 0;
    for (file, line, cmd) in &commands {
        let all = words(cmd);
        let w = without_env(&all);
        let Some(program) = w.first() else { continue };
        let at = format!("{file}:{line}: `{cmd}`");
        if program == "certbridge" || program.ends_with("/certbridge") {
            let args = certbridge_args(w);
            let argv = std::iter::once("certbridge".to_owned()).chain(args.iter().cloned());
            match certbridge::cli::Cli::try_parse_from(argv) {
                Ok(_) => {}
                // `--version` and `--help` "fail" by printing.
                Err(e)
                    if matches!(
                        e.kind(),
                        clap::error::ErrorKind::DisplayVersion
                            | clap::error::ErrorKind::DisplayHelp
                    ) =>
                {
                    continue;
                }
                Err(e) => {
                    failures.push(format!("{at}: does not parse: {e}"));
                    continue;
                }
            }
            let run = read_only_equivalent(&args);
            // A scoped command must name hosts and keys the fleet has: its
            // plan must not be empty.
            let scoped = args
                .iter()
                .any(|a| a == "--limit" || a == "--cert" || a == "renew");
            let mut run_refs: Vec<&str> = run.iter().map(String::as_str).collect();
            if scoped {
                run_refs.splice(0..0, ["--output", "json"]);
            }
            let out = fleet.cmd(&run_refs).output().expect("run certbridge");
            ran += 1;
            // 0, or 3 from --detailed-exitcode; anything else is a failure.
            if !matches!(out.status.code(), Some(0 | 3)) {
                failures.push(format!(
                    "{at}: `certbridge {}` exited {:?}: {}",
                    run.join(" "),
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            } else if scoped {
                let plan: serde_json::Value =
                    serde_json::from_slice(&out.stdout).expect("plan JSON");
                if plan["certificates"].as_array().is_none_or(Vec::is_empty) {
                    failures.push(format!(
                        "{at}: names no host or certificate of the example fleet"
                    ));
                }
            }
        } else if program.starts_with("scripts/") || program.starts_with("tests/lab/") {
            let p = repo().join(program);
            if !is_executable(&p) {
                failures.push(format!("{at}: {program} is missing or not executable"));
            }
        } else if !EXERCISED_ELSEWHERE.iter().any(|(c, _)| c == program) {
            failures.push(format!(
                "{at}: `{program}` is not run by any test; add a test or script that runs it and list it in EXERCISED_ELSEWHERE"
            ));
        }
    }
    assert!(ran >= 5, "ran only {ran} certbridge commands from the docs");
    assert!(
        failures.is_empty(),
        "docs commands that do not work:\n{}",
        failures.join("\n")
    );
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[test]
fn word_splitting_and_comments() {
    assert_eq!(
        words(r#"certbridge plan --limit 'a b' "c""#),
        ["certbridge", "plan", "--limit", "a b", "c"]
    );
    assert_eq!(
        strip_comment("certbridge check   # every problem"),
        "certbridge check"
    );
    assert_eq!(strip_comment("echo '#not' # yes"), "echo '#not'");
    let w = words("LEGO_MAX=50 scripts/bench-pulse.sh 1");
    assert_eq!(without_env(&w), ["scripts/bench-pulse.sh", "1"]);
    let renew: Vec<String> = ["renew", "h1", "--cert", "k"].map(String::from).to_vec();
    assert_eq!(
        read_only_equivalent(&renew),
        ["plan", "--force", "--limit", "h1", "--cert", "k"]
    );
}
