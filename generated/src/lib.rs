//! Typed client for the Bitrix24 REST API.
//!
//! * [`api`] is generated from the method specs in `specs/` by `cargo xtask generate`.
//!   Every file in it starts with an `@generated` header; edit the spec, never the file.
//! * [`runtime`] is the hand-written runtime (the `bitrix24-runtime` crate, re-exported):
//!   the client, auth, limits, retries, batch, pagination, errors and loose decoding.
//!
//! A method `a.b.c` is called as `api::a::b::c(&client, &request)` with the
//! request type `api::a::b::CRequest` and the response type `api::a::b::CResponse`.

// Generated code is laid out by prettyplease, not rustfmt; `cargo fmt` leaves it alone.
#[rustfmt::skip]
pub mod api;

/// Typed events (feature `events`): per scope an `Event` enum, generated from the event specs
/// in `specs/events/` (see the README, "Receiving events").
#[cfg(feature = "events")]
#[rustfmt::skip]
pub mod events;

pub use bitrix24_runtime as runtime;
