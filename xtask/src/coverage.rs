//! `cargo xtask coverage [--methods]`: over the docs' JSON examples (the committed
//! `tests/fidelity/examples.jsonl`), the share of values that land in typed fields of the
//! generated types, for results and for requests, overall and per method; then the methods
//! whose result is still any JSON, worst first.
//!
//! A leaf is counted by `codegen::coverage` against the spec's own schemas, the ones the
//! generator turns into types; see that module for what "typed" means.

use crate::{examples, read_specs, read_type_specs};
use codegen::coverage::{Tally, is_any_in, tally_in};
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
    if let Some(other) = args.iter().find(|a| *a != "--methods") {
        return Err(format!(
            "coverage: unknown argument `{other}`; usage: cargo xtask coverage [--methods]"
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
                row.result.add(tally_in(&spec.returns, &types, value));
                row.result_examples += 1;
            } else {
                row.request.add(tally_in(&spec.params, &types, value));
            }
        }
    }
    print!("{}", report(&rows, no_spec, all));
    Ok(())
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
