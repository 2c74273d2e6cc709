//! Rendering handler commands: minijinja with strict undefined, and every
//! value that a template inserts shell-quoted, so a name or path can never
//! become shell syntax.

use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};

/// Variables a handler command may use.
pub const VARIABLES: &[&str] = &[
    "host",
    "cert",
    "domains",
    "first",
    "cert_dir",
    "key_file",
    "cert_file",
    "ca_file",
    "fullchain_file",
];

/// Quote `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The environment used for handler commands.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(|out, _state, value| {
        let text = if value.kind() == minijinja::value::ValueKind::Seq {
            value
                .try_iter()
                .map(|it| {
                    it.map(|v| shell_quote(&v.to_string()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        } else {
            shell_quote(&value.to_string())
        };
        out.write_str(&text).map_err(minijinja::Error::from)
    });
    env
}

/// Compile `source` and check it only uses [`VARIABLES`]; the error says why.
pub fn check(source: &str) -> Result<(), String> {
    let env = environment();
    let tmpl = env
        .template_from_str(source)
        .map_err(|e| format!("template error: {e}"))?;
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !VARIABLES.contains(&v.as_str()))
        .collect();
    unknown.sort();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unknown variable(s) {}; available: {}",
            unknown.join(", "),
            VARIABLES.join(", ")
        ))
    }
}

/// Render a command with `ctx` (a map of [`VARIABLES`]).
pub fn render(source: &str, ctx: &Value) -> Result<String, minijinja::Error> {
    let env = environment();
    env.render_str(source, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_every_inserted_value() {
        let ctx = minijinja::context! {
            first => "a.org; rm -rf /",
            domains => vec!["a.org", "b'c.org"],
            key_file => "/etc/letsencrypt-certs/a.org/a.org.key",
        };
        let out = render(
            "cp {{ key_file }} /x && echo {{ first }} {{ domains }}",
            &ctx,
        )
        .expect("renders");
        assert_eq!(
            out,
            "cp /etc/letsencrypt-certs/a.org/a.org.key /x && echo 'a.org; rm -rf /' a.org 'b'\\''c.org'"
        );
    }

    #[test]
    fn unknown_variables_are_rejected() {
        assert!(check("systemctl reload {{ service }}").is_err());
        assert!(check("install {{ key_file }} /x").is_ok());
        assert!(check("{{ unclosed").is_err());
    }

    #[test]
    fn strict_undefined() {
        let ctx = minijinja::context! { host => "h" };
        assert!(render("{{ first }}", &ctx).is_err());
    }
}
