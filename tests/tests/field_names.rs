//! The generated field enums of list methods (`ListField`): each variant goes out as its wire
//! name in `filter`, `order` and `select`, beside field names given as text (`UF_*`), in the
//! caller's order, in a direct call and in the same request inside a batch.

use std::time::Duration;

use bitrix24_fake_portal::{Config, FakePortal};
use bitrix24_runtime::{Batch, Client, Filter, Order, RetryPolicy, Select};
use bitrix24_tests::api::crm::{deal, item};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn each_variant_is_its_wire_name() {
    assert_eq!(item::ListField::EntityTypeId.as_str(), "entityTypeId");
    assert_eq!(deal::ListField::AssignedById.to_string(), "ASSIGNED_BY_ID");
    assert_eq!(String::from(deal::ListField::DateCreate), "DATE_CREATE");
    assert_eq!(
        serde_json::to_value(deal::ListField::StageId).unwrap(),
        json!("STAGE_ID")
    );
    // Every declared field of the rows, in the spec's order.
    let all: Vec<&str> = item::ListField::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(
        all,
        ["id", "title", "entityTypeId", "stageId", "opportunity"]
    );
}

#[tokio::test]
async fn typed_and_text_field_names_go_out_as_wire_names_in_order_on_both_paths() {
    use item::ListField as F;
    let portal = FakePortal::start(Config::default()).await.unwrap();
    portal.on("crm.item.list", |_| Ok(json!({"items": []})));
    let client = Client::webhook(&portal.webhook_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    // Neither alphabetical nor the declared order, text names between typed ones.
    let request = item::ListRequest::new(item::ListRequestEntityTypeId::Integer(2))
        .select(
            Select::new([F::Title, F::Id])
                .field("ufCrm5_COLOR")
                .field(F::StageId),
        )
        .filter(
            Filter::new()
                .gte(F::Opportunity, 100)
                .eq("ufCrm5_COLOR", "red")
                .in_(F::StageId, ["NEW", "WON"]),
        )
        .order(Order::new().desc(F::Title).asc("ufCrm5_COLOR").asc(F::Id));
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
        .received("crm.item.list")
        .iter()
        .map(Value::to_string)
        .collect();
    let expected = r#"{"entityTypeId":"2","select":{"0":"title","1":"id","2":"ufCrm5_COLOR","3":"stageId"},"filter":{">=opportunity":"100","ufCrm5_COLOR":"red","@stageId":{"0":"NEW","1":"WON"}},"order":{"title":"DESC","ufCrm5_COLOR":"ASC","id":"ASC"}}"#;
    assert_eq!(seen, [expected, expected]);
}
