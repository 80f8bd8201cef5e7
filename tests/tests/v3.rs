//! REST 3.0 against the fake portal: the `/rest/api/…` URLs, the `Idempotency-Key` on writes
//! (a lost answer retried with the same key, run once), 422 for a reused key, typed
//! validation errors, reads, `pagination` walks, and classic calls left as they were.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24_fake_portal::{Config, FakePortal, Fault, FaultKind, V3Error};
use bitrix24_runtime::transport::{
    BoxFuture, HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError,
};
use bitrix24_runtime::{
    ApiVersion, Client, Error, ErrorKind, IDEMPOTENCY_KEY, Method, OAuthConfig, OAuthTokens,
    RetryPolicy,
};
use bitrix24_tests::api::tasks::task;
use futures_util::StreamExt;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(30);

/// One request as sent: URL, headers, body.
type Sent = (String, Vec<(String, String)>, Vec<u8>);

/// Sends through reqwest and records each request's URL and headers.
#[derive(Clone)]
struct Recorder {
    inner: ReqwestTransport,
    seen: Arc<Mutex<Vec<Sent>>>,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            inner: ReqwestTransport::new().unwrap(),
            seen: Arc::default(),
        }
    }
    fn seen(&self) -> Vec<Sent> {
        self.seen.lock().unwrap().clone()
    }
    /// The `Idempotency-Key` of each request so far (`None` where there was none).
    fn keys(&self) -> Vec<Option<String>> {
        self.seen()
            .iter()
            .map(|(_, h, _)| {
                h.iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(IDEMPOTENCY_KEY))
                    .map(|(_, v)| v.clone())
            })
            .collect()
    }
}

impl Transport for Recorder {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.seen.lock().unwrap().push((
            request.url.clone(),
            request.headers.clone(),
            request.body.clone(),
        ));
        self.inner.send(request)
    }
}

fn retrying() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_millis(10), Duration::from_millis(50))
}

async fn portal() -> FakePortal {
    FakePortal::start(Config::default()).await.unwrap()
}

fn client(portal: &FakePortal, rec: &Recorder, retry: RetryPolicy) -> Client {
    Client::webhook(&portal.webhook_url())
        .transport(rec.clone())
        .retry(retry)
        .build()
        .unwrap()
}

/// `tasks.task.add` on the portal: counts runs, answers `{item: {id, title}}`.
fn task_add(portal: &FakePortal) -> Arc<AtomicU64> {
    let runs = Arc::new(AtomicU64::new(0));
    let r = runs.clone();
    portal.on_v3("tasks.task.add", move |p| {
        let n = r.fetch_add(1, Ordering::SeqCst) + 1;
        let title = p["fields"]["title"].clone();
        Ok(json!({ "item": { "id": 100 + n, "title": title } }))
    });
    runs
}

fn add_request(title: &str) -> task::AddRequest {
    serde_json::from_value(json!({
        "fields": {"title": title, "creatorId": 1, "responsibleId": 1}
    }))
    .unwrap()
}

#[test]
fn generated_v3_types_carry_the_marker() {
    assert_eq!(<task::AddRequest as Method>::API, ApiVersion::V3);
    assert_eq!(<task::GetRequest as Method>::API, ApiVersion::V3);
    assert_eq!(<task::ListV3Request as Method>::API, ApiVersion::V3);
    // The classic twin of `tasks.task.list` keeps the classic API and its plain name.
    assert_eq!(<task::ListRequest as Method>::API, ApiVersion::Classic);
    let methods = bitrix24_tests::api::registry::METHODS;
    let v3 = bitrix24_runtime::find_api(methods, "tasks.task.list", ApiVersion::V3).unwrap();
    let classic =
        bitrix24_runtime::find_api(methods, "TASKS.TASK.LIST", ApiVersion::Classic).unwrap();
    assert_eq!((v3.scope, classic.scope), ("tasks", "task"));
    // `find` by name gives the classic one.
    let found = bitrix24_tests::api::registry::find("tasks.task.list").unwrap();
    assert_eq!(found.api, ApiVersion::Classic);
}

#[tokio::test]
async fn a_lost_write_answer_is_retried_with_the_same_key_and_runs_once() {
    let portal = portal().await;
    let runs = task_add(&portal);
    // The portal runs the first request, then drops the connection without an answer.
    portal.inject(Fault {
        method: Some("tasks.task.add".into()),
        kind: FaultKind::Drop,
        every: 1,
        times: 1,
    });
    let rec = Recorder::new();
    let c = client(&portal, &rec, retrying());
    let env = tokio::time::timeout(LIMIT, c.call_envelope(&add_request("Report")))
        .await
        .unwrap()
        .expect("retried with its key instead of OutcomeUnknown");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the write ran exactly once");
    assert!(env.replayed, "the second answer is the stored one");
    assert_eq!(portal.v3_replays(), 1);
    let item = env.result.item.expect("item");
    assert_eq!(item.id, Some(101));
    assert_eq!(item.title.as_deref(), Some("Report"));
    let keys = rec.keys();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys[0].is_some(), "a write carries a key");
    assert_eq!(keys[0], keys[1], "the retry reuses the call's key");
    // At the REST 3.0 address, not the classic one.
    let (url, _, body) = &rec.seen()[0];
    let want = format!(
        "{}/rest/api/{}/{}/tasks.task.add",
        portal.base_url(),
        portal.config().webhook_user,
        portal.config().webhook_token
    );
    assert_eq!(url, &want);
    assert_eq!(
        serde_json::from_slice::<Value>(body).unwrap(),
        json!({"fields": {"title": "Report", "creatorId": 1, "responsibleId": 1}})
    );

    // The next logical call gets a fresh key and runs.
    let again = c.call_envelope(&add_request("Report")).await.unwrap();
    assert!(!again.replayed);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let keys = rec.keys();
    assert_ne!(keys[2], keys[0], "a new call, a new key");
}

#[tokio::test]
async fn a_lost_write_answer_without_retries_is_outcome_unknown_naming_the_key() {
    let portal = portal().await;
    let runs = task_add(&portal);
    portal.inject(Fault {
        method: Some("tasks.task.add".into()),
        kind: FaultKind::Drop,
        every: 1,
        times: 1,
    });
    let rec = Recorder::new();
    let c = client(&portal, &rec, RetryPolicy::none());
    let err = c.call(&add_request("X")).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    let key = rec.keys()[0].clone().unwrap();
    assert!(err.to_string().contains(&key), "{err}");
    assert!(!err.to_string().contains(&portal.config().webhook_token));
    // Repeating it by hand with that key does not run it again.
    let env = c.call_v3_keyed(&add_request("X"), &key).await.unwrap();
    assert!(env.replayed);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_a_typed_422() {
    let portal = portal().await;
    let runs = task_add(&portal);
    let rec = Recorder::new();
    let c = client(&portal, &rec, retrying());
    let first = c
        .call_v3_keyed(&add_request("A"), "order-42")
        .await
        .unwrap();
    assert!(!first.replayed);
    let same = c
        .call_v3_keyed(&add_request("A"), "order-42")
        .await
        .unwrap();
    assert!(same.replayed);
    assert_eq!(same.result, first.result);
    let err = c
        .call_v3_keyed(&add_request("B"), "order-42")
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 422);
    assert!(
        api.code
            .is("BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION")
    );
    assert_eq!(err.kind(), ErrorKind::Argument);
    assert!(!err.is_retryable());
    assert_eq!(api.method, "tasks.task.add");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // A bad key never leaves the client.
    let sent = rec.seen().len();
    let err = c.call_v3_keyed(&add_request("A"), "").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = c
        .call_v3_keyed(&add_request("A"), "ключ")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(rec.seen().len(), sent);
}

#[tokio::test]
async fn validation_errors_are_typed_with_their_field() {
    let portal = portal().await;
    // Required fields from the fixture specs (`api: v3` ones register for REST 3.0).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs");
    portal.load_specs(&dir).unwrap();
    let rec = Recorder::new();
    let c = client(&portal, &rec, retrying());
    let err = c
        .call_v3_raw("tasks.task.get", &json!({"select": ["id"]}))
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 400);
    assert!(
        api.code
            .is("BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION")
    );
    assert_eq!(api.validation.len(), 1, "{api:?}");
    assert_eq!(api.validation[0].field, "id");
    assert!(api.validation[0].message.contains("id"));
    assert_eq!(err.kind(), ErrorKind::Argument);
    assert!(!err.is_retryable());
    assert_eq!(rec.seen().len(), 1, "an argument error is not repeated");
    let text = err.to_string();
    assert!(
        text.contains("tasks.task.get") && text.contains("`id`"),
        "{text}"
    );
    assert!(!text.contains(&portal.config().webhook_token));
    assert!(!format!("{err:?}").contains(&portal.config().webhook_token));

    // A handler's own validation errors, several fields.
    portal.on_v3("tasks.task.add", |_| {
        Err(V3Error::validation(&[
            ("fields.title", "Поле `title` не может быть пустым"),
            ("fields.responsibleId", "Пользователь не найден"),
        ]))
    });
    let err = c.call(&add_request("")).await.unwrap_err();
    let fields: Vec<&str> = err
        .api()
        .unwrap()
        .validation
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, ["fields.title", "fields.responsibleId"]);
    // A refused write is an answer, not a lost one: not repeated, not OutcomeUnknown.
    assert_eq!(err.kind(), ErrorKind::Argument);
}

#[tokio::test]
async fn a_v3_read_is_typed_and_sent_without_a_key() {
    let portal = portal().await;
    portal.on_v3("tasks.task.get", |p| {
        if p["id"] != json!(3835) {
            return Err(V3Error::new(
                400,
                "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION",
                "Запись не найдена",
            ));
        }
        Ok(json!({"item": {"id": "3835", "title": "задача", "responsible": {"name": "Имя", "email": "mail@bitrix.ru"}}}))
    });
    let rec = Recorder::new();
    let c = client(&portal, &rec, retrying());
    let req: task::GetRequest =
        serde_json::from_value(json!({"id": 3835, "select": ["responsible.name"]})).unwrap();
    let got = task::get(&c, &req).await.unwrap();
    let item = got.item.unwrap();
    assert_eq!(item.id, Some(3835), "loose wire value decoded");
    assert_eq!(item.responsible.unwrap().name.as_deref(), Some("Имя"));
    assert_eq!(rec.keys(), [None], "reads carry no key");
    assert!(rec.seen()[0].0.contains("/rest/api/"));

    let req: task::GetRequest = serde_json::from_value(json!({"id": 2})).unwrap();
    let err = task::get(&c, &req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.api().unwrap().description,
        "Запись не найдена",
        "the v3 message"
    );
}

#[tokio::test]
async fn a_v3_read_over_oauth_puts_the_token_in_the_body() {
    let portal = portal().await;
    portal.on_v3("tasks.task.get", |_| Ok(json!({"item": {"id": 1}})));
    let (access, refresh) = portal.issue_tokens();
    let rec = Recorder::new();
    let c = Client::oauth(OAuthConfig {
        client_endpoint: portal.client_endpoint(),
        server_endpoint: portal.server_endpoint(),
        client_id: portal.config().client_id.clone(),
        client_secret: portal.config().client_secret.clone(),
        tokens: OAuthTokens {
            access_token: access.clone(),
            refresh_token: refresh,
            expires: None,
        },
        on_refresh: None,
    })
    .transport(rec.clone())
    .build()
    .unwrap();
    let req: task::GetRequest = serde_json::from_value(json!({"id": 1})).unwrap();
    task::get(&c, &req).await.unwrap();
    let (url, _, body) = &rec.seen()[0];
    assert_eq!(
        url,
        &format!("{}/rest/api/tasks.task.get", portal.base_url())
    );
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body, json!({"id": 1, "auth": access}));

    // An expired token is refreshed once, as for classic calls.
    portal.expire_access_tokens();
    task::get(&c, &req).await.unwrap();
    assert_eq!(portal.stats().refreshes, 1);
}

#[tokio::test]
async fn v3_pages_walk_pagination_until_a_short_page() {
    let portal = portal().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    portal.on_v3("tasks.task.list", move |p| {
        s.lock()
            .unwrap()
            .push(json!([p["pagination"].clone(), p["filter"].clone()]));
        let page = p["pagination"]["page"].as_u64().unwrap_or(1);
        let limit = p["pagination"]["limit"].as_u64().unwrap_or(50);
        let items: Vec<Value> = (1..=7u64)
            .skip(((page - 1) * limit) as usize)
            .take(limit as usize)
            .map(|id| json!({"id": id}))
            .collect();
        Ok(json!({ "items": items }))
    });
    let rec = Recorder::new();
    let c = client(&portal, &rec, retrying());
    let filter = bitrix24_runtime::v3::Filter::new()
        .with("id", bitrix24_runtime::v3::FilterOp::Gt, 0)
        .or(bitrix24_runtime::v3::Filter::new()
            .with("status", bitrix24_runtime::v3::FilterOp::Eq, "NEW")
            .with("id", bitrix24_runtime::v3::FilterOp::Between, [1, 9]));
    let req: task::ListV3Request = serde_json::from_value(json!({
        "select": ["id"],
        "filter": filter.into_value(),
        "pagination": {"offset": 5}
    }))
    .unwrap();
    let pages: Vec<_> = c.v3_pages(&req, 3).collect().await;
    let ids: Vec<u64> = pages
        .iter()
        .flat_map(|p| p.as_ref().unwrap().result.items.clone().unwrap_or_default())
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        *seen.lock().unwrap(),
        (1..=3)
            .map(|page| json!([
                {"page": page, "limit": 3},
                [["id", ">", 0], {"logic": "or", "conditions": [["status", "=", "NEW"], ["id", "between", [1, 9]]]}]
            ]))
            .collect::<Vec<_>>()
    );

    // A portal that ignores `pagination` would loop for ever: the walk stops with an error.
    portal.on_v3("tasks.task.list", |_| {
        Ok(json!({"items": [{"id": 1}, {"id": 2}, {"id": 3}]}))
    });
    let pages: Vec<_> = c.v3_pages(&req, 3).collect().await;
    assert_eq!(pages.len(), 2);
    let err = pages[1].as_ref().unwrap_err();
    assert!(err.to_string().contains("tasks.task.list"), "{err}");

    // An answer without `result.items` is a clear error naming the method.
    portal.on_v3("tasks.task.list", |_| Ok(json!({"item": {}})));
    let pages: Vec<_> = c.v3_pages(&req, 3).collect().await;
    let err = pages[0].as_ref().unwrap_err();
    assert!(
        err.to_string().contains("tasks.task.list") && err.to_string().contains("result.items"),
        "{err}"
    );
    // The classic pager refuses a REST 3.0 method instead of calling the wrong endpoint.
    let classic: Vec<_> = c.pages(&req).collect().await;
    assert_eq!(classic[0].as_ref().unwrap_err().kind(), ErrorKind::Config);
}

#[tokio::test]
async fn classic_methods_are_unaffected() {
    let portal = portal().await;
    portal.on("tasks.task.list", |_| Ok(json!({"tasks": []})));
    task_add(&portal);
    let rec = Recorder::new();
    let c = client(&portal, &rec, retrying());
    let req: task::ListRequest = serde_json::from_value(json!({})).unwrap();
    task::list(&c, &req).await.unwrap();
    let (url, headers, _) = &rec.seen()[0];
    assert!(
        url.ends_with(&format!(
            "/rest/{}/{}/tasks.task.list.json",
            portal.config().webhook_user,
            portal.config().webhook_token
        )),
        "classic address"
    );
    assert!(headers.is_empty(), "no Idempotency-Key on classic calls");
    // A method that exists only in REST 3.0, called at the classic address, is not found.
    let err = c.call_raw("tasks.task.add", &json!({})).await.unwrap_err();
    assert!(err.api().unwrap().code.is("ERROR_METHOD_NOT_FOUND"));
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // A classic write whose answer is lost is still OutcomeUnknown, and not repeated.
    portal.on("tasks.task.update", |_| Ok(json!(true)));
    portal.inject(Fault {
        method: Some("tasks.task.update".into()),
        kind: FaultKind::Drop,
        every: 1,
        times: 1,
    });
    let before = rec.seen().len();
    let err = c
        .call_raw("tasks.task.update", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(rec.seen().len(), before + 1);
    // And a REST 3.0 method cannot go into a classic batch.
    let mut batch = bitrix24_runtime::Batch::new();
    assert_eq!(
        batch.add(&add_request("x")).unwrap_err().kind(),
        ErrorKind::Config
    );
}

/// Answers every request with the same canned status and body.
struct Canned(u16, &'static str);

impl Transport for Canned {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let (status, body) = (self.0, self.1);
        Box::pin(async move { Ok(HttpResponse::new(status, body.as_bytes().to_vec())) })
    }
}

#[tokio::test]
async fn broken_v3_answers_are_clear_errors_naming_the_method() {
    let cases: &[(u16, &str)] = &[
        (400, r#"{"error": {}}"#),
        (
            400,
            r#"{"error": {"code": 7, "message": {"x": 1}, "validation": "nope"}}"#,
        ),
        (
            400,
            r#"{"error": {"code": "X", "validation": [1, null, {"field": null}, {"field": 5, "message": []}]}}"#,
        ),
        (
            400,
            r#"{"error": "ERROR_CORE", "error_description": "classic shape"}"#,
        ),
        // The portal echoing the webhook code: scrubbed from message and validation.
        (
            400,
            r#"{"error": {"code": "X", "message": "bad s3cr3t-c0de", "validation": [{"field": "s3cr3t-c0de", "message": "is s3cr3t-c0de"}]}}"#,
        ),
        (200, r#"{"result": {"item": {"id": "#),
        (200, r#"[1, 2]"#),
        (200, r#"{"time": {}}"#),
        (502, "<html>bad gateway</html>"),
        (200, r#"{"result": {"item": {"id": "not a number"}}}"#),
    ];
    let url = "https://portal.example/rest/1/s3cr3t-c0de/";
    for (status, body) in cases {
        let c = Client::webhook(url)
            .transport(Canned(*status, body))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let req: task::GetRequest = serde_json::from_value(json!({"id": 1})).unwrap();
        let err = task::get(&c, &req).await.unwrap_err();
        assert_eq!(err.method(), Some("tasks.task.get"), "{body}: {err:?}");
        assert!(err.to_string().contains("tasks.task.get"), "{body}: {err}");
        assert!(!format!("{err:?}{err}").contains("s3cr3t-c0de"), "{body}");
    }
    // Hundreds of validation entries are capped.
    let many = format!(
        r#"{{"error": {{"code": "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION", "validation": [{}]}}}}"#,
        vec![r#"{"field": "f", "message": "m"}"#; 500].join(",")
    );
    let c = Client::webhook(url)
        .transport(Canned(400, Box::leak(many.into_boxed_str())))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = c
        .call_v3_raw("tasks.task.get", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().validation.len(), 100);
}

#[tokio::test]
async fn v3_cursor_pages_follow_the_cursor_while_has_more() {
    let portal = portal().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    // `call.followup.list` style: `hasMore` and `afterCursor`; ids 1..=5, two per page.
    portal.on_v3("tasks.task.list", move |p| {
        s.lock().unwrap().push(p["pagination"].clone());
        let after = p["pagination"]["afterCursor"]["id"].as_u64().unwrap_or(0);
        let items: Vec<Value> = (after + 1..=5)
            .take(2)
            .map(|id| json!({"id": id}))
            .collect();
        let last = items.last().and_then(|i| i["id"].as_u64()).unwrap_or(after);
        Ok(json!({"items": items, "hasMore": last < 5, "afterCursor": {"id": last}}))
    });
    let rec = Recorder::new();
    let c = client(&portal, &rec, retrying());
    let req: task::ListV3Request =
        serde_json::from_value(json!({"pagination": {"limit": 2}})).unwrap();
    let pages: Vec<_> = c.v3_cursor_pages(&req).collect().await;
    let ids: Vec<u64> = pages
        .iter()
        .flat_map(|p| p.as_ref().unwrap().result.items.clone().unwrap_or_default())
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            json!({"limit": 2}),
            json!({"limit": 2, "afterCursor": {"id": 2}}),
            json!({"limit": 2, "afterCursor": {"id": 4}})
        ]
    );
    // `note.collection.list` style: `nextCursor`, `null` at the end.
    portal.on_v3("tasks.task.list", |p| {
        Ok(if p["pagination"]["afterCursor"].is_null() {
            json!({"items": [{"id": 1}], "nextCursor": {"id": 1}})
        } else {
            json!({"items": [{"id": 2}], "nextCursor": null})
        })
    });
    let pages: Vec<_> = c.v3_cursor_pages(&req).collect().await;
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(Result::is_ok));
    // A cursor that does not move forward ends the walk with an error.
    portal.on_v3("tasks.task.list", |_| {
        Ok(json!({"items": [{"id": 1}], "hasMore": true, "afterCursor": {"id": 1}}))
    });
    let pages: Vec<_> = c.v3_cursor_pages(&req).collect().await;
    assert_eq!(pages.len(), 2, "one page, then the error");
    let err = pages[1].as_ref().unwrap_err();
    assert!(err.to_string().contains("tasks.task.list"), "{err}");
}

#[test]
fn the_blocking_client_calls_v3_too() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let portal = rt.block_on(portal());
    let runs = task_add(&portal);
    let c = bitrix24_runtime::blocking::Client::new(
        Client::webhook(&portal.webhook_url()).build().unwrap(),
    )
    .unwrap();
    let first = c.call_v3_keyed(&add_request("B"), "blocking-1").unwrap();
    let again = c.call_v3_keyed(&add_request("B"), "blocking-1").unwrap();
    assert!(!first.replayed && again.replayed);
    let raw = c.call_v3_raw("tasks.task.add", &json!({"fields": {"title": "C"}}));
    assert_eq!(raw.unwrap().result["item"]["title"], "C");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    drop(portal);
}

#[tokio::test]
async fn a_v3_call_follows_a_portal_that_moved() {
    let old = portal().await;
    let new = portal().await;
    new.on_v3("tasks.task.get", |p| {
        Ok(json!({"item": {"id": p["id"].clone(), "title": "moved"}}))
    });
    old.moved_to(Some(&new.base_url()));
    let rec = Recorder::new();
    let c = client(&old, &rec, RetryPolicy::none());
    let req: task::GetRequest = serde_json::from_value(json!({"id": 7})).unwrap();
    let got = task::get(&c, &req).await.unwrap();
    let item = got.item.unwrap();
    assert_eq!(item.id, Some(7), "the body reached the new address");
    assert_eq!(item.title.as_deref(), Some("moved"));
    let seen = rec.seen();
    assert_eq!(seen.len(), 2, "the first address, then the new one");
    assert!(seen[1].0.starts_with(&new.base_url()), "{:?}", seen[1].0);
    assert!(seen[1].0.contains("/rest/api/"), "{:?}", seen[1].0);
    // The client remembers the move: the next call goes to the new address at once.
    let _ = task::get(&c, &req).await.unwrap();
    assert_eq!(rec.seen().len(), 3);
    assert!(rec.seen()[2].0.starts_with(&new.base_url()));
}
