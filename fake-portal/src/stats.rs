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

/// How many calls [`FakePortal::received`] remembers, of all methods together.
pub const RECEIVED_KEPT: usize = 256;

impl FakePortal {
    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.portal.lock().stats.clone()
    }

    /// The parameters of each call of `method` (any case; batch commands included) as the
    /// portal decoded them, oldest first, keys in the order they arrived, `auth` removed.
    /// A JSON body keeps its types; a form or a batch command gives strings, as PHP does.
    /// Lists are shown as PHP holds them, objects keyed by position (`["a"]` and
    /// `{"0": "a"}` are the same PHP array). Only the latest [`RECEIVED_KEPT`] calls of all
    /// methods are kept.
    pub fn received(&self, method: &str) -> Vec<Value> {
        let method = method.to_ascii_lowercase();
        self.portal
            .lock()
            .received
            .iter()
            .filter(|(m, _)| *m == method)
            .map(|(_, p)| p.clone())
            .collect()
    }
}

impl crate::State {
    /// Remembers the parameters of one call (see [`FakePortal::received`]).
    pub(crate) fn record(&mut self, method: &str, params: &Value) {
        if self.received.len() >= RECEIVED_KEPT {
            self.received.pop_front();
        }
        self.received
            .push_back((method.to_ascii_lowercase(), php_array(params)));
    }
}

/// JSON lists as PHP arrays: objects keyed by position, at every depth.
fn php_array(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Object(
            a.iter()
                .enumerate()
                .map(|(i, x)| (i.to_string(), php_array(x)))
                .collect(),
        ),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), php_array(x))).collect())
        }
        other => other.clone(),
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
