//! Config values that leave certbridge: paths handed to file systems and
//! names handed to `ssh` and `chown` on hosts. Each is checked at load so
//! that no control character, relative host path or option-like name can
//! reach a command.

use std::path::Path;

use super::RawConfig;
use crate::diag::Problems;
use crate::yaml::{Seg, YamlDoc};

/// Values that reach file systems, `ssh` or `chown` on a host: no control
/// characters (NUL, newline) anywhere, absolute paths on hosts, and names
/// that cannot be read as options.
pub(super) fn check_strings(doc: &YamlDoc, raw: &RawConfig, problems: &mut Problems) {
    use crate::inventory::domain::{check_address, check_user};
    let mut bad = |section: &str, key: &str, why: String| {
        let (path, item) = if section.is_empty() {
            (vec![Seg::Key(key.to_owned())], key.to_owned())
        } else {
            (
                vec![Seg::Key(section.to_owned()), Seg::Key(key.to_owned())],
                format!("{section}.{key}"),
            )
        };
        problems.push(doc.problem(&path, why).item(item));
    };
    let paths: Vec<(&str, &str, &str)> = raw
        .inventory
        .iter()
        .map(|p| ("", "inventory", p.as_str()))
        .chain(
            raw.acme
                .trust_roots
                .iter()
                .map(|p| ("acme", "trust_roots", p.as_str())),
        )
        .chain([
            ("", "handlers", raw.handlers.as_str()),
            ("", "state_dir", raw.state_dir.as_str()),
            ("dns", "zone_file", raw.dns.zone_file.as_str()),
            ("dns", "template", raw.dns.template.as_str()),
            ("targets", "cert_dir", raw.targets.cert_dir.as_str()),
        ])
        .chain(
            [
                ("", "log_file", &raw.log_file),
                ("", "metrics_file", &raw.metrics_file),
                ("", "certcheck_file", &raw.certcheck_file),
                ("ssh", "identity_file", &raw.ssh.identity_file),
                ("ssh", "known_hosts", &raw.ssh.known_hosts),
            ]
            .into_iter()
            .filter_map(|(s, k, v)| Some((s, k, v.as_deref()?))),
        )
        .collect();
    for (section, key, path) in paths {
        if let Some(c) = path.chars().find(|c| c.is_control()) {
            bad(
                section,
                key,
                format!(
                    "path `{}` contains a control character ({c:?})",
                    path.escape_default()
                ),
            );
        }
    }
    // Paths on other machines: relative ones would depend on a login's home.
    let cert_dir = Path::new(&raw.targets.cert_dir);
    if !cert_dir.is_absolute()
        || cert_dir
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        bad(
            "targets",
            "cert_dir",
            "must be an absolute path without `..`".into(),
        );
    }
    if raw.dns.host.is_some() && !Path::new(&raw.dns.zone_file).is_absolute() {
        bad(
            "dns",
            "zone_file",
            "must be an absolute path when `dns.host` is set".into(),
        );
    }
    if let Some(host) = &raw.dns.host
        && let Err(e) = check_address(host)
    {
        bad("dns", "host", e);
    }
    for (section, key, value) in [
        ("ssh", "user", &raw.ssh.user),
        ("targets", "owner", &raw.targets.owner),
        ("targets", "group", &raw.targets.group),
    ] {
        if let Err(e) = check_user(value) {
            bad(section, key, e);
        }
    }
}
