//! The HTTP layer under the client, behind a small trait so it can be replaced: bring your
//! own HTTP stack, or wrap the default one to count or log requests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::error::TransportErrorKind;

/// The HTTP verb of a [`HttpRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET` (the OAuth token endpoint).
    Get,
    /// `POST` with a JSON body (every REST call).
    Post,
}

/// One HTTP request the client wants sent.
///
/// The URL and the body may hold secrets (a webhook token in the path, an OAuth token in
/// the body or the query), so `Debug` shows neither.
#[derive(Clone)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: HttpMethod,
    /// The full URL, secrets included.
    pub url: String,
    /// The JSON body of a `POST` (empty for a `GET`).
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &"(hidden: may hold a token)")
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The answer to an [`HttpRequest`]: status and body, whatever they are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The raw body.
    pub body: Vec<u8>,
    /// The `Location` header of a redirect (3xx), when there is one. A transport must not
    /// follow redirects itself: the client re-sends the same `POST` there.
    pub location: Option<String>,
}

impl HttpResponse {
    /// An answer with this status and body.
    pub fn new(status: u16, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status,
            body,
            location: None,
        }
    }

    /// The same answer with a `Location` header.
    pub fn with_location(mut self, location: impl Into<String>) -> HttpResponse {
        self.location = Some(location.into());
        self
    }
}

/// A request that got no answer. The message must not contain the URL.
#[derive(Debug, Clone)]
pub struct TransportError {
    /// Whether the request can have reached the server: only [`TransportErrorKind::Connect`]
    /// proves it did not.
    pub kind: TransportErrorKind,
    /// What went wrong, without the URL.
    pub message: String,
}

/// A boxed future, as returned by [`Transport::send`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends HTTP requests for the client. Implementations must be cheap to share between
/// tasks; the client holds one behind an `Arc`.
pub trait Transport: Send + Sync + 'static {
    /// Sends one request and returns its answer, or why there is none.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// The default transport: `reqwest` with rustls, one connection pool, connect and request
/// timeouts, no automatic redirects (the client re-sends the same `POST` to a moved
/// portal itself), and a cap on the size of answers.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    http: reqwest::Client,
    max_body: usize,
}

/// The largest answer body the default transport reads: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 << 20;

/// How long the default transport waits for a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the default transport waits for a whole answer (the cloud stops a request
/// after 60 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(70);

impl ReqwestTransport {
    /// A transport with the default timeouts.
    pub fn new() -> Result<ReqwestTransport, super::Error> {
        ReqwestTransport::with_timeouts(DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT)
    }

    /// A transport with the given connect and whole-request timeouts.
    pub fn with_timeouts(
        connect: Duration,
        request: Duration,
    ) -> Result<ReqwestTransport, super::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(request)
            .pool_idle_timeout(Duration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                super::Error::InvalidConfig(format!(
                    "cannot build the HTTP client: {}",
                    e.without_url()
                ))
            })?;
        Ok(ReqwestTransport {
            http,
            max_body: DEFAULT_MAX_RESPONSE_BYTES,
        })
    }

    /// A transport over an HTTP client of your own (proxies, custom timeouts). Build it
    /// with `.redirect(reqwest::redirect::Policy::none())`: a client that follows
    /// redirects itself turns the `POST` to a moved portal into a `GET` without its body.
    pub fn from_client(http: reqwest::Client) -> ReqwestTransport {
        ReqwestTransport {
            http,
            max_body: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Reads answers of at most `bytes` bytes; a larger one fails with
    /// [`TransportErrorKind::TooLarge`].
    pub fn with_max_response_bytes(mut self, bytes: usize) -> ReqwestTransport {
        self.max_body = bytes;
        self
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let builder = match request.method {
                HttpMethod::Get => self.http.get(&request.url),
                HttpMethod::Post => self
                    .http
                    .post(&request.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(request.body),
            };
            let mut response = builder
                .header(reqwest::header::ACCEPT, "application/json")
                .header(
                    reqwest::header::USER_AGENT,
                    concat!("bitrix24-rust/", env!("CARGO_PKG_VERSION")),
                )
                .send()
                .await
                .map_err(transport_error)?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let max = self.max_body;
            let too_large = || TransportError {
                kind: TransportErrorKind::TooLarge,
                message: format!(
                    "the answer is larger than {max} bytes (the client's max_response_bytes)"
                ),
            };
            if response.content_length().is_some_and(|n| n > max as u64) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            // Bounded: every round reads a chunk; the size cap ends it.
            while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
                if body.len() + chunk.len() > max {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let mut answer = HttpResponse::new(status, body);
            answer.location = location;
            Ok(answer)
        })
    }
}

fn transport_error(e: reqwest::Error) -> TransportError {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else {
        TransportErrorKind::Other
    };
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    // Bounded: error chains are short; cap anyway.
    for _ in 0..8 {
        let Some(s) = source else { break };
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TransportError { kind, message }
}
