//! `cargo xtask import` over the real docs: every page is read without a panic, the output is
//! deterministic, carries no prose, and the committed corpus in `specs/` is what import writes
//! (or was edited by hand, which import then leaves alone).
//!
//! Needs the official docs: `BITRIX24_DOCS` names the checkout (CI sets it to
//! `../shared/bitrix24-docs`); without it the test says it is skipped and passes.

mod common;

use std::collections::BTreeMap;

/// The pages under `$BITRIX24_DOCS/api-reference` (a relative path is taken from the
/// workspace root), or `None` when the variable is not set.
fn docs_pages() -> Option<Vec<(String, String)>> {
    let Some(docs) = std::env::var_os("BITRIX24_DOCS") else {
        eprintln!("skipped: BITRIX24_DOCS is not set; CI sets it to ../shared/bitrix24-docs");
        return None;
    };
    let root = common::workspace().join(docs).join("api-reference");
    assert!(
        root.is_dir(),
        "{}: no such folder (BITRIX24_DOCS must name a checkout of the official docs)",
        root.display()
    );
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned();
                let rel = p
                    .strip_prefix(&root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, text));
            }
        }
    }
    out.sort();
    Some(out)
}

#[test]
fn the_committed_corpus_is_what_import_writes() {
    let Some(pages) = docs_pages() else { return };
    // By (API, method): a REST 3.0 page and a classic page of one name are two specs.
    let mut imported: BTreeMap<(codegen::ApiVersion, String), String> = BTreeMap::new();
    // Types linked on other pages are read from them, as `cargo xtask import` does.
    let by_path: BTreeMap<String, String> = pages.iter().cloned().collect();
    let lookup = |p: &str| by_path.get(p).cloned();
    // Keys a page shows only as `null` are typed from the other pages, as xtask does; the
    // evidence does not depend on the order of the pages.
    let evidence = codegen::import::evidence_of(pages.iter().map(|(_, t)| t.as_str()));
    assert_eq!(
        evidence,
        codegen::import::evidence_of(pages.iter().rev().map(|(_, t)| t.as_str())),
        "the evidence depends on the order of the pages"
    );
    for (rel, text) in &pages {
        let Ok(a) = codegen::import::import_page_with(rel, text, Some(&lookup), Some(&evidence))
        else {
            continue;
        };
        let b = codegen::import::import_page_with(rel, text, Some(&lookup), Some(&evidence))
            .expect("same page, same answer");
        assert_eq!(a.text, b.text, "{rel}: import is not deterministic");
        assert!(codegen::import::untouched(&a.text), "{rel}");
        // Facts only: no Cyrillic (the docs' prose language) in what import writes.
        assert!(
            !a.text.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)),
            "{rel}: imported spec carries Cyrillic text:\n{}",
            a.text
        );
        imported.entry((a.api, a.method.clone())).or_insert(a.text);
    }
    assert!(
        imported.len() > 1000,
        "only {} method pages imported",
        imported.len()
    );
    let specs = common::read_specs("specs");
    let mut by_method: BTreeMap<(codegen::ApiVersion, String), &codegen::SourceFile> =
        BTreeMap::new();
    for s in &specs {
        if let Some(m) = s.text.lines().find_map(|l| l.strip_prefix("method: ")) {
            let api = if s.text.lines().any(|l| l.trim_end() == "api: v3") {
                codegen::ApiVersion::V3
            } else {
                codegen::ApiVersion::Classic
            };
            by_method.insert((api, m.trim().to_owned()), s);
        }
    }
    let v3 = imported
        .keys()
        .filter(|(api, _)| *api == codegen::ApiVersion::V3)
        .count();
    // `Метод относится к REST 3.0` on 106 pages of the docs this corpus was imported from.
    assert!(v3 >= 100, "only {v3} REST 3.0 pages imported");
    for ((api, method), text) in &imported {
        let Some(spec) = by_method.get(&(*api, method.clone())) else {
            panic!(
                "{method} ({api:?}): imported from the docs but missing from specs/ (run cargo xtask import)"
            );
        };
        if codegen::import::untouched(&spec.text) {
            assert_eq!(
                &spec.text, text,
                "{}: stale; run cargo xtask import",
                spec.path
            );
        }
    }
}
