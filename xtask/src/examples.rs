//! `cargo xtask examples --docs <dir> [--check]`: the JSON examples of the official docs'
//! method pages, extracted as data into `tests/fidelity/examples.jsonl`, so the fidelity test
//! (`generated/tests/fidelity.rs`) runs in a bare clone.
//!
//! Only JSON values and their coordinates are kept (page, line, kind, method), never the
//! docs' prose. The file is deterministic: a header line, then one line per page sorted by
//! path, its examples in page order, each value compact with its keys sorted.
//!
//! What is taken is exactly what the fidelity test used to read from the docs: every page
//! under `api-reference/` that `codegen::import::import_page` accepts (REST 3.0 pages, which
//! document another endpoint, left out), its method as import names it, the `result` of its
//! success-response example (an example that is an error envelope is not a success example)
//! and every request example (cURL JSON bodies, JS and PHP parameter literals).

use crate::{flag, read_tree, write_file};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Where the data goes, relative to the workspace root.
pub const OUT: &str = "tests/fidelity/examples.jsonl";

/// The first line of the file.
pub const HEADER: &str = r#"{"@generated":"by `cargo xtask examples --docs <dir>` from the official docs: one line per page: {page, method, examples: [{at: [kind:line, ...], value}]}; do not edit"}"#;

const USAGE: &str = "usage: cargo xtask examples --docs <dir> [--check]";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let docs = flag(args, "--docs").ok_or(USAGE)?;
    let check = args.iter().any(|a| a == "--check");
    let (text, count) = extract_from(Path::new(docs))?;
    let path = root.join(OUT);
    let old = match fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{OUT}: cannot read: {e}")),
    };
    if old.as_deref() == Some(text.as_str()) {
        println!("{OUT}: up to date with {docs} ({count} examples)");
        return Ok(());
    }
    if check {
        return Err(format!(
            "{}{OUT}: {}; run `cargo xtask examples --docs {docs}` and commit the result",
            differences(old.as_deref().unwrap_or(""), &text),
            if old.is_some() {
                "not up to date with the docs"
            } else {
                "missing"
            }
        ));
    }
    write_file(&path, &text)?;
    println!(
        "{OUT}: {count} examples from {docs} written ({} bytes)",
        text.len()
    );
    Ok(())
}

/// The data file for the docs checkout `docs` (the folder that holds `api-reference/`), and
/// the number of examples in it.
pub fn extract_from(docs: &Path) -> Result<(String, usize), String> {
    let api = docs.join("api-reference");
    if !api.is_dir() {
        return Err(format!(
            "{}: no such folder; --docs must name a checkout of the official docs",
            api.display()
        ));
    }
    Ok(extract(&read_tree(&api)?))
}

/// One example: where it is and what it is.
struct Entry {
    line: usize,
    kind: &'static str,
    value: Value,
}

/// The data file for `pages` (path under `api-reference/` with `/`, text), and the number of
/// examples in it. The order of `pages` does not matter.
///
/// One line per page: `{"page", "method", "examples": [{"at": ["<kind>:<line>", …], "value"}]}`.
/// A value given more than once on a page (the same request as cURL, JS and PHP) is written
/// once with every place it is given; values are in the order of their first place.
pub fn extract(pages: &[(String, String)]) -> (String, usize) {
    let mut by_page: BTreeMap<String, (String, Vec<Entry>)> = BTreeMap::new();
    for (rel, text) in pages {
        // REST 3.0 pages document another endpoint; the importer takes the classic page.
        if rel.contains("rest-v3") {
            continue;
        }
        let Ok(imported) = codegen::import::import_page(rel, text) else {
            continue;
        };
        let page = codegen::docs::read_page(text);
        let mut entries = Vec::new();
        // The `result` the importer reconciles `returns` with: none for an error envelope,
        // and without the envelope's `time` on a page that leaves the envelope out.
        if let (Some(ex), Some(value)) = (&page.response, codegen::import::shown_result(&page)) {
            entries.push(Entry {
                line: ex.line,
                kind: ex.kind,
                value,
            });
        }
        for ex in &page.requests {
            entries.push(Entry {
                line: ex.line,
                kind: ex.kind,
                value: ex.value.clone(),
            });
        }
        if !entries.is_empty() {
            entries.sort_by(|a, b| (a.line, a.kind).cmp(&(b.line, b.kind)));
            by_page.insert(format!("api-reference/{rel}"), (imported.method, entries));
        }
    }
    let mut out = String::from(HEADER);
    out.push('\n');
    let mut count = 0;
    for (page, (method, entries)) in &by_page {
        count += entries.len();
        let mut values: Vec<(&Value, Vec<String>)> = Vec::new();
        for e in entries {
            let at = format!("{}:{}", e.kind, e.line);
            match values.iter_mut().find(|(v, _)| *v == &e.value) {
                Some((_, places)) => places.push(at),
                None => values.push((&e.value, vec![at])),
            }
        }
        let examples: Vec<String> = values
            .iter()
            .map(|(v, at)| {
                let v = codegen::json::sorted(v);
                format!("{{\"at\":{},\"value\":{v}}}", Value::from(at.clone()))
            })
            .collect();
        // Keys in a fixed order, and every value's keys sorted (`json::sorted`: the
        // workspace's serde_json keeps insertion order), so the whole line is deterministic.
        out.push_str(&format!(
            "{{\"page\":{},\"method\":{},\"examples\":[{}]}}\n",
            Value::from(page.as_str()),
            Value::from(method.as_str()),
            examples.join(",")
        ));
    }
    (out, count)
}

/// The pages whose lines differ between two data files, one a line (the lines are too long
/// for a text diff to be read), at most 50.
pub fn differences(old: &str, new: &str) -> String {
    fn by_page(text: &str) -> BTreeMap<String, &str> {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                let page = serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|v| v.get("page").and_then(Value::as_str).map(str::to_owned));
                (page.unwrap_or_else(|| format!("line {}", i + 1)), l)
            })
            .collect()
    }
    let (old, new) = (by_page(old), by_page(new));
    let mut out = Vec::new();
    for (page, line) in &new {
        match old.get(page) {
            None => out.push(format!("{page}: missing (would be added)")),
            Some(o) if o != line => out.push(format!("{page}: changed")),
            Some(_) => {}
        }
    }
    for page in old.keys().filter(|p| !new.contains_key(*p)) {
        out.push(format!("{page}: stale (would be removed)"));
    }
    out.sort();
    let n = out.len();
    out.truncate(50);
    let mut text = out.join("\n");
    if n > 50 {
        text.push_str(&format!("\n... and {} more", n - 50));
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A method page in the docs' layout, written here (not copied from the docs).
    const PAGE: &str = "# Получить x.item.get\n\n> Scope: [`x`](../scopes.md)\n\n## Параметры\n\n#|\n|| **Параметр** / **Тип** | **Описание** ||\n|| **ID***\n[`integer`](../t.md) | Идентификатор. ||\n|#\n\n## Пример\n\n```js\nBX24.callMethod('x.item.get', {\"ID\": 7});\n```\n\n## Ответ в случае успеха\n\n```json\n{\"result\": {\"ID\": \"7\", \"NAME\": \"a\"}, \"time\": {\"start\": 1}}\n```\n";

    #[test]
    fn a_page_gives_its_examples_as_one_line_each() {
        let (text, count) = extract(&[("x/x-item-get.md".into(), PAGE.into())]);
        assert_eq!(count, 2, "{text}");
        assert_eq!(
            text,
            format!(
                "{HEADER}\n{}\n",
                r#"{"page":"api-reference/x/x-item-get.md","method":"x.item.get","examples":[{"at":["js:16"],"value":{"ID":7}},{"at":["response:22"],"value":{"ID":"7","NAME":"a"}}]}"#,
            )
        );
        // No prose: the page's description and headings do not reach the data.
        assert!(!text.contains("Идентификатор") && !text.contains("Получить"));
    }

    #[test]
    fn a_value_given_twice_on_a_page_is_written_once_with_both_places() {
        let twice = PAGE.replace(
            "## Ответ",
            "```php\n$r = $b->call('x.item.get', ['ID' => 7]);\n```\n\n## Ответ",
        );
        let (text, count) = extract(&[("x/x-item-get.md".into(), twice)]);
        assert_eq!(count, 3, "{text}");
        assert!(
            text.contains(r#"{"at":["js:16","php:20"],"value":{"ID":7}}"#),
            "{text}"
        );
    }

    #[test]
    fn output_does_not_depend_on_page_order() {
        let other = PAGE.replace("x.item.get", "x.item.list");
        let a = extract(&[
            ("x/x-item-get.md".into(), PAGE.into()),
            ("x/x-item-list.md".into(), other.clone()),
        ]);
        let b = extract(&[
            ("x/x-item-list.md".into(), other),
            ("x/x-item-get.md".into(), PAGE.into()),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.1, 4);
    }

    #[test]
    fn error_envelopes_rest_v3_pages_and_other_pages_are_left_out() {
        let error = PAGE.replace(
            r#"{"result": {"ID": "7", "NAME": "a"}, "time": {"start": 1}}"#,
            r#"{"error": "NOT_FOUND", "error_description": "x"}"#,
        );
        let (text, count) = extract(&[
            ("x/x-item-get.md".into(), error),
            ("rest-v3/x/x-item-get.md".into(), PAGE.into()),
            ("x/index.md".into(), "# Обзор\n\nТекст.\n".into()),
        ]);
        assert_eq!(count, 1, "{text}");
        assert!(
            text.contains(r#""at":["js:16"]"#) && !text.contains("NOT_FOUND"),
            "{text}"
        );
    }

    #[test]
    fn differences_name_the_pages() {
        let (a, _) = extract(&[("x/x-item-get.md".into(), PAGE.into())]);
        let (b, _) = extract(&[(
            "x/x-item-list.md".into(),
            PAGE.replace("x.item.get", "x.item.list"),
        )]);
        assert_eq!(differences(&a, &a), "");
        assert_eq!(
            differences(&a, &b),
            "api-reference/x/x-item-get.md: stale (would be removed)\napi-reference/x/x-item-list.md: missing (would be added)\n"
        );
        let c = a.replace("\"ID\":7", "\"ID\":8");
        assert_eq!(
            differences(&a, &c),
            "api-reference/x/x-item-get.md: changed\n"
        );
        assert_eq!(differences("", &a).lines().count(), 2);
    }

    #[test]
    fn a_folder_without_api_reference_is_an_error_naming_it() {
        let e = extract_from(Path::new("/nonexistent/docs")).unwrap_err();
        assert!(
            e.starts_with("/nonexistent/docs/api-reference: no such folder"),
            "{e}"
        );
    }

    /// The committed data is what the docs give. Needs the docs: `BITRIX24_DOCS` (CI sets it
    /// to `../shared/bitrix24-docs`); skipped, saying so, when it is not set.
    #[test]
    fn the_committed_examples_are_up_to_date_with_the_docs() {
        let root = crate::workspace_root();
        let Some(docs) = std::env::var_os("BITRIX24_DOCS") else {
            eprintln!(
                "skipped: BITRIX24_DOCS is not set; CI sets it to ../shared/bitrix24-docs (the check needs the official docs)"
            );
            return;
        };
        // A relative path is taken from the workspace root.
        let docs = root.join(docs);
        assert!(
            docs.is_dir(),
            "BITRIX24_DOCS={}: no such folder",
            docs.display()
        );
        let (want, count) = extract_from(&docs).unwrap_or_else(|e| panic!("{e}"));
        assert!(count > 1000, "only {count} examples in {}", docs.display());
        let have = fs::read_to_string(root.join(OUT)).unwrap_or_else(|e| panic!("{OUT}: {e}"));
        if have != want {
            panic!(
                "{}{OUT} is not up to date with {}; run `cargo xtask examples --docs {}` and commit the result",
                differences(&have, &want),
                docs.display(),
                docs.display()
            );
        }
    }
}
