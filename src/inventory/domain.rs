//! Domain names and certificate keys as the inventory spells them.
//!
//! Names end up in ACME orders, zone files, file paths on hosts and shell
//! commands, so only plain lowercase LDH names (optionally `*.` wildcards)
//! are let through; everything else is refused with a reason an operator
//! can act on.

/// Longest name DNS allows.
const MAX_NAME: usize = 253;

/// Is `name` a valid lowercase LDH name (without wildcard)?
pub fn is_valid_name(name: &str) -> bool {
    check_name(name).is_ok()
}

/// Check a certificate name, which may start with `*.`; the error says why not.
pub fn check_cert_name(name: &str) -> Result<(), String> {
    match name.strip_prefix("*.") {
        Some(rest) => check_name(rest).map_err(|e| format!("wildcard `{name}`: {e}")),
        None => check_name(name),
    }
}

/// Check a plain DNS name.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if !name.is_ascii() {
        return Err(format!(
            "`{}` contains non-ASCII characters; write internationalised names in punycode (xn--...)",
            name.escape_default()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{}` contains whitespace or a control character ({:?})",
            name.escape_default(),
            c
        ));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!("`{name}` contains a path separator"));
    }
    if name.contains("..") {
        return Err(format!("`{name}` contains `..` (an empty label)"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| "$`;&|<>(){}[]'\"!#~^%=,+?@".contains(*c))
    {
        return Err(format!(
            "`{name}` contains the character `{c}`, not allowed in a host name"
        ));
    }
    if name.ends_with('.') {
        return Err(format!(
            "`{name}` ends with a dot; write it without the trailing dot (`{}`)",
            name.trim_end_matches('.')
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "`{name}` has uppercase letters; write it in lowercase (`{}`)",
            name.to_ascii_lowercase()
        ));
    }
    if name.len() > MAX_NAME {
        return Err(format!(
            "`{}...` is {} characters long, more than DNS allows ({MAX_NAME})",
            &name[..32],
            name.len()
        ));
    }
    if name.contains('*') {
        return Err(format!(
            "`{name}`: a wildcard may only be the whole first label (`*.example.org`)"
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "`{name}` is a single label; a certificate needs a fully qualified name"
        ));
    }
    for label in labels {
        if label.len() > 63 {
            return Err(format!(
                "`{name}`: label `{label}` is longer than 63 characters"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "`{name}`: label `{label}` starts or ends with a hyphen"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "`{name}` contains `{c}`; only letters, digits and hyphens are allowed"
            ));
        }
    }
    Ok(())
}

/// Split `name[:port]` as OpenDev writes certificate entries.
pub fn split_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    match entry.rsplit_once(':') {
        None => Ok((entry, None)),
        Some((name, port)) => {
            let p: u16 = port
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("`{entry}`: `{port}` is not a port number (1-65535)"))?;
            Ok((name, Some(p)))
        }
    }
}

/// Check a certificate key (`letsencrypt_certs` key): it names handlers and
/// directories in the store, so it must be a safe file name.
pub fn check_cert_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("empty certificate key".into());
    }
    if key.len() > 128 {
        return Err(format!(
            "certificate key is {} characters long; at most 128",
            key.len()
        ));
    }
    if key.starts_with('.') || key.starts_with('-') {
        return Err(format!(
            "certificate key `{}` must start with a letter or digit",
            key.escape_default()
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "certificate key `{}` contains `{}`; use letters, digits, `-`, `_` and `.` only",
            key.escape_default(),
            c.escape_default()
        ));
    }
    if key.contains("..") {
        return Err(format!("certificate key `{key}` contains `..`"));
    }
    Ok(())
}

/// Check an inventory host name of a host that gets certificates: it names
/// the host's file in the store (`hosts/<host>.json`) and, without
/// `ansible_host`, is the SSH destination, so it must be a plain name.
pub fn check_host_name(name: &str) -> Result<(), String> {
    check_token(name, "host name", MAX_NAME, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
    })?;
    if name.starts_with('.') || name.contains("..") {
        return Err(format!(
            "host name `{name}` starts with a dot or contains `..`"
        ));
    }
    Ok(())
}

/// Check an SSH address (`ansible_host`, `dns.host`): a host name or an IP
/// address. It is handed to `ssh` as its destination, where a leading `-`
/// would be read as an option and `@` as a user.
pub fn check_address(addr: &str) -> Result<(), String> {
    check_token(addr, "address", MAX_NAME, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%')
    })
}

/// Check an SSH login name (`ansible_user`, `ssh.user`).
pub fn check_user(user: &str) -> Result<(), String> {
    check_token(user, "user name", 64, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
    })
}

fn check_token(
    text: &str,
    what: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("empty {what}"));
    }
    if text.len() > max {
        return Err(format!(
            "{what} is {} characters long; at most {max}",
            text.len()
        ));
    }
    if text.starts_with('-') {
        return Err(format!(
            "{what} `{}` starts with `-`, which ssh would read as an option",
            text.escape_default()
        ));
    }
    if let Some(c) = text.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{what} `{}` contains `{}`; use letters, digits, `.`, `-` and `_`",
            text.escape_default(),
            c.escape_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_wildcard_names() {
        assert!(check_cert_name("gitea01.opendev.org").is_ok());
        assert!(check_cert_name("*.zuul.opendev.org").is_ok());
        assert!(check_cert_name("xn--bcher-kva.example").is_ok());
    }

    #[test]
    fn explains_each_rejection() {
        let cases = [
            ("Gitea01.opendev.org", "lowercase"),
            ("gitea01.opendev.org.", "trailing dot"),
            ("a..b.org", "`..`"),
            ("a/b.org", "path separator"),
            ("a b.org", "whitespace"),
            ("a;rm -rf.org", "whitespace"),
            ("a$(x).org", "character `$`"),
            ("bücher.example", "non-ASCII"),
            ("localhost", "single label"),
            ("-a.org", "hyphen"),
            ("a.*.org", "wildcard"),
            ("a_b.org", "only letters"),
        ];
        for (name, why) in cases {
            let err = check_cert_name(name).expect_err(name);
            assert!(err.contains(why), "{name}: {err}");
        }
        let long = format!("{}.org", "a".repeat(300));
        assert!(
            check_cert_name(&long)
                .expect_err("long")
                .contains("more than DNS allows")
        );
    }

    #[test]
    fn ports() {
        assert_eq!(
            split_port("review.opendev.org:29418"),
            Ok(("review.opendev.org", Some(29418)))
        );
        assert_eq!(
            split_port("review.opendev.org"),
            Ok(("review.opendev.org", None))
        );
        assert!(split_port("a.org:0").is_err());
        assert!(split_port("a.org:http").is_err());
    }

    #[test]
    fn cert_keys() {
        assert!(check_cert_key("gitea01-main").is_ok());
        assert!(check_cert_key("static01-opendev-org_main.v2").is_ok());
        assert!(check_cert_key("../etc").is_err());
        assert!(check_cert_key("a/b").is_err());
        assert!(check_cert_key("a b").is_err());
        assert!(check_cert_key("").is_err());
    }
}
