//! Client-side pacing, so the portal never has to reject a request.
//!
//! Three limits apply to every HTTP request, all shared by the clones of one client (and,
//! with the Redis backend, by every process calling the same portal):
//!
//! * the portal's leaky bucket: each request adds one, the bucket drains at `per_second`,
//!   and a request that would overflow `burst` is refused by the portal with
//!   `QUERY_LIMIT_EXCEEDED`. The client keeps its own copy of the bucket (as a "theoretical
//!   arrival time", which is the same arithmetic) and holds each request back until it fits,
//!   with `headroom` requests of slack for network jitter;
//! * a per-method rate, where a spec states one deliberately or the user sets one (a bucket
//!   of the same burst per method); the spec format's default of 2 is not one;
//! * the method's server-time budget: every answer reports in `time.operating` how many
//!   seconds the method has used in the portal's window; once the calls in flight could
//!   push it past `operating_budget`, calls of that method wait for their answers, and
//!   once the reported figure itself is at the budget, for `time.operating_reset_at`.
//!
//! Each limit is a queue of its own, in order of arrival: a call waits for its method's
//! rate, then for the portal bucket, and takes a place in a bucket only when the place is
//! free, so a queue of one method never holds back calls of another while the portal is
//! idle, and a call that is dropped while it waits leaves nothing booked. A call counts as
//! in flight for the budget only once it is let through.
//!
//! A batch is one request for the portal bucket (and for the `batch` method's own rate);
//! the calls inside it are not counted against their methods' rates.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock, so that the limiter follows a paused test clock too.
use tokio::time::Instant;

use super::client::Time;
use super::error::{ApiError, Error, ErrorCode};

mod backend;
mod bucket;
mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use backend::{Backend, Begin, Budget, MAX_RESET_AHEAD, Seen};
use bucket::BucketSpec;

/// The spec format's default `rate_limit_per_sec`. The docs state no per-method rate, so
/// a spec carrying this figure states none, and the limiter applies no rate of its own to
/// the method (the portal bucket governs); any other figure is applied as the spec's.
pub const UNSTATED_SPEC_RATE: f64 = 2.0;

/// The figures the client paces itself by.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// Requests the portal's bucket holds (50; 250 on Enterprise plans).
    pub burst: f64,
    /// Requests per second the bucket drains (2; 5 on Enterprise plans).
    pub per_second: f64,
    /// Bucket places left unused, so that requests delayed on the way (and so arriving
    /// closer together than they were sent) still fit. Default 2. It absorbs
    /// `headroom / per_second` of jitter: 1 s at 2 per second, 0.4 s on Enterprise; with fast
    /// test figures raise it so it still covers ~100 ms.
    pub headroom: f64,
    /// Whether a per-method rate a spec states deliberately is enforced too. Default on.
    ///
    /// The spec format's default, [`UNSTATED_SPEC_RATE`] (2 per second), is not such a
    /// rate: the official docs state no per-method rate, every spec imported from them
    /// carries the default, and enforcing it would cap every method at 2 per second of
    /// the Enterprise bucket's 5. Methods whose spec states nothing else are paced by the
    /// portal bucket alone; [`Limits::with_method_rate`] sets a rate for one method.
    pub method_rates: bool,
    /// Per-method rates that replace the spec's, by wire name (lower case).
    pub method_overrides: BTreeMap<String, f64>,
    /// Server seconds a method may use in the portal's window before the portal blocks it
    /// (480 s in ten minutes in the cloud).
    pub operating_budget: f64,
    /// How long a method is held after `OPERATION_TIME_LIMIT` when no recent answer said
    /// when its budget resets; then one call tries again. Default 60 s. (A reset an answer
    /// did report is used when it is plausible: ahead of now, at most ten minutes off, and
    /// reported in the last ten minutes.)
    pub operating_block: Duration,
    /// The longest the client holds one call back; a call that would wait longer fails
    /// with the limit error instead.
    pub max_wait: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::standard()
    }
}

impl Limits {
    /// The figures of all plans but Enterprise: 50 requests burst, 2 per second.
    pub fn standard() -> Limits {
        Limits::custom(50.0, 2.0)
    }

    /// The Enterprise figures: 250 requests burst, 5 per second.
    pub fn enterprise() -> Limits {
        Limits::custom(250.0, 5.0)
    }

    /// A bucket of `burst` requests draining at `per_second` (for portals configured
    /// otherwise, and for tests against a fake portal).
    pub fn custom(burst: f64, per_second: f64) -> Limits {
        Limits {
            burst: if burst.is_finite() {
                burst.max(1.0)
            } else {
                50.0
            },
            per_second: if per_second.is_finite() && per_second > 0.0 {
                per_second
            } else {
                2.0
            },
            headroom: 2.0,
            method_rates: true,
            method_overrides: BTreeMap::new(),
            operating_budget: 480.0,
            operating_block: Duration::from_secs(60),
            max_wait: Duration::from_secs(900),
        }
    }

    /// Sets the bucket places left unused (see [`Limits::headroom`]).
    pub fn with_headroom(mut self, headroom: f64) -> Limits {
        self.headroom = if headroom.is_finite() {
            headroom.max(0.0)
        } else {
            2.0
        };
        self
    }

    /// Turns the per-method rates the specs state off or on (see [`Limits::method_rates`]).
    pub fn with_method_rates(mut self, on: bool) -> Limits {
        self.method_rates = on;
        self
    }

    /// Sets one method's rate (replacing any its spec states), calls per second.
    pub fn with_method_rate(mut self, method: &str, per_second: f64) -> Limits {
        self.method_overrides
            .insert(method.to_ascii_lowercase(), per_second);
        self
    }

    /// Sets the server-time budget per method, in seconds.
    pub fn with_operating_budget(mut self, seconds: f64) -> Limits {
        self.operating_budget = seconds;
        self
    }

    /// The figures brought into ranges the arithmetic can take (fields are public and may
    /// hold anything): no zero, negative, NaN or astronomic rate, burst or wait.
    fn sanitized(mut self) -> Limits {
        let clamp = |v: f64, lo: f64, hi: f64, default: f64| {
            if v.is_finite() {
                v.clamp(lo, hi)
            } else {
                default
            }
        };
        self.burst = clamp(self.burst, 1.0, 1e6, 50.0);
        self.per_second = clamp(self.per_second, 1e-3, 1e6, 2.0);
        self.headroom = clamp(self.headroom, 0.0, self.burst - 1.0, 0.0);
        self.operating_budget = clamp(self.operating_budget, 0.0, 1e9, 480.0);
        self.method_overrides
            .retain(|_, r| r.is_finite() && *r > 0.0);
        for r in self.method_overrides.values_mut() {
            *r = r.clamp(1e-3, 1e6);
        }
        let day = Duration::from_secs(86_400);
        self.max_wait = self.max_wait.min(day);
        self.operating_block = self.operating_block.min(day);
        self
    }

    /// Sets the longest time one call is held back.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Limits {
        self.max_wait = max_wait;
        self
    }
}

/// One limit's queue: tasks wait their turn in order of arrival, and the task whose turn
/// it is waits until the backend has a place for it.
#[derive(Debug, Default)]
struct Gate {
    turn: tokio::sync::Mutex<()>,
    /// Tasks waiting at this gate, for telling early that a wait would pass the deadline.
    waiting: AtomicUsize,
}

/// Counts a task at a gate while it is there.
struct AtGate<'a>(&'a AtomicUsize);

impl Drop for AtGate<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The limiter of one client (and its clones).
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: Limits,
    /// The client bucket: the portal's, less the headroom.
    portal: BucketSpec,
    /// The burst of per-method buckets.
    method_burst: f64,
    backend: Arc<dyn Backend>,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
    /// The client's counters (`Client::stats`); the limiter counts its own waits.
    pub(crate) counters: crate::stats::Counters,
}

/// A call let through by the limiter. [`Permit::finish`] (or dropping it) marks the call as
/// answered.
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    method: String,
    token: u64,
    seen: Mutex<Option<Seen>>,
    done: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Cancelled while in flight: record the end anyway. The in-process backend does it
        // at once; a future that is not done at once (Redis) is spawned, and if there is no
        // runtime to spawn it on, the entry expires on its own.
        let seen = *lock(&self.seen);
        fire(self.limiter.backend.end(&self.method, self.token, seen));
    }
}

impl Permit {
    /// Records the `time` of the answer.
    pub(crate) fn observe(&self, time: Option<&Time>) {
        if let Some(time) = time {
            *lock(&self.seen) = Some(seen(time));
        }
    }

    /// The call is answered: records it with the backend.
    pub(crate) async fn finish(mut self) {
        self.done = true;
        let seen = *lock(&self.seen);
        self.limiter
            .backend
            .end(&self.method, self.token, seen)
            .await;
    }
}

/// What an answer's `time` says, with its reset measured on the portal's own clock.
fn seen(time: &Time) -> Seen {
    let finite = |v: &f64| v.is_finite();
    let reset_raw = time.operating_reset_at.filter(finite);
    let reference = time
        .finish
        .or(time.start)
        .filter(finite)
        .unwrap_or_else(unix_now);
    Seen {
        operating: time.operating.filter(|v| v.is_finite() && *v >= 0.0),
        reset_raw,
        reset_ahead: reset_raw.map(|r| {
            Duration::from_secs_f64((r - reference).clamp(0.0, MAX_RESET_AHEAD.as_secs_f64()))
        }),
        cost: time
            .processing
            .or(time.duration)
            .filter(|v| v.is_finite() && *v >= 0.0),
        extra: None,
    }
}

/// Runs a backend operation that nobody waits for: at once when it is ready at once (the
/// in-process backend), else on the current tokio runtime (without one, it is dropped and
/// its entries expire on their own).
fn fire(mut op: crate::transport::BoxFuture<'static, ()>) {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    if op.as_mut().poll(&mut cx).is_pending() {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(op);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The name of the portal bucket in a backend; method buckets are `m:<wire name>`.
const PORTAL: &str = "portal";

impl Limiter {
    /// A limiter keeping its state in this process.
    pub(crate) fn new(limits: Limits) -> Limiter {
        Limiter::with_backend(limits, Arc::new(memory::Memory::default()))
    }

    /// A limiter keeping its state in `backend`.
    pub(crate) fn with_backend(limits: Limits, backend: Arc<dyn Backend>) -> Limiter {
        let limits = limits.sanitized();
        let burst = (limits.burst - limits.headroom).max(1.0);
        Limiter {
            portal: BucketSpec::new(burst, limits.per_second),
            method_burst: burst,
            limits,
            backend,
            gates: Mutex::new(HashMap::new()),
            counters: crate::stats::Counters::default(),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The rate of `method` (lower case) the limiter applies, if any: the user's, else the
    /// spec's when it states one deliberately and spec rates are on.
    fn method_rate(&self, key: &str, spec_rate: Option<f64>) -> Option<f64> {
        self.limits
            .method_overrides
            .get(key)
            .copied()
            .or(spec_rate.filter(|r| self.limits.method_rates && *r != UNSTATED_SPEC_RATE))
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| r.clamp(1e-3, 1e6))
    }

    fn budget(&self) -> Budget {
        Budget {
            seconds: self.limits.operating_budget,
            probe: self.limits.operating_block,
        }
    }

    /// Waits until a request of `method` fits every limit, and returns its permit.
    /// `spec_rate` is the method's `rate_limit_per_sec`, when known.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        method: &str,
        spec_rate: Option<f64>,
    ) -> Result<Permit, Error> {
        let key = method.to_ascii_lowercase();
        let deadline = Instant::now() + self.limits.max_wait;
        let budget = self.budget();
        let rate = self.method_rate(&key, spec_rate);
        let over_budget = || budget_error(method, "is used up for longer than max_wait");
        // Bounded: every round sleeps (until the budget or a bucket lets the call on) or
        // returns, and a wait past the deadline fails.
        for _ in 0..100_000 {
            // The budget first, without counting the call: a held method takes no places.
            if let Begin::Wait(wait) = self.backend.begin(&key, budget, false).await {
                self.sleep_within(method, "budget", wait, deadline)
                    .await
                    .map_err(|()| over_budget())?;
                continue;
            }
            if let Some(rate) = rate {
                let spec = BucketSpec::new(self.method_burst, rate);
                self.gate(&format!("m:{key}"), spec, deadline, method)
                    .await?;
            }
            self.gate(PORTAL, self.portal, deadline, method).await?;
            // Now the call goes: count it in flight, if the budget still lets it.
            match self.backend.begin(&key, budget, true).await {
                Begin::Go(token) => {
                    return Ok(Permit {
                        limiter: self.clone(),
                        method: key,
                        token,
                        seen: Mutex::new(None),
                        done: false,
                    });
                }
                Begin::Wait(wait) => {
                    self.sleep_within(method, "budget", wait, deadline)
                        .await
                        .map_err(|()| over_budget())?;
                }
            }
        }
        Err(budget_error(method, "could not be waited for"))
    }

    /// Waits for this call's turn at the gate of `bucket`, then for a free place in it.
    async fn gate(
        &self,
        bucket: &str,
        spec: BucketSpec,
        deadline: Instant,
        method: &str,
    ) -> Result<(), Error> {
        let gate = lock(&self.gates)
            .entry(bucket.to_owned())
            .or_default()
            .clone();
        let ahead = gate.waiting.fetch_add(1, Ordering::SeqCst);
        let _at = AtGate(&gate.waiting);
        // Fail early when even the calls queued ahead could not all go before the deadline.
        let least = (ahead as f64 * spec.interval - spec.tau).max(0.0);
        if Instant::now() + Duration::from_secs_f64(least.min(1e9)) > deadline {
            return Err(rate_error(method));
        }
        let Ok(_turn) = tokio::time::timeout_at(deadline, gate.turn.lock()).await else {
            return Err(rate_error(method));
        };
        // Bounded: each round takes the place or sleeps until it is free.
        for _ in 0..10_000 {
            match self.backend.take(bucket, spec).await {
                None => return Ok(()),
                Some(wait) => self
                    .sleep_within(method, gate_name(bucket), wait, deadline)
                    .await
                    .map_err(|()| rate_error(method))?,
            }
        }
        Err(rate_error(method))
    }

    /// The portal refused a request for the bucket: treat it as full.
    pub(crate) async fn bucket_full(&self) {
        self.backend.fill(PORTAL, self.portal).await;
    }

    /// The portal refused a method for its budget: hold it until the budget resets, when
    /// a recent answer said when, else for `operating_block`. Returns how long.
    pub(crate) async fn method_blocked(&self, method: &str) -> Duration {
        self.backend
            .block(&method.to_ascii_lowercase(), self.budget())
            .await
    }
}

// ---- Calls inside a batch: the portal counts each nested call against its own method's
// ---- server-time budget, not against `batch` (the outer call is not counted).

/// Nested calls let through by the budget check; dropping it marks them answered.
pub(crate) struct NestedPermit {
    limiter: Arc<Limiter>,
    /// The calls counted in flight: method and token.
    calls: Vec<(String, u64)>,
}

impl Drop for NestedPermit {
    fn drop(&mut self) {
        for (method, token) in self.calls.drain(..) {
            fire(self.limiter.backend.end(&method, token, None));
        }
    }
}

impl Limiter {
    /// Waits until the server-time budget of every method of a batch lets a call through
    /// (a held method waits for the end of its hold), then counts the calls as in flight.
    /// `counts`: calls per method (lower-case wire name). No method rate applies: the batch
    /// is one request, paced as `batch`.
    #[allow(dead_code)]
    pub(crate) async fn acquire_nested(
        self: &Arc<Self>,
        counts: &BTreeMap<String, u32>,
    ) -> Result<NestedPermit, Error> {
        let deadline = Instant::now() + self.limits.max_wait;
        let budget = self.budget();
        // Bounded: each round either counts the calls or sleeps; the deadline ends the loop.
        for _ in 0..100_000 {
            let mut longest: Option<(&String, Duration)> = None;
            for method in counts.keys() {
                if let Begin::Wait(wait) = self.backend.begin(method, budget, false).await {
                    if longest.is_none_or(|(_, w)| wait > w) {
                        longest = Some((method, wait));
                    }
                }
            }
            if let Some((method, wait)) = longest {
                self.sleep_within(method, "nested budget", wait, deadline)
                    .await
                    .map_err(|()| budget_error(method, "is used up for longer than max_wait"))?;
                continue;
            }
            let mut calls = Vec::new();
            for (method, n) in counts {
                for _ in 0..(*n).min(50) {
                    // The batch goes as one request: a call the estimate no longer lets
                    // through goes with it, uncounted.
                    if let Begin::Go(token) = self.backend.begin(method, budget, true).await {
                        calls.push((method.clone(), token));
                    }
                }
            }
            return Ok(NestedPermit {
                limiter: self.clone(),
                calls,
            });
        }
        Err(budget_error("batch", "could not be waited for"))
    }

    /// Records the `result_time` of one nested call: it carries no `operating` figure, so
    /// its server time is added to the method's figure, and it updates the method's
    /// average cost per call.
    #[allow(dead_code)]
    pub(crate) fn observe_nested(&self, method: &str, time: &Time) {
        let mut seen = seen(time);
        seen.operating = None;
        seen.reset_raw = None;
        seen.reset_ahead = None;
        seen.extra = seen.cost;
        fire(
            self.backend
                .end(&method.to_ascii_lowercase(), 0, Some(seen)),
        );
    }
}

impl Limiter {
    /// Sleeps `wait`, or fails at once when that would end past `deadline`. Counts the
    /// wait and reports it (`limiter wait`, with the gate that held the call).
    async fn sleep_within(
        &self,
        method: &str,
        gate: &'static str,
        wait: Duration,
        deadline: Instant,
    ) -> Result<(), ()> {
        let now = Instant::now();
        match now.checked_add(wait) {
            Some(until) if until <= deadline => {
                crate::stats::trace_event!(
                    debug,
                    method,
                    gate,
                    wait_ms = crate::stats::millis(wait),
                    "limiter wait"
                );
                let _ = (method, gate);
                tokio::time::sleep_until(until).await;
                self.counters
                    .waited(Instant::now().saturating_duration_since(now));
                Ok(())
            }
            _ => Err(()),
        }
    }
}

/// What a bucket is, for `limiter wait` events.
fn gate_name(bucket: &str) -> &'static str {
    if bucket == PORTAL {
        "portal"
    } else {
        "method rate"
    }
}

fn rate_error(method: &str) -> Error {
    Error::Api(Box::new(ApiError {
        method: method.to_owned(),
        status: 503,
        code: ErrorCode::Text("QUERY_LIMIT_EXCEEDED".into()),
        description: "held back by the client: the request would wait longer than max_wait".into(),
        validation: Vec::new(),
    }))
}

fn budget_error(method: &str, why: &str) -> Error {
    Error::Api(Box::new(ApiError {
        method: method.to_owned(),
        status: 429,
        code: ErrorCode::Text("OPERATION_TIME_LIMIT".into()),
        description: format!("held back by the client: the method's server-time budget {why}"),
        validation: Vec::new(),
    }))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod defects;
