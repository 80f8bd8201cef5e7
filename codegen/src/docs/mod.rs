//! The reader of method pages: the official Bitrix24 docs (YFM Markdown: `#| … |#` tables,
//! `{% … %}` tags) and spec bodies, which use the same layout. One reader for `lint` and
//! `import`.
//!
//! Everything here is a pure function over text: no file I/O, no panics on any input. What the
//! reader keeps are facts (names, types, required marks, enum values, error codes, JSON
//! examples); descriptions are read only to find enum bullets and links and are never kept.
//! Pages that do not follow the usual layout produce [`Problem`]s with line numbers, not errors.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Something irregular on a page, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// 1-based line in the page.
    pub line: usize,
    /// What is irregular, in one sentence (no text copied from the page beyond names).
    pub message: String,
}

/// One row of a parameter (or returned-data) table.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Wire name, as written in bold in the first cell.
    pub name: String,
    /// 1-based line of the row.
    pub line: usize,
    /// The doc type as written (`integer`, `string[]`, `crm_status`, `object`, `string | null`),
    /// empty when the row has none.
    pub doc_type: String,
    /// A `*` mark beside the name (inside or outside the bold, `\*`, `^*^`).
    pub required: bool,
    /// Values of an enum-like bullet list in the description (only for scalar types).
    pub enum_values: Vec<Value>,
    /// Rows of the nested table that describes this object (or the items of this array).
    pub children: Vec<Param>,
}

/// A JSON example found in a code block.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// 1-based line of the code block's first line of content.
    pub line: usize,
    /// Where it came from: `response`, `curl`, `js`, `php`.
    pub kind: &'static str,
    /// The parsed JSON.
    pub value: Value,
}

/// What the reader found on one page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The first level-1 heading, with its line.
    pub title: Option<(usize, String)>,
    /// The method name named in the title (a dotted name, the last one in the title).
    pub method: Option<String>,
    /// Scopes listed on the `Scope:` line, in order (`базовый` is read as `basic`).
    pub scopes: Vec<String>,
    /// Line of the `Scope:` line (0 when there is none).
    pub scope_line: usize,
    /// A DEPRECATED note, or a note that development of the method stopped.
    pub deprecated: bool,
    /// Other wire names the page gives for this method.
    pub aliases: Vec<String>,
    /// The method's parameter table, nested tables attached.
    pub params: Vec<Param>,
    /// Line of the parameter table (0 when there is none).
    pub params_line: usize,
    /// The returned-data table, nested tables attached.
    pub returned: Vec<Param>,
    /// Error codes from error tables, in page order, without duplicates.
    pub errors: Vec<String>,
    /// Line of the first error table (0 when there is none).
    pub errors_line: usize,
    /// The success-response example (the whole envelope when it has `result`).
    pub response: Option<Example>,
    /// Request examples: cURL JSON bodies, JS and PHP parameter literals.
    pub requests: Vec<Example>,
    /// Irregularities found while reading.
    pub problems: Vec<Problem>,
}

// ---------------------------------------------------------------------------------------------
// Lines, headings, code blocks

#[derive(Debug, Clone)]
struct Heading {
    line: usize,
    level: usize,
    text: String,
    anchor: Option<String>,
}

#[derive(Debug, Clone)]
struct CodeBlock {
    /// 1-based line of the first content line.
    line: usize,
    lang: String,
    text: String,
}

/// A table: its line and its rows (cells as text), header first.
#[derive(Debug, Clone)]
struct Table {
    line: usize,
    rows: Vec<Row>,
}

#[derive(Debug, Clone)]
struct Row {
    line: usize,
    cells: Vec<String>,
}

struct Doc<'a> {
    lines: Vec<&'a str>,
    headings: Vec<Heading>,
    tables: Vec<Table>,
    code: Vec<CodeBlock>,
}

fn fence_of(line: &str) -> Option<(char, usize, &str)> {
    let t = line.trim_start();
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    if n < 3 {
        return None;
    }
    Some((c, n, t.get(n..).unwrap_or("").trim()))
}

fn scan(text: &str) -> Doc<'_> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut headings = Vec::new();
    let mut code = Vec::new();
    let mut tables = Vec::new();
    let mut fence: Option<(char, usize, String, usize, Vec<&str>)> = None;
    // Table state: depth of `#|` nesting, the table being read, the row being read.
    let mut depth = 0usize;
    let mut table: Option<Table> = None;
    let mut row: Option<(usize, Vec<&str>)> = None;
    for (i, &line) in lines.iter().enumerate() {
        let n = i + 1;
        if let Some((c, len, lang, start, body)) = &mut fence {
            if let Some((c2, len2, rest)) = fence_of(line)
                && c2 == *c
                && len2 >= *len
                && rest.is_empty()
            {
                code.push(CodeBlock {
                    line: *start,
                    lang: std::mem::take(lang),
                    text: dedent(body),
                });
                fence = None;
            } else {
                body.push(line);
            }
            if let Some((_, r)) = &mut row {
                r.push(line);
            }
            continue;
        }
        if let Some((c, len, lang)) = fence_of(line) {
            fence = Some((c, len, lang.to_ascii_lowercase(), n + 1, Vec::new()));
            if let Some((_, r)) = &mut row {
                r.push(line);
            }
            continue;
        }
        let t = line.trim();
        if t.starts_with("#|") {
            depth += 1;
            if depth == 1 {
                table = Some(Table {
                    line: n,
                    rows: Vec::new(),
                });
                row = None;
                continue;
            }
        }
        if depth > 0 && t.starts_with("|#") {
            depth -= 1;
            if depth == 0 {
                if let Some(mut tb) = table.take() {
                    if let Some((rl, r)) = row.take() {
                        tb.rows.push(Row {
                            line: rl,
                            cells: cells(&r),
                        });
                    }
                    tables.push(tb);
                }
                continue;
            }
        }
        if depth == 1 {
            match &mut row {
                None => {
                    if let Some(rest) = t.strip_prefix("||") {
                        let ends = rest.trim_end().len() >= 2 && rest.trim_end().ends_with("||");
                        if ends {
                            if let Some(tb) = &mut table {
                                tb.rows.push(Row {
                                    line: n,
                                    cells: cells(&[rest]),
                                });
                            }
                        } else {
                            row = Some((n, vec![rest]));
                        }
                    }
                }
                Some((rl, r)) => {
                    r.push(line);
                    if t.ends_with("||") {
                        let rl = *rl;
                        let r = std::mem::take(r);
                        row = None;
                        if let Some(tb) = &mut table {
                            tb.rows.push(Row {
                                line: rl,
                                cells: cells(&r),
                            });
                        }
                    }
                }
            }
            continue;
        }
        if depth > 1 {
            if let Some((_, r)) = &mut row {
                r.push(line);
            }
            continue;
        }
        if let Some(h) = heading(line, n) {
            headings.push(h);
        }
    }
    if let Some((_, _, lang, start, body)) = fence {
        code.push(CodeBlock {
            line: start,
            lang,
            text: dedent(&body),
        });
    }
    if let Some(mut tb) = table {
        if let Some((rl, r)) = row {
            tb.rows.push(Row {
                line: rl,
                cells: cells(&r),
            });
        }
        tables.push(tb);
    }
    Doc {
        lines,
        headings,
        tables,
        code,
    }
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn heading(line: &str, n: usize) -> Option<Heading> {
    let level = line.chars().take_while(|&c| c == '#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = line.get(level..)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let mut text = rest.trim().to_owned();
    let mut anchor = None;
    if let Some(p) = text.rfind("{#")
        && text.ends_with('}')
    {
        anchor = text
            .get(p + 2..text.len() - 1)
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty());
        text = text.get(..p).unwrap_or("").trim().to_owned();
    }
    Some(Heading {
        line: n,
        level,
        text,
        anchor,
    })
}

/// Splits a row's text into cells at `|` outside backtick spans, nested tables and code
/// blocks; `\|` is not a separator. The row's trailing `||` is dropped.
fn cells(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut fence = false;
    let last = lines.len().saturating_sub(1);
    for (i, raw) in lines.iter().enumerate() {
        let mut line: &str = raw;
        if i == last {
            let t = line.trim_end();
            line = t.strip_suffix("||").unwrap_or(t);
        }
        let t = line.trim();
        if fence_of(line).is_some() {
            fence = !fence;
        }
        if !fence && t.starts_with("#|") {
            depth += 1;
        }
        if !fence && depth > 0 && t.starts_with("|#") {
            depth -= 1;
            cur.push_str(line);
            cur.push('\n');
            continue;
        }
        if fence || depth > 0 {
            cur.push_str(line);
            cur.push('\n');
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut k = 0;
        let mut tick: usize = 0; // length of the open backtick run, 0 outside spans
        while k < chars.len() {
            let c = chars[k];
            if c == '`' {
                let run = chars[k..].iter().take_while(|&&x| x == '`').count();
                if tick == 0 {
                    tick = run;
                } else if run == tick {
                    tick = 0;
                }
                for _ in 0..run {
                    cur.push('`');
                }
                k += run;
                continue;
            }
            if c == '\\' && chars.get(k + 1) == Some(&'|') {
                cur.push('|');
                k += 2;
                continue;
            }
            if c == '|' && tick == 0 {
                out.push(std::mem::take(&mut cur).trim().to_owned());
                k += 1;
                continue;
            }
            cur.push(c);
            k += 1;
        }
        // A backtick span never crosses a line.
        cur.push('\n');
    }
    out.push(cur.trim().to_owned());
    out
}

// ---------------------------------------------------------------------------------------------
// Small text helpers

/// The contents of backtick spans in `s`, in order.
fn backtick_spans(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        if chars[k] == '`' {
            let run = chars[k..].iter().take_while(|&&x| x == '`').count();
            let start = k + run;
            let mut j = start;
            let mut found = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let r2 = chars[j..].iter().take_while(|&&x| x == '`').count();
                    if r2 == run {
                        found = Some(j);
                        break;
                    }
                    j += r2;
                } else {
                    j += 1;
                }
            }
            match found {
                Some(end) => {
                    out.push(
                        chars[start..end]
                            .iter()
                            .collect::<String>()
                            .trim()
                            .to_owned(),
                    );
                    k = end + run;
                }
                None => k = start,
            }
        } else {
            k += 1;
        }
    }
    out
}

/// Text without Markdown emphasis and code marks.
fn plain(s: &str) -> String {
    s.replace("**", "").replace('`', "").trim().to_owned()
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

// ---------------------------------------------------------------------------------------------
// The page

/// Reads one page (a doc page or a spec body). Never panics; irregularities become problems.
pub fn read_page(text: &str) -> Page {
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
            page.params = rows_to_params(&doc, ti, &mut used_tables, &mut problems, 0);
            break;
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
                page.params = rows_to_params(&doc, ti, &mut used_tables, &mut problems, 0);
                break;
            }
        }
    }

    // The returned-data table.
    for (ti, t) in doc.tables.iter().enumerate() {
        let Some(h) = sub_of(t.line) else { continue };
        if h.text.to_lowercase().contains("возвращаемые данные") && is_param_table(t)
        {
            page.returned = rows_to_params(&doc, ti, &mut BTreeSet::new(), &mut problems, 0);
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

fn is_param_table(t: &Table) -> bool {
    let Some(h) = t.rows.first() else {
        return false;
    };
    let Some(first) = h.cells.first() else {
        return false;
    };
    let f = plain(first).to_lowercase();
    let header_ok = f.starts_with("название")
        || f.starts_with("параметр")
        || f.starts_with("поле")
        || f.starts_with("name")
        || f.starts_with("field");
    header_ok
        && t.rows
            .iter()
            .skip(1)
            .any(|r| r.cells.first().is_some_and(|c| c.trim().starts_with("**")))
}

/// Reads the rows of table `ti` as parameters and resolves their nested tables.
fn rows_to_params(
    doc: &Doc,
    ti: usize,
    used: &mut BTreeSet<usize>,
    problems: &mut Vec<Problem>,
    depth: usize,
) -> Vec<Param> {
    used.insert(ti);
    let Some(t) = doc.tables.get(ti) else {
        return Vec::new();
    };
    let mut out: Vec<Param> = Vec::new();
    for r in t.rows.iter().skip(1) {
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
        }
        if depth < 4
            && is_object_doc_type(&p.doc_type)
            && let Some(nt) = nested_table(doc, t, desc, &p.name, used)
        {
            p.children = rows_to_params(doc, nt, used, problems, depth + 1);
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

/// A doc type's base names: `string | null` → [`string`, `null`], `object[]` → [`object[]`].
fn type_parts(t: &str) -> Vec<String> {
    t.split(['|', ','])
        .map(|s| s.trim().trim_matches('_').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_scalar_doc_type(t: &str) -> bool {
    let parts = type_parts(t);
    !parts.is_empty()
        && parts.iter().all(|p| {
            matches!(
                p.as_str(),
                "string" | "integer" | "int" | "char" | "enum" | "null" | "text"
            )
        })
}

fn is_object_doc_type(t: &str) -> bool {
    type_parts(t).iter().any(|p| {
        matches!(
            p.as_str(),
            "object" | "object[]" | "array" | "array[]" | "object[][]"
        )
    })
}

/// The nested table describing parameter `name`: the target of a `(#anchor)` link in its
/// description, or the first table after a heading whose anchor or text names it.
fn nested_table(
    doc: &Doc,
    parent: &Table,
    desc: &str,
    name: &str,
    used: &BTreeSet<usize>,
) -> Option<usize> {
    let mut anchors: Vec<String> = Vec::new();
    let mut rest = desc;
    while let Some(p) = rest.find("](#") {
        let after = rest.get(p + 3..).unwrap_or("");
        let end = after.find(')').unwrap_or(after.len());
        anchors.push(after.get(..end).unwrap_or("").to_lowercase());
        rest = after;
    }
    let lname = name.to_lowercase();
    let heading = doc
        .headings
        .iter()
        .filter(|h| h.line > parent.line || !anchors.is_empty())
        .find(|h| {
            let a = h.anchor.as_deref().map(str::to_lowercase);
            a.as_ref().is_some_and(|a| anchors.contains(a))
                || a.as_deref() == Some(lname.as_str())
                || (h.level >= 3
                    && h.line > parent.line
                    && h.text
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|w| w.eq_ignore_ascii_case(name)))
        })?;
    // The first table after the heading and before the next heading.
    let next = doc
        .headings
        .iter()
        .find(|h| h.line > heading.line)
        .map_or(usize::MAX, |h| h.line);
    doc.tables
        .iter()
        .enumerate()
        .find(|(i, t)| t.line > heading.line && t.line < next && !used.contains(i))
        .filter(|(_, t)| is_param_table(t))
        .map(|(i, _)| i)
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
        if value.is_empty() || !code_like || value.chars().count() > 40 {
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

// ---------------------------------------------------------------------------------------------
// Examples

/// Parses JSON, forgiving what doc authors often write: `//` comments, trailing commas and
/// `...` placeholders are removed first when strict parsing fails.
pub fn parse_json_loose(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(first) => {
            let cleaned = clean_json(text);
            serde_json::from_str::<Value>(&cleaned)
                .map_err(|_| format!("line {} column {}", first.line(), first.column()))
        }
    }
}

fn clean_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut k = 0;
    let mut in_str = false;
    while k < chars.len() {
        let c = chars[k];
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(&n) = chars.get(k + 1) {
                    out.push(n);
                }
                k += 2;
                continue;
            }
            if c == '"' {
                in_str = false;
            }
            k += 1;
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '/' if chars.get(k + 1) == Some(&'/') => {
                while k < chars.len() && chars[k] != '\n' {
                    k += 1;
                }
                continue;
            }
            '.' if chars.get(k + 1) == Some(&'.') && chars.get(k + 2) == Some(&'.') => {
                k += 3;
                continue;
            }
            '…' => {}
            _ => out.push(c),
        }
        k += 1;
    }
    // Trailing commas, and commas left before a closing bracket by removed placeholders.
    let mut res = String::with_capacity(out.len());
    let oc: Vec<char> = out.chars().collect();
    let mut in_str = false;
    let mut k = 0;
    while k < oc.len() {
        let c = oc[k];
        if in_str {
            res.push(c);
            if c == '\\' {
                if let Some(&n) = oc.get(k + 1) {
                    res.push(n);
                }
                k += 2;
                continue;
            }
            if c == '"' {
                in_str = false;
            }
            k += 1;
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = oc[k + 1..].iter().find(|x| !x.is_whitespace());
            if matches!(next, Some('}' | ']') | None) {
                k += 1;
                continue;
            }
            let prev = res.chars().rev().find(|x| !x.is_whitespace());
            if matches!(prev, Some('{' | '[' | ',')) {
                k += 1;
                continue;
            }
        }
        res.push(c);
        k += 1;
    }
    res
}

/// Request parameters in one example code block: the JSON body of a cURL call to `method`,
/// the parameter object of `BX24.callMethod('method', {…})` / `call.make({method, params})`,
/// or the parameter array of a PHP `call('method', […])`.
fn request_examples(
    text: &str,
    lang: &str,
    method: &str,
) -> Vec<(&'static str, Result<Value, String>)> {
    let mut out = Vec::new();
    if (lang == "bash" || lang == "sh" || lang == "curl" || text.contains("curl "))
        && text.contains(method)
    {
        if let Some(body) = curl_body(text) {
            let body = shell_dates(&body);
            let r = if body.contains("'\"") || body.contains("$(") {
                Err("the body is built by the shell".to_owned())
            } else {
                parse_json_loose(&body)
            };
            let r = r.map(|mut v| {
                if let Value::Object(m) = &mut v {
                    m.remove("auth");
                }
                v
            });
            out.push(("curl", r));
        }
        return out;
    }
    if lang == "js" || lang == "javascript" {
        let quoted = [format!("'{method}'"), format!("\"{method}\"")];
        for q in &quoted {
            if let Some(p) = text.find(&format!("callMethod({q}")).or_else(|| {
                text.find("callMethod(\n")
                    .filter(|_| text.contains(q.as_str()))
            }) {
                let after = text.get(p..).unwrap_or("");
                let Some(qp) = after.find(q.as_str()) else {
                    continue;
                };
                let rest = after.get(qp + q.len()..).unwrap_or("").trim_start();
                if let Some(rest) = rest.strip_prefix(',') {
                    let rest = rest.trim_start();
                    if rest.starts_with('{') || rest.starts_with('[') {
                        out.push(("js", js_literal(rest)));
                    } else {
                        out.push(("js", Ok(json!({}))));
                    }
                } else {
                    out.push(("js", Ok(json!({}))));
                }
                break;
            }
        }
    }
    if lang == "php"
        && !text.contains("CRest")
        && let Some(p) = text
            .find(&format!("'{method}'"))
            .or_else(|| text.find(&format!("\"{method}\"")))
    {
        let rest = text.get(p + method.len() + 2..).unwrap_or("").trim_start();
        if let Some(rest) = rest.strip_prefix(',') {
            let rest = rest.trim_start();
            if rest.starts_with('[') {
                out.push(("php", php_literal(rest)));
            }
        }
    }
    out
}

/// Replaces the `'"$(date …)"'` pieces doc examples splice into JSON bodies with a fixed date
/// of the same form, so the body can be read; other shell substitutions stay (and are reported).
fn shell_dates(body: &str) -> String {
    let mut out = body.to_owned();
    for _ in 0..20 {
        let Some(a) = out.find("'\"$(date") else {
            break;
        };
        let Some(rel) = out.get(a..).and_then(|r| r.find(")\"'")) else {
            break;
        };
        let cmd = out.get(a..a + rel).unwrap_or("");
        let value = if cmd.contains("%Y-%m-%d") && !cmd.contains("%H") {
            "2025-01-01"
        } else {
            "2025-01-01T00:00:00+03:00"
        };
        out = format!("{}{value}{}", &out[..a], &out[a + rel + 3..]);
    }
    out
}

/// The `-d '…'` argument of a curl command.
fn curl_body(text: &str) -> Option<String> {
    let p = text
        .find("-d '")
        .or_else(|| text.find("--data '"))
        .or_else(|| text.find("--data-raw '"))?;
    let after = text.get(p..)?;
    let q = after.find('\'')?;
    let body = after.get(q + 1..)?;
    // The body ends at the last `'` followed by a line break or ` \`.
    let mut end = None;
    for (i, c) in body.char_indices() {
        if c == '\'' {
            let next = body.get(i + 1..).unwrap_or("");
            if next.starts_with(" \\")
                || next.starts_with('\n')
                || next.starts_with(" ")
                || next.is_empty()
            {
                end = Some(i);
                if !next.starts_with('"') {
                    break;
                }
            }
        }
    }
    Some(body.get(..end?)?.to_owned())
}

/// Reads a JS object or array literal (unquoted keys, single quotes, trailing commas) at the
/// start of `s` as JSON. Anything that is not a literal (a variable, a call) is an error.
fn js_literal(s: &str) -> Result<Value, String> {
    let mut p = LitParser {
        c: s.chars().collect(),
        k: 0,
        php: false,
    };
    p.value(0)
}

/// Reads a PHP array literal (`['a' => 1, 'b' => [1, 2]]`) at the start of `s` as JSON.
fn php_literal(s: &str) -> Result<Value, String> {
    let mut p = LitParser {
        c: s.chars().collect(),
        k: 0,
        php: true,
    };
    p.value(0)
}

struct LitParser {
    c: Vec<char>,
    k: usize,
    php: bool,
}

impl LitParser {
    fn ws(&mut self) {
        loop {
            while self.k < self.c.len() && self.c[self.k].is_whitespace() {
                self.k += 1;
            }
            if self.peek() == Some('/') && self.c.get(self.k + 1) == Some(&'/') {
                while self.k < self.c.len() && self.c[self.k] != '\n' {
                    self.k += 1;
                }
                continue;
            }
            if self.peek() == Some('/') && self.c.get(self.k + 1) == Some(&'*') {
                self.k += 2;
                while self.k + 1 < self.c.len()
                    && !(self.c[self.k] == '*' && self.c[self.k + 1] == '/')
                {
                    self.k += 1;
                }
                self.k += 2;
                continue;
            }
            break;
        }
    }
    fn peek(&self) -> Option<char> {
        self.c.get(self.k).copied()
    }
    fn eat(&mut self, ch: char) -> bool {
        self.ws();
        if self.peek() == Some(ch) {
            self.k += 1;
            true
        } else {
            false
        }
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at character {}", self.k))
    }
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 64 {
            return self.err("nesting too deep");
        }
        self.ws();
        match self.peek() {
            Some('{') if !self.php => {
                self.k += 1;
                let mut m = Map::new();
                loop {
                    if self.eat('}') {
                        break;
                    }
                    let key = self.key()?;
                    if !self.eat(':') {
                        return self.err("expected `:`");
                    }
                    let v = self.value(depth + 1)?;
                    m.insert(key, v);
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat('}') {
                        break;
                    }
                    return self.err("expected `,` or `}`");
                }
                Ok(Value::Object(m))
            }
            Some('[') => {
                self.k += 1;
                let mut list = Vec::new();
                let mut map = Map::new();
                let mut keyed = false;
                loop {
                    if self.eat(']') {
                        break;
                    }
                    let v = self.value(depth + 1)?;
                    self.ws();
                    if self.php && self.peek() == Some('=') && self.c.get(self.k + 1) == Some(&'>')
                    {
                        self.k += 2;
                        let key = match v {
                            Value::String(s) => s,
                            Value::Number(n) => n.to_string(),
                            _ => return self.err("unsupported PHP array key"),
                        };
                        let val = self.value(depth + 1)?;
                        keyed = true;
                        map.insert(key, val);
                    } else {
                        map.insert(list.len().to_string(), v.clone());
                        list.push(v);
                    }
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat(']') {
                        break;
                    }
                    return self.err("expected `,` or `]`");
                }
                if keyed {
                    Ok(Value::Object(map))
                } else {
                    Ok(Value::Array(list))
                }
            }
            Some('\'') | Some('"') => self.string().map(Value::String),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.k;
                self.k += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.k += 1;
                }
                let t: String = self.c[start..self.k].iter().collect();
                match serde_json::from_str::<Value>(&t) {
                    Ok(v @ Value::Number(_)) => Ok(v),
                    _ => self.err("bad number"),
                }
            }
            Some(c) if c.is_alphabetic() || c == '$' || c == '_' => {
                let start = self.k;
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    self.k += 1;
                }
                let word: String = self.c[start..self.k].iter().collect();
                match word.to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" | "undefined" => Ok(Value::Null),
                    _ => self.err("a variable or expression, not a literal"),
                }
            }
            _ => self.err("unexpected character"),
        }
    }
    fn key(&mut self) -> Result<String, String> {
        self.ws();
        match self.peek() {
            Some('\'') | Some('"') => self.string(),
            Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => {
                let start = self.k;
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    self.k += 1;
                }
                Ok(self.c[start..self.k].iter().collect())
            }
            _ => self.err("expected a key"),
        }
    }
    fn string(&mut self) -> Result<String, String> {
        let Some(q) = self.peek() else {
            return self.err("expected a string");
        };
        self.k += 1;
        let mut s = String::new();
        while let Some(c) = self.peek() {
            self.k += 1;
            if c == q {
                let next = self.c.get(self.k).copied();
                // String concatenation (`'a' + b`, `'a' . $b`) is an expression.
                let mut j = self.k;
                while self.c.get(j).is_some_and(|c| *c == ' ') {
                    j += 1;
                }
                if matches!(self.c.get(j), Some('+'))
                    || (self.php && matches!(self.c.get(j), Some('.')) && next != Some('.'))
                {
                    return self.err("string concatenation");
                }
                return Ok(s);
            }
            if c == '\\' {
                let Some(n) = self.peek() else { break };
                self.k += 1;
                s.push(match n {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                continue;
            }
            if c == '`' {
                return self.err("template string");
            }
            s.push(c);
        }
        self.err("unterminated string")
    }
}

// ---------------------------------------------------------------------------------------------
// From doc facts to JSON Schema

/// The JSON Schema of one doc type (`integer`, `string[]`, `object`, `crm_status`, `a | b`).
/// Reference types (`user`, `crm_company`, types defined on other pages) and unknown names are
/// any JSON value, marked with `x-bitrix-type`; the wire is loose, so guessing would reject
/// real data.
pub fn type_schema(doc_type: &str) -> Value {
    let parts = type_parts(doc_type);
    let nullable = parts.iter().any(|p| p == "null");
    let parts: Vec<&String> = parts.iter().filter(|p| *p != "null").collect();
    let mut schemas: Vec<Value> = parts.iter().map(|p| base_schema(p)).collect();
    schemas.dedup();
    let mut s = match schemas.len() {
        0 => json!({}),
        1 => schemas.pop().unwrap_or_else(|| json!({})),
        _ => {
            let mut x = Map::new();
            x.insert(
                "x-bitrix-type".into(),
                Value::String(doc_type.trim().into()),
            );
            Value::Object(x)
        }
    };
    if nullable && s.get("type").is_some() {
        s["nullable"] = Value::Bool(true);
    }
    s
}

fn base_schema(p: &str) -> Value {
    if let Some(inner) = p.strip_suffix("[]") {
        return json!({"type": "array", "items": base_schema(inner)});
    }
    if let Some(inner) = p.strip_prefix("array<").and_then(|x| x.strip_suffix('>')) {
        return json!({"type": "array", "items": base_schema(inner.trim())});
    }
    match p {
        "integer" | "int" | "long" => json!({"type": "integer"}),
        "double" | "float" | "number" | "decimal" => json!({"type": "number"}),
        "boolean" | "bool" => json!({"type": "boolean"}),
        "string" | "text" | "char" | "enum" => json!({"type": "string"}),
        "date" => json!({"type": "string", "format": "date"}),
        "datetime" | "date-time" => json!({"type": "string", "format": "date-time"}),
        "time" => json!({"type": "string", "format": "time"}),
        // PHP arrays: a bare `object` or `array` may arrive as a map or a list. Without a
        // nested table saying more, any JSON value (a nested table makes it a struct).
        "object" => json!({"x-bitrix-type": "object"}),
        "array" => json!({"x-bitrix-type": "array"}),
        "" | "any" | "mixed" | "unknown" => json!({}),
        other => json!({"x-bitrix-type": other}),
    }
}

/// The JSON Schema of one parameter: its type, enum values and nested properties.
pub fn param_schema(p: &Param) -> Value {
    let mut s = type_schema(&p.doc_type);
    if !p.enum_values.is_empty() && s.get("type").and_then(Value::as_str).is_some() {
        let ty = if p.enum_values.iter().all(Value::is_i64) {
            "integer"
        } else {
            "string"
        };
        s["type"] = Value::String(ty.into());
        if ty == "string" {
            let vals: Vec<Value> = p
                .enum_values
                .iter()
                .map(|v| match v {
                    Value::String(_) => v.clone(),
                    other => Value::String(other.to_string()),
                })
                .collect();
            s["enum"] = Value::Array(vals);
        } else {
            s["enum"] = Value::Array(p.enum_values.clone());
        }
        if let Some(o) = s.as_object_mut() {
            o.remove("format");
        }
    }
    if !p.children.is_empty() {
        let obj = object_schema(&p.children, true);
        let bare = s.get("x-bitrix-type").and_then(Value::as_str);
        match s.get("type").and_then(Value::as_str) {
            Some("array") => s["items"] = obj,
            _ if bare == Some("object") => s = merge_nullable(obj, &s),
            _ if bare == Some("array") => s = json!({"type": "array", "items": obj}),
            _ => {}
        }
    }
    s
}

fn merge_nullable(mut obj: Value, from: &Value) -> Value {
    if from.get("nullable") == Some(&Value::Bool(true)) {
        obj["nullable"] = Value::Bool(true);
    }
    obj
}

/// An object schema from table rows; `required` lists the marked rows when `with_required`.
/// Unlisted keys are kept (`additionalProperties: true`, a flattened map in Rust): the docs
/// rarely list every key (user fields `UF_*`, filter prefixes, `propertyN`).
pub fn object_schema(params: &[Param], with_required: bool) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for p in params {
        props.insert(p.name.clone(), param_schema(p));
        if with_required && p.required {
            required.push(Value::String(p.name.clone()));
        }
    }
    let mut s = Map::new();
    s.insert("type".into(), json!("object"));
    if !required.is_empty() {
        s.insert("required".into(), Value::Array(required));
    }
    s.insert("properties".into(), Value::Object(props));
    s.insert("additionalProperties".into(), Value::Bool(true));
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Добавить что-то crm.thing.add

> Scope: [`crm`](../../scopes/permissions.md)
>
> Кто может выполнять метод: любой

{% note warning \"DEPRECATED\" %}

x

{% endnote %}

## Параметры метода

#|
|| **Название**
`тип` | **Описание** ||
|| **fields***
[`object`](../../data-types.md) | Поля ([подробнее](#fields)) ||
|| **ID**\\*
[`integer`](../../data-types.md) | x ||
|| **MODE**
[`string`](x) | Режим:
- `fast` — быстро
- `slow` — медленно
 ||
|| **LEVEL** ^*^
`integer` | x:
- 1 — one
- 2 — two ||
|#

### Параметр fields {#fields}

#|
|| **Название**
`тип` | **Описание** ||
|| **TITLE** *
[`string`](x) | a | b in `c | d` ||
|| **TAGS**
[`string[]`](x) | x ||
|#

## Примеры кода

- cURL (Webhook)

    ```bash
    curl -X POST \\
    -d '{\"fields\":{\"TITLE\":\"x\"},\"ID\":1}' \\
    https://example/rest/crm.thing.add
    ```

- JS

    ```js
    BX24.callMethod(
        'crm.thing.add',
        {
            fields: { TITLE: 'x', TAGS: ['a', 'b'], },
            ID: 1,
        },
        function(result) {}
    );
    ```

- PHP

    ```php
    $r = $b24->core->call('crm.thing.add', ['fields' => ['TITLE' => 'x'], 'ID' => 1]);
    ```

## Обработка ответа

HTTP-статус: **200**

```json
{
    \"result\": 5, // a comment
    \"time\": {\"start\": 1.5,}
}
```

### Возвращаемые данные

#|
|| **Название**
`тип` | **Описание** ||
|| **result**
[`integer`](x) | x ||
|#

## Обработка ошибок

### Возможные коды ошибок

#|
|| **Статус** | **Код** | **Описание** ||
|| `400` | `ACCESS_DENIED` | x ||
|| `400` | Пустое значение | x ||
|| `400` | `NOT_FOUND` | x ||
|#
";

    #[test]
    fn reads_a_regular_page() {
        let p = read_page(PAGE);
        assert_eq!(p.method.as_deref(), Some("crm.thing.add"));
        assert_eq!(p.title.as_ref().map(|t| t.0), Some(1));
        assert_eq!(p.scopes, vec!["crm"]);
        assert_eq!(p.scope_line, 3);
        assert!(p.deprecated);
        let names: Vec<&str> = p.params.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["fields", "ID", "MODE", "LEVEL"]);
        let req: Vec<bool> = p.params.iter().map(|x| x.required).collect();
        assert_eq!(req, [true, true, false, true]);
        assert_eq!(p.params[0].doc_type, "object");
        assert_eq!(p.params[1].doc_type, "integer");
        assert_eq!(p.params[2].enum_values, vec![json!("fast"), json!("slow")]);
        assert_eq!(p.params[3].enum_values, vec![json!(1), json!(2)]);
        let child: Vec<(&str, bool, &str)> = p.params[0]
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.required, c.doc_type.as_str()))
            .collect();
        assert_eq!(
            child,
            [("TITLE", true, "string"), ("TAGS", false, "string[]")]
        );
        assert_eq!(p.errors, ["ACCESS_DENIED", "NOT_FOUND"]);
        assert_eq!(p.returned.len(), 1);
        assert_eq!(p.returned[0].name, "result");
        let resp = p.response.as_ref().map(|e| e.value.clone());
        assert_eq!(resp, Some(json!({"result": 5, "time": {"start": 1.5}})));
        let reqs: Vec<(&str, Value)> = p
            .requests
            .iter()
            .map(|e| (e.kind, e.value.clone()))
            .collect();
        assert_eq!(
            reqs,
            [
                ("curl", json!({"fields": {"TITLE": "x"}, "ID": 1})),
                (
                    "js",
                    json!({"fields": {"TITLE": "x", "TAGS": ["a", "b"]}, "ID": 1})
                ),
                ("php", json!({"fields": {"TITLE": "x"}, "ID": 1})),
            ]
        );
    }

    #[test]
    fn schema_from_params() {
        let p = read_page(PAGE);
        let s = object_schema(&p.params, true);
        assert_eq!(s["required"], json!(["fields", "ID", "LEVEL"]));
        assert_eq!(s["properties"]["fields"]["required"], json!(["TITLE"]));
        assert_eq!(
            s["properties"]["fields"]["properties"]["TAGS"],
            json!({"type": "array", "items": {"type": "string"}})
        );
        assert_eq!(
            s["properties"]["MODE"],
            json!({"type": "string", "enum": ["fast", "slow"]})
        );
        assert_eq!(
            s["properties"]["LEVEL"],
            json!({"type": "integer", "enum": [1, 2]})
        );
    }

    #[test]
    fn doc_types() {
        assert_eq!(type_schema("integer"), json!({"type": "integer"}));
        assert_eq!(
            type_schema("string | null"),
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            type_schema("crm_status"),
            json!({"x-bitrix-type": "crm_status"})
        );
        assert_eq!(
            type_schema("object[]"),
            json!({"type": "array", "items": {"x-bitrix-type": "object"}})
        );
        assert_eq!(type_schema("array"), json!({"x-bitrix-type": "array"}));
        assert_eq!(
            type_schema("datetime"),
            json!({"type": "string", "format": "date-time"})
        );
        assert_eq!(
            type_schema("integer | string"),
            json!({"x-bitrix-type": "integer | string"})
        );
    }

    #[test]
    fn prose_lists_are_not_enums() {
        assert!(enum_bullets("x:\n- Тип — a\n- Размер — b", "string").is_empty());
        assert!(enum_bullets("x:\n- `<ID>` — a\n- `<X>` — b", "string").is_empty());
        assert!(enum_bullets("x:\n- `a` — a\n- some words here", "string").is_empty());
        assert_eq!(
            enum_bullets("x:\n- `Y` — a\n- `N` — b", "char"),
            vec![json!("Y"), json!("N")]
        );
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
    fn irregular_pages_do_not_panic() {
        let cases = [
            "",
            "#|",
            "#|\n||",
            "|#",
            "# t a.b\n#|\n|| **x\n",
            "```",
            "```json\n{",
            "## Параметры\n#|\n|| **Название** | **Описание** ||\n|| **x** ||\n|#",
            "## Параметры\n#|\n|| **Название** ||\n|| **ё*** `объект` | ||\n|#\n### ё\n#|\n|#",
            "# Метод a.b\n## Обработка ответа\n```json\n{\"result\": [1, 2,, ...]}\n```",
            "# a.b\n## Примеры\n```js\nBX24.callMethod('a.b', {x: y}, f)\n```\n```php\ncall('a.b', ['x' => $y])\n```",
            "**\u{202e}**",
            "\u{feff}# x.y\r\n> Scope: [`crm, базовый, Плохой`]\r\n",
        ];
        for c in cases {
            let _ = read_page(c);
        }
        // Every prefix of the full page, cut at every char boundary.
        for (i, _) in PAGE.char_indices() {
            let _ = read_page(&PAGE[..i]);
        }
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

    #[test]
    fn cells_respect_code_spans_and_escapes() {
        assert_eq!(
            cells(&["a | `b | c` | d \\| e ||"]),
            ["a", "`b | c`", "d | e"]
        );
    }

    #[test]
    fn shell_dates_in_curl_bodies() {
        assert_eq!(
            shell_dates(r#"{"A":"'"$(date --iso-8601=seconds)"'","B":"'"$(date +%Y-%m-%d)"'"}"#),
            r#"{"A":"2025-01-01T00:00:00+03:00","B":"2025-01-01"}"#
        );
    }

    #[test]
    fn literals() {
        assert_eq!(
            js_literal("{a: 'x', 'b': [1, -2.5, true, null,], c: {d: \"e\"}}"),
            Ok(json!({"a": "x", "b": [1, -2.5, true, null], "c": {"d": "e"}}))
        );
        assert!(js_literal("{a: someVar}").is_err());
        assert!(js_literal("{a: 'x' + y}").is_err());
        assert_eq!(
            php_literal("['a' => 1, 'b' => ['x', 'y'], 'c' => ['k' => false]]"),
            Ok(json!({"a": 1, "b": ["x", "y"], "c": {"k": false}}))
        );
        assert!(php_literal("['a' => $x]").is_err());
    }
}
