//! The method table and calls by wire name, on the specs in `specs/`.

use bitrix24::api::registry::{METHODS, decode_result, find, validate_params};
use bitrix24::runtime::{Error, Pagination, Part};
use serde_json::json;

#[test]
fn the_table_lists_the_seed_method() {
    let m = find("imopenlines.crm.message.add").expect("seed method in the table");
    assert_eq!(m.scope, "imopenlines");
    assert!(!m.deprecated);
    assert_eq!(m.rate_limit_per_sec, 2.0);
    assert_eq!(m.pagination, Pagination::None);
    assert!(m.enabled);
    // Method names are case-insensitive on the wire, and so is the lookup.
    assert_eq!(find("IMOPENLINES.CRM.MESSAGE.ADD"), Some(m));
    assert_eq!(find("imopenlines.crm.message"), None);
    // Sorted by wire name, no duplicates.
    assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name));
}

#[test]
fn params_are_checked_and_normalised() {
    let out = validate_params("imopenlines.crm.message.add", &json!({"fields": []})).unwrap();
    assert_eq!(out, json!({"fields": {}}));
    let params = json!({"fields": {"CHAT_ID": 5, "MESSAGE": "hi"}});
    assert_eq!(
        validate_params("imopenlines.crm.message.add", &params).unwrap(),
        params
    );
}

#[test]
fn bad_params_name_the_method_and_path() {
    let err = validate_params("imopenlines.crm.message.add", &json!({"fields": 5})).unwrap_err();
    let Error::Decode(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.method, "imopenlines.crm.message.add");
    assert_eq!(d.part, Part::Params);
    assert_eq!(d.path, "params.fields");
    assert_eq!(d.excerpt, "5");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "imopenlines.crm.message.add: params does not fit its type at `params.fields`"
        ),
        "{text}"
    );

    let err = validate_params("imopenlines.crm.message.add", &json!({})).unwrap_err();
    assert!(err.to_string().contains("missing field `fields`"), "{err}");
}

#[test]
fn results_are_decoded_by_name() {
    assert_eq!(
        decode_result("imopenlines.crm.message.add", &json!([])).unwrap(),
        json!({})
    );
    let err = decode_result("imopenlines.crm.message.add", &json!("x")).unwrap_err();
    assert!(
        matches!(&err, Error::Decode(d) if d.part == Part::Result && d.path == "result"),
        "{err:?}"
    );
}

#[test]
fn unknown_names_are_an_error() {
    for name in ["crm.deal.nothing", "", "imopenlines.crm.message.add.x"] {
        let err = validate_params(name, &json!({})).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownMethod(n) if n == name),
            "{err:?}"
        );
        assert!(decode_result(name, &json!({})).is_err());
    }
}
