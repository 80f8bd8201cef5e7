//! Sends a message to an open-line chat, then lists every deal.
//!
//! Against the fake portal (started in this process, seeded with 1,234 deals):
//!
//! ```sh
//! cargo run -p bitrix24 --example open_line_and_deals
//! ```
//!
//! Against a real portal, give an incoming-webhook URL (and, optionally, the chat):
//!
//! ```sh
//! BITRIX24_WEBHOOK_URL=https://your.bitrix24.com/rest/1/yourcode/ \
//!   BITRIX24_CHAT_ID=8773 cargo run -p bitrix24 --example open_line_and_deals
//! ```

use bitrix24::api::crm::deal;
use bitrix24::api::imopenlines::crm::message::{AddRequest, AddRequestCrmEntityType, add};
use bitrix24::runtime::{Client, FastList, Limits};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the fake portal alive for the whole run when there is no real one.
    let (url, _fake) = match std::env::var("BITRIX24_WEBHOOK_URL") {
        Ok(url) if !url.trim().is_empty() => (url, None),
        _ => {
            let fake =
                bitrix24_fake_portal::FakePortal::start(bitrix24_fake_portal::Config::default())
                    .await?;
            fake.on("imopenlines.crm.message.add", |_| Ok(json!(19880117)));
            fake.seed_list("crm.deal.list", bitrix24_fake_portal::deals(1_234));
            println!(
                "no BITRIX24_WEBHOOK_URL: using a fake portal at {}",
                fake.base_url()
            );
            (fake.webhook_url(), Some(fake))
        }
    };
    let client = Client::webhook(&url).limits(Limits::standard()).build()?;
    println!("client: {client:?}");

    let chat: i64 = std::env::var("BITRIX24_CHAT_ID")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(8773);
    let request = AddRequest::new(
        AddRequestCrmEntityType::Deal,
        288,
        1,
        chat,
        "Hello from the typed Rust client",
    );
    match add(&client, &request).await {
        Ok(id) => println!("message sent, id {id}"),
        Err(e) => println!("message not sent ({:?}): {e}", e.kind()),
    }

    let request = deal::ListRequest::new().select(["ID", "TITLE", "OPPORTUNITY"]);
    // Offset paging: simple, one request per 50 deals.
    let mut pages = 0;
    let mut deals = 0;
    let mut stream = std::pin::pin!(client.pages(&request));
    while let Some(page) = stream.next().await {
        let page = page?;
        pages += 1;
        deals += page.result.len();
    }
    println!("offset paging: {deals} deals in {pages} pages");

    // The fast walk: `start=-1`, ID ranges, 50 pages per batch request.
    let mut fast = std::pin::pin!(FastList::new(request).parallel(4).stream(&client));
    let mut count = 0;
    let mut last_title = String::new();
    while let Some(deal) = fast.next().await {
        let deal = deal?;
        count += 1;
        if let Some(t) = deal.title {
            last_title = t;
        }
    }
    println!("fast walk: {count} deals, the last one {last_title:?}");
    Ok(())
}
