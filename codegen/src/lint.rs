//! `cargo xtask lint`: a spec's front-matter against its own body. The body is read with the
//! same reader as the docs ([`crate::docs`]); only bodies that have a parameter table, an error
//! table or a response example are compared.
//!
//! Mismatches are warnings: the front-matter is what generation uses, the body is the
//! documentation it came from. `lint --strict` makes them errors; `lint --fix` rewrites the
//! `params`, `errors` and `returns` keys from the body ([`fix`]).

use crate::diag::{Diagnostic, Diagnostics};
use crate::docs::{self, Page};
use crate::spec::{self, SourceFile};
use serde_json::Value;

/// What the body says, when it says anything.
struct BodyFacts {
    page: Page,
    /// Line offset: body line 1 is file line `offset + 1`.
    offset: usize,
}

fn body_facts(spec: &spec::Spec) -> Option<BodyFacts> {
    let page = docs::read_page(&spec.body);
    let has = page.params_line > 0 || !page.errors.is_empty() || page.response.is_some();
    has.then(|| BodyFacts {
        page,
        offset: spec.body_line.saturating_sub(1),
    })
}

/// The raw front-matter as JSON (for comparing schemas as written).
fn front_json(text: &str) -> Option<serde_json::Map<String, Value>> {
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n");
    let mut lines = text.split('\n');
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    let front: Vec<&str> = lines.take_while(|l| l.trim_end() != "---").collect();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&front.join("\n")).ok()?;
    match serde_json::to_value(yaml).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn kind(s: &Value) -> Option<String> {
    match s.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_owned),
        _ => None,
    }
}

/// Compares one spec's front-matter with its body. Returns warnings (errors when `strict`).
pub fn compare(src: &SourceFile, strict: bool) -> Diagnostics {
    let mut out = Diagnostics::default();
    let mut parse_diags = Diagnostics::default();
    let Some(spec) = spec::parse(src, &mut parse_diags) else {
        return out;
    };
    let Some(facts) = body_facts(&spec) else {
        return out;
    };
    let Some(front) = front_json(&src.text) else {
        return out;
    };
    let file = src.path.as_str();
    let push = |out: &mut Diagnostics, line: usize, path: Option<String>, msg: String| {
        out.push(if strict {
            Diagnostic::error(file, line, path, msg)
        } else {
            Diagnostic::warning(file, line, path, msg)
        });
    };
    let body_line = |l: usize| facts.offset + l;
    let page = &facts.page;

    if let Some(m) = &page.method
        && !m.eq_ignore_ascii_case(&spec.method)
        && page.title.is_some()
    {
        let line = page.title.as_ref().map_or(1, |t| body_line(t.0));
        push(
            &mut out,
            line,
            None,
            format!(
                "the body's title names `{m}`, the front-matter `{}`",
                spec.method
            ),
        );
    }

    if page.params_line > 0 {
        let body = docs::object_schema(&page.params, true);
        let front_params = front.get("params").cloned().unwrap_or(Value::Null);
        let pline = spec.line_of("params");
        compare_objects(
            &body,
            &front_params,
            "params",
            &mut |path, msg, bl| {
                let line = bl.map_or(pline, body_line);
                push(&mut out, line, Some(path), msg);
            },
            &page.params,
        );
    }

    if !page.errors.is_empty() {
        let listed: Vec<String> = front
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let missing: Vec<&String> = page.errors.iter().filter(|e| !listed.contains(e)).collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|e| format!("`{e}`")).collect();
            push(
                &mut out,
                body_line(page.errors_line),
                Some("errors".into()),
                format!(
                    "the body's error table lists {} that `errors` does not",
                    list.join(", ")
                ),
            );
        }
    }

    if let Some(ex) = &page.response {
        let result = result_of(&ex.value);
        let declared = front.get("returns").and_then(kind);
        let actual = json_kind(result);
        if let (Some(d), Some(a)) = (declared, actual)
            && !compatible(&d, a)
        {
            push(
                &mut out,
                body_line(ex.line),
                Some("returns".into()),
                format!(
                    "the body's response example has a result of type {a}; `returns` declares {d}"
                ),
            );
        }
    }
    out.sort();
    out
}

/// The `result` of a response example: the envelope's member, or the example itself when the
/// page shows the bare result.
pub fn result_of(v: &Value) -> &Value {
    match v {
        Value::Object(m) if m.contains_key("result") => &m["result"],
        other => other,
    }
}

fn json_kind(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    })
}

/// Whether a declared type can hold a value of the example's kind on the loose wire.
fn compatible(declared: &str, actual: &str) -> bool {
    declared == actual
        || matches!(
            (declared, actual),
            ("number", "integer")
                | ("integer" | "number" | "boolean", "string")
                | ("string", "integer" | "number")
                | ("object", "array")
                | ("boolean", "integer")
        )
}

fn compare_objects(
    body: &Value,
    front: &Value,
    path: &str,
    report: &mut dyn FnMut(String, String, Option<usize>),
    rows: &[docs::Param],
) {
    let empty = serde_json::Map::new();
    let bprops = body
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let fprops = front
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let names = |v: &Value| -> Vec<String> {
        v.get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (breq, freq) = (names(body), names(front));
    for (name, bs) in bprops {
        let row = rows.iter().find(|r| &r.name == name);
        let line = row.map(|r| r.line);
        let p = format!("{path}.properties.{name}");
        let Some(fs) = fprops.get(name) else {
            report(
                p,
                format!(
                    "the body lists {} parameter `{name}`, which the front-matter lacks",
                    if breq.contains(name) {
                        "required"
                    } else {
                        "optional"
                    }
                ),
                line,
            );
            continue;
        };
        let (bk, fk) = (kind(bs), kind(fs));
        if let (Some(b), Some(f)) = (&bk, &fk)
            && b != f
        {
            report(
                format!("{p}.type"),
                format!("the body gives `{name}` type {b}, the front-matter {f}"),
                line,
            );
        }
        if breq.contains(name) != freq.contains(name) {
            report(
                format!("{path}.required"),
                format!(
                    "the body marks `{name}` {}, the front-matter {}",
                    if breq.contains(name) {
                        "required"
                    } else {
                        "optional"
                    },
                    if freq.contains(name) {
                        "required"
                    } else {
                        "optional"
                    }
                ),
                line,
            );
        }
        if let Some(be) = bs.get("enum").and_then(Value::as_array) {
            let fe = fs.get("enum").and_then(Value::as_array);
            let missing: Vec<String> = be
                .iter()
                .filter(|v| !fe.is_some_and(|fe| fe.contains(v)))
                .map(Value::to_string)
                .collect();
            if !missing.is_empty() {
                report(
                    format!("{p}.enum"),
                    format!(
                        "the body lists values {} of `{name}` that the front-matter does not",
                        missing.join(", ")
                    ),
                    line,
                );
            }
        }
        if let Some(r) = row
            && !r.children.is_empty()
        {
            let (b2, f2) = if bk.as_deref() == Some("array") {
                (
                    bs.get("items").cloned().unwrap_or(Value::Null),
                    fs.get("items").cloned().unwrap_or(Value::Null),
                )
            } else {
                (bs.clone(), fs.clone())
            };
            let sub = if bk.as_deref() == Some("array") {
                format!("{p}.items")
            } else {
                p.clone()
            };
            if f2.get("properties").is_some() {
                compare_objects(&b2, &f2, &sub, report, &r.children);
            }
        }
    }
    for name in fprops.keys() {
        if !bprops.contains_key(name) {
            report(
                format!("{path}.properties.{name}"),
                format!("the front-matter declares `{name}`, which the body's table does not list"),
                None,
            );
        }
    }
}

/// `lint --fix`: the spec with `params`, `errors` and (when the body's example contradicts it)
/// `returns` rewritten from the body. Other keys and the body are kept as they are. `None` when
/// the body gives nothing to take.
pub fn fix(src: &SourceFile) -> Option<String> {
    let mut d = Diagnostics::default();
    let spec = spec::parse(src, &mut d)?;
    let facts = body_facts(&spec)?;
    let page = &facts.page;
    let mut replace: Vec<(&str, String)> = Vec::new();
    if page.params_line > 0 {
        replace.push((
            "params",
            serde_json::to_string(&crate::json::sorted(&docs::object_schema(
                &page.params,
                true,
            )))
            .ok()?,
        ));
    }
    if !page.errors.is_empty() {
        let mut all: Vec<String> = spec.errors.clone();
        for e in &page.errors {
            if !all.contains(e) {
                all.push(e.clone());
            }
        }
        replace.push(("errors", serde_json::to_string(&all).ok()?));
    }
    if !compare(src, false)
        .0
        .iter()
        .any(|x| x.path.as_deref() == Some("returns"))
    {
        // returns agrees with the body (or the body has no example): keep it.
    } else if let Some(ex) = &page.response {
        let r = result_of(&ex.value);
        if let Some(k) = json_kind(r) {
            replace.push(("returns", format!("{{\"type\":\"{k}\"}}")));
        }
    }
    if replace.is_empty() {
        return None;
    }
    Some(rewrite_keys(&src.text, &replace))
}

/// Replaces top-level keys of the front-matter (a key's region runs to the next line at column
/// 0); keys not present are added before the closing `---`.
fn rewrite_keys(text: &str, replace: &[(&str, String)]) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let crlf = text.contains("\r\n");
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let close = lines
        .iter()
        .skip(1)
        .position(|l| l.trim_end() == "---")
        .map_or(lines.len(), |i| i + 1);
    let mut out: Vec<String> = vec![lines.first().copied().unwrap_or("---").to_owned()];
    let mut done: Vec<&str> = Vec::new();
    let mut skipping = false;
    for l in lines.iter().take(close).skip(1) {
        let top = l
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace() && c != '#');
        if top {
            skipping = false;
            let key = l
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            if let Some((k, v)) = replace.iter().find(|(k, _)| *k == key) {
                out.push(format!("{k}: {v}"));
                done.push(k);
                skipping = true;
                continue;
            }
        } else if skipping {
            continue;
        }
        out.push((*l).to_owned());
    }
    for (k, v) in replace {
        if !done.contains(k) {
            out.push(format!("{k}: {v}"));
        }
    }
    for l in lines.iter().skip(close) {
        out.push((*l).to_owned());
    }
    let joined = out.join("\n");
    if crlf {
        joined.replace('\n', "\r\n")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> SourceFile {
        SourceFile {
            path: "specs/x.md".into(),
            text: text.into(),
        }
    }

    const SPEC: &str = "---\nmethod: a.b.add\nscope: a\nparams: {\"type\":\"object\",\"required\":[\"fields\"],\"properties\":{\"fields\":{\"type\":\"object\"}}}\nreturns: {\"type\":\"object\"}\n---\n\n# Add a.b.add\n\n## Параметры метода\n\n#|\n|| **Название**\n`Тип` | **Описание** ||\n|| **ID***\n[`integer`](x) | x ||\n|| **KIND**\n[`string`](x) | x:\n- a — x\n- b — y\n ||\n|#\n\n## Ответ в случае успеха\n\n```json\n19880117\n```\n\n### Возможные коды ошибок\n\n#|\n|| **Код** | **Описание** ||\n|| **E_ONE** | x ||\n|#\n";

    #[test]
    fn mismatches_are_reported_with_lines() {
        let d = compare(&src(SPEC), false);
        let text = d.to_string();
        assert!(
            text.contains("specs/x.md:15: warning: params.properties.ID: the body lists required parameter `ID`"),
            "{text}"
        );
        assert!(text.contains("params.properties.KIND"), "{text}");
        assert!(
            text.contains("specs/x.md:4: warning: params.properties.fields: the front-matter declares `fields`"),
            "{text}"
        );
        assert!(text.contains("`E_ONE`"), "{text}");
        assert!(
            text.contains("returns: the body's response example has a result of type integer"),
            "{text}"
        );
        assert!(!compare(&src(SPEC), true).0.is_empty());
        assert!(compare(&src(SPEC), true).has_errors());
    }

    #[test]
    fn fix_makes_the_front_matter_agree() {
        let fixed = fix(&src(SPEC)).expect("something to fix");
        let d = compare(&src(&fixed), true);
        assert!(d.0.is_empty(), "{d}\n{fixed}");
        // The body is kept unchanged.
        let body = SPEC.split_once("\n---\n").map(|x| x.1).unwrap_or("");
        assert!(fixed.ends_with(body));
        let mut diags = Diagnostics::default();
        let spec = spec::parse(&src(&fixed), &mut diags).expect("parses");
        assert_eq!(spec.errors, ["E_ONE"]);
        // Fixing twice changes nothing more.
        assert_eq!(fix(&src(&fixed)).as_deref(), Some(fixed.as_str()));
    }

    #[test]
    fn specs_without_body_facts_are_not_compared() {
        assert!(
            compare(&src("---\nmethod: a.b\nscope: a\n---\nJust words.\n"), true)
                .0
                .is_empty()
        );
        assert!(fix(&src("---\nmethod: a.b\nscope: a\n---\n")).is_none());
    }
}
