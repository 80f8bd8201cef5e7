//! Adds a lead with standard fields and custom `UF_*` fields, then reads it back.
//!
//! Against a fake portal started in this process:
//!
//! ```sh
//! cargo run -p bitrix24 --example lead_with_custom_fields
//! ```
//!
//! Against a real portal (the lead is really created; `BITRIX24_UF_FIELD` names a custom
//! field of your portal, `UF_CRM_EXAMPLE` by default, which a portal without it ignores):
//!
//! ```sh
//! BITRIX24_WEBHOOK_URL=https://your.bitrix24.com/rest/1/yourcode/ \
//!   cargo run -p bitrix24 --example lead_with_custom_fields
//! ```

mod common;

use bitrix24::api::crm::lead;
use bitrix24::api::types::crm::Multifield;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uf = std::env::var("BITRIX24_UF_FIELD").unwrap_or_else(|_| "UF_CRM_EXAMPLE".into());
    // The fake portal keeps the leads it is sent, so `crm.lead.get` answers with them.
    let leads: Arc<Mutex<BTreeMap<i64, Value>>> = Arc::default();
    let (client, _fake) = common::connect(|fake| {
        let store = leads.clone();
        fake.on("crm.lead.add", move |params| {
            let mut leads = store.lock().unwrap();
            let id = leads.len() as i64 + 1;
            let mut fields = params["fields"].clone();
            fields["ID"] = json!(id.to_string());
            leads.insert(id, fields);
            Ok(json!(id))
        });
        let store = leads.clone();
        fake.on("crm.lead.get", move |params| {
            let id = params["id"]
                .as_i64()
                .or_else(|| params["id"].as_str()?.parse().ok());
            store
                .lock()
                .unwrap()
                .get(&id.unwrap_or(0))
                .cloned()
                .ok_or_else(|| bitrix24_fake_portal::FakeError::new(400, "NOT_FOUND", "Not found"))
        });
    })
    .await?;

    // Declared fields through their setters; custom fields, which no spec can list, through
    // `additional`: they go out beside the declared ones, as written. A phone is a
    // `crm.multifield`, one type (`api::types::crm::Multifield`) for every CRM method.
    let fields = lead::AddRequestFields::new()
        .title("Lead from the Rust SDK example")
        .name("Ada")
        .last_name("Lovelace")
        .phone([Multifield::new()
            .value("+44 20 7946 0000")
            .value_type("WORK")])
        .additional(uf.clone(), "gold")
        .additional("UF_CRM_EXAMPLE_SCORE", 42);
    // `client.call` sends any request type to its method. (The docs mark `crm.lead.*`
    // deprecated in favour of `crm.item.*` with `entityTypeId` 1, so the generated
    // `lead::add` function carries `#[deprecated]`; the request types do not.)
    let id = client.call(&lead::AddRequest::new().fields(fields)).await?;
    println!("lead {id} added");

    let lead = client.call(&lead::GetRequest::new().id(id)).await?;
    println!(
        "read back: title {}, {uf} = {}",
        lead.title.unwrap_or_default(),
        // Custom fields are not in the spec: they land in the open map, as received.
        lead.additional.get(uf.as_str()).unwrap_or(&Value::Null)
    );
    Ok(())
}
