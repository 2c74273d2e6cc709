//! Property tests: arbitrary bytes and arbitrary YAML-ish text in every file
//! certbridge reads (config, hosts file, yamlgroup file, group_vars,
//! host_vars, handler map). Loading must never panic, and a refusal must be
//! a list of problems, each naming a file of the fleet.

use std::path::Path;

use proptest::prelude::*;

use super::Mini;

/// Pieces that make the YAML scanner and our validators take every branch:
/// indicators, anchors and aliases, tags (`!vault`), merge keys, block
/// scalars, quotes, and the keys each file knows.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(": ".to_owned()),
        Just("\n".to_owned()),
        Just("\n  ".to_owned()),
        Just("\n    ".to_owned()),
        Just("- ".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just(", ".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("<<: ".to_owned()),
        Just("!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n".to_owned()),
        Just("? ".to_owned()),
        Just("| \n".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("# ".to_owned()),
        Just("~".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("0x1F".to_owned()),
        Just("-1".to_owned()),
        Just("65536".to_owned()),
        Just("1e400".to_owned()),
        Just("all".to_owned()),
        Just("hosts".to_owned()),
        Just("children".to_owned()),
        Just("vars".to_owned()),
        Just("letsencrypt".to_owned()),
        Just("letsencrypt_certs".to_owned()),
        Just("web01.example.org".to_owned()),
        Just("web[01:99999].example.org".to_owned()),
        Just("*.example.org".to_owned()),
        Just("ansible_host".to_owned()),
        Just("ansible_port".to_owned()),
        Just("plugin: yamlgroup".to_owned()),
        Just("groups".to_owned()),
        Just("^nb(?!03)[0-9]*".to_owned()),
        Just("^(a+)+$".to_owned()),
        Just("actions".to_owned()),
        Just("handlers".to_owned()),
        Just("letsencrypt updated web01-main".to_owned()),
        Just("run".to_owned()),
        Just("after".to_owned()),
        Just("timeout".to_owned()),
        Just("{{ first }}".to_owned()),
        Just("{% for x in domains %}".to_owned()),
        Just("inventory".to_owned()),
        Just("acme".to_owned()),
        Just("dns".to_owned()),
        Just("renew_before".to_owned()),
        Just("99999999999999999999d".to_owned()),
        "[a-z0-9._-]{1,12}",
        any::<char>().prop_map(String::from),
    ]
}

fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..60).prop_map(|t| t.concat())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

/// Arbitrary YAML structures (JSON is YAML): scalars of every kind, lists
/// and mappings nested a few levels, keys drawn from what the files know.
fn tree() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<f64>().prop_map(J::from),
        token().prop_map(J::String),
        any::<String>().prop_map(J::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
            prop::collection::vec((token(), inner), 0..6)
                .prop_map(|kv| J::Object(kv.into_iter().collect())),
        ]
    })
}

/// Load `mini` and check the outcome is a value, never a panic; a refusal
/// names a file inside the fleet folder on every problem.
fn loads_or_names_a_file(mini: &Mini) {
    match mini.load() {
        Ok(_) => {}
        Err(e) => {
            assert!(!e.problems.is_empty());
            for p in &e.problems {
                let file = p.file.as_deref().expect("every problem names a file");
                assert!(
                    file.starts_with(mini.dir.path()) || file == Path::new("inventory"),
                    "{p}"
                );
                assert!(!p.message.is_empty(), "{p}");
                // Syntax errors carry the parser's line, except the alias
                // bomb guard, which libyaml reports without a position.
                if p.message.starts_with("invalid YAML") && !p.message.contains("repetition limit")
                {
                    assert!(p.line.is_some(), "{p}");
                }
            }
        }
    }
}

/// Files a fuzz case may replace, relative to the fleet folder.
const FILES: &[&str] = &[
    "certbridge.yaml",
    "hosts.yaml",
    "groups.yaml",
    "handlers.yaml",
    "group_vars/all.yaml",
    "group_vars/letsencrypt/main.yml",
    "host_vars/web01.example.org.yaml",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_in_any_file(which in 0..FILES.len(), data in bytes()) {
        let mini = Mini::new();
        mini.write(FILES[which], data);
        loads_or_names_a_file(&mini);
    }

    #[test]
    fn yamlish_text_in_any_file(which in 0..FILES.len(), text in yamlish()) {
        let mini = Mini::new();
        mini.write(FILES[which], text);
        loads_or_names_a_file(&mini);
    }

    #[test]
    fn yamlish_text_appended_to_valid_files(which in 0..FILES.len(), text in yamlish()) {
        // Starting from a valid file reaches the semantic checks, not only
        // the parser.
        let mini = Mini::new();
        let base = std::fs::read_to_string(mini.path(FILES[which])).unwrap_or_default();
        mini.write(FILES[which], format!("{base}{text}"));
        loads_or_names_a_file(&mini);
    }

    #[test]
    fn arbitrary_structures_in_any_file(which in 0..FILES.len(), value in tree()) {
        let mini = Mini::new();
        mini.write(FILES[which], value.to_string());
        loads_or_names_a_file(&mini);
    }

    #[test]
    fn arbitrary_structures_under_known_keys(
        which in 0..FILES.len(),
        key in token(),
        value in tree(),
    ) {
        // A valid file with one known key's value replaced: reaches the
        // type checks of each section.
        let mini = Mini::new();
        let base = std::fs::read_to_string(mini.path(FILES[which])).unwrap_or_default();
        let mut doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&base).unwrap_or(serde_yaml_ng::Value::Null);
        let value = serde_yaml_ng::to_value(&value).expect("any JSON value is a YAML value");
        if let Some(m) = doc.as_mapping_mut() {
            m.insert(serde_yaml_ng::Value::String(key), value);
        }
        mini.write(FILES[which], serde_yaml_ng::to_string(&doc).expect("yaml"));
        loads_or_names_a_file(&mini);
    }

    #[test]
    fn yamlish_yamlgroup_patterns(patterns in prop::collection::vec(yamlish(), 1..6)) {
        let mut text = String::from("plugin: yamlgroup\ngroups:\n");
        for (i, p) in patterns.iter().enumerate() {
            text.push_str(&format!("  g{i}: {}\n", serde_json::to_string(p).expect("json")));
        }
        let mini = Mini::new();
        mini.write("groups.yaml", text);
        loads_or_names_a_file(&mini);
    }

    #[test]
    fn arbitrary_names_in_letsencrypt_certs(
        key in any::<String>(),
        names in prop::collection::vec(any::<String>(), 0..4),
        host in any::<String>(),
    ) {
        // JSON is YAML: any string survives quoting, so the validators see it.
        let certs = serde_json::json!({ key: names });
        let hosts = serde_json::json!({"all": {"hosts": {host.clone(): {"letsencrypt_certs": certs}},
            "children": {"letsencrypt": {"hosts": {host: null}}}}});
        let mini = Mini::new();
        mini.write("hosts.yaml", hosts.to_string());
        loads_or_names_a_file(&mini);
    }
}
