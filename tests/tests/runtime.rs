//! The runtime against the fake portal over loopback HTTP, through the generated
//! `imopenlines.crm.message.add`: auth and token refresh, limits, retries, batches, secrets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24_fake_portal::{Config, FakeError, FakePortal, Fault, FaultKind};
use bitrix24_runtime::transport::{
    BoxFuture, HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError,
};
use bitrix24_runtime::{
    Batch, Client, Error, ErrorKind, Limits, OAuthConfig, OAuthTokens, RetryPolicy,
};
use bitrix24_tests::api::imopenlines::crm::message::{AddRequest, AddRequestCrmEntityType, add};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);
const METHOD: &str = "imopenlines.crm.message.add";

/// Test figures: a small, fast bucket (the limiter runs the same code as with 50 / 2).
fn config() -> Config {
    Config {
        burst: 20.0,
        per_second: 50.0,
        ..Config::default()
    }
}

/// The same figures on the client; five places of headroom absorb 100 ms of scheduling
/// jitter on a loaded machine (the default 2 absorb 1 s at 2 per second).
fn limits() -> Limits {
    Limits::custom(20.0, 50.0)
        .with_headroom(5.0)
        .with_method_rates(false)
}

async fn portal(config: Config) -> FakePortal {
    let portal = FakePortal::start(config).await.unwrap();
    let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    assert!(portal.load_specs(&specs).unwrap() >= 1);
    // The method answers with the chat it was given, or the error the chat id asks for.
    portal.on(METHOD, |p| {
        let chat = p["CHAT_ID"]
            .as_i64()
            .or_else(|| p["CHAT_ID"].as_str()?.parse().ok())
            .unwrap_or(0);
        match chat {
            -1 => Err(FakeError::new(403, "ACCESS_DENIED", "Access denied")),
            -2 => Err(FakeError::new(400, "ERROR_ARGUMENT", "Wrong argument")),
            -3 => Err(FakeError::new(400, "CHAT_NOT_IN_CRM", "Chat is not in CRM")),
            -4 => Err(FakeError::new(
                400,
                "MESSAGE_ADD_ERROR",
                "Cannot add message",
            )),
            -5 => Err(FakeError::new(403, "insufficient_scope", "Scope missing")),
            -6 => Err(FakeError::new(
                403,
                "WRONG_AUTH_TYPE",
                "Application context required",
            )),
            // The new message's id, as a string the way PHP sends it.
            _ => Ok(json!((chat * 10).to_string())),
        }
    });
    portal
}

fn message(chat: i64) -> AddRequest {
    AddRequest::new(
        AddRequestCrmEntityType::Deal,
        288,
        12,
        chat,
        "Hello from the test",
    )
}

fn webhook(portal: &FakePortal) -> Client {
    Client::webhook(&portal.webhook_url())
        .limits(limits())
        .build()
        .unwrap()
}

/// A transport that counts requests and records their `Debug` text.
#[derive(Clone)]
struct Counting {
    inner: ReqwestTransport,
    count: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Counting {
    fn new() -> Counting {
        Counting {
            inner: ReqwestTransport::new().unwrap(),
            count: Arc::new(AtomicUsize::new(0)),
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl Transport for Counting {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(format!("{request:?}"));
        self.inner.send(request)
    }
}

fn calls(portal: &FakePortal) -> u64 {
    portal.stats().calls.get(METHOD).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_add_happy_path() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        let client = webhook(&portal);
        let result = add(&client, &message(8773)).await.unwrap();
        assert_eq!(result, 87730);
        assert_eq!(calls(&portal), 1);
        // Method names are matched without regard to case.
        let env = client
            .call_as("IMOPENLINES.CRM.MESSAGE.ADD", &message(5))
            .await
            .unwrap();
        assert_eq!(env, 50);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_add_error_codes_are_typed_and_not_repeated() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        let client = webhook(&portal);
        let cases = [
            (-1, "ACCESS_DENIED", 403, ErrorKind::Auth),
            (-2, "ERROR_ARGUMENT", 400, ErrorKind::Argument),
            (-3, "CHAT_NOT_IN_CRM", 400, ErrorKind::Api),
            (-4, "MESSAGE_ADD_ERROR", 400, ErrorKind::Api),
        ];
        for (i, (chat, code, status, kind)) in cases.into_iter().enumerate() {
            let err = add(&client, &message(chat)).await.unwrap_err();
            let api = err.api().unwrap_or_else(|| panic!("{code}: {err:?}"));
            assert!(api.code.is(code), "{code}: {err:?}");
            assert_eq!(api.status, status, "{code}");
            assert_eq!(api.method, METHOD);
            assert_eq!(err.kind(), kind, "{code}");
            assert!(!err.is_retryable(), "{code}");
            assert!(err.to_string().contains(code), "{err}");
            // Each call reached the portal exactly once.
            assert_eq!(calls(&portal), i as u64 + 1, "{code}");
        }
        // The spec requires `MESSAGE`: the fake answers ERROR_ARGUMENT without it.
        let err = client
            .call_raw(
                METHOD,
                &json!({ "CRM_ENTITY_TYPE": "deal", "CRM_ENTITY": 1, "USER_ID": 1, "CHAT_ID": 1 }),
            )
            .await
            .unwrap_err();
        assert!(err.api().unwrap().code.is("ERROR_ARGUMENT"), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Argument);
        // An unknown method.
        let err = client
            .call_raw("no.such.method", &json!({}))
            .await
            .unwrap_err();
        assert!(err.api().unwrap().code.is("ERROR_METHOD_NOT_FOUND"));
        assert_eq!(err.kind(), ErrorKind::NotFound);
    })
    .await
    .unwrap();
}

fn oauth_config(portal: &FakePortal, access: String, refresh: String) -> OAuthConfig {
    OAuthConfig {
        client_endpoint: portal.client_endpoint(),
        server_endpoint: portal.server_endpoint(),
        client_id: portal.config().client_id.clone(),
        client_secret: portal.config().client_secret.clone(),
        tokens: OAuthTokens {
            access_token: access,
            refresh_token: refresh,
            expires: None,
        },
        on_refresh: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_refresh_for_20_concurrent_tasks() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(Config {
            burst: 100.0,
            per_second: 100.0,
            ..config()
        })
        .await;
        let (access, refresh) = portal.issue_tokens();
        let stored: Arc<Mutex<Vec<OAuthTokens>>> = Arc::default();
        let sink = stored.clone();
        let mut cfg = oauth_config(&portal, access.clone(), refresh.clone());
        cfg.on_refresh = Some(bitrix24_runtime::token_callback(move |t: OAuthTokens| {
            sink.lock().unwrap().push(t);
            async { Ok::<(), String>(()) }
        }));
        let client = Client::oauth(cfg)
            .limits(Limits::custom(100.0, 100.0).with_method_rates(false))
            .build()
            .unwrap();
        // Works before expiry, without a refresh.
        add(&client, &message(1)).await.unwrap();
        portal.expire_access_tokens();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move { add(&client, &message(100 + i)).await })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let r = t.await.unwrap().unwrap();
            assert_eq!(r, (100 + i as i64) * 10);
        }
        assert_eq!(portal.stats().refreshes, 1);
        let stored = stored.lock().unwrap().clone();
        assert_eq!(stored.len(), 1, "the callback runs once per refresh");
        assert_ne!(stored[0].access_token, access);
        assert_ne!(stored[0].refresh_token, refresh);
        assert_eq!(client.oauth_tokens().unwrap(), stored[0]);
        assert_eq!(calls(&portal), 21);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_errors_are_typed() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        // An access token the portal never issued: invalid_token, no refresh attempted.
        let (_, refresh) = portal.issue_tokens();
        let client = Client::oauth(oauth_config(&portal, "bogusaccess1".into(), refresh))
            .limits(limits())
            .build()
            .unwrap();
        let err = add(&client, &message(1)).await.unwrap_err();
        assert!(err.api().unwrap().code.is("invalid_token"), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert_eq!(portal.stats().refreshes, 0);
        // An expired token whose refresh token is not valid: the refresh error is typed.
        let (access, _) = portal.issue_tokens();
        portal.expire_access_tokens();
        let client = Client::oauth(oauth_config(&portal, access, "unknownrefresh".into()))
            .limits(limits())
            .build()
            .unwrap();
        let err = add(&client, &message(1)).await.unwrap_err();
        assert!(err.api().unwrap().code.is("invalid_grant"), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Auth);
        // Ten tasks on the same dead refresh token: one refresh attempt, ten errors.
        let (access, _) = portal.issue_tokens();
        portal.expire_access_tokens();
        let counting = Counting::new();
        let client = Client::oauth(oauth_config(&portal, access, "deadrefresh".into()))
            .limits(limits())
            .transport(counting.clone())
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let c = client.clone();
                tokio::spawn(async move { add(&c, &message(i)).await })
            })
            .collect();
        for t in tasks {
            let err = t.await.unwrap().unwrap_err();
            assert!(err.api().unwrap().code.is("invalid_grant"), "{err:?}");
        }
        assert_eq!(counting.count.load(Ordering::SeqCst), 10 + 1);
        // A wrong webhook code.
        let url = portal.webhook_url().replace("fakewebhook", "wrongwebhook");
        let client = Client::webhook(&url).limits(limits()).build().unwrap();
        let err = add(&client, &message(1)).await.unwrap_err();
        assert!(err.api().unwrap().code.is("NO_AUTH_FOUND"), "{err:?}");
        assert_eq!(err.api().unwrap().status, 401);
        assert_eq!(err.kind(), ErrorKind::Auth);
        // Permission errors of the method itself.
        let client = webhook(&portal);
        for (chat, code) in [(-5, "insufficient_scope"), (-6, "WRONG_AUTH_TYPE")] {
            let err = add(&client, &message(chat)).await.unwrap_err();
            assert!(err.api().unwrap().code.is(code), "{err:?}");
            assert_eq!(err.kind(), ErrorKind::Auth);
        }
    })
    .await
    .unwrap();
}

fn assert_hidden(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked into: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_debug_display_or_errors() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        let (access, refresh) = portal.issue_tokens();
        let secret = portal.config().client_secret.clone();
        let webhook_token = portal.config().webhook_token.clone();
        // The portal echoes whatever it was sent into its error description.
        portal.on("echo.back", |p| {
            Err(FakeError::new(400, "ECHO", &format!("you sent {p}")))
        });
        let counting = Counting::new();
        let cfg = oauth_config(&portal, access.clone(), refresh.clone());
        let secrets = [
            access.as_str(),
            refresh.as_str(),
            secret.as_str(),
            webhook_token.as_str(),
        ];
        assert_hidden(&format!("{cfg:?}"), &secrets);
        assert_hidden(&format!("{:?}", cfg.tokens), &secrets);
        let oauth = Client::oauth(cfg)
            .limits(limits())
            .transport(counting.clone())
            .build()
            .unwrap();
        let hook = Client::webhook(&portal.webhook_url())
            .limits(limits())
            .transport(counting.clone())
            .build()
            .unwrap();
        assert_hidden(&format!("{oauth:?}"), &secrets);
        assert_hidden(&format!("{hook:?}"), &secrets);
        let mut errors = Vec::new();
        // Each client hides its own secrets (it cannot know another client's).
        let params = json!({ "a": access, "r": refresh, "s": secret });
        errors.push(oauth.call_raw("echo.back", &params).await.unwrap_err());
        let hook_params = json!({ "token": webhook_token });
        errors.push(hook.call_raw("echo.back", &hook_params).await.unwrap_err());
        // After a refresh, the old and the new tokens are all hidden.
        portal.expire_access_tokens();
        errors.push(oauth.call_raw("echo.back", &params).await.unwrap_err());
        let new = oauth.oauth_tokens().unwrap();
        assert_ne!(new.access_token, access);
        let params = json!({ "a": new.access_token, "r": new.refresh_token });
        errors.push(oauth.call_raw("echo.back", &params).await.unwrap_err());
        // A transport error on a closed port.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let closed = Client::webhook(&format!("http://127.0.0.1:{port}/rest/1/{webhook_token}/"))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        errors.push(closed.call_raw("echo.back", &json!({})).await.unwrap_err());
        let all: Vec<&str> = secrets
            .iter()
            .copied()
            .chain([new.access_token.as_str(), new.refresh_token.as_str()])
            .collect();
        for e in &errors {
            assert_hidden(&e.to_string(), &all);
            assert_hidden(&format!("{e:?}"), &all);
        }
        assert!(errors[0].to_string().contains("***"), "{}", errors[0]);
        assert!(
            matches!(errors[4], Error::Transport { .. }),
            "{:?}",
            errors[4]
        );
        for line in counting.log.lock().unwrap().iter() {
            assert_hidden(line, &all);
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_calls_never_trip_the_bucket() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        let counting = Counting::new();
        let client = Client::webhook(&portal.webhook_url())
            .limits(limits())
            .transport(counting.clone())
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move { add(&client, &message(i)).await })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap().unwrap(), i as i64 * 10);
        }
        let stats = portal.stats();
        assert_eq!(stats.rate_rejections, 0);
        assert_eq!(stats.requests, 200);
        assert_eq!(counting.count.load(Ordering::SeqCst), 200);
        assert_eq!(calls(&portal), 200);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_limiter_the_fake_rejects_and_retries_recover() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        // A client that believes the bucket is huge and never retries: the fake refuses.
        let reckless = Client::webhook(&portal.webhook_url())
            .limits(Limits::custom(10_000.0, 10_000.0).with_method_rates(false))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let c = reckless.clone();
                tokio::spawn(async move { add(&c, &message(i)).await })
            })
            .collect();
        let mut refused = 0;
        for t in tasks {
            if let Err(e) = t.await.unwrap() {
                assert_eq!(e.kind(), ErrorKind::RateLimited, "{e:?}");
                assert!(e.is_retryable());
                refused += 1;
            }
        }
        assert!(refused > 0);
        assert_eq!(portal.stats().rate_rejections, refused);
        // The same client with retries: every call gets through in the end, once.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = calls(&portal);
        let patient = Client::webhook(&portal.webhook_url())
            .limits(Limits::custom(10_000.0, 10_000.0).with_method_rates(false))
            .retry(RetryPolicy::new(
                12,
                Duration::from_millis(50),
                Duration::from_millis(400),
            ))
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let c = patient.clone();
                tokio::spawn(async move { add(&c, &message(i)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(calls(&portal) - before, 30);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operating_budget_is_respected() {
    tokio::time::timeout(LIMIT, async {
        // Each call costs 0.1 s of server time; 1 s is allowed per 1 s window.
        let cfg = Config {
            operating_budget: 1.0,
            operating_window: Duration::from_secs(1),
            operating_cost: 0.1,
            ..config()
        };
        let portal = portal(cfg).await;
        let client = Client::webhook(&portal.webhook_url())
            .limits(limits().with_operating_budget(1.0))
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..4)
            .map(|t| {
                let c = client.clone();
                tokio::spawn(async move {
                    for i in 0..8 {
                        add(&c, &message(t * 100 + i)).await?;
                    }
                    Ok::<(), Error>(())
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(portal.stats().operating_rejections, 0);
        assert_eq!(calls(&portal), 32);
        // A client that ignores the budget and does not retry is refused.
        let reckless = Client::webhook(&portal.webhook_url())
            .limits(limits().with_operating_budget(1e9))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let mut refused = None;
        for i in 0..40 {
            if let Err(e) = add(&reckless, &message(i)).await {
                refused = Some(e);
                break;
            }
        }
        let e = refused.expect("the fake refuses once the budget is spent");
        assert_eq!(e.kind(), ErrorKind::OperatingTimeLimit, "{e:?}");
        assert!(portal.stats().operating_rejections > 0);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_is_lost_is_not_repeated() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        let client = webhook(&portal);
        portal.inject(Fault {
            method: Some(METHOD.into()),
            kind: FaultKind::Drop,
            every: 1,
            times: 1,
        });
        let err = add(&client, &message(1)).await.unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
        assert!(!err.is_retryable());
        assert_eq!(calls(&portal), 1, "the write ran once and was not repeated");
        // A slow answer past the client's timeout is lost the same way.
        let impatient = Client::webhook(&portal.webhook_url())
            .limits(limits())
            .timeouts(Duration::from_secs(5), Duration::from_millis(300))
            .build()
            .unwrap();
        portal.inject(Fault {
            method: Some(METHOD.into()),
            kind: FaultKind::Slow(Duration::from_secs(2)),
            every: 1,
            times: 1,
        });
        let err = add(&impatient, &message(2)).await.unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
        assert_eq!(calls(&portal), 2);
        // A cut-off answer, or a gateway's error page instead of the portal's answer: the
        // write may have run, and the error says so.
        for (kind, ran) in [(FaultKind::Malformed, 1), (FaultKind::Unavailable, 0)] {
            let before = calls(&portal);
            portal.inject(Fault {
                method: Some(METHOD.into()),
                kind: kind.clone(),
                every: 1,
                times: 1,
            });
            let err = add(&client, &message(3)).await.unwrap_err();
            assert!(
                matches!(err, Error::OutcomeUnknown { .. }),
                "{kind:?}: {err:?}"
            );
            assert!(err.to_string().contains("may or may not have run"), "{err}");
            assert_eq!(calls(&portal) - before, ran, "{kind:?}");
        }
        // A read whose answer is lost is simply asked again.
        portal.seed_list("crm.deal.list", bitrix24_fake_portal::deals(3));
        portal.inject(Fault {
            method: Some("crm.deal.list".into()),
            kind: FaultKind::Drop,
            every: 1,
            times: 1,
        });
        let env = client.call_raw("crm.deal.list", &json!({})).await.unwrap();
        assert_eq!(env.result.as_array().unwrap().len(), 3);
        assert_eq!(env.total, Some(3));
        assert_eq!(portal.stats().calls["crm.deal.list"], 2);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_results_keep_their_order_and_their_own_errors() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        let counting = Counting::new();
        let client = Client::webhook(&portal.webhook_url())
            .limits(limits())
            .transport(counting.clone())
            .build()
            .unwrap();
        // 120 calls: 3 requests (50, 50, 20); every 7th call fails with its own error.
        let chat = |i: i64| if i % 7 == 3 { -3 } else { i };
        let requests: Vec<AddRequest> = (0..120).map(|i| message(chat(i))).collect();
        let results = client.batch_of(&requests).await.unwrap();
        assert_eq!(results.len(), 120);
        for (i, r) in results.iter().enumerate() {
            let i = i as i64;
            match r {
                Ok(v) => {
                    assert_ne!(chat(i), -3);
                    assert_eq!(*v, i * 10, "call {i}");
                }
                Err(e) => {
                    assert_eq!(chat(i), -3, "call {i}: {e:?}");
                    assert!(e.api().unwrap().code.is("CHAT_NOT_IN_CRM"));
                    assert_eq!(e.api().unwrap().method, METHOD);
                }
            }
        }
        assert_eq!(counting.count.load(Ordering::SeqCst), 3);
        assert_eq!(portal.stats().requests, 3);
        assert_eq!(calls(&portal), 120);

        // Mixed types, and `halt`: the first failure stops the rest, later requests too.
        portal.seed_list("crm.deal.list", bitrix24_fake_portal::deals(2));
        let mut batch = Batch::new().halt(true);
        let list = batch.add_raw("crm.deal.list", &json!({})).unwrap();
        let mut keys = Vec::new();
        for i in 0..79 {
            keys.push(batch.add(&message(if i == 60 { -2 } else { i })).unwrap());
        }
        assert_eq!(batch.len(), 80);
        let sent = counting.count.load(Ordering::SeqCst);
        let mut out = client.batch(&batch).await.unwrap();
        assert_eq!(counting.count.load(Ordering::SeqCst) - sent, 2);
        assert_eq!(out.take(list).unwrap().as_array().unwrap().len(), 2);
        for (i, k) in keys.into_iter().enumerate() {
            let r = out.take(k);
            match i {
                0..60 => assert_eq!(r.unwrap(), i as i64 * 10),
                60 => assert_eq!(r.unwrap_err().kind(), ErrorKind::Argument),
                _ => assert!(matches!(r, Err(Error::NotRun { .. })), "call {i}: {r:?}"),
            }
        }
        // A key cannot be taken twice.
        assert!(out.take(list).is_err());
    })
    .await
    .unwrap();
}

#[test]
fn the_blocking_client_makes_the_same_calls() {
    // The fake portal runs on a runtime of its own; the blocking client has another.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let portal = server.block_on(portal(config()));
    portal.seed_list("crm.deal.list", bitrix24_fake_portal::deals(120));
    let client = bitrix24_runtime::blocking::Client::new(webhook(&portal)).unwrap();
    let r = client.call(&message(42)).unwrap();
    assert_eq!(r, 420);
    let err = client.call(&message(-3)).unwrap_err();
    assert!(err.api().unwrap().code.is("CHAT_NOT_IN_CRM"));
    let env = client
        .call_raw("crm.deal.list", &json!({ "start": 100 }))
        .unwrap();
    assert_eq!(env.result.as_array().unwrap().len(), 20);
    let mut batch = Batch::new();
    let k = batch.add(&message(7)).unwrap();
    assert_eq!(client.batch(&batch).unwrap().take(k).unwrap(), 70);
    assert_eq!(calls(&portal), 3);
    let deals = client.all_items(&DealList {}).unwrap();
    let ids: Vec<&str> = deals.iter().map(|d| d["ID"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=120).map(|i| i.to_string()).collect();
    assert_eq!(ids, expected);
    assert!(!format!("{client:?}").contains(&portal.config().webhook_token));
}

/// A list method written by hand (the spec corpus of this crate has none yet).
#[derive(serde::Serialize)]
struct DealList {}

impl bitrix24_runtime::Method for DealList {
    const NAME: &'static str = "crm.deal.list";
    const PAGINATION: bitrix24_runtime::Pagination = bitrix24_runtime::Pagination::Start;
    const RATE_LIMIT_PER_SEC: f64 = 2.0;
    type Response = Vec<serde_json::Map<String, Value>>;
}

/// A transport that plays back scripted answers (the last one repeats) and counts requests.
struct Script {
    answers: Mutex<Vec<Result<(u16, String), bitrix24_runtime::TransportErrorKind>>>,
    count: Arc<AtomicUsize>,
}

impl Script {
    fn new(
        answers: Vec<Result<(u16, &str), bitrix24_runtime::TransportErrorKind>>,
    ) -> (Script, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let answers = answers
            .into_iter()
            .rev()
            .map(|a| a.map(|(s, b)| (s, b.to_owned())))
            .collect();
        (
            Script {
                answers: Mutex::new(answers),
                count: count.clone(),
            },
            count,
        )
    }
}

impl Transport for Script {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.count.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        let next = if answers.len() > 1 {
            answers.pop().unwrap()
        } else {
            answers[0].clone()
        };
        Box::pin(async move {
            match next {
                Ok((status, body)) => Ok(HttpResponse::new(status, body.into_bytes())),
                Err(kind) => Err(TransportError {
                    kind,
                    message: "scripted failure".into(),
                }),
            }
        })
    }
}

fn scripted(script: Script, retries: u32) -> Client {
    Client::webhook("http://127.0.0.1:9/rest/1/scriptedtoken/")
        .limits(Limits::custom(1000.0, 1000.0).with_method_rates(false))
        .retry(RetryPolicy::new(
            retries,
            Duration::from_millis(1),
            Duration::from_millis(2),
        ))
        .transport(script)
        .build()
        .unwrap()
}

#[tokio::test]
async fn retries_are_bounded_and_only_where_safe() {
    use bitrix24_runtime::TransportErrorKind::{Connect, Timeout};
    tokio::time::timeout(LIMIT, async {
        let limit = r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#;
        let ok = r#"{"result":1,"time":{"start":1,"finish":1}}"#;
        // A portal that always refuses: 1 + 3 attempts, then the error.
        let (script, count) = Script::new(vec![Ok((503, limit))]);
        let err = add(&scripted(script, 3), &message(1)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(count.load(Ordering::SeqCst), 4);
        // A write that could not connect is sent again (it never ran)...
        let (script, count) = Script::new(vec![Err(Connect), Err(Connect), Ok((200, ok))]);
        assert_eq!(add(&scripted(script, 3), &message(1)).await.unwrap(), 1);
        assert_eq!(count.load(Ordering::SeqCst), 3);
        // ...a write that timed out is not.
        let (script, count) = Script::new(vec![Err(Timeout), Ok((200, ok))]);
        let err = add(&scripted(script, 3), &message(1)).await.unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // A read that timed out is.
        let (script, count) = Script::new(vec![Err(Timeout), Ok((200, r#"{"result":[]}"#))]);
        scripted(script, 3)
            .call_raw("crm.deal.list", &json!({}))
            .await
            .unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 2);
        // A method error is never repeated.
        let (script, count) = Script::new(vec![Ok((400, r#"{"error":"ERROR_ARGUMENT"}"#))]);
        let client = scripted(script, 3);
        assert!(client.call_raw("crm.deal.list", &json!({})).await.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_next_that_does_not_move_forward_ends_the_stream() {
    use futures_util::StreamExt;
    tokio::time::timeout(LIMIT, async {
        // The portal keeps answering `next: 0`: one page, then an error, then the end.
        let page = r#"{"result":[{"ID":"1"}],"next":0,"total":100}"#;
        let (script, count) = Script::new(vec![Ok((200, page))]);
        let client = scripted(script, 0);
        let pages: Vec<_> = client.pages(&DealList {}).collect().await;
        assert_eq!(pages.len(), 2);
        assert!(pages[0].is_ok());
        let err = pages[1].as_ref().unwrap_err();
        let Error::Decode(d) = err else {
            panic!("{err:?}")
        };
        assert_eq!(d.path, "next");
        // The page was asked for once; the bad `next` was not followed.
        assert_eq!(count.load(Ordering::SeqCst), 1);
    })
    .await
    .unwrap();
}

/// A token store shared by "processes": the tokens last stored, replaced only over the
/// refresh token they were issued from.
#[derive(Default)]
struct SharedStore(Mutex<Option<OAuthTokens>>);

impl bitrix24_runtime::TokenSync for SharedStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, bitrix24_runtime::SaveError>> {
        let t = self.0.lock().unwrap().clone();
        Box::pin(async move { Ok(t) })
    }
    fn rotate<'a>(
        &'a self,
        old_refresh: &'a str,
        new: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<bool, bitrix24_runtime::SaveError>> {
        let mut stored = self.0.lock().unwrap();
        let ok = stored
            .as_ref()
            .is_none_or(|t| t.refresh_token == old_refresh);
        if ok {
            *stored = Some(new.clone());
        }
        Box::pin(async move { Ok(ok) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_lost_to_another_process_reloads_its_tokens() {
    tokio::time::timeout(LIMIT, async {
        let portal = portal(config()).await;
        let (access, refresh) = portal.issue_tokens();
        let store = Arc::new(SharedStore::default());
        *store.0.lock().unwrap() = Some(OAuthTokens {
            access_token: access.clone(),
            refresh_token: refresh.clone(),
            expires: None,
        });
        portal.expire_access_tokens();
        // The other process refreshes first (the portal retires `refresh`) and is slow to
        // store what it got.
        let other = Client::oauth(oauth_config(&portal, access.clone(), refresh.clone()))
            .limits(limits())
            .build()
            .unwrap();
        add(&other, &message(1)).await.unwrap();
        let winner = other.oauth_tokens().unwrap();
        assert_ne!(winner.refresh_token, refresh);
        let late = store.clone();
        let saved = winner.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            *late.0.lock().unwrap() = Some(saved);
        });
        // This process still holds the old pair: its refresh is refused (`invalid_grant`),
        // and it waits for the winner's tokens instead of failing.
        let ours = Client::oauth(oauth_config(&portal, access, refresh))
            .limits(limits())
            .token_sync(store.clone())
            .build()
            .unwrap();
        assert_eq!(add(&ours, &message(2)).await.unwrap(), 20);
        assert_eq!(ours.oauth_tokens().unwrap(), winner);
        assert_eq!(
            portal.stats().refreshes,
            1,
            "only the winner's refresh succeeded"
        );
    })
    .await
    .unwrap();
}
