//! The fixture specs of `tests/fixtures/specs/`, generated into a crate of their own so that
//! every construct, awkward name and hostile text they hold is proven to compile, and so
//! decoding tests can use the generated types. `api` is written by `cargo xtask generate`.

// Generated code is laid out by prettyplease, not rustfmt; `cargo fmt` leaves it alone.
#[rustfmt::skip]
pub mod api;

/// The `Event` enums of `tests/fixtures/specs/events/`, written by `cargo xtask generate`.
#[rustfmt::skip]
pub mod events;
