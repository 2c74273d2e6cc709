//! Injection attempts, one test per class. Each value is either refused at
//! load (exit 2, naming file, line and item) or inert by construction; the
//! comments say which and why.

use std::path::Path;

use certbridge::dns::zone::{TxtRecord, render as render_zone};
use certbridge::handlers::command::{check as check_command, render as render_command};
use certbridge::inventory::domain::{check_cert_key, check_cert_name};

use super::{HOSTS, Mini, assert_refused};

/// A hosts file whose one certificate has these names (YAML-quoted as JSON).
fn hosts_with_names(names: &[&str]) -> String {
    HOSTS.replace(
        "          - web01.example.org\n          - www.example.org\n",
        &names
            .iter()
            .map(|n| format!("          - {}\n", serde_json::to_string(n).expect("json")))
            .collect::<String>(),
    )
}

/// Refused: every name below reaches ACME orders, the zone, paths on hosts
/// and shell commands, so only lowercase LDH names get through.
fn assert_names_refused(cases: &[(&str, &str)]) {
    for (name, why) in cases {
        let mini = Mini::new();
        mini.write("hosts.yaml", hosts_with_names(&[name]));
        let problems = mini.refused();
        assert_refused(&problems, &mini.path("hosts.yaml"), &["web01-main", why]);
        assert!(check_cert_name(name).is_err(), "{name:?}");
    }
}

#[test]
fn path_traversal_is_refused() {
    assert_names_refused(&[
        ("../../etc/passwd", "path separator"),
        ("/etc/passwd", "path separator"),
        ("..", "`..`"),
        ("a..example.org", "`..`"),
        ("web01.example.org\0", "control character"),
    ]);
    for key in ["../x", "/abs", "a/../../b", "a\0b", ".hidden", "-rf"] {
        assert!(check_cert_key(key).is_err(), "{key:?}");
        let mini = Mini::new();
        let text = HOSTS.replace(
            "web01-main:",
            &format!("{}:", serde_json::to_string(key).expect("json")),
        );
        mini.write("hosts.yaml", text);
        assert_refused(
            &mini.refused(),
            &mini.path("hosts.yaml"),
            &["certificate key"],
        );
    }
    // The host name names the host's file in the store.
    let mini = Mini::new();
    mini.write(
        "hosts.yaml",
        HOSTS.replace("web01.example.org:", "\"../../../etc/cron.d/x\":"),
    );
    assert_refused(
        &mini.refused(),
        &mini.path("hosts.yaml"),
        &["host ../../../etc/cron.d/x", "contains `/`"],
    );
    // Config paths: a NUL anywhere, a relative or `..` cert_dir on hosts.
    let mini = Mini::new();
    mini.write(
        "certbridge.yaml",
        "inventory: [hosts.yaml]\nhandlers: handlers.yaml\nstate_dir: \"st\\0ate\"\ntargets:\n  cert_dir: ../etc\n",
    );
    let problems = mini.refused();
    assert_refused(
        &problems,
        &mini.config(),
        &[":3: state_dir", "control character"],
    );
    assert_refused(
        &problems,
        &mini.config(),
        &[":5: targets.cert_dir", "absolute path"],
    );
}

#[test]
fn shell_injection_is_refused_or_quoted() {
    // Refused in names (they reach paths and commands).
    assert_names_refused(&[
        ("$(touch /tmp/pwned).example.org", "whitespace"),
        ("$(reboot).example.org", "`$`"),
        ("`id`.example.org", "``"),
        ("a;reboot.example.org", "`;`"),
        ("a|b.example.org", "`|`"),
    ]);
    // Refused where ssh would read an option: destination, user, dns.host.
    let mini = Mini::new();
    mini.write(
        "hosts.yaml",
        HOSTS.replace(
            "ansible_host: 192.0.2.10",
            "ansible_host: \"-oProxyCommand=touch /tmp/pwned\"\n      ansible_user: \"-oX\"",
        ),
    );
    let problems = mini.refused();
    assert_refused(
        &problems,
        &mini.path("hosts.yaml"),
        &[":4:", "ansible_host", "starts with `-`"],
    );
    assert_refused(
        &problems,
        &mini.path("hosts.yaml"),
        &[":5:", "ansible_user", "starts with `-`"],
    );
    let mini = Mini::new();
    mini.write(
        "certbridge.yaml",
        "inventory: [hosts.yaml]\nhandlers: handlers.yaml\ndns:\n  host: \"-oProxyCommand=sh\"\n  zone_file: /z\ntargets:\n  owner: \"root; reboot\"\n",
    );
    let problems = mini.refused();
    assert_refused(&problems, &mini.config(), &["dns.host", "starts with `-`"]);
    assert_refused(
        &problems,
        &mini.config(),
        &["targets.owner", "contains `;`"],
    );

    // Harmless by construction in handler commands: every inserted value is
    // shell-quoted by the template's formatter, whatever it holds, and the
    // shell then sees one literal word.
    let hostile = "$(touch /tmp/certbridge-pwned) `id`; rm -rf / 'x' \"y\" \n z";
    let ctx = minijinja::context! { first => hostile, domains => vec![hostile, "b.org"] };
    let cmd = render_command("printf '%s|' {{ first }} {{ domains }}", &ctx).expect("renders");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .current_dir(dir.path())
        .output()
        .expect("sh");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{hostile}|{hostile}|b.org|")
    );
    assert!(!Path::new("/tmp/certbridge-pwned").exists());
}

#[test]
fn template_injection_is_inert() {
    // Harmless by construction: a value is data to minijinja, never parsed
    // as a template, so `{{ }}` inside it renders as the literal text (and
    // is quoted). Names with braces are refused anyway.
    let ctx = minijinja::context! { first => "{{ 7 * 7 }}{% raw %}", host => "{% include '/etc/shadow' %}" };
    let out = render_command("echo {{ first }} {{ host }}", &ctx).expect("renders");
    assert_eq!(
        out,
        "echo '{{ 7 * 7 }}{% raw %}' '{% include '\\''/etc/shadow'\\'' %}'"
    );
    assert_names_refused(&[("{{7*7}}.example.org", "`{`"), ("{%x%}.example.org", "`{`")]);
    // An operator's command may only use the documented variables.
    assert!(check_command("{{ config }}").is_err());
    assert!(check_command("{{ first }").is_err());
    // What only fails when rendering is refused at load, not in a pulse.
    let mini = Mini::new();
    mini.write(
        "handlers.yaml",
        super::HANDLERS.replace("systemctl reload nginx", "cat {% include '/etc/shadow' %}"),
    );
    assert_refused(
        &mini.refused(),
        &mini.path("handlers.yaml"),
        &[":3: action reload", "does not render"],
    );

    // The zone template sees only the zone name (validated), the serial (a
    // number) and records whose labels and values are checked first.
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("z.j2");
    std::fs::write(
        &t,
        "{% for r in records %}{{ r.label }} TXT \"{{ r.value }}\"\n{% endfor %}",
    )
    .expect("write");
    let rec = |label: &str, value: &str| TxtRecord {
        label: label.into(),
        owner: "acme.example.org".into(),
        value: value.into(),
    };
    let ok = "A".repeat(43);
    assert!(render_zone(&t, "acme.example.org", 1, &[rec("{{ zone }}", &ok)]).is_err());
    assert!(render_zone(&t, "acme.example.org", 1, &[rec("@", "{{ serial }}")]).is_err());
    let mini = Mini::new();
    mini.write(
        "certbridge.yaml",
        "inventory: [hosts.yaml]\nhandlers: handlers.yaml\ndns:\n  zone: \"{{ 7*7 }}.example.org\"\n",
    );
    assert_refused(
        &mini.refused(),
        &mini.config(),
        &[":4: dns.zone", "not a valid DNS zone name"],
    );
}

#[test]
fn zone_file_injection_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("z.j2");
    std::fs::write(
        &t,
        "{% for r in records %}{{ r.label }} TXT \"{{ r.value }}\"\n{% endfor %}",
    )
    .expect("write");
    let ok = "A".repeat(43);
    for (label, value) in [
        ("@", format!("{}\"", "A".repeat(42))),
        ("@", format!("{}\n", "A".repeat(42))),
        ("@", "x\" ; $INCLUDE /etc/shadow".to_owned()),
        ("@", format!("{}(", "A".repeat(42))),
        ("a\n$INCLUDE /etc/shadow", ok.clone()),
        ("a;b", ok.clone()),
        ("a(b)", ok.clone()),
        ("a\"b", ok.clone()),
        ("$ORIGIN", ok),
    ] {
        let r = TxtRecord {
            label: label.into(),
            owner: "x".into(),
            value,
        };
        let err = render_zone(&t, "acme.example.org", 1, &[r]).expect_err(label);
        assert!(err.to_string().contains("refusing to write"), "{err}");
    }
    // The names the labels derive from are refused at load already.
    assert_names_refused(&[
        ("a\"b.example.org", "`\"`"),
        ("a\nb.example.org", "control character"),
        ("$INCLUDE.example.org", "`$`"),
        ("a(b).example.org", "`(`"),
    ]);
    let mini = Mini::new();
    mini.write(
        "certbridge.yaml",
        "inventory: [hosts.yaml]\nhandlers: handlers.yaml\ndns:\n  zone: \"acme.org\\n$INCLUDE /etc/shadow\"\n",
    );
    assert_refused(
        &mini.refused(),
        &mini.config(),
        &["dns.zone", "not a valid DNS zone name"],
    );
}

#[test]
fn odd_unicode_is_refused_with_a_hint() {
    assert_names_refused(&[
        ("bücher.example.org", "punycode"),
        ("web01.example.org\u{202e}gro", "punycode"),
        ("web\u{200d}01.example.org", "punycode"),
        // Cyrillic `а` looks like Latin `a`.
        ("web01.ex\u{0430}mple.org", "punycode"),
        ("WEB01.example.org", "lowercase"),
    ]);
    assert!(check_cert_name("xn--bcher-kva.example.org").is_ok());
    // Host names, cert keys and problem output: escaped, never raw.
    let mini = Mini::new();
    mini.write(
        "hosts.yaml",
        HOSTS.replace("web01-main:", "\"web\u{202e}01\\e[2J\":"),
    );
    let problems = mini.refused();
    assert_refused(
        &problems,
        &mini.path("hosts.yaml"),
        &["\\u{202e}", "\\u{1b}"],
    );
    assert!(
        problems.iter().all(|p| !p.contains('\u{1b}')),
        "{problems:?}"
    );
}
