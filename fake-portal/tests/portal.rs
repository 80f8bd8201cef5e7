//! The fake portal's protocol, checked over HTTP: URL forms, OAuth in the query, batch
//! rules, `start=-1`, the `time` envelope, `/fake/stats`.

use std::time::Duration;

use bitrix24_fake_portal::{Config, FakePortal, deals};
use bitrix24_runtime::transport::{HttpMethod, HttpRequest, ReqwestTransport, Transport};
use bitrix24_runtime::{Client, ErrorKind, Limits, RetryPolicy};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

async fn get(url: &str) -> (u16, Value) {
    let answer = ReqwestTransport::new()
        .unwrap()
        .send(HttpRequest {
            method: HttpMethod::Get,
            url: url.to_owned(),
            body: Vec::new(),
        })
        .await
        .unwrap();
    (
        answer.status,
        serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
    )
}

fn client(portal: &FakePortal) -> Client {
    Client::webhook(&portal.webhook_url())
        .limits(Limits::custom(50.0, 200.0).with_headroom(20.0))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

async fn start() -> FakePortal {
    FakePortal::start(Config {
        burst: 50.0,
        per_second: 200.0,
        ..Config::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn oauth_in_the_query_and_php_style_parameters() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        portal.on("echo", |p| Ok(p.clone()));
        let (access, _) = portal.issue_tokens();
        let base = portal.base_url();
        let (status, body) = get(&format!(
            "{base}/rest/ECHO.json?auth={access}&fields[TITLE]=a+b&select[]=ID&select[]=NAME"
        ))
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["fields"]["TITLE"], "a b");
        assert_eq!(body["result"]["select"]["1"], "NAME");
        assert!(
            body["result"].get("auth").is_none(),
            "auth is not a parameter"
        );
        assert!(body["time"]["operating"].is_number());
        assert!(body["time"]["operating_reset_at"].is_number());
        // No auth, an unknown token, an expired one.
        let (status, body) = get(&format!("{base}/rest/echo")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("NO_AUTH_FOUND"))
        );
        let (status, body) = get(&format!("{base}/rest/echo?auth=nope")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_token"))
        );
        portal.expire_access_tokens();
        let (status, body) = get(&format!("{base}/rest/echo?auth={access}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("expired_token"))
        );
        // The counters, from another process's point of view.
        let (_, stats) = get(&format!("{base}/fake/stats")).await;
        assert_eq!(stats["requests"], 4);
        assert_eq!(stats["calls"]["echo"], 1);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn batch_rules() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        portal.seed_list("crm.deal.list", deals(120));
        let client = client(&portal);
        // References to earlier results; an unresolved one becomes empty.
        let answer = client
            .call_raw(
                "batch",
                &json!({ "halt": 0, "cmd": {
                    "first": "crm.deal.list?start=-1",
                    "next": "crm.deal.list?start=-1&filter[>ID]=$result[first][49][ID]",
                    "bad": "crm.deal.list?start=-1&filter[>ID]=$result[nothing][0][ID]",
                    "nested": "batch?cmd[a]=crm.deal.list",
                    "paged": "crm.deal.list?start=50",
                }}),
            )
            .await
            .unwrap();
        let r = &answer.result;
        assert_eq!(r["result"]["next"][0]["ID"], "51");
        assert_eq!(r["result"]["bad"][0]["ID"], "1");
        assert_eq!(
            r["result_error"]["nested"]["error"],
            "ERROR_BATCH_METHOD_NOT_ALLOWED"
        );
        assert_eq!(r["result_total"]["paged"], 120);
        assert_eq!(r["result_next"]["paged"], 100);
        // `start=-1` counts nothing and has no next.
        assert_eq!(r["result_total"]["first"], 0);
        assert!(r["result_next"].get("first").is_none());
        // halt: the first failure stops the rest; empty maps come as `[]`.
        let answer = client
            .call_raw(
                "batch",
                &json!({ "halt": 1, "cmd": ["no.such.method", "crm.deal.list"] }),
            )
            .await
            .unwrap();
        assert_eq!(answer.result["result"], json!([]));
        assert_eq!(
            answer.result["result_error"]["0"]["error"],
            "ERROR_METHOD_NOT_FOUND"
        );
        // More than 50 commands: the whole request is refused.
        let cmd: Vec<String> = (0..51).map(|_| "crm.deal.list".to_owned()).collect();
        let err = client
            .call_raw("batch", &json!({ "cmd": cmd }))
            .await
            .unwrap_err();
        assert!(err.api().unwrap().code.is("ERROR_BATCH_LENGTH_EXCEEDED"));
        assert_eq!(err.kind(), ErrorKind::Argument);
        // A batch is one request for the bucket, whatever it holds.
        assert_eq!(portal.stats().requests, 3);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn oauth_refresh_endpoint_rotates_the_refresh_token() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let (_, refresh) = portal.issue_tokens();
        let cfg = portal.config().clone();
        let url = |refresh: &str, secret: &str| {
            format!(
                "{}/oauth/token/?grant_type=refresh_token&client_id={}&client_secret={secret}&refresh_token={refresh}",
                portal.base_url(),
                cfg.client_id
            )
        };
        let (status, body) = get(&url(&refresh, "wrong")).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
        let (status, body) = get(&url(&refresh, &cfg.client_secret)).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["access_token"].is_string());
        assert_ne!(body["refresh_token"], refresh.as_str());
        assert_eq!(body["expires_in"], 3600);
        // The old refresh token is spent.
        let (status, body) = get(&url(&refresh, &cfg.client_secret)).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
        assert_eq!(portal.stats().refreshes, 1);
    })
    .await
    .unwrap();
}
