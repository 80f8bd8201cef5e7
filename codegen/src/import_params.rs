//! The request rules `import` applies to a page's `params` table schema before
//! [`crate::reconcile::request`] fits it to the page's request examples.
//!
//! - The classic query parameters ([`query_params`]): a top-level `filter` or `order` is a
//!   map of conditions (operator-prefixed keys, lists for `IN`) whatever the table says, so it
//!   stays open (the runtime's `Filter` / `Order`); a `select` is a list of field names. These
//!   hold on pages without request examples too.
//! - Spellings ([`respell`]): a declared parameter that no example spells as the table does,
//!   but every example that has it spells alike in another case or style (`RESPONSIBLE_ID`
//!   for `responsibleId`, `ID` for `id`), takes the examples' spelling with the table's type.
//!   (The reconciliation itself keeps the table's spelling and leaves another one open.)
//!
//! Pure functions over JSON values; never panic; bounded by [`MAX_DEPTH`].

use serde_json::{Map, Value, json};

/// Depth below which nested `select` lists are looked for (`params.select`).
const SELECT_DEPTH: usize = 2;
/// Depth bound of the walk over examples.
const MAX_DEPTH: usize = 12;

/// Applies the classic query-parameter rules to a page's `params` object schema.
pub(crate) fn query_params(schema: &mut Value) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, p) in props.iter_mut() {
        // An `order` the table types as a text is a direction (`user.get`'s `SORT` + `ORDER`).
        let direction = kind(p).is_some_and(|k| k == "string");
        if name.eq_ignore_ascii_case("filter") || (name.eq_ignore_ascii_case("order") && !direction)
        {
            *p = open_map(p);
        }
    }
    select_lists(schema, 0);
}

/// The open map a query parameter is, keeping only whether it may be null.
fn open_map(p: &Value) -> Value {
    let mut m = json!({"x-bitrix-type": "object"});
    if p.get("nullable") == Some(&Value::Bool(true)) {
        m["nullable"] = Value::Bool(true);
    }
    m
}

/// A `select` (any case) that is not already a list of scalars becomes a list of field names,
/// in this object and the objects below it (to [`SELECT_DEPTH`]).
fn select_lists(schema: &mut Value, depth: usize) {
    if depth > SELECT_DEPTH {
        return;
    }
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, p) in props.iter_mut() {
        if name.eq_ignore_ascii_case("select") {
            let scalar_items = p.get("type") == Some(&json!("array"))
                && p.get("items")
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str)
                    .is_some_and(|t| t != "object" && t != "array");
            if !scalar_items {
                let mut s = json!({"type": "array", "items": {"type": "string"}});
                if p.get("nullable") == Some(&Value::Bool(true)) {
                    s["nullable"] = Value::Bool(true);
                }
                *p = s;
            }
        } else {
            select_lists(p, depth + 1);
        }
    }
}

/// Renames declared properties to the spelling every request example uses (see the module
/// docs), in the objects and lists of objects below too; required names follow. Examples that
/// are not objects are left out.
pub(crate) fn respell(schema: &mut Value, examples: &[&Value]) {
    let values: Vec<&Value> = examples.iter().copied().filter(|v| v.is_object()).collect();
    walk(schema, &values, 0);
}

fn kind(s: &Value) -> Option<&str> {
    s.get("type").and_then(Value::as_str)
}

fn walk(schema: &mut Value, values: &[&Value], depth: usize) {
    if values.is_empty() || depth > MAX_DEPTH {
        return;
    }
    match kind(schema) {
        Some("object") => {
            let objects: Vec<&Map<String, Value>> =
                values.iter().filter_map(|v| v.as_object()).collect();
            respell_object(schema, &objects, depth);
        }
        Some("array") => {
            let elems: Vec<&Value> = values
                .iter()
                .filter_map(|v| v.as_array())
                .flatten()
                .collect();
            if let Some(items) = schema.get_mut("items") {
                walk(items, &elems, depth + 1);
            }
        }
        _ => {}
    }
}

/// Whether two keys are one name in two spellings: cases and underscores aside (`ID` and `id`,
/// `RESPONSIBLE_ID` and `responsibleId`, the request and response styles of one field).
fn same_name(a: &str, b: &str) -> bool {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    a.eq_ignore_ascii_case(b) || (!a.is_empty() && fold(a) == fold(b))
}

/// One object's declared properties against the example objects at its place.
fn respell_object(schema: &mut Value, objects: &[&Map<String, Value>], depth: usize) {
    let Some(props) = schema.get("properties").and_then(Value::as_object).cloned() else {
        return;
    };
    let mut renamed = Map::new();
    let mut renames: Vec<(String, String)> = Vec::new();
    for (name, p) in &props {
        let mut spelling: Option<&str> = None;
        let mut unanimous = true;
        let mut exact = false;
        for o in objects {
            for k in o.keys() {
                if k == name {
                    exact = true;
                } else if same_name(k, name) {
                    match spelling {
                        None => spelling = Some(k),
                        Some(s) if s == k => {}
                        Some(_) => unanimous = false,
                    }
                }
            }
        }
        let new_name = match spelling {
            Some(s) if !exact && unanimous && !props.contains_key(s) => s.to_owned(),
            _ => name.clone(),
        };
        if &new_name != name {
            renames.push((name.clone(), new_name.clone()));
        }
        if !renamed.contains_key(&new_name) {
            renamed.insert(new_name, p.clone());
        }
    }
    for (name, p) in renamed.iter_mut() {
        let at: Vec<&Value> = objects.iter().filter_map(|o| o.get(name)).collect();
        walk(p, &at, depth + 1);
    }
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    o.insert("properties".into(), Value::Object(renamed));
    if let Some(required) = o.get_mut("required").and_then(Value::as_array_mut) {
        for r in required.iter_mut() {
            if let Some((_, to)) = renames.iter().find(|(from, _)| r.as_str() == Some(from)) {
                *r = Value::String(to.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn respelt(schema: Value, examples: &[Value]) -> Value {
        let mut s = schema;
        let refs: Vec<&Value> = examples.iter().collect();
        respell(&mut s, &refs);
        s
    }

    #[test]
    fn query_parameters_are_open_maps_and_select_is_a_list_of_names() {
        let mut s = json!({"type": "object", "properties": {
            "filter": {"type": "object", "properties": {"ID": {"type": "integer"}}},
            "ORDER": {"type": "array", "items": {"type": "string"}},
            "select": {"type": "array", "items": {"type": "object", "properties": {"ID": {"type": "integer"}}}},
            "SELECT": {"x-bitrix-type": "array", "nullable": true},
            "params": {"type": "object", "properties": {"select": {"x-bitrix-type": "object"}}},
            "fields": {"type": "object", "properties": {"filter": {"type": "string"}}}
        }});
        query_params(&mut s);
        let p = &s["properties"];
        assert_eq!(p["filter"], json!({"x-bitrix-type": "object"}));
        assert_eq!(p["ORDER"], json!({"x-bitrix-type": "object"}));
        let names = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(p["select"], names);
        assert_eq!(
            p["SELECT"],
            json!({"type": "array", "items": {"type": "string"}, "nullable": true})
        );
        assert_eq!(p["params"]["properties"]["select"], names);
        // An order typed as a text is a direction.
        let mut d = json!({"type": "object", "properties": {"order": {"type": "string", "enum": ["ASC", "DESC"]}}});
        query_params(&mut d);
        assert_eq!(d["properties"]["order"]["type"], json!("string"));
        // Only top-level filters are open; a list of scalars is kept.
        assert_eq!(
            p["fields"]["properties"]["filter"],
            json!({"type": "string"})
        );
        let mut t = json!({"type": "object", "properties": {"select": {"type": "array", "items": {"type": "integer"}}}});
        query_params(&mut t);
        assert_eq!(
            t["properties"]["select"]["items"],
            json!({"type": "integer"})
        );
    }

    #[test]
    fn spellings_follow_the_examples() {
        let s = json!({"type": "object", "required": ["Id", "fields", "CODE"], "properties": {
            "Id": {"type": "integer"},
            "fields": {"type": "object", "properties": {"rate": {"type": "number"}}},
            "list": {"type": "array", "items": {"type": "object", "properties": {"Name": {"type": "string"}}}},
            "CODE": {"type": "string"},
            "IBLOCK_ID": {"type": "integer"}
        }});
        let got = respelt(
            s,
            &[
                json!({"id": 1, "FIELDS": {"NAME": "x"}, "CODE": "a", "LIST": [{"NAME": "y"}]}),
                json!({"id": 2, "FIELDS": {"RATE": 1}, "CODE": "b", "iblock_id": 1, "IBLOCK_ID": 1}),
            ],
        );
        let keys: Vec<&String> = got["properties"].as_object().unwrap().keys().collect();
        // `list` is spelt `LIST`; IBLOCK_ID is also spelt as declared: kept.
        assert_eq!(keys, ["id", "FIELDS", "LIST", "CODE", "IBLOCK_ID"]);
        assert_eq!(got["required"], json!(["id", "FIELDS", "CODE"]));
        assert_eq!(
            got["properties"]["FIELDS"]["properties"],
            json!({"RATE": {"type": "number"}})
        );
        assert_eq!(
            got["properties"]["LIST"]["items"]["properties"],
            json!({"NAME": {"type": "string"}})
        );
        // Another style of the same name (the docs' response style in a request table).
        let camel = json!({"type": "object", "required": ["responsibleId"], "properties": {"responsibleId": {"type": "integer"}, "resp": {"type": "string"}}});
        let got = respelt(camel, &[json!({"RESPONSIBLE_ID": 1, "TITLE": "x"})]);
        let keys: Vec<&String> = got["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["RESPONSIBLE_ID", "resp"]);
        assert_eq!(got["required"], json!(["RESPONSIBLE_ID"]));
        // Mixed spellings keep the table's name; without examples nothing changes.
        let t = json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}});
        assert_eq!(respelt(t.clone(), &[json!({"ID": 1}), json!({"Id": 2})]), t);
        assert_eq!(respelt(t.clone(), &[]), t);
    }

    #[test]
    fn odd_examples_do_not_panic() {
        let s = json!({"type": "object", "properties": {"a": {"type": "array"}, "b": {"type": "object"}}});
        for ex in [
            json!([1, 2]),
            json!(null),
            json!({"a": {}, "b": []}),
            json!({"a": null}),
        ] {
            let _ = respelt(s.clone(), &[ex]);
        }
    }
}
