//! Stage 1: a spec file's text becomes a [`Spec`] (front-matter checked, body kept, positions known).
//!
//! The contract is `shared/spec-format.md`. Nothing here knows about Rust.

use crate::diag::{Diagnostic, Diagnostics};
use crate::schema::{self, Schema, SchemaSet};
use crate::yaml::{Locator, printable, top_key_lines, yaml_kind, yaml_short};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// One spec file handed to the engine: a display path (used in diagnostics and headers) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as it should appear in messages, e.g. `specs/crm.deal.add.md`.
    pub path: String,
    /// The file's contents.
    pub text: String,
}

/// How a list method pages its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pagination {
    /// The method does not page.
    None,
    /// Offset paging: request `start`, response `next` and `total`, pages of 50.
    Start,
}

/// Which REST API a method belongs to (the `api` key): the classic one at `/rest/…`, or
/// REST 3.0 at `/rest/api/…` (JSON bodies, `{error: {code, message, validation}}` errors,
/// `Idempotency-Key` on writes). A project extension of the spec format; default classic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ApiVersion {
    /// The classic REST API (`api: classic`, the default).
    #[default]
    Classic,
    /// REST 3.0 (`api: v3`).
    V3,
}

/// A parsed and checked spec.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The file it came from.
    pub file: String,
    /// Wire name, e.g. `imopenlines.crm.message.add`.
    pub method: String,
    /// Permission scope, e.g. `imopenlines`.
    pub scope: String,
    /// `deprecated` key (default false).
    pub deprecated: bool,
    /// Other wire names for the same method.
    pub aliases: Vec<String>,
    /// Calls per second allowed by the spec's author (default 2).
    pub rate_limit_per_sec: f64,
    /// Paging style (default none).
    pub pagination: Pagination,
    /// Which REST API the method belongs to (`api` key, default classic).
    pub api: ApiVersion,
    /// Request parameters, normalised; always an object schema.
    pub params: SchemaSet,
    /// The `result` member, normalised.
    pub returns: SchemaSet,
    /// Error codes the method is documented to return (`errors` key, default empty).
    pub errors: Vec<String>,
    /// URL of the official documentation page (`docs` key).
    pub docs: Option<String>,
    /// The Markdown body after the front-matter (may be empty).
    pub body: String,
    /// 1-based line where the body starts.
    pub body_line: usize,
    /// 1-based line of each top-level front-matter key.
    pub key_lines: BTreeMap<String, usize>,
}

impl Spec {
    /// Line of a top-level key, or of the opening `---` when the key is absent.
    pub fn line_of(&self, key: &str) -> usize {
        self.key_lines.get(key).copied().unwrap_or(1)
    }
}

const KNOWN_KEYS: &[&str] = &[
    "method",
    "scope",
    "deprecated",
    "aliases",
    "rate_limit_per_sec",
    "pagination",
    "api",
    "params",
    "returns",
    "errors",
    "docs",
    "generated_by",
    "import_hash",
];

/// Front-matter text with its position, plus the body.
struct Split<'a> {
    front: Vec<&'a str>,
    /// 1-based line of the first front-matter line.
    front_line: usize,
    body: String,
    body_line: usize,
}

fn split<'a>(file: &str, text: &'a str) -> Result<Split<'a>, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // `lines()` drops a trailing "\r" only with "\r\n"; strip any stray "\r" at the end too.
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let is_fence = |l: &str| l.trim_end() == "---";
    if !lines.first().is_some_and(|l| is_fence(l)) {
        return Err(Diagnostic::error(
            file,
            1,
            None,
            "the file does not start with a `---` line, so it has no front-matter",
        ));
    }
    let Some(close) = lines
        .iter()
        .skip(1)
        .position(|l| is_fence(l))
        .map(|i| i + 1)
    else {
        return Err(Diagnostic::error(
            file,
            1,
            None,
            "the front-matter opened here is never closed by a `---` line",
        ));
    };
    let body_lines = &lines[close + 1..];
    Ok(Split {
        front: lines[1..close].to_vec(),
        front_line: 2,
        body: body_lines.join("\n"),
        body_line: close + 2,
    })
}

/// Parses one spec file. Diagnostics (errors and warnings) go to `diags`; `None` when an error
/// makes the spec unusable.
pub fn parse(src: &SourceFile, diags: &mut Diagnostics) -> Option<Spec> {
    let file = src.path.as_str();
    let split = match split(file, &src.text) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let yaml_text = split.front.join("\n");
    let value: Value = match serde_yaml::from_str(&yaml_text) {
        Ok(v) => v,
        Err(e) => {
            let line = e.location().map_or(split.front_line, |l| {
                split.front_line + l.line().saturating_sub(1)
            });
            let msg = e.to_string();
            // serde_yaml appends " at line N column M" relative to the front-matter; drop it, we give our own.
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            diags.push(Diagnostic::error(
                file,
                line,
                None,
                format!("the front-matter is not valid YAML: {msg}"),
            ));
            return None;
        }
    };
    let Value::Mapping(map) = value else {
        diags.push(Diagnostic::error(
            file,
            1,
            None,
            format!(
                "the front-matter must be a YAML mapping of keys, not {}",
                yaml_kind(&value)
            ),
        ));
        return None;
    };
    let key_lines = top_key_lines(&split.front, split.front_line);
    let loc = Locator::new(split.front.clone(), split.front_line, key_lines.clone());
    let line_of = |k: &str| key_lines.get(k).copied().unwrap_or(1);
    let before = diags.0.iter().filter(|d| d.is_error()).count();

    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in map {
        let Some(k) = k.as_str().map(str::to_owned) else {
            diags.push(Diagnostic::error(
                file,
                1,
                None,
                format!("front-matter keys must be strings, found {}", yaml_kind(&k)),
            ));
            continue;
        };
        if !KNOWN_KEYS.contains(&k.as_str()) {
            diags.push(Diagnostic::warning(
                file,
                line_of(&k),
                None,
                format!("unknown front-matter key `{}` ignored", printable(&k)),
            ));
            continue;
        }
        fields.insert(k, v);
    }

    // `method` and `scope`: required strings, each checked against its own grammar.
    let name_key = |key: &str, valid: fn(&str) -> bool, what: &str, diags: &mut Diagnostics| {
        let grammar = if key == "method" {
            "[A-Za-z][A-Za-z0-9_]*"
        } else {
            "[a-z][a-z0-9_]*"
        };
        let Some(v) = fields.get(key) else {
            let msg = format!("the required key `{key}` is missing");
            diags.push(Diagnostic::error(file, 1, None, msg));
            return None;
        };
        match v.as_str() {
            Some(s) if valid(s) => Some(s.to_owned()),
            Some(s) => {
                diags.push(Diagnostic::error(
                    file,
                    line_of(key),
                    Some(key.into()),
                    format!(
                        "`{}` is not a valid {what} (dot-separated segments of the form {grammar})",
                        printable(s),
                    ),
                ));
                None
            }
            None => {
                diags.push(type_error(file, line_of(key), key, "a string", v));
                None
            }
        }
    };
    let method = name_key("method", is_wire_name, "method name", diags);
    let scope = name_key("scope", is_scope, "scope", diags);
    let deprecated = match fields.get("deprecated") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            diags.push(type_error(
                file,
                line_of("deprecated"),
                "deprecated",
                "`true` or `false`",
                v,
            ));
            false
        }
    };
    let mut aliases = Vec::new();
    match fields.get("aliases") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) if is_wire_name(s) => aliases.push(s.to_owned()),
                    Some(s) => diags.push(Diagnostic::error(
                        file,
                        line_of("aliases"),
                        Some(format!("aliases[{i}]")),
                        format!("`{}` is not a valid method name for an alias", printable(s)),
                    )),
                    None => diags.push(type_error(
                        file,
                        line_of("aliases"),
                        &format!("aliases[{i}]"),
                        "a string",
                        item,
                    )),
                }
            }
        }
        Some(v) => diags.push(type_error(
            file,
            line_of("aliases"),
            "aliases",
            "a list of strings",
            v,
        )),
    }
    if let Some(m) = &method {
        for a in &aliases {
            if a.eq_ignore_ascii_case(m) {
                diags.push(Diagnostic::error(
                    file,
                    line_of("aliases"),
                    Some("aliases".into()),
                    format!("alias `{a}` is the method's own name"),
                ));
            }
        }
    }
    let rate_limit_per_sec = match fields.get("rate_limit_per_sec") {
        None => 2.0,
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() && n > 0.0 => n,
            Some(_) => {
                diags.push(Diagnostic::error(
                    file,
                    line_of("rate_limit_per_sec"),
                    Some("rate_limit_per_sec".into()),
                    format!("must be a number greater than 0, found {}", yaml_short(v)),
                ));
                2.0
            }
            None => {
                diags.push(type_error(
                    file,
                    line_of("rate_limit_per_sec"),
                    "rate_limit_per_sec",
                    "a number > 0",
                    v,
                ));
                2.0
            }
        },
    };
    let pagination = match fields.get("pagination") {
        None => Pagination::None,
        Some(v) => match v.as_str() {
            Some("none") => Pagination::None,
            Some("start") => Pagination::Start,
            _ => {
                diags.push(Diagnostic::error(
                    file,
                    line_of("pagination"),
                    Some("pagination".into()),
                    format!("must be `none` or `start`, found {}", yaml_short(v)),
                ));
                Pagination::None
            }
        },
    };
    let api = match fields.get("api") {
        None => ApiVersion::Classic,
        Some(v) => match v.as_str() {
            Some("classic") => ApiVersion::Classic,
            Some("v3") => ApiVersion::V3,
            _ => {
                diags.push(Diagnostic::error(
                    file,
                    line_of("api"),
                    Some("api".into()),
                    format!("must be `classic` or `v3`, found {}", yaml_short(v)),
                ));
                ApiVersion::Classic
            }
        },
    };

    let mut errors = Vec::new();
    match fields.get("errors") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) if !s.is_empty() && s.len() <= 200 => errors.push(s.clone()),
                    Value::Number(n) => errors.push(n.to_string()),
                    other => diags.push(type_error(
                        file,
                        line_of("errors"),
                        &format!("errors[{i}]"),
                        "a non-empty error code (string or number)",
                        other,
                    )),
                }
            }
        }
        Some(v) => diags.push(type_error(
            file,
            line_of("errors"),
            "errors",
            "a list of error codes",
            v,
        )),
    }
    let docs = docs_key(&fields, line_of("docs"), file, diags);
    for key in ["generated_by", "import_hash"] {
        if let Some(v) = fields.get(key)
            && !matches!(v, Value::String(_))
        {
            diags.push(type_error(file, line_of(key), key, "a string", v));
        }
    }

    let mut sink = schema::Sink {
        file,
        loc: &loc,
        diags,
    };
    let params = match fields.get("params") {
        None => SchemaSet::empty_object(),
        Some(v) => schema::normalise_root(v, "params", &mut sink),
    };
    if !matches!(
        params.root,
        Schema {
            kind: schema::Kind::Object(_),
            nullable: false,
            ..
        }
    ) {
        let path = vec!["params".to_owned()];
        sink.diags.push(Diagnostic::error(
            file,
            loc.line(&path),
            Some("params".into()),
            "the top level of `params` must be a non-nullable `type: object` schema",
        ));
    }
    let returns = match fields.get("returns") {
        None => SchemaSet::any(),
        Some(v) => schema::normalise_root(v, "returns", &mut sink),
    };

    let after = diags.0.iter().filter(|d| d.is_error()).count();
    if after > before {
        return None;
    }
    Some(Spec {
        file: file.to_owned(),
        method: method?,
        scope: scope?,
        deprecated,
        aliases,
        rate_limit_per_sec,
        pagination,
        api,
        params,
        returns,
        errors,
        docs,
        body: split.body,
        body_line: split.body_line,
        key_lines,
    })
}

fn type_error(file: &str, line: usize, path: &str, expected: &str, found: &Value) -> Diagnostic {
    Diagnostic::error(
        file,
        line,
        Some(path.to_owned()),
        format!("expected {expected}, found {}", yaml_short(found)),
    )
}

/// Wire name: dot-separated segments `[A-Za-z][A-Za-z0-9_]*`.
pub fn is_wire_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|seg| {
            let mut c = seg.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        })
}

/// Scope: dot-separated segments `[a-z][a-z0-9_]*`.
pub fn is_scope(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|seg| {
            let mut c = seg.chars();
            c.next().is_some_and(|f| f.is_ascii_lowercase())
                && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        })
}

/// The front-matter of an event or type spec read up to its keys: every key of `known`
/// kept, others warned about, and the positions to report problems at.
struct Front<'a> {
    fields: BTreeMap<String, Value>,
    key_lines: BTreeMap<String, usize>,
    loc: Locator<'a>,
    /// How many errors `diags` held before this file.
    before: usize,
}

impl Front<'_> {
    fn line_of(&self, key: &str) -> usize {
        self.key_lines.get(key).copied().unwrap_or(1)
    }

    /// A required string key that must satisfy `valid` (`what` names the expected form).
    fn text_key(
        &self,
        file: &str,
        key: &str,
        valid: fn(&str) -> bool,
        what: &str,
        diags: &mut Diagnostics,
    ) -> Option<String> {
        match self.fields.get(key) {
            None => {
                diags.push(Diagnostic::error(
                    file,
                    1,
                    None,
                    format!("the required key `{key}` is missing"),
                ));
                None
            }
            Some(Value::String(s)) if valid(s) => Some(s.clone()),
            Some(v) => {
                diags.push(type_error(file, self.line_of(key), key, what, v));
                None
            }
        }
    }

    /// The optional `docs` URL.
    fn docs(&self, file: &str, diags: &mut Diagnostics) -> Option<String> {
        docs_key(&self.fields, self.line_of("docs"), file, diags)
    }
}

/// The optional `docs` key of any spec: an http(s) URL, else an error at its `line`.
fn docs_key(
    fields: &BTreeMap<String, Value>,
    line: usize,
    file: &str,
    diags: &mut Diagnostics,
) -> Option<String> {
    match fields.get("docs") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.starts_with("https://") || s.starts_with("http://") => {
            Some(s.clone())
        }
        Some(v) => {
            diags.push(type_error(file, line, "docs", "an http(s) URL string", v));
            None
        }
    }
}

/// Splits and reads the front-matter of an event or type spec, keeping the keys of
/// `known`; `None` (with the diagnostic) when there is no front-matter mapping to read.
fn read_front<'a>(
    src: &'a SourceFile,
    known: &[&str],
    diags: &mut Diagnostics,
) -> Option<Front<'a>> {
    let file = src.path.as_str();
    let split = match split(file, &src.text) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let value: Value = match serde_yaml::from_str(&split.front.join("\n")) {
        Ok(v) => v,
        Err(e) => {
            let line = e.location().map_or(split.front_line, |l| {
                split.front_line + l.line().saturating_sub(1)
            });
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            diags.push(Diagnostic::error(
                file,
                line,
                None,
                format!("the front-matter is not valid YAML: {msg}"),
            ));
            return None;
        }
    };
    let Value::Mapping(map) = value else {
        diags.push(Diagnostic::error(
            file,
            1,
            None,
            "the front-matter must be a YAML mapping of keys",
        ));
        return None;
    };
    let key_lines = top_key_lines(&split.front, split.front_line);
    let loc = Locator::new(split.front.clone(), split.front_line, key_lines.clone());
    let before = diags.0.iter().filter(|d| d.is_error()).count();
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in map {
        match k.as_str() {
            Some(k) if known.contains(&k) => {
                fields.insert(k.to_owned(), v);
            }
            Some(k) => diags.push(Diagnostic::warning(
                file,
                key_lines.get(k).copied().unwrap_or(1),
                None,
                format!("unknown front-matter key `{}` ignored", printable(k)),
            )),
            None => diags.push(Diagnostic::error(
                file,
                1,
                None,
                "front-matter keys must be strings",
            )),
        }
    }
    Some(Front {
        fields,
        key_lines,
        loc,
        before,
    })
}

/// An event spec (the project's extension of the format): one documented event a portal
/// POSTs to handlers. Front-matter keys: `event` (the documented name, `onCrmDealAdd`;
/// matched without regard to case, as the wire sends `ONCRMDEALADD`), `scope`, `payload`
/// (JSON Schema of the event's `data`, default any JSON), `deprecated`, `docs`,
/// `generated_by`, `import_hash`. Event specs live in `specs/events/`.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// The file it came from.
    pub file: String,
    /// The documented name (`onCrmDealAdd`, `ONAPPINSTALL`, `CATALOG.PRICE.ON.ADD`).
    pub event: String,
    /// The permission scope (cargo feature).
    pub scope: String,
    /// `deprecated` (default `false`).
    pub deprecated: bool,
    /// The schema of `data`, normalised.
    pub payload: SchemaSet,
    /// The official page (`docs`).
    pub docs: Option<String>,
}

const EVENT_KEYS: &[&str] = &[
    "event",
    "scope",
    "deprecated",
    "payload",
    "docs",
    "generated_by",
    "import_hash",
];

/// Whether `name` is an event name: dot-separated segments of `[A-Za-z][A-Za-z0-9_]*`.
pub fn is_event_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|seg| {
            let mut b = seg.bytes();
            b.next().is_some_and(|c| c.is_ascii_alphabetic())
                && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        })
}

/// Parses one event spec; like [`parse`], every problem is a diagnostic with its line.
pub fn parse_event(src: &SourceFile, diags: &mut Diagnostics) -> Option<EventSpec> {
    let file = src.path.as_str();
    let front = read_front(src, EVENT_KEYS, diags)?;
    let event = front.text_key(
        file,
        "event",
        is_event_name,
        "an event name (dot-separated segments of the form [A-Za-z][A-Za-z0-9_]*)",
        diags,
    );
    let scope = front.text_key(
        file,
        "scope",
        is_scope,
        "a scope ([a-z][a-z0-9_]* segments joined by `.`)",
        diags,
    );
    let deprecated = match front.fields.get("deprecated") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            diags.push(type_error(
                file,
                front.line_of("deprecated"),
                "deprecated",
                "a boolean",
                v,
            ));
            false
        }
    };
    let docs = front.docs(file, diags);
    let mut sink = schema::Sink {
        file,
        loc: &front.loc,
        diags,
    };
    let payload = match front.fields.get("payload") {
        None => SchemaSet::any(),
        Some(v) => schema::normalise_root(v, "payload", &mut sink),
    };
    if diags.0.iter().filter(|d| d.is_error()).count() > front.before {
        return None;
    }
    Some(EventSpec {
        file: file.to_owned(),
        event: event?,
        scope: scope?,
        deprecated,
        payload,
        docs,
    })
}

#[cfg(test)]
mod event_tests {
    use super::*;

    fn parse_text(text: &str) -> (Option<EventSpec>, Vec<String>) {
        let mut d = Diagnostics::default();
        let s = parse_event(
            &SourceFile {
                path: "specs/events/x.md".into(),
                text: text.into(),
            },
            &mut d,
        );
        (s, d.0.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn an_event_spec_parses() {
        let (s, d) = parse_text(
            "---\nevent: onCrmDealAdd\nscope: crm\npayload: {\"type\": \"object\", \"properties\": {\"FIELDS\": {\"type\": \"object\", \"properties\": {\"ID\": {\"type\": \"integer\"}}}}}\ndocs: \"https://x.y/z.html\"\n---\n",
        );
        let s = s.unwrap();
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            (s.event.as_str(), s.scope.as_str()),
            ("onCrmDealAdd", "crm")
        );
        assert!(matches!(s.payload.root.kind, schema::Kind::Object(_)));
    }

    #[test]
    fn bad_event_specs_name_the_line() {
        let (s, d) = parse_text("---\nevent: \"on deal\"\nscope: Crm\nextra: 1\n---\n");
        assert!(s.is_none());
        assert!(
            d.iter()
                .any(|m| m.contains(":2: error") && m.contains("event")),
            "{d:?}"
        );
        assert!(
            d.iter()
                .any(|m| m.contains(":3: error") && m.contains("scope")),
            "{d:?}"
        );
        assert!(d.iter().any(|m| m.contains(":4: warning")), "{d:?}");
        let (s, d) = parse_text("---\nscope: crm\n---\n");
        assert!(
            s.is_none() && d.iter().any(|m| m.contains("`event` is missing")),
            "{d:?}"
        );
    }
}

/// A type spec (the project's extension of the format, `specs/types/<type>.md`): one JSON
/// Schema named once so that many methods can refer to it with `{"$ref": "types/<type>"}`.
/// Front-matter keys: `type` (`<scope>.<name>`, equal to the file stem), `scope`, `schema`
/// (required), `docs`, `generated_by`, `import_hash`.
#[derive(Debug, Clone)]
pub struct TypeSpec {
    /// The file it came from.
    pub file: String,
    /// The full name, `crm.multifield`.
    pub name: String,
    /// The permission scope (cargo feature) the type belongs to.
    pub scope: String,
    /// The schema, normalised.
    pub schema: SchemaSet,
    /// The official page (`docs`).
    pub docs: Option<String>,
    /// The line of each top-level front-matter key.
    pub key_lines: BTreeMap<String, usize>,
}

const TYPE_KEYS: &[&str] = &[
    "type",
    "scope",
    "schema",
    "docs",
    "generated_by",
    "import_hash",
];

/// Whether `name` is a type spec's name: `[a-z][a-z0-9_]*` segments joined by `.`, at
/// least two of them (the scope, then the type's own name).
pub fn is_type_name(name: &str) -> bool {
    schema::is_type_name(name)
}

/// The file stem of a display path: `specs/types/crm.multifield.md` → `crm.multifield`.
pub fn file_stem(path: &str) -> &str {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    base.strip_suffix(".md").unwrap_or(base)
}

/// Parses one type spec; like [`parse`], every problem is a diagnostic with its line.
pub fn parse_type(src: &SourceFile, diags: &mut Diagnostics) -> Option<TypeSpec> {
    let file = src.path.as_str();
    let front = read_front(src, TYPE_KEYS, diags)?;
    let line_of = |k: &str| front.line_of(k);
    let name = front.text_key(
        file,
        "type",
        is_type_name,
        "a type name (`<scope>.<name>`, [a-z][a-z0-9_]* segments joined by `.`)",
        diags,
    );
    let scope = front.text_key(
        file,
        "scope",
        is_scope,
        "a scope ([a-z][a-z0-9_]* segments joined by `.`)",
        diags,
    );
    if let Some(n) = &name {
        let stem = file_stem(file);
        if n != stem {
            diags.push(Diagnostic::error(
                file,
                line_of("type"),
                Some("type".to_owned()),
                format!(
                    "the type `{}` differs from the file name `{}`; a type spec is named after its type",
                    printable(n),
                    printable(stem)
                ),
            ));
        }
        if let Some(s) = &scope {
            let own = n.strip_prefix(s.as_str()).and_then(|r| r.strip_prefix('.'));
            if !own.is_some_and(|r| !r.is_empty() && !r.contains('.')) {
                diags.push(Diagnostic::error(
                    file,
                    line_of("type"),
                    Some("type".to_owned()),
                    format!(
                        "the type `{}` must be its scope `{}` followed by one name segment",
                        printable(n),
                        printable(s)
                    ),
                ));
            }
        }
    }
    let docs = front.docs(file, diags);
    for key in ["generated_by", "import_hash"] {
        match front.fields.get(key) {
            None | Some(Value::String(_)) => {}
            Some(v) => diags.push(type_error(file, line_of(key), key, "a string", v)),
        }
    }
    let schema_value = front.fields.get("schema").cloned();
    if schema_value.is_none() {
        diags.push(Diagnostic::error(
            file,
            1,
            None,
            "the required key `schema` is missing",
        ));
    }
    let mut sink = schema::Sink {
        file,
        loc: &front.loc,
        diags,
    };
    let schema = schema_value.map(|v| schema::normalise_root(&v, "schema", &mut sink));
    if diags.0.iter().filter(|d| d.is_error()).count() > front.before {
        return None;
    }
    Some(TypeSpec {
        file: file.to_owned(),
        name: name?,
        scope: scope?,
        schema: schema?,
        docs,
        key_lines: front.key_lines.clone(),
    })
}

#[cfg(test)]
mod type_tests {
    use super::*;

    fn parse_at(path: &str, text: &str) -> (Option<TypeSpec>, Vec<String>) {
        let mut d = Diagnostics::default();
        let s = parse_type(
            &SourceFile {
                path: path.into(),
                text: text.into(),
            },
            &mut d,
        );
        d.sort();
        (s, d.0.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn a_type_spec_parses() {
        let (s, d) = parse_at(
            "specs/types/crm.multifield.md",
            "---\ntype: crm.multifield\nscope: crm\ndocs: \"https://x.y/z.html\"\nschema: {\"type\": \"object\", \"properties\": {\"ID\": {\"type\": \"integer\"}, \"VALUE\": {\"type\": \"string\"}}}\n---\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let s = s.unwrap();
        assert_eq!(
            (s.name.as_str(), s.scope.as_str(), s.docs.as_deref()),
            ("crm.multifield", "crm", Some("https://x.y/z.html"))
        );
        let schema::Kind::Object(o) = &s.schema.root.kind else {
            panic!("not an object: {:?}", s.schema.root.kind);
        };
        let names: Vec<&str> = o.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["ID", "VALUE"]);
    }

    #[test]
    fn bad_type_specs_name_file_and_line() {
        let (s, d) = parse_at(
            "specs/types/crm.multifield.md",
            "---\ntype: crm.other\nscope: crm\nextra: 1\nschema: {\"type\": \"strng\"}\n---\n",
        );
        assert!(s.is_none());
        assert_eq!(
            d,
            [
                "specs/types/crm.multifield.md:2: error: type: the type `crm.other` differs from the file name `crm.multifield`; a type spec is named after its type",
                "specs/types/crm.multifield.md:4: warning: unknown front-matter key `extra` ignored",
                "specs/types/crm.multifield.md:5: error: schema.type: unknown type \"strng\"; expected object, array, string, integer, number, boolean or null",
            ]
        );
        let (s, d) = parse_at("specs/types/Crm.md", "---\ntype: Crm\nscope: crm\n---\n");
        assert!(s.is_none());
        assert_eq!(
            d,
            [
                "specs/types/Crm.md:1: error: the required key `schema` is missing",
                "specs/types/Crm.md:2: error: type: expected a type name (`<scope>.<name>`, [a-z][a-z0-9_]* segments joined by `.`), found \"Crm\"",
            ]
        );
        let (s, d) = parse_at(
            "specs/types/sale.order.md",
            "---\ntype: sale.order\nscope: crm\nschema: {}\n---\n",
        );
        assert!(s.is_none());
        assert_eq!(
            d,
            [
                "specs/types/sale.order.md:2: error: type: the type `sale.order` must be its scope `crm` followed by one name segment"
            ]
        );
        let (s, d) = parse_at(
            "specs/types/crm.x.md",
            "---\ntype: crm.x\nschema: {}\n---\n",
        );
        assert!(s.is_none());
        assert_eq!(
            d,
            ["specs/types/crm.x.md:1: error: the required key `scope` is missing"]
        );
    }
}
