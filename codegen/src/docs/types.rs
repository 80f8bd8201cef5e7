//! Doc types (`integer`, `string[]`, `crm_status`, `object`, `string | null`): their parts,
//! whether they are scalars or objects, and their JSON Schema, for one type, one parameter
//! row (with enum values and nested rows) and a whole table.

use super::Param;
use serde_json::{Map, Value, json};

/// A doc type's base names: `string | null` → [`string`, `null`], `object[]` → [`object[]`].
pub(super) fn type_parts(t: &str) -> Vec<String> {
    t.split(['|', ','])
        .map(|s| s.trim().trim_matches('_').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

pub(super) fn is_scalar_doc_type(t: &str) -> bool {
    let parts = type_parts(t);
    !parts.is_empty()
        && parts.iter().all(|p| {
            matches!(
                p.as_str(),
                "string" | "integer" | "int" | "char" | "enum" | "null" | "text"
            )
        })
}

pub(super) fn is_object_doc_type(t: &str) -> bool {
    type_parts(t).iter().any(|p| {
        matches!(
            p.as_str(),
            "object" | "object[]" | "array" | "array[]" | "object[][]"
        )
    })
}

/// The JSON Schema of one doc type (`integer`, `string[]`, `object`, `crm_status`, `a | b`).
/// Reference types (`user`, `crm_company`, types defined on other pages) and unknown names are
/// any JSON value, marked with `x-bitrix-type`; the wire is loose, so guessing would reject
/// real data.
pub fn type_schema(doc_type: &str) -> Value {
    let parts = type_parts(doc_type);
    let nullable = parts.iter().any(|p| p == "null");
    let parts: Vec<&String> = parts.iter().filter(|p| *p != "null").collect();
    let mut schemas: Vec<Value> = parts.iter().map(|p| base_schema(p)).collect();
    schemas.dedup();
    let mut s = match schemas.len() {
        0 => json!({}),
        1 => schemas.pop().unwrap_or_else(|| json!({})),
        _ => {
            let mut x = Map::new();
            x.insert(
                "x-bitrix-type".into(),
                Value::String(doc_type.trim().into()),
            );
            Value::Object(x)
        }
    };
    if nullable && s.get("type").is_some() {
        s["nullable"] = Value::Bool(true);
    }
    s
}

fn base_schema(p: &str) -> Value {
    if let Some(inner) = p.strip_suffix("[]") {
        return json!({"type": "array", "items": base_schema(inner)});
    }
    if let Some(inner) = p.strip_prefix("array<").and_then(|x| x.strip_suffix('>')) {
        return json!({"type": "array", "items": base_schema(inner.trim())});
    }
    match p {
        "integer" | "int" | "long" => json!({"type": "integer"}),
        "double" | "float" | "number" | "decimal" => json!({"type": "number"}),
        "boolean" | "bool" => json!({"type": "boolean"}),
        "string" | "text" | "char" | "enum" => json!({"type": "string"}),
        "date" => json!({"type": "string", "format": "date"}),
        "datetime" | "date-time" => json!({"type": "string", "format": "date-time"}),
        "time" => json!({"type": "string", "format": "time"}),
        // PHP arrays: a bare `object` or `array` may arrive as a map or a list. Without a
        // nested table saying more, any JSON value (a nested table makes it a struct).
        "object" => json!({"x-bitrix-type": "object"}),
        "array" => json!({"x-bitrix-type": "array"}),
        "" | "any" | "mixed" | "unknown" => json!({}),
        other => json!({"x-bitrix-type": other}),
    }
}

/// The JSON Schema of one parameter: its type, enum values and nested properties.
pub fn param_schema(p: &Param) -> Value {
    let mut s = type_schema(&p.doc_type);
    if !p.enum_values.is_empty() && s.get("type").and_then(Value::as_str).is_some() {
        let ty = if p.enum_values.iter().all(Value::is_i64) {
            "integer"
        } else {
            "string"
        };
        s["type"] = Value::String(ty.into());
        if ty == "string" {
            let vals: Vec<Value> = p
                .enum_values
                .iter()
                .map(|v| match v {
                    Value::String(_) => v.clone(),
                    other => Value::String(other.to_string()),
                })
                .collect();
            s["enum"] = Value::Array(vals);
        } else {
            s["enum"] = Value::Array(p.enum_values.clone());
        }
        if let Some(o) = s.as_object_mut() {
            o.remove("format");
        }
    }
    if !p.children.is_empty() {
        let obj = object_schema(&p.children, true);
        let bare = s.get("x-bitrix-type").and_then(Value::as_str);
        match s.get("type").and_then(Value::as_str) {
            Some("array") => s["items"] = obj,
            _ if bare == Some("object") => s = merge_nullable(obj, &s),
            _ if bare == Some("array") => s = json!({"type": "array", "items": obj}),
            _ => {}
        }
    }
    s
}

fn merge_nullable(mut obj: Value, from: &Value) -> Value {
    if from.get("nullable") == Some(&Value::Bool(true)) {
        obj["nullable"] = Value::Bool(true);
    }
    obj
}

/// An object schema from table rows; `required` lists the marked rows when `with_required`.
/// Unlisted keys are kept (`additionalProperties: true`, a flattened map in Rust): the docs
/// rarely list every key (user fields `UF_*`, filter prefixes, `propertyN`).
pub fn object_schema(params: &[Param], with_required: bool) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for p in params {
        props.insert(p.name.clone(), param_schema(p));
        if with_required && p.required {
            required.push(Value::String(p.name.clone()));
        }
    }
    let mut s = Map::new();
    s.insert("type".into(), json!("object"));
    if !required.is_empty() {
        s.insert("required".into(), Value::Array(required));
    }
    s.insert("properties".into(), Value::Object(props));
    s.insert("additionalProperties".into(), Value::Bool(true));
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_types() {
        assert_eq!(type_schema("integer"), json!({"type": "integer"}));
        assert_eq!(
            type_schema("string | null"),
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            type_schema("crm_status"),
            json!({"x-bitrix-type": "crm_status"})
        );
        assert_eq!(
            type_schema("object[]"),
            json!({"type": "array", "items": {"x-bitrix-type": "object"}})
        );
        assert_eq!(type_schema("array"), json!({"x-bitrix-type": "array"}));
        assert_eq!(
            type_schema("datetime"),
            json!({"type": "string", "format": "date-time"})
        );
        assert_eq!(
            type_schema("integer | string"),
            json!({"x-bitrix-type": "integer | string"})
        );
    }
}
