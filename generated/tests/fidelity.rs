//! Fidelity against data nobody here wrote: every success-response example in the official
//! docs must decode with its method's generated response type, and every request example
//! (cURL JSON bodies, JS `BX24.callMethod` and PHP parameter literals) must be accepted by its
//! generated request type and serialize back to equivalent JSON.
//!
//! The examples are read from `tests/fidelity/examples.jsonl`, extracted from the docs by
//! `cargo xtask examples --docs <dir>` (JSON values and where they are, no prose), so this
//! test runs in a bare clone; `cargo test -p xtask` checks the file against the docs when
//! `BITRIX24_DOCS` is set (CI sets it).
//! Every failure must be listed, with its reason, in `tests/fidelity/known-failures.txt`; the
//! test fails on a failure that is not listed and on a listed one that now passes, so the list
//! always says exactly what does not work. `FIDELITY_UPDATE=1 cargo test -p bitrix24
//! --test fidelity` rewrites the list (review the diff). The pass rates are printed and written
//! at the top of the list.

use bitrix24::api::registry::{decode_result, find, validate_params};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn workspace() -> PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

const EXAMPLES: &str = "fidelity/examples.jsonl";

/// One example of the data file.
struct Example {
    /// `api-reference/<path>.md`
    page: String,
    line: usize,
    /// `response` (the `result` of the success example), `curl`, `js` or `php`.
    kind: String,
    method: String,
    value: Value,
}

/// The examples of `tests/fidelity/examples.jsonl`, in file order. A line that is not what
/// `cargo xtask examples` writes fails the test, naming the file and line.
fn examples() -> Vec<Example> {
    let path = workspace().join("tests").join(EXAMPLES);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (written by `cargo xtask examples --docs <dir>`)",
            path.display()
        )
    });
    let mut lines = text.lines().enumerate();
    assert!(
        lines
            .next()
            .is_some_and(|(_, l)| l.contains("\"@generated\"")),
        "tests/{EXAMPLES}:1: not the header `cargo xtask examples` writes"
    );
    let mut out = Vec::new();
    for (i, l) in lines {
        let at = format!("tests/{EXAMPLES}:{}", i + 1);
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{at}: {e}"));
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{at}: no string `{k}`"))
                .to_owned()
        };
        let (page, method) = (field("page"), field("method"));
        let list = v
            .get("examples")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{at}: no array `examples`"));
        for ex in list {
            let value = ex
                .get("value")
                .unwrap_or_else(|| panic!("{at}: an example without `value`"));
            let places = ex
                .get("at")
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("{at}: an example without an `at` array"));
            for p in places {
                let (kind, line) = p
                    .as_str()
                    .and_then(|p| p.split_once(':'))
                    .and_then(|(k, n)| Some((k, n.parse::<usize>().ok()?)))
                    .unwrap_or_else(|| panic!("{at}: `{p}` is not `<kind>:<line>`"));
                out.push(Example {
                    page: page.clone(),
                    line,
                    kind: kind.to_owned(),
                    method: method.clone(),
                    value: value.clone(),
                });
            }
        }
    }
    out
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

fn absent_like(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false))
        || v.as_str() == Some("")
        || v.as_array().is_some_and(Vec::is_empty)
        || v.as_object().is_some_and(serde_json::Map::is_empty)
}

/// Whether `output` (what the generated type wrote back) says the same as `input` on the
/// loose wire: `"42"` is `42`, `"Y"` is `true`, `[]` is `{}`, an absent optional is `null`,
/// `false` or `""`. Returns the JSON path of the first difference.
fn equivalent(input: &Value, output: &Value, path: &str) -> Result<(), String> {
    let same = match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => equivalent(v, w, &p)?,
                    None if absent_like(v) => {}
                    None => return Err(format!("{p}: dropped")),
                }
            }
            for (k, w) in b {
                if !a.contains_key(k) && !absent_like(w) {
                    return Err(format!("{path}.{k}: added"));
                }
            }
            true
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Err(format!("{path}: length changed"));
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                equivalent(v, w, &format!("{path}[{i}]"))?;
            }
            true
        }
        (Value::Array(a), Value::Object(b)) if a.is_empty() && b.is_empty() => true,
        (Value::Array(a), Value::Object(b)) => {
            // A PHP list read as a map keyed "0", "1", ...
            a.len() == b.len()
                && a.iter().enumerate().all(|(i, v)| {
                    b.get(&i.to_string())
                        .is_some_and(|w| equivalent(v, w, path).is_ok())
                })
        }
        (Value::Object(a), Value::Array(b)) => a.is_empty() && b.is_empty(),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::String(s), Value::Bool(b)) | (Value::Bool(b), Value::String(s)) => {
            let t = s.trim().to_ascii_lowercase();
            (*b && matches!(t.as_str(), "y" | "1" | "true"))
                || (!*b && matches!(t.as_str(), "n" | "0" | "false"))
        }
        (Value::Number(n), Value::Bool(b)) => n.as_i64() == Some(i64::from(*b)),
        (Value::Null, Value::Null) => true,
        (a, b) if as_f64(a).is_some() && as_f64(b).is_some() => {
            // Numbers, and numbers written as strings.
            let (x, y) = (as_f64(a).unwrap_or(f64::NAN), as_f64(b).unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(1.0)
        }
        (Value::String(a), Value::String(b)) => a == b,
        (a, b) if absent_like(a) && absent_like(b) => true,
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(format!("{path}: {input} became {output}"))
    }
}

/// One example's outcome: (key, Err(reason)) for failures.
struct Outcome {
    key: String,
    result: Result<(), String>,
}

fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 160 {
        s = s.chars().take(160).collect::<String>() + "…";
    }
    s
}

fn run() -> (BTreeMap<String, (usize, usize)>, Vec<Outcome>) {
    let mut rates: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for ex in examples() {
        let method = &ex.method;
        if find(method).is_none() {
            continue;
        }
        let r = if ex.kind == "response" {
            decode_result(method, &ex.value)
                .map(|_| ())
                .map_err(|e| one_line(&e.to_string()))
        } else {
            match validate_params(method, &ex.value) {
                Ok(out) => equivalent(&ex.value, &out, "params")
                    .map_err(|e| format!("not equivalent after a round trip: {}", one_line(&e))),
                Err(e) => Err(one_line(&e.to_string())),
            }
        };
        let e = rates.entry(ex.kind.clone()).or_default();
        e.0 += usize::from(r.is_ok());
        e.1 += 1;
        outcomes.push(Outcome {
            key: format!("{} {method} {}:{}", ex.kind, ex.page, ex.line),
            result: r,
        });
    }
    (rates, outcomes)
}

const LIST: &str = "fidelity/known-failures.txt";

#[test]
fn doc_examples_decode_and_round_trip() {
    let (rates, outcomes) = run();
    let mut summary = String::new();
    for (kind, (ok, all)) in &rates {
        let pct = if *all == 0 {
            100.0
        } else {
            *ok as f64 * 100.0 / *all as f64
        };
        summary.push_str(&format!("# {kind}: {ok} of {all} pass ({pct:.1}%)\n"));
    }
    println!("{summary}");
    let failures: BTreeMap<String, String> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(|r| (o.key.clone(), r.clone())))
        .collect();
    let path = workspace().join("tests").join(LIST);
    if std::env::var_os("FIDELITY_UPDATE").is_some() {
        let mut text = String::from(
            "# Doc examples that the generated types do not accept, with the reason (the decoder's\n# message). Written by `FIDELITY_UPDATE=1 cargo test -p bitrix24 --test fidelity`.\n# Format: <kind> <method> <page>:<line>\\t<reason>\n",
        );
        text.push_str(&summary);
        for (k, r) in &failures {
            text.push_str(&format!("{k}\t{r}\n"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let listed_text = std::fs::read_to_string(&path).unwrap_or_default();
    let listed: BTreeMap<String, String> = listed_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, r)| (k.to_owned(), r.to_owned()))
        .collect();
    let new: Vec<String> = failures
        .iter()
        .filter(|(k, _)| !listed.contains_key(*k))
        .map(|(k, r)| format!("{k}\t{r}"))
        .collect();
    let fixed: Vec<&String> = listed
        .keys()
        .filter(|k| !failures.contains_key(*k))
        .collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "fidelity differs from tests/{LIST}:\nnew failures ({}):\n{}\nlisted but now passing ({}):\n{}\n(rerun with FIDELITY_UPDATE=1 and review the diff)",
        new.len(),
        new.iter().take(50).cloned().collect::<Vec<_>>().join("\n"),
        fixed.len(),
        fixed
            .iter()
            .take(50)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

#[test]
fn equivalence_is_loose_only_where_the_wire_is() {
    use serde_json::json;
    assert!(equivalent(&json!({"a": "42"}), &json!({"a": 42}), "p").is_ok());
    assert!(equivalent(&json!({"a": "Y"}), &json!({"a": true}), "p").is_ok());
    assert!(equivalent(&json!({"a": []}), &json!({"a": {}}), "p").is_ok());
    assert!(equivalent(&json!({"a": null}), &json!({}), "p").is_ok());
    assert_eq!(
        equivalent(&json!({"a": 1, "b": 2}), &json!({"a": 1}), "p"),
        Err("p.b: dropped".into())
    );
    assert!(equivalent(&json!({"a": "42x"}), &json!({"a": 42}), "p").is_err());
    assert!(equivalent(&json!({"a": "N"}), &json!({"a": true}), "p").is_err());
    assert!(equivalent(&json!([1, 2]), &json!([1]), "p").is_err());
    assert!(equivalent(&json!({}), &json!({"x": 1}), "p").is_err());
}
