//! The hand-written runtime of the Bitrix24 SDK: everything the generated `bitrix24::api`
//! modules call into. Nothing in here is generated. Users reach it as `bitrix24::runtime`;
//! generated code names it by one absolute path, `::bitrix24_runtime`.
//!
//! * [`Client`] sends a method to a portal and decodes the `{result, time}` envelope.
//! * [`Error`] is the one error type every call returns.
//! * [`loose`] holds the lenient decoders for Bitrix24's PHP-flavoured wire values.
//! * [`registry`] holds the types of the generated method table and the helpers behind
//!   calls by wire name.
//! * [`OAuthConfig`] / webhook URLs: credentials (module `auth`); OAuth tokens are
//!   refreshed once for all tasks when the portal says they expired.
//! * [`transport`]: the HTTP layer behind a trait ([`transport::Transport`]).
//! * [`Limits`]: the client-side leaky bucket, per-method rates and server-time budget
//!   (module `limiter`); [`RetryPolicy`] says what is repeated (module `retry`).
//! * [`Batch`]: typed batches, split at 50 calls (module `batch`).
//! * [`Client::pages`], [`Client::items`] and [`FastList`]: pagination as streams
//!   (module `paginate`).
//! * [`blocking::Client`]: the same calls for programs without an async runtime.

mod auth;
mod batch;
pub mod blocking;
mod client;
mod error;
mod limiter;
pub mod loose;
mod paginate;
pub mod registry;
mod retry;
pub mod transport;

pub use auth::{OAuthConfig, OAuthTokens, TokenCallback};
pub use batch::{Batch, BatchKey, BatchResults};
pub use client::{Client, ClientBuilder, Envelope, Time};
pub use error::{ApiError, DecodeError, Error, ErrorCode, ErrorKind, Part, TransportErrorKind};
pub use limiter::Limits;
pub use loose::YesNo;
pub use paginate::FastList;
pub use registry::{MethodInfo, Pagination};
pub use retry::{RetryPolicy, is_read};

/// A request type of one REST method: its wire name and the type of its `result`.
///
/// Every generated request type implements it, so [`Client::call`] knows where to send
/// the request and how to decode the answer.
pub trait Method: serde::Serialize {
    /// The method's wire name, e.g. `imopenlines.crm.message.add`.
    const NAME: &'static str;
    /// How the method pages through long lists (the spec's `pagination`).
    const PAGINATION: Pagination;
    /// Sustained calls per second the spec allows (the spec's `rate_limit_per_sec`).
    const RATE_LIMIT_PER_SEC: f64;
    /// The error codes the method is documented to return (the spec's `errors`), for
    /// matching: `err.api().is_some_and(|e| e.code.is(M::ERRORS[0]))`. Empty when the spec
    /// lists none; a portal may still send codes that are not listed.
    const ERRORS: &'static [&'static str] = &[];
    /// The type of the envelope's `result` member.
    type Response: loose::Loose;
}
