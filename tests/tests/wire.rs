//! What reaches the portal: the caller's key order (`order`, `filter`, `select`) and one
//! encoding of every kind of value, in a direct call and in the same call inside a batch.
//! The fake portal decodes both (a JSON body, a PHP query string) and
//! `FakePortal::received` shows what it saw; the two must be identical, order included.

use std::time::Duration;

use bitrix24_fake_portal::{Config, FakePortal};
use bitrix24_runtime::{Batch, Client, Filter, Order, RetryPolicy, Select, YesNo};
use bitrix24_tests::api::imopenlines::crm::message::{AddRequest, AddRequestCrmEntityType};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(20);

async fn portal() -> (FakePortal, Client) {
    let portal = FakePortal::start(Config::default()).await.unwrap();
    for m in ["test.echo", "crm.deal.list"] {
        portal.on(m, |_| Ok(json!(true)));
    }
    portal.on("imopenlines.crm.message.add", |_| Ok(json!(1)));
    let client = Client::webhook(&portal.webhook_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    (portal, client)
}

/// Sends `params` to `method` directly, then as the only command of a batch, and returns
/// what the portal decoded each time, as JSON text (so key order counts).
async fn both_ways(
    portal: &FakePortal,
    client: &Client,
    method: &str,
    params: &Value,
) -> (String, String) {
    let before = portal.received(method).len();
    tokio::time::timeout(LIMIT, client.call_raw(method, params))
        .await
        .unwrap()
        .unwrap();
    let mut batch = Batch::new();
    let key = batch.add_raw(method, params).unwrap();
    let mut answers = tokio::time::timeout(LIMIT, client.batch(&batch))
        .await
        .unwrap()
        .unwrap();
    answers.take(key).unwrap();
    let seen = portal.received(method);
    assert_eq!(
        seen.len(),
        before + 2,
        "one direct call and one batch command"
    );
    (seen[before].to_string(), seen[before + 1].to_string())
}

#[tokio::test]
async fn order_filter_and_select_arrive_in_the_callers_order_direct_and_in_a_batch() {
    let (portal, client) = portal().await;
    // Neither alphabetical nor reverse-alphabetical, so a sorted map would show.
    let params = json!({
        "order": Order::new().desc("ID").asc("DATE_CREATE").asc("BEGINDATE"),
        "filter": Filter::new().gte("DATE_MODIFY", "2026-01-01").eq("CATEGORY_ID", 1).gt("ID", 9),
        "select": Select::new(["TITLE", "ID", "UF_CRM_B", "UF_CRM_A"]),
    });
    let (direct, batched) = both_ways(&portal, &client, "crm.deal.list", &params).await;
    let expected = r#"{"order":{"ID":"DESC","DATE_CREATE":"ASC","BEGINDATE":"ASC"},"filter":{">=DATE_MODIFY":"2026-01-01","CATEGORY_ID":"1",">ID":"9"},"select":{"0":"TITLE","1":"ID","2":"UF_CRM_B","3":"UF_CRM_A"}}"#;
    assert_eq!(direct, expected);
    assert_eq!(batched, expected);
}

#[tokio::test]
async fn a_typed_request_keeps_its_field_order_on_both_paths() {
    let (portal, client) = portal().await;
    let request = AddRequest::new(AddRequestCrmEntityType::Deal, 42, 7, 9, "hi & bye");
    tokio::time::timeout(LIMIT, client.call(&request))
        .await
        .unwrap()
        .unwrap();
    let mut batch = Batch::new();
    let key = batch.add(&request).unwrap();
    let mut answers = tokio::time::timeout(LIMIT, client.batch(&batch))
        .await
        .unwrap()
        .unwrap();
    answers.take(key).unwrap();
    let seen: Vec<String> = portal
        .received("imopenlines.crm.message.add")
        .iter()
        .map(Value::to_string)
        .collect();
    let expected = r#"{"CRM_ENTITY_TYPE":"deal","CRM_ENTITY":"42","USER_ID":"7","CHAT_ID":"9","MESSAGE":"hi & bye"}"#;
    assert_eq!(seen, [expected, expected]);
}

#[tokio::test]
async fn every_kind_of_value_goes_out_the_same_way_on_both_paths() {
    let (portal, client) = portal().await;
    let msk = chrono::FixedOffset::east_opt(3 * 3600).unwrap();
    let at = chrono::TimeZone::with_ymd_and_hms(&msk, 2026, 1, 31, 9, 30, 5).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
    // One member per kind; each case is also checked alone below, so a difference names it.
    let cases: Vec<(&str, Value, Option<Value>)> = vec![
        ("true", json!(true), Some(json!("Y"))),
        ("false", json!(false), Some(json!("N"))),
        ("yes_no", json!(YesNo::N), Some(json!("N"))),
        ("yes_no_y", json!(YesNo::Y), Some(json!("Y"))),
        ("int", json!(42), Some(json!("42"))),
        ("negative", json!(-1), Some(json!("-1"))),
        ("zero", json!(0), Some(json!("0"))),
        ("float", json!(19999.99), Some(json!("19999.99"))),
        ("big", json!(u64::MAX), Some(json!("18446744073709551615"))),
        ("null", json!(null), None),
        ("empty_string", json!(""), Some(json!(""))),
        ("empty_list", json!([]), None),
        ("empty_object", json!({}), None),
        ("only_nulls", json!({"a": null, "b": [null]}), None),
        (
            "text",
            json!("a b&c=d%e+f[g]?/ü ✓"),
            Some(json!("a b&c=d%e+f[g]?/ü ✓")),
        ),
        (
            "list",
            json!([1, "x", true]),
            Some(json!({"0": "1", "1": "x", "2": "Y"})),
        ),
        (
            "holes",
            json!([1, null, 3]),
            Some(json!({"0": "1", "2": "3"})),
        ),
        (
            "nested",
            json!({"z": {"y": [{"x": false}, []], "w": 2.5}, "a": [[1, 2], [3]]}),
            Some(
                json!({"z": {"y": {"0": {"x": "N"}}, "w": "2.5"}, "a": {"0": {"0": "1", "1": "2"}, "1": {"0": "3"}}}),
            ),
        ),
        (
            "dates",
            json!(Filter::new().gte("DATE_MODIFY", at).lt("CLOSEDATE", day)),
            Some(json!({">=DATE_MODIFY": "2026-01-31T09:30:05+03:00", "<CLOSEDATE": "2026-02-01"})),
        ),
        (
            "prefixed keys",
            json!({"!=%TITLE": "x%", "><ID": [1, 5]}),
            Some(json!({"!=%TITLE": "x%", "><ID": {"0": "1", "1": "5"}})),
        ),
    ];
    let mut all = serde_json::Map::new();
    for (name, value, expected) in &cases {
        all.insert((*name).to_owned(), value.clone());
        let (direct, batched) =
            both_ways(&portal, &client, "test.echo", &json!({ "v": value })).await;
        assert_eq!(direct, batched, "{name}: direct and batch differ");
        let want = match expected {
            Some(e) => json!({ "v": e }),
            None => json!({}),
        };
        assert_eq!(direct, want.to_string(), "{name}");
    }
    let (direct, batched) = both_ways(&portal, &client, "test.echo", &Value::Object(all)).await;
    assert_eq!(direct, batched, "all kinds in one call");
}
