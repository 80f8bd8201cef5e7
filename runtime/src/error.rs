//! The one error type of the crate.

use std::fmt;

use crate::loose::Segment;

/// What went wrong with a call. Every variant names the method it happened in.
///
/// No variant ever holds a webhook token, an OAuth token or a client secret: everything the
/// portal or the transport says is scrubbed of them before it is stored.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The request never got an answer: connection refused, timeout, connection dropped.
    #[error("{method}: transport error ({kind}): {message}")]
    Transport {
        /// The method's wire name.
        method: String,
        /// Whether the request can have reached the portal.
        kind: TransportErrorKind,
        /// What the transport said, without any URL.
        message: String,
    },
    /// A write was sent but its answer was lost, so it may or may not have run. The client
    /// does not send it again on its own: check the portal's state before repeating it.
    #[error(
        "{method}: the request was sent but its answer was lost ({message}); it may or may not have run, and it was not repeated"
    )]
    OutcomeUnknown {
        /// The method's wire name.
        method: String,
        /// What the transport said, without any URL.
        message: String,
    },
    /// A call of a batch that was never run, because an earlier call failed and the batch
    /// was sent with `halt`.
    #[error("{method}: not run, because an earlier call of the halted batch failed")]
    NotRun {
        /// The method's wire name.
        method: String,
    },
    /// No generated method has this wire name or alias, or its scope's feature is off.
    #[error("unknown method `{0}` (no spec has this name or alias, or its scope is not enabled)")]
    UnknownMethod(String),
    /// The client was given an unusable configuration (a malformed webhook URL, say).
    #[error("invalid client configuration: {0}")]
    InvalidConfig(String),
    /// The tokens of an OAuth refresh could not be saved by the `on_refresh` callback (it
    /// failed or panicked). The new tokens stay in use in memory, and the save is tried
    /// again on the next call and by [`Client::flush_tokens`](crate::Client::flush_tokens).
    #[error(
        "the OAuth tokens of the last refresh were not saved ({0}); they stay in use, and the save is tried again"
    )]
    TokenSave(String),
}

/// Whether a failed request can have reached the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection was made, so the portal never saw the request.
    Connect,
    /// The request timed out; the portal may have run it.
    Timeout,
    /// The connection failed after the request was (perhaps) sent.
    Other,
    /// The answer was larger than the transport reads (`max_response_bytes`); the request
    /// reached the portal and ran.
    TooLarge,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Other => "connection",
            TransportErrorKind::TooLarge => "answer too large",
        })
    }
}

/// The class of an [`Error`], for deciding what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Authentication or permission: `expired_token`, `invalid_token`, `NO_AUTH_FOUND`,
    /// `insufficient_scope`, `WRONG_AUTH_TYPE`, `INVALID_CREDENTIALS`, `ACCESS_DENIED`,
    /// `user_access_error`, or a failed OAuth refresh (`invalid_grant`, `invalid_client`).
    Auth,
    /// The portal's request-rate bucket overflowed (`QUERY_LIMIT_EXCEEDED`), or a proxy
    /// in front of it answered HTTP 429 without an envelope.
    RateLimited,
    /// The method used up its server-time budget (`OPERATION_TIME_LIMIT`).
    OperatingTimeLimit,
    /// The method or the thing asked for does not exist (`ERROR_METHOD_NOT_FOUND`,
    /// `NOT_FOUND`, `*_NOT_FOUND`, HTTP 404).
    NotFound,
    /// A parameter is missing or wrong (`ERROR_ARGUMENT`, `INVALID_ARG_VALUE`,
    /// `ERROR_REQUIRED_PARAMETERS_MISSING`, other HTTP 400 answers).
    Argument,
    /// The portal failed (HTTP 5xx, `INTERNAL_SERVER_ERROR`, a non-envelope answer).
    Server,
    /// Any other error answer of a method.
    Api,
    /// No answer: the connection failed or timed out, or a write's answer was lost.
    Transport,
    /// An answer that does not fit its type.
    Decode,
    /// A call not run because an earlier call of a halted batch failed.
    NotRun,
    /// A problem on this side: a bad URL, an unknown method name.
    Config,
}

const AUTH_CODES: &[&str] = &[
    "expired_token",
    "invalid_token",
    "NO_AUTH_FOUND",
    "insufficient_scope",
    "invalid_scope",
    "WRONG_AUTH_TYPE",
    "INVALID_CREDENTIALS",
    "ACCESS_DENIED",
    "user_access_error",
    "authorization_error",
    "ERROR_OAUTH",
    "NOT_INSTALLED",
    "invalid_grant",
    "invalid_client",
    "invalid_request",
    "PAYMENT_REQUIRED",
];

const ARGUMENT_CODES: &[&str] = &[
    "ERROR_ARGUMENT",
    "INVALID_ARG_VALUE",
    "ERROR_REQUIRED_PARAMETERS_MISSING",
    "ERROR_BATCH_LENGTH_EXCEEDED",
    "ERROR_BATCH_METHOD_NOT_ALLOWED",
    "INVALID_REQUEST",
];

impl ApiError {
    /// The class of this error answer.
    pub fn kind(&self) -> ErrorKind {
        let code = &self.code;
        if let Some(kind) = super::v3::kind_of(code) {
            return kind;
        }
        if AUTH_CODES.iter().any(|c| code.is(c)) {
            ErrorKind::Auth
        } else if code.is("QUERY_LIMIT_EXCEEDED") {
            ErrorKind::RateLimited
        } else if code.is("OPERATION_TIME_LIMIT") {
            ErrorKind::OperatingTimeLimit
        } else if code.is("NOT_FOUND")
            || code.is("ERROR_METHOD_NOT_FOUND")
            || matches!(code, ErrorCode::Text(t) if t.to_ascii_uppercase().ends_with("_NOT_FOUND"))
            || self.status == 404
        {
            ErrorKind::NotFound
        } else if ARGUMENT_CODES.iter().any(|c| code.is(c)) {
            ErrorKind::Argument
        } else if code.is("INTERNAL_SERVER_ERROR")
            || code.is("ERROR_UNEXPECTED_ANSWER")
            || code.is("PORTAL_DELETED")
            || code.is("OVERLOAD_LIMIT")
            || self.status >= 500
        {
            ErrorKind::Server
        } else if self.status == 400 && matches!(code, ErrorCode::Text(t) if t.is_empty()) {
            ErrorKind::Argument
        } else {
            ErrorKind::Api
        }
    }
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api(e) => e.kind(),
            Error::Decode(_) => ErrorKind::Decode,
            Error::Http { status, .. } if *status == 404 => ErrorKind::NotFound,
            // A 429 without an envelope comes from a proxy or gateway, not the portal's
            // budget (that one arrives as `OPERATION_TIME_LIMIT`): a plain rate refusal.
            Error::Http { status, .. } if *status == 429 => ErrorKind::RateLimited,
            Error::Http { status, .. } if *status == 401 || *status == 403 => ErrorKind::Auth,
            Error::Http { .. } => ErrorKind::Server,
            Error::Transport { .. } | Error::OutcomeUnknown { .. } => ErrorKind::Transport,
            Error::NotRun { .. } => ErrorKind::NotRun,
            Error::UnknownMethod(_) | Error::InvalidConfig(_) => ErrorKind::Config,
            Error::TokenSave(_) => ErrorKind::Auth,
        }
    }

    /// Whether sending the same request again may succeed, and may be done: limit
    /// refusals (the portal ran nothing), and server errors and lost answers of **reads**.
    /// A write that may have run is never retryable, since repeating it may run it twice:
    /// a server error or a non-envelope 5xx answer of a write, a write whose answer was lost
    /// ([`Error::OutcomeUnknown`]). The client already retries what is safe to retry (see
    /// [`RetryPolicy`](crate::RetryPolicy)), so an error that reaches you has used up its
    /// retries.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => match e.kind() {
                ErrorKind::RateLimited | ErrorKind::OperatingTimeLimit => true,
                ErrorKind::Server => {
                    crate::is_read(&e.method)
                        && !e.code.is("PORTAL_DELETED")
                        && !e.code.is("OVERLOAD_LIMIT")
                }
                _ => false,
            },
            Error::Http { status, method, .. } => {
                *status == 429 || (*status >= 500 && crate::is_read(method))
            }
            Error::Transport { kind, method, .. } => {
                *kind == TransportErrorKind::Connect
                    || (*kind != TransportErrorKind::TooLarge && crate::is_read(method))
            }
            Error::OutcomeUnknown { .. }
            | Error::NotRun { .. }
            | Error::Decode(_)
            | Error::UnknownMethod(_)
            | Error::InvalidConfig(_)
            | Error::TokenSave(_) => false,
        }
    }

    /// The API error, when the portal answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The wire name of the method the error is about, when there is one.
    pub fn method(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.method),
            Error::Decode(e) => Some(&e.method),
            Error::Http { method, .. }
            | Error::Transport { method, .. }
            | Error::OutcomeUnknown { method, .. }
            | Error::NotRun { method } => Some(method),
            Error::UnknownMethod(m) => Some(m),
            Error::InvalidConfig(_) | Error::TokenSave(_) => None,
        }
    }
}

/// An error answer of the portal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method}: the portal answered {code} (HTTP {status}): {description}{}", super::v3::validation_note(.validation))]
pub struct ApiError {
    /// The method's wire name.
    pub method: String,
    /// The HTTP status of the answer (0 for a call inside a batch, whose errors arrive in
    /// a 200 answer without a status of their own).
    pub status: u16,
    /// The `error` member.
    pub code: ErrorCode,
    /// The `error_description` member (empty when absent); REST 3.0: `error.message`.
    pub description: String,
    /// REST 3.0 only: `error.validation`, the fields the portal refused (empty otherwise).
    pub validation: Vec<FieldError>,
}

/// One entry of a REST 3.0 error's `validation` list: a request field and what is wrong
/// with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the portal gives it (`id`, `fields.title`); empty when absent.
    pub field: String,
    /// What is wrong with it, in the portal's language.
    pub message: String,
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
    /// The parameters of a call by name (see `bitrix24::api::registry::validate_params`).
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
pub(crate) fn decode_value<T: crate::loose::Loose>(
    method: &str,
    part: Part,
    value: &serde_json::Value,
) -> Result<T, Error> {
    match T::from_loose(value) {
        Ok(v) => Ok(v),
        Err(e) => Err(misfit_error(method, part, value, &e)),
    }
}

/// The `Error` of a misfit (not generic, so compiled once).
fn misfit_error(
    method: &str,
    part: Part,
    value: &serde_json::Value,
    e: &crate::loose::Misfit,
) -> Error {
    let path: Vec<&Segment> = e.path().collect();
    let excerpt = find(value, &path).map(short_json).unwrap_or_default();
    Error::Decode(Box::new(DecodeError {
        method: method.to_owned(),
        part,
        path: join_path(part, &path),
        message: e.message().to_owned(),
        excerpt,
    }))
}

fn join_path(part: Part, path: &[&Segment]) -> String {
    let mut out = part.to_string();
    for seg in path {
        match seg {
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
            Segment::Key(key) => {
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
        }
    }
    out
}

fn find<'a>(value: &'a serde_json::Value, path: &[&Segment]) -> Option<&'a serde_json::Value> {
    let mut v = value;
    for seg in path {
        v = match (seg, v) {
            (Segment::Index(index), serde_json::Value::Array(a)) => a.get(*index)?,
            (Segment::Index(index), serde_json::Value::Object(m)) => m.get(&index.to_string())?,
            (Segment::Key(key), serde_json::Value::Object(m)) => m.get(key)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(method: &str, status: u16, code: &str) -> Error {
        Error::Api(Box::new(ApiError {
            method: method.into(),
            status,
            code: ErrorCode::Text(code.into()),
            description: String::new(),
            validation: Vec::new(),
        }))
    }

    /// A write that may have run is never retryable; a read, or a refusal before running,
    /// is.
    #[test]
    fn server_errors_of_writes_are_not_retryable() {
        for code in ["INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"] {
            assert!(!api("crm.deal.add", 500, code).is_retryable(), "{code}");
            assert!(!api("crm.deal.update", 0, code).is_retryable(), "{code}");
            assert!(api("crm.deal.list", 500, code).is_retryable(), "{code}");
        }
        let http = |method: &str, status| Error::Http {
            method: method.into(),
            status,
            excerpt: String::new(),
        };
        assert!(!http("crm.deal.add", 502).is_retryable());
        assert!(http("crm.deal.get", 502).is_retryable());
        assert!(api("crm.deal.add", 503, "QUERY_LIMIT_EXCEEDED").is_retryable());
        assert!(api("crm.deal.add", 429, "OPERATION_TIME_LIMIT").is_retryable());
    }
}
