//! Credentials: an incoming webhook, or an OAuth 2 application with tokens that are
//! refreshed once, for all tasks, when the portal says they expired.

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::error::{ApiError, Error, ErrorCode, cut};
use super::transport::{BoxFuture, HttpMethod, HttpRequest, Transport};

/// A pair of OAuth tokens as the authorisation server hands them out.
///
/// `Debug` never shows the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthTokens {
    /// The access token (valid one hour).
    pub access_token: String,
    /// The refresh token (valid 180 days; replaced on every refresh).
    pub refresh_token: String,
    /// Unix time the access token expires, when the server said.
    pub expires: Option<i64>,
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("access_token", &"***")
            .field("refresh_token", &"***")
            .field("expires", &self.expires)
            .finish()
    }
}

/// Why saving tokens failed (whatever the callback returns; never printed with a token).
pub type SaveError = Box<dyn std::error::Error + Send + Sync>;

/// Called with the new tokens after every refresh, so they can be stored; the old refresh
/// token stops working once the new one is issued. Build one with [`token_callback`].
pub type TokenCallback =
    Arc<dyn Fn(OAuthTokens) -> BoxFuture<'static, Result<(), SaveError>> + Send + Sync>;

/// A [`TokenCallback`] from an async function that stores the tokens and may fail:
/// `token_callback(|t| async move { db.save(t).await })`.
pub fn token_callback<F, Fut, E>(save: F) -> TokenCallback
where
    F: Fn(OAuthTokens) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: Into<SaveError>,
{
    Arc::new(move |tokens| {
        let fut = save(tokens);
        Box::pin(async move { fut.await.map_err(Into::into) })
    })
}

/// Keeps one client's OAuth tokens in step with a store that other processes share
/// ([`ClientBuilder::token_sync`](crate::ClientBuilder::token_sync)). With it, a refresh
/// first looks whether another process rotated the tokens already (and takes those), saves
/// the rotated tokens **before** they are used (compare-and-swap on the refresh token), and
/// when the token server refuses the refresh token because another process used it first,
/// reloads the winner's tokens instead of failing.
pub trait TokenSync: Send + Sync + 'static {
    /// The tokens stored now, `None` when the store has none.
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, SaveError>>;
    /// Stores `new` if the stored refresh token is still `old_refresh`: `Ok(true)` when
    /// stored, `Ok(false)` when another process rotated first (nothing written).
    fn rotate<'a>(
        &'a self,
        old_refresh: &'a str,
        new: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<bool, SaveError>>;
}

/// What an OAuth 2 application needs to call a portal.
///
/// `Debug` never shows the tokens or the client secret.
#[derive(Clone)]
pub struct OAuthConfig {
    /// The portal's REST base, the `client_endpoint` of the token answer
    /// (`https://portal.bitrix24.com/rest/`).
    pub client_endpoint: String,
    /// The authorisation server, from the token answer's `server_endpoint`
    /// (`https://oauth.bitrix.info/rest/`); tokens are refreshed at `<its host>/oauth/token/`.
    pub server_endpoint: String,
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// The current tokens.
    pub tokens: OAuthTokens,
    /// Receives the new tokens after each refresh.
    pub on_refresh: Option<TokenCallback>,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("tokens", &self.tokens)
            .finish()
    }
}

/// The credentials a client runs with.
pub(crate) enum Auth {
    Webhook {
        /// `https://portal/rest/<user>/<token>/`: secret.
        base: Mutex<String>,
        token: String,
    },
    OAuth(Box<OAuth>),
}

pub(crate) struct OAuth {
    /// `https://portal/rest/`, with a trailing slash; replaced by the `client_endpoint` of
    /// a refresh answer (a portal that moved).
    endpoint: Mutex<String>,
    /// Whether a new `client_endpoint` may be plain `http://` on a host that is not loopback.
    allow_http: bool,
    /// `https://oauth.bitrix.info/oauth/token/`.
    token_url: String,
    client_id: String,
    client_secret: String,
    state: Mutex<TokenState>,
    /// Held while a refresh runs, so that tasks which saw the same expired token wait for
    /// one refresh instead of starting their own.
    refresh: tokio::sync::Mutex<()>,
    on_refresh: Option<TokenCallback>,
    /// The last refused refresh and the generation it tried to replace, so tasks waiting on
    /// the same expired token get its error instead of trying again one by one.
    failed: Mutex<Option<(Generation, Error)>>,
    /// Tokens of a refresh that the callback has not saved yet (it failed or panicked).
    unsaved: Mutex<Option<(Generation, OAuthTokens)>>,
    /// Held while the callback runs, so that saves happen one at a time, newest last.
    saving: tokio::sync::Mutex<()>,
    /// Refreshes that got new tokens, and refreshes that failed (`Client::stats`).
    refreshes: std::sync::atomic::AtomicU64,
    refresh_failures: std::sync::atomic::AtomicU64,
    /// A store shared with other processes (see [`TokenSync`]).
    sync: Option<Arc<dyn TokenSync>>,
    /// Tokens the token server issued that `sync` could not store yet (and the refresh
    /// token they replace): not used until they are stored.
    pending: Mutex<Option<(String, OAuthTokens, Option<String>)>>,
}

struct TokenState {
    tokens: OAuthTokens,
    /// Counts refreshes; a task that saw generation `g` expire refreshes only if no other
    /// task has moved past `g` meanwhile.
    generation: u64,
    /// Every access token ever used by this client, to scrub them from text.
    old: Vec<String>,
}

/// Which credentials a request was built with, to tell a stale token from a bad one.
pub(crate) type Generation = u64;

impl Auth {
    pub(crate) fn webhook(url: &str) -> Result<(Auth, String), Error> {
        let bad = || {
            Error::InvalidConfig(
                "the webhook URL must look like https://<portal>/rest/<user id>/<token>/".into(),
            )
        };
        let parsed = reqwest::Url::parse(url.trim()).map_err(|_| bad())?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(bad());
        }
        let segments: Vec<&str> = parsed
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let [rest, user, token] = segments.as_slice() else {
            return Err(bad());
        };
        if *rest != "rest" || user.is_empty() || !user.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let portal = origin(&parsed);
        Ok((
            Auth::Webhook {
                base: Mutex::new(format!("{portal}/rest/{user}/{token}/")),
                token: (*token).to_owned(),
            },
            portal,
        ))
    }

    pub(crate) fn oauth(config: OAuthConfig) -> Result<(Auth, String), Error> {
        let endpoint = reqwest::Url::parse(config.client_endpoint.trim())
            .map_err(|_| Error::InvalidConfig("the OAuth client_endpoint is not a URL".into()))?;
        let server = reqwest::Url::parse(config.server_endpoint.trim())
            .map_err(|_| Error::InvalidConfig("the OAuth server_endpoint is not a URL".into()))?;
        for u in [&endpoint, &server] {
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(Error::InvalidConfig(
                    "OAuth endpoints must be http(s) URLs with a host".into(),
                ));
            }
        }
        if config.tokens.access_token.is_empty() && config.tokens.refresh_token.is_empty() {
            return Err(Error::InvalidConfig(
                "OAuth needs an access token or a refresh token".into(),
            ));
        }
        let portal = origin(&endpoint);
        let mut base = endpoint.as_str().to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok((
            Auth::OAuth(Box::new(OAuth {
                endpoint: Mutex::new(base),
                allow_http: false,
                token_url: format!("{}/oauth/token/", origin(&server)),
                client_id: config.client_id,
                client_secret: config.client_secret,
                state: Mutex::new(TokenState {
                    tokens: config.tokens,
                    generation: 0,
                    old: Vec::new(),
                }),
                refresh: tokio::sync::Mutex::new(()),
                on_refresh: config.on_refresh,
                failed: Mutex::new(None),
                unsaved: Mutex::new(None),
                refreshes: Default::default(),
                refresh_failures: Default::default(),
                saving: tokio::sync::Mutex::new(()),
                sync: None,
                pending: Mutex::new(None),
            })),
            portal,
        ))
    }

    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Auth::Webhook { .. } => "webhook (token hidden)",
            Auth::OAuth(_) => "oauth (tokens hidden)",
        }
    }

    /// The request for `method` with `params`, and the token generation it carries.
    pub(crate) fn request(
        &self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<(HttpRequest, Generation), Error> {
        match self {
            Auth::Webhook { base, .. } => Ok((
                HttpRequest {
                    method: HttpMethod::Post,
                    url: format!("{}{method}.json", lock(base)),
                    body: to_body(method, params)?,
                    headers: Vec::new(),
                },
                0,
            )),
            Auth::OAuth(o) => {
                let (token, generation) = {
                    let s = lock(&o.state);
                    (s.tokens.access_token.clone(), s.generation)
                };
                let mut url = format!("{}{method}.json", lock(&o.endpoint));
                let body = match params {
                    serde_json::Value::Object(m) => {
                        let mut m = m.clone();
                        m.insert("auth".into(), serde_json::Value::String(token));
                        to_body(method, &serde_json::Value::Object(m))?
                    }
                    other => {
                        url.push_str("?auth=");
                        url.push_str(&percent(&token));
                        to_body(method, other)?
                    }
                };
                Ok((
                    HttpRequest {
                        method: HttpMethod::Post,
                        url,
                        body,
                        headers: Vec::new(),
                    },
                    generation,
                ))
            }
        }
    }

    /// The REST 3.0 request for `method`: `https://portal/rest/api/<user>/<token>/<method>`
    /// for a webhook, `<client_endpoint>api/<method>` with `auth` in the JSON body for OAuth.
    /// REST 3.0 reads JSON bodies only, never the query string.
    pub(crate) fn request_v3(
        &self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<(HttpRequest, Generation), Error> {
        match self {
            Auth::Webhook { base, .. } => Ok((
                HttpRequest {
                    method: HttpMethod::Post,
                    // `base` is `<origin>/rest/<user>/<token>/`; the origin holds no `/rest/`.
                    url: format!("{}{method}", lock(base).replacen("/rest/", "/rest/api/", 1)),
                    body: to_body(method, params)?,
                    headers: Vec::new(),
                },
                0,
            )),
            Auth::OAuth(o) => {
                let (token, generation) = {
                    let s = lock(&o.state);
                    (s.tokens.access_token.clone(), s.generation)
                };
                let mut m = match params {
                    serde_json::Value::Object(m) => m.clone(),
                    serde_json::Value::Null => serde_json::Map::new(),
                    _ => {
                        return Err(Error::InvalidConfig(format!(
                            "{method}: REST 3.0 parameters of an OAuth call must be a JSON object (the token goes in its `auth` key)"
                        )));
                    }
                };
                m.insert("auth".into(), serde_json::Value::String(token));
                Ok((
                    HttpRequest {
                        method: HttpMethod::Post,
                        url: format!("{}api/{method}", lock(&o.endpoint)),
                        body: to_body(method, &serde_json::Value::Object(m))?,
                        headers: Vec::new(),
                    },
                    generation,
                ))
            }
        }
    }

    pub(crate) fn is_oauth(&self) -> bool {
        matches!(self, Auth::OAuth(_))
    }

    /// Refreshes the tokens unless another task already did since `seen` was handed out.
    /// Exactly one refresh runs however many tasks call this with the same `seen`.
    pub(crate) async fn refresh(
        &self,
        seen: Generation,
        transport: &dyn Transport,
    ) -> Result<(), Error> {
        let Auth::OAuth(o) = self else {
            return Ok(());
        };
        if let Some(sync) = &o.sync {
            let _guard = o.refresh.lock().await;
            return self.refresh_synced(o, sync.as_ref(), seen, transport).await;
        }
        let result = {
            let _guard = o.refresh.lock().await;
            let refresh_token = {
                let s = lock(&o.state);
                if s.generation != seen {
                    return Ok(());
                }
                s.tokens.refresh_token.clone()
            };
            if let Some((generation, e)) = lock(&o.failed).as_ref() {
                if *generation == seen {
                    return Err(e.clone());
                }
            }
            let result = self.refresh_now(o, &refresh_token, transport).await;
            // Only the token server's own refusal is remembered (a bad refresh token stays
            // bad); after a transport failure, a proxy's page or anything else the next
            // call tries again.
            if let Err(e) = &result {
                let refusal = e.api().is_some_and(|a| {
                    [
                        "invalid_grant",
                        "invalid_client",
                        "invalid_request",
                        "invalid_scope",
                        "insufficient_scope",
                        "PAYMENT_REQUIRED",
                    ]
                    .iter()
                    .any(|c| a.code.is(c))
                });
                if refusal {
                    *lock(&o.failed) = Some((seen, e.clone()));
                }
            }
            result
        };
        // The new tokens are in use already; the callback runs outside the refresh lock,
        // and a failed save is kept for the next call (or `Client::flush_tokens`).
        if result.is_ok() {
            let _ = self.save_pending().await;
        }
        result
    }

    /// The token generation to refresh from when there is no access token yet (a config
    /// with a refresh token only); `None` when there is one, or for a webhook.
    pub(crate) fn missing_access(&self) -> Option<Generation> {
        match self {
            Auth::OAuth(o) => {
                let s = lock(&o.state);
                s.tokens.access_token.is_empty().then_some(s.generation)
            }
            Auth::Webhook { .. } => None,
        }
    }

    /// Whether tokens of a refresh wait to be saved.
    pub(crate) fn has_unsaved(&self) -> bool {
        match self {
            Auth::OAuth(o) => lock(&o.unsaved).is_some(),
            Auth::Webhook { .. } => false,
        }
    }

    /// Hands tokens that are not saved yet to the `on_refresh` callback. A callback that
    /// fails or panics leaves them unsaved (and in use), for the next try.
    pub(crate) async fn save_pending(&self) -> Result<(), Error> {
        use futures_util::FutureExt;
        let Auth::OAuth(o) = self else {
            return Ok(());
        };
        let Some(callback) = &o.on_refresh else {
            *lock(&o.unsaved) = None;
            return Ok(());
        };
        let _saving = o.saving.lock().await;
        let Some((generation, tokens)) = lock(&o.unsaved).clone() else {
            return Ok(());
        };
        let outcome =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(tokens))) {
                Ok(fut) => std::panic::AssertUnwindSafe(fut).catch_unwind().await,
                Err(panic) => Err(panic),
            };
        let message = match outcome {
            Ok(Ok(())) => {
                let mut unsaved = lock(&o.unsaved);
                if unsaved.as_ref().is_some_and(|(g, _)| *g == generation) {
                    *unsaved = None;
                }
                return Ok(());
            }
            Ok(Err(e)) => e.to_string(),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format!("the callback panicked: {what}")
            }
        };
        Err(Error::TokenSave(self.scrub(&cut(&message, 300))))
    }

    async fn refresh_now(
        &self,
        o: &OAuth,
        refresh_token: &str,
        transport: &dyn Transport,
    ) -> Result<(), Error> {
        let (tokens, endpoint) = self.fetch_tokens(o, refresh_token, transport).await?;
        self.install(o, tokens, endpoint.as_deref(), o.on_refresh.is_some());
        Ok(())
    }

    /// Token refreshes so far: those that got new tokens, and those that failed. Zero for a
    /// webhook.
    pub(crate) fn refreshes(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        match self {
            Auth::Webhook { .. } => (0, 0),
            Auth::OAuth(o) => (o.refreshes.load(Relaxed), o.refresh_failures.load(Relaxed)),
        }
    }

    /// Asks the token server for new tokens; changes nothing. The new tokens and the
    /// `client_endpoint` of the answer, when it names one. Counted, and reported as a
    /// `token refresh` event (no token in it).
    async fn fetch_tokens(
        &self,
        o: &OAuth,
        refresh_token: &str,
        transport: &dyn Transport,
    ) -> Result<(OAuthTokens, Option<String>), Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let result = self.fetch_tokens_once(o, refresh_token, transport).await;
        let ok = result.is_ok();
        if ok {
            o.refreshes.fetch_add(1, Relaxed);
        } else {
            o.refresh_failures.fetch_add(1, Relaxed);
        }
        crate::stats::trace_event!(info, ok, "token refresh");
        let _ = ok;
        result
    }

    async fn fetch_tokens_once(
        &self,
        o: &OAuth,
        refresh_token: &str,
        transport: &dyn Transport,
    ) -> Result<(OAuthTokens, Option<String>), Error> {
        let url = format!(
            "{}?grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
            o.token_url,
            percent(&o.client_id),
            percent(&o.client_secret),
            percent(refresh_token)
        );
        const WHAT: &str = "oauth.token";
        let response = transport
            .send(HttpRequest {
                method: HttpMethod::Get,
                url,
                body: Vec::new(),
                headers: Vec::new(),
            })
            .await
            .map_err(|e| Error::Transport {
                method: WHAT.into(),
                kind: e.kind,
                message: self.scrub(&e.message),
            })?;
        #[derive(Deserialize)]
        struct Answer {
            access_token: Option<String>,
            refresh_token: Option<String>,
            expires: Option<serde_json::Value>,
            error: Option<serde_json::Value>,
            error_description: Option<String>,
            client_endpoint: Option<String>,
        }
        let answer: Answer = serde_json::from_slice(&response.body).map_err(|_| Error::Http {
            method: WHAT.into(),
            status: response.status,
            excerpt: self.scrub(&cut(&String::from_utf8_lossy(&response.body), 200)),
        })?;
        let (Some(access), Some(refresh), None) = (
            answer.access_token.filter(|t| !t.is_empty()),
            answer.refresh_token.filter(|t| !t.is_empty()),
            answer.error.as_ref().filter(|e| !e.is_null()),
        ) else {
            // Neither tokens nor an error code: not the token server's refusal (a proxy, a
            // misconfigured endpoint), so not remembered.
            let Some(code) = answer.error.as_ref().map(ErrorCode::from_json) else {
                return Err(Error::Http {
                    method: WHAT.into(),
                    status: response.status,
                    excerpt: "the token answer holds neither tokens nor an error code".into(),
                });
            };
            return Err(Error::Api(Box::new(ApiError {
                method: WHAT.into(),
                status: response.status,
                code,
                description: self.scrub(
                    &answer
                        .error_description
                        .unwrap_or_else(|| "the token answer holds no tokens".into()),
                ),
                validation: Vec::new(),
            })));
        };
        let tokens = OAuthTokens {
            access_token: access,
            refresh_token: refresh,
            expires: answer.expires.and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }),
        };
        Ok((tokens, answer.client_endpoint))
    }

    /// Puts `tokens` in use (a new generation); `unsaved` marks them for the callback.
    fn install(&self, o: &OAuth, tokens: OAuthTokens, endpoint: Option<&str>, unsaved: bool) {
        {
            let mut s = lock(&o.state);
            let old = std::mem::replace(&mut s.tokens, tokens.clone());
            // Bounded: keep the last few old tokens for scrubbing.
            s.old.push(old.access_token);
            s.old.push(old.refresh_token);
            if s.old.len() > 16 {
                let extra = s.old.len() - 16;
                s.old.drain(..extra);
            }
            s.generation += 1;
            if unsaved {
                *lock(&o.unsaved) = Some((s.generation, tokens));
            }
        }
        // A portal that moved names its new address: later calls go there.
        if let Some(endpoint) = endpoint
            .and_then(|e| reqwest::Url::parse(e.trim()).ok())
            .filter(|u| u.host_str().is_some() && url_allowed(u, o.allow_http))
        {
            let mut base = endpoint.as_str().to_owned();
            if !base.ends_with('/') {
                base.push('/');
            }
            *lock(&o.endpoint) = base;
        }
    }

    /// The refresh with a shared store (the refresh lock is held): adopt what another
    /// process stored, else rotate and store before use, else reload after a refusal.
    async fn refresh_synced(
        &self,
        o: &OAuth,
        sync: &dyn TokenSync,
        seen: Generation,
        transport: &dyn Transport,
    ) -> Result<(), Error> {
        let store_error = |e: SaveError| Error::TokenSave(self.scrub(&cut(&e.to_string(), 300)));
        let current = {
            let s = lock(&o.state);
            if s.generation != seen {
                return Ok(());
            }
            s.tokens.clone()
        };
        // Tokens issued earlier that could not be stored: store them first.
        let pending = lock(&o.pending).clone();
        if let Some((old, new, endpoint)) = pending {
            if sync.rotate(&old, &new).await.map_err(store_error)? {
                *lock(&o.pending) = None;
                self.install(o, new, endpoint.as_deref(), false);
                return Ok(());
            }
            *lock(&o.pending) = None;
        }
        // Another process may have rotated them already.
        let adopt = |stored: Option<OAuthTokens>| match stored {
            Some(t) if !t.access_token.is_empty() && t.refresh_token != current.refresh_token => {
                self.install(o, t, None, false);
                true
            }
            _ => false,
        };
        if adopt(sync.load().await.map_err(store_error)?) {
            return Ok(());
        }
        match self
            .fetch_tokens(o, &current.refresh_token, transport)
            .await
        {
            Ok((new, endpoint)) => match sync.rotate(&current.refresh_token, &new).await {
                Ok(true) => {
                    self.install(o, new, endpoint.as_deref(), false);
                    Ok(())
                }
                Ok(false) => {
                    if adopt(sync.load().await.map_err(store_error)?) {
                        Ok(())
                    } else {
                        Err(Error::TokenSave(
                            "another process rotated the tokens but the store holds none newer"
                                .into(),
                        ))
                    }
                }
                Err(e) => {
                    *lock(&o.pending) = Some((current.refresh_token.clone(), new, endpoint));
                    Err(store_error(e))
                }
            },
            Err(e) => {
                // `invalid_grant`: the refresh token was used, maybe by another process
                // whose save may still be on its way: look again a few times (bounded, 1 s).
                if e.api().is_some_and(|a| a.code.is("invalid_grant")) {
                    for _ in 0..10 {
                        if adopt(sync.load().await.map_err(store_error)?) {
                            return Ok(());
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
                Err(e)
            }
        }
    }

    /// Keeps the tokens in step with `sync` (see [`TokenSync`]).
    pub(crate) fn set_sync(&mut self, sync: Arc<dyn TokenSync>) {
        if let Auth::OAuth(o) = self {
            o.sync = Some(sync);
        }
    }

    /// The tokens in use now (OAuth only).
    pub(crate) fn tokens(&self) -> Option<OAuthTokens> {
        match self {
            Auth::OAuth(o) => Some(lock(&o.state).tokens.clone()),
            Auth::Webhook { .. } => None,
        }
    }

    /// Replaces every secret this client knows of with `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let mut hide = |secret: &str| {
            if secret.len() >= 4 && out.contains(secret) {
                out = out.replace(secret, "***");
            }
        };
        match self {
            Auth::Webhook { token, .. } => hide(token),
            Auth::OAuth(o) => {
                hide(&o.client_secret);
                let s = lock(&o.state);
                hide(&s.tokens.access_token);
                hide(&s.tokens.refresh_token);
                for t in &s.old {
                    hide(t);
                }
            }
        }
        out
    }
}

impl Auth {
    /// Refuses `http://` URLs of hosts that are not loopback (the webhook code or the
    /// tokens would travel in clear text) unless `allow_http`; remembers the choice for
    /// the `client_endpoint` a refresh may bring.
    pub(crate) fn check_scheme(&mut self, allow_http: bool) -> Result<(), Error> {
        let (urls, what): (Vec<String>, &str) = match self {
            Auth::Webhook { base, .. } => (vec![lock(base).clone()], "the webhook URL"),
            Auth::OAuth(o) => {
                o.allow_http = allow_http;
                (
                    vec![lock(&o.endpoint).clone(), o.token_url.clone()],
                    "an OAuth endpoint",
                )
            }
        };
        for url in urls {
            let ok = reqwest::Url::parse(&url).is_ok_and(|u| url_allowed(&u, allow_http));
            if !ok {
                return Err(Error::InvalidConfig(format!(
                    "{what} uses http:// for a host that is not loopback, which would send secrets in clear text; use https://, or ClientBuilder::allow_http(true) to accept it"
                )));
            }
        }
        Ok(())
    }
}

impl Auth {
    /// A request to `from` was answered, after redirects, at `to`. When only the origin
    /// changed (a renamed portal keeps its paths), later calls go to the new origin
    /// directly.
    pub(crate) fn moved(&self, from: &str, to: &str) {
        let (Ok(from), Ok(to)) = (reqwest::Url::parse(from), reqwest::Url::parse(to)) else {
            return;
        };
        if from.path() != to.path() || from.query() != to.query() || to.host_str().is_none() {
            return;
        }
        let (old, new) = (origin(&from), origin(&to));
        let base = match self {
            Auth::Webhook { base, .. } => base,
            Auth::OAuth(o) => &o.endpoint,
        };
        let mut base = lock(base);
        if let Some(rest) = base.strip_prefix(&old) {
            *base = format!("{new}{rest}");
        }
    }
}

/// Whether requests may go to `url`: `https://`, or `http://` on a loopback host
/// (`127.0.0.0/8`, `::1`, `localhost`) or when plain http is allowed.
pub(crate) fn url_allowed(url: &reqwest::Url, allow_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => {
            allow_http || {
                let host = url.host_str().unwrap_or("");
                let host = host.trim_start_matches('[').trim_end_matches(']');
                host.eq_ignore_ascii_case("localhost")
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        }
        _ => false,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn origin(url: &reqwest::Url) -> String {
    let mut portal = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        portal.push_str(&format!(":{port}"));
    }
    portal
}

fn to_body(method: &str, params: &serde_json::Value) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(params)
        .map_err(|e| Error::InvalidConfig(format!("{method}: parameters are not JSON: {e}")))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
