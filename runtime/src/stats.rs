//! What a client has done: counters any code can read ([`Client::stats`]) and, with the
//! cargo feature `tracing` (on by default), spans and events under the target `bitrix24`.
//!
//! Spans and events carry the method's wire name, the attempt, waits in milliseconds and
//! the error's kind and code; never a URL (a webhook URL holds its code), a token, a
//! secret or a parameter value.
//!
//! | name | level | fields |
//! |---|---|---|
//! | span `bitrix24.call` | INFO | `method` |
//! | `attempt` | DEBUG | `method`, `attempt` (0 = first try) |
//! | `answered` | DEBUG | `method`, `attempt`, `status` |
//! | `failed` | INFO | `method`, `attempt`, `kind`, `code` (the portal's error code, if any) |
//! | `retry` | INFO | `method`, `attempt` (of the repeat), `delay_ms`, `kind` |
//! | `limiter wait` | DEBUG | `method`, `gate` (`portal`, `method rate`, `budget`, `nested budget`), `wait_ms` |
//! | `token refresh` | INFO | `ok` |
//!
//! [`Client::stats`]: crate::Client::stats

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The counters of one client (and its clones), cheap to read. Each is a total since the
/// client was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests sent to the portal (every attempt; a batch request counts once; token
    /// requests not counted).
    pub requests: u64,
    /// Times the limiter made a call wait before sending it.
    pub limiter_waits: u64,
    /// How long those waits took in all.
    pub limiter_wait: Duration,
    /// Refusals for the request rate received from the portal (`QUERY_LIMIT_EXCEEDED`, a
    /// `429` page), batch commands included.
    pub rate_limited: u64,
    /// Refusals for a method's server-time budget received from the portal
    /// (`OPERATION_TIME_LIMIT`), batch commands included.
    pub operating_limited: u64,
    /// Repeats: a request sent again, or a batch command re-sent in a later request.
    pub retries: u64,
    /// OAuth token refreshes that got new tokens from the token server.
    pub token_refreshes: u64,
    /// Token refreshes that failed.
    pub token_refresh_failures: u64,
}

/// The atomics behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) limiter_waits: AtomicU64,
    pub(crate) limiter_wait_micros: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) operating_limited: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) token_refreshes: AtomicU64,
    pub(crate) token_refresh_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn waited(&self, wait: Duration) {
        Counters::add(&self.limiter_waits, 1);
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        Counters::add(&self.limiter_wait_micros, micros);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: get(&self.requests),
            limiter_waits: get(&self.limiter_waits),
            limiter_wait: Duration::from_micros(get(&self.limiter_wait_micros)),
            rate_limited: get(&self.rate_limited),
            operating_limited: get(&self.operating_limited),
            retries: get(&self.retries),
            token_refreshes: get(&self.token_refreshes),
            token_refresh_failures: get(&self.token_refresh_failures),
        }
    }
}

/// A `tracing` event under the target `bitrix24`; nothing without the feature.
macro_rules! trace_event {
    ($level:ident, $($rest:tt)*) => {
        #[cfg(feature = "tracing")]
        ::tracing::$level!(target: "bitrix24", $($rest)*);
    };
}
pub(crate) use trace_event;

/// Milliseconds of a duration, for event fields.
#[allow(dead_code)]
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
