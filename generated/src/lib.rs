//! Typed client for the Bitrix24 REST API.
//!
//! Two halves live in this crate and never mix:
//!
//! * [`runtime`] is written by hand: the HTTP client, the error type, the
//!   lenient decoders for Bitrix24's loose wire values, and the method registry types.
//! * [`api`] is generated from the method specs in `specs/` by
//!   `cargo xtask generate`. Every file in it starts with an `@generated` header;
//!   edit the spec, never the file.
//!
//! A method `a.b.c` is called as `api::a::b::c(&client, &request)` with the
//! request type `api::a::b::CRequest` and the response type `api::a::b::CResponse`.

// Generated code is laid out by prettyplease, not rustfmt; `cargo fmt` leaves it alone.
#[rustfmt::skip]
pub mod api;
pub mod runtime;
