//! `cargo xtask generate | check | lint`: the only place that reads specs from disk and writes
//! generated files. The engine (`codegen`) does no I/O.

use codegen::{Diagnostics, Generated, Options, SourceFile};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One spec folder and the crate generated from it.
struct Target {
    /// Spec folder, relative to the workspace root.
    specs: &'static str,
    /// Crate folder, relative to the workspace root; output goes to `<crate>/src/api/`.
    krate: &'static str,
    /// Runtime path as seen from the generated code.
    runtime: &'static str,
}

const TARGETS: &[Target] = &[
    Target {
        specs: "specs",
        krate: "generated",
        runtime: "::bitrix24_runtime",
    },
    Target {
        specs: "tests/fixtures/specs",
        krate: "tests",
        runtime: "::bitrix24_runtime",
    },
];

const BEGIN: &str = "# @generated features begin\n";
const END: &str = "# @generated features end\n";

const USAGE: &str = "usage: cargo xtask <command>

commands:
  generate   read specs/ and tests/fixtures/specs/, write the generated crates
  check      fail with a diff when the committed generated code differs from the specs
  lint       check the specs (or the given files/folders) without writing anything;
             `lint --fix` rewrites a spec's front-matter from its body's tables
  import --docs <dir> [--out specs]
             write a fact-only spec for every method page of the docs (never overwrites
             a spec edited by hand)
  fidelity --docs <dir>
             decode every response example and check every request example of the docs
             with the generated types; prints pass rates and failures
  bench      time generation and the generated crate's build (run with --release:
             `cargo run --release -p xtask -- bench`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("generate") => generate(&root, Mode::Write),
        Some("check") => generate(&root, Mode::Check),
        Some("lint") => lint(&root, &args[1..]),
        Some("bench") => bench(&root),
        Some("import") => import(&root, &args[1..]),
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

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Write,
    Check,
}

/// The folder of event specs inside a spec folder (`specs/events/`): read by
/// [`read_event_specs`], never as method specs.
const EVENTS_DIR: &str = "events";

/// Reads every `*.md` under `dir` (recursively, sorted, without `dir/events/`), naming each by
/// its path from `root`.
fn read_specs(root: &Path, dir: &Path) -> Result<Vec<SourceFile>, String> {
    read_md(root, dir, Some(&dir.join(EVENTS_DIR)))
}

/// The event specs of a spec folder (`<dir>/events/**.md`); none when there is no such folder.
fn read_event_specs(root: &Path, dir: &Path) -> Result<Vec<SourceFile>, String> {
    let events = dir.join(EVENTS_DIR);
    if !events.is_dir() {
        return Ok(Vec::new());
    }
    read_md(root, &events, None)
}

fn read_md(root: &Path, dir: &Path, skip: Option<&Path>) -> Result<Vec<SourceFile>, String> {
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
                if Some(path.as_path()) != skip {
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

fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
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
    let sources = read_specs(root, &root.join(t.specs))?;
    let count = sources.len();
    if sources.is_empty() {
        return Err(format!("{}: no spec files (*.md) found", t.specs));
    }
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
    let manifest = root.join(t.krate).join("Cargo.toml");
    let current =
        fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let updated = replace_features(&current, &codegen::features_toml(&generated.scopes))
        .ok_or_else(|| {
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

fn generate(root: &Path, mode: Mode) -> Result<(), String> {
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
        let mut written = 0;
        for (path, text) in &want {
            let old = have.get(path);
            if old == Some(text) {
                continue;
            }
            match mode {
                Mode::Write => {
                    if let Some(dir) = path.parent() {
                        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    }
                    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
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

const MAX_DIFF_LINES: usize = 400;

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

fn lint(root: &Path, args: &[String]) -> Result<(), String> {
    let fix = args.iter().any(|a| a == "--fix");
    let strict = args.iter().any(|a| a == "--strict");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let mut sets: Vec<(String, Vec<SourceFile>)> = Vec::new();
    let mut event_files = Vec::new();
    if paths.is_empty() {
        for t in TARGETS {
            sets.push((t.specs.to_owned(), read_specs(root, &root.join(t.specs))?));
            event_files.extend(read_event_specs(root, &root.join(t.specs))?);
        }
    } else {
        let mut files = Vec::new();
        for p in &paths {
            let path = PathBuf::from(p);
            if path.is_dir() {
                files.extend(read_specs(root, &path)?);
            } else {
                let text =
                    fs::read_to_string(&path).map_err(|e| format!("{p}: cannot read: {e}"))?;
                files.push(SourceFile {
                    path: (*p).clone(),
                    text,
                });
            }
        }
        let names: Vec<&str> = paths.iter().map(|p| p.as_str()).collect();
        sets.push((names.join(" "), files));
    }
    let mut errors = 0;
    for (name, files) in sets {
        let (_, mut diags) = codegen::check(&files);
        let mut fixed = 0;
        for f in &files {
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
                fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
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
            "{name}: {} spec(s) checked, {} error(s), {} warning(s){}",
            files.len(),
            diags.errors().count(),
            diags.warnings().count(),
            if fix {
                format!(", {fixed} fixed")
            } else {
                String::new()
            }
        );
    }
    if !event_files.is_empty() {
        let mut diags = Diagnostics::default();
        for f in &event_files {
            codegen::spec::parse_event(f, &mut diags);
        }
        diags.sort();
        eprint!("{diags}");
        errors += diags.errors().count();
        println!(
            "event specs: {} spec(s) checked, {} error(s), {} warning(s)",
            event_files.len(),
            diags.errors().count(),
            diags.warnings().count()
        );
    }
    if errors > 0 {
        Err(format!("lint failed with {errors} error(s)"))
    } else {
        Ok(())
    }
}

/// Benchmark, not a test: prints figures for the README.
fn bench(root: &Path) -> Result<(), String> {
    use std::time::{Duration, Instant};
    // The corpus (`specs/`); the fixtures describe some of the same methods.
    let all = read_specs(root, &root.join(TARGETS[0].specs))?;
    let opts = Options::default();
    let runs = 10;
    let mut times: Vec<Duration> = Vec::new();
    let mut files = 0;
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let g = codegen::generate(&all, &opts).map_err(|d| d.to_string())?;
        times.push(start.elapsed());
        files = g.files.len();
        bytes = g.files.values().map(String::len).sum::<usize>();
    }
    times.sort();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "generation ({profile} build of the engine): {} specs -> {files} files, {bytes} bytes; median {:.1} ms, min {:.1} ms over {runs} runs",
        all.len(),
        times[runs / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
    );
    for (label, args) in [
        (
            "cargo build -p bitrix24 --all-features",
            vec!["build", "-q", "-p", "bitrix24", "--all-features"],
        ),
        (
            "cargo build -p bitrix24 --no-default-features --features disk (a typical scope)",
            vec![
                "build",
                "-q",
                "-p",
                "bitrix24",
                "--no-default-features",
                "--features",
                "disk",
            ],
        ),
        (
            "cargo build -p bitrix24 --no-default-features --features crm (the largest scope)",
            vec![
                "build",
                "-q",
                "-p",
                "bitrix24",
                "--no-default-features",
                "--features",
                "crm",
            ],
        ),
        (
            "cargo build -p bitrix24 --no-default-features",
            vec!["build", "-q", "-p", "bitrix24", "--no-default-features"],
        ),
        (
            "cargo build -p bitrix24-tests (fixtures, all features)",
            vec!["build", "-q", "-p", "bitrix24-tests"],
        ),
    ] {
        let pkg = args[3];
        // Dependencies stay built; only the package itself is rebuilt.
        let status = std::process::Command::new("cargo")
            .current_dir(root)
            .args(["clean", "-q", "-p", pkg])
            .status()
            .map_err(|e| format!("cargo clean: {e}"))?;
        if !status.success() {
            return Err(format!("cargo clean -p {pkg} failed"));
        }
        let start = Instant::now();
        let status = std::process::Command::new("cargo")
            .current_dir(root)
            .args(&args)
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("{label} failed"));
        }
        println!(
            "{label}: {:.1} s (dependencies already built)",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Value of `--name <value>` in `args`.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Every `*.md` under `dir`, as (path relative to `dir` with `/`, text), sorted by path.
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

/// The method pages of a docs checkout: `<docs>/api-reference/**.md`, read into specs.
/// Imported specs by API (classic first) and lower-cased method: (page path, spec). The classic
/// API and REST 3.0 are different endpoints, so one name can have a spec in each.
type ImportedSet = BTreeMap<(codegen::ApiVersion, String), (String, codegen::import::Imported)>;

fn imported_specs(docs_dir: &Path) -> Result<(ImportedSet, Vec<String>), String> {
    let api = docs_dir.join("api-reference");
    let pages = read_tree(&api)?;
    let mut by_method: ImportedSet = BTreeMap::new();
    let mut notes = Vec::new();
    for (rel, text) in &pages {
        match codegen::import::import_page(rel, text) {
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

fn import(root: &Path, args: &[String]) -> Result<(), String> {
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
                fs::write(&target, &imp.text).map_err(|e| format!("{}: {e}", target.display()))?;
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
    let events_dir = out_dir.join(EVENTS_DIR);
    fs::create_dir_all(&events_dir).map_err(|e| format!("{}: {e}", events_dir.display()))?;
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
        match fs::read_to_string(&target).ok() {
            Some(o) if o == imp.text => same += 1,
            Some(o) if !codegen::import::untouched(&o) => {
                kept += 1;
                eprintln!(
                    "{}: not overwritten: written or corrected by hand; delete it to re-import",
                    display_path(root, &target)
                );
            }
            _ => {
                fs::write(&target, &imp.text).map_err(|e| format!("{}: {e}", target.display()))?;
                written += 1;
            }
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
