//! `Client::stats`: counters move as the portal's answers say (the captured `tracing`
//! output is tested in `tracing_output.rs`, a binary of its own).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bitrix24_fake_portal::{Config, FakeError, FakePortal, Fault, FaultKind};
use bitrix24_runtime::transport::{
    BoxFuture, HttpRequest, HttpResponse, Transport, TransportError,
};
use bitrix24_runtime::{Batch, Client, ErrorKind, Limits, RetryPolicy};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(30);

fn fast_retries(n: u32) -> RetryPolicy {
    RetryPolicy::new(n, Duration::from_millis(5), Duration::from_millis(10))
}

/// A handler that refuses its first `refusals` calls with `code` (HTTP `status`), then
/// answers `true`; counts the refusals it gave.
fn refusing(
    status: u16,
    code: &'static str,
    refusals: u32,
) -> (
    impl Fn(&serde_json::Value) -> Result<serde_json::Value, FakeError> + Send + Sync + 'static,
    Arc<AtomicU32>,
) {
    let given = Arc::new(AtomicU32::new(0));
    let counter = given.clone();
    let handler = move |_: &serde_json::Value| {
        if counter.load(Ordering::SeqCst) < refusals {
            counter.fetch_add(1, Ordering::SeqCst);
            return Err(FakeError::new(status, code, "refused by the test"));
        }
        Ok(json!(true))
    };
    (handler, given)
}

#[tokio::test]
async fn requests_retries_and_rate_refusals_are_counted() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(Config {
            burst: 1000.0,
            per_second: 1000.0,
            ..Config::default()
        })
        .await
        .unwrap();
        let (handler, refused) = refusing(503, "QUERY_LIMIT_EXCEEDED", 2);
        portal.on("test.item.list", handler);
        // One 503 page before the method runs, then two refusals, then the answer.
        portal.inject(Fault {
            method: Some("test.item.list".into()),
            kind: FaultKind::Unavailable,
            every: 1,
            times: 1,
        });
        let client = Client::webhook(&portal.webhook_url())
            .limits(Limits::custom(1000.0, 1000.0).with_method_rates(false))
            .retry(fast_retries(5))
            .build()
            .unwrap();
        assert_eq!(client.stats(), bitrix24_runtime::Stats::default());
        client.call_raw("test.item.list", &json!({})).await.unwrap();
        let stats = client.stats();
        assert_eq!(refused.load(Ordering::SeqCst), 2);
        assert_eq!(portal.stats().faults, 1);
        assert_eq!(stats.requests, 4, "{stats:?}");
        assert_eq!(stats.requests, portal.stats().requests);
        assert_eq!(stats.retries, 3, "{stats:?}");
        assert_eq!(stats.rate_limited, 2, "{stats:?}");
        assert_eq!(stats.operating_limited, 0);
        assert_eq!(stats.token_refreshes, 0);
        // A clone shares the counters.
        assert_eq!(client.clone().stats(), stats);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn operating_refusals_are_counted_direct_and_inside_a_batch() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(Config::default()).await.unwrap();
        let (handler, refused) = refusing(429, "OPERATION_TIME_LIMIT", 2);
        portal.on("test.item.get", handler);
        portal.on("test.other.get", |_| Ok(json!(1)));
        // A refused method is held for `operating_block` (no answer said when its budget
        // resets); short here, so the batch after the refusal does not wait a minute.
        let mut limits = Limits::standard();
        limits.operating_block = Duration::from_millis(20);
        let client = Client::webhook(&portal.webhook_url())
            .limits(limits)
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let err = client
            .call_raw("test.item.get", &json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OperatingTimeLimit);
        let mut batch = Batch::new();
        let refused_key = batch.add_raw("test.item.get", &json!({})).unwrap();
        let ok_key = batch.add_raw("test.other.get", &json!({})).unwrap();
        let mut answers = client.batch(&batch).await.unwrap();
        assert_eq!(
            answers.take(refused_key).unwrap_err().kind(),
            ErrorKind::OperatingTimeLimit
        );
        assert_eq!(answers.take(ok_key).unwrap(), json!(1));
        assert_eq!(refused.load(Ordering::SeqCst), 2);
        let stats = client.stats();
        assert_eq!(stats.operating_limited, 2, "{stats:?}");
        assert_eq!(stats.rate_limited, 0);
        assert_eq!(stats.retries, 0, "RetryPolicy::none repeats nothing");
        assert_eq!(stats.requests, 2, "one direct call, one batch");
    })
    .await
    .unwrap();
}

/// Answers every request at once with a tiny envelope.
struct Instant200;

impl Transport for Instant200 {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async { Ok(HttpResponse::new(200, br#"{"result":true}"#.to_vec())) })
    }
}

#[tokio::test(start_paused = true)]
async fn limiter_waits_are_counted_with_their_time() {
    // A bucket of one place refilled twice a second: of five calls in a row, the first goes
    // at once and each of the other four waits for its place (the clock is paused, so the
    // waits are exact).
    let client = Client::webhook("http://127.0.0.1:9/rest/1/pausedclocktoken/")
        .limits(
            Limits::custom(1.0, 2.0)
                .with_headroom(0.0)
                .with_method_rates(false),
        )
        .retry(RetryPolicy::none())
        .transport(Instant200)
        .build()
        .unwrap();
    for _ in 0..5 {
        client.call_raw("test.item.get", &json!({})).await.unwrap();
    }
    let stats = client.stats();
    assert_eq!(stats.requests, 5);
    assert_eq!(stats.limiter_waits, 4, "{stats:?}");
    assert!(
        stats.limiter_wait >= Duration::from_millis(4 * 490),
        "{stats:?}"
    );
}
