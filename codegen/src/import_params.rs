//! The request side of `import`: rules that shape a page's `params` schema beyond its tables.
//!
//! - The classic query parameters (`query_params`): a top-level `filter` or `order` is a map
//!   of conditions (operator-prefixed keys, lists for `IN`) whatever the table says, so it
//!   stays open (the runtime's `Filter` / `Order`); a `select` is a list of field names.
//! - The page's own request examples (`fit_requests`): where the table and every example of
//!   the page disagree on the kind of a value, or on a parameter's spelling or requiredness,
//!   the examples (calls the docs show working) decide. Only kinds change (a PHP `array` with
//!   a table of keys sent as a map is that object; an object sent as a list of them is a list
//!   of it; a text sent as a map of texts by language is a language map; an id sent as a list
//!   of ids is either); a type is never loosened to any JSON.
//!
//! Pure functions over JSON values; never panic; bounded by the examples' depth.

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

/// Reconciles `schema` with the page's request examples (each a JSON object of parameters;
/// other values are left out).
pub(crate) fn fit_requests<'a>(schema: &mut Value, examples: impl Iterator<Item = &'a Value>) {
    let values: Vec<&Value> = examples.filter(|v| v.is_object()).collect();
    fit(schema, &values, 0);
}

fn kind(s: &Value) -> Option<&str> {
    s.get("type").and_then(Value::as_str)
}

fn is_list_of_objects(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_object))
}

/// Whether a map's keys are positions (`{"0": …, "1": …}`, a PHP list written as a map).
fn numeric_keys(m: &Map<String, Value>) -> bool {
    m.keys().any(|k| k.parse::<i64>().is_ok())
}

fn fit(schema: &mut Value, values: &[&Value], depth: usize) {
    let values: Vec<&Value> = values.iter().copied().filter(|v| !v.is_null()).collect();
    if values.is_empty() || depth > MAX_DEPTH {
        return;
    }
    match kind(schema) {
        Some("object") => {
            // An object sent as a list of such objects: a list of it.
            if values.iter().all(|v| is_list_of_objects(v)) && schema.get("properties").is_some() {
                let mut items = std::mem::take(schema);
                let nullable = items
                    .as_object_mut()
                    .and_then(|o| o.remove("nullable"))
                    .is_some_and(|n| n == Value::Bool(true));
                *schema = json!({"type": "array", "items": items});
                if nullable {
                    schema["nullable"] = Value::Bool(true);
                }
                fit(schema, &values, depth);
                return;
            }
            if values.iter().all(|v| v.is_object()) {
                fit_object(schema, &values, depth);
            }
        }
        Some("array") => {
            let items_object = schema
                .get("items")
                .is_some_and(|i| kind(i) == Some("object") && i.get("properties").is_some());
            // A PHP `array` with a table of keys, sent as a map: that object.
            let maps = values.iter().all(|v| {
                v.as_object()
                    .is_some_and(|m| !m.is_empty() && !numeric_keys(m))
            });
            if items_object && maps {
                let nullable = schema.get("nullable") == Some(&Value::Bool(true));
                let mut items = schema
                    .get_mut("items")
                    .map(std::mem::take)
                    .unwrap_or_default();
                if nullable {
                    items["nullable"] = Value::Bool(true);
                }
                *schema = items;
                fit_object(schema, &values, depth);
                return;
            }
            // A list of names sent as a map (a PHP array with keys): either.
            let scalar_items = schema
                .get("items")
                .and_then(kind)
                .is_some_and(|k| k != "object" && k != "array");
            if scalar_items
                && values
                    .iter()
                    .all(|v| v.as_object().is_some_and(|m| !m.is_empty()))
            {
                let items = schema.get("items").cloned().unwrap_or_default();
                *schema = either(
                    schema.clone(),
                    json!({"type": "object", "additionalProperties": items}),
                );
                return;
            }
            if values.iter().all(|v| v.is_array()) {
                let elems: Vec<&Value> = values
                    .iter()
                    .filter_map(|v| v.as_array())
                    .flatten()
                    .collect();
                if let Some(items) = schema.get_mut("items") {
                    fit(items, &elems, depth + 1);
                }
            }
        }
        Some("string") if schema.get("enum").is_none() => {
            // A text sent as a map of texts by language: a language map (or the text alone).
            let texts = values.iter().all(|v| {
                v.as_object().is_some_and(|m| {
                    !m.is_empty()
                        && !numeric_keys(m)
                        && m.values().all(|x| x.is_string() || x.is_null())
                })
            });
            if texts {
                *schema = either(
                    schema.clone(),
                    json!({"type": "object", "additionalProperties": {"type": "string", "nullable": true}}),
                );
            } else {
                scalar_or_list(schema, &values);
            }
        }
        Some("integer") if schema.get("enum").is_none() => scalar_or_list(schema, &values),
        _ => {}
    }
}

/// A scalar sent as a list of such scalars (an id or a list of ids): either.
fn scalar_or_list(schema: &mut Value, values: &[&Value]) {
    let lists = values.iter().all(|v| {
        v.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.is_string() || x.is_number()))
    });
    if lists {
        let mut item = schema.clone();
        if let Some(o) = item.as_object_mut() {
            o.remove("nullable");
        }
        *schema = either(schema.clone(), json!({"type": "array", "items": item}));
    }
}

/// `oneOf` of two schemas, nullable when the first was.
fn either(mut first: Value, second: Value) -> Value {
    let nullable = first
        .as_object_mut()
        .and_then(|o| o.remove("nullable"))
        .is_some_and(|n| n == Value::Bool(true));
    let mut s = json!({"oneOf": [first, second]});
    if nullable {
        s["nullable"] = Value::Bool(true);
    }
    s
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

/// Whether every example object uses none of the declared names but holds objects that do:
/// the table describes the values of a map keyed by something else (`LANG: {"en": {…}}`).
fn map_of_it(props: &Map<String, Value>, objects: &[&Map<String, Value>]) -> bool {
    let declared = |k: &String| props.keys().any(|p| p.eq_ignore_ascii_case(k));
    !props.is_empty()
        && !objects.is_empty()
        && objects.iter().all(|o| {
            !o.is_empty()
                && o.iter().all(|(k, v)| {
                    !declared(k)
                        && v.as_object()
                            .is_some_and(|inner| inner.keys().any(declared))
                })
        })
}

/// An object's properties against example objects: a property no example spells as the table
/// does, but every example that has it spells alike in another case or style
/// (`RESPONSIBLE_ID` for `responsibleId`), takes that spelling; a
/// required property some example leaves out (in every case) is optional; then each property's examples. An
/// object whose examples are maps of it becomes that map.
fn fit_object(schema: &mut Value, values: &[&Value], depth: usize) {
    let objects: Vec<&Map<String, Value>> = values.iter().filter_map(|v| v.as_object()).collect();
    let Some(props) = schema.get("properties").and_then(Value::as_object).cloned() else {
        return;
    };
    if map_of_it(&props, &objects) {
        let mut value = std::mem::take(schema);
        let nullable = value
            .as_object_mut()
            .and_then(|o| o.remove("nullable"))
            .is_some_and(|n| n == Value::Bool(true));
        let inner: Vec<&Value> = objects.iter().flat_map(|o| o.values()).collect();
        fit(&mut value, &inner, depth + 1);
        *schema = json!({"type": "object", "additionalProperties": value});
        if nullable {
            schema["nullable"] = Value::Bool(true);
        }
        return;
    }
    let mut renamed = Map::new();
    let mut renames: Vec<(String, String)> = Vec::new();
    for (name, p) in &props {
        let mut spelling: Option<&str> = None;
        let mut unanimous = true;
        let mut exact = false;
        for o in &objects {
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
    // Required names, renamed, and kept only where every example has them.
    let required: Vec<Value> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|r| {
            renames
                .iter()
                .find(|(from, _)| from == r)
                .map_or(r.to_owned(), |(_, to)| to.clone())
        })
        // Given in another spelling (`ID` for `id`) is given: the method got it.
        .filter(|r| objects.iter().all(|o| o.keys().any(|k| same_name(k, r))))
        .map(Value::String)
        .collect();
    for (name, p) in renamed.iter_mut() {
        let at: Vec<&Value> = objects.iter().filter_map(|o| o.get(name)).collect();
        fit(p, &at, depth + 1);
    }
    if let Some(o) = schema.as_object_mut() {
        o.insert("properties".into(), Value::Object(renamed));
        if required.is_empty() {
            o.remove("required");
        } else {
            o.insert("required".into(), Value::Array(required));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted(schema: Value, examples: &[Value]) -> Value {
        let mut s = schema;
        fit_requests(&mut s, examples.iter());
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
    fn a_php_array_sent_as_a_map_is_the_object() {
        let obj = json!({"type": "object", "required": ["NAME"], "properties": {"NAME": {"type": "string"}}, "additionalProperties": true});
        let s =
            json!({"type": "object", "properties": {"FIELDS": {"type": "array", "items": obj}}});
        let got = fitted(s.clone(), &[json!({"FIELDS": {"NAME": "x"}})]);
        assert_eq!(got["properties"]["FIELDS"], obj);
        // Sent as a list, it stays a list; without examples nothing changes.
        assert_eq!(fitted(s.clone(), &[json!({"FIELDS": [{"NAME": "x"}]})]), s);
        assert_eq!(fitted(s.clone(), &[]), s);
        // A map keyed by positions is a PHP list.
        assert_eq!(
            fitted(s.clone(), &[json!({"FIELDS": {"0": {"NAME": "x"}}})]),
            s
        );
    }

    #[test]
    fn a_list_of_names_sent_as_a_map_is_either() {
        let names = json!({"type": "array", "items": {"type": "string"}});
        let s = json!({"type": "object", "properties": {"select": names}});
        let got = fitted(s, &[json!({"select": {"0": "*", "language": "ru"}})]);
        assert_eq!(
            got["properties"]["select"],
            json!({"oneOf": [names, {"type": "object", "additionalProperties": {"type": "string"}}]})
        );
    }

    #[test]
    fn an_object_sent_as_a_map_of_it_is_that_map() {
        let lang = json!({"type": "object", "required": ["DECIMALS"], "properties": {"DECIMALS": {"type": "integer"}, "FULL_NAME": {"type": "string"}}, "additionalProperties": true});
        let s = json!({"type": "object", "properties": {"LANG": lang}});
        let got = fitted(
            s.clone(),
            &[json!({"LANG": {"en": {"DECIMALS": 2}, "de": {"FULL_NAME": "x"}}})],
        );
        let mut value = lang.clone();
        value.as_object_mut().unwrap().remove("required");
        assert_eq!(
            got["properties"]["LANG"],
            json!({"type": "object", "additionalProperties": value})
        );
        // A declared name at the top, or inner objects that share no name, keep the object.
        assert_eq!(
            fitted(
                s.clone(),
                &[json!({"LANG": {"DECIMALS": 2, "en": {"DECIMALS": 2}}})]
            )["properties"]["LANG"]["properties"],
            lang["properties"]
        );
        assert_eq!(
            fitted(s.clone(), &[json!({"LANG": {"en": {"X": 2}}})])["properties"]["LANG"]["properties"],
            lang["properties"]
        );
    }

    #[test]
    fn an_object_sent_as_a_list_is_a_list_of_it() {
        let obj = json!({"type": "object", "properties": {"ALLOW": {"type": "boolean"}}});
        let s = json!({"type": "object", "properties": {"export": obj}});
        let got = fitted(s, &[json!({"export": [{"ALLOW": false}]})]);
        assert_eq!(
            got["properties"]["export"],
            json!({"type": "array", "items": obj})
        );
    }

    #[test]
    fn spelling_and_requiredness_follow_the_examples() {
        let s = json!({"type": "object", "required": ["Id", "fields", "CODE"], "properties": {
            "Id": {"type": "integer"},
            "fields": {"type": "object", "properties": {"RATE": {"type": "number"}}, "required": ["RATE"]},
            "CODE": {"type": "string"},
            "IBLOCK_ID": {"type": "integer"}
        }});
        let got = fitted(
            s,
            &[
                json!({"id": 1, "FIELDS": {"NAME": "x"}, "CODE": "a"}),
                json!({"id": 2, "FIELDS": {"RATE": 1}, "CODE": "b", "iblock_id": 1, "IBLOCK_ID": 1}),
            ],
        );
        let keys: Vec<&String> = got["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "FIELDS", "CODE", "IBLOCK_ID"]);
        assert_eq!(got["required"], json!(["id", "FIELDS", "CODE"]));
        // RATE is missing from one example's fields.
        assert!(got["properties"]["FIELDS"].get("required").is_none());
        // Another style of the same name (the docs' response style in a request table).
        let camel = json!({"type": "object", "required": ["responsibleId"], "properties": {"responsibleId": {"type": "integer"}, "title": {"type": "string"}, "resp": {"type": "string"}}});
        let got = fitted(camel, &[json!({"RESPONSIBLE_ID": 1, "TITLE": "x"})]);
        let keys: Vec<&String> = got["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["RESPONSIBLE_ID", "TITLE", "resp"]);
        assert_eq!(got["required"], json!(["RESPONSIBLE_ID"]));
        // Mixed spellings keep the table's name, still required (every example gives it).
        let t = json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}});
        let got = fitted(t.clone(), &[json!({"ID": 1}), json!({"Id": 2})]);
        assert_eq!(got, t);
        // Left out by one example: optional.
        let got = fitted(t, &[json!({"ID": 1}), json!({"X": 2})]);
        assert!(got.get("required").is_none());
    }

    #[test]
    fn texts_by_language_and_lists_of_ids() {
        let s = json!({"type": "object", "properties": {
            "LABEL": {"type": "string"},
            "ID": {"type": "integer", "nullable": true},
            "MODE": {"type": "string", "enum": ["a", "b"]}
        }});
        let got = fitted(
            s,
            &[json!({"LABEL": {"en": "x", "de": null}, "ID": [1, 2], "MODE": ["a"]})],
        );
        assert_eq!(
            got["properties"]["LABEL"],
            json!({"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string", "nullable": true}}]})
        );
        assert_eq!(
            got["properties"]["ID"],
            json!({"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}], "nullable": true})
        );
        // An enum is left as it is; scalars that agree too.
        assert_eq!(
            got["properties"]["MODE"],
            json!({"type": "string", "enum": ["a", "b"]})
        );
        let t = json!({"type": "object", "properties": {"ID": {"type": "integer"}}});
        assert_eq!(fitted(t.clone(), &[json!({"ID": 5})]), t);
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
            let _ = fitted(s.clone(), &[ex]);
        }
    }
}
