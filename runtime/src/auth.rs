//! Credentials: an incoming webhook, or an OAuth 2 application with tokens that are
//! refreshed once, for all tasks, when the portal says they expired.

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::error::{ApiError, Error, ErrorCode, cut};
use super::transport::{HttpMethod, HttpRequest, Transport};

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

/// Called with the new tokens after every refresh, so they can be stored; the old refresh
/// token stops working once the new one is issued.
pub type TokenCallback = Arc<dyn Fn(&OAuthTokens) + Send + Sync>;

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
        base: String,
        token: String,
    },
    OAuth(Box<OAuth>),
}

pub(crate) struct OAuth {
    /// `https://portal/rest/`, with a trailing slash.
    endpoint: String,
    /// `https://oauth.bitrix.info/oauth/token/`.
    token_url: String,
    client_id: String,
    client_secret: String,
    state: Mutex<TokenState>,
    /// Held while a refresh runs, so that tasks which saw the same expired token wait for
    /// one refresh instead of starting their own.
    refresh: tokio::sync::Mutex<()>,
    on_refresh: Option<TokenCallback>,
    /// The last failed refresh and the generation it tried to replace, so tasks waiting on
    /// the same expired token get its error instead of trying again one by one.
    failed: Mutex<Option<(Generation, Error)>>,
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
                base: format!("{portal}/rest/{user}/{token}/"),
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
                endpoint: base,
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
                    url: format!("{base}{method}.json"),
                    body: to_body(method, params)?,
                },
                0,
            )),
            Auth::OAuth(o) => {
                let (token, generation) = {
                    let s = lock(&o.state);
                    (s.tokens.access_token.clone(), s.generation)
                };
                let mut url = format!("{}{method}.json", o.endpoint);
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
        // Only a refusal is remembered (a bad refresh token stays bad); after a transport
        // failure the next call tries again.
        if let Err(e) = &result {
            if e.kind() == super::error::ErrorKind::Auth {
                *lock(&o.failed) = Some((seen, e.clone()));
            }
        }
        result
    }

    async fn refresh_now(
        &self,
        o: &OAuth,
        refresh_token: &str,
        transport: &dyn Transport,
    ) -> Result<(), Error> {
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
            let code = answer
                .error
                .as_ref()
                .map(ErrorCode::from_json)
                .unwrap_or_else(|| ErrorCode::Text("invalid_grant".into()));
            return Err(Error::Api(Box::new(ApiError {
                method: WHAT.into(),
                status: response.status,
                code,
                description: self.scrub(
                    &answer
                        .error_description
                        .unwrap_or_else(|| "the token answer holds no tokens".into()),
                ),
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
        }
        if let Some(callback) = &o.on_refresh {
            callback(&tokens);
        }
        Ok(())
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
