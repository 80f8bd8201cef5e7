//! Decoding real-looking portal answers with the types generated from the fixture specs.
//!
//! Bitrix24 sends PHP's loose values (numbers as strings, `Y`/`N`, `[]` for `{}`, `false` or
//! `""` for nothing). These tests feed such answers through the fixture registry, which
//! decodes with the generated response types and hands back the normalised JSON, and check
//! both what is accepted and what must be refused because it would lose data.

use bitrix24_tests::api::registry::{decode_result, validate_params};
use serde_json::{Value, json};

fn decoded(method: &str, wire: Value) -> Value {
    match decode_result(method, &wire) {
        Ok(v) => v,
        Err(e) => panic!("{method}: {wire} should decode, got: {e}"),
    }
}

fn refused(method: &str, wire: Value) -> String {
    match decode_result(method, &wire) {
        Ok(v) => panic!("{method}: {wire} should be refused, decoded as {v}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn numbers_and_booleans_sent_as_strings_are_typed() {
    let v = decoded(
        "user.get",
        json!([{
            "ID": "7",
            "ACTIVE": "Y",
            "UF_DEPARTMENT": ["1", 5, "12"],
            "LAST_LOGIN": "2024-10-11T10:00:00+03:00"
        }]),
    );
    assert_eq!(v[0]["ACTIVE"], json!(true));
    assert_eq!(v[0]["UF_DEPARTMENT"], json!([1, 5, 12]));
    assert_eq!(v[0]["LAST_LOGIN"], json!("2024-10-11T10:00:00+03:00"));

    for (wire, want) in [("N", false), ("0", false), ("1", true), ("true", true)] {
        let v = decoded("user.get", json!([{ "ID": "1", "ACTIVE": wire }]));
        assert_eq!(v[0]["ACTIVE"], json!(want), "ACTIVE = {wire:?}");
    }
    let v = decoded("user.get", json!([{ "ID": "1", "ACTIVE": 0 }]));
    assert_eq!(v[0]["ACTIVE"], json!(false));

    let v = decoded("im.chat.user.list", json!(["1", 2, "30"]));
    assert_eq!(v, json!([1, 2, 30]));
    assert_eq!(decoded("crm.deal.update", json!("Y")), json!(true));
    assert_eq!(decoded("crm.deal.update", json!(1)), json!(true));
}

#[test]
fn nested_lists_and_integer_enums_decode_loosely() {
    let v = decoded(
        "tasks.task.list",
        json!({ "tasks": [
            { "id": "15", "status": "2", "groupId": "0", "timeEstimate": "3600", "deadline": "" },
            { "id": 16, "status": 5, "groupId": null, "deadline": null }
        ]}),
    );
    let tasks = &v["tasks"];
    assert_eq!(tasks[0]["status"], json!(2));
    assert_eq!(tasks[0]["groupId"], json!(0));
    assert_eq!(tasks[0]["timeEstimate"], json!(3600));
    assert_eq!(tasks[1]["status"], json!(5));
    assert_eq!(tasks[1]["groupId"], Value::Null);
    // `[integer, string]` keeps a numeric id either way the wire sends it.
    assert!(tasks[0]["id"] == json!(15) || tasks[0]["id"] == json!("15"));
}

#[test]
fn unknown_enum_values_are_kept_not_rejected() {
    // Status 9 and a bot type the spec does not list must survive a round trip.
    let v = decoded(
        "tasks.task.list",
        json!({ "tasks": [ { "id": 1, "status": 9 } ] }),
    );
    assert_eq!(v["tasks"][0]["status"], json!(9));
    let v = decoded(
        "imbot.bot.list",
        json!({ "5": { "ID": "5", "TYPE": "Z", "OPENLINE": "N" } }),
    );
    assert_eq!(v["5"]["TYPE"], json!("Z"));
    assert_eq!(v["5"]["OPENLINE"], json!("N"));
    assert_eq!(v["5"]["ID"], json!(5));
}

#[test]
fn empty_arrays_stand_for_empty_objects_and_maps() {
    assert_eq!(decoded("imbot.bot.list", json!([])), json!({}));
    let v = decoded("crm.item.list", json!({ "items": [] }));
    assert_eq!(v["items"], json!([]));
    assert_eq!(decoded("crm.item.list", json!([])), json!({}));
}

#[test]
fn false_and_empty_string_mean_absent_in_optional_values() {
    let v = decoded(
        "tasks.task.list",
        json!({ "tasks": [ { "id": 1, "groupId": false, "timeEstimate": "" } ] }),
    );
    let task = &v["tasks"][0];
    assert!(
        task.get("groupId").is_none_or(Value::is_null),
        "groupId: {task}"
    );
    assert!(
        task.get("timeEstimate").is_none_or(Value::is_null),
        "timeEstimate: {task}"
    );
}

#[test]
fn values_that_would_lose_data_are_refused_with_their_path() {
    let e = refused(
        "tasks.task.list",
        json!({ "tasks": [ { "id": 1 }, { "id": 2, "timeEstimate": "12abc" } ] }),
    );
    assert!(e.contains("tasks.task.list"), "{e}");
    assert!(e.contains("tasks[1].timeEstimate"), "{e}");

    let e = refused("im.chat.user.list", json!([1, 2.5]));
    assert!(e.contains("[1]"), "{e}");

    let e = refused("user.get", json!([{ "ID": "1", "ACTIVE": "maybe" }]));
    assert!(e.contains("[0].ACTIVE"), "{e}");

    // A required field that is missing is an error, not a default.
    let e = refused("user.get", json!([{ "NAME": "no id" }]));
    assert!(e.contains("ID"), "{e}");
}

#[test]
fn params_round_trip_through_the_request_types() {
    let v = validate_params(
        "crm.deal.update",
        &json!({ "id": "42", "fields": { "TITLE": "Deal", "UF_CRM_1712345678": "x" } }),
    )
    .expect("valid params");
    assert_eq!(v["id"], json!(42));
    assert_eq!(v["fields"]["TITLE"], json!("Deal"));
    assert_eq!(v["fields"]["UF_CRM_1712345678"], json!("x"));

    let e = validate_params("crm.deal.update", &json!({ "fields": {} })).unwrap_err();
    assert!(e.to_string().contains("id"), "{e}");
}

#[test]
fn a_union_takes_a_number_into_its_string_branch_as_a_plain_string_field_would() {
    use bitrix24_runtime::loose::Loose;
    use bitrix24_tests::api::crm::deal::ListRequestFilterStatusId as StatusId;
    // No number branch: the number becomes the text branch, as a `String` field takes it.
    assert_eq!(
        StatusId::from_loose(&json!(5)).unwrap(),
        StatusId::String("5".into())
    );
    assert_eq!(
        StatusId::from_loose(&json!("NEW")).unwrap(),
        StatusId::String("NEW".into())
    );
    assert_eq!(
        StatusId::from_loose(&json!(["NEW", 7])).unwrap(),
        StatusId::Array(vec!["NEW".into(), "7".into()])
    );
    // What no branch takes is still refused.
    assert!(StatusId::from_loose(&json!({"a": 1})).is_err());
    assert!(StatusId::from_loose(&json!(true)).is_err());
}
