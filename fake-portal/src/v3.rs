//! REST 3.0 at `/rest/api/<user>/<token>/<method>` and `/rest/api/<method>` (OAuth, `auth` in
//! the JSON body): JSON bodies only, errors as `{"error": {"code", "message", "validation"}}`,
//! and the `Idempotency-Key` header: the first successful answer for a key (per caller and
//! method) is stored and replayed for a repeat with the same body (`Idempotent-Replayed:
//! true`); the same key with another body is refused with 422. Only methods registered for
//! REST 3.0 answer here ([`FakePortal::on_v3`], specs with `api: v3`); a classic call to
//! one of them gets `ERROR_METHOD_NOT_FOUND` (404), as on a real portal.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::faults::{self, Chosen};
use crate::{FakeError, FakePortal, FaultKind, Portal, unix_now};

/// A REST 3.0 error answer: HTTP status, `code`, `message` and `validation` entries
/// (field, message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Error {
    /// HTTP status (4xx).
    pub status: u16,
    /// `error.code`, e.g. `BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// `error.validation`: (field, message).
    pub validation: Vec<(String, String)>,
}

impl V3Error {
    /// An error without validation entries.
    pub fn new(status: u16, code: &str, message: &str) -> V3Error {
        V3Error {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            validation: Vec::new(),
        }
    }

    /// `BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION` (400) for these
    /// fields.
    pub fn validation(fields: &[(&str, &str)]) -> V3Error {
        V3Error {
            status: 400,
            code: "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION".into(),
            message: "Ошибка при валидации объекта запроса".into(),
            validation: fields
                .iter()
                .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
                .collect(),
        }
    }

    fn to_json(&self) -> Value {
        let mut e = json!({ "code": self.code, "message": self.message });
        if !self.validation.is_empty() {
            e["validation"] = self
                .validation
                .iter()
                .map(|(f, m)| json!({ "message": m, "field": f }))
                .collect();
        }
        json!({ "error": e })
    }
}

impl From<FakeError> for V3Error {
    fn from(e: FakeError) -> V3Error {
        V3Error::new(e.status, &e.code, &e.description)
    }
}

/// A REST 3.0 method: gets the parameters, returns the `result` or an error.
pub type V3Handler = Arc<dyn Fn(&Value) -> Result<Value, V3Error> + Send + Sync>;

#[derive(Clone, Default)]
pub(crate) struct V3Def {
    required: Vec<String>,
    handler: Option<V3Handler>,
}

/// A stored answer: the body it answered (without `auth`) and the answer itself.
struct Stored {
    params: Value,
    answer: Vec<u8>,
}

/// The REST 3.0 part of the portal's state.
#[derive(Default)]
pub(crate) struct V3State {
    methods: BTreeMap<String, V3Def>,
    /// (caller, lower-case method, key) → the first successful answer.
    stored: HashMap<(String, String, String), Stored>,
    /// How many stored answers were replayed, for tests.
    pub(crate) replays: u64,
}

impl FakePortal {
    /// Registers (or replaces) a REST 3.0 method answered by `handler`.
    pub fn on_v3(
        &self,
        method: &str,
        handler: impl Fn(&Value) -> Result<Value, V3Error> + Send + Sync + 'static,
    ) {
        let mut s = self.portal.lock();
        let def = s.v3.methods.entry(method.to_ascii_lowercase()).or_default();
        def.handler = Some(Arc::new(handler));
    }

    /// How many REST 3.0 answers were replayed for a repeated `Idempotency-Key`.
    pub fn v3_replays(&self) -> u64 {
        self.portal.lock().v3.replays
    }
}

/// Registers a REST 3.0 method from a spec (`api: v3`) with its required parameters.
pub(crate) fn register(portal: &Portal, method: &str, required: Vec<String>) {
    let mut s = portal.lock();
    let def = s.v3.methods.entry(method.to_ascii_lowercase()).or_default();
    def.required = required;
}

type Body = http_body_util::Full<hyper::body::Bytes>;

fn respond(status: u16, body: Vec<u8>, headers: &[(&str, &str)]) -> hyper::Response<Body> {
    let mut b = hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8");
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(http_body_util::Full::default()))
}

fn error(e: &V3Error) -> hyper::Response<Body> {
    respond(
        e.status,
        serde_json::to_vec(&e.to_json()).unwrap_or_default(),
        &[],
    )
}

/// Whether `key` is a usable key: 1 to 255 printable ASCII characters.
fn valid_key(key: &[u8]) -> bool {
    (1..=255).contains(&key.len()) && key.iter().all(|b| (0x20..0x7f).contains(b))
}

impl Portal {
    /// Answers one request under `/rest/api/` (`rest` are the path segments after it).
    pub(crate) async fn serve_v3(
        &self,
        rest: &[&str],
        content_type: &str,
        body: &[u8],
        key: Option<Vec<u8>>,
    ) -> Result<hyper::Response<Body>, std::io::Error> {
        let (webhook, method) = match rest {
            [user, token, method] => (Some((*user, *token)), *method),
            [method] => (None, *method),
            _ => {
                return Ok(error(&V3Error::new(
                    404,
                    "ERROR_METHOD_NOT_FOUND",
                    "Method not found!",
                )));
            }
        };
        let method = method.to_ascii_lowercase();
        // JSON only; an empty body (a call without parameters) is an empty object.
        let params = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) if !content_type.contains("form") => m,
                _ => {
                    return Ok(error(&V3Error::new(
                        400,
                        "BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION",
                        "The request body is not valid JSON",
                    )));
                }
            }
        };
        let started = unix_now();
        let chosen = {
            let mut s = self.lock();
            s.stats.requests += 1;
            if let Err(e) = self.admit(&mut s) {
                return Ok(error(&e.into()));
            }
            if let Err(e) = self.authenticate(&mut s, webhook, &params) {
                return Ok(error(&e.into()));
            }
            faults::choose_fault(&mut s, &method)
        };
        match &chosen {
            Chosen::Before(FaultKind::Unavailable) => {
                return Ok(respond(
                    503,
                    b"<html>503 Service Unavailable</html>".to_vec(),
                    &[],
                ));
            }
            Chosen::Before(_) => {
                return Ok(error(&V3Error::new(
                    500,
                    "INTERNAL_SERVER_ERROR",
                    "Internal server error",
                )));
            }
            _ => {}
        }
        let mut params = params;
        params.shift_remove("auth");
        let params = Value::Object(params);
        let caller = webhook.map_or_else(|| "app".to_owned(), |(u, _)| format!("webhook {u}"));
        let key = match key {
            None => None,
            Some(k) if valid_key(&k) => Some(String::from_utf8_lossy(&k).into_owned()),
            Some(_) => {
                return Ok(error(&V3Error::new(
                    400,
                    "BITRIX_REST_V3_EXCEPTION_INVALIDIDEMPOTENCYKEYEXCEPTION",
                    "Idempotency-Key must be 1 to 255 printable ASCII characters",
                )));
            }
        };
        let slot = key
            .as_ref()
            .map(|k| (caller.clone(), method.clone(), k.clone()));
        if let Some(slot) = &slot {
            let mut s = self.lock();
            let replay = match s.v3.stored.get(slot) {
                Some(stored) if stored.params == params => Some(stored.answer.clone()),
                Some(_) => {
                    return Ok(error(&V3Error::new(
                        422,
                        "BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION",
                        "The Idempotency-Key was already used with another request body",
                    )));
                }
                None => None,
            };
            if let Some(answer) = replay {
                s.v3.replays += 1;
                return Ok(respond(
                    200,
                    answer,
                    &[
                        ("Idempotency-Key", &slot.2),
                        ("Idempotent-Replayed", "true"),
                    ],
                ));
            }
        }
        let response = match self.call_v3(&method, &params) {
            Err(e) => error(&e),
            Ok((result, (op, reset))) => {
                let finished = unix_now();
                let mut time = json!({
                    "start": started,
                    "finish": finished,
                    "duration": finished - started,
                    "processing": self.config.operating_cost,
                    "date_start": "2026-01-01T00:00:00+03:00",
                    "date_finish": "2026-01-01T00:00:00+03:00",
                    "operating": op,
                });
                if let Some(reset) = reset {
                    time["operating_reset_at"] = json!(reset);
                }
                let answer = serde_json::to_vec(&json!({ "result": result, "time": time }))
                    .unwrap_or_default();
                // Only a success is stored; a repeat after an error runs the method again.
                if let Some(slot) = slot.clone() {
                    self.lock().v3.stored.insert(
                        slot,
                        Stored {
                            params: params.clone(),
                            answer: answer.clone(),
                        },
                    );
                }
                let echo = key.as_deref().unwrap_or("");
                let headers: &[(&str, &str)] = if key.is_some() {
                    &[("Idempotency-Key", echo)]
                } else {
                    &[]
                };
                respond(200, answer, headers)
            }
        };
        match chosen {
            Chosen::After(FaultKind::Slow(d)) => {
                tokio::time::sleep(d).await;
                Ok(response)
            }
            Chosen::After(FaultKind::Drop) => Err(std::io::Error::other("dropped by fault")),
            Chosen::After(FaultKind::Malformed) => Ok(respond(
                200,
                b"{\"result\":{\"item\":{\"id\":".to_vec(),
                &[],
            )),
            _ => Ok(response),
        }
    }

    /// Runs one REST 3.0 method: budget, required fields, the handler (or `{"result": true}`).
    fn call_v3(
        &self,
        method: &str,
        params: &Value,
    ) -> Result<(Value, crate::limits::Operating), V3Error> {
        let def = self.lock().v3.methods.get(method).cloned();
        let Some(def) = def else {
            return Err(V3Error::new(
                404,
                "ERROR_METHOD_NOT_FOUND",
                "Method not found in REST 3.0",
            ));
        };
        let operating = self.spend(method)?;
        let missing: Vec<(String, String)> = def
            .required
            .iter()
            .filter(|r| params.get(r.as_str()).is_none_or(Value::is_null))
            .map(|r| (r.clone(), format!("Обязательное поле `{r}` не указано")))
            .collect();
        if !missing.is_empty() {
            let mut e = V3Error::validation(&[]);
            e.validation = missing;
            return Err(e);
        }
        let result = match &def.handler {
            Some(h) => h(params)?,
            None => json!({ "result": true }),
        };
        Ok((result, operating))
    }
}
