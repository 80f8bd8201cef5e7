//! Limits shared across processes through Redis (`bitrix24-runtime` feature `redis`):
//! real child processes (this test binary, started again as a worker) and separate clients,
//! one fake portal, one `redis-server` started by the test on a free port of 127.0.0.1.
//!
//! The tests need the `redis-server` binary (Debian package `redis-server`). Without it
//! they fail and say so, unless `BITRIX24_SKIP_REDIS=1` is set, when they are skipped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitrix24_fake_portal::{Config, FakePortal, Fault, FaultKind};
use bitrix24_runtime::{Client, Error, ErrorKind, Limits, RedisLimits, RetryPolicy};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(120);
/// Set in a worker process: what it is to do (see [`worker_process`]).
const ROLE: &str = "BITRIX24_SHARED_LIMITS_ROLE";

/// A `redis-server` of this test's own, on a free port of 127.0.0.1, without persistence;
/// killed when dropped.
struct RedisServer {
    child: Child,
    url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RedisServer {
    /// The server, or `None` when the binary is missing and `BITRIX24_SKIP_REDIS=1`.
    fn start(test: &str) -> Option<RedisServer> {
        RedisServer::start_with(test, &[])
    }

    /// The same with more arguments for `redis-server`.
    fn start_with(test: &str, extra: &[&str]) -> Option<RedisServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on 127.0.0.1");
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var("BITRIX24_SKIP_REDIS").is_ok_and(|v| v == "1") {
                    eprintln!("{test}: skipped (BITRIX24_SKIP_REDIS=1 and no redis-server)");
                    return None;
                }
                panic!(
                    "{test} needs the redis-server binary, which is not installed: install the \
                     Debian package redis-server (apt-get install -y redis-server), or set \
                     BITRIX24_SKIP_REDIS=1 to skip the Redis tests"
                );
            }
            Err(e) => panic!("{test}: cannot start redis-server: {e}"),
        };
        let server = RedisServer {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        // Bounded: 200 tries, 25 ms apart.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("{test}: redis-server did not listen on 127.0.0.1:{port} within 5 s");
    }
}

/// The fake's bucket: 20 places, 50 per second (the limiter runs the same code as with
/// 50 / 2, only faster).
fn config() -> Config {
    Config {
        burst: 20.0,
        per_second: 50.0,
        operating_cost: 0.3,
        ..Config::default()
    }
}

/// The same figures on every client, with five places of headroom for 100 ms of jitter.
fn limits() -> Limits {
    Limits::custom(20.0, 50.0).with_headroom(5.0)
}

/// The same with a server-time budget of 1 s per method (each call costs 0.3 s).
fn budget() -> Limits {
    limits().with_operating_budget(1.0)
}

async fn portal() -> FakePortal {
    let portal = FakePortal::start(config()).await.unwrap();
    portal.on("test.ping", |_| Ok(json!(true)));
    portal.on("slow.add", |_| Ok(json!(1)));
    portal
}

/// A client with its own state (shared through `redis` when given) and no retries, so a
/// single refusal fails its call. `ttl`: how long its calls count in flight at most.
async fn client(webhook: &str, redis: Option<&str>, ttl: Duration, limits: Limits) -> Client {
    let builder = Client::webhook(webhook)
        .limits(limits)
        .retry(RetryPolicy::none());
    let builder = match redis {
        Some(url) => {
            builder.redis_limits(RedisLimits::connect(url).await.unwrap().in_flight_ttl(ttl))
        }
        None => builder,
    };
    builder.build().unwrap()
}

/// `n` calls of `test.ping`, all at once.
async fn pings(client: &Client, n: usize) -> Result<(), Error> {
    let calls = (0..n).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.call_raw("test.ping", &json!({})).await.map(drop) })
    });
    for call in futures_util::future::join_all(calls).await {
        call.unwrap()?;
    }
    Ok(())
}

/// This test binary again, as a worker process with a role.
fn worker(role: &str, webhook: &str, redis: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env("BITRIX24_WEBHOOK", webhook)
        .env("BITRIX24_REDIS", redis)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (bounded by `limit`) for a worker to end; whether it succeeded.
fn wait(mut child: Child, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// What a worker process does; in a normal test run (no role) nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let webhook = std::env::var("BITRIX24_WEBHOOK").unwrap();
    let redis = std::env::var("BITRIX24_REDIS").unwrap();
    match role.as_str() {
        // 60 pings at once through the shared limits; a refusal fails the process.
        "pings" => {
            let c = client(&webhook, Some(&redis), Duration::from_secs(180), limits()).await;
            pings(&c, 60).await.unwrap();
        }
        // Five slow calls at once, which the budget lets two of go at a time; the parent
        // kills this process while they are in flight.
        "slow" => {
            let c = client(&webhook, Some(&redis), Duration::from_secs(4), budget()).await;
            let calls: Vec<_> = (0..5)
                .map(|_| {
                    let c = c.clone();
                    tokio::spawn(async move { c.call_raw("slow.add", &json!({})).await })
                })
                .collect();
            for call in calls {
                let _ = call.await;
            }
        }
        other => panic!("unknown role {other}"),
    }
}

/// Four processes (three workers and this one), each with its own client and state,
/// calling one portal at once: through Redis they keep its bucket, with no refusal.
/// Without it, separate clients each believe the bucket is theirs, and the portal refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_redis_keep_one_bucket() {
    let Some(redis) = RedisServer::start("processes_sharing_redis_keep_one_bucket") else {
        return;
    };
    tokio::time::timeout(LIMIT, async {
        let portal = portal().await;
        let webhook = portal.webhook_url();
        let workers: Vec<_> = (0..3)
            .map(|_| worker("pings", &webhook, &redis.url))
            .collect();
        let here = client(
            &webhook,
            Some(&redis.url),
            Duration::from_secs(180),
            limits(),
        )
        .await;
        pings(&here, 60).await.unwrap();
        let ok: Vec<bool> = tokio::task::spawn_blocking(move || {
            workers
                .into_iter()
                .map(|w| wait(w, Duration::from_secs(60)))
                .collect()
        })
        .await
        .unwrap();
        assert_eq!(ok, [true, true, true], "a worker failed (refused?)");
        let stats = portal.stats();
        assert_eq!(stats.rate_rejections, 0);
        assert_eq!(stats.calls.get("test.ping").copied(), Some(240));

        // The same load from four separate clients without shared state.
        let portal = self::portal().await;
        let mut loads = Vec::new();
        for _ in 0..4 {
            let c = client(
                &portal.webhook_url(),
                None,
                Duration::from_secs(180),
                limits(),
            )
            .await;
            loads.push(tokio::spawn(async move { pings(&c, 60).await }));
        }
        let mut refused = 0;
        for load in loads {
            if let Err(e) = load.await.unwrap() {
                assert_eq!(e.kind(), ErrorKind::RateLimited, "{e:?}");
                refused += 1;
            }
        }
        assert!(refused > 0 && portal.stats().rate_rejections > 0);
    })
    .await
    .unwrap();
}

/// A process killed while its calls are in flight gives their share of the method's
/// server-time budget back once their entries expire (here after 4 s): the other
/// process's call waits for them, then goes. (Bucket places are never booked ahead, so a
/// dead process holds none.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_flight_gives_its_capacity_back() {
    let Some(redis) = RedisServer::start("a_process_killed_mid_flight_gives_its_capacity_back")
    else {
        return;
    };
    tokio::time::timeout(LIMIT, async {
        let portal = portal().await;
        let webhook = portal.webhook_url();
        let here = client(
            &webhook,
            Some(&redis.url),
            Duration::from_secs(180),
            budget(),
        )
        .await;
        // One call teaches the shared figures: 0.3 s used, 0.3 s per call; a budget of 1 s
        // then lets two calls be in flight at once (0.3 + 3 * 0.3 > 1).
        here.call_raw("slow.add", &json!({})).await.unwrap();
        portal.inject(Fault {
            method: Some("slow.add".into()),
            kind: FaultKind::Slow(Duration::from_secs(60)),
            every: 1,
            times: 2,
        });
        let calls = |p: &FakePortal| p.stats().calls.get("slow.add").copied().unwrap_or(0);
        let mut slow = worker("slow", &webhook, &redis.url);
        // Bounded: until the worker's two calls are at the portal (and then 200 ms more,
        // so a third would have gone if the budget let it).
        let start = Instant::now();
        while calls(&portal) < 3 && start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            calls(&portal),
            3,
            "the worker's calls did not arrive (or too many)"
        );
        slow.kill().unwrap();
        slow.wait().unwrap();
        // Its two calls still count in flight, so this one waits until they expire.
        let t0 = Instant::now();
        here.call_raw("slow.add", &json!({})).await.unwrap();
        let waited = t0.elapsed();
        eprintln!("waited {waited:?} for the dead process's calls to expire");
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_secs(10),
            "waited {waited:?}"
        );
        assert_eq!(portal.stats().rate_rejections, 0);
    })
    .await
    .unwrap();
}

/// A method the portal refused for its server time is held for every client sharing the
/// Redis server: another client's call fails at once on its side (its wait would pass its
/// `max_wait`), without reaching the portal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_for_the_server_time_budget_is_shared() {
    let Some(redis) = RedisServer::start("a_hold_for_the_server_time_budget_is_shared") else {
        return;
    };
    tokio::time::timeout(LIMIT, async {
        // The fake allows 0.5 s per method in its window; each call costs 0.3 s.
        let portal = FakePortal::start(Config {
            operating_budget: 0.5,
            ..config()
        })
        .await
        .unwrap();
        portal.on("slow.add", |_| Ok(json!(1)));
        let webhook = portal.webhook_url();
        // A client that ignores the budget runs into the portal's refusal.
        let reckless = client(
            &webhook,
            Some(&redis.url),
            Duration::from_secs(180),
            limits(),
        )
        .await;
        let mut refused = None;
        for _ in 0..10 {
            if let Err(e) = reckless.call_raw("slow.add", &json!({})).await {
                refused = Some(e);
                break;
            }
        }
        let refused = refused.expect("the fake refuses once the budget is spent");
        assert_eq!(refused.kind(), ErrorKind::OperatingTimeLimit, "{refused:?}");
        assert_eq!(portal.stats().operating_rejections, 1);
        // Another client, with its own state, is held by the shared hold (until the
        // plausible reset the fake reported, minutes away, past its max_wait of 5 s).
        let other = client(
            &webhook,
            Some(&redis.url),
            Duration::from_secs(180),
            limits().with_max_wait(Duration::from_secs(5)),
        )
        .await;
        let t0 = Instant::now();
        let err = other.call_raw("slow.add", &json!({})).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OperatingTimeLimit, "{err:?}");
        assert!(err.to_string().contains("held back by the client"), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert_eq!(portal.stats().operating_rejections, 1);
        // Other methods go on.
        portal.on("test.ping", |_| Ok(json!(true)));
        other.call_raw("test.ping", &json!({})).await.unwrap();
    })
    .await
    .unwrap();
}

/// RESP commands over one plain socket (the test needs no Redis client of its own); the
/// raw replies.
fn resp(port: u16, commands: &[&[&str]]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut out = String::new();
    for command in commands {
        out.push_str(&format!("*{}\r\n", command.len()));
        for part in *command {
            out.push_str(&format!("${}\r\n{part}\r\n", part.len()));
        }
    }
    s.write_all(out.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    // Bounded: until the server has been quiet for 200 ms (or 2 s of reading).
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while start.elapsed() < Duration::from_secs(2) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// The Redis password stays out of `Debug` and errors; the keys name the portal's host and
/// never the webhook token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_redis_keys_debug_and_errors() {
    const PASSWORD: &str = "s3cret-redis-pw";
    let Some(redis) = RedisServer::start_with(
        "secrets_stay_out_of_redis_keys_debug_and_errors",
        &["--requirepass", PASSWORD],
    ) else {
        return;
    };
    tokio::time::timeout(LIMIT, async {
        let port: u16 = redis
            .url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let with_password = format!("redis://:{PASSWORD}@127.0.0.1:{port}/");
        let wrong = format!("redis://:{PASSWORD}-wrong@127.0.0.1:{port}/");
        let err = RedisLimits::connect(&wrong).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains(PASSWORD), "{err}");
        assert!(!format!("{err:?}").contains(PASSWORD), "{err:?}");
        let shared = RedisLimits::connect(&with_password).await.unwrap();
        assert!(!format!("{shared:?}").contains(PASSWORD), "{shared:?}");
        let portal = portal().await;
        let client = Client::webhook(&portal.webhook_url())
            .limits(limits())
            .redis_limits(shared)
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains(PASSWORD));
        client.call_raw("test.ping", &json!({})).await.unwrap();
        let keys = resp(port, &[&["AUTH", PASSWORD], &["KEYS", "*"]]);
        let host = portal.base_url().trim_start_matches("http://").to_owned();
        assert!(
            keys.contains(&format!("bitrix24:{{{host}}}:b:portal")),
            "{keys}"
        );
        assert!(
            keys.contains(&format!("bitrix24:{{{host}}}:m:test.ping")),
            "{keys}"
        );
        assert!(!keys.contains(&portal.config().webhook_token), "{keys}");
        assert!(!keys.contains("/rest/"), "{keys}");
    })
    .await
    .unwrap();
}

/// When Redis goes away, calls go on, paced by the process's own state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_when_redis_goes_away() {
    let Some(redis) = RedisServer::start("calls_go_on_when_redis_goes_away") else {
        return;
    };
    tokio::time::timeout(LIMIT, async {
        let portal = portal().await;
        let client = client(
            &portal.webhook_url(),
            Some(&redis.url),
            Duration::from_secs(180),
            limits(),
        )
        .await;
        pings(&client, 10).await.unwrap();
        drop(redis);
        let t0 = Instant::now();
        pings(&client, 30).await.unwrap();
        // One operation waits for Redis's failure; then the fallback answers alone for a
        // while: 30 calls at 50 per second take well under the old timeout per operation.
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert_eq!(portal.stats().rate_rejections, 0);
        assert_eq!(portal.stats().calls.get("test.ping").copied(), Some(40));
    })
    .await
    .unwrap();
}
