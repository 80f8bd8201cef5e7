//! Lists every deal modified since a date, with only the fields it needs: a filter built
//! with `Filter` (`>=DATE_MODIFY`), an order and a select that reach the portal in the order
//! written, fields named by `deal::ListField` (a user field by its text), and
//! `client.items`, which pages through the whole list.
//!
//! ```sh
//! cargo run -p bitrix24 --example deals_modified_since -- 2025-01-01T00:00:00+03:00
//! BITRIX24_WEBHOOK_URL=https://your.bitrix24.com/rest/1/yourcode/ \
//!   cargo run -p bitrix24 --example deals_modified_since -- 2025-01-01T00:00:00+03:00
//! ```

mod common;

use bitrix24::api::crm::deal::{self, ListField as F};
use bitrix24::runtime::{Filter, Order, Select};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let since = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "2025-01-01T00:00:00+03:00".into());
    let (client, _fake) = common::connect(|fake| {
        // 300 deals, one modified every day from 2024-10-01 on.
        let rows = (1..=300)
            .map(|i| {
                let day = chrono_free_date(i);
                json!({"ID": i.to_string(), "TITLE": format!("Deal #{i}"), "STAGE_ID": "NEW",
                       "OPPORTUNITY": format!("{}.00", i * 10), "DATE_MODIFY": day})
            })
            .collect();
        fake.seed_list("crm.deal.list", rows);
    })
    .await?;

    let request = deal::ListRequest::new()
        .select(
            Select::new([F::Id, F::Title, F::StageId, F::Opportunity, F::DateModify])
                .field("UF_CRM_COLOR"),
        )
        .filter(Filter::new().gte(F::DateModify, since.as_str()))
        .order(Order::new().asc(F::DateModify).asc(F::Id));
    let mut deals = std::pin::pin!(client.items(&request));
    let mut n = 0;
    while let Some(deal) = deals.next().await {
        let deal = deal?;
        n += 1;
        if n <= 3 {
            // Rows are typed: `ID` an integer, `DATE_MODIFY` the portal's text.
            println!(
                "{} {:?} modified {}",
                deal.id.unwrap_or_default(),
                deal.title.unwrap_or_default(),
                deal.date_modify.unwrap_or_default()
            );
        }
    }
    println!("{n} deals modified since {since}");
    Ok(())
}

/// Day `i` after 2024-09-30, as a portal writes dates (ISO 8601 with the portal's offset),
/// without a date library: the fake data only needs to sort the way dates do.
fn chrono_free_date(i: u32) -> String {
    const MONTHS: [(u32, u32); 12] = [
        (2024, 10),
        (2024, 11),
        (2024, 12),
        (2025, 1),
        (2025, 2),
        (2025, 3),
        (2025, 4),
        (2025, 5),
        (2025, 6),
        (2025, 7),
        (2025, 8),
        (2025, 9),
    ];
    const DAYS: [u32; 12] = [31, 30, 31, 31, 28, 31, 30, 31, 30, 31, 31, 30];
    let mut d = i;
    for (m, len) in MONTHS.iter().zip(DAYS) {
        if d <= len {
            return format!("{:04}-{:02}-{:02}T12:00:00+03:00", m.0, m.1, d);
        }
        d -= len;
    }
    "2025-10-01T12:00:00+03:00".into()
}
