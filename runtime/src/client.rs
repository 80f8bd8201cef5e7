//! The client: one portal, webhook or OAuth credentials, a shared limiter and retry policy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::Method;
use super::auth::url_allowed;
use super::auth::{Auth, OAuthConfig, OAuthTokens};
use super::error::TransportErrorKind;
use super::error::{ApiError, DecodeError, Error, ErrorCode, ErrorKind, Part, cut, decode_value};
use super::limiter::{Limiter, Limits};
use super::loose::Loose;
use super::registry::MethodInfo;
use super::retry::{RetryPolicy, is_read};
use super::transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError};

/// A connection to one Bitrix24 portal.
///
/// Cheap to clone; clones share the connection pool, the rate limiter and the OAuth
/// tokens, so one client can serve many tasks. Its `Debug` output shows the portal's
/// address but never a token or secret.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Arc<dyn Transport>,
    auth: Auth,
    limiter: Arc<Limiter>,
    retry: RetryPolicy,
    /// `https://portal`: safe to print.
    portal: String,
    /// The method table [`Client::call_raw`] consults for spec rates.
    methods: &'static [MethodInfo],
    /// Whether plain `http://` redirect targets on hosts that are not loopback are followed.
    allow_http: bool,
}

/// The most redirects one request follows (a portal that moved answers one).
const MAX_REDIRECTS: usize = 3;

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("portal", &self.inner.portal)
            .field("auth", &self.inner.auth.describe())
            .field("limits", self.inner.limiter.limits())
            .finish()
    }
}

/// Builds a [`Client`]: credentials first, then optional transport, limits and retries.
pub struct ClientBuilder {
    auth: Result<(Auth, String), Error>,
    transport: Option<Arc<dyn Transport>>,
    limits: Limits,
    retry: RetryPolicy,
    timeouts: Option<(Duration, Duration)>,
    methods: &'static [MethodInfo],
    allow_http: bool,
    max_response_bytes: usize,
    sync: Option<Arc<dyn crate::auth::TokenSync>>,
    #[cfg(feature = "redis")]
    shared: Option<super::limiter::redis::RedisLimits>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("limits", &self.limits)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Sends requests through `transport` instead of the default `reqwest` one.
    pub fn transport(mut self, transport: impl Transport) -> ClientBuilder {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Sends requests through a shared transport.
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> ClientBuilder {
        self.transport = Some(transport);
        self
    }

    /// Sets the connect and whole-request timeouts of the default transport.
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> ClientBuilder {
        self.timeouts = Some((connect, request));
        self
    }

    /// Paces requests by these figures (default: [`Limits::standard`]).
    pub fn limits(mut self, limits: Limits) -> ClientBuilder {
        self.limits = limits;
        self
    }

    /// Keeps the limiter's state in Redis, shared with every process (and client) that
    /// calls the same portal through the same server: one bucket per portal, and the same
    /// per-method rates, server-time figures and holds (cargo feature `redis`).
    #[cfg(feature = "redis")]
    pub fn redis_limits(mut self, shared: super::limiter::redis::RedisLimits) -> ClientBuilder {
        self.shared = Some(shared);
        self
    }

    /// Repeats safe requests by this policy (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> ClientBuilder {
        self.retry = retry;
        self
    }

    /// The method table [`Client::call_raw`] looks names (and aliases) up in, to apply a
    /// method's spec rate to calls by name: `bitrix24::api::registry::METHODS`. Typed calls
    /// do not need it; without it, calls by name are paced by the portal bucket alone.
    pub fn methods(mut self, methods: &'static [MethodInfo]) -> ClientBuilder {
        self.methods = methods;
        self
    }

    /// Accepts `http://` webhook and OAuth URLs for hosts that are not loopback, which send
    /// the webhook code or the tokens in clear text. Off by default: only `https://` and
    /// loopback hosts (`127.0.0.0/8`, `::1`, `localhost`) are accepted.
    pub fn allow_http(mut self, allow: bool) -> ClientBuilder {
        self.allow_http = allow;
        self
    }

    /// The largest answer body the default transport reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::transport::DEFAULT_MAX_RESPONSE_BYTES), 64 MiB);
    /// a larger answer fails with a transport error that says so.
    pub fn max_response_bytes(mut self, bytes: usize) -> ClientBuilder {
        self.max_response_bytes = bytes;
        self
    }

    /// Keeps the OAuth tokens in step with a store shared by other processes: a refresh
    /// takes tokens another process stored, stores rotated tokens before using them, and
    /// reloads instead of failing when another process refreshed first (see
    /// [`TokenSync`](crate::TokenSync)). No effect on a webhook client.
    pub fn token_sync(mut self, sync: Arc<dyn crate::auth::TokenSync>) -> ClientBuilder {
        self.sync = Some(sync);
        self
    }

    /// The client, or why the credentials or transport are unusable.
    pub fn build(self) -> Result<Client, Error> {
        let (mut auth, portal) = self.auth?;
        if let Some(sync) = self.sync {
            auth.set_sync(sync);
        }
        auth.check_scheme(self.allow_http)?;
        let max = self.max_response_bytes;
        let transport: Arc<dyn Transport> = match (self.transport, self.timeouts) {
            (Some(t), _) => t,
            (None, Some((c, r))) => {
                Arc::new(ReqwestTransport::with_timeouts(c, r)?.with_max_response_bytes(max))
            }
            (None, None) => Arc::new(ReqwestTransport::new()?.with_max_response_bytes(max)),
        };
        #[cfg(feature = "redis")]
        let limiter = match &self.shared {
            Some(shared) => Limiter::with_backend(self.limits, shared.backend(&portal)),
            None => Limiter::new(self.limits),
        };
        #[cfg(not(feature = "redis"))]
        let limiter = Limiter::new(self.limits);
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                auth,
                limiter: Arc::new(limiter),
                retry: self.retry,
                portal,
                methods: self.methods,
                allow_http: self.allow_http,
            }),
        })
    }
}

/// A whole success answer: the typed `result` and the envelope around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<T> {
    /// The `result` member.
    pub result: T,
    /// Where the next page starts, on paginated methods with more to come.
    pub next: Option<i64>,
    /// How many items the whole list holds, on paginated methods.
    pub total: Option<i64>,
    /// The portal's timing figures, when it sent them.
    pub time: Option<Time>,
    /// REST 3.0: the portal answered with the stored answer of an earlier call with the same
    /// `Idempotency-Key` (header `Idempotent-Replayed: true`), so the write did not run again.
    /// Always `false` for classic calls.
    pub replayed: bool,
}

/// The `time` member of an answer: when the portal ran the method and for how long.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[non_exhaustive]
pub struct Time {
    /// Unix time the portal started the request, in seconds.
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub start: Option<f64>,
    /// Unix time the portal finished the request, in seconds.
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub finish: Option<f64>,
    /// `finish - start`, in seconds.
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub duration: Option<f64>,
    /// Seconds spent running the method itself.
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub processing: Option<f64>,
    /// Start time as an ISO 8601 string.
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub date_start: Option<String>,
    /// Finish time as an ISO 8601 string.
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub date_finish: Option<String>,
    /// Seconds of server time this method has used in the current window (the portal
    /// blocks a method that uses too much).
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub operating: Option<f64>,
    /// Unix time at which `operating` starts again from zero.
    #[serde(default, deserialize_with = "crate::loose::de")]
    pub operating_reset_at: Option<f64>,
}

impl Loose for Time {
    fn from_loose(value: &serde_json::Value) -> Result<Self, super::loose::Misfit> {
        super::loose::via_deserialize(value)
    }
}

impl Client {
    /// A builder for an incoming-webhook URL, `https://<portal>/rest/<user id>/<token>/`.
    /// A malformed URL is reported by [`ClientBuilder::build`], without repeating the URL.
    pub fn webhook(url: &str) -> ClientBuilder {
        ClientBuilder::new(Auth::webhook(url))
    }

    /// A builder for an OAuth 2 application.
    pub fn oauth(config: OAuthConfig) -> ClientBuilder {
        ClientBuilder::new(Auth::oauth(config))
    }

    /// A client for an incoming-webhook URL with the default transport, limits and retries.
    ///
    /// Fails with [`Error::InvalidConfig`] when the URL does not have that shape; the
    /// message never repeats the URL, since it holds the token.
    pub fn from_webhook(url: &str) -> Result<Client, Error> {
        Client::webhook(url).build()
    }

    /// Like [`Client::from_webhook`], with an HTTP client of your own (proxies, timeouts,
    /// a shared connection pool).
    pub fn with_http_client(url: &str, http: reqwest::Client) -> Result<Client, Error> {
        Client::webhook(url)
            .transport(ReqwestTransport::from_client(http))
            .build()
    }

    /// The OAuth tokens in use now (after any refresh); `None` for a webhook client.
    pub fn oauth_tokens(&self) -> Option<OAuthTokens> {
        self.inner.auth.tokens()
    }

    /// Saves OAuth tokens whose save failed (or panicked) after a refresh, by the
    /// `on_refresh` callback, and reports the error when it fails again. Webhook clients
    /// and saved tokens: `Ok`.
    pub async fn flush_tokens(&self) -> Result<(), Error> {
        self.inner.auth.save_pending().await
    }

    pub(crate) fn limiter(&self) -> &Arc<Limiter> {
        &self.inner.limiter
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    pub(crate) fn retry_delay(&self, attempt: u32) -> Duration {
        self.inner.retry.delay(attempt)
    }

    /// Removes every secret this client knows of from `text`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.inner.auth.scrub(text)
    }

    /// Sends a request; the answer of a portal that moved (301, 302, 307, 308 with a
    /// `Location`) gets the same request, body and all, at the new address, at most
    /// [`MAX_REDIRECTS`] times, and never to plain `http://` on a host that is not loopback
    /// (unless allowed). `Err` for a redirect that is refused; the inner result is the
    /// transport's.
    pub(crate) async fn send(
        &self,
        method: &str,
        mut request: HttpRequest,
    ) -> Result<Result<HttpResponse, TransportError>, Error> {
        let mut status = 0;
        let first = request.url.clone();
        for hop in 0..=MAX_REDIRECTS {
            let response = match self.inner.transport.send(request.clone()).await {
                Err(e) => return Ok(Err(e)),
                Ok(r) => r,
            };
            status = response.status;
            let redirect = matches!(status, 301 | 302 | 307 | 308);
            let Some(location) = response.location.as_deref().filter(|_| redirect) else {
                if hop > 0 && (200..300).contains(&status) {
                    self.inner.auth.moved(&first, &request.url);
                }
                return Ok(Ok(response));
            };
            let target = reqwest::Url::parse(&request.url).and_then(|u| u.join(location.trim()));
            let target = match target {
                Ok(t) if url_allowed(&t, self.inner.allow_http) => t,
                Ok(_) => {
                    return Err(Error::InvalidConfig(format!(
                        "{method}: the portal redirected to plain http:// on a host that is not loopback; not followed, since the request carries secrets (ClientBuilder::allow_http to allow it)"
                    )));
                }
                Err(_) => {
                    return Err(Error::Http {
                        method: method.to_owned(),
                        status,
                        excerpt: "a redirect whose Location is not a URL".into(),
                    });
                }
            };
            request.url = target.to_string();
        }
        Err(Error::Http {
            method: method.to_owned(),
            status,
            excerpt: format!("more than {MAX_REDIRECTS} redirects in a row (a redirect loop?)"),
        })
    }

    /// Calls a method and returns its typed `result`.
    pub async fn call<M: Method>(&self, request: &M) -> Result<M::Response, Error> {
        // Straight to `call_envelope_as`: one future per request type fewer to compile.
        Ok(self.call_envelope_as(M::NAME, request).await?.result)
    }

    /// Calls a method under another wire name (an alias) with the same request type.
    pub async fn call_as<M: Method>(&self, wire: &str, request: &M) -> Result<M::Response, Error> {
        Ok(self.call_envelope_as(wire, request).await?.result)
    }

    /// Calls a method and returns the whole answer: the typed `result` and, on paginated
    /// methods, `next` and `total`.
    pub fn call_envelope<M: Method>(
        &self,
        request: &M,
    ) -> impl Future<Output = Result<Envelope<M::Response>, Error>> {
        // `call_envelope_as`'s own future, not another one around it.
        self.call_envelope_as(M::NAME, request)
    }

    /// [`Client::call_envelope`] under another wire name (an alias).
    pub async fn call_envelope_as<M: Method>(
        &self,
        wire: &str,
        request: &M,
    ) -> Result<Envelope<M::Response>, Error> {
        let params = to_params(wire, request)?;
        if M::API == super::ApiVersion::V3 {
            return self
                .call_v3_envelope(wire, &params, M::RATE_LIMIT_PER_SEC)
                .await;
        }
        let answer = self
            .execute(wire, &params, is_read(wire), Some(M::RATE_LIMIT_PER_SEC))
            .await?;
        envelope(wire, answer)
    }

    /// Calls any method by wire name with untyped parameters; the `result` stays JSON.
    /// The method's spec rate applies when the method table given to
    /// [`ClientBuilder::methods`] knows the name (or alias).
    pub async fn call_raw(
        &self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<Envelope<serde_json::Value>, Error> {
        let rate = self
            .inner
            .methods
            .iter()
            .find(|m| m.name == method || m.aliases.contains(&method))
            .map(|m| m.rate_limit_per_sec);
        let answer = self.execute(method, params, is_read(method), rate).await?;
        envelope(method, answer)
    }

    /// What this client has done so far: requests, limiter waits, the portal's refusals,
    /// retries and token refreshes (totals since it was built, shared by its clones). Reading
    /// is a few atomic loads.
    ///
    /// ```
    /// # async fn demo(client: bitrix24_runtime::Client) {
    /// let before = client.stats();
    /// // ... calls ...
    /// let now = client.stats();
    /// println!("{} retries, {} waits", now.retries - before.retries, now.limiter_waits);
    /// # }
    /// ```
    pub fn stats(&self) -> super::Stats {
        let mut stats = self.inner.limiter.counters.snapshot();
        stats.token_refreshes = self.inner.auth.refreshes().0;
        stats.token_refresh_failures = self.inner.auth.refreshes().1;
        stats
    }

    pub(crate) fn counters(&self) -> &super::stats::Counters {
        &self.inner.limiter.counters
    }

    /// Sends one request through the limiter, the retry policy and the token refresh, and
    /// returns the envelope object, or the error the answer carries. One `bitrix24.call`
    /// span per call (feature `tracing`).
    pub(crate) async fn execute(
        &self,
        method: &str,
        params: &serde_json::Value,
        read: bool,
        spec_rate: Option<f64>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        in_call_span(
            method,
            false,
            self.execute_inner(method, params, read, spec_rate),
        )
        .await
    }

    async fn execute_inner(
        &self,
        method: &str,
        params: &serde_json::Value,
        read: bool,
        spec_rate: Option<f64>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        use super::stats::{Counters, trace_event};
        check_method_name(method)?;
        // One encoding for direct calls and batch commands (module `wire`).
        let params = &super::wire::classic(params);
        let inner = &self.inner;
        // Tokens of an earlier refresh that could not be saved: one more try per call.
        if inner.auth.has_unsaved() {
            let _ = inner.auth.save_pending().await;
        }
        // A config with a refresh token only: get an access token first.
        if let Some(generation) = inner.auth.missing_access() {
            inner
                .auth
                .refresh(generation, inner.transport.as_ref())
                .await?;
        }
        let counters = &inner.limiter.counters;
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        let mut timeouts: u32 = 0;
        let mut operating_retried = false;
        // Bounded: every round either returns or counts an attempt, except the single
        // round after a token refresh.
        loop {
            let permit = inner.limiter.acquire(method, spec_rate).await?;
            let (request, generation) = inner.auth.request(method, params)?;
            trace_event!(debug, method, attempt, "attempt");
            Counters::add(&counters.requests, 1);
            let error = match self.send(method, request).await? {
                Err(e) => {
                    let message = inner.auth.scrub(&e.message);
                    if e.kind != TransportErrorKind::Connect && !read {
                        return Err(Error::OutcomeUnknown {
                            method: method.to_owned(),
                            message,
                        });
                    }
                    Error::Transport {
                        method: method.to_owned(),
                        kind: e.kind,
                        message,
                    }
                }
                Ok(response) => match self.read_answer(method, response.status, &response.body) {
                    // A write answered by something that is not the portal (a gateway's
                    // error page, a cut body): it may have run.
                    Err(Error::Http {
                        status, excerpt, ..
                    }) if !read && (status >= 500 || (200..300).contains(&status)) => {
                        return Err(Error::OutcomeUnknown {
                            method: method.to_owned(),
                            message: format!(
                                "HTTP {status} without a Bitrix24 envelope: {excerpt}"
                            ),
                        });
                    }
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
                        return Ok(object);
                    }
                    Err(e) => e,
                },
            };
            permit.finish().await;
            let kind = error.kind();
            #[cfg(feature = "tracing")]
            {
                let code = error.api().map(|a| a.code.to_string());
                trace_event!(
                    info,
                    method,
                    attempt,
                    kind = ?kind,
                    code = code.as_deref().unwrap_or(""),
                    "failed"
                );
            }
            match kind {
                ErrorKind::RateLimited => Counters::add(&counters.rate_limited, 1),
                ErrorKind::OperatingTimeLimit => Counters::add(&counters.operating_limited, 1),
                _ => {}
            }
            // A batch of reads that timed out may be heavy: it is sent once more at most.
            if matches!(
                &error,
                Error::Transport {
                    kind: TransportErrorKind::Timeout,
                    ..
                }
            ) {
                timeouts += 1;
                if timeouts > 1 && method.eq_ignore_ascii_case("batch") {
                    return Err(error);
                }
            }
            let expired = error.api().is_some_and(|a| a.code.is("expired_token"));
            if expired && inner.auth.is_oauth() && !refreshed {
                refreshed = true;
                inner
                    .auth
                    .refresh(generation, inner.transport.as_ref())
                    .await?;
                Counters::add(&counters.retries, 1);
                trace_event!(info, method, attempt, "retry after a token refresh");
                continue;
            }
            let retry = match kind {
                ErrorKind::RateLimited => {
                    // The portal's own refusal says its bucket is full; a 429 page of a
                    // proxy says nothing about it: a plain pause and a repeat.
                    if matches!(error, Error::Api(_)) {
                        inner.limiter.bucket_full().await;
                    }
                    true
                }
                // Held until the budget resets (or for a short probe when no recent answer
                // said when), then tried once more: one call never loops for many minutes.
                ErrorKind::OperatingTimeLimit if !operating_retried => {
                    operating_retried = true;
                    inner.limiter.method_blocked(method).await;
                    true
                }
                ErrorKind::OperatingTimeLimit => false,
                ErrorKind::Transport => {
                    let too_large = matches!(
                        &error,
                        Error::Transport {
                            kind: TransportErrorKind::TooLarge,
                            ..
                        }
                    );
                    !too_large && read
                        || matches!(
                            &error,
                            Error::Transport {
                                kind: TransportErrorKind::Connect,
                                ..
                            }
                        )
                }
                // A deleted portal or a manual block does not heal by asking again.
                ErrorKind::Server => {
                    read && !error
                        .api()
                        .is_some_and(|a| a.code.is("PORTAL_DELETED") || a.code.is("OVERLOAD_LIMIT"))
                }
                _ => false,
            };
            if !retry || attempt >= inner.retry.max_retries {
                return Err(error);
            }
            attempt += 1;
            Counters::add(&counters.retries, 1);
            // Exponential pause with jitter; after a limit error the limiter adds its own
            // wait (a full bucket, or a blocked method) on the next round.
            let delay = inner.retry.delay(attempt);
            trace_event!(
                info,
                method,
                attempt,
                delay_ms = super::stats::millis(delay),
                kind = ?kind,
                "retry"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// What the REST 3.0 calls (`v3.rs`) send through: transport, credentials, limiter,
    /// retry policy, method table.
    pub(crate) fn parts(
        &self,
    ) -> (
        &dyn Transport,
        &Auth,
        &Arc<Limiter>,
        &RetryPolicy,
        &'static [MethodInfo],
    ) {
        let i = &self.inner;
        (
            i.transport.as_ref(),
            &i.auth,
            &i.limiter,
            &i.retry,
            i.methods,
        )
    }

    /// Reads an answer: the envelope object of a success, or the error it carries.
    fn read_answer(
        &self,
        method: &str,
        status: u16,
        bytes: &[u8],
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let not_envelope = |bytes: &[u8]| Error::Http {
            method: method.to_owned(),
            status,
            excerpt: self
                .inner
                .auth
                .scrub(&cut(&String::from_utf8_lossy(bytes), 200)),
        };
        let Ok(serde_json::Value::Object(mut object)) =
            serde_json::from_slice::<serde_json::Value>(bytes)
        else {
            return Err(not_envelope(bytes));
        };
        let error = object.get("error").filter(|e| !e.is_null());
        let empty_error = error.is_some_and(|e| e.as_str() == Some(""));
        if let Some(code) = error.filter(|_| !(empty_error && object.contains_key("result"))) {
            let code = ErrorCode::from_json(code);
            let description = match object.remove("error_description") {
                Some(serde_json::Value::String(s)) => s,
                None | Some(serde_json::Value::Null) => String::new(),
                Some(other) => other.to_string(),
            };
            return Err(Error::Api(Box::new(ApiError {
                method: method.to_owned(),
                status,
                code,
                description: self.inner.auth.scrub(&cut(&description, 500)),
                validation: Vec::new(),
            })));
        }
        if !object.contains_key("result") || !(200..300).contains(&status) {
            return Err(not_envelope(bytes));
        }
        Ok(object)
    }
}

impl ClientBuilder {
    fn new(auth: Result<(Auth, String), Error>) -> ClientBuilder {
        ClientBuilder {
            auth,
            transport: None,
            limits: Limits::standard(),
            retry: RetryPolicy::default(),
            timeouts: None,
            methods: &[],
            allow_http: false,
            max_response_bytes: super::transport::DEFAULT_MAX_RESPONSE_BYTES,
            sync: None,
            #[cfg(feature = "redis")]
            shared: None,
        }
    }
}

/// Serializes a request to JSON parameters.
pub(crate) fn to_params<M: serde::Serialize>(
    wire: &str,
    request: &M,
) -> Result<serde_json::Value, Error> {
    serde_json::to_value(request).map_err(|e| params_error(wire, &e))
}

/// Not generic, so compiled once rather than for every request type.
fn params_error(wire: &str, e: &serde_json::Error) -> Error {
    Error::Decode(Box::new(DecodeError {
        method: wire.to_owned(),
        part: Part::Params,
        path: "params".into(),
        message: format!("cannot be written as JSON: {e}"),
        excerpt: String::new(),
    }))
}

/// Rejects anything that is not a dotted wire name before it reaches a URL.
pub(crate) fn check_method_name(method: &str) -> Result<(), Error> {
    let valid = !method.is_empty()
        && method.len() <= 200
        && method
            .split('.')
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "{:?} is not a method wire name (dot-separated letters, digits and `_`)",
            cut(method, 80)
        )))
    }
}

pub(crate) fn envelope<T: Loose>(
    method: &str,
    mut object: serde_json::Map<String, serde_json::Value>,
) -> Result<Envelope<T>, Error> {
    let result = object.remove("result").unwrap_or(serde_json::Value::Null);
    let result = decode_value::<T>(method, Part::Result, &result)?;
    let (next, total, time) = envelope_rest(method, object)?;
    Ok(Envelope {
        result,
        next,
        total,
        time,
        replayed: false,
    })
}

/// `next`, `total` and `time` of an envelope (not generic, so compiled once).
#[allow(clippy::type_complexity)]
fn envelope_rest(
    method: &str,
    mut object: serde_json::Map<String, serde_json::Value>,
) -> Result<(Option<i64>, Option<i64>, Option<Time>), Error> {
    let mut take = |key: &str| object.remove(key).unwrap_or(serde_json::Value::Null);
    // A write has run once it has a result: odd `next`/`total`/`time` figures around it
    // are ignored rather than turned into an error that invites a repeat.
    let lenient = !is_read(method);
    let next = decode_value::<Option<i64>>(method, Part::Envelope, &take("next"))
        .or_else(|e| if lenient { Ok(None) } else { Err(e) })?;
    let total = decode_value::<Option<i64>>(method, Part::Envelope, &take("total"))
        .or_else(|e| if lenient { Ok(None) } else { Err(e) })?;
    let time = decode_value::<Option<Time>>(method, Part::Envelope, &take("time"))
        .or_else(|e| if lenient { Ok(None) } else { Err(e) })?;
    Ok((next, total, time))
}

/// Runs `call` inside a `bitrix24.call` span naming the method (and `api = "v3"` for REST
/// 3.0) with the feature `tracing`; without it, runs it as it is.
pub(crate) async fn in_call_span<T>(
    method: &str,
    v3: bool,
    call: impl std::future::Future<Output = T>,
) -> T {
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument;
        let span = if v3 {
            tracing::info_span!(target: "bitrix24", "bitrix24.call", method, api = "v3")
        } else {
            tracing::info_span!(target: "bitrix24", "bitrix24.call", method)
        };
        call.instrument(span).await
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (method, v3);
        call.await
    }
}
