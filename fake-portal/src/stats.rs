//! The counters of what the portal has seen, in process ([`crate::FakePortal::stats`]) and as
//! the JSON of `GET /fake/stats`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::FakePortal;

/// What the portal has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// REST requests received (batch counts once; token requests not counted).
    pub requests: u64,
    /// Requests refused with `QUERY_LIMIT_EXCEEDED` by the leaky bucket.
    pub rate_rejections: u64,
    /// Calls refused with `OPERATION_TIME_LIMIT` by the server-time budget.
    pub operating_rejections: u64,
    /// Successful token refreshes.
    pub refreshes: u64,
    /// Faults injected.
    pub faults: u64,
    /// Calls run per method (lower-case wire name), batch commands included.
    pub calls: BTreeMap<String, u64>,
}

impl FakePortal {
    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.portal.lock().stats.clone()
    }
}

impl Stats {
    /// The counters as `GET /fake/stats` answers them.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "rate_rejections": self.rate_rejections,
            "operating_rejections": self.operating_rejections,
            "refreshes": self.refreshes,
            "faults": self.faults,
            "calls": self.calls,
        })
    }
}
