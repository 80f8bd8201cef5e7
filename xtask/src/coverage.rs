//! `cargo xtask coverage [--methods]`: over the docs' JSON examples (the committed
//! `tests/fidelity/examples.jsonl`), the share of values that land in typed fields of the
//! generated types, for results and for requests, overall and per method; then the methods
//! whose result is still any JSON, worst first.
//!
//! A leaf is counted by `codegen::coverage` against the spec's own schemas, the ones the
//! generator turns into types; see that module for what "typed" means.

use crate::{examples, read_specs, read_type_specs};
use codegen::coverage::{Open, Tally, is_any_in, tally_open};
use codegen::{ApiVersion, Spec};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// A method's result is "typed" when at least this share of its example leaves is.
const METHOD_TARGET: f64 = 90.0;
/// How many any-JSON methods the report lists without `--methods`.
const WORST: usize = 25;

#[derive(Default)]
struct Row {
    result: Tally,
    request: Tally,
    result_examples: usize,
    any_result: bool,
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let all = args.iter().any(|a| a == "--methods");
    let show_open = args.iter().any(|a| a == "--open");
    if let Some(other) = args.iter().find(|a| *a != "--methods" && *a != "--open") {
        return Err(format!(
            "coverage: unknown argument `{other}`; usage: cargo xtask coverage [--methods] [--open]"
        ));
    }
    let mut sources = read_specs(root, &root.join("specs"))?;
    sources.extend(read_type_specs(root, &root.join("specs"))?);
    let checked = codegen::check_all(&sources);
    let (specs, diags) = (checked.specs, checked.diags);
    // `{"$ref": "types/…"}` is followed into the type specs.
    let types: codegen::coverage::Types = checked
        .types
        .into_iter()
        .map(|t| (t.name, t.schema))
        .collect();
    if diags.has_errors() {
        return Err(format!("{diags}specs have errors; run `cargo xtask lint`"));
    }
    // The docs' pages document the classic endpoint; a REST 3.0 twin is another method.
    let by_name: BTreeMap<&str, &Spec> = specs
        .iter()
        .filter(|s| s.api == ApiVersion::Classic)
        .map(|s| (s.method.as_str(), s))
        .collect();
    let path = root.join(examples::OUT);
    let text =
        fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", examples::OUT))?;
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut opens = OpenLeaves::default();
    let mut no_spec = 0usize;
    for (n, line) in text.lines().enumerate().skip(1) {
        let page: Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not JSON: {e}", examples::OUT, n + 1))?;
        let Some(method) = page.get("method").and_then(Value::as_str) else {
            return Err(format!("{}:{}: no `method`", examples::OUT, n + 1));
        };
        let Some(spec) = by_name.get(method) else {
            no_spec += 1;
            continue;
        };
        let row = rows.entry(method.to_owned()).or_default();
        row.any_result = is_any_in(&spec.returns, &types, &spec.returns.root);
        for ex in page["examples"].as_array().into_iter().flatten() {
            let is_response = ex["at"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|at| at.as_str().is_some_and(|s| s.starts_with("response:")));
            let value = &ex["value"];
            if is_response {
                let (t, open) = tally_open(&spec.returns, &types, value);
                row.result.add(t);
                row.result_examples += 1;
                opens.results.push((method.to_owned(), open));
            } else {
                let (t, open) = tally_open(&spec.params, &types, value);
                row.request.add(t);
                opens.requests.push((method.to_owned(), open));
            }
        }
    }
    print!("{}", report(&rows, no_spec, all));
    if show_open {
        print!("{}", opens.report());
    }
    Ok(())
}

/// How many places `--open` lists per section.
const OPEN_TOP: usize = 60;

/// The open leaves of every example, by method, for `--open`.
#[derive(Default)]
struct OpenLeaves {
    requests: Vec<(String, Vec<Open>)>,
    results: Vec<(String, Vec<Open>)>,
}

impl OpenLeaves {
    fn report(&self) -> String {
        let mut out = String::new();
        for (what, list) in [("requests", &self.requests), ("results", &self.results)] {
            let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
            let mut by_top: BTreeMap<(String, &str), u64> = BTreeMap::new();
            let mut by_place: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
            for (method, open) in list {
                for o in open {
                    *by_reason.entry(o.reason.as_str()).or_default() += o.leaves;
                    let top = o.path.split(['.', '[']).next().unwrap_or("").to_owned();
                    *by_top.entry((top, o.reason.as_str())).or_default() += o.leaves;
                    *by_place
                        .entry((method.as_str(), o.path.as_str(), o.reason.as_str()))
                        .or_default() += o.leaves;
                }
            }
            let _ = writeln!(out, "open {what} leaves by reason:");
            for (reason, n) in &by_reason {
                let _ = writeln!(out, "  {reason}  {n}");
            }
            let mut tops: Vec<_> = by_top.into_iter().collect();
            tops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let _ = writeln!(
                out,
                "open {what} leaves by top-level key and reason, most first:"
            );
            for ((top, reason), n) in tops.iter().take(OPEN_TOP) {
                let top = if top.is_empty() { "(root)" } else { top };
                let _ = writeln!(out, "  {top}  {reason}  {n}");
            }
            let mut places: Vec<_> = by_place.into_iter().collect();
            places.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let _ = writeln!(
                out,
                "open {what} places (method, path, reason), most first:"
            );
            for ((method, path, reason), n) in places.iter().take(OPEN_TOP) {
                let path = if path.is_empty() { "(root)" } else { path };
                let _ = writeln!(out, "  {method}  {path}  {reason}  {n}");
            }
        }
        out
    }
}

fn report(rows: &BTreeMap<String, Row>, no_spec: usize, all: bool) -> String {
    let mut result = Tally::default();
    let mut request = Tally::default();
    let (mut with_result, mut typed_methods) = (0usize, 0usize);
    for row in rows.values() {
        result.add(row.result);
        request.add(row.request);
        if row.result_examples > 0 {
            with_result += 1;
            if row.result.percent() >= METHOD_TARGET {
                typed_methods += 1;
            }
        }
    }
    let mut out = String::new();
    let pct = |t: Tally| format!("{:.1}% ({} of {} leaves)", t.percent(), t.typed, t.total);
    let _ = writeln!(
        out,
        "coverage over {} (methods with a spec: {}; pages without one: {no_spec})",
        examples::OUT,
        rows.len()
    );
    let _ = writeln!(out, "results:  {}", pct(result));
    let _ = writeln!(out, "requests: {}", pct(request));
    let share = if with_result == 0 {
        100.0
    } else {
        typed_methods as f64 * 100.0 / with_result as f64
    };
    let _ = writeln!(
        out,
        "methods with a result example whose result is at least {METHOD_TARGET}% typed: {typed_methods} of {with_result} ({share:.1}%)"
    );
    let mut any: Vec<(&String, &Row)> = rows
        .iter()
        .filter(|(_, r)| r.any_result && r.result_examples > 0)
        .collect();
    // Worst first: the most untyped leaves, then by name.
    any.sort_by(|a, b| {
        let open = |r: &Row| r.result.total - r.result.typed;
        open(b.1).cmp(&open(a.1)).then_with(|| a.0.cmp(b.0))
    });
    let _ = writeln!(
        out,
        "methods whose result is any JSON: {}, worst first (open leaves):",
        any.len()
    );
    for (name, row) in any.iter().take(if all { usize::MAX } else { WORST }) {
        let _ = writeln!(out, "  {name}  {}", row.result.total - row.result.typed);
    }
    if !all && any.len() > WORST {
        let _ = writeln!(
            out,
            "  ... {} more (`--methods` lists every method)",
            any.len() - WORST
        );
    }
    if all {
        let _ = writeln!(out, "per method: result% (leaves) request% (leaves)");
        for (name, row) in rows {
            let _ = writeln!(
                out,
                "  {name}  {:.1}% ({})  {:.1}% ({})",
                row.result.percent(),
                row.result.total,
                row.request.percent(),
                row.request.total
            );
        }
    }
    out
}
