//! `cargo xtask import` over the real docs: every page is read without a panic, the output is
//! deterministic, carries no prose, and the committed corpus in `specs/` (method specs, event
//! specs and the type specs of the share pass) is what import writes (or was edited by hand,
//! which import then leaves alone).
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
    // Value: (page, text); an outdated copy of a method comes second, as in `cargo xtask import`.
    let mut imported: BTreeMap<(codegen::ApiVersion, String), (String, String)> = BTreeMap::new();
    let rank = |p: &str| usize::from(p.contains("outdated"));
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
        let key = (a.api, a.method.to_ascii_lowercase());
        match imported.get(&key) {
            Some((other, _)) if rank(other) <= rank(rel) => {}
            _ => {
                imported.insert(key, (rel.clone(), a.text));
            }
        }
    }
    // Event pages, the first page of a name (case ignored) winning, as import does.
    let mut events: BTreeMap<String, String> = BTreeMap::new();
    for (rel, text) in &pages {
        if let Ok(e) = codegen::import_event::import_event_page(rel, text) {
            events.entry(e.event.to_ascii_lowercase()).or_insert(e.text);
        }
    }
    // The share pass over both, as `cargo xtask import` runs it.
    let mut texts: Vec<codegen::share::Text> = imported
        .iter()
        .map(|((api, m), (_, text))| codegen::share::Text {
            owner: format!("method:{api:?}:{m}"),
            text: text.clone(),
        })
        .collect();
    texts.extend(events.iter().map(|(e, text)| codegen::share::Text {
        owner: format!("event:{e}"),
        text: text.clone(),
    }));
    let (shared, types) = codegen::share::share_texts(&texts);
    let again = codegen::share::share_texts(&texts);
    assert!(
        again == (shared.clone(), types.clone()),
        "the share pass is not deterministic"
    );
    let imported: BTreeMap<(codegen::ApiVersion, String), String> = imported
        .into_iter()
        .zip(&shared)
        .map(|((k, _), text)| (k, text.clone()))
        .collect();
    let events: BTreeMap<String, String> = events
        .into_keys()
        .zip(&shared[imported.len()..])
        .map(|(k, text)| (k, text.clone()))
        .collect();
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
            by_method.insert((api, m.trim().to_ascii_lowercase()), s);
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
    // Event specs.
    for e in common::read_event_specs("specs") {
        let Some(name) = e.text.lines().find_map(|l| l.strip_prefix("event: ")) else {
            continue;
        };
        if let Some(text) = events.get(&name.trim().to_ascii_lowercase())
            && codegen::import::untouched(&e.text)
        {
            assert_eq!(&e.text, text, "{}: stale; run cargo xtask import", e.path);
        }
    }
    // Type specs: every one import makes is committed (as made, unless edited by hand), and
    // no imported one is left that import no longer makes.
    let committed: BTreeMap<String, codegen::SourceFile> = specs
        .iter()
        .filter(|s| s.path.starts_with("specs/types/"))
        .map(|s| {
            let stem = s.path["specs/types/".len()..].trim_end_matches(".md");
            (stem.to_owned(), s.clone())
        })
        .collect();
    for (name, text) in &types {
        let Some(file) = committed.get(name) else {
            panic!("specs/types/{name}.md: made by import but missing (run cargo xtask import)");
        };
        if codegen::import::untouched(&file.text) {
            assert_eq!(
                &file.text, text,
                "{}: stale; run cargo xtask import",
                file.path
            );
        }
    }
    for (name, file) in &committed {
        assert!(
            types.iter().any(|(n, _)| n == name) || !codegen::import::untouched(&file.text),
            "{}: an imported type spec import no longer makes; run cargo xtask import",
            file.path
        );
    }
}
