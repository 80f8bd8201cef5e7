//! Type specs (`tests/fixtures/specs/types/`): one Rust type per type spec, in
//! `api::types::<scope>`, that every method using it refers to.
//!
//! `crm.multifield` is the rows' `PHONE` of `crm.lead.list` (a response) and the `PHONE` of
//! `crm.deal.update`'s `fields` (a request); `user.brief` (scope `user`) is the `users` of
//! `im.dialog.messages.get` (scope `im`) and refers to `crm.multifield` itself.

#![cfg(all(feature = "crm", feature = "im", feature = "imbot"))]

use bitrix24_tests::api::crm::{deal, lead};
use bitrix24_tests::api::im::dialog::messages;
use bitrix24_tests::api::registry::{decode_result, validate_params};
use bitrix24_tests::api::types::crm::Multifield;
use bitrix24_tests::api::types::user::Brief;
use serde_json::json;

/// What a portal sends for a lead's phones: numbers as strings, PHP's loose values.
fn lead_rows() -> serde_json::Value {
    json!([{
        "ID": "12",
        "TITLE": "Lead",
        "PHONE": [
            {"ID": "301", "TYPE_ID": "PHONE", "VALUE": "+7 900 000-00-01", "VALUE_TYPE": "WORK"},
            {"ID": 302, "TYPE_ID": "PHONE", "VALUE": "+7 900 000-00-02", "VALUE_TYPE": "NEW_KIND"}
        ]
    }])
}

#[test]
fn a_response_and_a_request_hold_the_same_type() {
    let rows: lead::ListResponse = serde_json::from_value(lead_rows()).unwrap();
    let phones: Vec<Multifield> = rows[0].phone.clone().unwrap();
    assert_eq!(phones[0].id, Some(301));
    assert_eq!(phones[0].value, "+7 900 000-00-01");
    // The phones read from one method go into another method's request as they are: one
    // type, not two look-alikes (this would not compile with a copy per method).
    let fields = deal::UpdateRequestFields::default().phone(phones.clone());
    let request = deal::UpdateRequest::new(5, fields);
    let sent = serde_json::to_value(&request).unwrap();
    assert_eq!(
        sent["fields"]["PHONE"],
        json!([
            {"ID": 301, "TYPE_ID": "PHONE", "VALUE": "+7 900 000-00-01", "VALUE_TYPE": "WORK"},
            {"ID": 302, "TYPE_ID": "PHONE", "VALUE": "+7 900 000-00-02", "VALUE_TYPE": "NEW_KIND"}
        ])
    );
    let field: &Option<Vec<Multifield>> = &request.fields.phone;
    assert_eq!(field.as_deref(), Some(&phones[..]));
    validate_params("crm.deal.update", &sent).unwrap();
}

#[test]
fn the_shared_type_decodes_loosely_and_keeps_its_rules() {
    // Through the registry: the same decoder for every user of the type.
    let v = decode_result("crm.lead.list", &lead_rows()).unwrap();
    assert_eq!(v[0]["PHONE"][0]["ID"], json!(301));
    assert_eq!(v[0]["PHONE"][1]["VALUE_TYPE"], json!("NEW_KIND"));
    // `VALUE` is required by the type spec, wherever it is used.
    let e = decode_result("crm.lead.list", &json!([{"ID": 1, "PHONE": [{"ID": 3}]}]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("VALUE"), "{e}");
    let e = validate_params(
        "crm.deal.update",
        &json!({"id": 1, "fields": {"PHONE": [{"ID": 3}]}}),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("VALUE"), "{e}");
    // A request type: `new` with the required field, setters for the others.
    let m = Multifield::new("a@b.c").id(4);
    assert_eq!(
        serde_json::to_value(&m).unwrap(),
        json!({"ID": 4, "VALUE": "a@b.c"})
    );
}

#[test]
fn a_type_of_another_scope_is_used_through_its_path() {
    let answer = json!({
        "messages": [],
        "users": [{"id": "1", "name": "Ann", "phones": [{"VALUE": "+1"}]}]
    });
    let r: messages::GetResponse = serde_json::from_value(answer).unwrap();
    let users: Vec<Brief> = r.users.unwrap();
    assert_eq!(users[0].id, Some(1));
    let phones: &Vec<Multifield> = users[0].phones.as_ref().unwrap();
    assert_eq!(phones[0].value, "+1");
}

/// An event's payload (`ONIMBOTMESSAGEADD`, scope `imbot`) refers to `user.brief` too: the
/// same type as `im.dialog.messages.get`'s users, reached from `events` through `api::types`.
#[test]
fn an_event_payload_holds_the_same_type() {
    use bitrix24_runtime::events::{EventPayload, RawEvent};
    use bitrix24_tests::events::imbot;
    let body = "event=ONIMBOTMESSAGEADD&data[PARAMS][MESSAGE_ID]=1\
                &data[AUTHOR][id]=9&data[AUTHOR][phones][0][VALUE]=%2B2";
    let e = imbot::Event::from_raw(RawEvent::from_form(body.as_bytes()).unwrap()).unwrap();
    let imbot::Event::Imbotmessageadd(e) = e else {
        panic!("{e:?}")
    };
    let author: Brief = e.data.author.clone().unwrap();
    assert_eq!(author.id, Some(9));
    assert_eq!(author.phones.unwrap()[0].value, "+2");
    // Interchangeable with what the method decodes.
    let r = messages::GetResponse::default();
    let mut users = r.users.unwrap_or_default();
    users.push(e.data.author.unwrap());
    assert_eq!(users.len(), 1);
}
