//! Client-side pacing, so the portal never has to reject a request.
//!
//! Three limits apply to every HTTP request, all shared by the clones of one client:
//!
//! * the portal's leaky bucket: each request adds one, the bucket drains at `per_second`,
//!   and a request that would overflow `burst` is refused by the portal with
//!   `QUERY_LIMIT_EXCEEDED`. The client keeps its own copy of the bucket (as a "theoretical
//!   arrival time", which is the same arithmetic) and holds each request back until it fits,
//!   with `headroom` requests of slack for network jitter;
//! * the spec's `rate_limit_per_sec` of the method, a bucket of the same burst per method;
//! * the method's server-time budget: every answer reports in `time.operating` how many
//!   seconds the method has used in the portal's window; once one more call could push it
//!   past `operating_budget`, calls of that method wait for `time.operating_reset_at`.
//!
//! A batch is one request for the portal bucket (and for the `batch` method's own rate);
//! the calls inside it are not counted against their methods' rates.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock, so that the limiter follows a paused test clock too.
use tokio::time::Instant;

use super::client::Time;
use super::error::{ApiError, Error, ErrorCode};

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
    /// Whether each method's spec `rate_limit_per_sec` is enforced too. Default on.
    pub method_rates: bool,
    /// Per-method rates that replace the spec's, by wire name (lower case).
    pub method_overrides: BTreeMap<String, f64>,
    /// Server seconds a method may use in the portal's window before the portal blocks it
    /// (480 s in ten minutes in the cloud).
    pub operating_budget: f64,
    /// How long a method stays blocked after `OPERATION_TIME_LIMIT` when no answer said
    /// when its budget resets (the portal unblocks after ten minutes).
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
            operating_block: Duration::from_secs(600),
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

    /// Turns the per-method rates of the specs off or on.
    pub fn with_method_rates(mut self, on: bool) -> Limits {
        self.method_rates = on;
        self
    }

    /// Replaces one method's spec rate.
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

/// A leaky bucket kept as the time at which it would be empty ("theoretical arrival
/// time"): a request may go once `tat - now <= tau`, and each request pushes `tat` on by
/// one interval.
#[derive(Debug)]
struct Bucket {
    interval: f64,
    tau: f64,
    tat: Option<Instant>,
}

impl Bucket {
    fn new(burst: f64, per_second: f64) -> Bucket {
        let interval = 1.0 / per_second;
        Bucket {
            interval,
            tau: (burst - 1.0).max(0.0) * interval,
            tat: None,
        }
    }

    /// Reserves a place for a request that is ready at `at`; returns when it may go.
    fn reserve(&mut self, at: Instant) -> Instant {
        let tat = self.tat.map_or(at, |t| t.max(at));
        let earliest = tat
            .checked_sub(Duration::from_secs_f64(self.tau))
            .unwrap_or(at);
        let go = earliest.max(at);
        self.tat = Some(tat + Duration::from_secs_f64(self.interval));
        go
    }

    /// When a request ready at `at` could go, without reserving.
    fn peek(&self, at: Instant) -> Instant {
        let tat = self.tat.map_or(at, |t| t.max(at));
        tat.checked_sub(Duration::from_secs_f64(self.tau))
            .unwrap_or(at)
            .max(at)
    }

    /// Treats the bucket as full now (the portal just said it is).
    fn fill(&mut self, now: Instant) {
        let full = now + Duration::from_secs_f64(self.tau + self.interval);
        self.tat = Some(self.tat.map_or(full, |t| t.max(full)));
    }
}

#[derive(Debug, Default)]
struct MethodState {
    bucket: Option<Bucket>,
    /// `time.operating` of the latest answer.
    operating: f64,
    /// `time.operating_reset_at` of the latest answer, as an instant.
    reset_at: Option<Instant>,
    /// The same, as the portal sent it (Unix seconds), to tell stale answers from new ones.
    reset_raw: Option<f64>,
    /// The most server time one call of this method was seen to take.
    max_cost: f64,
    /// Calls sent and not yet answered.
    pending: u32,
    /// Set by an `OPERATION_TIME_LIMIT` answer.
    blocked_until: Option<Instant>,
}

/// The limiter of one client (and its clones).
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: Limits,
    portal: Mutex<Bucket>,
    methods: Mutex<HashMap<String, MethodState>>,
}

/// A call let through by the limiter; dropping it marks the call as answered.
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    method: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut methods = lock(&self.limiter.methods);
        if let Some(m) = methods.get_mut(&self.method) {
            m.pending = m.pending.saturating_sub(1);
        }
    }
}

impl Permit {
    /// Records the `time` of the answer.
    pub(crate) fn observe(&self, time: Option<&Time>) {
        let Some(time) = time else { return };
        let mut methods = lock(&self.limiter.methods);
        let m = methods.entry(self.method.clone()).or_default();
        if let Some(op) = time.operating.filter(|v| v.is_finite() && *v >= 0.0) {
            let raw = time.operating_reset_at.filter(|r| r.is_finite());
            match (m.reset_raw, raw) {
                // An answer from before the window last moved on: stale, ignore it.
                (Some(old), Some(new)) if new < old => {}
                // The same window: answers may arrive out of order, keep the highest figure.
                (Some(old), Some(new)) if new == old => m.operating = m.operating.max(op),
                _ => {
                    m.operating = op;
                    m.reset_raw = raw;
                    m.reset_at = raw.and_then(unix_to_instant);
                }
            }
        }
        let cost = time.processing.or(time.duration).unwrap_or(0.0);
        if cost.is_finite() && cost > m.max_cost {
            m.max_cost = cost.min(60.0);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_to_instant(unix: f64) -> Option<Instant> {
    if !unix.is_finite() {
        return None;
    }
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let ahead = (unix - now_unix).clamp(0.0, 3600.0);
    Some(Instant::now() + Duration::from_secs_f64(ahead))
}

impl Limiter {
    pub(crate) fn new(limits: Limits) -> Limiter {
        let limits = limits.sanitized();
        let burst = (limits.burst - limits.headroom).max(1.0);
        let portal = Bucket::new(burst, limits.per_second);
        Limiter {
            limits,
            portal: Mutex::new(portal),
            methods: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
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
        // Bounded: each round either returns or sleeps; the deadline ends the loop.
        for _ in 0..10_000 {
            let now = Instant::now();
            let wait_for_budget = {
                let mut methods = lock(&self.methods);
                let m = methods.entry(key.clone()).or_default();
                self.budget_wait(m, now)
            };
            match wait_for_budget {
                Some(until) if until > deadline => {
                    return Err(budget_error(method, "is used up for longer than max_wait"));
                }
                Some(until) => {
                    tokio::time::sleep_until(until).await;
                    continue;
                }
                None => {}
            }
            // Reserve the method place, then the portal place after it.
            let go = {
                let mut methods = lock(&self.methods);
                let m = methods.entry(key.clone()).or_default();
                let rate = self
                    .limits
                    .method_overrides
                    .get(&key)
                    .copied()
                    .or(spec_rate.filter(|_| self.limits.method_rates))
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .map(|r| r.clamp(1e-3, 1e6));
                let method_go = match rate {
                    Some(rate) => {
                        let burst = (self.limits.burst - self.limits.headroom).max(1.0);
                        let bucket = m.bucket.get_or_insert_with(|| Bucket::new(burst, rate));
                        if bucket.peek(now) > deadline {
                            return Err(rate_error(method));
                        }
                        bucket.reserve(now)
                    }
                    None => now,
                };
                let mut portal = lock(&self.portal);
                if portal.peek(method_go) > deadline {
                    return Err(rate_error(method));
                }
                let go = portal.reserve(method_go);
                m.pending += 1;
                (go, rate.is_some())
            };
            let (go, method_bucket) = go;
            let permit = Permit {
                limiter: self.clone(),
                method: key,
            };
            if go > Instant::now() {
                let mut reserved = Reserved {
                    limiter: self,
                    method: &permit.method,
                    method_bucket,
                    armed: true,
                };
                tokio::time::sleep_until(go).await;
                reserved.armed = false;
            }
            return Ok(permit);
        }
        Err(budget_error(method, "could not be waited for"))
    }

    /// When the method's budget lets one more call through, if not now.
    fn budget_wait(&self, m: &mut MethodState, now: Instant) -> Option<Instant> {
        if let Some(until) = m.blocked_until {
            if until > now {
                return Some(until);
            }
            m.blocked_until = None;
            m.operating = 0.0;
        }
        let estimate = m.operating + f64::from(m.pending + 1) * m.max_cost;
        if estimate <= self.limits.operating_budget {
            return None;
        }
        match m.reset_at {
            Some(reset) if reset > now => Some(reset),
            // The oldest part of the window has expired: let one call through alone, and
            // read the fresh figure from its answer.
            _ if m.pending == 0 => {
                m.operating = 0.0;
                None
            }
            _ => Some(now + Duration::from_secs_f64(m.max_cost.clamp(0.01, 1.0))),
        }
    }

    /// The portal refused a request for the bucket: treat it as full.
    pub(crate) fn bucket_full(&self) {
        lock(&self.portal).fill(Instant::now());
    }

    /// The portal refused a method for its budget: hold it until the budget resets.
    pub(crate) fn method_blocked(&self, method: &str) {
        let mut methods = lock(&self.methods);
        let m = methods.entry(method.to_ascii_lowercase()).or_default();
        let now = Instant::now();
        let until = m
            .reset_at
            .filter(|r| *r > now)
            .unwrap_or(now + self.limits.operating_block);
        m.blocked_until = Some(until);
    }
}

/// The places an `acquire` reserved while it sleeps until they come: if the caller gives
/// up (the future is dropped), they are given back, so cancelled waiters do not push
/// later calls back.
struct Reserved<'a> {
    limiter: &'a Limiter,
    method: &'a str,
    method_bucket: bool,
    armed: bool,
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut methods = lock(&self.limiter.methods);
        if self.method_bucket {
            if let Some(b) = methods.get_mut(self.method).and_then(|m| m.bucket.as_mut()) {
                b.release();
            }
        }
        lock(&self.limiter.portal).release();
    }
}

impl Bucket {
    /// Gives back the last place reserved (a request that was never sent).
    fn release(&mut self) {
        if let Some(t) = self.tat {
            self.tat = t.checked_sub(Duration::from_secs_f64(self.interval));
        }
    }
}

// ---- Calls inside a batch (issue 9). Kept apart from the code above so that the
// ---- limiter's rework can take it over as it is: the portal counts each nested call
// ---- against its own method's server-time budget, not against `batch`.

/// Nested calls let through by the budget check; dropping it marks them answered.
pub(crate) struct NestedPermit {
    limiter: Arc<Limiter>,
    counts: Vec<(String, u32)>,
}

impl Drop for NestedPermit {
    fn drop(&mut self) {
        let mut methods = lock(&self.limiter.methods);
        for (method, n) in &self.counts {
            if let Some(m) = methods.get_mut(method) {
                m.pending = m.pending.saturating_sub(*n);
            }
        }
    }
}

impl Limiter {
    /// Waits until the server-time budget of every method of a batch lets a call through
    /// (a method blocked by `OPERATION_TIME_LIMIT` waits for its unblocking), then counts
    /// the calls as in flight. `counts`: calls per method (lower-case wire name). No
    /// method rate applies: the batch is one request, paced as `batch`.
    pub(crate) async fn acquire_nested(
        self: &Arc<Self>,
        counts: &BTreeMap<String, u32>,
    ) -> Result<NestedPermit, Error> {
        let deadline = Instant::now() + self.limits.max_wait;
        // Bounded: each round either returns or sleeps; the deadline ends the loop.
        for _ in 0..10_000 {
            let now = Instant::now();
            let wait = {
                let mut methods = lock(&self.methods);
                counts
                    .keys()
                    .filter_map(|k| {
                        let m = methods.entry(k.clone()).or_default();
                        self.budget_wait(m, now).map(|until| (k, until))
                    })
                    .max_by_key(|(_, until)| *until)
            };
            match wait {
                Some((k, until)) if until > deadline => {
                    return Err(budget_error(k, "is used up for longer than max_wait"));
                }
                Some((_, until)) => tokio::time::sleep_until(until).await,
                None => {
                    let mut methods = lock(&self.methods);
                    for (k, n) in counts {
                        let m = methods.entry(k.clone()).or_default();
                        m.pending = m.pending.saturating_add(*n);
                    }
                    return Ok(NestedPermit {
                        limiter: self.clone(),
                        counts: counts.iter().map(|(k, n)| (k.clone(), *n)).collect(),
                    });
                }
            }
        }
        Err(budget_error("batch", "could not be waited for"))
    }

    /// Records the `result_time` of one nested call: it carries no `operating` figure,
    /// so its processing time is added to the method's estimate, and it may raise the
    /// method's cost per call.
    pub(crate) fn observe_nested(&self, method: &str, time: &Time) {
        let cost = time.processing.or(time.duration).unwrap_or(0.0);
        if !cost.is_finite() || cost <= 0.0 {
            return;
        }
        let mut methods = lock(&self.methods);
        let m = methods.entry(method.to_ascii_lowercase()).or_default();
        m.operating += cost.min(60.0);
        if cost > m.max_cost {
            m.max_cost = cost.min(60.0);
        }
    }
}

fn rate_error(method: &str) -> Error {
    Error::Api(Box::new(ApiError {
        method: method.to_owned(),
        status: 503,
        code: ErrorCode::Text("QUERY_LIMIT_EXCEEDED".into()),
        description: "held back by the client: the request would wait longer than max_wait".into(),
    }))
}

fn budget_error(method: &str, why: &str) -> Error {
    Error::Api(Box::new(ApiError {
        method: method.to_owned(),
        status: 429,
        code: ErrorCode::Text("OPERATION_TIME_LIMIT".into()),
        description: format!("held back by the client: the method's server-time budget {why}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket lets `burst` requests go at once, then one per interval: counted on a
    /// fixed clock, so nothing here depends on timing.
    #[test]
    fn bucket_lets_burst_through_then_spaces_requests() {
        let t0 = Instant::now();
        let mut b = Bucket::new(5.0, 2.0);
        let goes: Vec<Duration> = (0..8).map(|_| b.reserve(t0) - t0).collect();
        let ms: Vec<u128> = goes.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 0, 0, 500, 1000, 1500]);
        // After a long pause the bucket is empty again.
        let later = t0 + Duration::from_secs(100);
        assert_eq!(b.reserve(later), later);
    }

    #[test]
    fn a_full_bucket_holds_the_next_request_one_interval() {
        let t0 = Instant::now();
        let mut b = Bucket::new(3.0, 4.0);
        b.fill(t0);
        assert_eq!(b.peek(t0) - t0, Duration::from_millis(250));
    }

    #[test]
    fn headroom_shrinks_the_client_bucket() {
        let limiter = Limiter::new(Limits::custom(10.0, 1.0).with_headroom(3.0));
        let t0 = Instant::now();
        let mut portal = lock(&limiter.portal);
        let immediate = (0..20).filter(|_| portal.reserve(t0) == t0).count();
        assert_eq!(immediate, 7);
    }

    /// On tokio's paused clock, virtual time moves only by the limiter's own sleeps, so
    /// the time 30 calls take is exact arithmetic, not a measurement.
    #[tokio::test(start_paused = true)]
    async fn the_method_rate_spaces_calls_after_the_burst() {
        let limiter = Arc::new(Limiter::new(
            Limits::custom(10.0, 1000.0)
                .with_headroom(0.0)
                .with_method_rate("x.list", 5.0),
        ));
        let t0 = Instant::now();
        for _ in 0..30 {
            drop(limiter.acquire("x.list", None).await.unwrap());
        }
        // 10 at once, then 20 at 5 per second.
        assert_eq!((Instant::now() - t0).as_millis(), 4000);
        // Another method is not held back by this one's rate.
        let t1 = Instant::now();
        drop(limiter.acquire("y.list", Some(1000.0)).await.unwrap());
        assert_eq!(Instant::now(), t1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_fills_the_bucket_and_a_block_holds_the_method() {
        let limiter = Arc::new(Limiter::new(
            Limits::custom(50.0, 2.0).with_operating_budget(10.0),
        ));
        let t0 = Instant::now();
        limiter.bucket_full();
        drop(limiter.acquire("a.get", None).await.unwrap());
        assert_eq!((Instant::now() - t0).as_millis(), 500);
        // No reset time known: blocked for `operating_block`; a wait past `max_wait` fails.
        let quick = Arc::new(Limiter::new(
            Limits::custom(50.0, 2.0).with_max_wait(Duration::from_secs(60)),
        ));
        quick.method_blocked("a.add");
        let err = quick.acquire("a.add", None).await.err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::OperatingTimeLimit);
    }

    #[tokio::test(start_paused = true)]
    async fn nonsense_figures_do_not_panic() {
        let mut limits = Limits::standard().with_method_rate("m.get", f64::NAN);
        limits.burst = f64::INFINITY;
        limits.per_second = 0.0;
        limits.headroom = -3.0;
        limits.max_wait = Duration::MAX;
        limits.operating_block = Duration::MAX;
        let limiter = Arc::new(Limiter::new(limits));
        drop(limiter.acquire("m.get", Some(f64::INFINITY)).await.unwrap());
        drop(limiter.acquire("m.get", Some(-1.0)).await.unwrap());
        limiter.bucket_full();
        limiter.method_blocked("m.get");
        // Blocked for the capped day, which the capped max_wait allows (virtual time).
        let t0 = Instant::now();
        drop(limiter.acquire("m.get", Some(0.0)).await.unwrap());
        assert!(Instant::now() - t0 >= Duration::from_secs(86_399));
    }

    #[test]
    fn the_budget_holds_calls_until_the_reset() {
        let limiter = Limiter::new(Limits::standard().with_operating_budget(1.0));
        let now = Instant::now();
        let reset = now + Duration::from_secs(5);
        let mut m = MethodState {
            operating: 0.5,
            max_cost: 0.2,
            reset_at: Some(reset),
            ..MethodState::default()
        };
        // 0.5 + 0.2 fits; with two calls in flight, 0.5 + 3 * 0.2 does not.
        assert_eq!(limiter.budget_wait(&mut m, now), None);
        m.pending = 2;
        assert_eq!(limiter.budget_wait(&mut m, now), Some(reset));
        // Once the reset has passed, one call goes alone to read the fresh figure.
        m.pending = 0;
        m.operating = 0.95;
        assert_eq!(limiter.budget_wait(&mut m, reset), None);
    }

    /// A call cancelled while it waits for its place gives the place back: cancelled
    /// waiters do not push later calls back.
    #[tokio::test(start_paused = true)]
    async fn a_cancelled_acquire_gives_its_place_back() {
        let limiter = Arc::new(Limiter::new(Limits::custom(2.0, 1.0).with_headroom(0.0)));
        drop(limiter.acquire("a.get", None).await.unwrap());
        drop(limiter.acquire("a.get", None).await.unwrap());
        // Ten callers give up after 10 ms of waiting.
        for _ in 0..10 {
            let waiting = limiter.acquire("a.get", None);
            assert!(
                tokio::time::timeout(Duration::from_millis(10), waiting)
                    .await
                    .is_err()
            );
        }
        // Two intervals later the bucket has room again, as if they had never asked.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t0 = Instant::now();
        drop(limiter.acquire("a.get", None).await.unwrap());
        assert!(
            Instant::now() - t0 < Duration::from_secs(1),
            "{:?}",
            Instant::now() - t0
        );
    }
}
