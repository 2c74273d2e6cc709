//! Reading YAML files so that later stages can blame a line.
//!
//! Values come from `serde_yaml_ng` (it keeps Ansible's `!vault` tags). That
//! crate has no positions for values, so when a problem must be reported we
//! re-scan the text once with `saphyr-parser`, whose events carry spans, and
//! build an index from a value's path (`all.hosts.web1.letsencrypt_certs`)
//! to its line. The index is built lazily: a clean run never pays for it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use saphyr_parser::{Event, Parser};
use serde_yaml_ng::Value;

use crate::diag::Problem;

/// Largest input file accepted; a bigger one is certainly a mistake and would
/// only cost memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Deepest `[`/`{` nesting let through to the YAML parser. Both libyaml and
/// saphyr rescan every open flow collection for each token, so parsing time
/// grows with the square of the depth (100,000 levels took minutes), while
/// serde_yaml_ng rejects anything deeper than 128 levels anyway.
pub const MAX_FLOW_DEPTH: usize = 512;

/// One step in a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

impl From<&str> for Seg {
    fn from(key: &str) -> Seg {
        Seg::Key(key.to_owned())
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Seg {
        Seg::Index(index)
    }
}

/// A path into a YAML document.
pub type YPath = Vec<Seg>;

/// Build a [`YPath`] from keys and indexes: `ypath!["all", "hosts", 0]`.
#[macro_export]
macro_rules! ypath {
    ($($seg:expr),* $(,)?) => { [$($crate::yaml::Seg::from($seg)),*] };
}

/// A parsed YAML file that remembers its text for line look-ups.
#[derive(Debug)]
pub struct YamlDoc {
    /// Where it was read from.
    pub path: PathBuf,
    /// The parsed value (`Null` for an empty file).
    pub value: Value,
    source: String,
    index: OnceLock<HashMap<YPath, usize>>,
}

impl YamlDoc {
    /// Read and parse a file; I/O and syntax errors become a [`Problem`].
    pub fn load(path: &Path) -> Result<YamlDoc, Problem> {
        use std::io::Read as _;
        let meta = std::fs::metadata(path)
            .map_err(|e| Problem::error(path, format!("cannot read: {e}")))?;
        // A FIFO would block and /dev/zero never ends: only regular files.
        if !meta.is_file() {
            return Err(Problem::error(path, "not a regular file"));
        }
        let too_big = |len: u64| {
            Problem::error(
                path,
                format!("file is {len} bytes, larger than the {MAX_FILE_BYTES}-byte limit"),
            )
        };
        if meta.len() > MAX_FILE_BYTES {
            return Err(too_big(meta.len()));
        }
        // The file may grow between the stat and the read: read at most one
        // byte past the limit.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| Problem::error(path, format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(too_big(bytes.len() as u64));
        }
        let source = String::from_utf8(bytes).map_err(|e| {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            Problem::error(path, "not UTF-8 text").at(Some(line))
        })?;
        YamlDoc::parse(path, source)
    }

    /// Parse text that was read from `path`.
    pub fn parse(path: &Path, source: String) -> Result<YamlDoc, Problem> {
        let value = if source.trim().is_empty() {
            Value::Null
        } else {
            if let Some(line) = flow_too_deep(&source, MAX_FLOW_DEPTH) {
                return Err(Problem::error(
                    path,
                    format!("invalid YAML: `[` and `{{` nested more than {MAX_FLOW_DEPTH} deep"),
                )
                .at(Some(line)));
            }
            let mut v = serde_yaml_ng::from_str::<Value>(&source).map_err(|e| {
                let p = syntax_problem(path, &e);
                if p.line.is_none() && p.message.contains("more than one document") {
                    // libyaml gives no position here; point at the second
                    // document so the operator sees the stray `---` (or
                    // the text that ended the first one).
                    return Problem::error(
                        path,
                        "invalid YAML: a second document starts by this line; certbridge reads one document per file",
                    )
                    .at(second_document_line(&source));
                }
                if p.line.is_none() && p.message.contains("repetition limit") {
                    // An alias bomb ("billion laughs"): serde_yaml_ng stops
                    // expanding, without a position; name the first alias.
                    let first_alias = Parser::new_from_str(&source)
                        .map_while(Result::ok)
                        .find(|(e, _)| matches!(e, Event::Alias(_)))
                        .map(|(_, span)| span.start.line());
                    return Problem::error(
                        path,
                        "invalid YAML: aliases (`*name`) expand to too much; the first is on this line",
                    )
                    .at(first_alias);
                }
                p
            })?;
            // `<<: *anchor` merge keys, as Ansible applies them.
            if let Err(e) = v.apply_merge() {
                // serde_yaml_ng knows no position for this one: find the
                // offending `<<` ourselves.
                // apply_merge has consumed the key: look at a fresh parse.
                let mut p = syntax_problem(path, &e);
                let fresh = serde_yaml_ng::from_str::<Value>(&source).unwrap_or(Value::Null);
                if let Some(at) = bad_merge(&fresh, &mut Vec::new()) {
                    p.line = build_index(&source).get(&at).copied();
                }
                return Err(p);
            }
            v
        };
        Ok(YamlDoc {
            path: path.to_path_buf(),
            value,
            source,
            index: OnceLock::new(),
        })
    }

    /// The text of the file.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The 1-based line of the key (or sequence item) at `path`, if found.
    pub fn line_of(&self, path: &[Seg]) -> Option<usize> {
        let index = self.index.get_or_init(|| build_index(&self.source));
        // Fall back to the nearest ancestor that has a line: better than none.
        (0..=path.len())
            .rev()
            .find_map(|n| index.get(&path[..n]).copied())
    }

    /// An error about the item at `path` in this file.
    pub fn problem(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        Problem::error(&self.path, message).at(self.line_of(path))
    }
}

/// Turn a serde_yaml_ng error into a problem with the parser's line.
pub fn syntax_problem(path: &Path, err: &serde_yaml_ng::Error) -> Problem {
    // The message already ends with "at line L column C"; strip it since the
    // line is shown in front.
    let text = err.to_string();
    let text = match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    Problem::error(path, format!("invalid YAML: {text}")).at(err.location().map(|l| l.line()))
}

/// The line where a second YAML document starts, if there is one.
/// The path of the first `<<` whose value is not a mapping or a list of
/// mappings (what `apply_merge` refuses).
fn bad_merge(v: &Value, path: &mut YPath) -> Option<YPath> {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                let key = k.as_str().unwrap_or("?").to_owned();
                path.push(Seg::Key(key.clone()));
                let ok = match x {
                    Value::Mapping(_) => true,
                    Value::Sequence(s) => s.iter().all(Value::is_mapping),
                    _ => false,
                };
                if key == "<<" && !ok {
                    return Some(path.clone());
                }
                if let Some(found) = bad_merge(x, path) {
                    return Some(found);
                }
                path.pop();
            }
            None
        }
        Value::Sequence(s) => s.iter().enumerate().find_map(|(i, x)| {
            path.push(Seg::Index(i));
            let found = bad_merge(x, path);
            path.pop();
            found
        }),
        Value::Tagged(t) => bad_merge(&t.value, path),
        _ => None,
    }
}

/// Where saphyr fails first, that line instead.
fn second_document_line(source: &str) -> Option<usize> {
    let mut starts = 0;
    for event in Parser::new_from_str(source) {
        match event {
            Ok((Event::DocumentStart(_), span)) => {
                starts += 1;
                if starts == 2 {
                    return Some(span.start.line());
                }
            }
            Ok(_) => {}
            Err(e) => return Some(e.marker().line()),
        }
    }
    // The parsers disagree on where the first document ends; the second
    // starts by the last line with text at the latest.
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .last()
}

/// The line where flow collections (`[`, `{`) first nest deeper than `max`,
/// as a YAML scanner would see them: brackets in quoted scalars and comments
/// do not count, and a quote only opens a scalar where a scalar may start.
/// This is a cheap linear guard in front of the quadratic parsers, not a
/// parser: text it cannot classify counts as brackets, erring on "too deep".
fn flow_too_deep(source: &str, max: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let (mut depth, mut line, mut i) = (0usize, 1usize, 0usize);
    // The last significant byte before the current one (b'\n' at line start).
    let mut prev = b'\n';
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                prev = b'\n';
            }
            b' ' | b'\t' | b'\r' => {}
            b'#' if i == 0 || blank(bytes[i - 1]) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' if scalar_may_start(bytes, i, prev) => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\n' => line += 1,
                        b'\\' if b == b'"' => i += 1,
                        // `''` is an escaped quote inside single quotes.
                        b'\'' if b == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                        c if c == b => break,
                        _ => {}
                    }
                    i += 1;
                }
                prev = b;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
                prev = b;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                prev = b;
            }
            _ => prev = b,
        }
        i += 1;
    }
    None
}

/// Can a quoted scalar start at `i`? Only at the start of a node: the line's
/// first token, or after `[`, `{`, `,`, or an indicator (`:`, `-`, `?`)
/// followed by a blank. Elsewhere a quote is part of a plain scalar (`it's`).
fn scalar_may_start(bytes: &[u8], i: usize, prev: u8) -> bool {
    let blank_before = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r');
    match prev {
        b'\n' | b'[' | b'{' | b',' => true,
        b':' | b'-' | b'?' => blank_before,
        _ => false,
    }
}

enum Frame {
    Map {
        path: YPath,
        key: Option<String>,
        want_key: bool,
    },
    Seq {
        path: YPath,
        next: usize,
    },
}

fn build_index(source: &str) -> HashMap<YPath, usize> {
    let mut index = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str(source) {
        let Ok((event, span)) = event else { break };
        let line = span.start.line();
        match event {
            Event::Scalar(text, ..) => {
                on_node(&mut stack, &mut index, line, Some(text.as_ref()));
                node_done(&mut stack);
            }
            Event::Alias(_) => {
                on_node(&mut stack, &mut index, line, None);
                node_done(&mut stack);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = on_node(&mut stack, &mut index, line, None);
                if matches!(event, Event::MappingStart(..)) {
                    stack.push(Frame::Map {
                        path,
                        key: None,
                        want_key: true,
                    });
                } else {
                    stack.push(Frame::Seq { path, next: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack);
            }
            _ => {}
        }
    }
    index
}

/// A node starts: record its line and return its path.
fn on_node(
    stack: &mut [Frame],
    index: &mut HashMap<YPath, usize>,
    line: usize,
    scalar: Option<&str>,
) -> YPath {
    match stack.last_mut() {
        None => {
            index.entry(Vec::new()).or_insert(line);
            Vec::new()
        }
        Some(Frame::Map {
            path,
            key,
            want_key,
        }) => {
            let mut own = path.clone();
            if *want_key {
                // A key: its line is where the item is reported.
                let name = scalar.unwrap_or("?").to_owned();
                own.push(Seg::Key(name.clone()));
                index.entry(own.clone()).or_insert(line);
                *key = Some(name);
            } else {
                own.push(Seg::Key(key.clone().unwrap_or_default()));
                index.entry(own.clone()).or_insert(line);
            }
            own
        }
        Some(Frame::Seq { path, next }) => {
            let mut own = path.clone();
            own.push(Seg::Index(*next));
            index.entry(own.clone()).or_insert(line);
            own
        }
    }
}

/// A node ended: advance the parent container.
fn node_done(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map { want_key, .. }) => *want_key = !*want_key,
        Some(Frame::Seq { next, .. }) => *next += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
all:
  hosts:
    web1.example.org:
      ansible_host: 192.0.2.1
    web2.example.org:
      letsencrypt_certs:
        main:
          - web2.example.org
          - www.example.org
";

    #[test]
    fn finds_lines_of_keys_and_items() {
        let doc = YamlDoc::parse(Path::new("h.yaml"), DOC.to_owned()).expect("valid");
        assert_eq!(doc.line_of(&ypath!["all"]), Some(1));
        assert_eq!(
            doc.line_of(&ypath!["all", "hosts", "web2.example.org"]),
            Some(5)
        );
        let item = ypath![
            "all",
            "hosts",
            "web2.example.org",
            "letsencrypt_certs",
            "main",
            1
        ];
        assert_eq!(doc.line_of(&item), Some(9));
        // Unknown leaf: nearest ancestor.
        let missing = ypath!["all", "hosts", "web1.example.org", "nope"];
        assert_eq!(doc.line_of(&missing), Some(3));
    }

    #[test]
    fn syntax_error_has_line() {
        let err = YamlDoc::parse(Path::new("bad.yaml"), "a: [1, 2\nb: 3\n".to_owned())
            .expect_err("invalid");
        assert!(err.line.is_some(), "{err}");
        assert!(err.message.starts_with("invalid YAML"), "{err}");
    }

    #[test]
    fn vault_tags_are_carried() {
        let doc = YamlDoc::parse(
            Path::new("v.yaml"),
            "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n".to_owned(),
        )
        .expect("vault tag is not fatal");
        assert!(matches!(doc.value["secret"], Value::Tagged(_)));
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let start = std::time::Instant::now();
        for text in [
            "a: ".to_owned() + &"[".repeat(100_000) + &"]".repeat(100_000),
            "x:\n  y: ".to_owned() + &"{a: ".repeat(100_000) + "1" + &"}".repeat(100_000),
            // Quotes that only look like quotes do not hide brackets.
            "a: it's\nb: ".to_owned() + &"[".repeat(100_000),
            "a: [x 'y, ".to_owned() + &"[".repeat(100_000),
        ] {
            let err = YamlDoc::parse(Path::new("deep.yaml"), text).expect_err("too deep");
            assert!(err.message.contains("nested more than 512"), "{err}");
            assert!(err.line.is_some(), "{err}");
        }
        // Linear: the parser never sees the 100,000 levels.
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }

    #[test]
    fn brackets_in_quotes_comments_and_ranges_do_not_count() {
        let many = "[".repeat(2000);
        let text = format!(
            "a: '{many}'\nb: \"{many}\"\n# {many}\nweb[01:03].x.org: {{k: [1, [2]]}}\nc: 'it''s {many}'\n"
        );
        let doc = YamlDoc::parse(Path::new("ok.yaml"), text).expect("valid");
        assert_eq!(doc.value["c"].as_str().map(str::len), Some(2005));
    }

    #[test]
    fn an_alias_bomb_is_refused_with_a_line() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (prev, n) in ('a'..='h').zip('b'..='i') {
            text.push_str(&format!(
                "{n}: &{n} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
        }
        let err = YamlDoc::parse(Path::new("bomb.yaml"), text).expect_err("bomb");
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.message.contains("expand to too much"), "{err}");
    }

    #[test]
    fn a_second_document_is_named_by_line() {
        let err = YamlDoc::parse(Path::new("two.yaml"), "a: 1\n---\nb: 2\n".to_owned())
            .expect_err("two documents");
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.message.contains("second document"), "{err}");
    }

    #[test]
    fn odd_files_are_problems_not_panics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin.yaml");
        std::fs::write(&bin, b"a: 1\nb: \xff\xfe\n").expect("write");
        let err = YamlDoc::load(&bin).expect_err("not UTF-8");
        assert_eq!(
            (err.message.as_str(), err.line),
            ("not UTF-8 text", Some(2))
        );
        let err = YamlDoc::load(dir.path()).expect_err("a directory");
        assert!(err.message.contains("not a regular file"), "{err}");
        let err = YamlDoc::load(Path::new("/dev/zero")).expect_err("a device");
        assert!(err.message.contains("not a regular file"), "{err}");
    }
}
