//! `cargo xtask import --docs <dir> [--out specs] [--verbose]`: a fact-only spec for every
//! method page and event page of the official docs, then the share pass
//! ([`codegen::share`]): shapes many specs use become type specs in `<out>/types/`, and the
//! specs refer to them. A spec or type spec edited by hand is never overwritten; an imported
//! type spec no longer produced is deleted (unless edited by hand or still referred to).

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
    // The event specs, then the share pass over methods and events together: the texts
    // written are the shared ones.
    let (by_event, event_notes) = imported_events(Path::new(docs_dir))?;
    let mut texts: Vec<codegen::share::Text> = by_method
        .iter()
        .map(|((api, m), (_, imp))| codegen::share::Text {
            owner: format!("method:{api:?}:{m}"),
            text: imp.text.clone(),
        })
        .collect();
    texts.extend(by_event.iter().map(|(e, (_, imp))| codegen::share::Text {
        owner: format!("event:{e}"),
        text: imp.text.clone(),
    }));
    let (shared_texts, types) = codegen::share::share_texts(&texts);
    let (method_texts, event_texts) = shared_texts.split_at(by_method.len());
    let (mut written, mut same, mut kept, mut problems) = (0, 0, 0, 0);
    for ((rel, imp), text) in by_method.values().zip(method_texts) {
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
        match write_unless_edited(root, &target, text)? {
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
    import_events(
        root,
        &out_dir,
        &by_event,
        event_texts,
        &event_notes,
        verbose,
    )?;
    import_types(root, &out_dir, &types)
}

/// Imported event specs by lower-cased name (the wire is case-insensitive): (page, spec).
type EventSet = BTreeMap<String, (String, codegen::import_event::ImportedEvent)>;

/// The event pages of a docs checkout, read into event specs, and notes on pages skipped.
fn imported_events(docs_dir: &Path) -> Result<(EventSet, Vec<String>), String> {
    let pages = read_tree(&docs_dir.join("api-reference"))?;
    let mut by_event: EventSet = BTreeMap::new();
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
    Ok((by_event, notes))
}

/// Event specs -> `<out>/events/<event>.md` (same hand-edit protection as method specs);
/// `texts` are their texts after the share pass, in the order of `by_event`.
fn import_events(
    root: &Path,
    out_dir: &Path,
    by_event: &EventSet,
    texts: &[String],
    notes: &[String],
    verbose: bool,
) -> Result<(), String> {
    let events_dir = out_dir.join(crate::EVENTS_DIR);
    let (mut written, mut same, mut kept, mut problems) = (0, 0, 0, 0);
    for ((rel, imp), text) in by_event.values().zip(texts) {
        problems += imp.problems.len();
        if verbose {
            for p in &imp.problems {
                eprintln!("api-reference/{rel}:{}: note: {}", p.line, p.message);
            }
        }
        let target = events_dir.join(format!("{}.md", imp.event));
        match write_unless_edited(root, &target, text)? {
            Outcome::Same => same += 1,
            Outcome::Kept => kept += 1,
            Outcome::Written => written += 1,
        }
    }
    for n in notes {
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

/// The type specs of the share pass -> `<out>/types/<type>.md` (same hand-edit protection);
/// an imported type spec no longer produced is deleted, unless it was edited by hand or a
/// spec still refers to it.
fn import_types(root: &Path, out_dir: &Path, types: &[(String, String)]) -> Result<(), String> {
    let types_dir = out_dir.join(crate::TYPES_DIR);
    let (mut written, mut same, mut kept, mut removed) = (0, 0, 0, 0);
    for (name, text) in types {
        match write_unless_edited(root, &types_dir.join(format!("{name}.md")), text)? {
            Outcome::Same => same += 1,
            Outcome::Kept => kept += 1,
            Outcome::Written => written += 1,
        }
    }
    let produced: std::collections::BTreeSet<&str> =
        types.iter().map(|(n, _)| n.as_str()).collect();
    let existing = crate::read_type_specs(root, out_dir)?;
    // The stale candidates: imported type specs import no longer produces.
    let mut going: Vec<&codegen::SourceFile> = existing
        .iter()
        .filter(|f| {
            !produced.contains(codegen::spec::file_stem(&f.path))
                && codegen::share::remove_stale(&f.text, false)
        })
        .collect();
    if !going.is_empty() {
        // What stays may still refer to a candidate: method and event specs, and the type
        // specs that are not going. A candidate referred to stays too, and may in turn keep
        // others, so this runs to a fixed point (each round keeps at least one, or ends).
        let mut staying = crate::read_specs(root, out_dir)?;
        staying.extend(crate::read_event_specs(root, out_dir)?);
        staying.extend(
            existing
                .iter()
                .filter(|f| !going.iter().any(|g| g.path == f.path))
                .cloned(),
        );
        loop {
            let held = going.iter().position(|f| {
                let reference = format!("\"types/{}\"", codegen::spec::file_stem(&f.path));
                staying.iter().any(|u| {
                    let user_holds = u.text.contains(&reference);
                    if user_holds {
                        eprintln!(
                            "{}: not removed: no longer produced by import, but {} refers to it",
                            f.path, u.path
                        );
                    }
                    user_holds
                })
            });
            match held {
                Some(i) => staying.push(going.remove(i).clone()),
                None => break,
            }
        }
        for f in &going {
            let path = root.join(&f.path);
            fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            removed += 1;
        }
    }
    println!(
        "{} type spec(s) -> {}: {written} written, {same} unchanged, {kept} kept (edited by hand), {removed} removed (no longer produced)",
        types.len(),
        display_path(root, &types_dir),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A folder under the system temp dir, removed when dropped.
    struct Dir(std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn type_text(name: &str, refers_to: Option<&str>) -> String {
        let schema = match refers_to {
            Some(other) => json!({"type": "object", "properties": {
                "ID": {"type": "integer"}, "INNER": {"$ref": format!("types/{other}")}}}),
            None => json!({"type": "object", "properties": {"ID": {"type": "integer"}}}),
        };
        codegen::import::render_type(name, "crm", None, &schema)
    }

    /// Stale imported types `crm.a` (which refers to `crm.b`) and `crm.b`; a method spec that
    /// refers to `crm.a` when `held` is set. Returns which of the two are left after import.
    fn left_after_import(held: bool, tag: &str) -> Vec<String> {
        let root =
            std::env::temp_dir().join(format!("xtask-import-types-{tag}-{}", std::process::id()));
        let dir = Dir(root.clone());
        let specs = root.join("specs");
        fs::create_dir_all(specs.join(crate::TYPES_DIR)).unwrap();
        let types = specs.join(crate::TYPES_DIR);
        fs::write(types.join("crm.a.md"), type_text("crm.a", Some("crm.b"))).unwrap();
        fs::write(types.join("crm.b.md"), type_text("crm.b", None)).unwrap();
        let returns = if held {
            r#"{"$ref": "types/crm.a"}"#
        } else {
            r#"{"type": "object"}"#
        };
        fs::write(
            specs.join("crm.x.get.md"),
            format!("---\nmethod: crm.x.get\nscope: crm\nreturns: {returns}\n---\n"),
        )
        .unwrap();
        import_types(&root, &specs, &[]).unwrap();
        let mut left: Vec<String> = fs::read_dir(&types)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        drop(dir);
        left
    }

    #[test]
    fn stale_types_go_in_one_run_unless_something_staying_refers_to_them() {
        // crm.a goes, so its reference to crm.b keeps nothing: both go at once.
        assert_eq!(left_after_import(false, "free"), Vec::<String>::new());
        // A method spec keeps crm.a, and crm.a keeps crm.b.
        assert_eq!(left_after_import(true, "held"), ["crm.a.md", "crm.b.md"]);
    }

    /// Type specs of the share pass: new ones written, one edited by hand kept, an imported one
    /// no longer made removed, unless a spec still refers to it.
    #[test]
    fn type_specs_are_written_kept_and_removed() {
        let root = std::env::temp_dir().join(format!("xtask-import-types-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let specs = root.join("specs");
        let types = specs.join("types");
        fs::create_dir_all(&types).unwrap();
        let schema = json!({"type": "object", "properties": {"A": {"type": "integer"}}});
        let made = |name: &str| codegen::import::render_type(name, "crm", None, &schema);
        // Edited by hand (its hash no longer matches): never overwritten.
        let edited = made("crm.edited").replace("integer", "string");
        fs::write(types.join("crm.edited.md"), &edited).unwrap();
        // Imported earlier, no longer made: removed, unless referred to.
        fs::write(types.join("crm.gone.md"), made("crm.gone")).unwrap();
        fs::write(types.join("crm.used.md"), made("crm.used")).unwrap();
        fs::write(
            specs.join("crm.x.get.md"),
            "---\nmethod: crm.x.get\nscope: crm\nreturns: {\"$ref\": \"types/crm.used\"}\n---\n",
        )
        .unwrap();
        // Edited by hand and no longer made: kept.
        fs::write(
            types.join("crm.mine.md"),
            "---\ntype: crm.mine\nscope: crm\nschema: {}\n---\n",
        )
        .unwrap();
        let produced = vec![
            ("crm.new".to_owned(), made("crm.new")),
            ("crm.edited".to_owned(), made("crm.edited")),
        ];
        import_types(&root, &specs, &produced).unwrap();
        let read = |n: &str| fs::read_to_string(types.join(format!("{n}.md"))).ok();
        let result = (
            read("crm.new"),
            read("crm.edited"),
            read("crm.gone"),
            read("crm.used").is_some(),
            read("crm.mine").is_some(),
        );
        let _ = fs::remove_dir_all(&root);
        assert_eq!(
            result,
            (Some(made("crm.new")), Some(edited), None, true, true)
        );
    }
}
