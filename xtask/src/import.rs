//! `cargo xtask import --docs <dir> [--out specs] [--verbose]`: a fact-only spec for every
//! method page of the official docs; a spec edited by hand is never overwritten.

use crate::{display_path, flag, read_specs, read_tree, write_file};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The method pages of a docs checkout: `<docs>/api-reference/**.md`, read into specs.
/// Imported specs by API (classic first) and lower-cased method: (page path, spec). The classic
/// API and REST 3.0 are different endpoints, so one name can have a spec in each.
type ImportedSet = BTreeMap<(codegen::ApiVersion, String), (String, codegen::import::Imported)>;

fn imported_specs(docs_dir: &Path) -> Result<(ImportedSet, Vec<String>), String> {
    let api = docs_dir.join("api-reference");
    let pages = read_tree(&api)?;
    let mut by_method: ImportedSet = BTreeMap::new();
    let mut notes = Vec::new();
    // Pages by path, for types one page links to on another (`crm-deal-get.md#deal`).
    let by_path: BTreeMap<&str, &str> = pages
        .iter()
        .map(|(r, t)| (r.as_str(), t.as_str()))
        .collect();
    let lookup = |p: &str| by_path.get(p).map(|t| (*t).to_owned());
    // What every page's examples show, for keys a page shows only as `null`.
    let evidence = codegen::import::evidence_of(pages.iter().map(|(_, t)| t.as_str()));
    for (rel, text) in &pages {
        match codegen::import::import_page_with(rel, text, Some(&lookup), Some(&evidence)) {
            Ok(imp) => {
                let key = (imp.api, imp.method.to_ascii_lowercase());
                // Outdated copies of a method come second.
                let rank = |p: &str| usize::from(p.contains("outdated"));
                match by_method.get(&key) {
                    Some((other, _)) if rank(other) <= rank(rel) => {
                        notes.push(format!(
                            "api-reference/{rel}: `{}` is already imported from api-reference/{other}; skipped",
                            imp.method
                        ));
                    }
                    Some((other, _)) => {
                        notes.push(format!(
                            "api-reference/{other}: `{}` is also documented in api-reference/{rel}, which is preferred; skipped",
                            imp.method
                        ));
                        by_method.insert(key, (rel.clone(), imp));
                    }
                    None => {
                        by_method.insert(key, (rel.clone(), imp));
                    }
                }
            }
            Err(codegen::import::Skip::NotAMethod) => {}
            Err(codegen::import::Skip::Unusable(why)) => {
                notes.push(format!("api-reference/{rel}: skipped: {why}"));
            }
        }
    }
    Ok((by_method, notes))
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let docs_dir = flag(args, "--docs")
        .ok_or("usage: cargo xtask import --docs <dir> [--out <dir>] [--verbose]")?;
    let out_dir = root.join(flag(args, "--out").unwrap_or("specs"));
    let verbose = args.iter().any(|a| a == "--verbose");
    let (by_method, notes) = imported_specs(Path::new(docs_dir))?;
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    // Existing specs, by method (the file name is free, the method key decides).
    let existing = read_specs(root, &out_dir)?;
    // Keyed like `by_method`: (API, lower-cased method); `api:` absent means classic.
    let mut owner: BTreeMap<(codegen::ApiVersion, String), String> = BTreeMap::new();
    for s in &existing {
        let (mut method, mut api) = (None, codegen::ApiVersion::Classic);
        for line in s.text.lines().skip(1).take_while(|l| l.trim_end() != "---") {
            if let Some(m) = line.strip_prefix("method:") {
                method = Some(m.trim().to_ascii_lowercase());
            }
            if line.strip_prefix("api:").is_some_and(|a| a.trim() == "v3") {
                api = codegen::ApiVersion::V3;
            }
        }
        if let Some(m) = method {
            owner.insert((api, m), s.path.clone());
        }
    }
    let (mut written, mut same, mut kept, mut problems) = (0, 0, 0, 0);
    for (rel, imp) in by_method.values() {
        problems += imp.problems.len();
        if verbose {
            for p in &imp.problems {
                eprintln!("api-reference/{rel}:{}: note: {}", p.line, p.message);
            }
        }
        let lower = imp.method.to_ascii_lowercase();
        let target = match owner.get(&(imp.api, lower.clone())) {
            Some(path) => root.join(path),
            // A REST 3.0 method that also exists in the classic API: `<method>.v3.md`.
            None if imp.api == codegen::ApiVersion::V3
                && by_method.contains_key(&(codegen::ApiVersion::Classic, lower)) =>
            {
                out_dir.join(format!("{}.v3.md", imp.method))
            }
            None => out_dir.join(format!("{}.md", imp.method)),
        };
        match write_unless_edited(root, &target, &imp.text)? {
            Outcome::Same => same += 1,
            Outcome::Kept => kept += 1,
            Outcome::Written => written += 1,
        }
    }
    for n in &notes {
        eprintln!("{n}");
    }
    println!(
        "{} method page(s) -> {}: {written} written, {same} unchanged, {kept} kept (edited by hand); {} page(s) skipped; {problems} irregularities (--verbose lists them)",
        by_method.len(),
        display_path(root, &out_dir),
        notes.len()
    );
    import_events(root, Path::new(docs_dir), &out_dir, verbose)
}

/// Event pages -> `<out>/events/<event>.md` (same hand-edit protection as method specs).
fn import_events(
    root: &Path,
    docs_dir: &Path,
    out_dir: &Path,
    verbose: bool,
) -> Result<(), String> {
    let pages = read_tree(&docs_dir.join("api-reference"))?;
    let events_dir = out_dir.join(crate::EVENTS_DIR);
    // By lower-cased name (the wire is case-insensitive): (page, spec).
    let mut by_event: BTreeMap<String, (String, codegen::import_event::ImportedEvent)> =
        BTreeMap::new();
    let mut notes = Vec::new();
    for (rel, text) in &pages {
        match codegen::import_event::import_event_page(rel, text) {
            Ok(imp) => {
                let key = imp.event.to_ascii_lowercase();
                if let Some((other, _)) = by_event.get(&key) {
                    notes.push(format!(
                        "api-reference/{rel}: event `{}` is already imported from api-reference/{other}; skipped",
                        imp.event
                    ));
                } else {
                    by_event.insert(key, (rel.clone(), imp));
                }
            }
            Err(codegen::import::Skip::NotAMethod) => {}
            Err(codegen::import::Skip::Unusable(why)) => {
                notes.push(format!("api-reference/{rel}: event page not read: {why}"));
            }
        }
    }
    let (mut written, mut same, mut kept, mut problems) = (0, 0, 0, 0);
    for (rel, imp) in by_event.values() {
        problems += imp.problems.len();
        if verbose {
            for p in &imp.problems {
                eprintln!("api-reference/{rel}:{}: note: {}", p.line, p.message);
            }
        }
        let target = events_dir.join(format!("{}.md", imp.event));
        match write_unless_edited(root, &target, &imp.text)? {
            Outcome::Same => same += 1,
            Outcome::Kept => kept += 1,
            Outcome::Written => written += 1,
        }
    }
    for n in &notes {
        eprintln!("{n}");
    }
    println!(
        "{} event page(s) -> {}: {written} written, {same} unchanged, {kept} kept (edited by hand); {} page(s) not read; {problems} irregularities (--verbose lists them)",
        by_event.len(),
        display_path(root, &events_dir),
        notes.len()
    );
    Ok(())
}

/// What [`write_unless_edited`] did with one imported spec.
enum Outcome {
    /// The file already had this text.
    Same,
    /// The file was written or corrected by hand (no matching `import_hash`): left alone.
    Kept,
    /// The file was new or still as an earlier import wrote it: (over)written.
    Written,
}

/// Writes an imported spec to `target` unless the file there was edited by hand.
fn write_unless_edited(root: &Path, target: &Path, text: &str) -> Result<Outcome, String> {
    match fs::read_to_string(target).ok() {
        Some(old) if old == text => Ok(Outcome::Same),
        Some(old) if !codegen::import::untouched(&old) => {
            eprintln!(
                "{}: not overwritten: written or corrected by hand (no matching import_hash); delete it to re-import",
                display_path(root, target)
            );
            Ok(Outcome::Kept)
        }
        _ => {
            write_file(target, text)?;
            Ok(Outcome::Written)
        }
    }
}
