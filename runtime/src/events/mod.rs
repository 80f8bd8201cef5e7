//! Receiving events: the form body a portal POSTs to a handler, parsed into a [`RawEvent`]
//! and checked against the application token stored for that portal (module `verify`).
//!
//! Delivery (`events/index.md`): a `POST`, `application/x-www-form-urlencoded`, PHP-style
//! nested keys, every value a string:
//! `event=ONCRMDEALADD&event_handler_id=58&data[FIELDS][ID]=134806&ts=1727018926&auth[…]=…`.
//! Events of an application carry OAuth tokens in `auth`; outgoing webhooks carry only
//! `domain`, `client_endpoint`, `server_endpoint`, `member_id` and `application_token`; events
//! caused by a robot or an agent carry no tokens; `ONAPPUNINSTALL` carries no tokens at all.

mod form;
mod offline;
mod verify;

use std::fmt;

use serde_json::Value;

pub use form::{FormError, FormLimits, parse_form};
pub use offline::{OfflineEvent, OfflineEvents};
pub use verify::{ApplicationTokens, StaticTokens, constant_time_eq, verify_token};

use crate::auth::OAuthTokens;

/// The event that tells an application it was installed, with its `application_token`.
pub const ON_APP_INSTALL: &str = "ONAPPINSTALL";
/// The event that tells an application it was removed (no OAuth tokens in it).
pub const ON_APP_UNINSTALL: &str = "ONAPPUNINSTALL";

/// One event as the portal sent it: the name, the handler, the time, the `auth` block and
/// the `data` as JSON (every leaf a string, as on the wire).
///
/// `Debug` never shows a token.
#[derive(Clone, PartialEq)]
pub struct RawEvent {
    /// The event code as sent, in capitals (`ONCRMDEALADD`); compare with
    /// `eq_ignore_ascii_case` or [`RawEvent::is`].
    pub event: String,
    /// `event_handler_id`, when sent.
    pub handler_id: Option<i64>,
    /// `ts`: Unix time the event left the portal's queue, when sent.
    pub ts: Option<i64>,
    /// The `auth` block.
    pub auth: EventAuth,
    /// The `data` block (`{"FIELDS": {"ID": "134806"}}`), `Null` when absent.
    pub data: Value,
}

impl fmt::Debug for RawEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawEvent")
            .field("event", &self.event)
            .field("handler_id", &self.handler_id)
            .field("ts", &self.ts)
            .field("auth", &self.auth)
            .field("data", &self.data)
            .finish()
    }
}

/// The `auth` block of an event. `Debug` shows the portal, never a token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EventAuth {
    /// The portal's unique id; the key every stored token is kept under.
    pub member_id: Option<String>,
    /// The portal's address (`some-domain.bitrix24.ru`).
    pub domain: Option<String>,
    /// The portal's REST base (`https://some-domain.bitrix24.ru/rest/`).
    pub client_endpoint: Option<String>,
    /// The authorisation server (`https://oauth.bitrix.info/rest/`).
    pub server_endpoint: Option<String>,
    /// The token that proves the event comes from the portal. Secret.
    pub application_token: Option<String>,
    /// An OAuth access token, when the event carries one. Secret.
    pub access_token: Option<String>,
    /// An OAuth refresh token (the install event). Secret.
    pub refresh_token: Option<String>,
    /// `expires` (Unix time), when sent.
    pub expires: Option<i64>,
    /// `expires_in` (seconds), when sent.
    pub expires_in: Option<i64>,
    /// The scopes granted, space-separated, when sent.
    pub scope: Option<String>,
    /// The application's status (`L`, `F`, `S`…), when sent.
    pub status: Option<String>,
    /// The user the tokens belong to, when sent.
    pub user_id: Option<i64>,
}

impl fmt::Debug for EventAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |t: &Option<String>| t.as_ref().map(|_| "***");
        f.debug_struct("EventAuth")
            .field("member_id", &self.member_id)
            .field("domain", &self.domain)
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .field("application_token", &hidden(&self.application_token))
            .field("access_token", &hidden(&self.access_token))
            .field("refresh_token", &hidden(&self.refresh_token))
            .field("expires", &self.expires)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("status", &self.status)
            .field("user_id", &self.user_id)
            .finish()
    }
}

impl EventAuth {
    /// The OAuth tokens the event carries (access token, and refresh token when sent), with
    /// `expires` (or `now + expires_in`, when `now` is given).
    pub fn tokens(&self, now: Option<i64>) -> Option<OAuthTokens> {
        let access = self.access_token.clone().filter(|t| !t.is_empty())?;
        Some(OAuthTokens {
            access_token: access,
            refresh_token: self.refresh_token.clone().unwrap_or_default(),
            expires: self.expires.or_else(|| Some(now? + self.expires_in?)),
        })
    }
}

/// Why an event was not accepted. Never holds a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// The body is not a form the parser accepts (too large, too deep, not UTF-8…).
    Form(FormError),
    /// A key the event needs is missing or empty (`event`, `auth[member_id]`…).
    Missing { key: &'static str },
    /// A key holds a value of the wrong shape (`ts=yesterday`, `auth=x`).
    Invalid { key: String, expected: &'static str },
    /// The event carries no `application_token`, so it cannot be checked.
    NoToken { member_id: String },
    /// No application token is stored for this portal: not installed, or another portal.
    UnknownPortal { member_id: String },
    /// The `application_token` differs from the one stored for this portal: forged, or
    /// meant for another application.
    Forged { member_id: String },
    /// The install event's credentials did not check out against the portal.
    InstallRejected { member_id: String, reason: String },
    /// The token store failed.
    Store { message: String },
    /// The event is fine but its `data` does not decode as the typed event expects: `path`
    /// is the form key of the value that does not fit (`data[FIELDS][ID]`, `data` for the
    /// block itself), `message` what was wrong with it (cut to 200 characters).
    Payload {
        event: String,
        path: String,
        message: String,
    },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::Form(e) => write!(f, "event body: {e}"),
            EventError::Missing { key } => write!(f, "event body: `{key}` is missing or empty"),
            EventError::Invalid { key, expected } => {
                write!(f, "event body: `{key}` is not {expected}")
            }
            EventError::NoToken { member_id } => write!(
                f,
                "event for portal {member_id} carries no auth[application_token]; refused"
            ),
            EventError::UnknownPortal { member_id } => write!(
                f,
                "event for portal {member_id}: no application token is stored for it (not installed, or another portal); refused"
            ),
            EventError::Forged { member_id } => write!(
                f,
                "event for portal {member_id}: its application_token does not match the one stored at install; refused as forged"
            ),
            EventError::InstallRejected { member_id, reason } => write!(
                f,
                "install event for portal {member_id}: its credentials did not check out against the portal ({reason}); token not stored"
            ),
            EventError::Store { message } => write!(f, "token store: {message}"),
            EventError::Payload {
                event,
                path,
                message,
            } => write!(f, "event {event}: `{path}`: {message}"),
        }
    }
}

impl std::error::Error for EventError {}

impl From<FormError> for EventError {
    fn from(e: FormError) -> EventError {
        EventError::Form(e)
    }
}

/// A typed event: what the generated `Event` enum of each scope implements (one variant per
/// documented event, and `Unknown(RawEvent)` for the others).
pub trait EventPayload: Sized {
    /// The typed event for `raw`; an event it does not know is not an error (it becomes the
    /// `Unknown` variant), a known event whose `data` does not decode is.
    fn from_raw(raw: RawEvent) -> Result<Self, EventError>;
}

impl EventPayload for RawEvent {
    fn from_raw(raw: RawEvent) -> Result<RawEvent, EventError> {
        Ok(raw)
    }
}

impl RawEvent {
    /// Parses a form body (with [`FormLimits::default`]).
    pub fn from_form(body: &[u8]) -> Result<RawEvent, EventError> {
        RawEvent::from_form_with(body, &FormLimits::default())
    }

    /// Parses a form body under the given limits.
    pub fn from_form_with(body: &[u8], limits: &FormLimits) -> Result<RawEvent, EventError> {
        RawEvent::from_value(parse_form(body, limits)?)
    }

    /// Reads an event from its parsed form (or from the JSON the docs show: numbers are
    /// accepted where the wire sends strings).
    pub fn from_value(value: Value) -> Result<RawEvent, EventError> {
        let Value::Object(mut top) = value else {
            return Err(EventError::Invalid {
                key: "(body)".into(),
                expected: "a set of named fields",
            });
        };
        let event = match top.remove("event") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::String(_)) | None => return Err(EventError::Missing { key: "event" }),
            Some(_) => {
                return Err(EventError::Invalid {
                    key: "event".into(),
                    expected: "a string",
                });
            }
        };
        let handler_id = integer(top.get("event_handler_id"), "event_handler_id")?;
        let ts = integer(top.get("ts"), "ts")?;
        let auth = match top.remove("auth") {
            None | Some(Value::Null) => EventAuth::default(),
            Some(Value::String(s)) if s.is_empty() => EventAuth::default(),
            Some(Value::Object(a)) => EventAuth {
                member_id: string(a.get("member_id"), "auth[member_id]")?,
                domain: string(a.get("domain"), "auth[domain]")?,
                client_endpoint: string(a.get("client_endpoint"), "auth[client_endpoint]")?,
                server_endpoint: string(a.get("server_endpoint"), "auth[server_endpoint]")?,
                application_token: string(a.get("application_token"), "auth[application_token]")?,
                access_token: string(a.get("access_token"), "auth[access_token]")?,
                refresh_token: string(a.get("refresh_token"), "auth[refresh_token]")?,
                expires: integer(a.get("expires"), "auth[expires]")?,
                expires_in: integer(a.get("expires_in"), "auth[expires_in]")?,
                scope: string(a.get("scope"), "auth[scope]")?,
                status: string(a.get("status"), "auth[status]")?,
                user_id: integer(a.get("user_id"), "auth[user_id]")?,
            },
            Some(_) => {
                return Err(EventError::Invalid {
                    key: "auth".into(),
                    expected: "a set of auth[…] fields",
                });
            }
        };
        Ok(RawEvent {
            event,
            handler_id,
            ts,
            auth,
            data: top.remove("data").unwrap_or(Value::Null),
        })
    }

    /// Whether this is the event `name` (case-insensitive: `onCrmDealAdd` = `ONCRMDEALADD`).
    pub fn is(&self, name: &str) -> bool {
        self.event.eq_ignore_ascii_case(name)
    }

    /// The portal the event comes from (`auth[member_id]`).
    pub fn member_id(&self) -> Option<&str> {
        self.auth.member_id.as_deref().filter(|m| !m.is_empty())
    }

    /// `data[FIELDS][ID]` as an integer: the entity of most CRM and task events.
    pub fn fields_id(&self) -> Option<i64> {
        let id = self.data.get("FIELDS")?.get("ID")?;
        match id {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The `data` block decoded as `T` (through the loose decoders: `"134806"` fits an
    /// integer). An absent `data` is read as an empty one when `T` does not take `null`:
    /// PHP's form encoding drops an empty array, so an event whose `data` is empty sends no
    /// `data[…]` key at all. An error names the form key (`data[FIELDS][ID]`).
    pub fn data_as<T: crate::loose::Loose>(&self) -> Result<T, EventError> {
        let decoded = match T::from_loose(&self.data) {
            Err(_) if self.data.is_null() => T::from_loose(&Value::Object(serde_json::Map::new())),
            other => other,
        };
        decoded.map_err(|e| payload_error(&self.event, &e))
    }
}

/// An event whose `data` was decoded into its documented payload type `T` (the variants of
/// the generated `Event` enums hold one): `data` typed, `raw` the event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedEvent<T> {
    /// The `data` block, typed.
    pub data: T,
    /// The event as received (its `data` still as JSON).
    pub raw: RawEvent,
}

impl<T: crate::loose::Loose> TypedEvent<T> {
    /// Decodes `raw.data` as `T` (see [`RawEvent::data_as`]); a value that does not fit is
    /// an [`EventError::Payload`] naming the event and the form key.
    pub fn decode(raw: RawEvent) -> Result<TypedEvent<T>, EventError> {
        Ok(TypedEvent {
            data: raw.data_as()?,
            raw,
        })
    }
}

impl<T> From<TypedEvent<T>> for RawEvent {
    fn from(e: TypedEvent<T>) -> RawEvent {
        e.raw
    }
}

/// The error of a payload that does not decode (not generic, so compiled once): the form key
/// of the value (`data[FIELDS][ID]`) and the message, both cut to 200 characters.
fn payload_error(event: &str, e: &crate::loose::Misfit) -> EventError {
    use crate::loose::Segment;
    let mut path = String::from("data");
    for seg in e.path() {
        match seg {
            Segment::Index(i) => path.push_str(&format!("[{i}]")),
            Segment::Key(k) => {
                path.push('[');
                path.push_str(k);
                path.push(']');
            }
        }
    }
    EventError::Payload {
        event: cut(event),
        path: cut(&path),
        message: cut(e.message()),
    }
}

/// At most 200 characters, control characters replaced (the text may come from the body).
fn cut(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(200).is_some() {
        out.push('…');
    }
    out
}

fn string(v: Option<&Value>, key: &'static str) -> Result<Option<String>, EventError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(EventError::Invalid {
            key: key.into(),
            expected: "a string",
        }),
    }
}

fn integer(v: Option<&Value>, key: &'static str) -> Result<Option<i64>, EventError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| EventError::Invalid {
            key: key.into(),
            expected: "an integer",
        }),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(EventError::Invalid {
            key: key.into(),
            expected: "an integer",
        }),
        Some(_) => Err(EventError::Invalid {
            key: key.into(),
            expected: "an integer",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "event=ONCRMDEALADD&event_handler_id=58&data%5BFIELDS%5D%5BID%5D=134806&ts=1727018926&auth%5Baccess_token%5D=SECRETACCESS&auth%5Bexpires%5D=1727022526&auth%5Bdomain%5D=x.bitrix24.ru&auth%5Bmember_id%5D=m1&auth%5Bapplication_token%5D=SECRETAPP";

    #[test]
    fn reads_the_documented_event() {
        let e = RawEvent::from_form(BODY.as_bytes()).unwrap();
        assert!(e.is("onCrmDealAdd"));
        assert_eq!(e.handler_id, Some(58));
        assert_eq!(e.ts, Some(1_727_018_926));
        assert_eq!(e.fields_id(), Some(134_806));
        assert_eq!(e.member_id(), Some("m1"));
        assert_eq!(e.auth.domain.as_deref(), Some("x.bitrix24.ru"));
        let t = e.auth.tokens(None).unwrap();
        assert_eq!(t.expires, Some(1_727_022_526));
        let shown = format!("{e:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn errors_name_the_key() {
        let e = RawEvent::from_form(b"ts=1").unwrap_err();
        assert_eq!(e, EventError::Missing { key: "event" });
        let e = RawEvent::from_form(b"event=X&ts=yesterday").unwrap_err();
        assert!(e.to_string().contains("`ts`"), "{e}");
        let e = RawEvent::from_form(b"event=X&auth=plain").unwrap_err();
        assert!(e.to_string().contains("`auth`"), "{e}");
        let e = RawEvent::from_form(b"event=X&auth[member_id][a]=1").unwrap_err();
        assert!(e.to_string().contains("auth[member_id]"), "{e}");
        // An uninstall carries no tokens: still an event.
        let e = RawEvent::from_form(
            b"event=ONAPPUNINSTALL&auth[member_id]=m&auth[application_token]=t",
        )
        .unwrap();
        assert!(e.auth.tokens(None).is_none());
    }

    /// `{FIELDS: {ID: integer}}`, written as generated payload types are.
    #[derive(Debug, PartialEq)]
    struct Payload {
        id: Option<i64>,
    }

    impl crate::loose::Loose for Payload {
        fn from_loose(v: &Value) -> Result<Self, crate::loose::Misfit> {
            #[derive(Debug, PartialEq)]
            struct Fields {
                id: i64,
            }
            impl crate::loose::Loose for Fields {
                fn from_loose(v: &Value) -> Result<Self, crate::loose::Misfit> {
                    let o = crate::loose::Object::new(v)?;
                    let id = o.req("ID")?;
                    Ok(Fields {
                        id: o.need(id, "ID")?,
                    })
                }
            }
            let o = crate::loose::Object::new(v)?;
            let fields: Option<Fields> = o.opt("FIELDS")?;
            Ok(Payload {
                id: fields.map(|f| f.id),
            })
        }
    }

    #[test]
    fn typed_events_decode_loosely_and_errors_name_the_form_key() {
        let e =
            TypedEvent::<Payload>::decode(RawEvent::from_form(BODY.as_bytes()).unwrap()).unwrap();
        assert_eq!(e.data.id, Some(134_806));
        assert_eq!(e.raw.handler_id, Some(58));
        let bad = RawEvent::from_form(b"event=ONCRMDEALADD&data[FIELDS][ID]=12abc").unwrap();
        let err = TypedEvent::<Payload>::decode(bad).unwrap_err();
        let EventError::Payload {
            event,
            path,
            message,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            (event.as_str(), path.as_str()),
            ("ONCRMDEALADD", "data[FIELDS][ID]")
        );
        assert!(message.contains("12abc"), "{message}");
        assert!(err.to_string().contains("`data[FIELDS][ID]`"), "{err}");
        let missing = RawEvent::from_form(b"event=X&data[FIELDS][NAME]=a").unwrap();
        let err = missing.data_as::<Payload>().unwrap_err();
        assert!(
            matches!(&err, EventError::Payload { path, message, .. }
                if path == "data[FIELDS]" && message.contains("`ID`")),
            "{err:?}"
        );
        // No `data[…]` key at all (PHP drops an empty array): an empty payload.
        let none = RawEvent::from_form(b"event=X").unwrap();
        assert_eq!(none.data_as::<Payload>().unwrap(), Payload { id: None });
        assert_eq!(none.data_as::<Value>().unwrap(), Value::Null);
        // A hostile key or value is cut and has no control characters in the error.
        let long = format!("event=X&data[FIELDS][ID]={}%0A", "9x".repeat(500));
        let err = RawEvent::from_form(long.as_bytes())
            .unwrap()
            .data_as::<Payload>()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 600 && !text.contains('\n'), "{text}");
    }

    #[test]
    fn arbitrary_bodies_never_panic() {
        let pieces: &[&[u8]] = &[
            b"event=",
            b"ONCRMDEALADD",
            b"&",
            b"auth[",
            b"member_id",
            b"]",
            b"=",
            b"ts",
            b"[]",
            b"data[FIELDS][ID]",
            b"%5B",
            b"%FF",
            b"1",
            b"application_token",
            b"auth",
            b"+",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let mut body = Vec::new();
            for _ in 0..rng.usize(0..12) {
                body.extend_from_slice(pieces[rng.usize(..pieces.len())]);
            }
            let _ = RawEvent::from_form(&body).map(|e| format!("{e:?}"));
        }
    }
}
