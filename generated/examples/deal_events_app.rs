//! An application that lives on events: it receives `ONCRMDEALADD`, verified against the
//! application token stored at install and typed (`bitrix24::events::crm::Event`, the deal's
//! id read from its payload), and fetches the deal with the typed client of that portal.
//!
//! It runs against the fake portal (started in this process), which installs the app, binds
//! nothing by itself and POSTs the event when a deal is added:
//!
//! ```sh
//! cargo run -p bitrix24 --example deal_events_app --features axum
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use bitrix24::api::crm::deal;
use bitrix24::api::event;
use bitrix24::events::crm;
use bitrix24::runtime::app::web::VerifiedEvent;
use bitrix24::runtime::app::{App, AppConfig, MemoryStore, Received};
use tokio::sync::mpsc;

#[derive(Clone)]
struct Web {
    app: App,
    done: mpsc::UnboundedSender<String>,
}

impl FromRef<Web> for App {
    fn from_ref(w: &Web) -> App {
        w.app.clone()
    }
}

/// The handler: only verified events get here (forged ones are answered 403 by the
/// extractor); each is then typed with the crm scope's `Event` enum.
async fn on_event(State(web): State<Web>, VerifiedEvent(received): VerifiedEvent) -> StatusCode {
    let received = match received.typed::<crm::Event>() {
        Ok(r) => r,
        // A documented event whose `data` does not fit its payload type.
        Err(e) => {
            eprintln!("{e}");
            return StatusCode::UNPROCESSABLE_ENTITY;
        }
    };
    match received {
        Received::Installed { member_id, .. } => println!("installed on portal {member_id}"),
        Received::Uninstalled { member_id, .. } => println!("removed from portal {member_id}"),
        Received::Event {
            member_id,
            event: crm::Event::CrmDealAdd(added),
        } => {
            // `data[FIELDS][ID]`, sent as a string, typed as an integer.
            let Some(id) = added.data.fields.as_ref().and_then(|f| f.id) else {
                return StatusCode::BAD_REQUEST;
            };
            // The portal's own client: its limiter, its tokens from the store.
            let Ok(client) = web.app.client(&member_id).await else {
                return StatusCode::INTERNAL_SERVER_ERROR;
            };
            #[allow(deprecated)] // crm.deal.get is marked deprecated in the docs
            let found = deal::get(&client, &deal::GetRequest::new().id(id)).await;
            match found {
                Ok(d) => {
                    let title = d.title.unwrap_or_default();
                    println!("deal {id} added on {member_id}: {title:?}");
                    let _ = web.done.send(title);
                }
                Err(e) => eprintln!("deal {id}: {e}"),
            }
        }
        Received::Event { event, .. } => println!("event {} ignored", event.raw().event),
    }
    StatusCode::OK
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let portal =
        bitrix24_fake_portal::FakePortal::start(bitrix24_fake_portal::Config::default()).await?;
    portal.enable_events();
    let c = portal.config();
    let app = App::builder(
        AppConfig {
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            oauth_server: portal.base_url(),
        },
        Arc::new(MemoryStore::new()),
    )
    .methods(bitrix24::api::registry::METHODS)
    .build()?;

    let (done, mut titles) = mpsc::unbounded_channel();
    let router = Router::new()
        .route("/bitrix24/events", post(on_event))
        .with_state(Web {
            app: app.clone(),
            done,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/bitrix24/events", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    // The portal installs the app: the handler checks the tokens and stores the portal.
    println!("install: HTTP {}", portal.install_app(&url).await?);
    let client = app.client(&portal.member_id()).await?;
    event::bind(
        &client,
        &event::BindRequest::new("ONCRMDEALADD", url.clone()),
    )
    .await?;
    client
        .call_raw(
            "crm.deal.add",
            &serde_json::json!({"fields": {"TITLE": "A deal that sends an event"}}),
        )
        .await?;
    let title = tokio::time::timeout(Duration::from_secs(10), titles.recv()).await?;
    println!("the handler fetched: {title:?}");
    Ok(())
}
