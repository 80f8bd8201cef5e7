//! Exports every contact to JSON lines with memory bounded whatever the count: the fast
//! ID-cursor walk (`FastList`: `start=-1`, ID ranges, 50 pages chained per batch request)
//! streams rows as they arrive, and each is written out at once.
//!
//! Against a fake portal holding a million contacts (`CONTACTS=n` for another count):
//!
//! ```sh
//! cargo run --release -p bitrix24 --example export_contacts -- contacts.jsonl
//! BITRIX24_WEBHOOK_URL=https://your.bitrix24.com/rest/1/yourcode/ \
//!   cargo run --release -p bitrix24 --example export_contacts -- contacts.jsonl
//! ```
//!
//! Interrupted, it resumes: run it again with `RESUME_AFTER=<the last ID in the file>` and
//! append (`>>`-style: the file is opened for appending when `RESUME_AFTER` is set).

mod common;

use bitrix24::api::crm::contact;
use bitrix24::runtime::FastList;
use futures_util::StreamExt;
use serde_json::json;
use std::io::Write;
use std::time::Instant;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "contacts.jsonl".into());
    let count: usize = std::env::var("CONTACTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let resume: Option<i64> = std::env::var("RESUME_AFTER")
        .ok()
        .and_then(|n| n.parse().ok());
    let (client, _fake) = common::connect(|fake| {
        let rows = (1..=count)
            .map(|i| json!({"ID": i.to_string(), "NAME": format!("Contact {i}")}))
            .collect();
        fake.seed_list("crm.contact.list", rows);
    })
    .await?;

    let request = contact::ListRequest::new().select(["ID", "NAME", "LAST_NAME", "EMAIL"]);
    let mut walk = FastList::new(request).parallel(4);
    if let Some(id) = resume {
        walk = walk.resume_after(id);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(resume.is_some())
        .write(true)
        .truncate(resume.is_none())
        .open(&out)?;
    let mut file = std::io::BufWriter::new(file);
    let started = Instant::now();
    let mut rows = std::pin::pin!(walk.stream(&client));
    let mut written = 0u64;
    while let Some(row) = rows.next().await {
        serde_json::to_writer(&mut file, &row?)?;
        file.write_all(b"\n")?;
        written += 1;
        if written % 100_000 == 0 {
            eprintln!(
                "{written} contacts, {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    file.flush()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{written} contacts written to {out} in {secs:.1} s ({:.0} rows/s)",
        written as f64 / secs.max(1e-9)
    );
    Ok(())
}
