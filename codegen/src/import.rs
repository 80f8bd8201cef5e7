//! `cargo xtask import`: a doc page becomes a fact-only spec. Pure functions; xtask does the
//! file I/O.
//!
//! The spec carries facts only (names, types, required flags, enum values, nested objects,
//! error codes, the page URL); no description text from the docs. Output is deterministic:
//! keys in a fixed order, JSON objects with sorted keys. Every file carries
//! `generated_by: import` and `import_hash:`, a hash of the rest of the file; a later import
//! overwrites a spec only while that hash still matches, so a spec corrected by hand (or written
//! by hand, like the seed) is never overwritten.

use crate::docs::{self, Page, Param};
pub use crate::reconcile::Evidence;
use crate::spec::ApiVersion;
use serde_json::{Map, Value, json};

/// Base URL of the official (Russian) docs site; page `a/b.md` is `BASE/a/b.html`.
pub const DOCS_BASE: &str = "https://apidocs.bitrix24.ru/";

/// A spec made from one doc page.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The wire name (the file is `<method>.md`).
    pub method: String,
    /// REST 3.0 for a page that says "Метод относится к REST 3.0" or is a `*-rest-v3.md`
    /// page; written as `api: v3`.
    pub api: ApiVersion,
    /// The whole spec file.
    pub text: String,
    /// Irregularities of the page worth telling the user about (1-based page lines).
    pub problems: Vec<docs::Problem>,
}

/// Why a page gave no spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not a method page (no `Scope:` line, or no dotted name in the title): overviews, events.
    NotAMethod,
    /// A method page that cannot be imported, with the reason.
    Unusable(String),
}

/// Builds the spec for the page at `rel_path` (path inside the docs, `/`-separated).
pub fn import_page(rel_path: &str, text: &str) -> Result<Imported, Skip> {
    import_page_in(rel_path, text, None)
}

/// [`import_page`], following links to types defined on other pages through `pages`.
pub fn import_page_in(
    rel_path: &str,
    text: &str,
    pages: Option<docs::Pages>,
) -> Result<Imported, Skip> {
    import_page_with(rel_path, text, pages, None)
}

/// [`import_page_in`], typing keys the page shows only as `null` from the other pages'
/// examples ([`evidence_of`]).
pub fn import_page_with(
    rel_path: &str,
    text: &str,
    pages: Option<docs::Pages>,
    evidence: Option<&Evidence>,
) -> Result<Imported, Skip> {
    let mut page = docs::read_page_in(text, rel_path, pages);
    // The `event.*` method pages (`events/event-bind.md`, …) have no `Scope:` line; the
    // section's overview (`events/index.md`) puts them in the basic scope.
    let events_section = rel_path.starts_with("events/event-");
    if page.scope_line == 0 && !events_section {
        return Err(Skip::NotAMethod);
    }
    let Some((title_line, title)) = page.title.clone() else {
        return Err(Skip::NotAMethod);
    };
    // The title may name other methods too ("… (replaces x.y)"): prefer the one the file is
    // named after.
    let stem = rel_path
        .rsplit('/')
        .next()
        .unwrap_or(rel_path)
        .trim_end_matches(".md")
        .to_ascii_lowercase();
    let mut names = title_names(&title);
    // A single-segment method (`scope`, `profile`) is the title word the file is named after;
    // not on event pages (`…/events/initialized.md` is a widget's event).
    let event_page = rel_path.contains("/events/") || rel_path.starts_with("events/");
    if !names.iter().any(|n| n.contains('.')) && !event_page {
        for w in title.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !w.is_empty() && w.to_ascii_lowercase() == stem && crate::spec::is_wire_name(w) {
                names.insert(0, w.to_owned());
            }
        }
    }
    if events_section && page.scope_line == 0 {
        if !names.iter().any(|n| n.starts_with("event.")) {
            return Err(Skip::NotAMethod);
        }
        page.scopes = vec!["basic".into()];
        page.problems.push(docs::Problem {
            line: title_line,
            message: "no `Scope:` line; scope `basic` from events/index.md".into(),
        });
    }
    let method = names
        .iter()
        .find(|n| n.to_ascii_lowercase().replace(['.', '_'], "-") == stem.replace('_', "-"))
        .or(page.method.as_ref())
        .cloned();
    let Some(method) = method else {
        return Err(Skip::NotAMethod);
    };
    // Event pages (`CATALOG.PRICE.ON.ADD`) name the event in capitals; no REST method is
    // spelt without a lower-case letter.
    if !method.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(Skip::NotAMethod);
    }
    if method.starts_with("BX24.") {
        return Err(Skip::Unusable(
            "a JavaScript SDK function, not a REST method".into(),
        ));
    }
    let scope = page
        .scopes
        .iter()
        .find(|s| *s != "placement")
        .or(page.scopes.first())
        .cloned();
    let Some(scope) = scope else {
        return Err(Skip::Unusable(format!(
            "line {}: the `Scope:` line names no usable scope",
            page.scope_line
        )));
    };
    // A `*-rest-v3.md` page is REST 3.0 by its name too.
    page.rest_v3 |= stem.ends_with("-rest-v3");
    let api = if page.rest_v3 {
        ApiVersion::V3
    } else {
        ApiVersion::Classic
    };
    let text = render(&method, &scope, api, rel_path, &page, evidence);
    Ok(Imported {
        method,
        api,
        text,
        problems: page.problems.clone(),
    })
}

fn title_names(title: &str) -> Vec<String> {
    let p = docs::read_page(&format!("# {title}\n"));
    let mut out = Vec::new();
    for w in title.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')) {
        let w = w.trim_matches('.');
        if w.contains('.') && crate::spec::is_wire_name(w) {
            out.push(w.to_owned());
        }
    }
    if out.is_empty()
        && let Some(m) = p.method
    {
        out.push(m);
    }
    out
}

/// The URL of a docs page.
pub fn docs_url(rel_path: &str) -> String {
    let p = rel_path.strip_suffix(".md").unwrap_or(rel_path);
    format!("{DOCS_BASE}{p}.html")
}

/// The `params` schema of a page.
pub fn params_schema(page: &Page) -> Value {
    let mut s = docs::object_schema(&page.params, true);
    // A request's objects are never one type with a response's (see `share`).
    docs::unname_tables(&mut s);
    if !page.rest_v3 {
        crate::import_params::query_params(&mut s);
    }
    if is_messenger_page(page) {
        mark_dialog_ids(&mut s, 0);
    }
    s
}

/// [`params_schema`] with the examples' spellings ([`crate::import_params::respell`]),
/// reconciled with every request example of the page ([`crate::reconcile`]); the spec's
/// `params`.
pub fn params_reconciled(page: &Page) -> Value {
    let examples: Vec<&Value> = page.requests.iter().map(|e| &e.value).collect();
    let mut s = params_schema(page);
    crate::import_params::respell(&mut s, &examples);
    let mut s = crate::reconcile::request(s, &examples);
    if is_messenger_page(page) {
        mark_dialog_ids(&mut s, 0);
    }
    s
}

/// [`returns_schema`] reconciled with the response example's `result`
/// ([`crate::reconcile`]); the spec's `returns`.
pub fn returns_reconciled(page: &Page, evidence: Option<&Evidence>) -> Value {
    let scope = page
        .method
        .as_deref()
        .and_then(|m| m.split('.').next())
        .unwrap_or("");
    let result = shown_result(page);
    crate::reconcile::result(returns_schema(page), result.as_ref(), scope, evidence)
}

/// The evidence of every method page's examples (see [`Evidence`]), for
/// [`import_page_with`]: `texts` are the pages' texts, in any order.
pub fn evidence_of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Evidence {
    let mut ev = Evidence::default();
    for t in texts {
        let page = docs::read_page(t);
        let Some(method) = page.method.as_deref() else {
            continue;
        };
        let scope = method.split('.').next().unwrap_or("");
        // A `*.fields` / `*.getFields` result is keyed by the entity's field names, holding
        // their descriptors, not their values: what it says is the fields' types.
        let last = method.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        match shown_result(&page) {
            Some(r) if last.contains("fields") => ev.add_fields(scope, &r),
            Some(r) => ev.add(scope, &r),
            None => {}
        }
        for r in &page.requests {
            ev.add(scope, &r.value);
        }
    }
    ev
}

/// The result the page's response example shows: its `result`; nothing for an error
/// envelope; the example itself when the page leaves the envelope out, without the envelope's
/// `time` when it sits beside the result's keys.
pub fn shown_result(page: &Page) -> Option<Value> {
    match page.response.as_ref().map(|e| &e.value) {
        Some(Value::Object(m)) if m.contains_key("result") => m.get("result").cloned(),
        // An error envelope shows no result.
        Some(Value::Object(m)) if m.contains_key("error") => None,
        // A page that leaves the envelope out shows the result itself, at most beside `time`.
        Some(Value::Object(m)) => {
            let mut m = m.clone();
            if m.get("time").is_some_and(|t| t.get("start").is_some()) {
                m.remove("time");
            }
            Some(Value::Object(m))
        }
        other => other.cloned(),
    }
}

/// A page of the messenger's methods (`im.*`, `imbot.*`, `imopenlines.*`, by its method or its
/// `Scope:` line): their `DIALOG_ID` names a chat by the structured text `chat42`, `sg7` or a
/// user id.
fn is_messenger_page(page: &Page) -> bool {
    const SCOPES: &[&str] = &["im", "imbot", "imopenlines"];
    let by_method = page.method.as_deref().is_some_and(|m| {
        SCOPES
            .iter()
            .any(|s| m.strip_prefix(s).is_some_and(|rest| rest.starts_with('.')))
    });
    by_method || page.scopes.iter().any(|s| SCOPES.contains(&s.as_str()))
}

/// Marks every property named `DIALOG_ID`, `dialogId` or `dialog_id` (any case) whose schema
/// is a string, an integer or either with `x-bitrix-type: dialog_id`, in this object and the
/// objects below it (at most 8 levels), so the generator types it `runtime::DialogId`.
fn mark_dialog_ids(schema: &mut Value, depth: usize) {
    if depth > 8 {
        return;
    }
    let scalar = |s: &Value| {
        let kind = |t: &Value| matches!(t.as_str(), Some("string" | "integer"));
        match s.get("type") {
            Some(Value::Array(ts)) => ts.iter().all(|t| kind(t) || t.as_str() == Some("null")),
            Some(t) => kind(t),
            None => false,
        }
    };
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, p) in props.iter_mut() {
            let folded = name.replace('_', "").to_ascii_lowercase();
            if folded == "dialogid" && scalar(p) && p.get("x-bitrix-type").is_none() {
                p["x-bitrix-type"] = json!("dialog_id");
            } else {
                mark_dialog_ids(p, depth + 1);
            }
        }
    }
    if let Some(items) = schema.get_mut("items") {
        mark_dialog_ids(items, depth + 1);
    }
}

/// The `returns` schema of a page: the `result` row of the returned-data table, else the table's
/// rows as the fields of an object, else the shape of the response example's `result`.
pub fn returns_schema(page: &Page) -> Value {
    const ENVELOPE: &[&str] = &["time", "total", "next", "error", "error_description"];
    if let Some(s) = page
        .method
        .as_deref()
        .zip(example_result(page))
        .and_then(|(m, ex)| fields_result(m, ex))
    {
        return s;
    }
    if let Some(r) = page.returned.iter().find(|p| p.name == "result") {
        let mut s = docs::param_schema(r);
        if let Some(ex) = example_result(page) {
            s = fit_example(s, ex);
        }
        // A bare `object` or `array` (a PHP array: a map or a list) takes the example's shape,
        // whichever of the two the example shows.
        let bare = s.get("type").is_none()
            && matches!(
                s.get("x-bitrix-type").and_then(Value::as_str),
                Some("object" | "array")
            );
        if let Some(ex) = example_result(page)
            && ((s.get("type") == Some(&json!("object"))
                && s.get("properties").is_none()
                && s.get("additionalProperties").is_none()
                && ex.is_object())
                || (bare && (ex.is_object() || ex.is_array())))
        {
            s = infer(ex, 0);
        }
        return s;
    }
    let fields: Vec<Param> = page
        .returned
        .iter()
        .filter(|p| !ENVELOPE.contains(&p.name.as_str()))
        .cloned()
        .collect();
    if !fields.is_empty() {
        // Rows listing the result's fields: only when the example's result is an object.
        match example_result(page) {
            Some(Value::Object(_)) | None => return docs::object_schema(&fields, false),
            Some(ex) => return infer(ex, 0),
        }
    }
    match example_result(page) {
        Some(ex) => infer(ex, 0),
        None => json!({}),
    }
}

/// A field descriptor, the value type of every `*.fields` result map: the field's type, title,
/// flags, and its type-specific extras (kept in the open map).
fn field_descriptor() -> Value {
    let flag = json!({"type": "boolean"});
    json!({
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string", "nullable": true},
            "isRequired": flag,
            "isReadOnly": flag,
            "isImmutable": flag,
            "isMultiple": flag,
            "isDynamic": flag,
            "upperName": {"type": "string"},
            "formLabel": {"type": "string"},
            "listLabel": {"type": "string"},
            "filterLabel": {"type": "string"},
        },
        "additionalProperties": true,
        "x-bitrix-type": "field_descriptor",
    })
}

/// Whether every value of `m` is a field descriptor: an object with a string `type` and a
/// `title` or an `is…` flag.
fn descriptor_map(m: &Map<String, Value>) -> bool {
    !m.is_empty()
        && m.values().all(|v| {
            v.get("type").is_some_and(Value::is_string)
                && (v.get("title").is_some()
                    || v.get("isRequired").is_some()
                    || v.get("isReadOnly").is_some())
        })
}

/// The result of a `*.fields` / `*.getFields` / `*.getFieldsByFilter` method, when its example
/// shows what it is: a map of field descriptors, such a map under one key
/// (`{"fields": {…}}`, `{"product": {…}}`), or a map of field titles (`user.fields`). The
/// returned-data table of these pages lists the entity's fields, not the result's shape.
fn fields_result(method: &str, ex: &Value) -> Option<Value> {
    let last = method.rsplit('.').next()?.to_ascii_lowercase();
    if !matches!(last.as_str(), "fields" | "getfields" | "getfieldsbyfilter") {
        return None;
    }
    let m = ex.as_object()?;
    let map_of = |v: Value| json!({"type": "object", "additionalProperties": v});
    if descriptor_map(m) {
        return Some(map_of(field_descriptor()));
    }
    if m.len() == 1
        && let Some((k, Value::Object(inner))) = m.iter().next()
        && descriptor_map(inner)
    {
        return Some(json!({
            "type": "object",
            "properties": {k.clone(): map_of(field_descriptor())},
            "additionalProperties": true,
        }));
    }
    if !m.is_empty() && m.values().all(Value::is_string) {
        return Some(map_of(json!({"type": "string"})));
    }
    None
}

/// Reconciles the `result` row's schema with the response example where they disagree on
/// kind: the docs write a reference type (`user[]`, `crm_currency`) for a result that is the
/// object itself, or an object type for a result that is a list of them. The example is the
/// page's evidence of the wire; agreeing schemas are kept as they are.
fn fit_example(s: Value, ex: &Value) -> Value {
    let kind = s.get("type").and_then(Value::as_str);
    let scalar = |k: Option<&str>| matches!(k, Some("integer" | "number" | "string" | "boolean"));
    let objects = |v: &Value| match v {
        Value::Array(a) => !a.is_empty() && a.iter().all(Value::is_object),
        _ => false,
    };
    match kind {
        Some("object") if objects(ex) => json!({"type": "array", "items": s}),
        k if scalar(k) && (ex.is_object() || objects(ex)) => infer(ex, 0),
        Some("array")
            if scalar(
                s.get("items")
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str),
            ) && objects(ex) =>
        {
            infer(ex, 0)
        }
        _ => s,
    }
}

fn example_result(page: &Page) -> Option<&Value> {
    let v = &page.response.as_ref()?.value;
    v.as_object()?.get("result")
}

/// The loose shape of an example value: scalars by kind, objects with their keys (two levels),
/// arrays with the shape of their first item. Every property optional; `null` is any value.
pub(crate) fn infer(v: &Value, depth: usize) -> Value {
    match v {
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => match items.first() {
            Some(first) if depth < 2 && items.iter().all(|i| same_kind(i, first)) => {
                json!({"type": "array", "items": infer(first, depth + 1)})
            }
            _ => json!({"type": "array"}),
        },
        Value::Object(m) => {
            if depth >= 2 || m.is_empty() || m.keys().any(|k| k.parse::<i64>().is_ok()) {
                return json!({"type": "object"});
            }
            let mut props = Map::new();
            // Placeholders and one portal's custom fields stay in the open map.
            for (k, x) in m.iter().filter(|(k, _)| crate::reconcile::is_name_key(k)) {
                props.insert(k.clone(), infer(x, depth + 1));
            }
            json!({"type": "object", "properties": props, "additionalProperties": true})
        }
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn pages(page: &Page) -> bool {
    page.params.iter().any(|p| p.name == "start")
        || page.returned.iter().any(|p| p.name == "next")
        || page
            .response
            .as_ref()
            .and_then(|r| r.value.as_object())
            .is_some_and(|o| o.contains_key("total"))
}

/// JSON as YAML flow: pretty-printed, continuation lines indented by two spaces.
pub(crate) fn flow(v: &Value) -> String {
    let text =
        serde_json::to_string_pretty(&crate::json::sorted(v)).unwrap_or_else(|_| "{}".to_owned());
    text.replace('\n', "\n  ")
}

pub(crate) fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn render(
    method: &str,
    scope: &str,
    api: ApiVersion,
    rel_path: &str,
    page: &Page,
    evidence: Option<&Evidence>,
) -> String {
    let mut out = String::from("---\n");
    out.push_str(&format!("method: {method}\n"));
    out.push_str(&format!("scope: {scope}\n"));
    // Classic is the default and stays unwritten, so classic specs keep their bytes.
    if api == ApiVersion::V3 {
        out.push_str("api: v3\n");
    }
    out.push_str(&format!("deprecated: {}\n", page.deprecated));
    let aliases: Vec<String> = page
        .aliases
        .iter()
        .filter(|a| a.as_str() != method && crate::spec::is_wire_name(a))
        .map(|a| yaml_str(a))
        .collect();
    out.push_str(&format!("aliases: [{}]\n", aliases.join(", ")));
    out.push_str(&format!(
        "pagination: {}\n",
        if pages(page) { "start" } else { "none" }
    ));
    out.push_str(&format!(
        "docs: {}\n",
        yaml_str(&docs_url(&format!("api-reference/{rel_path}")))
    ));
    let errors: Vec<String> = page.errors.iter().map(|e| yaml_str(e)).collect();
    out.push_str(&format!("errors: [{}]\n", errors.join(", ")));
    out.push_str(&format!("params: {}\n", flow(&params_reconciled(page))));
    out.push_str(&format!(
        "returns: {}\n",
        flow(&returns_reconciled(page, evidence))
    ));
    out.push_str("generated_by: import\n");
    let hash = content_hash(&format!("{out}---\n"));
    out.push_str(&format!("import_hash: \"{hash:016x}\"\n"));
    out.push_str("---\n");
    out
}

/// The text of a type spec the share pass made (`specs/types/<name>.md`, see
/// [`crate::share`]): deterministic, `generated_by: import` and an `import_hash` like a method
/// spec.
pub fn render_type(name: &str, scope: &str, docs: Option<&str>, schema: &Value) -> String {
    let mut out = String::from("---\n");
    out.push_str(&format!("type: {name}\n"));
    out.push_str(&format!("scope: {scope}\n"));
    if let Some(d) = docs {
        out.push_str(&format!("docs: {}\n", yaml_str(d)));
    }
    out.push_str(&format!("schema: {}\n", flow(schema)));
    out.push_str("generated_by: import\n");
    let hash = content_hash(&format!("{out}---\n"));
    out.push_str(&format!("import_hash: \"{hash:016x}\"\n"));
    out.push_str("---\n");
    out
}

/// FNV-1a 64 of a spec's text without its `import_hash:` line.
pub fn content_hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for line in text.split_inclusive('\n') {
        if line.starts_with("import_hash:") {
            continue;
        }
        for b in line.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Whether a spec file is still exactly what import wrote (so a new import may replace it):
/// it carries `generated_by: import` and an `import_hash` that matches its content.
pub fn untouched(text: &str) -> bool {
    let mut marker = false;
    let mut stored = None;
    for line in text.lines() {
        if line.trim_end() == "generated_by: import" {
            marker = true;
        }
        if let Some(rest) = line.strip_prefix("import_hash:") {
            stored = u64::from_str_radix(rest.trim().trim_matches('"'), 16).ok();
        }
    }
    let text = text.replace("\r\n", "\n");
    marker && stored == Some(content_hash(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Получить x.thing.list\n\n> Scope: [`crm`](x)\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **filter**\n[`object`](x) | x ||\n|| **start**\n[`integer`](x) | x ||\n|#\n\n## Обработка ответа\n\n```json\n{\"result\": [{\"ID\": \"1\", \"N\": 2}], \"total\": 1, \"time\": {}}\n```\n\n## Обработка ошибок\n\n#|\n|| **Код** | **Описание** ||\n|| `E1` | x ||\n|#\n";

    #[test]
    fn a_page_becomes_a_fact_only_spec() {
        let i = import_page("crm/x-thing-list.md", PAGE).expect("imported");
        assert_eq!(i.method, "x.thing.list");
        let src = crate::spec::SourceFile {
            path: "specs/x.thing.list.md".into(),
            text: i.text.clone(),
        };
        let mut d = crate::diag::Diagnostics::default();
        let spec = crate::spec::parse(&src, &mut d).expect("the spec parses");
        assert!(d.0.is_empty(), "{d}");
        assert_eq!(spec.scope, "crm");
        assert_eq!(spec.pagination, crate::spec::Pagination::Start);
        assert_eq!(spec.errors, ["E1"]);
        assert_eq!(
            spec.docs.as_deref(),
            Some("https://apidocs.bitrix24.ru/api-reference/crm/x-thing-list.html")
        );
        assert!(untouched(&i.text));
        // No prose: the page's descriptions are all "x"; no Cyrillic reaches the spec.
        assert!(
            !i.text.chars().any(|c| ('а'..='я').contains(&c)),
            "{}",
            i.text
        );
        // Deterministic.
        assert_eq!(
            import_page("crm/x-thing-list.md", PAGE).map(|x| x.text),
            Ok(i.text)
        );
    }

    const V3_PAGE: &str = "# Получить x.thing.get\n\n> Scope: [`tasks`](x)\n\n{% note info \"\" %}\n\nМетод относится к REST 3.0. Особенности вызова описаны в [обзоре](../rest-v3.md).\n\n{% endnote %}\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **id***\n[`integer`](x) | x ||\n|#\n";

    fn parsed(i: &Imported) -> crate::spec::Spec {
        let src = crate::spec::SourceFile {
            path: format!("specs/{}.md", i.method),
            text: i.text.clone(),
        };
        let mut d = crate::diag::Diagnostics::default();
        let spec = crate::spec::parse(&src, &mut d).expect("the spec parses");
        assert!(d.0.is_empty(), "{d}");
        spec
    }

    #[test]
    fn a_rest_v3_page_gets_the_marker() {
        let i = import_page("tasks/x-thing-get.md", V3_PAGE).expect("imported");
        assert_eq!(i.api, ApiVersion::V3);
        assert!(i.text.contains("\napi: v3\n"), "{}", i.text);
        assert_eq!(parsed(&i).api, ApiVersion::V3);
        assert!(untouched(&i.text));
        // Without the note, a classic page: no `api` line at all.
        let classic = V3_PAGE.replace("Метод относится к REST 3.0", "Метод");
        let c = import_page("tasks/x-thing-get.md", &classic).expect("imported");
        assert_eq!(c.api, ApiVersion::Classic);
        assert!(!c.text.contains("api:"), "{}", c.text);
        assert_eq!(parsed(&c).api, ApiVersion::Classic);
        // A `*-rest-v3.md` page is REST 3.0 by its name too.
        let n = import_page("tasks/x-thing-get-rest-v3.md", &classic).expect("imported");
        assert_eq!((n.method.as_str(), n.api), ("x.thing.get", ApiVersion::V3));
        // The note counts only as a line of its own, not quoted inside a sentence.
        let quoted = classic.replace(
            "## Параметры",
            "См. «Метод относится к REST 3.0».\n\n## Параметры",
        );
        assert_eq!(
            import_page("tasks/x-thing-get.md", &quoted).map(|i| i.api),
            Ok(ApiVersion::Classic)
        );
    }

    #[test]
    fn an_edited_spec_is_not_untouched() {
        let i = import_page("crm/x-thing-list.md", PAGE).expect("imported");
        assert!(!untouched(&i.text.replace("crm\n", "crm2\n")));
        assert!(!untouched(&i.text.replace("generated_by: import\n", "")));
        assert!(!untouched("---\nmethod: a.b\nscope: a\n---\n"));
    }

    #[test]
    fn returns_inferred_from_the_example() {
        let page = docs::read_page(PAGE);
        assert_eq!(
            returns_schema(&page),
            json!({"type": "array", "items": {"type": "object", "properties": {"ID": {"type": "string"}, "N": {"type": "integer"}}, "additionalProperties": true}})
        );
    }

    #[test]
    fn inferred_objects_leave_placeholders_to_the_open_map() {
        let ex = json!({"ID": "1", "UF_CRM_1720019876534": "x", "parentId1222": 5, "UF_CRM_...": 1, "UF_DEPARTMENT": [1]});
        assert_eq!(
            infer(&ex, 0),
            json!({"type": "object", "properties": {"ID": {"type": "string"}, "UF_DEPARTMENT": {"type": "array", "items": {"type": "integer"}}}, "additionalProperties": true})
        );
    }

    #[test]
    fn types_on_other_pages_are_followed() {
        let table =
            |rows: &str| format!("#|\n|| **Название**\n`тип` | **Описание** ||\n{rows}|#\n");
        let get = format!(
            "# Get x.deal.get\n\n> Scope: [`crm`](x)\n\n## Обработка ответа\n\n### Возвращаемые данные\n\n{}\n### deal\n\n{}",
            table("|| **result**\n[`deal`](#deal) | x ||\n"),
            table(
                "|| **ID**\n`integer` | x ||\n|| **FM**\n[`multi[]`](../other/types.md#multi) | x ||\n"
            ),
        );
        let types = format!(
            "# Types\n\n## Тип multi {{#multi}}\n\n{}",
            table("|| **VALUE**\n`string` | x ||\n")
        );
        let list = format!(
            "# List x.deal.list\n\n> Scope: [`crm`](x)\n\n## Обработка ответа\n\n### Возвращаемые данные\n\n{}",
            table("|| **result**\n[`deal[]`](./x-deal-get.md#deal) | x ||\n"),
        );
        let pages = |p: &str| match p {
            "crm/deals/x-deal-get.md" => Some(get.clone()),
            "crm/other/types.md" => Some(types.clone()),
            _ => None,
        };
        let l = import_page_in("crm/deals/x-deal-list.md", &list, Some(&pages)).expect("imported");
        let want = json!({"type": "array", "items": {"type": "object", "properties": {
            "ID": {"type": "integer"},
            "FM": {"type": "array", "items": {"type": "object", "properties": {"VALUE": {"type": "string"}}, "additionalProperties": true, "x-bitrix-type": "multi"}}
        }, "additionalProperties": true, "x-bitrix-type": "deal"}});
        assert_eq!(
            returns_schema(&docs::read_page_in(
                &list,
                "crm/deals/x-deal-list.md",
                Some(&pages)
            )),
            want
        );
        // The spec it writes parses.
        parsed(&l);
        // The get page reads its own table and the linked one.
        assert_eq!(
            returns_schema(&docs::read_page_in(
                &get,
                "crm/deals/x-deal-get.md",
                Some(&pages)
            )),
            want["items"]
        );
        // Without the other pages, a link elsewhere leaves the named type as it was.
        assert_eq!(
            returns_schema(&docs::read_page(&list)),
            json!({"type": "array", "items": {"x-bitrix-type": "deal"}})
        );
    }

    /// A get page's result of a named type (`Тип deal {#deal}`), a list page linking to it and
    /// an add page whose `fields` row links to it too: after the share pass the get's result
    /// and the list's rows are one type `crm.deal`, and the request keeps its own object.
    #[test]
    fn a_named_result_type_is_one_type_for_get_and_list() {
        let table =
            |rows: &str| format!("#|\n|| **Название**\n`тип` | **Описание** ||\n{rows}|#\n");
        let deal = table("|| **ID**\n`integer` | x ||\n|| **TITLE**\n`string` | x ||\n");
        let get = format!(
            "# Get crm.deal.get\n\n> Scope: [`crm`](x)\n\n## Обработка ответа\n\n### Возвращаемые данные\n\n{}\n#### Тип deal {{#deal}}\n\n{deal}",
            table("|| **result**\n[`deal`](#deal) | x ||\n"),
        );
        let list = format!(
            "# List crm.deal.list\n\n> Scope: [`crm`](x)\n\n## Обработка ответа\n\n### Возвращаемые данные\n\n{}",
            table("|| **result**\n[`deal[]`](crm-deal-get.md#deal) | x ||\n"),
        );
        let add = format!(
            "# Add crm.deal.add\n\n> Scope: [`crm`](x)\n\n## Параметры метода\n\n{}",
            table("|| **fields**\n[`deal`](crm-deal-get.md#deal) | x ||\n"),
        );
        let pages = |p: &str| (p == "crm/deals/crm-deal-get.md").then(|| get.clone());
        let import = |rel: &str, text: &str| {
            let i = import_page_in(rel, text, Some(&pages)).expect("imported");
            crate::share::Text {
                owner: format!("method:{}", i.method),
                text: i.text,
            }
        };
        let texts = [
            import("crm/deals/crm-deal-get.md", &get),
            import("crm/deals/crm-deal-list.md", &list),
            import("crm/deals/crm-deal-add.md", &add),
        ];
        // Before the share pass the objects carry the docs' name, the request's do not.
        let field = |t: &str, f: &str| crate::share::field(t, f).expect("field");
        assert_eq!(
            field(&texts[0].text, "returns")["x-bitrix-type"],
            json!("deal")
        );
        assert_eq!(
            field(&texts[1].text, "returns")["items"]["x-bitrix-type"],
            json!("deal")
        );
        let add_params = field(&texts[2].text, "params");
        assert_eq!(
            add_params["properties"]["fields"]["properties"]["ID"],
            json!({"type": "integer"})
        );
        assert!(
            add_params["properties"]["fields"]
                .get("x-bitrix-type")
                .is_none()
        );
        let (out, types) = crate::share::share_texts(&texts);
        assert_eq!(
            types.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
            ["crm.deal"]
        );
        assert_eq!(field(&out[0], "returns"), json!({"$ref": "types/crm.deal"}));
        assert_eq!(
            field(&out[1], "returns"),
            json!({"type": "array", "items": {"$ref": "types/crm.deal"}})
        );
        assert_eq!(field(&out[2], "params"), add_params);
    }

    #[test]
    fn fields_results_are_maps_of_descriptors() {
        let d = json!({"type": "string", "isRequired": false, "isReadOnly": true, "title": "ID"});
        let map = fields_result("crm.deal.fields", &json!({"ID": d, "TITLE": d})).expect("a map");
        assert_eq!(map["type"], json!("object"));
        assert_eq!(map["additionalProperties"], field_descriptor());
        assert!(map.get("properties").is_none());
        // Under one key.
        let wrapped = fields_result(
            "catalog.product.getFieldsByFilter",
            &json!({"product": {"id": d}}),
        )
        .expect("a wrapped map");
        assert_eq!(
            wrapped["properties"]["product"]["additionalProperties"],
            field_descriptor()
        );
        // Titles only.
        assert_eq!(
            fields_result("user.fields", &json!({"ID": "ID", "NAME": "Имя"})),
            Some(json!({"type": "object", "additionalProperties": {"type": "string"}}))
        );
        // Other methods, and examples that are not descriptor maps, are left alone.
        assert_eq!(fields_result("crm.deal.get", &json!({"ID": d})), None);
        assert_eq!(
            fields_result("crm.deal.fields", &json!({"ID": {"x": 1}})),
            None
        );
        assert_eq!(fields_result("crm.deal.fields", &json!([d])), None);
    }

    #[test]
    fn a_bare_object_result_takes_the_examples_shape() {
        let page = |ty: &str, ex: &str| {
            docs::read_page(&format!(
                "# Get x.y.list\n\n## Обработка ответа\n\n```json\n{{\"result\": {ex}}}\n```\n\n### Возвращаемые данные\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **result**\n`{ty}` | x ||\n|#\n"
            ))
        };
        let list = json!({"type": "array", "items": {"type": "object", "properties": {"ID": {"type": "string"}}, "additionalProperties": true}});
        assert_eq!(returns_schema(&page("object", "[{\"ID\": \"1\"}]")), list);
        assert_eq!(returns_schema(&page("array", "[{\"ID\": \"1\"}]")), list);
        assert_eq!(
            returns_schema(&page("object", "{\"ID\": \"1\"}")),
            list["items"]
        );
        // Without an example it stays any JSON.
        let none = docs::read_page(
            "# Get x.y.list\n\n## Обработка ответа\n\n### Возвращаемые данные\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **result**\n`object` | x ||\n|#\n",
        );
        assert_eq!(returns_schema(&none), json!({"x-bitrix-type": "object"}));
    }

    #[test]
    fn the_example_decides_between_an_id_and_the_object() {
        let obj = json!({"type": "object", "properties": {"ID": {"type": "integer"}}, "additionalProperties": true});
        // An object type for a list of objects: a list of it.
        assert_eq!(
            fit_example(obj.clone(), &json!([{"ID": 1}])),
            json!({"type": "array", "items": obj})
        );
        // A reference id (`user[]`, `crm_currency`) for objects: the example's shape.
        assert_eq!(
            fit_example(
                json!({"type": "array", "items": {"type": "integer"}}),
                &json!([{"ID": 1}])
            ),
            infer(&json!([{"ID": 1}]), 0)
        );
        assert_eq!(
            fit_example(json!({"type": "string"}), &json!({"CURRENCY": "RUB"})),
            infer(&json!({"CURRENCY": "RUB"}), 0)
        );
        // Agreeing kinds are kept.
        assert_eq!(fit_example(obj.clone(), &json!({"ID": 1})), obj);
        assert_eq!(
            fit_example(json!({"type": "integer"}), &json!(5)),
            json!({"type": "integer"})
        );
    }

    #[test]
    fn non_method_pages_are_skipped() {
        assert_eq!(
            import_page("a.md", "# Обзор\n> Scope: [`crm`](x)\n"),
            Err(Skip::NotAMethod)
        );
        assert_eq!(import_page("a.md", "# x.y.z\n"), Err(Skip::NotAMethod));
        // An event page: its name is all capitals.
        assert_eq!(
            import_page(
                "events/catalog-price-on-add.md",
                "# Событие CATALOG.PRICE.ON.ADD\n> Scope: [`catalog`](x)\n"
            ),
            Err(Skip::NotAMethod)
        );
        assert!(matches!(
            import_page("a.md", "# x.y\n> Scope: [`Плохо`](x)\n"),
            Err(Skip::Unusable(_))
        ));
        // A page outside `events/` without a `Scope:` line is still no method page.
        assert_eq!(
            import_page("a/event-bind.md", "# Bind event.bind\n"),
            Err(Skip::NotAMethod)
        );
    }

    #[test]
    fn event_methods_and_single_segment_methods() {
        let bind = import_page(
            "events/event-bind.md",
            "# Зарегистрировать event.bind\n\n> Кто может выполнять метод: любой\n",
        )
        .unwrap();
        assert_eq!(bind.method, "event.bind");
        assert!(bind.text.contains("scope: basic"), "{}", bind.text);
        assert!(
            bind.problems
                .iter()
                .any(|p| p.message.contains("events/index.md"))
        );
        // An events page that names no `event.*` method (an overview) is not one.
        assert_eq!(
            import_page("events/event-overview.md", "# Обзор событий\n"),
            Err(Skip::NotAMethod)
        );
        let scope = import_page(
            "common/system/scope.md",
            "# Получить список доступных разрешений scope\n> Scope: [`базовый`](x)\n",
        )
        .unwrap();
        assert_eq!(scope.method, "scope");
        assert_eq!(
            import_page(
                "widgets/x/events/initialized.md",
                "# Событие initialized\n> Scope: [`telephony`](x)\n"
            ),
            Err(Skip::NotAMethod)
        );
        assert!(scope.text.contains("method: scope\n"), "{}", scope.text);
    }
}

#[cfg(test)]
mod dialog_id_tests {
    use super::*;
    use crate::schema;

    const IM_PAGE: &str = "# Отправить im.thing.send\n\n> Scope: [`im`](x)\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **DIALOG_ID***\n[`string`](x) | x ||\n|| **MESSAGE**\n[`string`](x) | x ||\n|| **CHAT_ID**\n[`integer`](x) | x ||\n|#\n\n## Обработка ответа\n\n```json\n{\"result\": true, \"time\": {}}\n```\n";

    fn params_of(rel: &str, text: &str) -> Value {
        let i = import_page(rel, text).expect("imported");
        let start = i.text.find("\nparams: ").expect("a params key") + "\nparams: ".len();
        let end = i.text.find("\nreturns: ").expect("a returns key");
        serde_json::from_str(&i.text[start..end]).expect("params is JSON")
    }

    #[test]
    fn a_messenger_pages_dialog_id_is_marked_and_other_pages_are_not() {
        let p = params_of("chats/im-thing-send.md", IM_PAGE);
        assert_eq!(
            p["properties"]["DIALOG_ID"],
            json!({"type": "string", "x-bitrix-type": "dialog_id"})
        );
        assert_eq!(p["properties"]["MESSAGE"], json!({"type": "string"}));
        assert_eq!(p["properties"]["CHAT_ID"], json!({"type": "integer"}));
        // camelCase, as the imbot.v2 pages write it.
        let camel = IM_PAGE.replace("**DIALOG_ID***", "**dialogId***");
        let p = params_of("chats/im-thing-send.md", &camel);
        assert_eq!(
            p["properties"]["dialogId"]["x-bitrix-type"],
            json!("dialog_id")
        );
        // An object or list named so keeps its own shape.
        let object = IM_PAGE.replace(
            "[`string`](x) | x ||\n|| **MESSAGE**",
            "[`object`](x) | x ||\n|| **MESSAGE**",
        );
        let p = params_of("chats/im-thing-send.md", &object);
        assert_ne!(
            p["properties"]["DIALOG_ID"]["x-bitrix-type"],
            json!("dialog_id")
        );
        // Another scope's page keeps a plain string.
        let crm = IM_PAGE
            .replace("im.thing.send", "crm.thing.send")
            .replace("[`im`]", "[`crm`]");
        let p = params_of("crm/crm-thing-send.md", &crm);
        assert_eq!(p["properties"]["DIALOG_ID"], json!({"type": "string"}));
    }

    #[test]
    fn the_mark_reaches_the_generated_type() {
        let i = import_page("chats/im-thing-send.md", IM_PAGE).expect("imported");
        let src = crate::spec::SourceFile {
            path: "specs/im.thing.send.md".into(),
            text: i.text,
        };
        let mut d = crate::diag::Diagnostics::default();
        let spec = crate::spec::parse(&src, &mut d).expect("the spec parses");
        let schema::Kind::Object(o) = &spec.params.root.kind else {
            panic!("params is an object");
        };
        let dialog = o.properties.iter().find(|p| p.name == "DIALOG_ID").unwrap();
        assert_eq!(
            dialog.schema.runtime_type(),
            Some(schema::RuntimeType::DialogId)
        );
    }
}
