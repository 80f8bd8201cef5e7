//! The in-process backend: the state of one client and its clones, behind a mutex, on
//! tokio's clock (so it follows a paused test clock too). Every operation is done before
//! the returned future is first polled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::backend::{
    Backend, Begin, Budget, Figures, IN_FLIGHT_TTL, MAX_RESET_AHEAD, Seen, budget_wait, next_cost,
};
use super::bucket::{Bucket, BucketSpec};
use crate::transport::BoxFuture;

#[derive(Debug, Default)]
struct MethodState {
    /// `time.operating` of the latest answer.
    operating: f64,
    /// `time.operating_reset_at` as the portal sent it, to tell stale answers from new ones.
    reset_raw: Option<f64>,
    /// The same, as an instant on this clock.
    reset_at: Option<Instant>,
    /// When an answer last reported the figures.
    seen_at: Option<Instant>,
    /// The weighted average server time of a call.
    cost: Option<f64>,
    /// Calls let through and not yet answered, with when they stop counting.
    in_flight: HashMap<u64, Instant>,
    /// Set by an `OPERATION_TIME_LIMIT` answer.
    blocked_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<String, Bucket>,
    methods: HashMap<String, MethodState>,
    next_token: u64,
}

/// The state of one client (and its clones).
#[derive(Debug, Default)]
pub(crate) struct Memory {
    state: Mutex<State>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl Memory {
    pub(crate) fn take_now(&self, bucket: &str, spec: BucketSpec) -> Option<Duration> {
        let now = Instant::now();
        let mut s = lock(&self.state);
        // Forget buckets that have drained, so the map holds only busy ones.
        if s.buckets.len() > 1024 {
            s.buckets.retain(|_, b| !b.is_empty(now));
        }
        s.buckets
            .entry(bucket.to_owned())
            .or_default()
            .take(spec, now)
    }

    /// Records a place taken in the shared bucket (see [`Bucket::record`]).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn record_now(&self, bucket: &str, spec: BucketSpec) {
        let now = Instant::now();
        lock(&self.state)
            .buckets
            .entry(bucket.to_owned())
            .or_default()
            .record(spec, now);
    }

    pub(crate) fn fill_now(&self, bucket: &str, spec: BucketSpec) {
        let now = Instant::now();
        lock(&self.state)
            .buckets
            .entry(bucket.to_owned())
            .or_default()
            .fill(spec, now);
    }

    pub(crate) fn begin_now(&self, method: &str, budget: Budget, register: bool) -> Begin {
        let now = Instant::now();
        let mut s = lock(&self.state);
        s.next_token = s.next_token.wrapping_add(1);
        let token = s.next_token;
        let m = s.methods.entry(method.to_owned()).or_default();
        if let Some(until) = m.blocked_until {
            if until > now {
                return Begin::Wait(until - now);
            }
            // The block is over; its reset has passed (or was unknown), so the next call
            // goes alone and its answer brings the fresh figure.
            m.blocked_until = None;
        }
        m.in_flight.retain(|_, expires| *expires > now);
        let figures = Figures {
            operating: m.operating,
            reset_at: m.reset_at.map(|r| secs_from(now, r)),
            cost: m.cost.unwrap_or(0.0),
            in_flight: u32::try_from(m.in_flight.len()).unwrap_or(u32::MAX),
        };
        match budget_wait(&figures, budget.seconds, 0.0) {
            Some(wait) => Begin::Wait(Duration::from_secs_f64(wait.clamp(0.0, 86_400.0))),
            None => {
                if register {
                    m.in_flight.insert(token, now + IN_FLIGHT_TTL);
                }
                Begin::Go(token)
            }
        }
    }

    pub(crate) fn end_now(&self, method: &str, token: u64, seen: Option<Seen>) {
        let now = Instant::now();
        let mut s = lock(&self.state);
        let m = s.methods.entry(method.to_owned()).or_default();
        m.in_flight.remove(&token);
        let Some(seen) = seen else { return };
        if let Some(op) = seen.operating.filter(|v| v.is_finite() && *v >= 0.0) {
            let raw = seen.reset_raw.filter(|r| r.is_finite());
            match (m.reset_raw, raw) {
                // An answer from before the window last moved on: stale, ignore it.
                (Some(old), Some(new)) if new < old => {}
                // The same window: answers may arrive out of order, keep the highest figure.
                (Some(old), Some(new)) if new == old => m.operating = m.operating.max(op),
                _ => {
                    m.operating = op;
                    m.reset_raw = raw;
                    m.reset_at = seen.reset_ahead.map(|a| now + a.min(MAX_RESET_AHEAD));
                }
            }
            m.seen_at = Some(now);
        }
        if let Some(cost) = seen.cost.filter(|c| c.is_finite() && *c >= 0.0) {
            m.cost = Some(next_cost(m.cost, cost));
        }
        if let Some(extra) = seen.extra.filter(|c| c.is_finite() && *c > 0.0) {
            m.operating += extra.min(60.0);
        }
    }

    pub(crate) fn block_now(&self, method: &str, budget: Budget) -> Duration {
        let now = Instant::now();
        let mut s = lock(&self.state);
        let m = s.methods.entry(method.to_owned()).or_default();
        let recent = m.seen_at.is_some_and(|t| now - t <= MAX_RESET_AHEAD);
        let until = match m.reset_at {
            Some(reset) if recent && reset > now && reset - now <= MAX_RESET_AHEAD => reset,
            _ => now + budget.probe,
        };
        let until = m.blocked_until.map_or(until, |b| b.max(until));
        m.blocked_until = Some(until);
        until - now
    }
}

fn secs_from(now: Instant, t: Instant) -> f64 {
    if t >= now {
        (t - now).as_secs_f64()
    } else {
        -(now - t).as_secs_f64()
    }
}

impl Backend for Memory {
    fn take(&self, bucket: &str, spec: BucketSpec) -> BoxFuture<'static, Option<Duration>> {
        ready(self.take_now(bucket, spec))
    }

    fn fill(&self, bucket: &str, spec: BucketSpec) -> BoxFuture<'static, ()> {
        self.fill_now(bucket, spec);
        ready(())
    }

    fn begin(&self, method: &str, budget: Budget, register: bool) -> BoxFuture<'static, Begin> {
        ready(self.begin_now(method, budget, register))
    }

    fn end(&self, method: &str, token: u64, seen: Option<Seen>) -> BoxFuture<'static, ()> {
        self.end_now(method, token, seen);
        ready(())
    }

    fn block(&self, method: &str, budget: Budget) -> BoxFuture<'static, Duration> {
        ready(self.block_now(method, budget))
    }
}
