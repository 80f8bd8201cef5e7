//! JSON written into files: keys sorted, whatever order the value was built in.
//!
//! The workspace enables serde_json's `preserve_order` (the runtime needs the caller's key
//! order on the wire), so a `serde_json::Map` iterates in insertion order. What codegen and
//! xtask write (imported specs, lint fixes, the examples data file) must not depend on the
//! order a page or a builder produced keys in, so every value is sorted before it is
//! printed.

use serde_json::Value;

/// A copy of `value` with the keys of every object, at every depth, in sorted order.
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_sorted_at_every_depth() {
        let mut inner = serde_json::Map::new();
        inner.insert("z".into(), Value::from(1));
        inner.insert("a".into(), Value::from(2));
        let mut outer = serde_json::Map::new();
        outer.insert("y".into(), Value::Array(vec![Value::Object(inner.clone())]));
        outer.insert("b".into(), Value::Object(inner));
        let text = sorted(&Value::Object(outer)).to_string();
        assert_eq!(text, r#"{"b":{"a":2,"z":1},"y":[{"a":2,"z":1}]}"#);
    }
}
