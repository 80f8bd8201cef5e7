//! The client's handling of limit refusals, through a scripted transport on tokio's paused
//! clock: every wait is virtual, so the figures are exact and the tests fast.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24_runtime::transport::{
    BoxFuture, HttpRequest, HttpResponse, Transport, TransportError,
};
use bitrix24_runtime::{Client, ErrorKind, Limits};
use tokio::time::Instant;

/// Plays back answers (the last one repeats) and records when each request was sent.
struct Script {
    answers: Mutex<Vec<(u16, String)>>,
    sent: Arc<Mutex<Vec<Instant>>>,
}

impl Transport for Script {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.sent.lock().unwrap().push(Instant::now());
        let mut answers = self.answers.lock().unwrap();
        let (status, body) = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        };
        Box::pin(async move { Ok(HttpResponse::new(status, body.into_bytes())) })
    }
}

fn client(answers: &[(u16, &str)]) -> (Client, Arc<Mutex<Vec<Instant>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let script = Script {
        answers: Mutex::new(answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect()),
        sent: sent.clone(),
    };
    let client = Client::webhook("http://127.0.0.1:9/rest/1/scriptedtoken/")
        .limits(Limits::standard())
        .transport(script)
        .build()
        .unwrap();
    (client, sent)
}

const BLOCKED: &str = r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#;
const OK: &str = r#"{"result":true,"time":{"start":1,"finish":1}}"#;
const HTML_429: &str =
    "<html><head><title>429 Too Many Requests</title></head><body>nginx</body></html>";

/// Defect 8: a method the portal keeps refusing for its server time does not hold one
/// call() for many minutes (it used to wait ten minutes before each of six repeats).
#[tokio::test(start_paused = true)]
async fn an_operation_time_limit_does_not_loop_one_call_for_many_minutes() {
    let (client, sent) = client(&[(429, BLOCKED)]);
    let t0 = Instant::now();
    let err = client
        .call_raw("crm.deal.add", &serde_json::json!({}))
        .await
        .unwrap_err();
    let took = Instant::now() - t0;
    assert_eq!(err.kind(), ErrorKind::OperatingTimeLimit, "{err:?}");
    assert!(took <= Duration::from_secs(120), "one call took {took:?}");
    assert!(
        sent.lock().unwrap().len() <= 2,
        "{} attempts",
        sent.lock().unwrap().len()
    );
}

/// Defect 8: an HTML 429 (a proxy's, not the portal's envelope) is a plain rate refusal:
/// a short pause and a repeat, not a ten-minute block of the method.
#[tokio::test(start_paused = true)]
async fn an_html_429_is_a_short_rate_refusal() {
    let (client, sent) = client(&[(429, HTML_429), (200, OK)]);
    let t0 = Instant::now();
    client
        .call_raw("crm.deal.get", &serde_json::json!({"id": 1}))
        .await
        .unwrap();
    let took = Instant::now() - t0;
    assert!(took <= Duration::from_secs(5), "the call took {took:?}");
    assert_eq!(sent.lock().unwrap().len(), 2);
}

#[test]
fn an_html_429_is_classed_as_a_rate_refusal() {
    let err = bitrix24_runtime::Error::Http {
        method: "crm.deal.get".into(),
        status: 429,
        excerpt: "<html>".into(),
    };
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.is_retryable());
}
