//! The hardening of issue 9: every test here failed before the fix it is named after.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24_fake_portal::{Config, FakeError, FakePortal, deals};
use bitrix24_runtime::transport::{
    BoxFuture, HttpMethod, HttpRequest, HttpResponse, Transport, TransportError,
};
use bitrix24_runtime::{
    Batch, Client, Error, ErrorKind, FastList, Limits, OAuthConfig, OAuthTokens, RetryPolicy,
    TransportErrorKind, token_callback,
};
use bitrix24_tests::api::crm::deal::ListRequest as DealList;
use futures_util::StreamExt;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(90);

fn config() -> Config {
    Config {
        burst: 50.0,
        per_second: 200.0,
        ..Config::default()
    }
}

fn limits() -> Limits {
    Limits::custom(50.0, 200.0)
        .with_headroom(20.0)
        .with_method_rates(false)
}

fn retry() -> RetryPolicy {
    RetryPolicy::new(8, Duration::from_millis(5), Duration::from_millis(50))
}

fn webhook(portal: &FakePortal) -> Client {
    Client::webhook(&portal.webhook_url())
        .limits(limits())
        .retry(retry())
        .build()
        .unwrap()
}

type Answer = Result<HttpResponse, TransportError>;
type AnswerFn = dyn Fn(&HttpRequest, usize) -> Answer + Send + Sync;

/// A transport answering by a function of the request, logging every request.
#[derive(Clone)]
struct Replay {
    answer: Arc<AnswerFn>,
    log: Arc<Mutex<Vec<HttpRequest>>>,
}

impl Replay {
    fn new(answer: impl Fn(&HttpRequest, usize) -> Answer + Send + Sync + 'static) -> Replay {
        Replay {
            answer: Arc::new(answer),
            log: Arc::default(),
        }
    }

    fn requests(&self) -> Vec<HttpRequest> {
        self.log.lock().unwrap().clone()
    }
}

impl Transport for Replay {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Answer> {
        let n = {
            let mut log = self.log.lock().unwrap();
            log.push(request.clone());
            log.len() - 1
        };
        let answer = (self.answer)(&request, n);
        Box::pin(async move { answer })
    }
}

fn ok(body: Value) -> Answer {
    Ok(HttpResponse::new(200, body.to_string().into_bytes()))
}

fn replayed(url: &str, replay: &Replay) -> Client {
    Client::webhook(url)
        .limits(Limits::custom(1000.0, 1000.0).with_method_rates(false))
        .retry(RetryPolicy::new(
            6,
            Duration::from_millis(1),
            Duration::from_millis(2),
        ))
        .transport(replay.clone())
        .build()
        .unwrap()
}

fn body_of(r: &HttpRequest) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn deal_id(deal: &bitrix24_tests::api::crm::deal::ListResponseDeal) -> i64 {
    deal.id.as_deref().unwrap().parse().unwrap()
}

// ---- 1. Redirects -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_a_moved_portal_gets_the_same_post_at_its_new_address() {
    tokio::time::timeout(LIMIT, async {
        let old = FakePortal::start(config()).await.unwrap();
        let new = FakePortal::start(config()).await.unwrap();
        new.seed_list("crm.deal.list", deals(100));
        old.moved_to(Some(&new.base_url()));
        let client = webhook(&old);
        let env = client
            .call_raw("crm.deal.list", &json!({ "filter": { "ID": 5 } }))
            .await
            .unwrap();
        let rows = env.result.as_array().unwrap();
        assert_eq!(rows.len(), 1, "the filter reached the new address");
        assert_eq!(rows[0]["ID"], "5");
        assert_eq!(new.stats().calls["crm.deal.list"], 1);
        // A portal that redirects to itself: bounded, then an error.
        let looping = FakePortal::start(config()).await.unwrap();
        looping.moved_to(Some(&looping.base_url()));
        let err = webhook(&looping)
            .call_raw("crm.deal.list", &json!({}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("redirect"), "{err}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn redirect_resends_the_post_and_never_to_plain_http_elsewhere() {
    let replay = Replay::new(|r, _| {
        if r.url.starts_with("https://old.example/") {
            let moved = r
                .url
                .replace("https://old.example/", "https://new.example/");
            Ok(HttpResponse::new(302, b"moved".to_vec()).with_location(moved))
        } else if r.url.starts_with("https://new.example/") {
            ok(json!({ "result": 7 }))
        } else {
            Ok(HttpResponse::new(301, Vec::new()).with_location("http://evil.example/rest/x"))
        }
    });
    let client = replayed("https://old.example/rest/1/hooktoken/", &replay);
    let params = json!({ "fields": { "TITLE": "x" } });
    let env = client.call_raw("crm.deal.add", &params).await.unwrap();
    assert_eq!(env.result, 7);
    let sent = replay.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].method, HttpMethod::Post);
    assert_eq!(
        sent[1].url,
        "https://new.example/rest/1/hooktoken/crm.deal.add.json"
    );
    assert_eq!(sent[1].body, sent[0].body);
    // Later calls go to the new address directly.
    client.call_raw("crm.deal.add", &params).await.unwrap();
    let sent = replay.requests();
    assert_eq!(sent.len(), 3);
    assert!(
        sent[2]
            .url
            .starts_with("https://new.example/rest/1/hooktoken/")
    );
    // To plain http on another host: refused without sending anything there.
    let client = replayed("https://third.example/rest/1/hooktoken/", &replay);
    let err = client.call_raw("crm.deal.add", &params).await.unwrap_err();
    assert!(err.to_string().contains("redirect"), "{err}");
    assert_eq!(replay.requests().len(), 4);
    assert!(!format!("{err:?}").contains("hooktoken"));
}

#[tokio::test]
async fn redirect_oauth_refresh_moves_later_calls_to_the_new_client_endpoint() {
    let replay = Replay::new(|r, _| {
        if r.method == HttpMethod::Get {
            return ok(json!({
                "access_token": "access0002", "refresh_token": "refresh0002", "expires": 1,
                "client_endpoint": "https://new.example/rest/",
                "server_endpoint": "https://oauth.example/rest/",
            }));
        }
        let auth = body_of(r)["auth"].as_str().unwrap_or("").to_owned();
        if auth == "access0001" {
            Ok(HttpResponse::new(
                401,
                br#"{"error":"expired_token","error_description":"expired"}"#.to_vec(),
            ))
        } else if r.url.starts_with("https://new.example/rest/") {
            ok(json!({ "result": 1 }))
        } else {
            ok(json!({ "result": 0 }))
        }
    });
    let client = Client::oauth(OAuthConfig {
        client_endpoint: "https://old.example/rest/".into(),
        server_endpoint: "https://oauth.example/rest/".into(),
        client_id: "app".into(),
        client_secret: "secret0001".into(),
        tokens: OAuthTokens {
            access_token: "access0001".into(),
            refresh_token: "refresh0001".into(),
            expires: None,
        },
        on_refresh: None,
    })
    .transport(replay.clone())
    .build()
    .unwrap();
    let env = client.call_raw("user.current", &json!({})).await.unwrap();
    assert_eq!(
        env.result, 1,
        "the repeat after the refresh goes to the new endpoint"
    );
    let env = client.call_raw("user.current", &json!({})).await.unwrap();
    assert_eq!(env.result, 1);
    let last = replay.requests().pop().unwrap();
    assert!(last.url.starts_with("https://new.example/rest/"));
}

// ---- 2, 3. FastList probes and order ---------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Misbehave {
    FailDesc,
    IgnoreOrder,
    SwapInPage,
}

/// `crm.deal.list` over IDs 1..=n that misbehaves as told.
fn misbehaving_list(portal: &FakePortal, n: i64, how: Misbehave) {
    portal.on("crm.deal.list", move |p| {
        let filter = &p["filter"];
        let bound = |k: &str| filter.get(k).and_then(|v| v.as_str()?.parse::<i64>().ok());
        let above = bound(">ID").unwrap_or(i64::MIN);
        let upto = bound("<=ID").unwrap_or(i64::MAX);
        let desc = p["order"]["ID"].as_str() == Some("DESC");
        if desc && how == Misbehave::FailDesc {
            return Err(FakeError::new(500, "INTERNAL_SERVER_ERROR", "probe failed"));
        }
        let mut ids: Vec<i64> = (1..=n).filter(|i| *i > above && *i <= upto).collect();
        if desc && how != Misbehave::IgnoreOrder {
            ids.reverse();
        }
        ids.truncate(50);
        // Only pages of a range (with a `>ID` filter), not the probes.
        if how == Misbehave::SwapInPage && ids.len() > 2 && !desc && above > i64::MIN {
            ids.swap(0, 1);
        }
        Ok(Value::Array(
            ids.iter()
                .map(|i| json!({ "ID": i.to_string(), "TITLE": "x" }))
                .collect(),
        ))
    });
}

async fn walk(client: &Client) -> Vec<Result<i64, Error>> {
    FastList::new(DealList::default())
        .stream(client)
        .map(|r| r.map(|d| deal_id(&d)))
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_list_fails_when_the_highest_id_probe_fails() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        misbehaving_list(&portal, 120, Misbehave::FailDesc);
        let out = walk(&webhook(&portal)).await;
        let err = out.last().expect("an error, not an empty stream");
        assert!(err.is_err(), "{out:?}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_list_fails_loudly_when_the_order_is_not_honoured() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        for how in [Misbehave::IgnoreOrder, Misbehave::SwapInPage] {
            misbehaving_list(&portal, 120, how);
            let out = walk(&webhook(&portal)).await;
            let last = out.last().unwrap();
            let Err(e) = last else {
                panic!(
                    "a short or disordered list passed as complete: {} items",
                    out.len()
                )
            };
            assert!(e.to_string().contains("order"), "{e}");
            // Nothing out of order came out before the error.
            let ids: Vec<i64> = out
                .iter()
                .filter_map(|r| r.as_ref().ok().copied())
                .collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        }
    })
    .await
    .unwrap();
}

// ---- 4. Calls inside a batch and the server-time budget --------------------------------

#[tokio::test]
async fn batch_an_inner_time_limit_blocks_the_method() {
    let replay = Replay::new(|_, _| {
        ok(json!({ "result": {
            "result": [],
            "result_error": { "c00": { "error": "OPERATION_TIME_LIMIT", "error_description": "blocked" } },
            "result_total": [], "result_next": [], "result_time": [],
        }}))
    });
    let mut limits = Limits::custom(1000.0, 1000.0)
        .with_method_rates(false)
        .with_max_wait(Duration::from_millis(200));
    limits.operating_block = Duration::from_secs(600);
    let client = Client::webhook("https://portal.example/rest/1/hooktoken/")
        .limits(limits)
        .retry(RetryPolicy::new(
            2,
            Duration::from_millis(1),
            Duration::from_millis(2),
        ))
        .transport(replay.clone())
        .build()
        .unwrap();
    let mut batch = Batch::new();
    let k = batch
        .add_raw("crm.deal.update", &json!({ "id": 1 }))
        .unwrap();
    let mut out = client.batch(&batch).await.unwrap();
    assert_eq!(
        out.take(k).unwrap_err().kind(),
        ErrorKind::OperatingTimeLimit
    );
    let sent = replay.requests().len();
    // The method is blocked now: a direct call waits (here: longer than max_wait, so it
    // fails at once) instead of being sent.
    let err = client
        .call_raw("crm.deal.update", &json!({ "id": 1 }))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OperatingTimeLimit, "{err:?}");
    assert_eq!(
        replay.requests().len(),
        sent,
        "the blocked method was not sent"
    );
}

#[tokio::test]
async fn batch_a_timed_out_batch_of_reads_is_not_rerun_many_times() {
    let replay = Replay::new(|_, _| {
        Err(TransportError {
            kind: TransportErrorKind::Timeout,
            message: "timed out".into(),
        })
    });
    let client = replayed("https://portal.example/rest/1/hooktoken/", &replay);
    let mut batch = Batch::new();
    for i in 0..50 {
        batch
            .add_raw("crm.deal.list", &json!({ "filter": { "ID": i } }))
            .unwrap();
    }
    assert!(client.batch(&batch).await.is_err());
    assert!(
        replay.requests().len() <= 2,
        "{} batch requests",
        replay.requests().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_fast_list_walks_through_inner_time_limits() {
    tokio::time::timeout(LIMIT, async {
        // Each list call costs 0.05 s; 0.5 s is allowed per 1 s window: a batch of 50
        // pages is refused after about ten.
        let portal = FakePortal::start(Config {
            operating_budget: 0.5,
            operating_window: Duration::from_secs(1),
            operating_cost: 0.05,
            ..config()
        })
        .await
        .unwrap();
        portal.seed_list("crm.deal.list", deals(1_500));
        let mut limits = limits().with_operating_budget(0.5);
        limits.operating_block = Duration::from_secs(1);
        let client = Client::webhook(&portal.webhook_url())
            .limits(limits)
            .retry(retry())
            .build()
            .unwrap();
        let ids: Vec<i64> = FastList::new(DealList::default())
            .parallel(1)
            .stream(&client)
            .map(|r| deal_id(&r.unwrap()))
            .collect()
            .await;
        assert_eq!(ids, (1..=1_500).collect::<Vec<i64>>());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn batch_nested_calls_count_against_their_methods_budget() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let replay = Replay::new(move |r, _| {
        if r.url.ends_with("/batch.json") {
            return ok(json!({ "result": { "result": { "c00": [] } } }));
        }
        // crm.deal.list has used 9.9 of its 10 s, and one call costs 0.5 s.
        ok(json!({ "result": [], "time": {
            "processing": 0.5, "operating": 9.9, "operating_reset_at": now + 3600.0,
        }}))
    });
    let client = Client::webhook("https://portal.example/rest/1/hooktoken/")
        .limits(
            Limits::custom(1000.0, 1000.0)
                .with_method_rates(false)
                .with_operating_budget(10.0)
                .with_max_wait(Duration::from_millis(100)),
        )
        .retry(RetryPolicy::none())
        .transport(replay.clone())
        .build()
        .unwrap();
    client.call_raw("crm.deal.list", &json!({})).await.unwrap();
    // The next call of the method would pass the budget: held back, inside a batch too.
    let mut batch = Batch::new();
    batch.add_raw("crm.deal.list", &json!({})).unwrap();
    let err = client.batch(&batch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OperatingTimeLimit, "{err:?}");
    assert_eq!(replay.requests().len(), 1, "the batch was not sent");
}

// ---- 9. What is retryable ------------------------------------------------------------

#[tokio::test]
async fn retryable_a_server_error_of_a_write_is_not_retryable() {
    let replay = Replay::new(|_, _| {
        Ok(HttpResponse::new(
            500,
            br#"{"error":"INTERNAL_SERVER_ERROR","error_description":"oops"}"#.to_vec(),
        ))
    });
    let client = replayed("https://portal.example/rest/1/hooktoken/", &replay);
    let err = client
        .call_raw("crm.deal.add", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(
        !err.is_retryable(),
        "a write that may have run must not be repeated"
    );
    assert_eq!(replay.requests().len(), 1);
    let err = client
        .call_raw("crm.deal.list", &json!({}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "a read may be");
}

// ---- 10. OAuth -----------------------------------------------------------------------

fn oauth(portal: &FakePortal, access: &str, refresh: &str) -> OAuthConfig {
    OAuthConfig {
        client_endpoint: portal.client_endpoint(),
        server_endpoint: portal.server_endpoint(),
        client_id: portal.config().client_id.clone(),
        client_secret: portal.config().client_secret.clone(),
        tokens: OAuthTokens {
            access_token: access.into(),
            refresh_token: refresh.into(),
            expires: None,
        },
        on_refresh: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_a_refresh_token_alone_is_enough() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_list("crm.deal.list", deals(3));
        let (_, refresh) = portal.issue_tokens();
        let client = Client::oauth(oauth(&portal, "", &refresh))
            .limits(limits())
            .build()
            .unwrap();
        let env = client.call_raw("crm.deal.list", &json!({})).await.unwrap();
        assert_eq!(env.result.as_array().unwrap().len(), 3);
        assert_eq!(portal.stats().refreshes, 1);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_a_failing_or_panicking_token_save_loses_nothing() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_list("crm.deal.list", deals(3));
        let (access, refresh) = portal.issue_tokens();
        let attempts = Arc::new(AtomicUsize::new(0));
        let saved: Arc<Mutex<Vec<OAuthTokens>>> = Arc::default();
        let mut cfg = oauth(&portal, &access, &refresh);
        let (a, s) = (attempts.clone(), saved.clone());
        cfg.on_refresh = Some(token_callback(move |t: OAuthTokens| {
            let n = a.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                match n {
                    0 => panic!("the database is on fire"),
                    1 => Err("disk full".to_string()),
                    _ => {
                        s.lock().unwrap().push(t);
                        Ok(())
                    }
                }
            }
        }));
        let client = Client::oauth(cfg).limits(limits()).build().unwrap();
        portal.expire_access_tokens();
        // The save panics: the call still succeeds, with the new tokens in memory.
        let c = client.clone();
        let env = tokio::spawn(async move { c.call_raw("crm.deal.list", &json!({})).await })
            .await
            .expect("a panicking save must not take the call down")
            .unwrap();
        assert_eq!(env.result.as_array().unwrap().len(), 3);
        let current = client.oauth_tokens().unwrap();
        assert_ne!(current.refresh_token, refresh);
        // The save is retried: it fails, and says so (without a token in the message)...
        let err = client.flush_tokens().await.unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(!err.to_string().contains(&current.refresh_token));
        // ...then succeeds, with the tokens in use.
        client.flush_tokens().await.unwrap();
        assert_eq!(saved.lock().unwrap().last(), Some(&current));
        client.flush_tokens().await.unwrap();
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            3,
            "a saved token is not saved again"
        );
        // The rotated refresh token works for the next refresh.
        portal.expire_access_tokens();
        client.call_raw("crm.deal.list", &json!({})).await.unwrap();
        assert_eq!(portal.stats().refreshes, 2);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn oauth_a_non_json_token_server_failure_is_not_remembered() {
    // The first refresh meets a proxy's error page, or an answer without tokens or an
    // error code; the second works.
    for first in [(401, "<html>401 by a proxy</html>"), (200, "{}")] {
        let gets = Arc::new(AtomicUsize::new(0));
        let g = gets.clone();
        let replay = Replay::new(move |r, _| {
            if r.method == HttpMethod::Get {
                return if g.fetch_add(1, Ordering::SeqCst) == 0 {
                    Ok(HttpResponse::new(first.0, first.1.as_bytes().to_vec()))
                } else {
                    ok(json!({ "access_token": "access0002", "refresh_token": "refresh0002" }))
                };
            }
            if body_of(r)["auth"] == "access0002" {
                return ok(json!({ "result": 1 }));
            }
            Ok(HttpResponse::new(
                401,
                br#"{"error":"expired_token","error_description":"expired"}"#.to_vec(),
            ))
        });
        let client = Client::oauth(OAuthConfig {
            client_endpoint: "https://portal.example/rest/".into(),
            server_endpoint: "https://oauth.example/rest/".into(),
            client_id: "app".into(),
            client_secret: "secret0001".into(),
            tokens: OAuthTokens {
                access_token: "access0001".into(),
                refresh_token: "refresh0001".into(),
                expires: None,
            },
            on_refresh: None,
        })
        .retry(RetryPolicy::none())
        .transport(replay.clone())
        .build()
        .unwrap();
        assert!(client.call_raw("user.current", &json!({})).await.is_err());
        let env = client.call_raw("user.current", &json!({})).await;
        assert_eq!(
            env.unwrap().result,
            1,
            "{first:?}: the second call refreshed again"
        );
        assert_eq!(gets.load(Ordering::SeqCst), 2);
    }
}

// ---- 11. Answer size and clear-text URLs ----------------------------------------------

#[test]
fn http_urls_elsewhere_than_loopback_are_refused() {
    for url in [
        "http://portal.example.com/rest/1/code0001/",
        "http://10.0.0.1/rest/1/code0001/",
    ] {
        let err = Client::from_webhook(url).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("http"), "{err}");
        assert!(!err.to_string().contains("code0001"));
        Client::webhook(url).allow_http(true).build().unwrap();
    }
    for url in [
        "https://portal.example.com/rest/1/code0001/",
        "http://127.0.0.1:8080/rest/1/code0001/",
        "http://127.9.9.9/rest/1/code0001/",
        "http://localhost/rest/1/code0001/",
        "http://[::1]:81/rest/1/code0001/",
    ] {
        Client::from_webhook(url).unwrap();
    }
    let cfg = |client: &str, server: &str| OAuthConfig {
        client_endpoint: client.into(),
        server_endpoint: server.into(),
        client_id: "app".into(),
        client_secret: "secret0001".into(),
        tokens: OAuthTokens {
            access_token: "a0000001".into(),
            refresh_token: "r0000001".into(),
            expires: None,
        },
        on_refresh: None,
    };
    let https = "https://portal.example.com/rest/";
    let http = "http://portal.example.com/rest/";
    assert!(Client::oauth(cfg(http, https)).build().is_err());
    assert!(Client::oauth(cfg(https, http)).build().is_err());
    Client::oauth(cfg(https, https)).build().unwrap();
    Client::oauth(cfg(http, http))
        .allow_http(true)
        .build()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_answer_fails_clearly() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_list("crm.deal.list", deals(50));
        let client = Client::webhook(&portal.webhook_url())
            .limits(limits())
            .retry(RetryPolicy::none())
            .max_response_bytes(2_000)
            .build()
            .unwrap();
        let err = client
            .call_raw("crm.deal.list", &json!({}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("2000 bytes"), "{err}");
        // A small answer is fine.
        let env = client
            .call_raw("crm.deal.list", &json!({ "filter": { "ID": 1 } }))
            .await
            .unwrap();
        assert_eq!(env.result.as_array().unwrap().len(), 1);
    })
    .await
    .unwrap();
}

// ---- 12. Lazy streams, odd envelopes of writes ------------------------------------------

#[test]
fn fast_list_needs_no_runtime_until_polled_and_never_panics_without_one() {
    use futures_util::FutureExt;
    let client = Client::from_webhook("http://127.0.0.1:9/rest/1/code0001/").unwrap();
    let stream = FastList::new(DealList::default()).stream(&client);
    drop(stream);
    let mut stream = std::pin::pin!(FastList::new(DealList::default()).stream(&client));
    match stream.next().now_or_never() {
        Some(Some(Err(e))) => assert_eq!(e.kind(), ErrorKind::Config, "{e}"),
        other => panic!("{}", other.is_some()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_list_starts_when_polled() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_list("crm.deal.list", deals(120));
        let client = webhook(&portal);
        let stream = FastList::new(DealList::default()).stream(&client);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            portal.stats().requests,
            0,
            "nothing is sent before the first poll"
        );
        assert_eq!(stream.count().await, 120);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_odd_next_or_total_of_a_write_that_ran_is_ignored() {
    let replay =
        Replay::new(|_, _| ok(json!({ "result": "5", "next": "soon", "total": { "x": 1 } })));
    let client = replayed("https://portal.example/rest/1/hooktoken/", &replay);
    let env = client.call_raw("crm.deal.add", &json!({})).await.unwrap();
    assert_eq!(env.result, "5");
    assert_eq!(env.next, None);
    assert_eq!(replay.requests().len(), 1);
}
