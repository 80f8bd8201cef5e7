//! One encoding for classic REST parameters, the same in a direct call and in a batch.
//!
//! A direct call sends its parameters as a JSON body; a call inside a [`Batch`](crate::Batch)
//! travels as a PHP query string (`fields[TITLE]=x&select[0]=ID`), which the portal decodes
//! with PHP's rules: every scalar arrives as a string, and a form cannot carry `null` or an
//! empty list. So that a method sees the same values on both paths, every classic call's
//! parameters go through [`classic`] first, and the batch writes the result as its query:
//!
//! | value | sent as (both paths) |
//! |---|---|
//! | string, `""` included | itself |
//! | number | its decimal text (`5` → `"5"`, `2.5` → `"2.5"`) |
//! | boolean | `"Y"` / `"N"` (what the docs give for most flags, and what `char` fields hold) |
//! | `null` | left out (object member or list element) |
//! | `[]`, `{}` (also after the rules above emptied them) | left out |
//! | list | a list; a list that lost elements to `null` becomes an object keyed by the kept positions (`[1, null, 3]` → `{"0": "1", "2": "3"}`: the PHP array a form gives) |
//! | object | an object, keys in the caller's order |
//!
//! The top level stays an object (or a list of positional parameters) even when empty.
//!
//! Dates have no JSON type: the typed values of [`Filter`](crate::Filter) write
//! `chrono::DateTime`s as ISO 8601 with the offset (`2026-01-31T09:30:00+03:00`) and
//! `chrono::NaiveDate` as `YYYY-MM-DD` (cargo feature `chrono`); a date given as a string is
//! sent as written.
//!
//! Why `Y`/`N` for booleans: the docs' page on data types says a `boolean` parameter most
//! often takes `Y` or `N` and only some methods take `0`/`1` or `true`/`false`; in the
//! request examples of parameters the imported specs type `boolean`, `Y`/`N` appear 118
//! times, `true`/`false` 67 and `1`/`0` 5. A method that documents `true`/`false` or
//! `1`/`0` gets what it expects from a string: `"true"`, `"1"`.
//!
//! Why strings: the docs say every classic method takes form data (where every scalar is a
//! string), so strings are what every classic method can read, and they are all a batch
//! command can carry. REST 3.0 calls are JSON only and typed; they are sent unchanged.

use serde_json::{Map, Value};

/// The parameters of a classic call as they go out (see the module docs for the rule).
pub fn classic(params: &Value) -> Value {
    match params {
        Value::Object(m) => Value::Object(object(m)),
        Value::Array(a) => list(a).unwrap_or_else(|| Value::Array(Vec::new())),
        Value::Null => Value::Object(Map::new()),
        other => scalar(other).unwrap_or(Value::Null),
    }
}

/// A value below the top level; `None` when it is left out.
fn nested(value: &Value) -> Option<Value> {
    match value {
        Value::Object(m) => {
            let m = object(m);
            (!m.is_empty()).then_some(Value::Object(m))
        }
        Value::Array(a) => list(a),
        other => scalar(other),
    }
}

fn object(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter_map(|(k, v)| Some((k.clone(), nested(v)?)))
        .collect()
}

/// A list, or the object of its kept positions when some were left out; `None` when
/// nothing is kept.
fn list(a: &[Value]) -> Option<Value> {
    let kept: Vec<(usize, Value)> = a
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i, nested(v)?)))
        .collect();
    if kept.is_empty() {
        return None;
    }
    if kept.len() == a.len() {
        return Some(Value::Array(kept.into_iter().map(|(_, v)| v).collect()));
    }
    Some(Value::Object(
        kept.into_iter().map(|(i, v)| (i.to_string(), v)).collect(),
    ))
}

fn scalar(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(Value::String(if *b { "Y" } else { "N" }.into())),
        Value::Number(n) => Some(Value::String(n.to_string())),
        Value::String(s) => Some(Value::String(s.clone())),
        // Not reached: containers are handled by the callers.
        Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_become_strings_and_flags_y_or_n() {
        let out = classic(&json!({
            "n": 5, "f": 2.5, "neg": -1, "t": true, "no": false, "s": "x", "e": "",
        }));
        assert_eq!(
            out.to_string(),
            r#"{"n":"5","f":"2.5","neg":"-1","t":"Y","no":"N","s":"x","e":""}"#
        );
    }

    #[test]
    fn null_and_empty_containers_are_left_out_at_every_depth() {
        let out = classic(&json!({
            "gone": null, "list": [], "obj": {}, "deep": {"a": {"b": null}, "c": [null]},
            "keep": {"x": 1},
        }));
        assert_eq!(out.to_string(), r#"{"keep":{"x":"1"}}"#);
        assert_eq!(classic(&json!({})).to_string(), "{}");
        assert_eq!(classic(&json!(null)).to_string(), "{}");
    }

    #[test]
    fn a_list_with_holes_keeps_its_positions() {
        let out = classic(&json!({"a": [1, null, 3], "b": ["x", "y"]}));
        assert_eq!(out.to_string(), r#"{"a":{"0":"1","2":"3"},"b":["x","y"]}"#);
    }

    #[test]
    fn key_order_is_the_callers() {
        let mut m = Map::new();
        m.insert("ID".into(), json!("DESC"));
        m.insert("DATE_CREATE".into(), json!("ASC"));
        let out = classic(&json!({ "order": Value::Object(m) }));
        assert_eq!(
            out.to_string(),
            r#"{"order":{"ID":"DESC","DATE_CREATE":"ASC"}}"#
        );
    }
}
