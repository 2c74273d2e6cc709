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

/// Exit statuses of coreutils `timeout` when it stopped the command
/// (SIGTERM worked; SIGKILL was needed).
pub const TIMED_OUT: [i32; 2] = [124, 137];

/// `cmd` bounded by `limit` on the host itself: coreutils `timeout` stops
/// the whole process group (a `sleep` the command started included), so
/// a hung action does not linger after certbridge gave up on it. A host
/// without `timeout` runs the command as it is; the bridge still stops
/// waiting after the limit.
pub fn bounded(cmd: &str, limit: std::time::Duration) -> String {
    let q = shell_quote(cmd);
    format!(
        "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {secs}s sh -c {q}; else exec sh -c {q}; fi",
        secs = limit.as_secs().max(1)
    )
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
    fn bounded_runs_the_command_and_stops_it_at_the_limit() {
        let run = |cmd: &str, secs: u64| {
            let script = bounded(cmd, std::time::Duration::from_secs(secs));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .expect("sh runs");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        assert_eq!(run("echo 'a b'; exit 3", 5), (Some(3), "a b\n".into()));
        let started = std::time::Instant::now();
        let (code, _) = run("sleep 30; echo never", 1);
        assert!(code.is_some_and(|c| TIMED_OUT.contains(&c)), "{code:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn strict_undefined() {
        let ctx = minijinja::context! { host => "h" };
        assert!(render("{{ first }}", &ctx).is_err());
    }
}
