//! REST 3.0: the newer Bitrix24 API at `/rest/api/…` (`api-reference/rest-v3.md`).
//!
//! * Address: `https://portal/rest/api/<user>/<code>/<method>` for a webhook,
//!   `<client_endpoint>api/<method>` with `auth` in the JSON body for OAuth; JSON bodies only.
//! * Errors: `{"error": {"code", "message", "validation": [{"field", "message"}]}}` with a 4xx
//!   status, read into [`ApiError`] (`validation` as [`FieldError`]s) and classified like
//!   classic errors.
//! * Idempotency: every write (a method [`is_read`] does not call a read) carries an
//!   `Idempotency-Key` header, a fresh random key per logical call, the same key on every
//!   retry of that call. The portal stores a successful answer for 24 h and answers a repeat
//!   with it and `Idempotent-Replayed: true` ([`Envelope::replayed`]) instead of running the
//!   write again, so a write whose answer was lost is retried like a read instead of failing
//!   with [`Error::OutcomeUnknown`].
//! * Filters: [`Filter`] builds the `filter` array (`[field, op, value]`, `or` groups).
//! * Lists: [`Client::v3_pages`] walks `pagination: {page, limit}` until a short page;
//!   [`Client::v3_cursor_pages`] follows `afterCursor` / `nextCursor` while `hasMore`.

use futures_core::Stream;
use futures_util::stream;

use super::Method;
use super::auth::Auth;
use super::client::{Client, Envelope, Time, check_method_name, envelope, to_params};
use super::error::{
    ApiError, DecodeError, Error, ErrorCode, ErrorKind, FieldError, Part, TransportErrorKind, cut,
    decode_value,
};
use super::loose::Loose;
use super::registry::MethodInfo;
use super::retry::is_read;

/// Which REST API a method belongs to: the spec's `api` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ApiVersion {
    /// The classic API: `https://portal/rest/<user>/<code>/<method>.json`.
    #[default]
    Classic,
    /// REST 3.0: `https://portal/rest/api/<user>/<code>/<method>`.
    V3,
}

/// The request header that makes a REST 3.0 write safe to repeat.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The answer header that says the portal sent a stored answer instead of running the call.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// Most `validation` entries kept from one error answer, and most characters of each text.
const MAX_FIELD_ERRORS: usize = 100;
const MAX_TEXT: usize = 500;
/// Guards against a portal that ignores `pagination` and hands out full pages for ever.
const MAX_PAGES: u64 = 1_000_000;

/// Finds a method of a generated table (`bitrix24::api::registry::METHODS`) by wire name
/// or alias (ASCII case ignored) in one API: `tasks.task.get` has a row in each.
pub fn find_api(
    methods: &'static [MethodInfo],
    name: &str,
    api: ApiVersion,
) -> Option<&'static MethodInfo> {
    methods.iter().find(|m| {
        m.api == api
            && (m.name.eq_ignore_ascii_case(name)
                || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
    })
}

/// A fresh random `Idempotency-Key`: a UUID (version 4 form), 36 printable ASCII characters.
pub fn new_idempotency_key() -> String {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether `key` is a usable `Idempotency-Key`: 1 to 255 printable ASCII characters.
fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The class of a REST 3.0 error code (`BITRIX_REST_V3_EXCEPTION_…`); `None` for other codes.
pub(crate) fn kind_of(code: &ErrorCode) -> Option<ErrorKind> {
    let ErrorCode::Text(t) = code else {
        return None;
    };
    let upper = t.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix("BITRIX_REST_V3_EXCEPTION_")?;
    Some(match rest {
        "ACCESSDENIEDEXCEPTION" | "INSUFFICIENTSCOPEEXCEPTION" => ErrorKind::Auth,
        "ENTITYNOTFOUNDEXCEPTION" => ErrorKind::NotFound,
        r if r.starts_with("VALIDATION_")
            || r.starts_with("INVALID")
            || r.starts_with("UNKNOWN")
            || r == "IDEMPOTENCYKEYREUSEDEXCEPTION" =>
        {
            ErrorKind::Argument
        }
        _ => ErrorKind::Api,
    })
}

/// The `validation` entries as a suffix of an error message.
pub(crate) fn validation_note(v: &[FieldError]) -> String {
    if v.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = v
        .iter()
        .map(|f| {
            if f.field.is_empty() {
                f.message.clone()
            } else {
                format!("`{}`: {}", f.field, f.message)
            }
        })
        .collect();
    format!(" [{}]", parts.join("; "))
}

fn text_of(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Reads a REST 3.0 answer: the envelope object of a success, or the error it carries (the
/// REST 3.0 shape, or a classic `{error, error_description}` from the portal's front end).
fn read_answer(
    auth: &Auth,
    method: &str,
    status: u16,
    bytes: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let scrub = |s: &str| auth.scrub(&cut(s, MAX_TEXT));
    let not_envelope = || Error::Http {
        method: method.to_owned(),
        status,
        excerpt: auth.scrub(&cut(&String::from_utf8_lossy(bytes), 200)),
    };
    let Ok(serde_json::Value::Object(object)) = serde_json::from_slice::<serde_json::Value>(bytes)
    else {
        return Err(not_envelope());
    };
    let api_error = |code: ErrorCode, description: String, validation: Vec<FieldError>| {
        Error::Api(Box::new(ApiError {
            method: method.to_owned(),
            status,
            code,
            description: scrub(&description),
            validation,
        }))
    };
    match object.get("error") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(e)) => {
            let code = e
                .get("code")
                .map_or(ErrorCode::Text(String::new()), ErrorCode::from_json);
            let validation = match e.get("validation") {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .take(MAX_FIELD_ERRORS)
                    .map(|item| match item {
                        serde_json::Value::Object(f) => FieldError {
                            field: scrub(&text_of(f.get("field"))),
                            message: scrub(&text_of(f.get("message"))),
                        },
                        other => FieldError {
                            field: String::new(),
                            message: scrub(&text_of(Some(other))),
                        },
                    })
                    .collect(),
                _ => Vec::new(),
            };
            return Err(api_error(code, text_of(e.get("message")), validation));
        }
        Some(serde_json::Value::String(s)) if s.is_empty() && object.contains_key("result") => {}
        Some(code) => {
            return Err(api_error(
                ErrorCode::from_json(code),
                text_of(object.get("error_description")),
                Vec::new(),
            ));
        }
    }
    if !object.contains_key("result") || !(200..300).contains(&status) {
        return Err(not_envelope());
    }
    Ok(object)
}

impl Client {
    /// Calls a REST 3.0 method by wire name with untyped parameters (a JSON object); the
    /// `result` stays JSON. Writes carry a fresh `Idempotency-Key` (see the module docs).
    pub async fn call_v3_raw(
        &self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<Envelope<serde_json::Value>, Error> {
        let rate = find_api(self.parts().4, method, ApiVersion::V3).map(|m| m.rate_limit_per_sec);
        let key = (!is_read(method)).then(new_idempotency_key);
        self.v3_envelope(method, params, rate, key).await
    }

    /// Calls a REST 3.0 method with an `Idempotency-Key` of your own, for a write you may
    /// repeat later (after a restart, say): the portal runs it at most once per key within
    /// 24 hours and answers repeats with the stored answer ([`Envelope::replayed`]). The same
    /// key with different parameters is refused (`…IDEMPOTENCYKEYREUSEDEXCEPTION`, 422).
    pub async fn call_v3_keyed<M: Method>(
        &self,
        request: &M,
        key: &str,
    ) -> Result<Envelope<M::Response>, Error> {
        if !valid_key(key) {
            return Err(Error::InvalidConfig(
                "an Idempotency-Key must be 1 to 255 printable ASCII characters".into(),
            ));
        }
        let params = to_params(M::NAME, request)?;
        self.v3_envelope(
            M::NAME,
            &params,
            Some(M::RATE_LIMIT_PER_SEC),
            Some(key.to_owned()),
        )
        .await
    }

    /// A typed REST 3.0 call (what `call` and `call_envelope` do for a method whose
    /// [`Method::API`] is [`ApiVersion::V3`]).
    pub(crate) async fn call_v3_envelope<T: Loose>(
        &self,
        wire: &str,
        params: &serde_json::Value,
        rate: f64,
    ) -> Result<Envelope<T>, Error> {
        let key = (!is_read(wire)).then(new_idempotency_key);
        self.v3_envelope(wire, params, Some(rate), key).await
    }

    async fn v3_envelope<T: Loose>(
        &self,
        wire: &str,
        params: &serde_json::Value,
        rate: Option<f64>,
        key: Option<String>,
    ) -> Result<Envelope<T>, Error> {
        let (object, replayed) = self.execute_v3(wire, params, rate, key).await?;
        let mut env = envelope::<T>(wire, object)?;
        env.replayed = replayed;
        Ok(env)
    }

    /// One logical REST 3.0 call through the limiter, the retry policy and the token
    /// refresh. With a `key` (writes), every attempt carries the same `Idempotency-Key`, so
    /// a lost answer is retried like a read. Returns the envelope object and whether the
    /// portal replayed a stored answer.
    async fn execute_v3(
        &self,
        method: &str,
        params: &serde_json::Value,
        spec_rate: Option<f64>,
        key: Option<String>,
    ) -> Result<(serde_json::Map<String, serde_json::Value>, bool), Error> {
        super::client::in_call_span(
            method,
            true,
            self.execute_v3_inner(method, params, spec_rate, key),
        )
        .await
    }

    async fn execute_v3_inner(
        &self,
        method: &str,
        params: &serde_json::Value,
        spec_rate: Option<f64>,
        key: Option<String>,
    ) -> Result<(serde_json::Map<String, serde_json::Value>, bool), Error> {
        use super::stats::{Counters, trace_event};
        let counters = self.counters();
        check_method_name(method)?;
        let empty = serde_json::Value::Object(serde_json::Map::new());
        let params = if params.is_null() { &empty } else { params };
        let (transport, auth, limiter, retry, _) = self.parts();
        // Safe to repeat: a read, or a write the portal recognises by its key.
        let safe = key.is_some() || is_read(method);
        let mut refreshed = false;
        let mut operating_retried = false;
        let mut attempt: u32 = 0;
        // Bounded: every round either returns or counts an attempt, except the single
        // round after a token refresh.
        loop {
            let permit = limiter.acquire(method, spec_rate).await?;
            let (mut request, generation) = auth.request_v3(method, params)?;
            if let Some(k) = &key {
                request.headers.push((IDEMPOTENCY_KEY.into(), k.clone()));
            }
            trace_event!(debug, method, attempt, "attempt");
            Counters::add(&counters.requests, 1);
            // Through the client's redirect handling: a portal that moved answers REST 3.0
            // calls with a redirect too.
            let error = match self.send(method, request).await? {
                Err(e) => Error::Transport {
                    method: method.to_owned(),
                    kind: e.kind,
                    message: auth.scrub(&e.message),
                },
                Ok(response) => match read_answer(auth, method, response.status, &response.body) {
                    Ok(object) => {
                        let time = object
                            .get("time")
                            .and_then(|t| {
                                decode_value::<Option<Time>>(method, Part::Envelope, t).ok()
                            })
                            .flatten();
                        permit.observe(time.as_ref());
                        permit.finish().await;
                        trace_event!(debug, method, attempt, status = response.status, "answered");
                        let replayed = response.headers.iter().any(|(n, v)| {
                            n.eq_ignore_ascii_case(IDEMPOTENT_REPLAYED)
                                && v.trim().eq_ignore_ascii_case("true")
                        });
                        return Ok((object, replayed));
                    }
                    Err(e) => e,
                },
            };
            permit.finish().await;
            #[cfg(feature = "tracing")]
            {
                let code = error.api().map(|a| a.code.to_string());
                trace_event!(
                    info,
                    method,
                    attempt,
                    kind = ?error.kind(),
                    code = code.as_deref().unwrap_or(""),
                    "failed"
                );
            }
            match error.kind() {
                ErrorKind::RateLimited => Counters::add(&counters.rate_limited, 1),
                ErrorKind::OperatingTimeLimit => Counters::add(&counters.operating_limited, 1),
                _ => {}
            }
            let expired = error.api().is_some_and(|a| a.code.is("expired_token"));
            if expired && auth.is_oauth() && !refreshed {
                refreshed = true;
                auth.refresh(generation, transport).await?;
                Counters::add(&counters.retries, 1);
                trace_event!(info, method, attempt, "retry after a token refresh");
                continue;
            }
            // The answer was lost or was not the portal's: the call may have run.
            let lost = match &error {
                Error::Transport { kind, .. } => *kind != TransportErrorKind::Connect,
                Error::Http { status, .. } => *status >= 500 || (200..300).contains(status),
                _ => false,
            };
            let repeat = match error.kind() {
                ErrorKind::RateLimited => {
                    // The portal's own refusal says its bucket is full; a proxy's 429 page
                    // says nothing about it: a plain pause and a repeat.
                    if matches!(error, Error::Api(_)) {
                        limiter.bucket_full().await;
                    }
                    true
                }
                // Held until the budget resets, then tried once more: one call never loops
                // for many minutes.
                ErrorKind::OperatingTimeLimit if !operating_retried => {
                    operating_retried = true;
                    limiter.method_blocked(method).await;
                    true
                }
                ErrorKind::OperatingTimeLimit => false,
                ErrorKind::Transport => safe || !lost,
                ErrorKind::Server => {
                    safe && !error
                        .api()
                        .is_some_and(|a| a.code.is("PORTAL_DELETED") || a.code.is("OVERLOAD_LIMIT"))
                }
                _ => false,
            };
            if !repeat || attempt >= retry.max_retries {
                if lost && !is_read(method) {
                    let how = match &key {
                        Some(k) => format!(
                            "; repeat it with `call_v3_keyed` and Idempotency-Key {k} within 24 h to run it at most once"
                        ),
                        None => String::new(),
                    };
                    return Err(Error::OutcomeUnknown {
                        method: method.to_owned(),
                        message: format!("{error}{how}"),
                    });
                }
                return Err(error);
            }
            attempt += 1;
            Counters::add(&counters.retries, 1);
            let delay = retry.delay(attempt);
            trace_event!(
                info,
                method,
                attempt,
                delay_ms = super::stats::millis(delay),
                kind = ?error.kind(),
                "retry"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Every page of a REST 3.0 list method (`tasks.task.list`, `mail.message.list`, …):
    /// sends `pagination: {page, limit}` from the request's own `pagination.page` (or 1)
    /// and stops after the first page with fewer than `limit` items in `result.items`.
    /// `limit` is clamped to 1..=1000 (methods cap it lower on their side; the docs give
    /// each method's maximum). An answer without a `result.items` array, or a full page
    /// that repeats the previous one, ends the stream with an error naming the method.
    pub fn v3_pages<M>(
        &self,
        request: &M,
        limit: u32,
    ) -> impl Stream<Item = Result<Envelope<M::Response>, Error>> + Send + 'static
    where
        M: Method,
        M::Response: Send + 'static,
    {
        let limit = limit.clamp(1, 1000);
        struct State {
            client: Client,
            params: Result<serde_json::Value, Error>,
            page: u64,
            pages: u64,
            last: Option<serde_json::Value>,
            done: bool,
        }
        let params = to_params(M::NAME, request).and_then(|p| match p {
            serde_json::Value::Object(m) => Ok(serde_json::Value::Object(m)),
            serde_json::Value::Null => Ok(serde_json::json!({})),
            _ => Err(Error::InvalidConfig(format!(
                "{}: REST 3.0 list parameters must be a JSON object",
                M::NAME
            ))),
        });
        let page = params
            .as_ref()
            .ok()
            .and_then(|p| p.get("pagination")?.get("page")?.as_u64())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let state = State {
            client: self.clone(),
            params,
            page,
            pages: 0,
            last: None,
            done: false,
        };
        let bad = |message: String| {
            Error::Decode(Box::new(DecodeError {
                method: M::NAME.to_owned(),
                part: Part::Result,
                path: "result.items".into(),
                message,
                excerpt: String::new(),
            }))
        };
        stream::unfold(state, move |mut st| async move {
            if st.done {
                return None;
            }
            let mut params = match &st.params {
                Ok(p) => p.clone(),
                Err(e) => {
                    st.done = true;
                    return Some((Err(e.clone()), st));
                }
            };
            if let serde_json::Value::Object(m) = &mut params {
                let mut pagination = match m.remove("pagination") {
                    Some(serde_json::Value::Object(p)) => p,
                    _ => serde_json::Map::new(),
                };
                // `offset` would override `page`; the walk sets `page` and `limit` only.
                pagination.remove("offset");
                pagination.insert("page".into(), st.page.into());
                pagination.insert("limit".into(), limit.into());
                m.insert("pagination".into(), serde_json::Value::Object(pagination));
            }
            st.pages += 1;
            let answer = match st.client.execute_v3(M::NAME, &params, None, None).await {
                Ok((object, _)) => object,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            let items = answer
                .get("result")
                .and_then(|r| r.get("items"))
                .and_then(|i| i.as_array())
                .cloned();
            let Some(items) = items else {
                st.done = true;
                return Some((
                    Err(bad(
                        "a REST 3.0 list answer must carry `result.items` as an array".into(),
                    )),
                    st,
                ));
            };
            let full = items.len() >= limit as usize;
            let items = serde_json::Value::Array(items);
            if full && st.last.as_ref() == Some(&items) {
                st.done = true;
                return Some((
                    Err(bad(format!(
                        "page {} repeats the previous page; the portal ignores `pagination`",
                        st.page
                    ))),
                    st,
                ));
            }
            if !full || st.pages >= MAX_PAGES {
                st.done = true;
            }
            st.last = Some(items);
            st.page += 1;
            let page = envelope::<M::Response>(M::NAME, answer);
            if page.is_err() {
                st.done = true;
            }
            Some((page, st))
        })
    }
}

impl Client {
    /// Every page of a REST 3.0 list method with cursor paging (`note.collection.list`,
    /// `call.followup.list`): the first request as given, then `pagination.afterCursor` set
    /// to the cursor of the previous answer (`result.afterCursor` or `result.nextCursor`),
    /// while that cursor is an object and `result.hasMore` is not `false`. A cursor that
    /// repeats the previous one ends the stream with an error naming the method.
    pub fn v3_cursor_pages<M>(
        &self,
        request: &M,
    ) -> impl Stream<Item = Result<Envelope<M::Response>, Error>> + Send + 'static
    where
        M: Method,
        M::Response: Send + 'static,
    {
        struct State {
            client: Client,
            params: Result<serde_json::Value, Error>,
            cursor: Option<serde_json::Value>,
            pages: u64,
            done: bool,
        }
        let params = to_params(M::NAME, request).and_then(|p| match p {
            serde_json::Value::Object(m) => Ok(serde_json::Value::Object(m)),
            serde_json::Value::Null => Ok(serde_json::json!({})),
            _ => Err(Error::InvalidConfig(format!(
                "{}: REST 3.0 list parameters must be a JSON object",
                M::NAME
            ))),
        });
        let state = State {
            client: self.clone(),
            params,
            cursor: None,
            pages: 0,
            done: false,
        };
        stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            let mut params = match &st.params {
                Ok(p) => p.clone(),
                Err(e) => {
                    st.done = true;
                    return Some((Err(e.clone()), st));
                }
            };
            if let (Some(cursor), serde_json::Value::Object(m)) = (&st.cursor, &mut params) {
                let mut pagination = match m.remove("pagination") {
                    Some(serde_json::Value::Object(p)) => p,
                    _ => serde_json::Map::new(),
                };
                pagination.insert("afterCursor".into(), cursor.clone());
                m.insert("pagination".into(), serde_json::Value::Object(pagination));
            }
            st.pages += 1;
            let answer = match st.client.execute_v3(M::NAME, &params, None, None).await {
                Ok((object, _)) => object,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            let result = answer.get("result");
            let more = result
                .and_then(|r| r.get("hasMore"))
                .and_then(|h| h.as_bool());
            let next = result
                .and_then(|r| r.get("afterCursor").or_else(|| r.get("nextCursor")))
                .filter(|c| c.is_object())
                .cloned();
            match next {
                Some(c) if more != Some(false) && st.pages < MAX_PAGES => {
                    if st.cursor.as_ref() == Some(&c) {
                        st.done = true;
                        return Some((
                            Err(Error::Decode(Box::new(DecodeError {
                                method: M::NAME.to_owned(),
                                part: Part::Result,
                                path: "result.afterCursor".into(),
                                message: "the cursor does not move forward".into(),
                                excerpt: cut(&c.to_string(), 80),
                            }))),
                            st,
                        ));
                    }
                    st.cursor = Some(c);
                }
                _ => st.done = true,
            }
            let page = envelope::<M::Response>(M::NAME, answer);
            if page.is_err() {
                st.done = true;
            }
            Some((page, st))
        })
    }
}

/// An operator of a REST 3.0 filter condition (`api-reference/rest-v3.md#operators`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `in`: one of a list of values.
    In,
    /// `between`: within `[from, to]`.
    Between,
}

impl FilterOp {
    /// The operator as the wire spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterOp::Eq => "=",
            FilterOp::Ne => "!=",
            FilterOp::Gt => ">",
            FilterOp::Ge => ">=",
            FilterOp::Lt => "<",
            FilterOp::Le => "<=",
            FilterOp::In => "in",
            FilterOp::Between => "between",
        }
    }
}

/// A REST 3.0 `filter`: conditions `[field, operator, value]` joined by AND, and groups
/// `{"logic": "or", "conditions": [...]}` joined by OR inside. Put it in a request's
/// `filter` field with [`Filter::into_value`].
///
/// ```
/// use bitrix24_runtime::v3::{Filter, FilterOp};
/// let f = Filter::new()
///     .with("status", FilterOp::Eq, "NEW")
///     .or(Filter::new().with("id", FilterOp::In, [1, 2]).with("id", FilterOp::In, [3, 4, 5]));
/// assert_eq!(
///     f.into_value(),
///     serde_json::json!([["status", "=", "NEW"],
///         {"logic": "or", "conditions": [["id", "in", [1, 2]], ["id", "in", [3, 4, 5]]]}])
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter(Vec<serde_json::Value>);

impl Filter {
    /// No conditions.
    pub fn new() -> Filter {
        Filter::default()
    }

    /// Adds the condition `[field, op, value]` (AND with the others).
    pub fn with(
        mut self,
        field: &str,
        op: FilterOp,
        value: impl Into<serde_json::Value>,
    ) -> Filter {
        self.0
            .push(serde_json::json!([field, op.as_str(), value.into()]));
        self
    }

    /// Adds a group whose conditions are joined by OR (AND with the others).
    pub fn or(mut self, any_of: Filter) -> Filter {
        self.0
            .push(serde_json::json!({ "logic": "or", "conditions": any_of.0 }));
        self
    }

    /// The `filter` value as JSON.
    pub fn into_value(self) -> serde_json::Value {
        serde_json::Value::Array(self.0)
    }
}

impl From<Filter> for serde_json::Value {
    fn from(f: Filter) -> serde_json::Value {
        f.into_value()
    }
}

impl serde::Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_printable_and_uuid_shaped() {
        let a = new_idempotency_key();
        let b = new_idempotency_key();
        assert_ne!(a, b);
        assert!(valid_key(&a), "{a}");
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4', "{a}");
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("tab\tkey"));
        assert!(!valid_key("ключ"));
    }

    #[test]
    fn v3_codes_are_classified() {
        let k = |c: &str| kind_of(&ErrorCode::Text(c.into()));
        assert_eq!(
            k("BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION"),
            Some(ErrorKind::Argument)
        );
        assert_eq!(
            k("bitrix_rest_v3_exception_accessdeniedexception"),
            Some(ErrorKind::Auth)
        );
        assert_eq!(
            k("BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION"),
            Some(ErrorKind::Auth)
        );
        assert_eq!(
            k("BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION"),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            k("BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION"),
            Some(ErrorKind::Argument)
        );
        assert_eq!(
            k("BITRIX_REST_V3_EXCEPTION_INVALIDPAGINATIONEXCEPTION"),
            Some(ErrorKind::Argument)
        );
        assert_eq!(
            k("BITRIX_REST_V3_EXCEPTION_SOMETHINGNEW"),
            Some(ErrorKind::Api)
        );
        assert_eq!(k("ERROR_ARGUMENT"), None);
        assert_eq!(kind_of(&ErrorCode::Number(5)), None);
    }
}
