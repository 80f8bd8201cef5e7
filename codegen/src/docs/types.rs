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

/// Whether a doc type names a type of its own (`deal`, `deal[]`, `crm_multifield`) rather than
/// only base types (`integer`, `object[]`, `string | null`).
pub(super) fn is_named_doc_type(t: &str) -> bool {
    type_parts(t).iter().any(|p| {
        let base = p.trim_end_matches("[]");
        let b = base_schema(base);
        b.get("type").is_none()
            && b.get("x-bitrix-type")
                .and_then(Value::as_str)
                .is_some_and(|x| x != "object" && x != "array")
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
        // `integer | integer[]`, `string[] | string`: one value or a list of them.
        2 if one_or_list(&schemas[0], &schemas[1]) => json!({"oneOf": schemas}),
        2 if one_or_list(&schemas[1], &schemas[0]) => {
            schemas.reverse();
            json!({"oneOf": schemas})
        }
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

/// Whether `list` is a list of `one`, a typed schema.
fn one_or_list(one: &Value, list: &Value) -> bool {
    one.get("type").is_some()
        && list.get("type") == Some(&json!("array"))
        && list.get("items") == Some(one)
}

fn base_schema(p: &str) -> Value {
    // A multiple field (`PHONE`, `EMAIL`, `IM`) is a list of these on the wire, whether the
    // page writes `crm_multifield` or `crm_multifield[]`.
    if p == "crm_multifield" || p == "crm_multifield[]" {
        return json!({"type": "array", "items": named_object(
            "crm_multifield",
            json!({
                "ID": {"type": "integer"},
                "TYPE_ID": {"type": "string"},
                "VALUE": {"type": "string"},
                "VALUE_TYPE": {"type": "string"},
            }),
        )});
    }
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
        // The named types of the data-types pages (`api-reference/data-types.md`, `crm/`,
        // `catalog/`, `sale/`), as they are on the wire.
        "time" => named_object(
            "time",
            json!({
                "start": {"type": "number"},
                "finish": {"type": "number"},
                "duration": {"type": "number"},
                "processing": {"type": "number"},
                "date_start": {"type": "string", "format": "date-time"},
                "date_finish": {"type": "string", "format": "date-time"},
                "operating_reset_at": {"type": "integer"},
                "operating": {"type": "number"},
            }),
        ),
        "timestamp" => json!({"type": "integer"}),
        // References by id: a user, a CRM item, a funnel, a location, an activity enum.
        "user"
        | "crm_lead"
        | "crm_deal"
        | "crm_contact"
        | "crm_company"
        | "crm_quote"
        | "crm_category"
        | "crm_entity"
        | "crm_dynamic_type.id"
        | "user.id"
        | "location" => {
            json!({"type": "integer"})
        }
        p if p.starts_with("crm_enum_") => json!({"type": "integer"}),
        // `catalog_product.id`, `sale_order_payment.id`: the integer id of such an object.
        // A sale status is a string code (`N`, `DN`).
        "sale_status.id" => json!({"type": "string"}),
        p if p.ends_with(".id") && (p.starts_with("catalog_") || p.starts_with("sale_")) => {
            json!({"type": "integer"})
        }
        // String codes: a CRM reference-book entry (`NEW`), a currency (`RUB`), a CRM binding
        // (`D_1`), a user-field entity (`CRM_CONTACT`), a sale status (`DN`), a language.
        "crm_status"
        | "crm_currency"
        | "crm"
        | "userfieldentityid"
        | "sale_status"
        | "sale_lang"
        | "sale_lang.lid"
        | "crm_currency.currency"
        | "catalog_language.lid" => json!({"type": "string"}),
        // Language id to text (a text may be null); a method asked for one language sends
        // the text alone.
        "lang_map" => json!({"oneOf": [
            {"type": "object", "additionalProperties": {"type": "string", "nullable": true}},
            {"type": "string"},
        ]}),
        "uf_enum_element" => named_object(
            "uf_enum_element",
            json!({
                "ID": {"type": "integer"},
                "VALUE": {"type": "string"},
                "DEF": {"type": "string"},
                "SORT": {"type": "integer"},
                "XML_ID": {"type": "string"},
                "DEL": {"type": "string"},
            }),
        ),
        "diskfile" => named_object(
            "diskfile",
            json!({
                "ID": {"type": "integer"},
                "FILE_ID": {"type": "integer"},
                "NAME": {"type": "string"},
                "SIZE": {"type": "string"},
                "BYTES": {"type": "integer"},
                "CAN_READ": {"type": "boolean"},
                "VIEW_URL": {"type": "string"},
                "PREVIEW_URL": {"type": "string"},
            }),
        ),
        // PHP arrays: a bare `object` or `array` may arrive as a map or a list. Without a
        // nested table saying more, any JSON value (a nested table makes it a struct).
        "object" => json!({"x-bitrix-type": "object"}),
        "array" => json!({"x-bitrix-type": "array"}),
        "" | "any" | "mixed" | "unknown" => json!({}),
        other => json!({"x-bitrix-type": other}),
    }
}

/// Whether a key is a docs placeholder or one example portal's custom field rather than a
/// wire name every portal sends: `UF_CRM_...`, `PARENT_ID_…`, `DYNAMIC_XXX`, a user field with
/// a generated id (`UF_CRM_1720019876534`, `ufCrm5_1721244707107`, `UF_CRM_577BBCE354F86`),
/// or a name ending in an example record's id (`PARENT_ID_1222`, `parentId1222`,
/// `property258`, `LANDING_ID_404`), or a prefix for a family of keys (`UF_`). Such keys go to
/// the open map, never a named field.
/// A digit run after an upper-case letter is part of a name (`SUPPORTS_FFD105`).
pub fn is_placeholder_key(k: &str) -> bool {
    if k.contains("...") || k.contains('…') || k.to_ascii_lowercase().contains("xxx") {
        return true;
    }
    // A prefix standing for a family of keys (`UF_`, `PROPERTY_`).
    if k.len() > 1 && k.ends_with('_') {
        return true;
    }
    // A user field (`UF_…`, `uf_…`, `ufCrm…`) whose name has a segment with a digit that is
    // four or more characters long: an id the portal generated.
    let user_field = k.len() > 2
        && k.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("uf"))
        && k[2..]
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_uppercase());
    if user_field
        && k.split('_')
            .skip(1)
            .any(|seg| seg.len() >= 4 && seg.bytes().any(|b| b.is_ascii_digit()))
    {
        return true;
    }
    // Three or more trailing digits after `_` or a lower-case letter.
    let digits = k.bytes().rev().take_while(u8::is_ascii_digit).count();
    digits >= 3
        && digits < k.len()
        && k.as_bytes()
            .get(k.len() - digits - 1)
            .is_some_and(|b| *b == b'_' || b.is_ascii_lowercase())
}

/// Whether an enum value is a pattern the docs write for a family of values (`chatXXX`,
/// `sgXXX`, `XXX`, `DYNAMIC_XXX`, `UF_...`) rather than a literal value.
pub fn is_pattern_value(v: &str) -> bool {
    v.contains("...")
        || v.contains('…')
        || v.contains("XXX")
        || v.contains("xxx")
        || v.contains(['<', '>', '{', '}'])
}

/// Parameters named `filter` are maps of field conditions on every method; a page that types
/// one as a `string` (and lists some of its keys as bullets, `user.get`) still means a map.
fn is_filter(p: &Param) -> bool {
    p.name.eq_ignore_ascii_case("filter") && p.children.is_empty()
}

/// An object type of the data-types pages: its fields, other keys kept, and its docs name (for
/// a later pass that shares identical types).
fn named_object(name: &str, props: Value) -> Value {
    json!({
        "type": "object",
        "properties": props,
        "additionalProperties": true,
        "x-bitrix-type": name,
    })
}

/// Takes off the names [`param_schema`] gives objects built from a named type's table, at any
/// depth up to 32 (for a request: a response type, with its read-only fields, is not what a
/// method takes); the objects of the data-types pages (`crm_multifield`, `diskfile`) keep theirs.
pub fn unname_tables(v: &mut Value) {
    fn walk(v: &mut Value, depth: usize) {
        if depth > 32 {
            return;
        }
        match v {
            Value::Object(m) => {
                let table = m.get("properties").is_some_and(Value::is_object)
                    && m.get("x-bitrix-type")
                        .and_then(Value::as_str)
                        .is_some_and(|n| !data_types_object(n));
                if table {
                    m.remove("x-bitrix-type");
                }
                for c in m.values_mut() {
                    walk(c, depth + 1);
                }
            }
            Value::Array(a) => {
                for c in a {
                    walk(c, depth + 1);
                }
            }
            _ => {}
        }
    }
    walk(v, 0);
}

/// Whether a doc type is one of the objects of the data-types pages (see [`base_schema`]).
fn data_types_object(n: &str) -> bool {
    let b = base_schema(&n.to_ascii_lowercase());
    b.get("properties").is_some()
        || b.get("items")
            .is_some_and(|i| i.get("properties").is_some())
}

/// The JSON Schema of one parameter: its type, enum values and nested properties.
pub fn param_schema(p: &Param) -> Value {
    if is_filter(p) && is_scalar_doc_type(&p.doc_type) {
        return json!({"x-bitrix-type": "object"});
    }
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
            // `deal[]`: a list of the type whose table the page gives, named as the docs name it.
            Some("array") => {
                let name = s["items"].get("x-bitrix-type").cloned();
                s["items"] = with_type_name(obj, name.as_ref());
            }
            _ if bare == Some("array") => s = json!({"type": "array", "items": obj}),
            // `object` or a named type (`deal`) whose table the page gives.
            _ if bare.is_some_and(|b| !b.contains(['|', ','])) => {
                let name = s.get("x-bitrix-type").cloned();
                s = merge_nullable(with_type_name(obj, name.as_ref()), &s);
            }
            _ => {}
        }
    }
    s
}

/// An object built from a named type's table (`deal`, `Тип deal {#deal}` on this page or the
/// linked one) keeps the docs' name in `x-bitrix-type`, so that the share pass makes every
/// occurrence of it one type; `object`, `array` and type lists (`a | b`) name nothing, and an
/// object without properties stays unnamed.
fn with_type_name(mut obj: Value, name: Option<&Value>) -> Value {
    let Some(n) = name.and_then(Value::as_str) else {
        return obj;
    };
    let named = !matches!(n, "object" | "array" | "") && !n.contains(['|', ',', '[', '<']);
    let has_props = obj
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if named && has_props {
        obj["x-bitrix-type"] = Value::String(n.to_owned());
    }
    obj
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
        if is_placeholder_key(&p.name) {
            continue;
        }
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
        assert_eq!(type_schema("crm_status"), json!({"type": "string"}));
        assert_eq!(
            type_schema("some_other_type"),
            json!({"x-bitrix-type": "some_other_type"})
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
        assert_eq!(
            type_schema("integer | integer[]"),
            json!({"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]})
        );
        assert_eq!(
            type_schema("string[] | string"),
            json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
        );
        assert_eq!(
            type_schema("string[] | integer"),
            json!({"x-bitrix-type": "string[] | integer"})
        );
    }

    #[test]
    fn placeholder_keys() {
        for k in [
            "UF_CRM_...",
            "PARENT_ID_...",
            "ufCrm...",
            "UF_…",
            "DYNAMIC_XXX",
            "UF_CRM_1720019876534",
            "ufCrm_1720019876534",
            "ufCrm5_1721244707107",
            "UF_CRM_577BBCE354F86",
            "PARENT_ID_1222",
            "PARENT_ID_156",
            "parentId1222",
            "property258",
            "LANDING_ID_404",
            "reg151085",
            "UF_",
            "PROPERTY_",
        ] {
            assert!(is_placeholder_key(k), "{k}");
        }
        for k in [
            "UF_DEPARTMENT",
            "UF_PHONE_INNER",
            "UF_CRM_TASK",
            "SUPPORTS_FFD105",
            "ADDRESS_2",
            "PARENT_ID",
            "parentId",
            "ID",
            "123",
            "uf",
            "ufoCount",
            "UFO_2",
            "",
        ] {
            assert!(!is_placeholder_key(k), "{k}");
        }
    }

    #[test]
    fn placeholder_rows_go_to_the_open_map() {
        let row = |name: &str, required| Param {
            name: name.into(),
            line: 1,
            doc_type: "string".into(),
            required,
            enum_values: Vec::new(),
            children: Vec::new(),
        };
        let s = object_schema(
            &[
                row("TITLE", true),
                row("UF_CRM_...", true),
                row("PARENT_ID_1222", false),
            ],
            true,
        );
        assert_eq!(
            s,
            json!({"type": "object", "required": ["TITLE"], "properties": {"TITLE": {"type": "string"}}, "additionalProperties": true})
        );
    }

    #[test]
    fn pattern_values() {
        for v in [
            "chatXXX",
            "sgXXX",
            "XXX",
            "DYNAMIC_XXX",
            "UF_...",
            "<ID>",
            "{id}",
        ] {
            assert!(is_pattern_value(v), "{v}");
        }
        for v in ["chat", "Y", "DYNAMIC_128", "SMART_INVOICE", "1"] {
            assert!(!is_pattern_value(v), "{v}");
        }
    }

    #[test]
    fn a_filter_typed_as_a_string_is_a_map() {
        let p = Param {
            name: "FILTER".into(),
            line: 1,
            doc_type: "string".into(),
            required: false,
            enum_values: vec![json!("UF_DEPARTMENT"), json!("IS_ONLINE")],
            children: Vec::new(),
        };
        assert_eq!(param_schema(&p), json!({"x-bitrix-type": "object"}));
        // Any other name keeps its enum.
        let q = Param {
            name: "MODE".into(),
            ..p
        };
        assert_eq!(
            param_schema(&q),
            json!({"type": "string", "enum": ["UF_DEPARTMENT", "IS_ONLINE"]})
        );
    }

    /// One assertion per named type of the data-types pages.
    #[test]
    fn named_types_of_the_data_types_pages() {
        let int = json!({"type": "integer"});
        let string = json!({"type": "string"});
        for t in [
            "user",
            "crm_lead",
            "crm_deal",
            "crm_contact",
            "crm_company",
            "crm_quote",
            "crm_category",
            "crm_entity",
            "crm_dynamic_type.id",
            "user.id",
            "location",
            "timestamp",
            "crm_enum_activitytype",
            "crm_enum_ownertype",
            "catalog_product.id",
            "catalog_measure.id",
            "sale_order_payment.id",
        ] {
            assert_eq!(type_schema(t), int, "{t}");
        }
        for t in [
            "crm_status",
            "crm_currency",
            "crm",
            "userFieldEntityId",
            "sale_status",
            "sale_lang",
            "sale_lang.lid",
            "crm_currency.CURRENCY",
            "catalog_language.lid",
        ] {
            assert_eq!(type_schema(t), string, "{t}");
        }
        // `sale_order` names an object on some pages and an id on others: left open.
        assert_eq!(
            type_schema("sale_order"),
            json!({"x-bitrix-type": "sale_order"})
        );
        assert_eq!(
            type_schema("user[]"),
            json!({"type": "array", "items": {"type": "integer"}})
        );
        assert_eq!(type_schema("sale_status.id"), string);
        assert_eq!(
            type_schema("lang_map"),
            json!({"oneOf": [{"type": "object", "additionalProperties": {"type": "string", "nullable": true}}, {"type": "string"}]})
        );
        let keys = |t: &str| -> Vec<String> {
            let s = type_schema(t);
            assert_eq!(s["type"], json!("object"), "{t}");
            assert_eq!(s["x-bitrix-type"], json!(t), "{t}");
            assert_eq!(s["additionalProperties"], json!(true), "{t}");
            // Sorted: with serde_json's `preserve_order` a map keeps insertion order.
            let mut k: Vec<String> = s["properties"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            k.sort();
            k
        };
        // A multifield is always a list on the wire, with or without `[]`.
        let multi = type_schema("crm_multifield");
        assert_eq!(multi, type_schema("crm_multifield[]"));
        assert_eq!(multi["type"], json!("array"));
        assert_eq!(multi["items"]["x-bitrix-type"], json!("crm_multifield"));
        let mut mk: Vec<&String> = multi["items"]["properties"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        mk.sort();
        assert_eq!(mk, ["ID", "TYPE_ID", "VALUE", "VALUE_TYPE"]);
        assert_eq!(multi["items"]["properties"]["ID"], int);
        assert_eq!(
            keys("uf_enum_element"),
            ["DEF", "DEL", "ID", "SORT", "VALUE", "XML_ID"]
        );
        assert_eq!(
            keys("diskfile"),
            [
                "BYTES",
                "CAN_READ",
                "FILE_ID",
                "ID",
                "NAME",
                "PREVIEW_URL",
                "SIZE",
                "VIEW_URL"
            ]
        );
        assert_eq!(
            type_schema("diskfile")["properties"]["CAN_READ"],
            json!({"type": "boolean"})
        );
        assert_eq!(
            keys("time"),
            [
                "date_finish",
                "date_start",
                "duration",
                "finish",
                "operating",
                "operating_reset_at",
                "processing",
                "start"
            ]
        );
        assert_eq!(
            type_schema("time")["properties"]["start"],
            json!({"type": "number"})
        );
        // A nullable reference keeps its type.
        assert_eq!(
            type_schema("user | null"),
            json!({"type": "integer", "nullable": true})
        );
        // Named types with a type of their own are not looked up in tables.
        assert!(!is_named_doc_type("crm_multifield[]"));
        assert!(!is_named_doc_type("user"));
        assert!(is_named_doc_type("deal[]"));
    }
}
