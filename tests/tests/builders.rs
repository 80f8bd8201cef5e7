//! Request types are built with `new(required…)` and chainable setters; what they serialize to
//! is what a struct literal with the same values serialized to.

use bitrix24_tests::api::crm::{deal, item};
use bitrix24_tests::api::imopenlines::crm::message;
use serde_json::json;

#[test]
fn new_takes_the_required_parameters_with_conversions() {
    // `&str` into an enum of values, integers of any width, `&str` into `String`.
    let req = message::AddRequest::new("deal", 288u32, 12, 8773i64, "hello");
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"CRM_ENTITY_TYPE": "deal", "CRM_ENTITY": 288, "USER_ID": 12, "CHAT_ID": 8773, "MESSAGE": "hello"})
    );
    assert_eq!(
        req.crm_entity_type,
        message::AddRequestCrmEntityType::Deal,
        "a listed value becomes its variant"
    );
    // A value the spec does not list still goes out as written.
    let other = message::AddRequest::new("quote", 1, 1, 1, "x");
    assert_eq!(
        serde_json::to_value(&other).unwrap()["CRM_ENTITY_TYPE"],
        json!("quote")
    );
}

#[test]
fn optional_parameters_are_unset_until_a_setter_runs() {
    assert_eq!(
        serde_json::to_value(deal::ListRequest::new()).unwrap(),
        json!({})
    );
    assert_eq!(deal::ListRequest::new(), deal::ListRequest::default());
    let req = deal::ListRequest::new()
        .select(["ID", "TITLE"])
        .start(50)
        .filter_id(7);
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"select": ["ID", "TITLE"], "start": 50, "filter>ID": 7})
    );
    // A setter called twice keeps the last value.
    assert_eq!(req.clone().start(100).start, Some(100));
}

#[test]
fn open_maps_take_undeclared_keys_beside_the_declared_ones() {
    let fields = deal::UpdateRequestFields::new()
        .additional("UF_CRM_1700000000", "custom")
        .additional("UF_CRM_LIST", json!([1, 2]));
    let req = deal::UpdateRequest::new(42, fields).user_id_3(5);
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["id"], json!(42));
    assert_eq!(v["USER_ID"], json!(5));
    assert_eq!(v["fields"]["UF_CRM_1700000000"], json!("custom"));
    assert_eq!(v["fields"]["UF_CRM_LIST"], json!([1, 2]));
}

#[test]
fn nested_request_types_have_builders_too() {
    let req = item::AddRequest::new(2, serde_json::Map::new())
        .crm_entity_type("lead")
        .title("T")
        .rows([item::AddRequestRowsItem::new()]);
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["entityTypeId"], json!(2));
    assert_eq!(v["CRM_ENTITY_TYPE"], json!("lead"));
    assert_eq!(v["rows"], json!([{}]));
    // A built request reads back as the same request.
    let back: item::AddRequest = serde_json::from_value(v).unwrap();
    assert_eq!(back, req);
}

#[test]
fn fields_named_like_the_builder_keep_working() {
    // `new` is the constructor, so the property `new` is `new_2`; a property `default` has a
    // setter `default` beside `Default::default`.
    let req = item::AddRequest::new(2, serde_json::Map::new())
        .new_2("n")
        .default("d");
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(
        (v["new"].clone(), v["default"].clone()),
        (json!("n"), json!("d"))
    );
    let nested = item::AddRequestNested::new().default("x");
    assert_eq!(
        serde_json::to_value(&nested).unwrap(),
        json!({"default": "x"})
    );
    // The inherent setter wins over the trait: `Default` is reached by its full path.
    assert_eq!(
        item::AddRequestNested::new(),
        <item::AddRequestNested as Default>::default()
    );
}

#[test]
fn open_filter_and_order_are_the_runtime_builders() {
    use bitrix24_runtime::{Filter, Order};
    // `crm.item.list` leaves both open in its spec; `crm.deal.list` (a fixture) declares its
    // filter's fields, which keep their struct, and leaves `order` open.
    let req = item::ListRequest::new(item::ListRequestEntityTypeId::Integer(1032))
        .filter(
            Filter::new()
                .gte("DATE_MODIFY", "2025-01-01")
                .ne("STAGE_ID", "LOSE"),
        )
        .order(Order::new().desc("TITLE").asc("ID"));
    // Written as a string: the caller's order survives (`TITLE` before `ID`, `>=` before `!=`).
    let text = serde_json::to_string(&req).unwrap();
    assert!(
        text.contains(r#""order":{"TITLE":"DESC","ID":"ASC"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""filter":{">=DATE_MODIFY":"2025-01-01","!=STAGE_ID":"LOSE"}"#),
        "{text}"
    );
    // And read back (a request may be handed over as JSON).
    // (`entityTypeId` reads back as the union's first variant that fits, so compare the rest.)
    let back: item::ListRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (back.filter, back.order),
        (req.filter.clone(), req.order.clone())
    );
    let deals = deal::ListRequest::new().order(Order::new().desc("ID").asc("DATE_CREATE"));
    assert_eq!(
        serde_json::to_string(&deals).unwrap(),
        r#"{"order":{"ID":"DESC","DATE_CREATE":"ASC"}}"#
    );
}

#[test]
fn a_dialog_id_parameter_takes_a_dialog_id_and_sends_its_text() {
    use bitrix24_runtime::DialogId;
    use bitrix24_tests::api::im::dialog::messages;
    let req = messages::GetRequest::new(DialogId::chat(42)).limit(5);
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"DIALOG_ID": "chat42", "LIMIT": 5})
    );
    // Raw text goes in unchanged and is read into its form.
    let raw = messages::GetRequest::new("sg7");
    assert_eq!(raw.dialog_id, DialogId::sonet_group(7));
    assert_eq!(
        serde_json::to_value(&raw).unwrap()["DIALOG_ID"],
        json!("sg7")
    );
    // Read back loosely: a user's id as a number or as text.
    let back: messages::GetRequest = serde_json::from_value(json!({"DIALOG_ID": 15})).unwrap();
    assert_eq!(back.dialog_id, DialogId::user(15));
    let back: messages::GetRequest =
        serde_json::from_value(json!({"DIALOG_ID": "chat42"})).unwrap();
    assert_eq!(back, messages::GetRequest::new(DialogId::chat(42)));
}
