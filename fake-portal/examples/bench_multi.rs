//! The multi-process benchmark: `WORKERS` worker processes (this program again) export one
//! list of `ITEMS` deals, split by ID range, from one fake portal enforcing 50 burst / 2 per
//! second. Three modes, each on a fresh portal (a full bucket):
//!
//! * `redis`: every worker with `Limits::standard()` and the limiter's state shared through
//!   a `redis-server` this program starts on a free port of 127.0.0.1;
//! * `share`: every worker with a fixed share of the bucket, `Limits::custom(50 / W, 2 / W)`,
//!   no coordination;
//! * `none`: every worker with `Limits::standard()` of its own, no coordination (each
//!   believes the bucket is its alone), default retries.
//!
//! Usage: `cargo run --release -p bitrix24-fake-portal --example bench_multi -- [ITEMS]
//! [WORKERS] [MODES]` (defaults 300000, 8, `redis,share,none`). Prints one JSON line per
//! mode and a Markdown table. "Ideal" is the time the bucket needs for the requests made:
//! 50 at once, then 2 per second.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitrix24_fake_portal::{Config, FakePortal, deals};
use bitrix24_runtime::{Client, FastList, Limits, Method, Pagination, RedisLimits};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

/// `crm.deal.list` restricted to one ID range by its filter.
#[derive(Debug, Clone, serde::Serialize)]
struct DealRange {
    filter: Value,
}

impl Method for DealRange {
    const NAME: &'static str = "crm.deal.list";
    const PAGINATION: Pagination = Pagination::Start;
    const RATE_LIMIT_PER_SEC: f64 = bitrix24_runtime::UNSTATED_SPEC_RATE;
    type Response = Vec<Map<String, Value>>;
}

/// The longest one worker may run before it is killed.
const WORKER_LIMIT: Duration = Duration::from_secs(600);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if args.get(1).map(String::as_str) == Some("worker") {
        return runtime.block_on(worker(&args[2..]));
    }
    let items: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let workers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(8);
    let modes = args.get(3).cloned().unwrap_or("redis,share,none".into());
    runtime.block_on(parent(items, workers.clamp(1, 64), &modes))
}

/// A `redis-server` on a free port of 127.0.0.1, killed when dropped.
struct RedisServer(Child, u16);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_server() -> Result<RedisServer, Box<dyn std::error::Error>> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot start redis-server ({e}): install the Debian package redis-server")
        })?;
    let server = RedisServer(child, port);
    // Bounded: 200 tries, 25 ms apart.
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err("redis-server did not listen within 5 s".into())
}

async fn parent(
    items: usize,
    workers: usize,
    modes: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let redis = redis_server()?;
    let redis_url = format!("redis://127.0.0.1:{}/", redis.1);
    println!("items={items}, workers={workers}, bucket 50 burst / 2 per second");
    let mut rows = Vec::new();
    for mode in modes.split(',') {
        let portal = FakePortal::start(Config::default()).await?;
        portal.seed_list("crm.deal.list", deals(items));
        let port: u16 = portal
            .base_url()
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .ok_or("no port in the portal's URL")?;
        let started = Instant::now();
        let children: Vec<Child> = (0..workers)
            .map(|k| {
                let lo = k * items / workers;
                let hi = (k + 1) * items / workers;
                Command::new(std::env::current_exe()?)
                    .args(["worker", mode, &port.to_string(), &lo.to_string()])
                    .args([&hi.to_string(), &redis_url, &workers.to_string()])
                    .stdout(Stdio::piped())
                    .spawn()
            })
            .collect::<Result<_, _>>()?;
        let outputs = tokio::task::spawn_blocking(move || {
            children
                .into_iter()
                .map(|mut c| {
                    // Bounded: each worker is waited for at most WORKER_LIMIT.
                    let start = Instant::now();
                    while start.elapsed() < WORKER_LIMIT {
                        if let Ok(Some(_)) = c.try_wait() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    let _ = c.kill();
                    c.wait_with_output()
                        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let wall = started.elapsed().as_secs_f64();
        let stats = portal.stats();
        let reports: Vec<Value> = outputs
            .iter()
            .map(|o| serde_json::from_str(o.trim()).unwrap_or(json!({"error": "no report"})))
            .collect();
        let fetched: u64 = reports
            .iter()
            .map(|r| r["items"].as_u64().unwrap_or(0))
            .sum();
        let complete = reports.iter().all(|r| r["complete"] == json!(true));
        let failed: Vec<&Value> = reports.iter().filter(|r| r["error"].is_string()).collect();
        let ideal = (stats.requests as f64 - 50.0).max(0.0) / 2.0;
        let row = json!({
            "mode": mode,
            "items": fetched,
            "expected": items,
            "complete": complete && fetched == items as u64,
            "wall_s": (wall * 10.0).round() / 10.0,
            "requests": stats.requests,
            "rejected": stats.rate_rejections,
            "ideal_s": ideal,
            "over_ideal_pct": if ideal > 0.0 { ((wall / ideal - 1.0) * 1000.0).round() / 10.0 } else { 0.0 },
            "workers_failed": failed.len(),
            "first_error": failed.first().map(|r| r["error"].clone()),
        });
        println!("{row}");
        rows.push(row);
        drop(portal);
    }
    println!("\n| mode | items | wall time | HTTP requests | rejected | ideal | over ideal |");
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {}{} | {} s | {} | {} | {} s | {:+} % |",
            r["mode"].as_str().unwrap_or(""),
            r["items"],
            if r["complete"] == json!(true) {
                " (all)"
            } else {
                " (incomplete)"
            },
            r["wall_s"],
            r["requests"],
            r["rejected"],
            r["ideal_s"],
            r["over_ideal_pct"].as_f64().unwrap_or(0.0),
        );
    }
    Ok(())
}

/// `worker MODE PORT LO HI REDIS_URL WORKERS`: exports the deals with IDs in `(LO, HI]`
/// and prints one JSON line: items, whether they were all there in ascending order, or
/// the error that ended the walk.
async fn worker(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [mode, port, lo, hi, redis_url, workers] = args else {
        return Err("usage: bench_multi worker MODE PORT LO HI REDIS_URL WORKERS".into());
    };
    let (lo, hi): (i64, i64) = (lo.parse()?, hi.parse()?);
    let workers: f64 = workers.parse()?;
    let url = format!("http://127.0.0.1:{port}/rest/1/fakewebhooktoken0001/");
    let client = match mode.as_str() {
        "redis" => Client::webhook(&url)
            .limits(Limits::standard())
            .redis_limits(RedisLimits::connect(redis_url).await?)
            .build()?,
        "share" => Client::webhook(&url)
            .limits(Limits::custom(50.0 / workers, 2.0 / workers))
            .build()?,
        "none" => Client::webhook(&url).limits(Limits::standard()).build()?,
        other => return Err(format!("unknown mode {other}").into()),
    };
    let request = DealRange {
        filter: json!({ ">ID": lo, "<=ID": hi }),
    };
    let mut stream = std::pin::pin!(FastList::new(request).parallel(1).stream(&client));
    let (mut count, mut last, mut ordered) = (0i64, lo, true);
    let mut error = None;
    // Bounded by the list: the stream ends after the range's last item or an error.
    while let Some(deal) = stream.next().await {
        match deal {
            Ok(deal) => {
                let id: i64 = deal
                    .get("ID")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                ordered &= id == last + 1;
                last = id;
                count += 1;
            }
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    println!(
        "{}",
        json!({
            "items": count,
            "complete": error.is_none() && ordered && last == hi,
            "error": error,
        })
    );
    Ok(())
}
