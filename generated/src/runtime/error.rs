//! The one error type of the crate.

use std::fmt;

/// What went wrong with a call. Every variant names the method it happened in.
///
/// No variant ever holds a webhook or OAuth token: transport errors are stripped of their
/// URL before they are stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The portal answered with `{"error": ..., "error_description": ...}`.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The answer (or the parameters handed to a call by name) did not fit the method's
    /// generated type.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// The portal answered with something that is not a Bitrix24 envelope at all (an HTML
    /// error page, say).
    #[error("{method}: the portal answered HTTP {status} without a Bitrix24 envelope: {excerpt}")]
    Http {
        /// The method's wire name.
        method: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        excerpt: String,
    },
    /// The request never got an answer: connection refused, timeout, TLS failure...
    #[error("{method}: transport error: {source}")]
    Transport {
        /// The method's wire name.
        method: String,
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// No generated method has this wire name or alias, or its scope's feature is off.
    #[error("unknown method `{0}` (no spec has this name or alias, or its scope is not enabled)")]
    UnknownMethod(String),
    /// The client was given an unusable configuration (a malformed webhook URL, say).
    #[error("invalid client configuration: {0}")]
    InvalidConfig(String),
}

impl Error {
    /// Whether sending the same request again may succeed: rate-limit and overload answers,
    /// server errors and transport failures. Note that a retried write may run twice when
    /// its first answer was lost; the client never retries writes on its own.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => {
                e.code.is("QUERY_LIMIT_EXCEEDED")
                    || e.code.is("OPERATION_TIME_LIMIT")
                    || e.code.is("INTERNAL_SERVER_ERROR")
                    || e.status == 503
                    || e.status == 429
            }
            Error::Http { status, .. } => *status >= 500 || *status == 429,
            Error::Transport { source, .. } => source.is_connect() || source.is_timeout(),
            Error::Decode(_) | Error::UnknownMethod(_) | Error::InvalidConfig(_) => false,
        }
    }

    /// The API error, when the portal answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// An error answer of the portal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method}: the portal answered {code} (HTTP {status}): {description}")]
pub struct ApiError {
    /// The method's wire name.
    pub method: String,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The `error` member.
    pub code: ErrorCode,
    /// The `error_description` member (empty when absent).
    pub description: String,
}

/// The `error` member of an error answer: usually a string code, sometimes a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A code sent as a string, e.g. `expired_token` or `ERROR_CORE` (may be empty).
    Text(String),
    /// A code sent as a JSON number.
    Number(i64),
}

impl ErrorCode {
    /// Whether this is the given code, ignoring ASCII case (portals send both
    /// `expired_token` and `NO_AUTH_FOUND`); a number matches its decimal text.
    pub fn is(&self, code: &str) -> bool {
        match self {
            ErrorCode::Text(t) => t.trim().eq_ignore_ascii_case(code),
            ErrorCode::Number(n) => code.trim().parse::<i64>() == Ok(*n),
        }
    }

    /// Reads the `error` member of an answer.
    pub(crate) fn from_json(value: &serde_json::Value) -> ErrorCode {
        match value {
            serde_json::Value::String(s) => ErrorCode::Text(s.clone()),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(n) => ErrorCode::Number(n),
                None => ErrorCode::Text(n.to_string()),
            },
            other => ErrorCode::Text(other.to_string()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Text(t) if t.is_empty() => f.write_str("an empty error code"),
            ErrorCode::Text(t) => write!(f, "`{t}`"),
            ErrorCode::Number(n) => write!(f, "error {n}"),
        }
    }
}

/// Which value a decode error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The `result` of an answer.
    Result,
    /// The parameters of a call by name (see [`crate::api::registry::validate_params`]).
    Params,
    /// The envelope around the result (`time`, `next`, `total`).
    Envelope,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Result => "result",
            Part::Params => "params",
            Part::Envelope => "envelope",
        })
    }
}

/// A value that did not fit its generated type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method}: {part} does not fit its type at `{path}`: {message}{}", excerpt_note(.excerpt))]
pub struct DecodeError {
    /// The method's wire name.
    pub method: String,
    /// Which value it was.
    pub part: Part,
    /// The JSON path of the offending value, starting with the part (`result.ID`,
    /// `params.fields.CHAT_ID`, `result[3].TITLE`).
    pub path: String,
    /// What serde said.
    pub message: String,
    /// The offending value as JSON, cut to at most 80 characters (empty when unknown).
    pub excerpt: String,
}

fn excerpt_note(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(" (found {excerpt})")
    }
}

/// Decodes `value` as `T` loosely, reporting the JSON path of the first misfit.
pub(crate) fn decode_value<T: crate::runtime::loose::Loose>(
    method: &str,
    part: Part,
    value: &serde_json::Value,
) -> Result<T, Error> {
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(value, &mut track);
    match T::deserialize_loose(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = track.path();
            let excerpt = find(value, &path).map(short_json).unwrap_or_default();
            Err(Error::Decode(Box::new(DecodeError {
                method: method.to_owned(),
                part,
                path: join_path(part, &path),
                message: e.to_string(),
                excerpt,
            })))
        }
    }
}

fn join_path(part: Part, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = part.to_string();
    for seg in path {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                let plain = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                if plain {
                    out.push('.');
                    out.push_str(key);
                } else {
                    out.push_str(&format!("[{}]", serde_json::Value::from(key.as_str())));
                }
            }
            Segment::Enum { variant } => out.push_str(&format!("::{variant}")),
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

fn find<'a>(
    value: &'a serde_json::Value,
    path: &serde_path_to_error::Path,
) -> Option<&'a serde_json::Value> {
    use serde_path_to_error::Segment;
    let mut v = value;
    for seg in path {
        v = match (seg, v) {
            (Segment::Seq { index }, serde_json::Value::Array(a)) => a.get(*index)?,
            (Segment::Seq { index }, serde_json::Value::Object(m)) => m.get(&index.to_string())?,
            (Segment::Map { key }, serde_json::Value::Object(m)) => m.get(key)?,
            _ => return None,
        };
    }
    Some(v)
}

/// JSON text of a value, cut at 80 characters.
pub(crate) fn short_json(value: &serde_json::Value) -> String {
    cut(&value.to_string(), 80)
}

/// The first `max` characters of `text`, with `...` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}
