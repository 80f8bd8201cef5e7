//! The portal's limits: the leaky bucket over all requests (`QUERY_LIMIT_EXCEEDED`) and each
//! method's server-time budget over a sliding window (`OPERATION_TIME_LIMIT`).

use std::time::Instant;

use crate::{FakeError, Portal, State, unix_now};

/// A method's server time used in the window, and when its oldest part expires.
pub(crate) type Operating = (f64, Option<u64>);

impl Portal {
    /// The leaky bucket: drains it for the time since the last request, then takes one place
    /// or refuses with `QUERY_LIMIT_EXCEEDED`.
    pub(crate) fn admit(&self, s: &mut State) -> Result<(), FakeError> {
        let now = Instant::now();
        let drained = now.duration_since(s.last).as_secs_f64() * self.config.per_second;
        s.level = (s.level - drained).max(0.0);
        s.last = now;
        if s.level + 1.0 > self.config.burst {
            s.stats.rate_rejections += 1;
            return Err(FakeError::new(
                503,
                "QUERY_LIMIT_EXCEEDED",
                "Too many requests",
            ));
        }
        s.level += 1.0;
        Ok(())
    }

    /// Checks and charges the method's server-time budget.
    pub(crate) fn spend(&self, key: &str) -> Result<(f64, Option<u64>), FakeError> {
        let now = Instant::now();
        let window = self.config.operating_window;
        let slot = window / 10;
        let mut s = self.lock();
        *s.stats.calls.entry(key.to_owned()).or_default() += 1;
        let buckets = s.operating.entry(key.to_owned()).or_default();
        // Bounded by the number of buckets.
        while buckets
            .front()
            .is_some_and(|(start, _)| now.duration_since(*start) >= window)
        {
            buckets.pop_front();
        }
        let used: f64 = buckets.iter().map(|b| b.1).sum();
        if used > self.config.operating_budget {
            s.stats.operating_rejections += 1;
            return Err(FakeError::new(
                429,
                "OPERATION_TIME_LIMIT",
                "Method is blocked due to operation time limit.",
            ));
        }
        let cost = self.config.operating_cost;
        match buckets.back_mut() {
            Some((start, sum)) if now.duration_since(*start) < slot => *sum += cost,
            _ => buckets.push_back((now, cost)),
        }
        let used = used + cost;
        let reset = buckets.front().map(|(start, _)| {
            let left = window.saturating_sub(now.duration_since(*start));
            (unix_now() + left.as_secs_f64()).ceil() as u64
        });
        Ok((used, reset))
    }
}
