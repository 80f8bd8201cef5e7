//! `cargo xtask import --docs <dir> [--out specs] [--verbose]`: a fact-only spec for every
//! method page of the official docs; a spec edited by hand is never overwritten.

use crate::{display_path, flag, read_specs, read_tree, write_file};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The method pages of a docs checkout: `<docs>/api-reference/**.md`, read into specs.
/// Imported specs by lower-cased method: (page path, spec).
type ImportedSet = BTreeMap<String, (String, codegen::import::Imported)>;

fn imported_specs(docs_dir: &Path) -> Result<(ImportedSet, Vec<String>), String> {
    let api = docs_dir.join("api-reference");
    let pages = read_tree(&api)?;
    let mut by_method: ImportedSet = BTreeMap::new();
    let mut notes = Vec::new();
    for (rel, text) in &pages {
        match codegen::import::import_page(rel, text) {
            Ok(imp) => {
                let key = imp.method.to_ascii_lowercase();
                // Pages documenting REST 3.0 variants or outdated copies of a method come second.
                let rank = |p: &str| {
                    usize::from(p.contains("rest-v3")) * 2 + usize::from(p.contains("outdated"))
                };
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
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for s in &existing {
        for line in s.text.lines().take(5) {
            if let Some(m) = line.strip_prefix("method:") {
                owner.insert(m.trim().to_ascii_lowercase(), s.path.clone());
            }
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
        let target = match owner.get(&imp.method.to_ascii_lowercase()) {
            Some(path) => root.join(path),
            None => out_dir.join(format!("{}.md", imp.method)),
        };
        let old = fs::read_to_string(&target).ok();
        match old {
            Some(o) if o == imp.text => same += 1,
            Some(o) if !codegen::import::untouched(&o) => {
                kept += 1;
                eprintln!(
                    "{}: not overwritten: written or corrected by hand (no matching import_hash); delete it to re-import",
                    display_path(root, &target)
                );
            }
            _ => {
                write_file(&target, &imp.text)?;
                written += 1;
            }
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
    Ok(())
}
