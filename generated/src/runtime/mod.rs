//! The hand-written half of the crate: everything the generated [`api`](crate::api)
//! modules call into. Nothing in here is generated; nothing in `api` is written by hand.
//!
//! * [`Client`] sends a method to a portal and decodes the `{result, time}` envelope.
//! * [`Error`] is the one error type every call returns.
//! * [`loose`] holds the lenient decoders for Bitrix24's PHP-flavoured wire values.
//! * [`registry`] holds the types of the generated method table and the helpers behind
//!   calls by wire name.
//!
//! The client is built to grow: authentication, rate limiting, pagination and batch calls
//! each get a module of their own here, behind the same [`Client`] entry points.

mod client;
mod error;
pub mod loose;
pub mod registry;

pub use client::{Client, Envelope, Time};
pub use error::{ApiError, DecodeError, Error, ErrorCode, Part};
pub use registry::{MethodInfo, Pagination};

/// A request type of one REST method: its wire name and the type of its `result`.
///
/// Every generated request type implements it, so [`Client::call`] knows where to send
/// the request and how to decode the answer.
pub trait Method: serde::Serialize {
    /// The method's wire name, e.g. `imopenlines.crm.message.add`.
    const NAME: &'static str;
    /// The type of the envelope's `result` member.
    type Response: loose::Loose;
}
