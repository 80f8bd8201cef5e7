//! A server-side application installed on many portals: the OAuth authorisation-code
//! exchange, a [`TokenStore`] (in memory, or SQLite with the `sqlite` feature), one
//! [`Client`](crate::Client) per portal (its own limiter; tokens from the store, rotated tokens stored
//! before use), and [`App::receive`], which parses, verifies and routes every event:
//! `ONAPPINSTALL` stores the application token once its credentials check out against the
//! portal, `ONAPPUNINSTALL` is accepted on the token alone and forgets the portal, any other
//! event must carry the token stored for its portal.

mod registry;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
#[cfg(feature = "axum")]
pub mod web;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

pub use registry::{App, AppBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::MemoryStore;

use crate::auth::{OAuthTokens, SaveError};
use crate::error::{ApiError, Error, ErrorCode, cut};
use crate::events::{ApplicationTokens, EventError, EventPayload, RawEvent};
use crate::transport::{BoxFuture, HttpMethod, HttpRequest, Transport};

/// The application's own credentials and the authorisation server it trusts.
///
/// `Debug` never shows the client secret.
#[derive(Clone)]
pub struct AppConfig {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// The authorisation server tokens are exchanged and refreshed at
    /// (`https://oauth.bitrix.info/`). Taken from here, never from an event or a stored
    /// record, so the client secret only ever goes to this server.
    pub oauth_server: String,
}

impl AppConfig {
    /// Credentials for the cloud authorisation server `https://oauth.bitrix.info/`.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> AppConfig {
        AppConfig {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            oauth_server: "https://oauth.bitrix.info/".into(),
        }
    }
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("oauth_server", &self.oauth_server)
            .finish()
    }
}

/// What is stored for one portal the application is installed on.
///
/// `Debug` shows the portal, never a token.
#[derive(Clone, PartialEq, Eq)]
pub struct PortalRecord {
    /// The portal's unique id (the key).
    pub member_id: String,
    /// The portal's address (`some-domain.bitrix24.ru`).
    pub domain: String,
    /// The portal's REST base (`https://some-domain.bitrix24.ru/rest/`).
    pub client_endpoint: String,
    /// The authorisation server the portal named (kept for reference; refreshes go to
    /// [`AppConfig::oauth_server`]).
    pub server_endpoint: String,
    /// The token every event of this portal must carry; `None` before the install event.
    pub application_token: Option<String>,
    /// The OAuth tokens.
    pub tokens: OAuthTokens,
}

impl fmt::Debug for PortalRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortalRecord")
            .field("member_id", &self.member_id)
            .field("domain", &self.domain)
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .field(
                "application_token",
                &self.application_token.as_ref().map(|_| "***"),
            )
            .field("tokens", &self.tokens)
            .finish()
    }
}

/// Where the portals' tokens live. Every method is async and may fail; a failure is
/// reported to the caller (a call fails, an event is refused), never swallowed.
pub trait TokenStore: Send + Sync + 'static {
    /// The record of `member_id`, `None` when the application is not installed there.
    fn load<'a>(
        &'a self,
        member_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<PortalRecord>, SaveError>>;
    /// Stores (inserts or replaces) a whole record.
    fn save<'a>(&'a self, record: &'a PortalRecord) -> BoxFuture<'a, Result<(), SaveError>>;
    /// Replaces the tokens of `member_id` with `new` only if its stored refresh token is
    /// still `old_refresh` (compare-and-swap): `Ok(false)` when another process rotated
    /// them first, or the portal is gone.
    fn rotate<'a>(
        &'a self,
        member_id: &'a str,
        old_refresh: &'a str,
        new: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<bool, SaveError>>;
    /// Forgets `member_id` (the uninstall event).
    fn remove<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<(), SaveError>>;
}

impl<T: TokenStore + ?Sized> ApplicationTokens for T {
    fn application_token<'a>(
        &'a self,
        member_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SaveError>> {
        Box::pin(async move {
            Ok(self
                .load(member_id)
                .await?
                .and_then(|r| r.application_token))
        })
    }
}

/// The outcome of an event that [`App::receive`] accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum Received<E = RawEvent> {
    /// `ONAPPINSTALL`: the credentials checked out and the portal is stored.
    Installed { member_id: String, event: RawEvent },
    /// `ONAPPUNINSTALL`: the token matched and the portal is forgotten.
    Uninstalled { member_id: String, event: RawEvent },
    /// Any other event, verified against its portal's application token.
    Event { member_id: String, event: E },
}

impl<E> Received<E> {
    /// The portal the event came from.
    pub fn member_id(&self) -> &str {
        match self {
            Received::Installed { member_id, .. }
            | Received::Uninstalled { member_id, .. }
            | Received::Event { member_id, .. } => member_id,
        }
    }

    /// Turns the verified event into a typed one.
    pub fn typed<T: EventPayload>(self) -> Result<Received<T>, EventError>
    where
        E: Into<RawEvent>,
    {
        Ok(match self {
            Received::Installed { member_id, event } => Received::Installed { member_id, event },
            Received::Uninstalled { member_id, event } => {
                Received::Uninstalled { member_id, event }
            }
            Received::Event { member_id, event } => Received::Event {
                member_id,
                event: T::from_raw(event.into())?,
            },
        })
    }
}

/// The `/oauth/token/` answer of a code exchange.
fn read_token_answer(
    what: &str,
    status: u16,
    body: &[u8],
    scrub: &dyn Fn(&str) -> String,
) -> Result<PortalRecord, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Error::Http {
        method: what.into(),
        status,
        excerpt: scrub(&cut(&String::from_utf8_lossy(body), 200)),
    })?;
    let text = |k: &str| match value.get(k) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if let Some(code) = value.get("error").filter(|e| !e.is_null()) {
        return Err(Error::Api(Box::new(ApiError {
            method: what.into(),
            status,
            code: ErrorCode::from_json(code),
            description: scrub(&cut(&text("error_description"), 300)),
            validation: Vec::new(),
        })));
    }
    let (access, refresh, member) = (
        text("access_token"),
        text("refresh_token"),
        text("member_id"),
    );
    if access.is_empty() || refresh.is_empty() || member.is_empty() {
        return Err(Error::Http {
            method: what.into(),
            status,
            excerpt: "the token answer lacks access_token, refresh_token or member_id".into(),
        });
    }
    let record = PortalRecord {
        member_id: member,
        domain: text("domain"),
        client_endpoint: text("client_endpoint"),
        server_endpoint: text("server_endpoint"),
        application_token: None,
        tokens: OAuthTokens {
            access_token: access,
            refresh_token: refresh,
            expires: text("expires").parse().ok(),
        },
    };
    Ok(record)
}

/// The authorisation-code exchange: `GET <oauth_server>/oauth/token/?grant_type=
/// authorization_code&client_id&client_secret&code`. The portal's record (without an
/// application token: that comes with the install event), not stored yet.
pub async fn exchange_code(
    config: &AppConfig,
    transport: &dyn Transport,
    code: &str,
) -> Result<PortalRecord, Error> {
    token_grant(config, transport, "authorization_code", "code", code).await
}

/// A refresh at the application's own authorisation server: the new tokens and the portal
/// the server says they belong to (`member_id`, `client_endpoint`).
pub(crate) async fn refresh_at(
    config: &AppConfig,
    transport: &dyn Transport,
    refresh_token: &str,
) -> Result<PortalRecord, Error> {
    token_grant(
        config,
        transport,
        "refresh_token",
        "refresh_token",
        refresh_token,
    )
    .await
}

async fn token_grant(
    config: &AppConfig,
    transport: &dyn Transport,
    grant: &str,
    key: &str,
    code: &str,
) -> Result<PortalRecord, Error> {
    const WHAT: &str = "oauth.token";
    let server = config.oauth_server.trim_end_matches('/');
    let secrets = [config.client_secret.clone(), code.to_owned()];
    let scrub = |t: &str| {
        let mut t = t.to_owned();
        for s in &secrets {
            if s.len() >= 4 {
                t = t.replace(s.as_str(), "***");
            }
        }
        t
    };
    let url = format!(
        "{server}/oauth/token/?grant_type={grant}&client_id={}&client_secret={}&{key}={}",
        crate::auth::percent(&config.client_id),
        crate::auth::percent(&config.client_secret),
        crate::auth::percent(code),
    );
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
            message: scrub(&e.message),
        })?;
    let mut record = read_token_answer(WHAT, response.status, &response.body, &scrub)?;
    record.tokens.expires = record.tokens.expires.filter(|e| *e > 0);
    Ok(record)
}

/// Shared handle to a store.
pub type SharedStore = Arc<dyn TokenStore>;
