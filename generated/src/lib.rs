//! Typed client for the Bitrix24 REST API.
//!
//! * [`api`] is generated from the method specs in `specs/` by `cargo xtask generate`.
//!   Every file in it starts with an `@generated` header; edit the spec, never the file.
//! * [`runtime`] is the hand-written runtime (the `bitrix24-runtime` crate, re-exported):
//!   the client, auth, limits, retries, batch, pagination, errors and loose decoding.
//!
//! A method `a.b.c` is called as `api::a::b::c(&client, &request)` with the
//! request type `api::a::b::CRequest` and the response type `api::a::b::CResponse`.
//! Request types are built with `new` (the required parameters) and one setter per optional
//! parameter; `client.call(&request)` sends any of them too.
//!
//! The examples below run as doctests against the fake portal of the workspace (the hidden
//! lines start it); with a real portal, pass its incoming-webhook URL instead.
//!
//! # Call a method
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = bitrix24_fake_portal::FakePortal::start(Default::default()).await?;
//! # fake.on("imopenlines.crm.message.add", |_| Ok(serde_json::json!("501")));
//! # let webhook_url = fake.webhook_url();
//! use bitrix24::api::imopenlines::crm::message::{self, AddRequest};
//! use bitrix24::runtime::Client;
//!
//! let client = Client::webhook(&webhook_url).build()?;
//! let request = AddRequest::new("deal", 288, 12, 8773, "Hello from Rust");
//! let id = message::add(&client, &request).await?; // or `client.call(&request)`
//! assert_eq!(id, 501); // the portal's "501" read as the integer the spec declares
//! # Ok(()) }
//! ```
//!
//! # List with a filter, an order and a selection
//!
//! `client.items` pages through the whole list; the filter, order and selection go out in the
//! order written. `deal::ListField` names the fields the rows declare; user fields go in as
//! text (`"UF_CRM_…"`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = bitrix24_fake_portal::FakePortal::start(Default::default()).await?;
//! # fake.seed_list("crm.deal.list", bitrix24_fake_portal::deals(120));
//! # let webhook_url = fake.webhook_url();
//! use bitrix24::api::crm::deal::{self, ListField};
//! use bitrix24::runtime::{Client, Filter, Order};
//! use futures_util::StreamExt;
//!
//! let client = Client::webhook(&webhook_url).build()?;
//! let request = deal::ListRequest::new()
//!     .select([ListField::Id, ListField::Title])
//!     .filter(Filter::new().gte(ListField::Id, 100))
//!     .order(Order::new().desc(ListField::Id));
//! let deals: Vec<_> = client.items(&request).collect().await;
//! assert_eq!(deals.len(), 21);
//! assert_eq!(deals[0].as_ref().unwrap().id, Some(120)); // rows are typed: `ID` an integer
//! # Ok(()) }
//! ```
//!
//! # Many calls in few requests
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = bitrix24_fake_portal::FakePortal::start(Default::default()).await?;
//! # fake.on("crm.deal.update", |_| Ok(serde_json::json!(true)));
//! # let webhook_url = fake.webhook_url();
//! use bitrix24::api::crm::deal;
//! use bitrix24::runtime::Client;
//!
//! let client = Client::webhook(&webhook_url).build()?;
//! let updates: Vec<_> = (1..=120)
//!     .map(|id| deal::UpdateRequest::new().id(id).fields(deal::UpdateRequestFields::new().title("Renamed")))
//!     .collect();
//! // 120 calls, 3 requests of at most 50; one answer per call.
//! let answers = client.batch_of(&updates).await?;
//! assert!(answers.iter().all(|a| matches!(a, Ok(true))));
//! # assert_eq!(fake.stats().requests, 3);
//! # Ok(()) }
//! ```

// Generated code is laid out by prettyplease, not rustfmt; `cargo fmt` leaves it alone.
#[rustfmt::skip]
pub mod api;

/// Typed events (feature `events`): per scope an `Event` enum, generated from the event specs
/// in `specs/events/` (see the README, "Receiving events").
#[cfg(feature = "events")]
#[rustfmt::skip]
pub mod events;

pub use bitrix24_runtime as runtime;
