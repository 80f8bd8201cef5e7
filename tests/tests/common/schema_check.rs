//! The docs' examples against the JSON Schemas of a registry (shared by `tests/tests/schemas.rs`,
//! over the fixture crate, and `generated/tests/schemas.rs`, over the whole corpus).
//!
//! For every example of `tests/fidelity/examples.jsonl` whose method the registry has:
//! - what the decoder accepts must validate against the loosened schema
//!   (`runtime::schema::loosen`): the schema is never stricter than the decoder;
//! - what the typed value writes back must validate against the canonical schema: the
//!   schema says what serde writes (renames, skipped `None`s, flattened maps, untagged unions).
//!
//! An example the decoder refuses is counted, not judged (the fidelity test lists those).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The registry functions the check goes through.
pub struct Registry {
    pub params_schema: fn(&str) -> Option<Value>,
    pub result_schema: fn(&str) -> Option<Value>,
    pub validate_params: fn(&str, &Value) -> Result<Value, String>,
    pub decode_result: fn(&str, &Value) -> Result<Value, String>,
    pub loosen: fn(&mut Value),
}

/// What one run found.
#[derive(Debug, Default)]
pub struct Figures {
    /// Examples of a method the registry has, by side (`params`, `result`).
    pub checked: BTreeMap<&'static str, usize>,
    /// Of those, the ones the decoder accepts.
    pub decoded: BTreeMap<&'static str, usize>,
    /// Of all checked, the ones valid against the loosened schema.
    pub loose_valid: BTreeMap<&'static str, usize>,
    /// Of all checked, the ones valid against the canonical schema as they are.
    pub strict_valid: BTreeMap<&'static str, usize>,
    /// Broken promises: `page:line method side: message`.
    pub failures: Vec<String>,
}

fn workspace() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// `(page:line, kind, method, value)` of every example, in file order.
fn examples() -> Vec<(String, String, String, Value)> {
    let path = workspace().join("tests/fidelity/examples.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let at = format!("tests/fidelity/examples.jsonl:{}", i + 1);
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
        let page = v["page"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: no page"));
        let method = v["method"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: no method"));
        let list = v["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("{at}: no examples"));
        for ex in list {
            let places = ex["at"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: no `at`"));
            for p in places {
                let (kind, n) = p
                    .as_str()
                    .and_then(|p| p.split_once(':'))
                    .unwrap_or_else(|| panic!("{at}: `{p}` is not `<kind>:<line>`"));
                out.push((
                    format!("{page}:{n}"),
                    kind.to_owned(),
                    method.to_owned(),
                    ex["value"].clone(),
                ));
            }
        }
    }
    out
}

/// A compiled validator of one schema, and the first error it finds in a value.
struct Check(jsonschema::Validator);

impl Check {
    fn new(schema: &Value, what: &str) -> Check {
        Check(
            jsonschema::draft202012::new(schema)
                .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}")),
        )
    }

    fn error(&self, value: &Value) -> Option<String> {
        self.0
            .iter_errors(value)
            .next()
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
    }
}

/// Runs the check over every example of a method `reg` knows.
pub fn run(reg: &Registry) -> Figures {
    let mut figures = Figures::default();
    // Validators by (method, side): [canonical, loosened].
    let mut cache: BTreeMap<(String, &'static str), Option<[Check; 2]>> = BTreeMap::new();
    for (at, kind, method, value) in examples() {
        let side = if kind == "response" {
            "result"
        } else {
            "params"
        };
        let checks = cache.entry((method.clone(), side)).or_insert_with(|| {
            let schema = if side == "result" {
                (reg.result_schema)(&method)
            } else {
                (reg.params_schema)(&method)
            }?;
            let mut loose = schema.clone();
            (reg.loosen)(&mut loose);
            let what = format!("{method} {side}");
            Some([Check::new(&schema, &what), Check::new(&loose, &what)])
        });
        let Some([strict, loose]) = checks else {
            continue;
        };
        *figures.checked.entry(side).or_default() += 1;
        let decoded = if side == "result" {
            (reg.decode_result)(&method, &value)
        } else {
            (reg.validate_params)(&method, &value)
        };
        let loose_error = loose.error(&value);
        if loose_error.is_none() {
            *figures.loose_valid.entry(side).or_default() += 1;
        }
        if strict.error(&value).is_none() {
            *figures.strict_valid.entry(side).or_default() += 1;
        }
        let Ok(written) = decoded else {
            continue;
        };
        *figures.decoded.entry(side).or_default() += 1;
        if let Some(e) = loose_error {
            figures.failures.push(format!(
                "{at} {method} {side}: decodes, but not valid against the loosened schema {e}"
            ));
        }
        if let Some(e) = strict.error(&written) {
            figures.failures.push(format!(
                "{at} {method} {side}: what the type writes back is not valid against its schema {e}"
            ));
        }
    }
    figures
}
