//! Input problems: what was wrong, in which file, on which line, for which item.
//!
//! Loading never stops at the first mistake. Every stage that reads operator
//! input pushes [`Problem`]s into a [`Problems`] list, and the caller decides
//! at the end whether the run may go on (no errors) or must exit with code 2.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth telling, but the run may go on.
    Warning,
    /// Bad input: nothing may be changed.
    Error,
}

/// One thing wrong with the operator's input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file at fault, or `None` for command-line input.
    pub file: Option<PathBuf>,
    /// 1-based line, where the parser knows it.
    pub line: Option<usize>,
    /// The item at fault: a host, certificate key, handler, config key...
    pub item: Option<String>,
    /// What is wrong, and where useful, what to do about it.
    pub message: String,
}

impl Problem {
    /// An error in `file`.
    pub fn error(file: impl AsRef<Path>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            file: Some(file.as_ref().to_path_buf()),
            line: None,
            item: None,
            message: message.into(),
        }
    }

    /// An error in the command line.
    pub fn usage(item: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            file: None,
            line: None,
            item: Some(item.into()),
            message: message.into(),
        }
    }

    /// Attach a line number.
    #[must_use]
    pub fn at(mut self, line: Option<usize>) -> Problem {
        self.line = line;
        self
    }

    /// Attach the item at fault.
    #[must_use]
    pub fn item(mut self, item: impl Into<String>) -> Problem {
        self.item = Some(item.into());
        self
    }

    /// Downgrade to a warning.
    #[must_use]
    pub fn warning(mut self) -> Problem {
        self.severity = Severity::Warning;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, _) => f.write_str("command line: ")?,
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if let Some(item) = &self.item {
            write!(f, "{}: ", elide(item, MAX_ITEM))?;
        }
        f.write_str(&elide(&self.message, MAX_MESSAGE))
    }
}

/// Longest item and message shown on a terminal; a 100,000-character host
/// name is still named, without burying every other problem.
const MAX_ITEM: usize = 120;
const MAX_MESSAGE: usize = 600;

/// `text` cut to about `max` bytes (on a character boundary), saying how
/// long it was.
/// Control characters (an ESC sequence in a key, a newline in a name) are
/// shown escaped, so input cannot rewrite the operator's terminal or fake
/// another problem line.
fn elide(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        let escaped: String = text
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        return elide(&escaped, max).into_owned().into();
    }
    if text.len() <= max {
        return text.into();
    }
    let cut = (0..=max)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}... ({} characters)", &text[..cut], text.chars().count()).into()
}

/// Every problem found while loading, in the order found.
#[derive(Debug, Default, Clone)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Record a problem.
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    /// Record several problems.
    pub fn extend(&mut self, problems: impl IntoIterator<Item = Problem>) {
        self.0.extend(problems);
    }

    /// True when at least one problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.severity == Severity::Error)
    }

    /// All problems, errors and warnings.
    pub fn all(&self) -> &[Problem] {
        &self.0
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| p.severity == Severity::Error)
    }

    /// Only the warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| p.severity == Severity::Warning)
    }

    /// Turn into `Err` when any problem is an error, else hand back warnings.
    pub fn into_result(self) -> Result<Vec<Problem>, InputError> {
        if self.has_errors() {
            Err(InputError { problems: self.0 })
        } else {
            Ok(self.0)
        }
    }
}

/// Bad operator input: config, inventory, handler map or command line.
///
/// Always maps to exit code 2, and is always raised before any side effect.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the input", self.problems.iter().filter(|p| p.severity == Severity::Error).count())]
pub struct InputError {
    /// Every problem found (errors and warnings).
    pub problems: Vec<Problem>,
}

impl InputError {
    /// A single problem.
    pub fn one(problem: Problem) -> InputError {
        InputError {
            problems: vec![problem],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_items_and_messages_are_cut_on_a_char_boundary() {
        let name = "é".repeat(100_000);
        let p = Problem::error("h.yaml", format!("`{name}` is bad"))
            .at(Some(3))
            .item(name);
        let text = p.to_string();
        assert!(text.starts_with("h.yaml:3: éé"), "{text}");
        assert!(text.len() < 1_000, "{}", text.len());
        assert!(text.contains("(100000 characters)"), "{text}");
        assert!(text.contains("(100009 characters)"), "{text}");
    }
}
