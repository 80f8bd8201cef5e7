//! The Redis backend (cargo feature `redis`): the limiter's state in one Redis server, so
//! every process (and every client) calling the same portal shares one bucket, the same
//! per-method rates, server-time figures and `OPERATION_TIME_LIMIT` holds.
//!
//! Each operation is one Lua script, so it is atomic, and every time in it is the Redis
//! server's own clock (`TIME`): the processes' clocks never meet. The keys of one portal
//! share the prefix `bitrix24:{<portal>}:` (the braces keep them in one Redis Cluster slot),
//! where `<portal>` is the portal's host (or the id given to [`RedisLimits::portal_id`]),
//! never a token or a path:
//!
//! * `…:b:portal`, `…:b:m:<method>`: a bucket's theoretical arrival time, in microseconds;
//!   it expires when the bucket would be empty;
//! * `…:m:<method>`: a hash of the method's server-time figures (`op`, `rraw`, `rat`,
//!   `seen`, `cost`, `blk`), expiring ten minutes after its last change (or after its
//!   block ends);
//! * `…:f:<method>`: a sorted set of the calls in flight, each scored by when it stops
//!   counting, so the calls of a process that dies stop counting on their own.
//!
//! Nothing is booked ahead: a place is taken when it is free, so a process that dies
//! leaves no capacity behind. When Redis cannot be reached, each operation falls back to
//! this process's own state (as without the feature), which mirrors what this process did
//! through Redis, for a few seconds at a time, until Redis answers again.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, Script};

use super::backend::{Backend, Begin, Budget, IN_FLIGHT_TTL, MAX_RESET_AHEAD, Seen};
use super::bucket::BucketSpec;
use super::memory::Memory;
use crate::error::Error;
use crate::transport::BoxFuture;

/// How long one Redis operation may take before the local fallback answers instead.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// After a failed operation, how long the fallback answers alone before Redis is tried
/// again, so that calls are not slowed by one timeout per operation while it is away.
const REDIS_PAUSE: Duration = Duration::from_secs(5);

const NOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
";

/// KEYS[1] bucket; ARGV interval_us, tau_us. Returns 0 (taken) or the microseconds until a
/// place is free (nothing taken).
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - tau > now then return math.ceil(tat - tau - now) end
local new = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return 0
"
    ))
});

/// KEYS[1] bucket; ARGV interval_us, tau_us. Marks the bucket full now.
static FILL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
local full = now + tonumber(ARGV[2]) + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < full then tat = full end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return 0
"
    ))
});

/// KEYS[1] figures, KEYS[2] calls in flight; ARGV budget_s, register (0/1), token,
/// ttl_us. Returns 0 (go; counted in flight when asked) or the microseconds to wait. The
/// same decision as `backend::budget_wait`.
static BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
local h, f = KEYS[1], KEYS[2]
local budget = tonumber(ARGV[1])
local blk = tonumber(redis.call('HGET', h, 'blk'))
if blk then
  if blk > now then return math.ceil(blk - now) end
  redis.call('HDEL', h, 'blk')
end
redis.call('ZREMRANGEBYSCORE', f, '-inf', now)
local inflight = redis.call('ZCARD', f)
local op = tonumber(redis.call('HGET', h, 'op')) or 0
local cost = tonumber(redis.call('HGET', h, 'cost')) or 0
local rat = tonumber(redis.call('HGET', h, 'rat'))
local wait = nil
if op + (inflight + 1) * cost > budget then
  local short = math.min(math.max(cost, 0.05), 1.0) * 1000000
  if op + cost > budget then
    if rat and rat > now then wait = rat - now
    elseif inflight > 0 then wait = short end
  else
    wait = short
  end
end
if wait then return math.max(1, math.ceil(wait)) end
if ARGV[2] == '1' then
  local ttl = tonumber(ARGV[4])
  redis.call('ZADD', f, string.format('%.0f', now + ttl), ARGV[3])
  redis.call('PEXPIRE', f, math.ceil(ttl / 1000) + 1000)
end
return 0
"
    ))
});

/// KEYS[1] figures, KEYS[2] calls in flight; ARGV token, then what the answer said, each
/// as a flag (0/1) and a value: operating, reset as sent, reset ahead (us), cost, server
/// time to add. The same bookkeeping as `Memory::end_now`.
static END: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
local h, f = KEYS[1], KEYS[2]
redis.call('ZREM', f, ARGV[1])
if ARGV[2] == '1' then
  local op = tonumber(ARGV[3])
  local old = tonumber(redis.call('HGET', h, 'rraw'))
  local new = nil
  if ARGV[4] == '1' then new = tonumber(ARGV[5]) end
  if old and new and new < old then
    -- an answer from before the window moved on: stale
  elseif old and new and new == old then
    local cur = tonumber(redis.call('HGET', h, 'op')) or 0
    if op > cur then redis.call('HSET', h, 'op', ARGV[3]) end
  else
    redis.call('HSET', h, 'op', ARGV[3])
    if new then redis.call('HSET', h, 'rraw', ARGV[5]) else redis.call('HDEL', h, 'rraw') end
    if ARGV[6] == '1' then
      local ahead = math.min(math.max(tonumber(ARGV[7]), 0), 600000000)
      redis.call('HSET', h, 'rat', string.format('%.0f', now + ahead))
    else
      redis.call('HDEL', h, 'rat')
    end
  end
  redis.call('HSET', h, 'seen', string.format('%.0f', now))
end
if ARGV[8] == '1' then
  local c = math.min(math.max(tonumber(ARGV[9]), 0), 60)
  local a = tonumber(redis.call('HGET', h, 'cost'))
  if a then c = 0.7 * a + 0.3 * c end
  redis.call('HSET', h, 'cost', string.format('%.17g', c))
end
if ARGV[10] == '1' then
  local op = (tonumber(redis.call('HGET', h, 'op')) or 0) + math.min(tonumber(ARGV[11]), 60)
  redis.call('HSET', h, 'op', string.format('%.17g', op))
end
local blk = tonumber(redis.call('HGET', h, 'blk')) or 0
redis.call('PEXPIRE', h, math.max(660000, math.ceil((blk - now) / 1000) + 1000))
return 0
"
    ))
});

/// KEYS[1] figures; ARGV probe_us. Holds the method until its plausible reset, else for
/// the probe; returns the microseconds it is held.
static BLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
local h = KEYS[1]
local rat = tonumber(redis.call('HGET', h, 'rat'))
local seen = tonumber(redis.call('HGET', h, 'seen'))
local untilt = now + tonumber(ARGV[1])
if rat and seen and rat > now and rat - now <= 600000000 and now - seen <= 600000000 then
  untilt = rat
end
local blk = tonumber(redis.call('HGET', h, 'blk'))
if blk and blk > untilt then untilt = blk end
redis.call('HSET', h, 'blk', string.format('%.0f', untilt))
redis.call('PEXPIRE', h, math.max(660000, math.ceil((untilt - now) / 1000) + 1000))
return math.ceil(untilt - now)
"
    ))
});

/// Limits shared through a Redis server by every process (and every client) that calls
/// the same portal: one bucket per portal, the per-method rates, the methods' server-time
/// figures and `OPERATION_TIME_LIMIT` holds, all on the Redis server's clock.
///
/// ```no_run
/// # async fn run() -> Result<(), bitrix24_runtime::Error> {
/// use bitrix24_runtime::{Client, Limits, RedisLimits};
/// let shared = RedisLimits::connect("redis://127.0.0.1:6379/").await?;
/// let client = Client::webhook("https://example.bitrix24.eu/rest/1/code/")
///     .limits(Limits::standard())
///     .redis_limits(shared)
///     .build()?;
/// # Ok(()) }
/// ```
///
/// Every process must use the same [`Limits`](crate::Limits) figures. Connect inside the
/// tokio runtime that makes the calls (the connection's driver runs on it). Cheap to
/// clone. Its `Debug` shows the server's address, never a password.
#[derive(Clone)]
pub struct RedisLimits {
    conn: ConnectionManager,
    server: String,
    portal_id: Option<String>,
    in_flight_ttl: Duration,
}

impl fmt::Debug for RedisLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimits")
            .field("server", &self.server)
            .field("portal_id", &self.portal_id)
            .field("in_flight_ttl", &self.in_flight_ttl)
            .finish()
    }
}

impl RedisLimits {
    /// Connects to the Redis server at `url` (`redis://[:password@]host[:port][/db]`).
    /// Fails with [`Error::InvalidConfig`] when the URL is malformed or the server cannot
    /// be reached within a few seconds; the message never repeats the URL or password.
    pub async fn connect(url: &str) -> Result<RedisLimits, Error> {
        let scrub = |text: String, secret: Option<&str>| {
            let mut text = text.replace(url, "***");
            if let Some(s) = secret.filter(|s| !s.is_empty()) {
                text = text.replace(s, "***");
            }
            text
        };
        let info = url.into_connection_info().map_err(|e| {
            Error::InvalidConfig(format!(
                "the Redis URL for shared limits is unusable: {}",
                scrub(e.to_string(), None)
            ))
        })?;
        let password = info.redis.password.clone();
        let server = format!("{}/{}", info.addr, info.redis.db);
        let fail = |e: redis::RedisError| {
            Error::InvalidConfig(format!(
                "cannot reach the Redis server {server} for shared limits: {}",
                scrub(e.to_string(), password.as_deref())
            ))
        };
        let client = redis::Client::open(info).map_err(fail)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(REDIS_TIMEOUT)
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| {
            Error::InvalidConfig(format!(
                "cannot reach the Redis server {server} for shared limits: timed out"
            ))
        })?
        .map_err(fail)?;
        Ok(RedisLimits {
            conn,
            server,
            portal_id: None,
            in_flight_ttl: IN_FLIGHT_TTL,
        })
    }

    /// Names the portal in the keys (default: the portal's host, from the client's URL).
    /// Use it when processes reach one portal by different addresses, e.g. with the
    /// portal's `member_id`. Characters other than letters, digits and `.:_-` become `_`.
    pub fn portal_id(mut self, id: &str) -> RedisLimits {
        self.portal_id = Some(id.to_owned());
        self
    }

    /// How long a call counts in flight at most when its end is never recorded (its
    /// process died); default 180 s, longer than any request may run.
    pub fn in_flight_ttl(mut self, ttl: Duration) -> RedisLimits {
        self.in_flight_ttl = ttl.clamp(Duration::from_millis(100), Duration::from_secs(3600));
        self
    }

    /// The backend for a client of `portal` (`https://host[:port]`).
    pub(crate) fn backend(&self, portal: &str) -> Arc<dyn Backend> {
        let host = portal.split_once("://").map_or(portal, |(_, h)| h);
        let id = self.portal_id.as_deref().unwrap_or(host);
        Arc::new(RedisBackend {
            conn: self.conn.clone(),
            prefix: format!("bitrix24:{{{}}}", key_part(id)),
            in_flight_ttl: self.in_flight_ttl,
            fallback: Arc::new(Memory::default()),
            health: Arc::new(Health::default()),
        })
    }
}

/// A portal id as it may appear in a key: lower case, `[a-z0-9.:_-]`, at most 200 chars.
fn key_part(id: &str) -> String {
    id.chars()
        .take(200)
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || ".:_-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

struct RedisBackend {
    conn: ConnectionManager,
    /// `bitrix24:{<portal>}`.
    prefix: String,
    in_flight_ttl: Duration,
    fallback: Arc<Memory>,
    health: Arc<Health>,
}

/// Whether Redis failed lately.
#[derive(Debug, Default)]
struct Health {
    /// Until when the fallback answers alone.
    paused_until: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Health {
    fn paused(&self) -> bool {
        let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|u| std::time::Instant::now() < u)
    }

    fn failed(&self) {
        *self.paused_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(std::time::Instant::now() + REDIS_PAUSE);
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn micros(seconds: f64) -> i64 {
    (seconds * 1e6).round().clamp(0.0, 1e15) as i64
}

fn wait_of(us: i64) -> Option<Duration> {
    (us > 0).then(|| Duration::from_micros(us.unsigned_abs()))
}

impl RedisBackend {
    fn bucket_key(&self, bucket: &str) -> String {
        format!("{}:b:{bucket}", self.prefix)
    }

    fn figures_key(&self, method: &str) -> String {
        format!("{}:m:{method}", self.prefix)
    }

    fn in_flight_key(&self, method: &str) -> String {
        format!("{}:f:{method}", self.prefix)
    }
}

/// Runs a prepared script invocation, within [`REDIS_TIMEOUT`]; `None` when Redis failed
/// (or failed lately, see [`REDIS_PAUSE`]).
async fn run(
    conn: &mut ConnectionManager,
    health: &Health,
    invocation: &redis::ScriptInvocation<'_>,
) -> Option<i64> {
    if health.paused() {
        return None;
    }
    match tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<i64>(conn)).await {
        Ok(Ok(v)) => Some(v),
        _ => {
            health.failed();
            None
        }
    }
}

impl Backend for RedisBackend {
    fn take(&self, bucket: &str, spec: BucketSpec) -> BoxFuture<'static, Option<Duration>> {
        let (mut conn, health) = (self.conn.clone(), self.health.clone());
        let key = self.bucket_key(bucket);
        let (bucket, fallback) = (bucket.to_owned(), self.fallback.clone());
        Box::pin(async move {
            let mut call = TAKE.key(&key);
            call.arg(micros(spec.interval)).arg(micros(spec.tau));
            match run(&mut conn, &health, &call).await {
                Some(us) => {
                    let wait = wait_of(us);
                    // Keep the fallback's copy up to date with this process's requests.
                    if wait.is_none() {
                        fallback.record_now(&bucket, spec);
                    }
                    wait
                }
                None => fallback.take_now(&bucket, spec),
            }
        })
    }

    fn fill(&self, bucket: &str, spec: BucketSpec) -> BoxFuture<'static, ()> {
        let (mut conn, health) = (self.conn.clone(), self.health.clone());
        let key = self.bucket_key(bucket);
        let (bucket, fallback) = (bucket.to_owned(), self.fallback.clone());
        Box::pin(async move {
            let mut call = FILL.key(&key);
            call.arg(micros(spec.interval)).arg(micros(spec.tau));
            let _ = run(&mut conn, &health, &call).await;
            fallback.fill_now(&bucket, spec);
        })
    }

    fn begin(&self, method: &str, budget: Budget, register: bool) -> BoxFuture<'static, Begin> {
        let (mut conn, health) = (self.conn.clone(), self.health.clone());
        let (h, f) = (self.figures_key(method), self.in_flight_key(method));
        let ttl = micros(self.in_flight_ttl.as_secs_f64());
        let (method, fallback) = (method.to_owned(), self.fallback.clone());
        Box::pin(async move {
            let token = fastrand::u64(..);
            let mut call = BEGIN.key(&h);
            call.key(&f)
                .arg(budget.seconds)
                .arg(u8::from(register))
                .arg(token)
                .arg(ttl);
            match run(&mut conn, &health, &call).await {
                Some(us) => match wait_of(us) {
                    None => Begin::Go(token),
                    Some(wait) => Begin::Wait(wait),
                },
                None => fallback.begin_now(&method, budget, register),
            }
        })
    }

    fn end(&self, method: &str, token: u64, seen: Option<Seen>) -> BoxFuture<'static, ()> {
        // The fallback may hold the call (when Redis failed at its start): end it there too.
        self.fallback.end_now(method, token, seen);
        let (mut conn, health) = (self.conn.clone(), self.health.clone());
        let (h, f) = (self.figures_key(method), self.in_flight_key(method));
        Box::pin(async move {
            let seen = seen.unwrap_or_default();
            let flag = |v: Option<f64>| (u8::from(v.is_some()), v.unwrap_or(0.0));
            let (has_op, op) = flag(seen.operating);
            let (has_raw, raw) = flag(seen.reset_raw);
            let (has_ahead, ahead) = (
                u8::from(seen.reset_ahead.is_some()),
                seen.reset_ahead
                    .map_or(0, |a| micros(a.min(MAX_RESET_AHEAD).as_secs_f64())),
            );
            let (has_cost, cost) = flag(seen.cost);
            let (has_extra, extra) = flag(seen.extra.filter(|x| x.is_finite() && *x > 0.0));
            let mut call = END.key(&h);
            call.key(&f)
                .arg(token)
                .arg(has_op)
                .arg(op)
                .arg(has_raw)
                .arg(raw)
                .arg(has_ahead)
                .arg(ahead)
                .arg(has_cost)
                .arg(cost)
                .arg(has_extra)
                .arg(extra);
            let _ = run(&mut conn, &health, &call).await;
        })
    }

    fn block(&self, method: &str, budget: Budget) -> BoxFuture<'static, Duration> {
        let (mut conn, health) = (self.conn.clone(), self.health.clone());
        let h = self.figures_key(method);
        let (method, fallback) = (method.to_owned(), self.fallback.clone());
        Box::pin(async move {
            let mut call = BLOCK.key(&h);
            call.arg(micros(budget.probe.as_secs_f64()));
            let local = fallback.block_now(&method, budget);
            match run(&mut conn, &health, &call).await {
                Some(us) => Duration::from_micros(us.max(0).unsigned_abs()),
                None => local,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_the_host_and_nothing_else() {
        assert_eq!(key_part("Example.Bitrix24.eu"), "example.bitrix24.eu");
        assert_eq!(key_part("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(key_part("a/b{c}"), "a_b_c_");
    }
}
