//! The benchmark's two halves (driven by `fake-portal/bench/run.sh`):
//!
//! * `bench serve <port> <items>`: a fake portal enforcing 50 burst / 2 per second on
//!   `127.0.0.1:<port>`, with `<items>` deals, until killed;
//! * `bench rust <port> <items>`: fetches every deal through this crate's `FastList` and
//!   prints one JSON line: wall time, requests and rejections (from `/fake/stats`), peak
//!   memory, and the ideal time the bucket allows for that many requests.

use std::time::{Duration, Instant};

use bitrix24_fake_portal::{Config, FakePortal, deals};
use bitrix24_runtime::{Client, FastList, Limits};
use bitrix24_tests::api::crm::deal::ListRequest;
use futures_util::StreamExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(18_024);
    let items: usize = args.get(3).and_then(|p| p.parse().ok()).unwrap_or(300_000);
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(port, items).await,
        Some("rust") => client(port, items).await,
        _ => {
            eprintln!("usage: bench serve|rust <port> <items>");
            std::process::exit(2);
        }
    }
}

async fn serve(port: u16, items: usize) -> Result<(), Box<dyn std::error::Error>> {
    let portal = FakePortal::start_on(Config::default(), port).await?;
    portal.seed_list("crm.deal.list", deals(items));
    println!("ready {}", portal.webhook_url());
    // Serve until killed (bounded by a day, for safety).
    tokio::time::sleep(Duration::from_secs(86_400)).await;
    Ok(())
}

async fn stats(port: u16) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use bitrix24_runtime::transport::{HttpMethod, HttpRequest, ReqwestTransport, Transport};
    let answer = ReqwestTransport::new()?
        .send(HttpRequest {
            method: HttpMethod::Get,
            url: format!("http://127.0.0.1:{port}/fake/stats"),
            body: Vec::new(),
        })
        .await
        .map_err(|e| e.message)?;
    Ok(serde_json::from_slice(&answer.body)?)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn client(port: u16, items: usize) -> Result<(), Box<dyn std::error::Error>> {
    let url = format!("http://127.0.0.1:{port}/rest/1/fakewebhooktoken0001/");
    let client = Client::webhook(&url).limits(Limits::standard()).build()?;
    let before = stats(port).await?;
    let started = Instant::now();
    let mut stream = std::pin::pin!(
        FastList::new(ListRequest::default())
            .parallel(4)
            .stream(&client)
    );
    let mut count = 0usize;
    let mut last = 0i64;
    let mut ordered = true;
    while let Some(deal) = stream.next().await {
        let id: i64 = deal?.id.unwrap_or_default().parse().unwrap_or(0);
        ordered &= id > last;
        last = id;
        count += 1;
    }
    let wall = started.elapsed().as_secs_f64();
    let after = stats(port).await?;
    let requests =
        after["requests"].as_u64().unwrap_or(0) - before["requests"].as_u64().unwrap_or(0);
    let rejected = after["rate_rejections"].as_u64().unwrap_or(0)
        - before["rate_rejections"].as_u64().unwrap_or(0);
    let ideal = (requests as f64 - 50.0).max(0.0) / 2.0;
    println!(
        "{}",
        serde_json::json!({
            "client": "bitrix24 (Rust, FastList, 4 ranges)",
            "items": count,
            "expected": items,
            "unique_ascending": ordered && count == items,
            "wall_s": (wall * 10.0).round() / 10.0,
            "requests": requests,
            "rejected": rejected,
            "peak_rss_mib": peak_rss_kib() / 1024,
            "ideal_s": ideal,
            "over_ideal_pct": if ideal > 0.0 { ((wall / ideal - 1.0) * 1000.0).round() / 10.0 } else { 0.0 },
        })
    );
    Ok(())
}
