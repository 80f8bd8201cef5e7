//! Updates 500 deals with as few requests as the API allows: `batch` carries 50 calls per
//! request, and `Client::batch_of` splits a longer list itself. Each call gets its own
//! answer, so one refused update neither hides nor undoes the others.
//!
//! To leave a real portal as it was, the example works on deals it creates: it adds 500
//! deals, renames each of them, then deletes them, all in batches (30 requests in all).
//!
//! ```sh
//! cargo run -p bitrix24 --example update_deals_in_batches
//! BITRIX24_WEBHOOK_URL=https://your.bitrix24.com/rest/1/yourcode/ \
//!   cargo run -p bitrix24 --example update_deals_in_batches
//! ```

mod common;

use bitrix24::api::crm::deal;
use bitrix24_fake_portal::FakeError;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const DEALS: usize = 500;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store: Arc<Mutex<BTreeMap<i64, Value>>> = Arc::default();
    let (client, fake) = common::connect(|fake| fake_deals(fake, &store)).await?;

    let adds: Vec<deal::AddRequest> = (1..=DEALS)
        .map(|i| {
            deal::AddRequest::new().fields(
                deal::AddRequestFields::new()
                    .title(format!("SDK batch example #{i}"))
                    .opportunity(i as f64 * 10.0),
            )
        })
        .collect();
    let ids: Vec<i64> = client
        .batch_of(&adds)
        .await?
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!("added {} deals", ids.len());

    let updates: Vec<deal::UpdateRequest> = ids
        .iter()
        .map(|&id| {
            deal::UpdateRequest::new().id(id).fields(
                deal::UpdateRequestFields::new().title(format!("SDK batch example, renamed {id}")),
            )
        })
        .collect();
    let answers = client.batch_of(&updates).await?;
    let failed: Vec<(i64, String)> = ids
        .iter()
        .zip(&answers)
        .filter_map(|(id, a)| match a {
            Ok(true) => None,
            Ok(false) => Some((*id, "the portal answered false".into())),
            Err(e) => Some((*id, e.to_string())),
        })
        .collect();
    println!(
        "updated {} of {} deals in {} batch requests",
        answers.len() - failed.len(),
        answers.len(),
        answers.len().div_ceil(50)
    );
    for (id, why) in &failed {
        println!("  deal {id} not updated: {why}");
    }

    let deletes: Vec<deal::DeleteRequest> = ids
        .iter()
        .map(|&id| deal::DeleteRequest::new().id(id))
        .collect();
    let deleted = client
        .batch_of(&deletes)
        .await?
        .into_iter()
        .filter(|r| matches!(r, Ok(true)))
        .count();
    println!("deleted {deleted} deals");
    if let Some(fake) = fake {
        let renamed = store.lock().unwrap().len();
        println!(
            "the fake portal saw {} requests; {renamed} deals left",
            fake.stats().requests
        );
    }
    Ok(())
}

/// `crm.deal.add`, `crm.deal.update` and `crm.deal.delete` over an in-memory table.
fn fake_deals(fake: &bitrix24_fake_portal::FakePortal, store: &Arc<Mutex<BTreeMap<i64, Value>>>) {
    let id_of = |params: &Value| {
        params["id"]
            .as_i64()
            .or_else(|| params["id"].as_str()?.parse().ok())
            .ok_or_else(|| FakeError::new(400, "ERROR_ARGUMENT", "id is required"))
    };
    let s = store.clone();
    fake.on("crm.deal.add", move |params| {
        let mut deals = s.lock().unwrap();
        let id = deals.keys().next_back().copied().unwrap_or(0) + 1;
        deals.insert(id, params["fields"].clone());
        Ok(json!(id))
    });
    let s = store.clone();
    fake.on("crm.deal.update", move |params| {
        let id = id_of(params)?;
        let mut deals = s.lock().unwrap();
        let deal = deals
            .get_mut(&id)
            .ok_or_else(|| FakeError::new(400, "NOT_FOUND", "Not found"))?;
        if let (Some(d), Some(f)) = (deal.as_object_mut(), params["fields"].as_object()) {
            d.extend(f.clone());
        }
        Ok(json!(true))
    });
    let s = store.clone();
    fake.on("crm.deal.delete", move |params| {
        let id = id_of(params)?;
        match s.lock().unwrap().remove(&id) {
            Some(_) => Ok(json!(true)),
            None => Err(FakeError::new(400, "NOT_FOUND", "Not found")),
        }
    });
}
