//! Shared helpers: reading spec folders of the workspace (tests may do I/O; the engine may not).

#![allow(dead_code)]

use codegen::{Generated, Options, SourceFile};
use std::path::{Path, PathBuf};

pub fn workspace() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Every `*.md` under `rel` (relative to the workspace), named by its workspace-relative path;
/// `rel/events/` holds event specs, not method specs, and is left out (as `cargo xtask` does).
pub fn read_specs(rel: &str) -> Vec<SourceFile> {
    let root = workspace();
    let mut out = Vec::new();
    let events = root.join(rel).join("events");
    let mut stack = vec![root.join(rel)];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if p != events {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "md") {
                let text =
                    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let name = p
                    .strip_prefix(&root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(SourceFile { path: name, text });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

pub fn options(runtime: &str, spec_dir: &str) -> Options {
    Options {
        runtime_path: runtime.to_owned(),
        spec_dir: spec_dir.to_owned(),
    }
}

pub fn generate(files: &[SourceFile], opts: &Options) -> Generated {
    codegen::generate(files, opts).unwrap_or_else(|d| panic!("generation failed:\n{d}"))
}

/// The files of one generation run as one text, each under a `=== path` line.
pub fn concat(g: &Generated, keep: impl Fn(&str, &str) -> bool) -> String {
    let mut out = String::new();
    for (path, text) in &g.files {
        if keep(path, text) {
            out.push_str(&format!("=== {path}\n{text}"));
        }
    }
    out
}

/// The event specs of `rel/events/` (relative to the workspace), sorted by path.
pub fn read_event_specs(rel: &str) -> Vec<SourceFile> {
    let root = workspace();
    let dir = root.join(rel).join("events");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| SourceFile {
            text: std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            path: format!(
                "{rel}/events/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            ),
        })
        .collect()
}

/// `events.rs` of the event specs in `rel/events/`.
pub fn generate_events(files: &[SourceFile], opts: &Options) -> String {
    codegen::generate_events(files, opts)
        .unwrap_or_else(|d| panic!("event generation failed:\n{d}"))
        .unwrap_or_else(|| panic!("no event specs"))
}
