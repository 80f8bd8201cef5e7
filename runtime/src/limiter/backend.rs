//! Where the limiter keeps its state: in this process ([`super::memory::Memory`], the
//! default) or in Redis, shared by every process that calls the same portal
//! (`super::redis`, cargo feature `redis`).
//!
//! A backend holds the buckets and each method's server-time figures and answers a few
//! atomic questions; the waiting, queueing and deadlines are the limiter's
//! (`limiter.rs`), the same for every backend. No operation books anything in the future:
//! a place is taken only when it is free now, and a call counts as in flight only once it
//! is let through, so a caller that gives up (or a process that dies) leaves nothing behind
//! but what expires on its own.

use std::fmt;
use std::time::Duration;

use super::bucket::BucketSpec;
use crate::transport::BoxFuture;

/// The most a budget reset is believed to lie ahead: the portal's window is ten one-minute
/// buckets, so `operating_reset_at` is never further off than that.
pub(crate) const MAX_RESET_AHEAD: Duration = Duration::from_secs(600);

/// How long a call counts as in flight at most, in case its end is never recorded (its
/// process died): longer than any request may run (the cloud's 60 s, the default
/// transport's 70 s timeout).
pub(crate) const IN_FLIGHT_TTL: Duration = Duration::from_secs(180);

/// The budget figures a check is made against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Budget {
    /// Server seconds a method may use in the portal's window.
    pub(crate) seconds: f64,
    /// How long a refused method is held when no recent answer said when its budget
    /// resets.
    pub(crate) probe: Duration,
}

/// What an answer said about its method's server time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Seen {
    /// `time.operating`, when sent.
    pub(crate) operating: Option<f64>,
    /// `time.operating_reset_at` as sent (portal's Unix seconds), to tell windows apart.
    pub(crate) reset_raw: Option<f64>,
    /// How far that reset lay ahead of the answer, by the portal's own clock (its
    /// `finish`), clamped to `0..=MAX_RESET_AHEAD`, so clock skew between the portal and
    /// this machine does not matter.
    pub(crate) reset_ahead: Option<Duration>,
    /// The server time the call took (`processing`, else `duration`).
    pub(crate) cost: Option<f64>,
    /// Server time to add to the method's figure, for an answer that carries none (a call
    /// inside a batch: its `result_time` has no `operating`).
    pub(crate) extra: Option<f64>,
}

/// The answer to "may a call of this method start now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// Yes; when asked to, the call is now counted in flight under this token.
    Go(u64),
    /// Not before this long from now.
    Wait(Duration),
}

/// The limiter's state store. Every operation is atomic on the store's side; none fails
/// (a store that cannot be reached answers from a local fallback).
pub(crate) trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Takes a place in `bucket` if one is free now (`None`); otherwise how long until one
    /// is, taking nothing.
    fn take(&self, bucket: &str, spec: BucketSpec) -> BoxFuture<'static, Option<Duration>>;

    /// Marks `bucket` full now (the portal refused a request for it).
    fn fill(&self, bucket: &str, spec: BucketSpec) -> BoxFuture<'static, ()>;

    /// Whether a call of `method` fits its server-time budget now; with `register`, a
    /// call that fits is counted in flight (until [`Backend::end`] or `IN_FLIGHT_TTL`).
    fn begin(&self, method: &str, budget: Budget, register: bool) -> BoxFuture<'static, Begin>;

    /// The call `token` of `method` is over; `seen` is what its answer said. The work is
    /// started before this returns (the in-process store does it all at once), so the
    /// future may be dropped or spawned.
    fn end(&self, method: &str, token: u64, seen: Option<Seen>) -> BoxFuture<'static, ()>;

    /// The portal refused `method` for its server time: hold it until its budget resets
    /// (when a recent answer said when, and that is plausible) or for `budget.probe`.
    /// Returns how long it is held.
    fn block(&self, method: &str, budget: Budget) -> BoxFuture<'static, Duration>;
}

/// A method's server-time figures, as every backend keeps them (times relative to the
/// backend's own clock, in seconds).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Figures {
    /// `time.operating` of the latest answer of the current window.
    pub(crate) operating: f64,
    /// When the window's oldest bucket expires, if an answer said so.
    pub(crate) reset_at: Option<f64>,
    /// The average server time of recent calls (exponentially weighted).
    pub(crate) cost: f64,
    /// Calls let through and not yet answered.
    pub(crate) in_flight: u32,
}

/// How long a method waits for answers of its calls in flight when only they (not the
/// figure the portal reported) could push it past its budget.
pub(crate) fn short_wait(cost: f64) -> f64 {
    cost.clamp(0.05, 1.0)
}

/// The budget decision of every backend (the Redis script repeats it in Lua): `None` to
/// go now, or the seconds to wait. `reset_passed_alone` is set by the caller when it
/// forgets a stale figure.
pub(crate) fn budget_wait(f: &Figures, budget: f64, now: f64) -> Option<f64> {
    let estimate = f.operating + f64::from(f.in_flight + 1) * f.cost;
    if estimate <= budget {
        return None;
    }
    // The portal's own figure (not our guess about the calls in flight) is at the budget:
    // wait for its reset.
    if f.operating + f.cost > budget {
        if let Some(reset) = f.reset_at.filter(|r| *r > now) {
            return Some(reset - now);
        }
        // The window has moved on, or no answer said when it does: let one call through
        // alone to read the fresh figure.
        if f.in_flight == 0 {
            return None;
        }
    }
    Some(short_wait(f.cost))
}

/// The weighted average of server time per call, after one more call that took `cost`.
pub(crate) fn next_cost(average: Option<f64>, cost: f64) -> f64 {
    let cost = cost.clamp(0.0, 60.0);
    match average {
        Some(a) => 0.7 * a + 0.3 * cost,
        None => cost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_holds_calls_until_the_reset_only_for_the_reported_figure() {
        let mut f = Figures {
            operating: 0.5,
            cost: 0.2,
            reset_at: Some(5.0),
            in_flight: 0,
        };
        // 0.5 + 0.2 fits a budget of 1.
        assert_eq!(budget_wait(&f, 1.0, 0.0), None);
        // With two calls in flight, 0.5 + 3 * 0.2 does not: wait for their answers, briefly.
        f.in_flight = 2;
        assert_eq!(budget_wait(&f, 1.0, 0.0), Some(0.2));
        // The reported figure itself at the budget: wait for the reset.
        f.operating = 0.9;
        assert_eq!(budget_wait(&f, 1.0, 0.0), Some(5.0));
        // Once the reset has passed, one call goes alone to read the fresh figure.
        f.in_flight = 0;
        assert_eq!(budget_wait(&f, 1.0, 5.0), None);
        // Unknown reset: one call alone, too.
        f.reset_at = None;
        assert_eq!(budget_wait(&f, 1.0, 0.0), None);
    }

    #[test]
    fn the_cost_average_forgets_an_outlier() {
        let mut a = next_cost(None, 60.0);
        for _ in 0..20 {
            a = next_cost(Some(a), 0.01);
        }
        assert!(a < 0.1, "{a}");
        assert_eq!(next_cost(None, f64::INFINITY), 60.0);
    }
}
