//! Front-matter YAML helpers shared by `spec` and `schema`: where things are in the text (the
//! line of each top-level key, the [`Locator`] that maps a JSON path to a line) and how YAML
//! values and spec-controlled text are shown in messages.
//!
//! Depends only on `naming` (for invisible characters); knows nothing about specs or schemas.

use crate::naming;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// Finds the line of each top-level key: a line at column 0 of the form `key:` or `"key":`.
pub(crate) fn top_key_lines(front: &[&str], first_line: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, line) in front.iter().enumerate() {
        let Some(first) = line.chars().next() else {
            continue;
        };
        if first.is_whitespace() || first == '#' || first == '-' {
            continue;
        }
        let key = if let Some(rest) = line.strip_prefix('"') {
            rest.split('"').next()
        } else if let Some(rest) = line.strip_prefix('\'') {
            rest.split('\'').next()
        } else {
            line.split(':').next().map(str::trim_end)
        };
        if let Some(key) = key {
            out.entry(key.to_owned()).or_insert(first_line + i);
        }
    }
    out
}

/// Finds the line of a JSON path inside a top-level key's value by searching, in order, for each
/// path segment written as a YAML/JSON key. Works for flow and block style alike; falls back to the
/// last segment it could find.
pub(crate) struct Locator<'a> {
    front: Vec<&'a str>,
    first_line: usize,
    key_lines: BTreeMap<String, usize>,
}

impl<'a> Locator<'a> {
    /// A locator over the front-matter lines `front` (the first is line `first_line`), whose
    /// top-level keys are on `key_lines`.
    pub(crate) fn new(
        front: Vec<&'a str>,
        first_line: usize,
        key_lines: BTreeMap<String, usize>,
    ) -> Locator<'a> {
        Locator {
            front,
            first_line,
            key_lines,
        }
    }

    pub(crate) fn line(&self, path: &[String]) -> usize {
        let Some(top) = path.first() else {
            return self.first_line.saturating_sub(1).max(1);
        };
        let Some(&start) = self.key_lines.get(top) else {
            return 1;
        };
        // The region runs from the key's line to the next top-level key.
        let end = self
            .key_lines
            .values()
            .copied()
            .filter(|&l| l > start)
            .min()
            .unwrap_or(self.first_line + self.front.len());
        let from = start - self.first_line;
        let to = (end - self.first_line).min(self.front.len());
        let region: Vec<&str> = self.front[from..to].to_vec();
        let text = region.join("\n");
        let mut pos = text.find(':').map_or(0, |p| p + 1);
        let mut best = pos;
        for seg in &path[1..] {
            if seg.starts_with('[') {
                continue;
            }
            if let Some(p) = find_key(&text, seg, pos) {
                pos = p;
                best = p;
            }
        }
        start + text[..best.min(text.len())].matches('\n').count()
    }
}

/// Position just after `seg` written as a key (`seg:`, `"seg":`, `'seg':`) at or after `from`.
fn find_key(text: &str, seg: &str, from: usize) -> Option<usize> {
    let mut start = from;
    while start <= text.len() {
        let rel = text.get(start..)?.find(seg)?;
        let at = start + rel;
        let end = at + seg.len();
        let before = text[..at].chars().next_back();
        let boundary_ok = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let rest = &text[end..];
        let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
        if boundary_ok && rest.trim_start_matches([' ', '\t']).starts_with(':') {
            return Some(end);
        }
        start = end;
    }
    None
}

pub(crate) fn yaml_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A short, printable rendering of a YAML value for messages.
pub(crate) fn yaml_short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_owned(),
        other => return yaml_kind(other).to_owned(),
    };
    printable(&s)
}

/// Makes spec-controlled text safe for a one-line message: control and bidi characters escaped,
/// length bounded.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i >= 120 {
            out.push('…');
            break;
        }
        if c.is_control() || naming::is_invisible(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}
