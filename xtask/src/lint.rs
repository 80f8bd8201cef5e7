//! `cargo xtask lint [--fix] [--strict] [FILES or DIRS]`: the engine's checks plus each spec's
//! front-matter compared with its own body; `--fix` rewrites the front-matter from the body.

use crate::generate::TARGETS;
use crate::{EVENTS_DIR, TYPES_DIR, read_event_specs, read_specs, read_type_specs, write_file};
use codegen::SourceFile;
use std::fs;
use std::path::{Path, PathBuf};

/// One run of the engine's checks: the files linted, and others only read so that
/// references resolve (the type specs of a linted method spec's folder).
struct Set {
    name: String,
    methods: Vec<SourceFile>,
    events: Vec<SourceFile>,
    types: Vec<SourceFile>,
    context: Vec<SourceFile>,
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let fix = args.iter().any(|a| a == "--fix");
    let strict = args.iter().any(|a| a == "--strict");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let mut sets: Vec<Set> = Vec::new();
    if paths.is_empty() {
        for t in TARGETS {
            sets.push(Set {
                name: t.specs.to_owned(),
                methods: read_specs(root, &root.join(t.specs))?,
                events: read_event_specs(root, &root.join(t.specs))?,
                types: read_type_specs(root, &root.join(t.specs))?,
                context: Vec::new(),
            });
        }
    } else {
        // A spec folder's `events/` holds event specs and `types/` type specs (as
        // `generate` reads them): a path inside one is linted as such, a spec folder given
        // gets both too.
        let in_events = |p: &Path| p.file_name().is_some_and(|n| n == EVENTS_DIR);
        let in_types = |p: &Path| p.file_name().is_some_and(|n| n == TYPES_DIR);
        let names: Vec<&str> = paths.iter().map(|p| p.as_str()).collect();
        let mut set = Set {
            name: names.join(" "),
            methods: Vec::new(),
            events: Vec::new(),
            types: Vec::new(),
            context: Vec::new(),
        };
        // Folders whose `types/` the linted method and event specs may refer to.
        let mut folders: Vec<PathBuf> = Vec::new();
        for p in &paths {
            let path = PathBuf::from(p);
            if path.is_dir() {
                match path.parent() {
                    Some(parent) if in_events(&path) => {
                        set.events.extend(read_event_specs(root, parent)?);
                        folders.push(parent.to_path_buf());
                    }
                    Some(parent) if in_types(&path) => {
                        set.types.extend(read_type_specs(root, parent)?);
                    }
                    _ => {
                        set.methods.extend(read_specs(root, &path)?);
                        set.events.extend(read_event_specs(root, &path)?);
                        set.types.extend(read_type_specs(root, &path)?);
                    }
                }
            } else {
                let text =
                    fs::read_to_string(&path).map_err(|e| format!("{p}: cannot read: {e}"))?;
                let file = SourceFile {
                    path: (*p).clone(),
                    text,
                };
                let parent = path.parent().unwrap_or(Path::new("."));
                if in_events(parent) {
                    set.events.push(file);
                    folders.extend(parent.parent().map(Path::to_path_buf));
                } else if in_types(parent) {
                    set.types.push(file);
                } else {
                    set.methods.push(file);
                    folders.push(parent.to_path_buf());
                }
            }
        }
        folders.sort();
        folders.dedup();
        for f in folders {
            for t in read_type_specs(root, &f)? {
                if !set.types.iter().any(|o| o.path == t.path) {
                    set.context.push(t);
                }
            }
        }
        sets.push(set);
    }
    let mut errors = 0;
    for set in sets {
        let all: Vec<SourceFile> = [&set.methods, &set.events, &set.types, &set.context]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let context: std::collections::BTreeSet<&str> =
            set.context.iter().map(|f| f.path.as_str()).collect();
        let mut diags = codegen::check_all(&all).diags;
        diags.0.retain(|d| !context.contains(d.file.as_str()));
        let mut fixed = 0;
        for f in &set.methods {
            let body = codegen::lint::compare(f, strict);
            if fix
                && !body.0.is_empty()
                && let Some(text) = codegen::lint::fix(f)
                && text != f.text
            {
                let path = if Path::new(&f.path).is_absolute() {
                    PathBuf::from(&f.path)
                } else {
                    root.join(&f.path)
                };
                let path = if path.exists() {
                    path
                } else {
                    PathBuf::from(&f.path)
                };
                write_file(&path, &text)?;
                println!("{}: front-matter rewritten from the body", f.path);
                fixed += 1;
                continue;
            }
            diags.0.extend(body.0);
        }
        diags.sort();
        eprint!("{diags}");
        errors += diags.errors().count();
        println!(
            "{}: {} spec(s), {} event spec(s), {} type spec(s) checked, {} error(s), {} warning(s){}",
            set.name,
            set.methods.len(),
            set.events.len(),
            set.types.len(),
            diags.errors().count(),
            diags.warnings().count(),
            if fix {
                format!(", {fixed} fixed")
            } else {
                String::new()
            }
        );
    }
    if errors > 0 {
        Err(format!("lint failed with {errors} error(s)"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::run;
    use std::path::Path;

    /// A bad event spec in an `events/` folder, linted by file and by folder: its own error,
    /// not the method spec's missing `method`.
    #[test]
    fn paths_inside_events_are_linted_as_event_specs() {
        let dir = std::env::temp_dir().join(format!("xtask-lint-{}", std::process::id()));
        let events = dir.join("events");
        std::fs::create_dir_all(&events).unwrap();
        let good = events.join("good.md");
        let bad = events.join("bad.md");
        std::fs::write(&good, "---\nevent: onCrmDealAdd\nscope: crm\n---\n").unwrap();
        std::fs::write(&bad, "---\nevent: \"x y\"\nscope: crm\n---\n").unwrap();
        let arg = |p: &Path| p.to_string_lossy().into_owned();
        let root = Path::new("/");
        assert_eq!(run(root, &[arg(&good)]), Ok(()));
        assert_eq!(
            run(root, &[arg(&bad)]),
            Err("lint failed with 1 error(s)".into())
        );
        assert_eq!(
            run(root, &[arg(&events)]),
            Err("lint failed with 1 error(s)".into())
        );
        std::fs::remove_file(&bad).unwrap();
        // The spec folder: no method specs, its `events/` linted.
        assert_eq!(run(root, &[arg(&dir)]), Ok(()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Type specs in a `types/` folder are linted as type specs (not as method specs), by
    /// file, by folder and as part of their spec folder, whose method generation skips them.
    #[test]
    fn paths_inside_types_are_linted_as_type_specs() {
        let dir = std::env::temp_dir().join(format!("xtask-lint-types-{}", std::process::id()));
        let types = dir.join("types");
        std::fs::create_dir_all(&types).unwrap();
        let good = types.join("crm.multifield.md");
        let bad = types.join("crm.other.md");
        std::fs::write(
            &good,
            "---\ntype: crm.multifield\nscope: crm\nschema: {\"type\": \"object\"}\n---\n",
        )
        .unwrap();
        std::fs::write(&bad, "---\ntype: crm.wrong\nscope: crm\nschema: {}\n---\n").unwrap();
        let arg = |p: &Path| p.to_string_lossy().into_owned();
        let root = Path::new("/");
        let result = [
            run(root, &[arg(&good)]),
            run(root, &[arg(&bad)]),
            run(root, &[arg(&types)]),
        ];
        std::fs::remove_file(&bad).unwrap();
        let folder = run(root, &[arg(&dir)]);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            result,
            [
                Ok(()),
                Err("lint failed with 1 error(s)".into()),
                Err("lint failed with 1 error(s)".into()),
            ]
        );
        assert_eq!(folder, Ok(()));
    }
}
