//! `cargo xtask generate` and `cargo xtask check`: specs → the generated crates. `generate`
//! writes a file only when its content changed; `check` writes nothing and prints a unified
//! diff of every file that is not up to date.

use crate::{diff, display_path, read_event_specs, read_specs, read_type_specs, write_file};
use codegen::{Diagnostics, Generated, Options};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// One spec folder and the crate generated from it.
pub struct Target {
    /// Spec folder, relative to the workspace root.
    pub specs: &'static str,
    /// Crate folder, relative to the workspace root; output goes to `<crate>/src/api/`.
    pub krate: &'static str,
    /// Runtime path as seen from the generated code.
    pub runtime: &'static str,
    /// Hand-written features of the crate that are on by default besides the scopes
    /// (defined after the generated block of its Cargo.toml).
    pub defaults: &'static [&'static str],
}

pub const TARGETS: &[Target] = &[
    Target {
        specs: "specs",
        krate: "generated",
        runtime: "::bitrix24_runtime",
        // The runtime's default features, forwarded (the crate turns them off in its
        // dependency on the runtime so that users can).
        defaults: &["chrono", "tracing"],
    },
    Target {
        specs: "tests/fixtures/specs",
        krate: "tests",
        runtime: "::bitrix24_runtime",
        defaults: &[],
    },
];

const BEGIN: &str = "# @generated features begin\n";
const END: &str = "# @generated features end\n";

#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Write,
    Check,
}

fn print_warnings(d: &Diagnostics) {
    for w in d.warnings() {
        eprintln!("{w}");
    }
}

/// Everything a target's generated output consists of: files under `src/api/` and Cargo.toml.
fn expected(
    root: &Path,
    t: &Target,
) -> Result<(Generated, usize, BTreeMap<PathBuf, String>), String> {
    let mut sources = read_specs(root, &root.join(t.specs))?;
    let count = sources.len();
    if sources.is_empty() {
        return Err(format!("{}: no spec files (*.md) found", t.specs));
    }
    // Type specs are generated with the methods (`api::types`); event specs are read too,
    // for which types they use.
    let type_sources = read_type_specs(root, &root.join(t.specs))?;
    let event_sources = read_event_specs(root, &root.join(t.specs))?;
    sources.extend(type_sources.iter().cloned());
    sources.extend(event_sources.iter().cloned());
    let opts = Options {
        runtime_path: t.runtime.to_owned(),
        spec_dir: t.specs.to_owned(),
    };
    let generated = codegen::generate(&sources, &opts).map_err(|d| {
        format!(
            "{d}{} error(s) in {}; nothing was written",
            d.errors().count(),
            t.specs
        )
    })?;
    let mut files = BTreeMap::new();
    let api = root.join(t.krate).join("src").join("api");
    for (rel, text) in &generated.files {
        files.insert(api.join(rel), text.clone());
    }
    // Event specs (`<specs>/events/`): `<crate>/src/events.rs`, and their scopes as features.
    let mut scopes = generated.scopes.clone();
    let with_types: Vec<codegen::SourceFile> =
        event_sources.iter().chain(&type_sources).cloned().collect();
    let events = codegen::generate_events(&with_types, &opts).map_err(|d| {
        format!(
            "{d}{} error(s) in {}/events; nothing was written",
            d.errors().count(),
            t.specs
        )
    })?;
    if let Some(text) = events {
        files.insert(root.join(t.krate).join("src").join("events.rs"), text);
        for f in &event_sources {
            let mut d = Diagnostics::default();
            if let Some(e) = codegen::spec::parse_event(f, &mut d) {
                scopes.insert(e.scope);
            }
        }
    }
    let manifest = root.join(t.krate).join("Cargo.toml");
    let current =
        fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let features = with_defaults(&codegen::features_toml(&scopes), t.defaults);
    let updated = replace_features(&current, &features).ok_or_else(|| {
        format!(
            "{}: the `{}` / `{}` marker lines are missing",
            manifest.display(),
            BEGIN.trim(),
            END.trim()
        )
    })?;
    files.insert(manifest, updated);
    Ok((generated, count, files))
}

/// Adds `extra` to the `default = [...]` line of a features table, after the scopes.
fn with_defaults(features: &str, extra: &[&str]) -> String {
    if extra.is_empty() {
        return features.to_owned();
    }
    let quoted: Vec<String> = extra.iter().map(|f| format!("\"{f}\"")).collect();
    features
        .lines()
        .map(|line| {
            match line
                .strip_prefix("default = [")
                .and_then(|l| l.strip_suffix(']'))
            {
                Some("") => format!("default = [{}]", quoted.join(", ")),
                Some(list) => format!("default = [{list}, {}]", quoted.join(", ")),
                None => line.to_owned(),
            }
        })
        .map(|line| line + "\n")
        .collect()
}

fn replace_features(manifest: &str, features: &str) -> Option<String> {
    let b = manifest.find(BEGIN)? + BEGIN.len();
    let e = manifest[b..].find(END)? + b;
    Some(format!("{}{}{}", &manifest[..b], features, &manifest[e..]))
}

/// Existing generated files: every `.rs` under `<crate>/src/api/`.
fn existing(root: &Path, t: &Target) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join(t.krate).join("src").join("api")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.insert(p.clone(), fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out
}

pub fn run(root: &Path, mode: Mode) -> Result<(), String> {
    let mut drift = String::new();
    let mut drifted = 0usize;
    for t in TARGETS {
        let (generated, count, want) = expected(root, t)?;
        print_warnings(&generated.warnings);
        let mut have = existing(root, t);
        let manifest = root.join(t.krate).join("Cargo.toml");
        have.insert(
            manifest.clone(),
            fs::read_to_string(&manifest).unwrap_or_default(),
        );
        let events = root.join(t.krate).join("src").join("events.rs");
        if let Ok(text) = fs::read_to_string(&events) {
            have.insert(events, text);
        }
        let mut written = 0;
        for (path, text) in &want {
            let old = have.get(path);
            if old == Some(text) {
                continue;
            }
            match mode {
                Mode::Write => {
                    write_file(path, text)?;
                    written += 1;
                }
                Mode::Check => {
                    drifted += 1;
                    let name = display_path(root, path);
                    let (label, old) = match old {
                        Some(o) => ("changed", o.as_str()),
                        None => ("missing (would be added)", ""),
                    };
                    let _ = writeln!(drift, "{name}: {label}");
                    diff(&mut drift, &name, old, text);
                }
            }
        }
        let mut removed = 0;
        for path in have.keys() {
            if want.contains_key(path) {
                continue;
            }
            match mode {
                Mode::Write => {
                    fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
                    removed += 1;
                }
                Mode::Check => {
                    drifted += 1;
                    let _ = writeln!(
                        drift,
                        "{}: stale (would be removed)",
                        display_path(root, path)
                    );
                }
            }
        }
        if mode == Mode::Write {
            remove_empty_dirs(&root.join(t.krate).join("src").join("api"));
            println!(
                "{}: {} spec(s) -> {}/src/api: {} file(s) written, {} removed, {} unchanged",
                t.specs,
                count,
                t.krate,
                written,
                removed,
                want.len() - written,
            );
        }
    }
    if drifted > 0 {
        return Err(format!(
            "{drift}\n{drifted} generated file(s) are not up to date with the specs; run `cargo xtask generate` and commit the result"
        ));
    }
    if mode == Mode::Check {
        println!("generated code is up to date with the specs");
    }
    Ok(())
}

fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            remove_empty_dirs(&p);
            let _ = fs::remove_dir(&p); // fails, harmlessly, when not empty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_defaults;

    #[test]
    fn hand_written_defaults_follow_the_scopes() {
        let f = "[features]\ndefault = [\"crm\", \"im\"]\n\"crm\" = []\n\"im\" = []\n";
        assert_eq!(
            with_defaults(f, &["chrono", "tracing"]),
            "[features]\ndefault = [\"crm\", \"im\", \"chrono\", \"tracing\"]\n\"crm\" = []\n\"im\" = []\n"
        );
        assert_eq!(
            with_defaults("[features]\ndefault = []\n", &["tracing"]),
            "[features]\ndefault = [\"tracing\"]\n"
        );
        assert_eq!(with_defaults(f, &[]), f);
    }
}
