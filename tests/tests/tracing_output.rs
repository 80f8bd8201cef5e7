//! The captured `tracing` output of calls, a retry and a token refresh: it names the
//! method and the attempt and holds no secret. A test binary of its own with one test: a
//! subscriber set for one thread misses events whose call sites other tests running at
//! the same time registered first (`tracing` caches each call site's interest).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24_fake_portal::{Config, FakePortal, Fault, FaultKind};
use bitrix24_runtime::{Client, OAuthConfig, OAuthTokens, RetryPolicy};
use serde_json::json;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

const LIMIT: Duration = Duration::from_secs(30);

fn fast_retries(n: u32) -> RetryPolicy {
    RetryPolicy::new(n, Duration::from_millis(5), Duration::from_millis(10))
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn the_trace_names_methods_attempts_and_refreshes_but_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("bitrix24", tracing::Level::DEBUG),
            ),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(Config::default()).await.unwrap();
        portal.seed_list("crm.deal.list", bitrix24_fake_portal::deals(3));
        portal.inject(Fault {
            method: Some("crm.deal.list".into()),
            kind: FaultKind::ServerError,
            every: 1,
            times: 1,
        });
        // A webhook client: a failed attempt, a retry, an answer.
        let webhook = Client::webhook(&portal.webhook_url())
            .retry(fast_retries(3))
            .build()
            .unwrap();
        webhook.call_raw("crm.deal.list", &json!({})).await.unwrap();
        // An OAuth client whose token expired: a refresh, then the call again.
        let (access, refresh) = portal.issue_tokens();
        portal.expire_access_tokens();
        let oauth = Client::oauth(OAuthConfig {
            client_endpoint: portal.client_endpoint(),
            server_endpoint: portal.server_endpoint(),
            client_id: portal.config().client_id.clone(),
            client_secret: portal.config().client_secret.clone(),
            tokens: OAuthTokens {
                access_token: access.clone(),
                refresh_token: refresh.clone(),
                expires: None,
            },
            on_refresh: None,
        })
        .retry(fast_retries(3))
        .build()
        .unwrap();
        oauth.call_raw("crm.deal.list", &json!({})).await.unwrap();
        assert_eq!(oauth.stats().token_refreshes, 1);
        assert_eq!(oauth.stats().retries, 1, "the repeat after the refresh");
        let rotated = oauth.oauth_tokens().unwrap();
        let text = captured.text();
        for expected in [
            "bitrix24.call",
            "method=\"crm.deal.list\"",
            "attempt=1",
            "retry",
            "failed",
            "INTERNAL_SERVER_ERROR",
            "expired_token",
            "token refresh",
            "answered",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        let secrets = [
            portal.config().webhook_token.as_str(),
            portal.config().client_secret.as_str(),
            access.as_str(),
            refresh.as_str(),
            rotated.access_token.as_str(),
            rotated.refresh_token.as_str(),
        ];
        for secret in secrets {
            assert!(!secret.is_empty());
            assert!(!text.contains(secret), "a secret in the trace:\n{text}");
        }
        assert!(!text.contains("/rest/"), "a URL in the trace:\n{text}");
    })
    .await
    .unwrap();
}
