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
//!   (module `limiter`), kept in this process or, with the cargo feature `redis`, shared by
//!   every process through Redis (`RedisLimits`); [`RetryPolicy`] says what is repeated
//!   (module `retry`).
//! * [`Batch`]: typed batches, split at 50 calls (module `batch`).
//! * [`Client::pages`], [`Client::items`] and [`FastList`]: pagination as streams
//!   (module `paginate`).
//! * [`Filter`], [`Order`], [`Select`]: `filter`, `order` and `select` of classic list
//!   methods, kept in the caller's order on the wire (REST 3.0 has its own
//!   [`v3::Filter`]: the two shapes differ, and classic methods are most of the API, so the
//!   short name is the classic one).
//! * [`wire`]: the one encoding of classic parameters, the same in a direct call and in a
//!   batch (numbers as text, flags `Y`/`N`, `null` and empty values left out).
//! * [`v3`]: REST 3.0 calls, pages and filters.
//! * [`blocking::Client`]: the same calls for programs without an async runtime.
//! * `schema` (cargo feature `schemars`): the JSON Schemas of the generated types.

#[cfg(feature = "app")]
pub mod app;
mod auth;
mod batch;
pub mod blocking;
mod client;
mod dialog;
mod error;
#[cfg(feature = "events")]
pub mod events;
mod limiter;
pub mod loose;
mod paginate;
mod query;
pub mod registry;
mod retry;
#[cfg(feature = "schemars")]
pub mod schema;
mod stats;
pub mod transport;
pub mod v3;
pub mod wire;

pub use auth::{OAuthConfig, OAuthTokens, SaveError, TokenCallback, TokenSync, token_callback};
pub use batch::{Batch, BatchKey, BatchResults};
pub use client::{Client, ClientBuilder, Envelope, Time};
pub use dialog::DialogId;
pub use error::{
    ApiError, DecodeError, Error, ErrorCode, ErrorKind, FieldError, Part, TransportErrorKind,
};
#[cfg(feature = "redis")]
pub use limiter::redis::RedisLimits;
pub use limiter::{Limits, UNSTATED_SPEC_RATE};
pub use loose::YesNo;
pub use paginate::{FastList, Listing, RawList};
pub use query::{Direction, Filter, FilterOp, FilterValue, Order, Select};
pub use registry::{FieldInfo, MethodInfo, Pagination};
pub use retry::{RetryPolicy, is_read};
pub use stats::Stats;
pub use v3::{ApiVersion, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, find_api, new_idempotency_key};

/// A request type of one REST method: its wire name and the type of its `result`.
///
/// Every generated request type implements it, so [`Client::call`] knows where to send
/// the request and how to decode the answer.
pub trait Method: serde::Serialize {
    /// The method's wire name, e.g. `imopenlines.crm.message.add`.
    const NAME: &'static str;
    /// How the method pages through long lists (the spec's `pagination`).
    const PAGINATION: Pagination;
    /// Sustained calls per second the spec allows (the spec's `rate_limit_per_sec`). The
    /// format's default, [`UNSTATED_SPEC_RATE`] (2), means the spec states no rate of its
    /// own: the limiter then paces the method by the portal bucket alone.
    const RATE_LIMIT_PER_SEC: f64;
    /// The error codes the method is documented to return (the spec's `errors`), for
    /// matching: `err.api().is_some_and(|e| e.code.is(M::ERRORS[0]))`. Empty when the spec
    /// lists none; a portal may still send codes that are not listed.
    const ERRORS: &'static [&'static str] = &[];
    /// Where the rows of a list method sit in its `result`: `None` when `result` is the
    /// array itself (`crm.deal.list`, `user.get`), else the key of the one array member
    /// (`items` for `crm.item.list`, `tasks` for `tasks.task.list`). From the spec's
    /// `returns` schema.
    const ITEMS_KEY: Option<&'static str> = None;
    /// The ID key of a list method's rows (`ID`, or `id` for `crm.item.list`), from the
    /// spec's `returns` schema. [`FastList`] reads row IDs by it.
    const ID_KEY: &'static str = "ID";
    /// Which REST API the method belongs to (the spec's `api`): REST 3.0 methods are sent to
    /// `/rest/api/…` with an `Idempotency-Key` on writes (see `v3`).
    const API: ApiVersion = ApiVersion::Classic;
    /// The type of the envelope's `result` member.
    type Response: loose::Loose;
}
