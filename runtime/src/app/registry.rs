//! [`App`]: the portal registry (one [`Client`] per portal) and the event entry point.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::{
    AppConfig, PortalRecord, Received, SharedStore, TokenStore, exchange_code, refresh_at,
};
use crate::auth::{OAuthConfig, OAuthTokens, SaveError, TokenSync};
use crate::events::{
    EventError, EventPayload, FormLimits, ON_APP_INSTALL, ON_APP_UNINSTALL, RawEvent, verify_token,
};
use crate::registry::MethodInfo;
use crate::transport::{BoxFuture, ReqwestTransport, Transport};
use crate::{Client, Error, Limits, RetryPolicy};

/// An application installed on many portals. Cheap to clone (an `Arc`).
///
/// * [`App::client`]: one [`Client`] per portal, built once from the store, with its own
///   limiter; its rotated tokens are stored (compare-and-swap) before they are used, and
///   when another process refreshed first it reloads theirs.
/// * [`App::receive`]: parses, verifies and routes an event body.
/// * [`App::exchange_code`]: the authorisation-code step of the OAuth flow.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    config: AppConfig,
    store: SharedStore,
    transport: Arc<dyn Transport>,
    limits: Limits,
    retry: RetryPolicy,
    methods: &'static [MethodInfo],
    allow_http: bool,
    form_limits: FormLimits,
    clients: Mutex<BTreeMap<String, Client>>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("config", &self.inner.config)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

/// Builds an [`App`].
pub struct AppBuilder {
    config: AppConfig,
    store: SharedStore,
    transport: Option<Arc<dyn Transport>>,
    limits: Limits,
    retry: RetryPolicy,
    methods: &'static [MethodInfo],
    allow_http: bool,
    form_limits: FormLimits,
}

impl AppBuilder {
    /// Sends every portal's requests through this transport (default: one `reqwest` pool).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> AppBuilder {
        self.transport = Some(transport);
        self
    }
    /// The limits of each portal's client (each portal gets its own limiter).
    pub fn limits(mut self, limits: Limits) -> AppBuilder {
        self.limits = limits;
        self
    }
    /// The retry policy of each portal's client.
    pub fn retry(mut self, retry: RetryPolicy) -> AppBuilder {
        self.retry = retry;
        self
    }
    /// The method table for spec rates of calls by name (`bitrix24::api::registry::METHODS`).
    pub fn methods(mut self, methods: &'static [MethodInfo]) -> AppBuilder {
        self.methods = methods;
        self
    }
    /// See [`crate::ClientBuilder::allow_http`].
    pub fn allow_http(mut self, allow: bool) -> AppBuilder {
        self.allow_http = allow;
        self
    }
    /// Caps on event bodies (default [`FormLimits::default`]).
    pub fn form_limits(mut self, limits: FormLimits) -> AppBuilder {
        self.form_limits = limits;
        self
    }
    /// The app, or why the transport cannot be built.
    pub fn build(self) -> Result<App, Error> {
        let transport: Arc<dyn Transport> = match self.transport {
            Some(t) => t,
            None => Arc::new(ReqwestTransport::new()?),
        };
        Ok(App {
            inner: Arc::new(Inner {
                config: self.config,
                store: self.store,
                transport,
                limits: self.limits,
                retry: self.retry,
                methods: self.methods,
                allow_http: self.allow_http,
                form_limits: self.form_limits,
                clients: Mutex::new(BTreeMap::new()),
            }),
        })
    }
}

/// [`TokenSync`] for one portal of a store.
struct StoreSync {
    store: SharedStore,
    member_id: String,
}

impl TokenSync for StoreSync {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, SaveError>> {
        Box::pin(async move { Ok(self.store.load(&self.member_id).await?.map(|r| r.tokens)) })
    }

    fn rotate<'a>(
        &'a self,
        old_refresh: &'a str,
        new: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<bool, SaveError>> {
        self.store.rotate(&self.member_id, old_refresh, new)
    }
}

fn store_error(e: SaveError) -> EventError {
    EventError::Store {
        message: crate::error::cut(&e.to_string(), 300),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl App {
    /// A builder for the application `config` keeping its tokens in `store`.
    pub fn builder(config: AppConfig, store: Arc<dyn TokenStore>) -> AppBuilder {
        AppBuilder {
            config,
            store,
            transport: None,
            limits: Limits::standard(),
            retry: RetryPolicy::default(),
            methods: &[],
            allow_http: false,
            form_limits: FormLimits::default(),
        }
    }

    /// The caps on event bodies.
    pub fn form_limits(&self) -> &FormLimits {
        &self.inner.form_limits
    }

    /// The token store.
    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// The client of portal `member_id`: the same one (same limiter, same tokens) for every
    /// call until the portal is reinstalled or uninstalled. `Config` error when the
    /// application is not installed there.
    pub async fn client(&self, member_id: &str) -> Result<Client, Error> {
        if let Some(c) = self.clients().get(member_id) {
            return Ok(c.clone());
        }
        let record = self
            .inner
            .store
            .load(member_id)
            .await
            .map_err(|e| Error::TokenSave(crate::error::cut(&e.to_string(), 300)))?
            .ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "the application is not installed on portal {member_id} (nothing stored)"
                ))
            })?;
        let client = self.build_client(&record, true)?;
        // Two tasks may build one at the same time: the first stored wins, both use it.
        Ok(self
            .clients()
            .entry(member_id.to_owned())
            .or_insert(client)
            .clone())
    }

    /// Drops the cached client of `member_id` (the next [`App::client`] reads the store).
    pub fn forget(&self, member_id: &str) {
        self.clients().remove(member_id);
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Client>> {
        self.inner.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn build_client(&self, record: &PortalRecord, synced: bool) -> Result<Client, Error> {
        let i = &self.inner;
        let mut builder = Client::oauth(OAuthConfig {
            client_endpoint: record.client_endpoint.clone(),
            // Refreshes go to the server the app trusts, never to one an event named.
            server_endpoint: i.config.oauth_server.clone(),
            client_id: i.config.client_id.clone(),
            client_secret: i.config.client_secret.clone(),
            tokens: record.tokens.clone(),
            on_refresh: None,
        })
        .shared_transport(i.transport.clone())
        .limits(i.limits.clone())
        .retry(i.retry.clone())
        .methods(i.methods)
        .allow_http(i.allow_http);
        if synced {
            builder = builder.token_sync(Arc::new(StoreSync {
                store: i.store.clone(),
                member_id: record.member_id.clone(),
            }));
        }
        builder.build()
    }

    /// The authorisation-code exchange (the OAuth redirect's `code`): the portal's tokens,
    /// stored (keeping an application token stored before), and the record.
    pub async fn exchange_code(&self, code: &str) -> Result<PortalRecord, Error> {
        let i = &self.inner;
        let mut record = exchange_code(&i.config, i.transport.as_ref(), code).await?;
        let save = |e: SaveError| Error::TokenSave(crate::error::cut(&e.to_string(), 300));
        if let Some(old) = i.store.load(&record.member_id).await.map_err(save)? {
            record.application_token = old.application_token;
        }
        i.store.save(&record).await.map_err(save)?;
        self.forget(&record.member_id);
        Ok(record)
    }

    /// Parses, verifies and routes one event body (see [`Received`]):
    ///
    /// * `ONAPPINSTALL` must carry the portal's tokens and application token; the access
    ///   token is checked against the portal (`app.info` at the event's `client_endpoint`,
    ///   whose host must be the event's `domain`) and the refresh token at the app's own
    ///   authorisation server, which must name the same `member_id`, before anything is
    ///   stored;
    /// * `ONAPPUNINSTALL` is accepted on the stored application token alone, and forgets
    ///   the portal;
    /// * any other event must carry the application token stored for its `member_id`.
    pub async fn receive(&self, body: &[u8]) -> Result<Received, EventError> {
        let event = RawEvent::from_form_with(body, &self.inner.form_limits)?;
        self.receive_event(event).await
    }

    /// [`App::receive`], with the event typed by `E` (the generated `Event` enum of a scope).
    pub async fn receive_as<E: EventPayload>(
        &self,
        body: &[u8],
    ) -> Result<Received<E>, EventError> {
        self.receive(body).await?.typed()
    }

    /// [`App::receive`] for an event parsed already.
    pub async fn receive_event(&self, event: RawEvent) -> Result<Received, EventError> {
        if event.is(ON_APP_INSTALL) {
            return self.install(event).await;
        }
        verify_token(&event, self.inner.store.as_ref()).await?;
        let member_id = event.member_id().unwrap_or_default().to_owned();
        if event.is(ON_APP_UNINSTALL) {
            self.inner
                .store
                .remove(&member_id)
                .await
                .map_err(store_error)?;
            self.forget(&member_id);
            return Ok(Received::Uninstalled { member_id, event });
        }
        Ok(Received::Event { member_id, event })
    }

    async fn install(&self, event: RawEvent) -> Result<Received, EventError> {
        let a = &event.auth;
        let member_id = event
            .member_id()
            .ok_or(EventError::Missing {
                key: "auth[member_id]",
            })?
            .to_owned();
        let need = |v: &Option<String>, key: &'static str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or(EventError::Missing { key })
        };
        let application_token = need(&a.application_token, "auth[application_token]")?;
        let domain = need(&a.domain, "auth[domain]")?;
        let client_endpoint = need(&a.client_endpoint, "auth[client_endpoint]")?;
        let tokens = a.tokens(Some(unix_now())).ok_or(EventError::Missing {
            key: "auth[access_token]",
        })?;
        let rejected = |reason: String| EventError::InstallRejected {
            member_id: member_id.clone(),
            reason,
        };
        // The endpoint must be the portal the event names.
        let host = reqwest::Url::parse(&client_endpoint)
            .ok()
            .and_then(|u| {
                let h = u.host_str()?.to_owned();
                Some((h.clone(), u.port().map(|p| format!("{h}:{p}"))))
            })
            .ok_or_else(|| rejected("auth[client_endpoint] is not a URL".into()))?;
        let domain_host = domain.trim().to_ascii_lowercase();
        if domain_host != host.0 && Some(&domain_host) != host.1.as_ref() {
            return Err(rejected(
                "auth[client_endpoint] is not on the portal auth[domain] names".into(),
            ));
        }
        let mut record = PortalRecord {
            member_id: member_id.clone(),
            domain,
            client_endpoint,
            server_endpoint: a.server_endpoint.clone().unwrap_or_default(),
            application_token: Some(application_token),
            tokens,
        };
        // Check the access token against the portal before trusting anything in the event.
        let check = self
            .build_client(&record, false)
            .map_err(|e| rejected(e.to_string()))?;
        check
            .call_raw("app.info", &serde_json::json!({}))
            .await
            .map_err(|e| rejected(e.to_string()))?;
        if let Some(t) = check.oauth_tokens() {
            record.tokens = t;
        }
        // The endpoint came from the event, so `app.info` alone proves little: a forger can
        // answer it on a server of their own while naming another portal's member_id. The
        // authorisation server the app trusts says which portal the tokens belong to (one
        // refresh; the new tokens are the ones stored).
        if !record.tokens.refresh_token.is_empty() {
            let i = &self.inner;
            let answer = refresh_at(
                &i.config,
                i.transport.as_ref(),
                &record.tokens.refresh_token,
            )
            .await
            .map_err(|e| rejected(e.to_string()))?;
            if answer.member_id != member_id {
                return Err(rejected(
                    "the authorisation server says its tokens belong to another portal".into(),
                ));
            }
            record.tokens = answer.tokens;
            if !answer.client_endpoint.is_empty() {
                record.client_endpoint = answer.client_endpoint;
            }
        } else {
            return Err(EventError::Missing {
                key: "auth[refresh_token]",
            });
        }
        self.inner.store.save(&record).await.map_err(store_error)?;
        self.forget(&member_id);
        Ok(Received::Installed { member_id, event })
    }
}
