//! The `application_token` check (`events/safe-event-handlers.md`): the token arrives with
//! `ONAPPINSTALL` and must match on every later event of that portal; `ONAPPUNINSTALL`
//! carries no OAuth tokens, so the token is its only check.

use super::{EventError, RawEvent};
use crate::auth::SaveError;
use crate::transport::BoxFuture;

/// Where the application token of each portal is kept (by `member_id`). The app's token
/// store implements it; so can any map.
pub trait ApplicationTokens: Send + Sync {
    /// The application token stored for the portal `member_id`, `None` when there is none.
    fn application_token<'a>(
        &'a self,
        member_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SaveError>>;
}

/// Application tokens known in advance, by `member_id`: what an outgoing webhook needs.
///
/// An outgoing webhook is set up in the portal's own interface, not installed, so no
/// `ONAPPINSTALL` ever brings its token: the portal shows it (the webhook's "application
/// token" field, made when the webhook is saved), and the handler is configured with it, say
/// from an environment variable. Its events carry only `domain`, `client_endpoint`,
/// `server_endpoint`, `member_id` and `application_token` in `auth`, no OAuth tokens.
///
/// ```
/// use bitrix24_runtime::events::{RawEvent, StaticTokens, verify_token};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let tokens = StaticTokens::new().with("a1b2c3", "token-from-the-portal");
/// let body = b"event=ONCRMDEALADD&data[FIELDS][ID]=7&auth[member_id]=a1b2c3&auth[application_token]=token-from-the-portal";
/// let event = RawEvent::from_form(body).unwrap();
/// verify_token(&event, &tokens).await.unwrap();
/// assert_eq!(event.fields_id(), Some(7));
/// # });
/// ```
#[derive(Clone, Default)]
pub struct StaticTokens(std::collections::BTreeMap<String, String>);

impl StaticTokens {
    /// No tokens: every event is refused as `UnknownPortal`.
    pub fn new() -> StaticTokens {
        StaticTokens::default()
    }

    /// Adds (or replaces) the token of the portal `member_id`.
    pub fn with(mut self, member_id: impl Into<String>, token: impl Into<String>) -> StaticTokens {
        self.0.insert(member_id.into(), token.into());
        self
    }
}

/// Names the portals, never their tokens.
impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl ApplicationTokens for StaticTokens {
    fn application_token<'a>(
        &'a self,
        member_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SaveError>> {
        Box::pin(async move { Ok(self.0.get(member_id).cloned()) })
    }
}

/// Compares two byte strings in time that depends only on their lengths, not on where they
/// differ (so a forger cannot learn a token byte by byte from response times). `subtle`'s
/// comparison, which keeps the optimiser from turning it into an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Checks `event` against the application token stored for its portal: the event must name
/// its portal (`auth[member_id]`), carry a token, and that token must equal the stored one.
pub async fn verify_token(
    event: &RawEvent,
    store: &(impl ApplicationTokens + ?Sized),
) -> Result<(), EventError> {
    let member_id = event
        .member_id()
        .ok_or(EventError::Missing {
            key: "auth[member_id]",
        })?
        .to_owned();
    let Some(sent) = event
        .auth
        .application_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return Err(EventError::NoToken { member_id });
    };
    let stored = store
        .application_token(&member_id)
        .await
        .map_err(|e| EventError::Store {
            message: crate::error::cut(&e.to_string(), 300),
        })?;
    let Some(stored) = stored.filter(|t| !t.is_empty()) else {
        return Err(EventError::UnknownPortal { member_id });
    };
    if constant_time_eq(sent.as_bytes(), stored.as_bytes()) {
        Ok(())
    } else {
        Err(EventError::Forged { member_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"abc\0", b"abc"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[tokio::test]
    async fn refuses_forged_unknown_and_tokenless_events() {
        let store = StaticTokens::new().with("m1", "good-token");
        assert_eq!(format!("{store:?}"), r#"{"m1"}"#, "Debug names no token");
        let ev = |body: &str| RawEvent::from_form(body.as_bytes()).unwrap();
        verify_token(
            &ev("event=X&auth[member_id]=m1&auth[application_token]=good-token"),
            &store,
        )
        .await
        .unwrap();
        let forged = verify_token(
            &ev("event=X&auth[member_id]=m1&auth[application_token]=bad-token"),
            &store,
        )
        .await
        .unwrap_err();
        assert_eq!(
            forged,
            EventError::Forged {
                member_id: "m1".into()
            }
        );
        assert!(
            !forged.to_string().contains("token=") && !forged.to_string().contains("good-token")
        );
        let other = verify_token(
            &ev("event=X&auth[member_id]=m2&auth[application_token]=good-token"),
            &store,
        )
        .await
        .unwrap_err();
        assert_eq!(
            other,
            EventError::UnknownPortal {
                member_id: "m2".into()
            }
        );
        let none = verify_token(&ev("event=X&auth[member_id]=m1"), &store)
            .await
            .unwrap_err();
        assert_eq!(
            none,
            EventError::NoToken {
                member_id: "m1".into()
            }
        );
        let anon = verify_token(&ev("event=X&auth[application_token]=good-token"), &store)
            .await
            .unwrap_err();
        assert_eq!(
            anon,
            EventError::Missing {
                key: "auth[member_id]"
            }
        );
    }
}
