//! HTTP: the accept loop, routing (`/oauth/token/`, `/fake/stats`, webhook and OAuth REST
//! URLs), parameters from the query and the body, the envelope with `time`, and what an
//! injected fault does to the answer.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Map, Value, json};

use crate::faults::{self, Chosen};
use crate::{FakeError, FaultKind, Portal, php, unix_now};

/// Serves `listener` until the returned task is aborted.
pub(crate) fn spawn(
    listener: tokio::net::TcpListener,
    served: Arc<Portal>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Runs until the portal is dropped (the task is aborted).
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let portal = served.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let portal = portal.clone();
                    async move { portal.serve(req).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

pub(crate) type Body = Full<Bytes>;

fn answer(status: u16, body: Vec<u8>, content_type: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn json_answer(status: u16, value: &Value) -> Response<Body> {
    answer(
        status,
        serde_json::to_vec(value).unwrap_or_default(),
        "application/json; charset=utf-8",
    )
}

fn error_answer(e: &FakeError) -> Response<Body> {
    json_answer(
        e.status,
        &json!({ "error": e.code, "error_description": e.description }),
    )
}

impl Portal {
    async fn serve(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, std::io::Error> {
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        if let Some(moved) = self.moved_answer(&path, &query) {
            return Ok(moved);
        }
        let host = req
            .headers()
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned();
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let idempotency_key = req
            .headers()
            .get("idempotency-key")
            .map(|v| v.as_bytes().to_vec());
        let body = match Limited::new(req.into_body(), 64 << 20).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return Ok(answer(400, b"body too large".to_vec(), "text/plain")),
        };
        if path.trim_end_matches('/') == "/oauth/token" {
            return Ok(match self.token(&query, &host) {
                Ok(v) => json_answer(200, &v),
                Err(e) => error_answer(&e),
            });
        }
        if path.trim_end_matches('/') == "/fake/stats" {
            let st = self.lock().stats.clone();
            return Ok(json_answer(200, &st.to_json()));
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if let ["rest", "api", rest @ ..] = segments.as_slice() {
            return self
                .serve_v3(rest, &content_type, &body, idempotency_key)
                .await;
        }
        let (webhook, raw_method) = match segments.as_slice() {
            ["rest", user, token, method] => (Some((*user, *token)), *method),
            ["rest", method] => (None, *method),
            _ => {
                return Ok(answer(
                    404,
                    b"<html>404 Not Found</html>".to_vec(),
                    "text/html",
                ));
            }
        };
        let method = raw_method
            .strip_suffix(".json")
            .unwrap_or(raw_method)
            .to_ascii_lowercase();
        // Parameters: the query, then the body (JSON or form).
        let mut params = php::parse_query(&query);
        let trimmed = body.iter().copied().find(|b| !b.is_ascii_whitespace());
        if content_type.contains("json") || matches!(trimmed, Some(b'{') | Some(b'[')) {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => params.extend(m),
                Ok(Value::Array(a)) => {
                    for (i, v) in a.into_iter().enumerate() {
                        params.insert(i.to_string(), v);
                    }
                }
                Ok(_) => {}
                Err(_) if body.is_empty() => {}
                Err(_) => {
                    return Ok(error_answer(&FakeError::new(
                        400,
                        "INVALID_REQUEST",
                        "The body is not valid JSON",
                    )));
                }
            }
        } else if !body.is_empty() {
            params.extend(php::parse_query(&String::from_utf8_lossy(&body)));
        }
        let started = unix_now();
        // The leaky bucket, then the credentials, then the fault plan.
        let chosen = {
            let mut s = self.lock();
            s.stats.requests += 1;
            if let Err(e) = self.admit(&mut s) {
                return Ok(error_answer(&e));
            }
            if let Err(e) = self.authenticate(&mut s, webhook, &params) {
                return Ok(error_answer(&e));
            }
            faults::choose_fault(&mut s, &method)
        };
        match &chosen {
            Chosen::Before(FaultKind::Unavailable) => {
                return Ok(answer(
                    503,
                    b"<html><body>503 Service Temporarily Unavailable</body></html>".to_vec(),
                    "text/html",
                ));
            }
            Chosen::Before(_) => {
                return Ok(error_answer(&FakeError::new(
                    500,
                    "INTERNAL_SERVER_ERROR",
                    "Internal server error",
                )));
            }
            _ => {}
        }
        // `shift_remove`: the other keys keep the order they arrived in.
        params.shift_remove("auth");
        let params = Value::Object(params);
        let outcome = if method == "batch" {
            self.batch(&params)
        } else {
            self.call(&method, &params)
        };
        let response = match outcome {
            Err(e) => error_answer(&e),
            Ok((outcome, operating)) => {
                let finished = unix_now();
                let mut envelope = Map::new();
                envelope.insert("result".into(), outcome.result);
                if let Some(next) = outcome.next {
                    envelope.insert("next".into(), next.into());
                }
                if let Some(total) = outcome.total {
                    envelope.insert("total".into(), total.into());
                }
                let mut time = json!({
                    "start": started,
                    "finish": finished,
                    "duration": finished - started,
                    "processing": self.config.operating_cost,
                    "date_start": "2026-01-01T00:00:00+00:00",
                    "date_finish": "2026-01-01T00:00:00+00:00",
                });
                if let Some((op, reset)) = operating {
                    time["operating"] = json!(op);
                    if let Some(reset) = reset {
                        time["operating_reset_at"] = json!(reset);
                    }
                }
                envelope.insert("time".into(), time);
                json_answer(200, &Value::Object(envelope))
            }
        };
        match chosen {
            Chosen::After(FaultKind::Slow(d)) => {
                tokio::time::sleep(d).await;
                Ok(response)
            }
            Chosen::After(FaultKind::Drop) => Err(std::io::Error::other("dropped by fault")),
            Chosen::After(FaultKind::Malformed) => Ok(answer(
                200,
                b"{\"result\":[{\"ID\":\"1\",".to_vec(),
                "application/json",
            )),
            _ => Ok(response),
        }
    }
}
