//! The fixture types' JSON Schemas (feature `schemars`): the docs' examples of the fixture
//! methods validate against them (see `common/schema_check.rs`), and the registry's schema
//! functions answer by name.

#[path = "common/schema_check.rs"]
mod schema_check;

use bitrix24_runtime::schema::loosen;
use bitrix24_tests::api::registry;
use serde_json::{Value, json};

fn fixture() -> schema_check::Registry {
    schema_check::Registry {
        params_schema: registry::params_schema,
        result_schema: registry::result_schema,
        validate_params: |m, v| registry::validate_params(m, v).map_err(|e| e.to_string()),
        decode_result: |m, v| registry::decode_result(m, v).map_err(|e| e.to_string()),
        loosen,
    }
}

#[test]
fn the_docs_examples_validate_against_the_schemas() {
    let f = schema_check::run(&fixture());
    println!("{f:#?}");
    assert!(
        f.failures.is_empty(),
        "{} example(s) break the schemas:\n{}",
        f.failures.len(),
        f.failures.join("\n")
    );
    // Not vacuous: both sides have examples the decoder accepts.
    for side in ["params", "result"] {
        assert!(
            f.decoded.get(side).copied().unwrap_or(0) >= 10,
            "too few {side} examples checked: {f:?}"
        );
    }
}

#[test]
fn unknown_methods_have_no_schema() {
    assert_eq!(registry::params_schema("no.such.method"), None);
    assert_eq!(registry::result_schema("no.such.method"), None);
}

/// The definition a `$ref` names, or the schema itself.
fn deref<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => s,
    }
}

#[test]
fn the_schema_speaks_wire_names_and_marks_what_is_required() {
    // imopenlines.crm.message.add (the seed): five required parameters under their wire names.
    let s = registry::params_schema("imopenlines.crm.message.add").expect("a fixture method");
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let mut required: Vec<&str> = s["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "CHAT_ID",
            "CRM_ENTITY",
            "CRM_ENTITY_TYPE",
            "MESSAGE",
            "USER_ID"
        ]
    );
    // The entity type is an open enum: the listed values, then any string.
    let ty = deref(&s, &s["properties"]["CRM_ENTITY_TYPE"]);
    assert_eq!(
        ty["anyOf"],
        json!([{"enum": ["lead", "deal", "company", "contact"]}, {"type": "string"}])
    );
    // Names are the wire's, never the Rust fields'.
    assert!(s["properties"].get("crm_entity_type").is_none());
    // The same name, in any case, finds the same schema (as `find` does).
    assert_eq!(
        registry::params_schema("IMOPENLINES.CRM.MESSAGE.ADD"),
        Some(s)
    );
}

#[test]
fn loosened_schemas_take_the_portals_spellings() {
    let mut s = registry::params_schema("imopenlines.crm.message.add").expect("a fixture method");
    loosen(&mut s);
    let v = jsonschema::draft202012::new(&s).expect("compiles");
    let ok = json!({"CRM_ENTITY_TYPE": "deal", "CRM_ENTITY": "42", "USER_ID": 1, "CHAT_ID": " 7 ", "MESSAGE": 12});
    assert!(
        v.is_valid(&ok),
        "{:?}",
        v.iter_errors(&ok)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    for bad in [
        json!({"CRM_ENTITY_TYPE": "deal", "CRM_ENTITY": "12abc", "USER_ID": 1, "CHAT_ID": 7, "MESSAGE": "m"}),
        json!({"CRM_ENTITY_TYPE": "deal", "CRM_ENTITY": 1.5, "USER_ID": 1, "CHAT_ID": 7, "MESSAGE": "m"}),
        json!({"CRM_ENTITY_TYPE": "deal", "USER_ID": 1, "CHAT_ID": 7, "MESSAGE": "m"}),
    ] {
        assert!(!v.is_valid(&bad), "{bad} should not validate");
        // The decoder agrees.
        assert!(registry::validate_params("imopenlines.crm.message.add", &bad).is_err());
    }
}
