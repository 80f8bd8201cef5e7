//! The client against a canned HTTP server on 127.0.0.1: what it sends, how it reads
//! answers and errors, and that the webhook token never leaks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24_runtime::{Client, Error, Part, RetryPolicy};
use bitrix24_tests::api::imopenlines::crm::message::{AddRequest, AddRequestCrmEntityType, add};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "s3cr3tw3bh00kt0k3n";
const LIMIT: Duration = Duration::from_secs(20);

/// A client that never repeats a request, so each test sees the first answer.
fn once(url: &str) -> Client {
    Client::webhook(url)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: String,
}

/// Reads one HTTP/1.1 request (head and `content-length` body).
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Bounded: requests in these tests are small.
    while buf.len() < 1 << 20 {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                if k.eq_ignore_ascii_case("content-length") {
                    v.trim().parse::<usize>().ok()
                } else {
                    None
                }
            })
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
            return Some(Seen { head, body });
        }
    }
    None
}

/// A server that answers every request with `status` and `body`, and records the requests.
/// Returns the webhook URL and the log.
async fn serve(status: u16, body: &str) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let body = body.to_owned();
    tokio::spawn(async move {
        // Bounded: each test makes a handful of requests.
        for _ in 0..16 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let Some(request) = read_request(&mut sock).await else {
                continue;
            };
            log.lock().unwrap().push(request);
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(answer.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}/rest/7/{TOKEN}/"), seen)
}

fn request() -> AddRequest {
    AddRequest::new(AddRequestCrmEntityType::Deal, 288, 1, 8773, "hello")
}

fn assert_no_token(text: &str) {
    assert!(!text.contains(TOKEN), "token leaked into: {text}");
}

#[tokio::test]
async fn sends_the_method_as_json_and_decodes_the_result() {
    tokio::time::timeout(LIMIT, async {
        let (url, seen) = serve(
            200,
            r#"{"result":"17","time":{"start":"1700000000.5","finish":1700000000.7,"duration":0.2,"operating":"0.01","date_start":"2024-10-11T10:00:00+03:00"}}"#,
        )
        .await;
        let client = once(&url);
        let result = add(&client, &request()).await.unwrap();
        assert_eq!(result, 17);

        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let first_line = seen[0].head.lines().next().unwrap();
        assert_eq!(
            first_line,
            format!("POST /rest/7/{TOKEN}/imopenlines.crm.message.add.json HTTP/1.1")
        );
        assert!(
            seen[0]
                .head
                .to_ascii_lowercase()
                .contains("content-type: application/json")
        );
        // Numbers as text, fields in declaration order (`runtime::wire`).
        assert_eq!(
            seen[0].body,
            r#"{"CRM_ENTITY_TYPE":"deal","CRM_ENTITY":"288","USER_ID":"1","CHAT_ID":"8773","MESSAGE":"hello"}"#
        );
        let sent: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({
                "CRM_ENTITY_TYPE": "deal",
                "CRM_ENTITY": "288",
                "USER_ID": "1",
                "CHAT_ID": "8773",
                "MESSAGE": "hello"
            })
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn envelope_fields_are_read_loosely() {
    tokio::time::timeout(LIMIT, async {
        let (url, _) = serve(
            200,
            r#"{"result":[1,2],"next":"50","total":"120","time":{"start":"1.5","operating":"0.25"}}"#,
        )
        .await;
        let client = once(&url);
        let env = client
            .call_raw("crm.deal.list", &serde_json::json!({"start": 0}))
            .await
            .unwrap();
        assert_eq!(env.result, serde_json::json!([1, 2]));
        assert_eq!(env.next, Some(50));
        assert_eq!(env.total, Some(120));
        let time = env.time.unwrap();
        assert_eq!(time.start, Some(1.5));
        assert_eq!(time.operating, Some(0.25));
        assert_eq!(time.finish, None);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn error_answers_become_typed_api_errors() {
    tokio::time::timeout(LIMIT, async {
        let (url, _) = serve(
            400,
            r#"{"error":"ERROR_ARGUMENT","error_description":"Argument 'CHAT_ID' is null or empty"}"#,
        )
        .await;
        let client = once(&url);
        let err = add(&client, &request()).await.unwrap_err();
        let api = err.api().expect("an API error");
        assert!(api.code.is("error_argument"), "case-insensitive match");
        assert!(!api.code.is("ERROR_CORE"));
        assert_eq!(api.status, 400);
        assert_eq!(api.method, "imopenlines.crm.message.add");
        assert_eq!(api.description, "Argument 'CHAT_ID' is null or empty");
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(text.contains("imopenlines.crm.message.add"), "{text}");
        assert!(text.contains("ERROR_ARGUMENT"), "{text}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn numeric_and_limit_error_codes() {
    tokio::time::timeout(LIMIT, async {
        let (url, _) = serve(
            503,
            r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        )
        .await;
        let client = once(&url);
        let err = client
            .call_raw("user.current", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.api().unwrap().status, 503);

        let (url, _) = serve(500, r#"{"error":42}"#).await;
        let client = once(&url);
        let err = client
            .call_raw("user.current", &serde_json::json!({}))
            .await
            .unwrap_err();
        let api = err.api().unwrap();
        assert!(api.code.is("42"));
        assert_eq!(api.description, "");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_result_that_does_not_fit_names_the_method_and_path() {
    tokio::time::timeout(LIMIT, async {
        // The method's result is an integer (the new message's id); a list cannot be one.
        let (url, _) = serve(200, r#"{"result":[1]}"#).await;
        let client = once(&url);
        let err = add(&client, &request()).await.unwrap_err();
        let Error::Decode(d) = &err else {
            panic!("expected a decode error, got {err:?}")
        };
        assert_eq!(d.method, "imopenlines.crm.message.add");
        assert_eq!(d.part, Part::Result);
        assert_eq!(d.path, "result");
        assert_eq!(d.excerpt, "[1]");
        // Nor can a number that is not whole.
        let (url, _) = serve(200, r#"{"result":"12abc"}"#).await;
        let client = once(&url);
        let err = add(&client, &request()).await.unwrap_err();
        assert!(
            matches!(&err, Error::Decode(d) if d.path == "result"),
            "{err:?}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_non_envelope_answer_is_an_http_error_without_the_token() {
    tokio::time::timeout(LIMIT, async {
        let page = format!("<html>502 Bad Gateway for /rest/7/{TOKEN}/x.json</html>");
        let (url, _) = serve(502, &page).await;
        let client = once(&url);
        let err = client
            .call_raw("user.current", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Http { status: 502, .. }), "{err:?}");
        assert!(err.is_retryable());
        assert_no_token(&err.to_string());
        assert_no_token(&format!("{err:?}"));
        assert!(err.to_string().contains("***"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn transport_errors_do_not_show_the_token() {
    tokio::time::timeout(LIMIT, async {
        // Bind then drop, so the port is (very likely) closed.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().port()
        };
        let client = once(&format!("http://127.0.0.1:{port}/rest/7/{TOKEN}/"));
        let err = add(&client, &request()).await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        assert!(err.is_retryable());
        assert_no_token(&err.to_string());
        assert_no_token(&format!("{err:?}"));
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            assert_no_token(&s.to_string());
            source = s.source();
        }
    })
    .await
    .unwrap();
}

#[test]
fn client_debug_hides_the_token() {
    let client =
        Client::from_webhook(&format!("https://example.bitrix24.eu/rest/7/{TOKEN}/")).unwrap();
    let text = format!("{client:?}");
    assert_no_token(&text);
    assert!(text.contains("https://example.bitrix24.eu"), "{text}");
}

#[test]
fn malformed_webhook_urls_are_rejected_without_echoing_them() {
    for url in [
        "",
        "not a url",
        "ftp://example.bitrix24.eu/rest/7/s3cr3tw3bh00kt0k3n/",
        "https://example.bitrix24.eu/7/s3cr3tw3bh00kt0k3n/",
        "https://example.bitrix24.eu/rest/x/s3cr3tw3bh00kt0k3n/",
        "https://example.bitrix24.eu/rest/7/",
        "https://example.bitrix24.eu/rest/7/s3cr3tw3bh00kt0k3n/extra/",
        "https://example.bitrix24.eu/rest/7/s3cr3tw3bh00kt0k3n/?a=1",
    ] {
        let err = Client::from_webhook(url).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{url}: {err:?}");
        assert_no_token(&err.to_string());
    }
    // A missing trailing slash is fine.
    assert!(Client::from_webhook(&format!("https://example.bitrix24.eu/rest/7/{TOKEN}")).is_ok());
}

#[tokio::test]
async fn method_names_are_checked_before_anything_is_sent() {
    let client = Client::from_webhook(&format!("http://127.0.0.1:9/rest/7/{TOKEN}/")).unwrap();
    for bad in ["", "crm..deal", "../admin", "crm.deal.list?x=1", "crm deal"] {
        let err = client
            .call_raw(bad, &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{bad:?}: {err:?}");
    }
}
