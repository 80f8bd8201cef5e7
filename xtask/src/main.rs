//! `cargo xtask <command>`: the only place that reads specs from disk and writes generated
//! files. The engine (`codegen`) does no I/O.
//!
//! One module per command; this file parses the arguments and holds the helpers the commands
//! share: reading spec folders and doc trees, naming paths, writing files, printing diffs.

mod bench;
mod coverage;
mod examples;
mod generate;
mod import;
mod lint;

use codegen::SourceFile;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  generate   read specs/ and tests/fixtures/specs/, write the generated crates
  check      fail with a diff when the committed generated code differs from the specs
  lint       check the specs (or the given files/folders) without writing anything;
             `lint --fix` rewrites a spec's front-matter from its body's tables
  import --docs <dir> [--out specs]
             write a fact-only spec for every method page of the docs (never overwrites
             a spec edited by hand)
  examples --docs <dir> [--check]
             extract the docs' JSON examples (response results, request bodies) into
             tests/fidelity/examples.jsonl for the fidelity test; `--check` writes
             nothing and fails when the file is not up to date
  coverage [--methods] [--open]
             over the docs' examples, the share of values that land in typed
             fields (results, requests, per method with --methods) and the
             methods whose result is still any JSON; --open: where the open
             leaves are and why (any JSON, undeclared key, kind mismatch)
  bench [--baseline <dir>] [--builds <text>]
             time generation and the generated crate's builds, wall and CPU (run with
             --release: `cargo run --release -p xtask -- bench`); with --baseline, the
             same builds of another checkout (e.g. a worktree of an older commit) one
             after the other, with the ratios; --builds times only the builds whose
             label contains <text> (`all-features`, `crm`, `disk`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("generate") => generate::run(&root, generate::Mode::Write),
        Some("check") => generate::run(&root, generate::Mode::Check),
        Some("lint") => lint::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("import") => import::run(&root, &args[1..]),
        Some("examples") => examples::run(&root, &args[1..]),
        Some("coverage") => coverage::run(&root, &args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Value of `--name <value>` in `args`.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Reads every `*.md` under `dir` (recursively, sorted), naming each by its path from `root`;
/// the `events/` and `types/` folders are not method specs and are left out.
fn read_specs(root: &Path, dir: &Path) -> Result<Vec<SourceFile>, String> {
    read_md(root, dir, &[dir.join(EVENTS_DIR), dir.join(TYPES_DIR)])
}

/// The folder of type specs inside a spec folder (`specs/types/`): read by
/// [`read_type_specs`], never as method specs.
const TYPES_DIR: &str = "types";

/// The type specs of a spec folder (`<dir>/types/**.md`); none when there is no such folder.
fn read_type_specs(root: &Path, dir: &Path) -> Result<Vec<SourceFile>, String> {
    let types = dir.join(TYPES_DIR);
    if !types.is_dir() {
        return Ok(Vec::new());
    }
    read_md(root, &types, &[])
}

/// The folder of event specs inside a spec folder (`specs/events/`): read by
/// [`read_event_specs`], never as method specs.
const EVENTS_DIR: &str = "events";

/// The event specs of a spec folder (`<dir>/events/**.md`); none when there is no such folder.
fn read_event_specs(root: &Path, dir: &Path) -> Result<Vec<SourceFile>, String> {
    let events = dir.join(EVENTS_DIR);
    if !events.is_dir() {
        return Ok(Vec::new());
    }
    read_md(root, &events, &[])
}

fn read_md(root: &Path, dir: &Path, skip: &[PathBuf]) -> Result<Vec<SourceFile>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            fs::read_dir(&d).map_err(|e| format!("{}: cannot read folder: {e}", d.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", d.display()))?;
            let path = entry.path();
            let ft = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if ft.is_dir() {
                if !skip.contains(&path) {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|x| x == "md") {
                let text =
                    fs::read(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                let display = display_path(root, &path);
                let text = String::from_utf8(text).map_err(|e| {
                    format!(
                        "{display}:1: error: the file is not UTF-8 (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    )
                })?;
                out.push(SourceFile {
                    path: display,
                    text,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Every `*.md` under `dir`, as (path relative to `dir` with `/`, text), sorted by path.
/// For doc trees: a file that cannot be read is skipped, bytes that are not UTF-8 are replaced.
fn read_tree(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            fs::read_dir(&d).map_err(|e| format!("{}: cannot read folder: {e}", d.display()))?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                let Ok(bytes) = fs::read(&p) else { continue };
                let text = String::from_utf8_lossy(&bytes).into_owned();
                out.push((display_path(dir, &p), text));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `path` relative to `root` (when under it), with `/` between components.
fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes `text` to `path`, creating the folders above it; errors name the path.
fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

const MAX_DIFF_LINES: usize = 400;

/// Appends a unified diff of `old` → `new` for the file `name` to `out`, cut after
/// [`MAX_DIFF_LINES`] lines.
fn diff(out: &mut String, name: &str, old: &str, new: &str) {
    let d = similar::TextDiff::from_lines(old, new);
    let text = d
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    for (i, line) in text.lines().enumerate() {
        if i == MAX_DIFF_LINES {
            let _ = writeln!(out, "... (diff cut after {MAX_DIFF_LINES} lines)");
            break;
        }
        let _ = writeln!(out, "{line}");
    }
}
