//! The engine of `cargo xtask generate`: Bitrix24 method specs in, Rust source files out.
//!
//! ```text
//! SourceFile --spec::parse--> Spec --ir::build--> Api --emit--> TokenStream --syn--> File --prettyplease--> text
//! ```
//!
//! The crate does no file I/O: callers hand in [`SourceFile`]s and receive file contents keyed
//! by relative path. Output depends only on the inputs' paths and texts, never on their order.

pub mod coverage;
mod diag;
pub mod docs;
mod emit;
pub mod import;
pub mod import_event;
mod import_params;
pub mod ir;
pub mod json;
pub mod lint;
pub mod naming;
pub mod schema;
pub mod share;
pub mod spec;
mod text;
mod yaml;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use spec::{ApiVersion, Pagination, SourceFile, Spec};

use std::collections::{BTreeMap, BTreeSet};

/// Settings of one generation run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Path of the hand-written runtime as seen from the generated code, e.g. `::bitrix24_runtime`.
    pub runtime_path: String,
    /// How the spec folder is named in headers, e.g. `specs`.
    pub spec_dir: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runtime_path: "::bitrix24_runtime".to_owned(),
            spec_dir: "specs".to_owned(),
        }
    }
}

/// The result of a successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// File contents keyed by path relative to the generated `api` folder (`mod.rs`,
    /// `registry.rs`, `imopenlines/crm/message.rs`, ...).
    pub files: BTreeMap<String, String>,
    /// Every scope used, one cargo feature each.
    pub scopes: BTreeSet<String>,
    /// Warnings (never errors).
    pub warnings: Diagnostics,
}

/// Parses and checks every spec, including checks across files (duplicate names).
/// Returns the specs in wire-name order and all diagnostics, sorted.
pub fn check(sources: &[SourceFile]) -> (Vec<Spec>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut sorted: Vec<&SourceFile> = sources.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.text.cmp(&b.text)));
    let mut specs = Vec::new();
    for src in sorted {
        if let Some(s) = spec::parse(src, &mut diags) {
            specs.push(s);
        }
    }
    // Duplicate wire names (methods and aliases, ASCII case ignored as the portal does). The
    // classic API and REST 3.0 are different endpoints: one name may exist once in each.
    let mut seen: BTreeMap<(ApiVersion, String), (String, usize, String)> = BTreeMap::new();
    for s in &specs {
        let names = std::iter::once((&s.method, s.line_of("method")))
            .chain(s.aliases.iter().map(|a| (a, s.line_of("aliases"))));
        for (name, line) in names {
            let key = (s.api, name.to_ascii_lowercase());
            match seen.get(&key) {
                Some((file, first_line, first_name)) => {
                    let (file, first_line, first_name) =
                        (file.clone(), *first_line, first_name.clone());
                    diags.push(Diagnostic::error(
                        &s.file,
                        line,
                        None,
                        format!(
                            "`{name}` is already defined as `{first_name}` in {file}:{first_line}; wire names and aliases must be unique (ignoring case)"
                        ),
                    ));
                }
                None => {
                    seen.insert(key, (s.file.clone(), line, name.clone()));
                }
            }
        }
    }
    diags.sort();
    specs.sort_by(|a, b| a.method.cmp(&b.method).then_with(|| a.api.cmp(&b.api)));
    (specs, diags)
}

/// Generates the `api` module tree from spec files.
///
/// On any error, returns every diagnostic of the run (errors and warnings), sorted.
pub fn generate(sources: &[SourceFile], options: &Options) -> Result<Generated, Diagnostics> {
    let (specs, diags) = check(sources);
    if diags.has_errors() {
        return Err(diags);
    }
    let scopes: BTreeSet<String> = specs.iter().map(|s| s.scope.clone()).collect();
    let api = ir::build(specs);
    let rt: proc_macro2::TokenStream = match options.runtime_path.parse() {
        Ok(t) => t,
        Err(_) => {
            let mut d = Diagnostics::default();
            d.push(Diagnostic::error(
                "<options>",
                1,
                None,
                "the runtime path is not a Rust path",
            ));
            return Err(d);
        }
    };
    let mut modules: Vec<&ir::Module> = Vec::new();
    let mut stack: Vec<&ir::Module> = vec![&api.root];
    while let Some(m) = stack.pop() {
        modules.push(m);
        stack.extend(m.children.values());
    }
    // Emitting and laying out ~500 module files is most of the run; the files are independent,
    // so they are rendered on a few threads. Results are keyed by path: the output does not
    // depend on the thread count or on scheduling.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 8);
    let chunk = modules.len().div_ceil(threads).max(1);
    let rt_text = options.runtime_path.clone();
    let results: Vec<(String, Result<String, Diagnostic>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = modules
            .chunks(chunk)
            .map(|part| {
                let (api, rt_text, spec_dir) = (&api, &rt_text, &options.spec_dir);
                scope.spawn(move || {
                    // Token streams are not `Send`: each thread has its own emitter.
                    let rt: proc_macro2::TokenStream = rt_text
                        .parse()
                        .unwrap_or_else(|_| proc_macro2::TokenStream::new());
                    let emitter = emit::Emitter { api, rt };
                    part.iter()
                        .map(|m| render_module(&emitter, api, m, spec_dir))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![(
                        String::new(),
                        Err(Diagnostic::error(
                            "<generated>",
                            1,
                            None,
                            "internal error: a rendering thread panicked",
                        )),
                    )]
                })
            })
            .collect()
    });
    let mut files = BTreeMap::new();
    let mut errors = Diagnostics::default();
    for (rel, r) in results {
        match r {
            Ok(text) => {
                files.insert(rel, text);
            }
            Err(d) => errors.push(d),
        }
    }
    let emitter = emit::Emitter { api: &api, rt };
    for (file, tokens) in [
        ("registry.rs", emitter.registry()),
        ("enums.rs", emitter.enums_file()),
    ] {
        match text::render(tokens, &text::header(&BTreeSet::new(), &options.spec_dir)) {
            Ok(text) => {
                files.insert(file.to_owned(), text);
            }
            Err(e) => errors.push(Diagnostic::error(
                "<generated>",
                1,
                None,
                format!("internal error: {file}: {e}"),
            )),
        }
    }
    if errors.has_errors() {
        errors.0.extend(diags.0);
        errors.sort();
        return Err(errors);
    }
    Ok(Generated {
        files,
        scopes,
        warnings: diags,
    })
}

fn render_module(
    emitter: &emit::Emitter,
    api: &ir::Api,
    m: &ir::Module,
    spec_dir: &str,
) -> (String, Result<String, Diagnostic>) {
    let rel = if m.path.is_empty() {
        "mod.rs".to_owned()
    } else {
        format!("{}.rs", m.path.join("/"))
    };
    let own = m.own_files(api);
    let header = text::header(&own, spec_dir);
    let r = text::render(emitter.module(m), &header).map_err(|e| {
        Diagnostic::error(
            own.iter().next().map_or("<generated>", String::as_str),
            1,
            None,
            format!(
                "internal error: generated code for module `{}` does not parse: {e}",
                m.wire
            ),
        )
    });
    (rel, r)
}

/// The `events.rs` of event specs (`specs/events/`): per scope an `Event` enum and the
/// payload types of its events (see [`ir::build_events`] and `emit::events`), or every
/// diagnostic. `None` when there are no event specs. The output
/// does not depend on the order of `sources`.
pub fn generate_events(
    sources: &[SourceFile],
    options: &Options,
) -> Result<Option<String>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut specs: Vec<spec::EventSpec> = sources
        .iter()
        .filter_map(|s| spec::parse_event(s, &mut diags))
        .collect();
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    if specs.is_empty() {
        return Ok(None);
    }
    specs.sort_by(|a, b| {
        (&a.scope, a.event.to_ascii_uppercase(), &a.file).cmp(&(
            &b.scope,
            b.event.to_ascii_uppercase(),
            &b.file,
        ))
    });
    let rt: proc_macro2::TokenStream = options.runtime_path.parse().map_err(|_| {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::error(
            "<options>",
            1,
            None,
            "the runtime path is not a Rust path",
        ));
        d
    })?;
    let events = ir::build_events(&specs);
    let tokens = emit::events::events_file(&events, &rt);
    let header = text::header(&BTreeSet::new(), &format!("{}/events", options.spec_dir));
    text::render(tokens, &header).map(Some).map_err(|e| {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::error(
            "<generated>/events.rs",
            1,
            None,
            format!("internal error: {e}"),
        ));
        d
    })
}

/// The `[features]` table for the generated crate: one feature per scope, all on by default.
/// Keys are quoted because scopes may contain dots.
pub fn features_toml(scopes: &BTreeSet<String>) -> String {
    let mut out = String::from("[features]\n");
    let list: Vec<String> = scopes.iter().map(|s| format!("\"{s}\"")).collect();
    out.push_str(&format!("default = [{}]\n", list.join(", ")));
    for s in scopes {
        out.push_str(&format!("\"{s}\" = []\n"));
    }
    out
}
