//! Host-name patterns as Ansible and OpenDev's yamlgroup plugin read them.
//!
//! yamlgroup (`inventory_plugins/yamlgroup.py`) does
//! `re.match(pattern if pattern.startswith('^') else fnmatch.translate(pattern), host)`:
//! a `^` pattern is a Python regex anchored only at the start, anything else
//! is a whole-name glob where `*` also crosses dots. Python's `re` allows
//! lookaheads (`^nb(?!03)[0-9]*`), so regexes go through `fancy-regex`.

use fancy_regex::Regex;

/// A compiled yamlgroup / `--limit` pattern.
#[derive(Debug, Clone)]
pub struct HostPattern {
    text: String,
    regex: Regex,
}

impl HostPattern {
    /// Compile `text`; the error says why it is not a valid pattern.
    pub fn new(text: &str) -> Result<HostPattern, String> {
        let source = if text.starts_with('^') {
            // re.match anchors at the start only; `^` is already there.
            format!("(?:{text})")
        } else {
            format!("^{}$", translate_glob(text))
        };
        let regex = fancy_regex::RegexBuilder::new(&source)
            .backtrack_limit(100_000)
            .build()
            .map_err(|e| format!("invalid pattern `{text}`: {e}"))?;
        Ok(HostPattern {
            text: text.to_owned(),
            regex,
        })
    }

    /// Does `name` match? A pattern that blows the backtrack limit matches nothing.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name).unwrap_or(false)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A glob class body as a regex class body, as Python 3.7+ builds it:
/// backslashes and the set-operation characters are escaped, reversed
/// ranges (`z-a`) are dropped; an empty class matches nothing.
fn class_body(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let (neg, body) = match chars.first() {
        Some('!') => (true, &chars[1..]),
        _ => (false, &chars[..]),
    };
    let mut out = String::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            let (a, b) = (body[k], body[k + 2]);
            if a <= b {
                out.push_str(&escape_class_char(a));
                out.push('-');
                out.push_str(&escape_class_char(b));
            }
            k += 3;
        } else {
            out.push_str(&escape_class_char(body[k]));
            k += 1;
        }
    }
    match (neg, out.is_empty()) {
        (false, true) => "(?!)".into(),
        (true, true) => ".".into(),
        (true, false) => format!("^{out}"),
        (false, false) => out,
    }
}

fn escape_class_char(c: char) -> String {
    if matches!(c, '\\' | '[' | ']' | '&' | '~' | '|' | '^' | '-') {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// Python's `fnmatch.translate`, minus the `(?s:...)\Z` wrapper.
fn translate_glob(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                // Consecutive stars are one star.
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                // Find the closing bracket the way fnmatch does: a `]` right
                // after `[` or `[!` is literal.
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let class: String = chars[i..j].iter().collect();
                    i = j + 1;
                    let body = class_body(&class);
                    if body == "(?!)" || body == "." {
                        out.push_str(&body);
                    } else {
                        out.push('[');
                        out.push_str(&body);
                        out.push(']');
                    }
                }
            }
            _ => out.push_str(&fancy_regex::escape(&c.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, name: &str) -> bool {
        HostPattern::new(p).expect("valid pattern").matches(name)
    }

    #[test]
    fn glob_star_crosses_dots() {
        assert!(m("mirror[0-9]*.open*.org", "mirror01.dfw.rax.opendev.org"));
        assert!(m("*.opendev.org", "a.b.opendev.org"));
        assert!(!m("*.opendev.org", "opendev.org.evil"));
    }

    #[test]
    fn glob_is_a_whole_name_match() {
        assert!(m("gitea01.opendev.org", "gitea01.opendev.org"));
        assert!(!m("gitea01.opendev.org", "gitea01.opendev.org.uk"));
        assert!(!m("gitea0?.opendev.org", "gitea10.opendev.org"));
        // `.` in a glob is literal.
        assert!(!m("a.b", "axb"));
    }

    #[test]
    fn glob_classes() {
        assert!(m("nb[0-9]*", "nb0"));
        assert!(!m("nb[0-9]*", "nbx"));
        assert!(m("nb[!0-9]", "nbx"));
        assert!(m("a[", "a["));
    }

    #[test]
    fn glob_classes_like_python() {
        assert!(m("a[[]b", "a[b"));
        assert!(m("x[a&&b]", "xa"));
        assert!(!m("x[z-a]", "xz"));
        assert!(m("x[!z-a]", "xq"));
        assert!(m("x[^]", "x^"));
    }

    #[test]
    fn glob_is_case_sensitive() {
        assert!(!m("Gitea*", "gitea01.opendev.org"));
    }

    #[test]
    fn regex_anchors_at_start_only() {
        assert!(m("^nb(?!03)[0-9]*\\.open.*\\.org", "nb01.opendev.org"));
        assert!(!m("^nb(?!03)[0-9]*\\.open.*\\.org", "nb03.opendev.org"));
        // re.match: a prefix match is enough.
        assert!(m("^review", "review01.opendev.org"));
        assert!(!m("^review", "xreview01.opendev.org"));
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(HostPattern::new("^nb(").is_err());
    }
}
