//! When the client sends a request again on its own.
//!
//! A request is repeated only when that cannot run it twice:
//!
//! * the connection was never made (the portal never saw it);
//! * the portal refused it for a limit (`QUERY_LIMIT_EXCEEDED`, `OPERATION_TIME_LIMIT`),
//!   which it does before running anything;
//! * the portal said the OAuth token expired (once, after one shared refresh);
//! * the method only reads (see [`is_read`]) and the answer was lost, timed out or was a
//!   server error.
//!
//! A write whose answer was lost fails with
//! [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) instead.

use std::time::Duration;

/// How often and how patiently the client repeats a request that is safe to repeat.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Repeats after the first attempt (not counting the one repeat after a token refresh).
    pub max_retries: u32,
    /// The pause before the first repeat of a failed read; it doubles each time.
    pub base_delay: Duration,
    /// The longest pause between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never repeat a request (token refresh aside).
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Up to `max_retries` repeats, starting at `base_delay`, doubling up to `max_delay`.
    pub fn new(max_retries: u32, base_delay: Duration, max_delay: Duration) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay,
            max_delay: max_delay.max(base_delay),
        }
    }

    /// The pause before repeat number `attempt` (1-based): exponential, capped, with
    /// "full jitter" (uniform between half and all of it) so that many tasks do not
    /// come back at the same instant.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// Whether a method only reads, judged from its wire name: its last segment is `get`,
/// `list`, `fields`, `search`, `count`, `current`, `info`, `tail`, `time`, or starts with
/// `get` or `list` (`getlist`, `listbyowner`...), or the method is `scope`, `methods`,
/// `profile`, `method.get`. Reads may be repeated when their answer is lost; nothing else is.
pub fn is_read(method: &str) -> bool {
    let lower = method.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "scope" | "methods" | "profile" | "server.time"
    ) {
        return true;
    }
    let last = lower.rsplit('.').next().unwrap_or("");
    matches!(
        last,
        "get" | "list" | "fields" | "search" | "count" | "current" | "info" | "tail" | "time"
    ) || last.starts_with("get")
        || last.starts_with("list")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_told_from_writes_by_name() {
        for read in [
            "crm.deal.list",
            "crm.deal.get",
            "crm.deal.fields",
            "user.current",
            "tasks.task.getlist",
            "crm.item.productrow.getAvailableForPayment",
            "scope",
            "profile",
        ] {
            assert!(is_read(read), "{read}");
        }
        for write in [
            "imopenlines.crm.message.add",
            "crm.deal.update",
            "crm.deal.delete",
            "bizproc.task.complete",
            "batch",
            "tasks.task.chat.message.send",
        ] {
            assert!(!is_read(write), "{write}");
        }
    }

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy::new(10, Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 1..=10 {
            let d = p.delay(attempt);
            let full =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            assert!(d <= full && d >= full / 2, "{attempt}: {d:?}");
        }
    }
}
