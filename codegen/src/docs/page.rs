//! One page read into a [`Page`]: title and method, scopes, deprecation, aliases, the
//! parameter and returned-data tables with their nested tables, error codes, and the response
//! and request examples.

use super::literal::{parse_json_loose, request_examples};
use super::scan::{Doc, Heading, Table, backtick_spans, plain, scan};
use super::types::{is_named_doc_type, is_object_doc_type, is_scalar_doc_type, type_parts};
use super::{Example, Page, Param, Problem};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The other pages of the docs, for types a page links to (`crm-deal-get.md#deal`): the text
/// of a page by its path inside `api-reference/` (`crm/deals/crm-deal-get.md`).
pub type Pages<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where a table is read: the page's path inside `api-reference/` and the other pages.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    rel: &'a str,
    pages: Option<Pages<'a>>,
    /// Whether a description's plain link to another page may give rows (parameters only:
    /// a result row linking to the method that takes the fields is not their output shape).
    linked: bool,
}

/// Reads one page (a doc page or a spec body). Never panics; irregularities become problems.
pub fn read_page(text: &str) -> Page {
    read_page_in(text, "", None)
}

/// [`read_page`] for the page at `rel` (inside `api-reference/`), following links to types
/// defined on other pages through `pages`.
pub fn read_page_in(text: &str, rel: &str, pages: Option<Pages>) -> Page {
    let ctx = Ctx {
        rel,
        pages,
        linked: true,
    };
    let doc = scan(text);
    let mut page = Page::default();
    let mut problems = Vec::new();

    // Title and method.
    if let Some(h) = doc.headings.iter().find(|h| h.level == 1) {
        page.title = Some((h.line, h.text.clone()));
        page.method = dotted_names(&h.text).pop();
    }

    // Scope line: `> Scope: [`crm`](…)`, possibly several scopes in one span or several spans.
    for (i, l) in doc.lines.iter().enumerate() {
        let t = l.trim_start_matches(['>', ' ']).trim_start();
        if let Some(rest) = t.strip_prefix("Scope:") {
            page.scope_line = i + 1;
            let spans = backtick_spans(rest);
            let raw: Vec<String> = if spans.is_empty() {
                vec![plain(rest)]
            } else {
                spans
            };
            for s in raw {
                for part in s.split(',') {
                    let p = part.trim();
                    let p = if p == "базовый" { "basic" } else { p };
                    if crate::spec::is_scope(p) {
                        if !page.scopes.iter().any(|x| x == p) {
                            page.scopes.push(p.to_owned());
                        }
                    } else if !p.is_empty() {
                        problems.push(Problem {
                            line: i + 1,
                            message: "a scope on the `Scope:` line is not a scope name".into(),
                        });
                    }
                }
            }
            break;
        }
    }

    // Deprecation notes.
    for l in &doc.lines {
        let low = l.to_lowercase();
        if (low.contains("{% note") && low.contains("deprecated"))
            || low.contains("развитие метода остановлено")
            || low.contains("метод устарел")
        {
            page.deprecated = true;
            break;
        }
    }

    // REST 3.0 note: "Метод относится к REST 3.0. …" at the start of a line.
    page.rest_v3 = doc.lines.iter().any(|l| {
        l.trim_start_matches(['>', ' '])
            .trim_start()
            .starts_with("Метод относится к REST 3.0")
    });

    // Aliases: "`old` — алиас метода `new`" and "синоним `short`".
    if let Some(m) = &page.method {
        for l in &doc.lines {
            let low = l.to_lowercase();
            if !(low.contains("алиас") || low.contains("синоним")) {
                continue;
            }
            let spans: Vec<String> = backtick_spans(l)
                .into_iter()
                .filter(|s| crate::spec::is_wire_name(s))
                .collect();
            if !spans.iter().any(|s| s == m) && !low.contains("синоним") {
                continue;
            }
            for s in spans {
                if &s != m && !page.aliases.contains(&s) && !s.contains("..") {
                    page.aliases.push(s);
                }
            }
        }
    }

    // Sections.
    let section_of = |line: usize| -> Option<&Heading> {
        doc.headings
            .iter()
            .rev()
            .find(|h| h.line < line && h.level <= 2)
    };
    let sub_of =
        |line: usize| -> Option<&Heading> { doc.headings.iter().rev().find(|h| h.line < line) };

    // The parameter table: the first parameter-like table in a section about parameters.
    let mut used_tables = BTreeSet::new();
    for (ti, t) in doc.tables.iter().enumerate() {
        let Some(sec) = section_of(t.line) else {
            continue;
        };
        let low = sec.text.to_lowercase();
        if !(low.contains("параметр") || low.contains("поля")) || low.contains("возвращ")
        {
            continue;
        }
        if is_param_table(t) {
            page.params_line = t.line;
            page.params = rows_to_params(&doc, ti, &mut used_tables, &mut problems, 0, ctx);
            break;
        }
    }
    // A `### Дополнительные параметры` table in the parameter section adds its rows
    // (`event.offline.get`: `clear`, `process_id`, `auth_connector`, `error`).
    if page.params_line != 0 {
        for (ti, t) in doc.tables.iter().enumerate() {
            let extra = sub_of(t.line).is_some_and(|h| {
                h.level > 2 && h.text.to_lowercase().contains("дополнительные параметры")
            });
            if extra && t.line > page.params_line && !used_tables.contains(&ti) && is_param_table(t)
            {
                let more = rows_to_params(&doc, ti, &mut used_tables, &mut problems, 0, ctx);
                for p in more {
                    if !page.params.iter().any(|q| q.name == p.name) {
                        page.params.push(p);
                    }
                }
            }
        }
    }
    if page.params_line == 0 {
        // Irregular page: no heading before the table. Take the first parameter-like table
        // before any response section.
        for (ti, t) in doc.tables.iter().enumerate() {
            let sec_h = section_of(t.line).filter(|h| h.level > 1);
            let sec = sec_h.map(|h| h.text.to_lowercase());
            let resp = sec
                .as_deref()
                .is_some_and(|s| s.contains("ответ") || s.contains("ошиб") || s.contains("пример"));
            if !resp && is_param_table(t) && sec_h.is_none() {
                problems.push(Problem {
                    line: t.line,
                    message: "the parameter table has no section heading before it".into(),
                });
                page.params_line = t.line;
                page.params = rows_to_params(&doc, ti, &mut used_tables, &mut problems, 0, ctx);
                break;
            }
        }
    }

    // The returned-data table.
    for (ti, t) in doc.tables.iter().enumerate() {
        let Some(h) = sub_of(t.line) else { continue };
        if h.text.to_lowercase().contains("возвращаемые данные") && is_param_table(t)
        {
            let ctx = Ctx {
                linked: false,
                ..ctx
            };
            page.returned = rows_to_params(&doc, ti, &mut BTreeSet::new(), &mut problems, 0, ctx);
            break;
        }
    }

    // Error codes: tables with a `Код` column in a section about errors.
    let mut seen = BTreeSet::new();
    for t in &doc.tables {
        let Some(sec) = section_of(t.line) else {
            continue;
        };
        let in_errors = sec.text.to_lowercase().contains("ошиб")
            || sub_of(t.line).is_some_and(|h| h.text.to_lowercase().contains("ошиб"));
        if !in_errors {
            continue;
        }
        let Some(header) = t.rows.first() else {
            continue;
        };
        let Some(col) = header
            .cells
            .iter()
            .position(|c| plain(c).to_lowercase() == "код")
        else {
            continue;
        };
        if page.errors_line == 0 {
            page.errors_line = t.line;
        }
        for r in t.rows.iter().skip(1) {
            let Some(cell) = r.cells.get(col) else {
                problems.push(Problem {
                    line: r.line,
                    message: "an error-table row has fewer cells than its header".into(),
                });
                continue;
            };
            let spans = backtick_spans(cell);
            let code = spans.first().cloned().unwrap_or_else(|| plain(cell));
            if is_code(&code) && seen.insert(code.clone()) {
                page.errors.push(code);
            }
        }
    }

    // REST 3.0 pages name their codes in lines of their own: "Код ошибки: `BITRIX_…`".
    for (i, l) in doc.lines.iter().enumerate() {
        let Some(rest) = l.trim_start().strip_prefix("Код ошибки:") else {
            continue;
        };
        for code in backtick_spans(rest) {
            if is_code(&code) && seen.insert(code.clone()) {
                if page.errors_line == 0 {
                    page.errors_line = i + 1;
                }
                page.errors.push(code);
            }
        }
    }

    // The success-response example: the first JSON block in a response section.
    for b in &doc.code {
        let Some(sec) = section_of(b.line) else {
            continue;
        };
        let low = sec.text.to_lowercase();
        let response = (low.contains("ответ") || low.contains("результат"))
            && !low.contains("ошиб")
            && !low.contains("пример");
        if !response || !(b.lang.is_empty() || b.lang == "json") {
            continue;
        }
        match parse_json_loose(&b.text) {
            Ok(v) => {
                page.response = Some(Example {
                    line: b.line,
                    kind: "response",
                    value: v,
                });
            }
            Err(e) => problems.push(Problem {
                line: b.line,
                message: format!("the response example is not JSON: {e}"),
            }),
        }
        break;
    }

    // Request examples.
    if let Some(m) = page.method.clone() {
        for b in &doc.code {
            let sec = section_of(b.line).map(|h| h.text.to_lowercase());
            if !sec.as_deref().is_some_and(|s| s.contains("пример")) {
                continue;
            }
            for (kind, found) in request_examples(&b.text, &b.lang, &m) {
                match found {
                    Ok(v) => page.requests.push(Example {
                        line: b.line,
                        kind,
                        value: v,
                    }),
                    Err(e) => problems.push(Problem {
                        line: b.line,
                        message: format!("a {kind} request example was not read: {e}"),
                    }),
                }
            }
        }
    }

    problems.sort();
    problems.dedup();
    page.problems = problems;
    page
}

/// The parameter tables after the heading at `line` and before the next heading whose
/// indexes `free` accepts: the first one, or, below the parameter table (`in_params`), every
/// one when the section gives them as `{% list tabs %}` alternatives (one table per variant;
/// elsewhere such a section gives none). Empty when the first free table is not a parameter
/// table.
fn table_under(
    doc: &Doc,
    line: usize,
    free: impl Fn(usize) -> bool,
    in_params: bool,
) -> Vec<usize> {
    let next = doc
        .headings
        .iter()
        .find(|h| h.line > line)
        .map_or(usize::MAX, |h| h.line);
    let mut found = doc
        .tables
        .iter()
        .enumerate()
        .filter(|(i, t)| t.line > line && t.line < next && free(*i));
    if tabbed_alternatives(doc, line, next, in_params) {
        if !in_params {
            // In returned data the alternatives stay open (the example shows the shape).
            return Vec::new();
        }
        return found
            .filter(|(_, t)| is_type_table(t, in_params))
            .map(|(i, _)| i)
            .collect();
    }
    found
        .next()
        .filter(|(_, t)| is_type_table(t, in_params))
        .map(|(i, _)| i)
        .into_iter()
        .collect()
}

/// The rows of tables given as alternatives, as one object's: every name any table lists,
/// required only where every table requires it; a name the tables give different types (or
/// values, or nested rows) keeps no type of its own (it is left to the open map).
fn merge_alternatives(tables: Vec<Vec<Param>>) -> Vec<Param> {
    let n = tables.len();
    if n == 1 {
        return tables.into_iter().next().unwrap_or_default();
    }
    let mut out: Vec<Param> = Vec::new();
    let mut count: Vec<usize> = Vec::new();
    let mut conflict: BTreeSet<String> = BTreeSet::new();
    for rows in tables {
        for p in rows {
            match out.iter().position(|q| q.name == p.name) {
                Some(i) => {
                    let q = &mut out[i];
                    // Types are compared by what they are on the wire (`crm_category` and
                    // `integer` agree).
                    if super::types::param_schema(q) != super::types::param_schema(&p) {
                        conflict.insert(p.name.clone());
                    }
                    q.required &= p.required;
                    count[i] += 1;
                }
                None => {
                    out.push(p);
                    count.push(1);
                }
            }
        }
    }
    for (p, c) in out.iter_mut().zip(&count) {
        p.required &= *c == n;
    }
    out.retain(|p| !conflict.contains(&p.name));
    out
}

fn is_param_table(t: &Table) -> bool {
    has_header(t)
        && t.rows
            .iter()
            .skip(1)
            .any(|r| r.cells.first().is_some_and(|c| c.trim().starts_with("**")))
}

/// Whether a table's first row is a header: `**Название**`, `Параметр`, `Поле`, `Значение`,
/// or any first cell over `` `тип` `` beside a bold `**Описание**`.
fn has_header(t: &Table) -> bool {
    let Some(row) = t.rows.first() else {
        return false;
    };
    let Some(first) = row.cells.first() else {
        return false;
    };
    let f = plain(first).to_lowercase();
    let known = ["название", "параметр", "поле", "значение", "name", "field"]
        .iter()
        .any(|h| f.starts_with(h));
    let type_word = backtick_spans(first)
        .first()
        .is_some_and(|s| matches!(s.trim().to_lowercase().as_str(), "тип" | "type"));
    let bold_last = row.cells.len() >= 2
        && row.cells.last().is_some_and(|c| {
            let c = c.trim();
            c.len() > 4 && c.starts_with("**") && c.ends_with("**")
        });
    known || (type_word && bold_last)
}

/// A table of a type's fields under its heading: a parameter table, or (`in_params`, below
/// the parameter table) one without a header whose every row is a bold name with a type.
fn is_type_table(t: &Table, in_params: bool) -> bool {
    is_param_table(t)
        || (in_params
            && !t.rows.is_empty()
            && t.rows.iter().all(|r| {
                r.cells.len() >= 2
                    && r.cells.first().is_some_and(|c| {
                        c.trim().starts_with("**") && !backtick_spans(c).is_empty()
                    })
            }))
}

/// Reads the rows of table `ti` as parameters and resolves their nested tables.
fn rows_to_params(
    doc: &Doc,
    ti: usize,
    used: &mut BTreeSet<usize>,
    problems: &mut Vec<Problem>,
    depth: usize,
    ctx: Ctx,
) -> Vec<Param> {
    used.insert(ti);
    let Some(t) = doc.tables.get(ti) else {
        return Vec::new();
    };
    let mut out: Vec<Param> = Vec::new();
    for r in t.rows.iter().skip(usize::from(has_header(t))) {
        let Some(first) = r.cells.first() else {
            continue;
        };
        if r.cells.len() < 2 {
            problems.push(Problem {
                line: r.line,
                message: "a table row has a single cell".into(),
            });
        }
        let Some((name, required, rest)) = name_cell(first) else {
            problems.push(Problem {
                line: r.line,
                message: "a parameter row does not start with a bold name".into(),
            });
            continue;
        };
        if !is_param_name(&name) {
            problems.push(Problem {
                line: r.line,
                message: "a parameter name contains characters a wire name cannot have".into(),
            });
            continue;
        }
        // The type: the first backtick span after the name, in the first cell; some pages put
        // it in the second cell (an extra column).
        let mut doc_type = backtick_spans(&rest).into_iter().next().unwrap_or_default();
        if doc_type.is_empty() && r.cells.len() > 2 {
            let second = r.cells.get(1).map(String::as_str).unwrap_or("");
            if let Some(s) = backtick_spans(second).into_iter().next()
                && s.len() < 40
            {
                doc_type = s;
            }
        }
        let desc = r.cells.last().map(String::as_str).unwrap_or("");
        let mut p = Param {
            name,
            line: r.line,
            doc_type: doc_type.trim().to_owned(),
            required,
            enum_values: Vec::new(),
            children: Vec::new(),
        };
        if is_scalar_doc_type(&p.doc_type) {
            p.enum_values = enum_bullets(desc, &p.doc_type);
        } else if is_boolean_doc_type(&p.doc_type) {
            // A "boolean" whose values are more than yes and no (`SHOW_FILTER`: `N`, `I`, `E`,
            // `S`) is a string code on the wire.
            let values = enum_bullets(desc, "string");
            let flag = |v: &Value| {
                matches!(
                    v.as_str().map(str::to_ascii_uppercase).as_deref(),
                    Some("Y" | "N" | "0" | "1" | "TRUE" | "FALSE" | "NULL")
                )
            };
            if !values.iter().all(flag) {
                p.enum_values = values;
            }
        }
        let nested = if depth < 4 && is_object_doc_type(&p.doc_type) {
            nested_table(doc, t, desc, &p.name, used, ctx.linked)
        } else {
            Vec::new()
        };
        if !nested.is_empty() {
            let tables = nested
                .into_iter()
                .map(|nt| rows_to_params(doc, nt, used, problems, depth + 1, ctx))
                .collect();
            p.children = merge_alternatives(tables);
        } else if ctx.linked && depth < 2 && is_object_doc_type(&p.doc_type) {
            p.children = linked_rows(desc, &p.name, ctx, depth);
        }
        if p.children.is_empty() && depth < 4 && is_named_doc_type(&p.doc_type) {
            // A type defined on this page (`[`deal`](#deal)` → `#### Тип deal {#deal}`). One
            // type table may serve several rows, so it is not marked used; depth bounds cycles.
            let here = type_table(doc, &anchor_links(&format!("{rest}\n{desc}")), ctx.linked);
            if !here.is_empty() {
                let tables = here
                    .into_iter()
                    .map(|nt| rows_to_params(doc, nt, &mut used.clone(), problems, depth + 1, ctx))
                    .collect();
                p.children = merge_alternatives(tables);
            } else if let Some(pages) = ctx.pages
                && let Some((other_rel, anchor)) = type_link(&rest, ctx.rel)
                && let Some(text) = pages(&other_rel)
            {
                // A type defined on another page (`crm-deal-get.md#deal`); that page's
                // irregularities are reported when it is imported itself.
                let other = scan(&text);
                let octx = Ctx {
                    rel: &other_rel,
                    ..ctx
                };
                p.children = rows_under(&other, anchor, depth, octx);
            }
            // `crm_currency.CURRENCY`: one field of the type, not the object; its type is that
            // field's when the table gives it as a scalar.
            if let [part] = type_parts(&p.doc_type).as_slice()
                && let Some((_, field)) = part.split_once('.')
            {
                let scalar = p
                    .children
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(field))
                    .filter(|c| is_scalar_doc_type(&c.doc_type) || is_base_scalar(&c.doc_type))
                    .map(|c| c.doc_type.clone());
                if let Some(t) = scalar {
                    p.doc_type = t;
                }
                p.children.clear();
            }
        }
        if out.iter().any(|q| q.name == p.name) {
            problems.push(Problem {
                line: r.line,
                message: format!("parameter `{}` is listed twice", p.name),
            });
            continue;
        }
        out.push(p);
    }
    out
}

/// Name, required mark and the rest of the first cell: `**NAME***`, `**NAME**\*`,
/// `**NAME** *`, `**NAME**^*^`.
fn name_cell(cell: &str) -> Option<(String, bool, String)> {
    let cell = cell.trim_start();
    let after = cell.strip_prefix("**")?;
    let end = after.find("**")?;
    let inner = after.get(..end)?;
    let mut tail = after.get(end + 2..)?;
    // `***` closes bold after a star that belongs to the name.
    let mut required = inner.contains('*');
    while let Some(t) = tail.strip_prefix('*') {
        required = true;
        tail = t;
    }
    let (first_line, rest) = match tail.split_once('\n') {
        Some((a, b)) => (a, b),
        None => (tail, ""),
    };
    let mark = first_line.trim_start();
    let mark_part: String = mark
        .chars()
        .take_while(|c| matches!(c, '*' | '\\' | '^' | ' '))
        .collect();
    if mark_part.contains('*') {
        required = true;
    }
    let name = inner
        .replace(['*', '\\', '`'], "")
        .trim()
        .trim_end_matches(':')
        .to_owned();
    let rest = format!("{}\n{}", mark.get(mark_part.len()..).unwrap_or(""), rest);
    Some((name, required, rest))
}

/// The nested table describing parameter `name`: the target of a `(#anchor)` link in its
/// description, or the first table after a heading whose anchor or text names it.
fn nested_table(
    doc: &Doc,
    parent: &Table,
    desc: &str,
    name: &str,
    used: &BTreeSet<usize>,
    in_params: bool,
) -> Vec<usize> {
    let anchors = anchor_links(desc);
    let lname = name.to_lowercase();
    // A link to the heading's generated anchor, `(#parametr-fields)` for `## Параметр fields`.
    let generated = anchors.iter().any(|a| {
        ["parametr-", "parameter-", "parametry-"]
            .iter()
            .any(|p| a.strip_prefix(p) == Some(lname.as_str()))
    });
    let names_it = |h: &Heading| {
        h.text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w.eq_ignore_ascii_case(name))
    };
    let heading = doc
        .headings
        .iter()
        .filter(|h| h.line > parent.line || !anchors.is_empty())
        .find(|h| {
            let a = h.anchor.as_deref().map(str::to_lowercase);
            a.as_ref().is_some_and(|a| anchors.contains(a))
                || a.as_deref() == Some(lname.as_str())
                || (h.level >= 3 && h.line > parent.line && names_it(h))
                || (h.level == 2 && h.line > parent.line && (generated || param_heading(h, name)))
        });
    heading.map_or_else(Vec::new, |h| {
        table_under(doc, h.line, |i| !used.contains(&i), in_params)
    })
}

/// Whether a heading is `Параметр <name>` / `Параметры <name>` / `Parameter <name>`.
fn param_heading(h: &Heading, name: &str) -> bool {
    let words: Vec<&str> = h.text.split_whitespace().collect();
    matches!(words.as_slice(), [first, n]
        if n.eq_ignore_ascii_case(name)
            && ["параметр", "параметры", "parameter"].contains(&first.to_lowercase().as_str()))
}

/// The rows of the type or parameter table under `anchor` on another page (`other`, read in
/// `octx`), tabbed alternatives merged; that page's irregularities are its own.
fn rows_under(other: &Doc, anchor: String, depth: usize, octx: Ctx) -> Vec<Param> {
    let tables = type_table(other, &[anchor], octx.linked)
        .into_iter()
        .map(|nt| {
            rows_to_params(
                other,
                nt,
                &mut BTreeSet::new(),
                &mut Vec::new(),
                depth + 1,
                octx,
            )
        })
        .collect();
    merge_alternatives(tables)
}

/// The rows a parameter's description gives by a link to another page without an anchor
/// (`[подробное описание](./fields.md)`, `описанный в методе [crm.item.import](crm-item-import.md)`):
/// that page's parameter of the same name, else its `fields` parameter, with their nested
/// rows; or, on a page of an entity's fields (`fields.md`, a title "Поля …"), its first
/// parameter table. A link with an anchor gives the table under that heading.
fn linked_rows(desc: &str, name: &str, ctx: Ctx, depth: usize) -> Vec<Param> {
    let Some(pages) = ctx.pages else {
        return Vec::new();
    };
    for (other_rel, anchor) in page_links(desc, ctx.rel) {
        if (anchor.is_empty() && other_rel.ends_with("data-types.md")) || other_rel == ctx.rel {
            continue;
        }
        let Some(text) = pages(&other_rel) else {
            continue;
        };
        let other = scan(&text);
        let octx = Ctx {
            rel: &other_rel,
            ..ctx
        };
        if !anchor.is_empty() {
            // A link to a type or parameter table of that page (`add.md#params`).
            let rows = rows_under(&other, anchor, depth, octx);
            if !rows.is_empty() {
                return rows;
            }
            continue;
        }
        let Some(ti) = other.tables.iter().position(is_param_table) else {
            continue;
        };
        let rows = rows_to_params(
            &other,
            ti,
            &mut BTreeSet::new(),
            &mut Vec::new(),
            depth + 1,
            octx,
        );
        let title = other.headings.iter().find(|h| h.level == 1);
        let method_page = title.is_some_and(|h| !dotted_names(&h.text).is_empty());
        // A page of an entity's fields (`fields.md`, "Поля задачи"), not any article.
        let fields_page = other_rel.ends_with("/fields.md")
            || title.is_some_and(|h| h.text.trim().to_lowercase().starts_with("поля"));
        if method_page {
            let by = |n: &str| {
                rows.iter()
                    .find(|p| p.name.eq_ignore_ascii_case(n) && !p.children.is_empty())
            };
            if let Some(p) = by(name).or_else(|| by("fields")) {
                return p.children.clone();
            }
        } else if fields_page && !rows.is_empty() {
            return rows;
        }
    }
    Vec::new()
}

/// The links of a text to other pages (`](x.md)`, `](x.md#anchor)`), resolved against `rel`,
/// with their anchors (lower-cased, empty when there is none).
fn page_links(text: &str, rel: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(p) = rest.find("](") {
        let after = rest.get(p + 2..).unwrap_or("");
        let end = after.find(')').unwrap_or(after.len());
        let target = after.get(..end).unwrap_or("");
        let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
        if path.ends_with(".md")
            && let Some((path, _)) = type_link(&format!("]({path}#x)"), rel)
        {
            out.push((path, anchor.to_lowercase()));
        }
        rest = after;
    }
    out
}

/// Whether the section between lines `from` and `to` (1-based, exclusive) gives its tables as
/// `{% list tabs %}` alternatives (`SETTINGS`: one table per field type): no one table is the
/// shape, so the object stays open.
fn tabbed_alternatives(doc: &Doc, from: usize, to: usize, in_params: bool) -> bool {
    let tabs = doc
        .lines
        .iter()
        .enumerate()
        .skip(from)
        .take(to.saturating_sub(from + 1))
        .any(|(_, l)| l.trim_start().starts_with("{% list tabs"));
    tabs && doc
        .tables
        .iter()
        .filter(|t| t.line > from && t.line < to && is_type_table(t, in_params))
        .count()
        > 1
}

/// The `(#anchor)` targets of the links in a cell, lower-cased, in order.
fn anchor_links(text: &str) -> Vec<String> {
    let mut anchors = Vec::new();
    let mut rest = text;
    while let Some(p) = rest.find("](#") {
        let after = rest.get(p + 3..).unwrap_or("");
        let end = after.find(')').unwrap_or(after.len());
        anchors.push(after.get(..end).unwrap_or("").to_lowercase());
        rest = after;
    }
    anchors
}

/// The link of a type cell to a type on another page (`[`deal[]`](crm-deal-get.md#deal)`):
/// that page's path inside `api-reference/`, resolved against `rel`, and the anchor.
fn type_link(cell: &str, rel: &str) -> Option<(String, String)> {
    let p = cell.find("](")?;
    let after = cell.get(p + 2..)?;
    let target = after.get(..after.find(')')?)?;
    let (path, anchor) = target.split_once('#')?;
    if !path.ends_with(".md") || path.contains("://") || anchor.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some((parts.join("/"), anchor.to_lowercase()))
}

/// The table of a type: the first parameter-like table under the heading one of `anchors`
/// names, by its `{#anchor}` or, for headings without one, by its last word
/// (`### contact`, `### Параметр fields`).
fn type_table(doc: &Doc, anchors: &[String], in_params: bool) -> Vec<usize> {
    if anchors.is_empty() {
        return Vec::new();
    }
    let heading = doc
        .headings
        .iter()
        .find(|h| {
            h.anchor
                .as_deref()
                .is_some_and(|a| anchors.contains(&a.to_lowercase()))
        })
        .or_else(|| {
            doc.headings.iter().find(|h| {
                h.level >= 3
                    && h.anchor.is_none()
                    && h.text
                        .split_whitespace()
                        .last()
                        .is_some_and(|w| anchors.contains(&w.to_lowercase()))
            })
        });
    heading.map_or_else(Vec::new, |h| table_under(doc, h.line, |_| true, in_params))
}

/// Whether a doc type is one scalar base type (`double`, `boolean`, `datetime`, …).
fn is_base_scalar(t: &str) -> bool {
    let s = super::types::type_schema(t);
    matches!(
        s.get("type").and_then(Value::as_str),
        Some("integer" | "number" | "string" | "boolean")
    )
}

fn is_boolean_doc_type(t: &str) -> bool {
    let parts = type_parts(t);
    !parts.is_empty()
        && parts
            .iter()
            .all(|p| matches!(p.as_str(), "boolean" | "bool" | "null"))
}

/// Values of a bullet list in a description: `- value — text`, `` - `value` — text ``. Only a
/// list whose every bullet has this shape counts; integer types need integer values.
fn enum_bullets(desc: &str, doc_type: &str) -> Vec<Value> {
    let integer = type_parts(doc_type)
        .iter()
        .any(|p| p == "integer" || p == "int");
    let mut values = Vec::new();
    let mut in_list = false;
    for line in desc.lines() {
        let t = line.trim_start();
        let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) else {
            if in_list && !t.is_empty() {
                break;
            }
            continue;
        };
        if line.len() - t.len() > 1 {
            continue; // a sub-bullet
        }
        in_list = true;
        let item = item.trim();
        let value = if item.starts_with('`') {
            let spans = backtick_spans(item);
            let Some(first) = spans.into_iter().next() else {
                return Vec::new();
            };
            first
        } else {
            let cut = [" — ", " - ", " – ", ": "]
                .iter()
                .filter_map(|s| item.find(s))
                .min();
            match cut {
                Some(c) => item.get(..c).unwrap_or("").trim().to_owned(),
                None => return Vec::new(),
            }
        };
        let value = value.trim_matches(['\'', '"']).to_owned();
        // Wire values are codes: ASCII letters, digits and a few separators. Anything else
        // (words, placeholders like `<ID>`) means the list is prose, not an enum.
        let code_like = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '+'));
        // A pattern (`chatXXX`) means the list describes a format, not literal values.
        if value.is_empty()
            || !code_like
            || value.chars().count() > 40
            || super::types::is_pattern_value(&value)
        {
            return Vec::new();
        }
        if integer {
            match value.parse::<i64>() {
                Ok(n) => values.push(json!(n)),
                Err(_) => return Vec::new(),
            }
        } else {
            values.push(Value::String(value));
        }
    }
    if values.len() < 2 {
        return Vec::new();
    }
    let mut seen = BTreeSet::new();
    values.retain(|v| seen.insert(v.to_string()));
    values
}

/// A dotted wire name: segments `[A-Za-z][A-Za-z0-9_]*`, at least two.
fn dotted_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            cur.push(c);
        } else {
            let t = cur.trim_matches('.');
            if t.contains('.') && crate::spec::is_wire_name(t) {
                out.push(t.to_owned());
            }
            cur.clear();
        }
    }
    out
}

fn is_param_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 80
        && s.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']' | '$' | ':' | '@')
        })
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 120
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_lists_are_not_enums() {
        assert!(enum_bullets("x:\n- Тип — a\n- Размер — b", "string").is_empty());
        assert!(enum_bullets("x:\n- `<ID>` — a\n- `<X>` — b", "string").is_empty());
        assert!(enum_bullets("x:\n- `a` — a\n- some words here", "string").is_empty());
        // Patterns are formats, not values: no enum, not even of the literal bullets.
        assert!(
            enum_bullets("x:\n- `chatXXX` — a\n- `sgXXX` — b\n- `XXX` — c", "string").is_empty()
        );
        assert!(enum_bullets("x:\n- `DEAL` — a\n- `DYNAMIC_XXX` — b", "string").is_empty());
        assert!(enum_bullets("x:\n- `UF_...` — a\n- `ID` — b", "string").is_empty());
        // One literal value in prose is no enum.
        assert!(enum_bullets("x:\n- `Y` — a", "char").is_empty());
        assert_eq!(
            enum_bullets("x:\n- `Y` — a\n- `N` — b", "char"),
            vec![json!("Y"), json!("N")]
        );
    }

    #[test]
    fn same_page_type_tables() {
        let table =
            |rows: &str| format!("#|\n|| **Название**\n`тип` | **Описание** ||\n{rows}|#\n");
        let p = read_page(&format!(
            "# Get x.y.get\n\n## Обработка ответа\n\n### Возвращаемые данные\n\n{}\n#### Тип deal {{#deal}}\n\n{}\n#### Тип other {{#other}}\n\n{}",
            table(
                "|| **result**\n[`deal`](#deal) | x ||\n|| **list**\n[`deal[]`](#deal) | x ||\n|| **ext**\n[`crm_status`](../data-types.md) | x ||\n"
            ),
            table("|| **ID**\n`integer` | x ||\n|| **TITLE**\n`string` | x ||\n"),
            table("|| **NAME**\n`string` | x ||\n"),
        ));
        let names =
            |p: &Param| -> Vec<String> { p.children.iter().map(|c| c.name.clone()).collect() };
        assert_eq!(p.returned.len(), 3);
        // Both rows linking to `#deal` get its fields; a link to another page gets none here.
        assert_eq!(names(&p.returned[0]), ["ID", "TITLE"]);
        assert_eq!(names(&p.returned[1]), ["ID", "TITLE"]);
        assert!(p.returned[2].children.is_empty());
        // The objects keep the docs' name of the type (for the share pass), the list's items
        // as the object itself.
        let s = crate::docs::param_schema(&p.returned[1]);
        assert_eq!(
            s,
            json!({"type": "array", "items": {"type": "object", "properties": {"ID": {"type": "integer"}, "TITLE": {"type": "string"}}, "additionalProperties": true, "x-bitrix-type": "deal"}})
        );
        let one = crate::docs::param_schema(&p.returned[0]);
        assert_eq!(one["properties"]["ID"], json!({"type": "integer"}));
        assert_eq!(one, s["items"]);
    }

    #[test]
    fn a_field_of_a_type_takes_the_fields_type() {
        let table =
            |rows: &str| format!("#|\n|| **Название**\n`тип` | **Описание** ||\n{rows}|#\n");
        let p = read_page(&format!(
            "# Get x.y.get\n\n## Параметры метода\n\n{}\n### Тип cur {{#cur}}\n\n{}",
            table(
                "|| **id**\n[`cur.CURRENCY`](#cur) | x ||\n|| **rate**\n[`cur.RATE`](#cur) | x ||\n|| **whole**\n[`cur`](#cur) | x ||\n|| **other**\n[`cur.NOPE`](#cur) | x ||\n"
            ),
            table("|| **CURRENCY**\n`string` | x ||\n|| **RATE**\n`double` | x ||\n"),
        ));
        let got: Vec<(&str, &str, usize)> = p
            .params
            .iter()
            .map(|x| (x.name.as_str(), x.doc_type.as_str(), x.children.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("id", "string", 0),
                ("rate", "double", 0),
                ("whole", "cur", 2),
                ("other", "cur.NOPE", 0)
            ]
        );
    }

    #[test]
    fn a_boolean_with_more_than_two_values_is_a_string_enum() {
        let page = |ty: &str, bullets: &str| {
            read_page(&format!(
                "# Get x.y.get\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **F**\n`{ty}` | x:\n{bullets} ||\n|#\n"
            ))
        };
        let p = page("boolean", "- `N` — a\n- `I` — b\n- `E` — c");
        assert_eq!(
            p.params[0].enum_values,
            [json!("N"), json!("I"), json!("E")]
        );
        assert_eq!(
            crate::docs::param_schema(&p.params[0]),
            json!({"type": "string", "enum": ["N", "I", "E"]})
        );
        // Yes and no stay a boolean.
        let p = page("boolean", "- `Y` — a\n- `N` — b");
        assert!(p.params[0].enum_values.is_empty());
        assert_eq!(
            crate::docs::param_schema(&p.params[0]),
            json!({"type": "boolean"})
        );
    }

    #[test]
    fn tabbed_alternative_tables_are_merged() {
        let table = |rows: &[(&str, &str)]| {
            let rows: String = rows
                .iter()
                .map(|(n, t)| format!("    || **{n}**\n    `{t}` | x ||\n"))
                .collect();
            format!("    #|\n    || **Название**\n    `тип` | **Описание** ||\n{rows}    |#\n")
        };
        let head = "# Get x.y.get\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **SETTINGS**\n`object` | [ниже](#settings) ||\n|#\n\n### Параметр settings {#settings}\n\n";
        let tabs = format!(
            "{head}{{% list tabs %}}\n\n- double\n\n{}\n- boolean\n\n{}\n{{% endlist %}}\n",
            table(&[
                ("PRECISION", "integer"),
                ("DEFAULT_VALUE", "double"),
                ("SIZE*", "integer")
            ]),
            table(&[
                ("DEFAULT_VALUE", "integer"),
                ("SIZE*", "integer"),
                ("LABEL", "string")
            ])
        );
        let p = read_page(&tabs);
        // Every name of either table; a name typed differently is left out; required only
        // where both tables require it.
        let got: Vec<(&str, bool)> = p.params[0]
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.required))
            .collect();
        assert_eq!(
            got,
            [("PRECISION", false), ("SIZE", true), ("LABEL", false)]
        );
        // One table under the heading is the shape.
        let one = format!("{head}{}", table(&[("PRECISION", "integer")]));
        assert_eq!(read_page(&one).params[0].children.len(), 1);
        // In returned data the alternatives stay open (the response example decides).
        let returned = tabs.replace(
            "## Параметры метода",
            "## Обработка ответа\n\n### Возвращаемые данные",
        );
        let r = read_page(&returned);
        assert_eq!(r.returned.len(), 1);
        assert!(r.returned[0].children.is_empty());
    }

    #[test]
    fn a_level_two_parameter_heading_gives_the_table() {
        let t = |name: &str, ty: &str| {
            format!(
                "#|\n|| **Название**\n`тип` | **Описание** ||\n|| **{name}**\n`{ty}` | x ||\n|#\n"
            )
        };
        let page = |link: &str, heading: &str| {
            read_page(&format!(
                "# Get x.y.update\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **fields***\n`object` | [ниже]({link}) ||\n|#\n\n## {heading}\n\n{}",
                t("paid", "string")
            ))
        };
        // By the link to its generated anchor, or by its words alone.
        assert_eq!(
            page("#parametr-fields", "Параметр fields").params[0]
                .children
                .len(),
            1
        );
        assert_eq!(
            page("#parameter-fields", "Параметр fields").params[0]
                .children
                .len(),
            1
        );
        assert_eq!(
            page("#other", "Параметр fields").params[0].children.len(),
            1
        );
        assert_eq!(
            page("#parametr-fields", "Поля fields").params[0]
                .children
                .len(),
            1
        );
        // Another level-2 section naming the parameter among other words is not its table.
        assert!(
            page("#other", "Примеры fields и другое").params[0]
                .children
                .is_empty()
        );
    }

    #[test]
    fn a_headerless_table_under_a_parameter_heading_gives_rows() {
        let p = read_page(
            "# Set x.y.set\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **settings***\n`object` | [x](#settings) ||\n|#\n\n### Параметр settings {#settings}\n\n#|\n|| **view**\n`string` | x ||\n|| **meetSection**\n`string` | x ||\n|#\n",
        );
        let names: Vec<&str> = p.params[0]
            .children
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["view", "meetSection"]);
        // A header of another word (`**Ключ**` over `тип`) is still a header, not a row.
        let keyed = read_page(
            "# Set x.y.set\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **data***\n`object` | [x](#data) ||\n|#\n\n### Параметр data {#data}\n\n#|\n|| **Ключ**\n`тип` | **Описание** ||\n|| **sel**\n`string` | x ||\n|#\n",
        );
        let names: Vec<&str> = keyed.params[0]
            .children
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["sel"]);
    }

    #[test]
    fn a_plain_link_to_another_page_gives_its_fields() {
        let table =
            |rows: &str| format!("#|\n|| **Название**\n`тип` | **Описание** ||\n{rows}|#\n");
        let batch = format!(
            "# Import x.item.batchImport\n\n> Scope: [`crm`](x)\n\n## Параметры метода\n\n{}",
            table(
                "|| **data***\n[`array`](../data-types.md) | каждый элемент — `fields` метода [x.item.import](x-item-import.md) ||\n"
            )
        );
        let import = format!(
            "# Import x.item.import\n\n## Параметры метода\n\n{}\n### Параметр fields\n\n{}",
            table("|| **fields***\n[`object`](x) | x ||\n"),
            table("|| **title**\n`string` | x ||\n")
        );
        let template = format!(
            "# x.template.add\n\n## Параметры метода\n\n{}",
            table("|| **fields***\n[`object`](x) | [поля](./fields.md) ||\n")
        );
        let fields = format!(
            "# Поля шаблона\n\n{}",
            table("|| **TITLE**\n`string` | x ||\n")
        );
        let pages = |p: &str| match p {
            "crm/x-item-import.md" => Some(import.clone()),
            "crm/fields.md" => Some(fields.clone()),
            _ => None,
        };
        let names = |p: &Page| -> Vec<String> {
            p.params[0]
                .children
                .iter()
                .map(|c| c.name.clone())
                .collect()
        };
        let b = read_page_in(&batch, "crm/x-item-batch-import.md", Some(&pages));
        assert_eq!(names(&b), ["title"]);
        assert_eq!(
            crate::docs::param_schema(&b.params[0])["items"]["properties"]["title"],
            json!({"type": "string"})
        );
        let t = read_page_in(&template, "crm/x-template-add.md", Some(&pages));
        assert_eq!(names(&t), ["TITLE"]);
        // Without the other pages, nothing.
        assert!(read_page(&batch).params[0].children.is_empty());
        // An article that is not a fields page gives nothing.
        let menu = template.replace("./fields.md", "./menu.md");
        let article = format!(
            "# Контекстное меню\n\n{}",
            table("|| **TEXT**\n`string` | x ||\n")
        );
        let pages2 = |p: &str| (p == "crm/menu.md").then(|| article.clone());
        let m = read_page_in(&menu, "crm/x-template-add.md", Some(&pages2));
        assert!(m.params[0].children.is_empty());
    }

    #[test]
    fn required_marks() {
        for (cell, name, req) in [
            ("**A***\n`x`", "A", true),
            ("**A**\\*\n`x`", "A", true),
            ("**A** *\n`x`", "A", true),
            ("**A**^*^\n`x`", "A", true),
            ("**A*** `x`", "A", true),
            ("**A**\n`x`", "A", false),
            ("**A** `x*`", "A", false),
        ] {
            let (n, r, _) = name_cell(cell).expect(cell);
            assert_eq!((n.as_str(), r), (name, req), "{cell}");
        }
        assert!(name_cell("no bold").is_none());
    }

    #[test]
    fn additional_parameters_table_adds_rows() {
        let t = |name: &str, ty: &str| {
            format!(
                "#|\n|| **Название**\n`тип` | **Описание** ||\n|| **{name}**\n`{ty}` | x ||\n|#\n"
            )
        };
        let p = read_page(&format!(
            "# Get x.y.get\n\n## Параметры метода\n\n{}\n### Дополнительные параметры\n\n{}\n## Возвращаемые данные\n\n{}",
            t("limit", "integer"),
            t("process_id", "string"),
            t("result", "object")
        ));
        let names: Vec<&str> = p.params.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["limit", "process_id"]);
    }

    #[test]
    fn no_heading_before_the_table_is_reported() {
        let p = read_page(
            "# Get x.y.get\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **id***\n`integer` | x ||\n|#\n",
        );
        assert_eq!(p.params.len(), 1);
        assert!(p.params[0].required);
        assert!(p.problems.iter().any(|x| x.line == 3), "{:?}", p.problems);
    }

    #[test]
    fn broken_response_example_is_reported() {
        let p = read_page("# x.y\n## Обработка ответа\n```json\n{\"result\": \n```\n");
        assert!(p.response.is_none());
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].line, 4);
    }

    #[test]
    fn title_method_is_the_last_dotted_name() {
        let p = read_page("# Метод a.b.c (устаревший, см. x.y)\n");
        assert_eq!(p.method.as_deref(), Some("x.y"));
        let p = read_page("# Получить список crm.deal.list\n");
        assert_eq!(p.method.as_deref(), Some("crm.deal.list"));
    }
}
