//! The HTTP client: one portal, one incoming webhook.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::Method;
use super::error::{ApiError, DecodeError, Error, ErrorCode, Part, cut, decode_value};
use super::loose::Loose;

/// A connection to one Bitrix24 portal through an incoming webhook.
///
/// Cheap to clone (clones share one connection pool) and safe to use from many tasks.
/// Its `Debug` output shows the portal's address but never the webhook's token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `https://portal/rest/<user>/<token>/`: secret, never printed.
    base: String,
    /// The token alone, to scrub it from anything the portal echoes back.
    token: String,
    /// `https://portal`: safe to print.
    portal: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("portal", &self.inner.portal)
            .field("auth", &"webhook (token hidden)")
            .finish()
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
}

/// The `time` member of an answer: when the portal ran the method and for how long.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[non_exhaustive]
pub struct Time {
    /// Unix time the portal started the request, in seconds.
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub start: Option<f64>,
    /// Unix time the portal finished the request, in seconds.
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub finish: Option<f64>,
    /// `finish - start`, in seconds.
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub duration: Option<f64>,
    /// Seconds spent running the method itself.
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub processing: Option<f64>,
    /// Start time as an ISO 8601 string.
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub date_start: Option<String>,
    /// Finish time as an ISO 8601 string.
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub date_finish: Option<String>,
    /// Seconds of server time this method has used in the current window (the portal
    /// blocks a method that uses too much).
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub operating: Option<f64>,
    /// Unix time at which `operating` starts again from zero.
    #[serde(default, deserialize_with = "crate::runtime::loose::de")]
    pub operating_reset_at: Option<f64>,
}

impl Loose for Time {
    fn deserialize_loose<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        super::loose::object(deserializer)
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    /// A client for an incoming-webhook URL, `https://<portal>/rest/<user id>/<token>/`.
    ///
    /// Fails with [`Error::InvalidConfig`] when the URL does not have that shape; the
    /// message never repeats the URL, since it holds the token.
    pub fn from_webhook(url: &str) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot build the HTTP client: {e}")))?;
        Client::with_http_client(url, http)
    }

    /// Like [`Client::from_webhook`], with an HTTP client of your own (proxies, timeouts,
    /// a shared connection pool).
    pub fn with_http_client(url: &str, http: reqwest::Client) -> Result<Client, Error> {
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
        let mut portal = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
        if let Some(port) = parsed.port() {
            portal.push_str(&format!(":{port}"));
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: format!("{portal}/rest/{user}/{token}/"),
                token: (*token).to_owned(),
                portal,
            }),
        })
    }

    /// Calls a method and returns its typed `result`.
    pub async fn call<M: Method>(&self, request: &M) -> Result<M::Response, Error> {
        self.call_as(M::NAME, request).await
    }

    /// Calls a method under another wire name (an alias) with the same request type.
    pub async fn call_as<M: Method>(&self, wire: &str, request: &M) -> Result<M::Response, Error> {
        Ok(self.call_envelope_as(wire, request).await?.result)
    }

    /// Calls a method and returns the whole answer: the typed `result` and, on paginated
    /// methods, `next` and `total`.
    pub async fn call_envelope<M: Method>(
        &self,
        request: &M,
    ) -> Result<Envelope<M::Response>, Error> {
        self.call_envelope_as(M::NAME, request).await
    }

    /// [`Client::call_envelope`] under another wire name (an alias).
    pub async fn call_envelope_as<M: Method>(
        &self,
        wire: &str,
        request: &M,
    ) -> Result<Envelope<M::Response>, Error> {
        let body = serde_json::to_vec(request).map_err(|e| {
            Error::Decode(Box::new(DecodeError {
                method: wire.to_owned(),
                part: Part::Params,
                path: "params".into(),
                message: format!("cannot be written as JSON: {e}"),
                excerpt: String::new(),
            }))
        })?;
        let answer = self.send(wire, body).await?;
        envelope(wire, answer)
    }

    /// Calls any method by wire name with untyped parameters; the `result` stays JSON.
    pub async fn call_raw(
        &self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<Envelope<serde_json::Value>, Error> {
        let body = serde_json::to_vec(params)
            .map_err(|e| Error::InvalidConfig(format!("{method}: parameters are not JSON: {e}")))?;
        let answer = self.send(method, body).await?;
        envelope(method, answer)
    }

    /// POSTs a JSON body to `<webhook>/<method>.json` and returns the envelope object, or the
    /// error the answer carries.
    async fn send(
        &self,
        method: &str,
        body: Vec<u8>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let valid = !method.is_empty()
            && method.split('.').all(|s| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        if !valid {
            return Err(Error::InvalidConfig(format!(
                "{:?} is not a method wire name (dot-separated letters, digits and `_`)",
                cut(method, 80)
            )));
        }
        let url = format!("{}{method}.json", self.inner.base);
        let transport = |e: reqwest::Error| Error::Transport {
            method: method.to_owned(),
            source: e.without_url(),
        };
        let response = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        let not_envelope = |bytes: &[u8]| Error::Http {
            method: method.to_owned(),
            status,
            excerpt: self.scrub(&cut(&String::from_utf8_lossy(bytes), 200)),
        };
        let Ok(serde_json::Value::Object(mut object)) =
            serde_json::from_slice::<serde_json::Value>(&bytes)
        else {
            return Err(not_envelope(&bytes));
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
                description: self.scrub(&description),
            })));
        }
        if !object.contains_key("result") {
            return Err(not_envelope(&bytes));
        }
        Ok(object)
    }

    /// Replaces the webhook token wherever the portal echoed it back.
    fn scrub(&self, text: &str) -> String {
        if self.inner.token.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.inner.token, "***")
        }
    }
}

fn envelope<T: Loose>(
    method: &str,
    mut object: serde_json::Map<String, serde_json::Value>,
) -> Result<Envelope<T>, Error> {
    let take = |object: &mut serde_json::Map<String, serde_json::Value>, key: &str| {
        object.remove(key).unwrap_or(serde_json::Value::Null)
    };
    let result = take(&mut object, "result");
    let result = decode_value::<T>(method, Part::Result, &result)?;
    let next = decode_value::<Option<i64>>(method, Part::Envelope, &take(&mut object, "next"))?;
    let total = decode_value::<Option<i64>>(method, Part::Envelope, &take(&mut object, "total"))?;
    let time = decode_value::<Option<Time>>(method, Part::Envelope, &take(&mut object, "time"))?;
    Ok(Envelope {
        result,
        next,
        total,
        time,
    })
}
