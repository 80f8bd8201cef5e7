//! What every example shares: the portal to talk to. With `BITRIX24_WEBHOOK_URL` set, that
//! portal, paced at a cloud portal's limits; without it, a fake portal started in this
//! process, set up by the example and paced at a generous rate so the run takes seconds.

use bitrix24::runtime::{Client, Limits};
use bitrix24_fake_portal::{Config, FakePortal};

/// The client, and the fake portal to keep alive while it is used (`None` for a real one).
pub async fn connect(
    setup: impl FnOnce(&FakePortal),
) -> Result<(Client, Option<FakePortal>), Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("BITRIX24_WEBHOOK_URL") {
        if !url.trim().is_empty() {
            let client = Client::webhook(url.trim())
                .limits(Limits::standard())
                .build()?;
            // The client's Debug never shows the webhook's code.
            eprintln!("using the portal of BITRIX24_WEBHOOK_URL: {client:?}");
            return Ok((client, None));
        }
    }
    let config = Config {
        burst: 250.0,
        per_second: 50.0,
        ..Config::default()
    };
    let fake = FakePortal::start(config).await?;
    setup(&fake);
    eprintln!(
        "no BITRIX24_WEBHOOK_URL: using a fake portal at {}",
        fake.base_url()
    );
    let client = Client::webhook(&fake.webhook_url())
        .limits(Limits::custom(250.0, 50.0))
        .build()?;
    Ok((client, Some(fake)))
}
