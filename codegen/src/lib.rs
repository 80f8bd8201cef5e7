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
pub mod reconcile;
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

/// What kind of spec a source is, by the folder it is in: `…/types/x.md` is a type spec,
/// `…/events/x.md` an event spec, anything else a method spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A method spec.
    Method,
    /// A type spec (`types/<scope>.<name>.md`).
    Type,
    /// An event spec (`events/<event>.md`).
    Event,
}

/// The kind of a source by its display path (see [`SourceKind`]).
pub fn source_kind(path: &str) -> SourceKind {
    match path.rsplit(['/', '\\']).nth(1) {
        Some("types") => SourceKind::Type,
        Some("events") => SourceKind::Event,
        _ => SourceKind::Method,
    }
}

/// Every spec of a run, parsed and checked together.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Method specs, in wire-name order.
    pub specs: Vec<Spec>,
    /// Type specs, by name.
    pub types: Vec<spec::TypeSpec>,
    /// Event specs, in file order.
    pub events: Vec<spec::EventSpec>,
    /// Every diagnostic, sorted.
    pub diags: Diagnostics,
}

/// Parses and checks every spec, including checks across files (duplicate names).
/// Returns the specs in wire-name order and all diagnostics, sorted. Type specs and event
/// specs among `sources` ([`source_kind`]) are checked too; see [`check_all`].
pub fn check(sources: &[SourceFile]) -> (Vec<Spec>, Diagnostics) {
    let c = check_all(sources);
    (c.specs, c.diags)
}

/// Parses and checks every source by its kind ([`source_kind`]): method specs (a wire name
/// or alias defined twice), type specs (a type defined twice, references between them that
/// form a cycle) and event specs; every `{"$ref": "types/<name>"}` must name a type spec.
pub fn check_all(sources: &[SourceFile]) -> Checked {
    let mut diags = Diagnostics::default();
    let mut sorted: Vec<&SourceFile> = sources.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.text.cmp(&b.text)));
    let mut specs = Vec::new();
    let mut types: Vec<spec::TypeSpec> = Vec::new();
    let mut events = Vec::new();
    // Type names that exist, parsed or not (a type spec with errors is reported as such,
    // not again at every reference to it).
    let mut known: BTreeSet<String> = BTreeSet::new();
    for src in sorted {
        match source_kind(&src.path) {
            SourceKind::Method => {
                if let Some(s) = spec::parse(src, &mut diags) {
                    specs.push(s);
                }
            }
            SourceKind::Type => {
                known.insert(spec::file_stem(&src.path).to_owned());
                if let Some(t) = spec::parse_type(src, &mut diags) {
                    match types.iter().find(|o| o.name == t.name) {
                        Some(first) => diags.push(Diagnostic::error(
                            &t.file,
                            t.key_lines.get("type").copied().unwrap_or(1),
                            Some("type".to_owned()),
                            format!(
                                "the type `{}` is already defined in {}; a type is defined once",
                                t.name, first.file
                            ),
                        )),
                        None => {
                            known.insert(t.name.clone());
                            types.push(t);
                        }
                    }
                }
            }
            SourceKind::Event => {
                if let Some(e) = spec::parse_event(src, &mut diags) {
                    events.push(e);
                }
            }
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
    // References to type specs.
    let sets = specs
        .iter()
        .flat_map(|s| [(&s.file, &s.params), (&s.file, &s.returns)])
        .chain(events.iter().map(|e| (&e.file, &e.payload)))
        .chain(types.iter().map(|t| (&t.file, &t.schema)));
    for (file, set) in sets {
        dangling_refs(file, set, |n| known.contains(n), &mut diags);
    }
    type_cycles(&types, &mut diags);
    diags.sort();
    specs.sort_by(|a, b| a.method.cmp(&b.method).then_with(|| a.api.cmp(&b.api)));
    types.sort_by(|a, b| a.name.cmp(&b.name));
    Checked {
        specs,
        types,
        events,
        diags,
    }
}

/// An error at every type spec that reaches itself through references to type specs (a
/// type cannot contain itself): at its first reference on the shortest way back, naming the
/// whole cycle.
/// An error at every reference of `set` (in `file`) to a type spec `known` does not name.
fn dangling_refs(
    file: &str,
    set: &schema::SchemaSet,
    known: impl Fn(&str) -> bool,
    diags: &mut Diagnostics,
) {
    for r in set.type_refs.iter().filter(|r| !known(&r.name)) {
        diags.push(Diagnostic::error(
            file,
            r.line,
            Some(r.path.clone()),
            format!(
                "`types/{}` names no type spec; a reference names a file of `types/` (`types/{}.md`)",
                r.name, r.name
            ),
        ));
    }
}

fn type_cycles<'a>(types: &'a [spec::TypeSpec], diags: &mut Diagnostics) {
    let by_name: BTreeMap<&str, &spec::TypeSpec> =
        types.iter().map(|t| (t.name.as_str(), t)).collect();
    let edges = |t: &'a spec::TypeSpec| -> BTreeSet<&'a str> {
        t.schema
            .shared_names()
            .into_iter()
            .filter(|n| by_name.contains_key(n))
            .collect()
    };
    for t in types {
        // Breadth first from `t`: the shortest way back to it, in name order on ties.
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue: std::collections::VecDeque<&str> = edges(t).into_iter().collect();
        for n in &queue {
            prev.insert(n, &t.name);
        }
        let mut found = false;
        while let Some(n) = queue.pop_front() {
            if n == t.name {
                found = true;
                break;
            }
            let Some(nt) = by_name.get(n) else { continue };
            for m in edges(nt) {
                if !prev.contains_key(m) {
                    prev.insert(m, n);
                    queue.push_back(m);
                }
            }
        }
        if !found {
            continue;
        }
        // Back from `t` along `prev` to where the way started (also `t`).
        let mut chain = Vec::new();
        let mut at = prev.get(t.name.as_str()).copied();
        while let Some(n) = at {
            if n == t.name || chain.len() > types.len() {
                break;
            }
            chain.push(n);
            at = prev.get(n).copied();
        }
        let mut cycle = vec![t.name.as_str()];
        cycle.extend(chain.into_iter().rev());
        cycle.push(&t.name);
        // `cycle` is now t, next, ..., t; the reference to `next` is where it is reported.
        let next = cycle[1];
        let Some(r) = t.schema.type_refs.iter().find(|r| r.name == next) else {
            continue;
        };
        let shown: Vec<String> = cycle.iter().map(|n| format!("`{n}`")).collect();
        diags.push(Diagnostic::error(
            &t.file,
            r.line,
            Some(r.path.clone()),
            format!(
                "the type `{}` contains itself through {}; references between type specs may not form a cycle",
                t.name,
                shown.join(" -> ")
            ),
        ));
    }
}

/// Generates the `api` module tree from spec files.
///
/// On any error, returns every diagnostic of the run (errors and warnings), sorted.
/// Type specs among `sources` become `types.rs` and `types/<scope>.rs`; event specs are only
/// read for which types they use (their code is [`generate_events`]'s).
pub fn generate(sources: &[SourceFile], options: &Options) -> Result<Generated, Diagnostics> {
    let Checked {
        specs,
        types,
        events,
        diags,
    } = check_all(sources);
    if diags.has_errors() {
        return Err(diags);
    }
    let scopes: BTreeSet<String> = specs
        .iter()
        .map(|s| s.scope.clone())
        .chain(types.iter().map(|t| t.scope.clone()))
        .collect();
    let api = ir::build_with(specs, &types, &ir::event_usage(&events));
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
    if !api.shared.is_empty() {
        stack.push(&api.types);
    }
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
    // `types` is reserved at the root: no namespace of methods has that name.
    let is_types = !m.path.is_empty() && m.path.first() == api.types.path.first();
    let (own, tokens) = if is_types {
        let files: BTreeSet<String> = api
            .shared
            .iter()
            .filter(|s| s.module.starts_with(&m.path))
            .map(|s| s.file.clone())
            .collect();
        (files, emitter.types_module(m))
    } else {
        (m.own_files(api), emitter.module(m))
    };
    let header = text::header(&own, spec_dir);
    let r = text::render(tokens, &header).map_err(|e| {
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
/// Type specs among `sources` ([`source_kind`]) are what payloads' `types/…` references
/// name (their types are in `api::types`, written by [`generate`]).
pub fn generate_events(
    sources: &[SourceFile],
    options: &Options,
) -> Result<Option<String>, Diagnostics> {
    // Every source that is not a type spec is read as an event spec.
    let (types, mut specs, diags) = {
        let mut diags = Diagnostics::default();
        let mut types_src = Vec::new();
        let mut events = Vec::new();
        for s in sources {
            if source_kind(&s.path) == SourceKind::Type {
                types_src.push(s.clone());
            } else if let Some(e) = spec::parse_event(s, &mut diags) {
                events.push(e);
            }
        }
        let c = check_all(&types_src);
        diags.0.extend(c.diags.0);
        // References from payloads to types that do not exist.
        let known: BTreeSet<&str> = types_src.iter().map(|s| spec::file_stem(&s.path)).collect();
        for e in &events {
            dangling_refs(&e.file, &e.payload, |n| known.contains(n), &mut diags);
        }
        (c.types, events, diags)
    };
    let mut diags = diags;
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
    let events = ir::build_events_with(&specs, &types);
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
