//! A fake Bitrix24 portal: a real HTTP server on `127.0.0.1` that answers REST calls the
//! way a cloud portal does, for testing clients without a network.
//!
//! What it emulates:
//!
//! * **URLs**: incoming webhooks (`/rest/<user>/<token>/<method>[.json]`) and OAuth calls
//!   (`/rest/<method>[.json]` with `auth` in the query, the form or the JSON body); method
//!   names are matched without regard to case.
//! * **OAuth**: access tokens that expire (`expired_token`), unknown tokens
//!   (`invalid_token`), missing auth (`NO_AUTH_FOUND`), and the refresh endpoint
//!   `GET /oauth/token/?grant_type=refresh_token&...`, which rotates the refresh token.
//! * **Limits**: the leaky bucket (`QUERY_LIMIT_EXCEEDED`, HTTP 503) and each method's
//!   server-time budget (`OPERATION_TIME_LIMIT`, HTTP 429), with counters of every rejection
//!   ([`Stats`]). Each answer carries a `time` member with `operating` and
//!   `operating_reset_at`.
//! * **Lists** over a seeded dataset ([`FakePortal::seed_list`]): `start` offsets with
//!   `next` and `total`, `start=-1` without a count, `order` by ID, filters `>ID`, `>=ID`,
//!   `<ID`, `<=ID`, `ID` on the ID field; pages of 50.
//! * **`batch`**: up to 50 commands, `halt`, `$result[id][...]` references (an unresolved
//!   reference becomes the empty string), per-command errors in `result_error`, empty maps
//!   written as `[]`. More than 50 commands: HTTP 400 `ERROR_BATCH_LENGTH_EXCEEDED`; a
//!   nested `batch`: `ERROR_BATCH_METHOD_NOT_ALLOWED` for that command.
//! * **Specs**: [`FakePortal::load_specs`] registers every method of a spec directory;
//!   a call missing a parameter the spec requires gets HTTP 400 `ERROR_ARGUMENT`.
//! * **Faults** ([`Fault`]): 503 pages, 500 errors, slow answers, dropped connections,
//!   malformed JSON, on every n-th matching request.
//! * **Counters**: [`FakePortal::stats`] in process, or `GET /fake/stats` as JSON from
//!   another process (the benchmark uses it).
//!
//! ```no_run
//! # async fn demo() {
//! use bitrix24_fake_portal::{Config, FakePortal};
//! let portal = FakePortal::start(Config::default()).await.unwrap();
//! portal.seed_list("crm.deal.list", bitrix24_fake_portal::deals(120));
//! let url = portal.webhook_url(); // give this to the client under test
//! # let _ = url;
//! # }
//! ```

mod extra;
mod php;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Map, Value, json};

pub use extra::{crm_items, tasks};
pub use php::parse_query;

/// How the fake portal behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Requests the leaky bucket holds before it refuses (cloud: 50; Enterprise: 250).
    pub burst: f64,
    /// Requests per second the bucket drains (cloud: 2; Enterprise: 5).
    pub per_second: f64,
    /// Server seconds a method may use within `operating_window` (cloud: 480 in 10 min).
    pub operating_budget: f64,
    /// The window of the server-time budget, kept as ten buckets.
    pub operating_window: Duration,
    /// Server seconds every call is reported (and counted) to take.
    pub operating_cost: f64,
    /// The user id of the incoming webhook.
    pub webhook_user: u32,
    /// The code of the incoming webhook.
    pub webhook_token: String,
    /// The OAuth application's client id.
    pub client_id: String,
    /// The OAuth application's client secret.
    pub client_secret: String,
    /// How long an access token lives.
    pub access_ttl: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            burst: 50.0,
            per_second: 2.0,
            operating_budget: 480.0,
            operating_window: Duration::from_secs(600),
            operating_cost: 0.001,
            webhook_user: 1,
            webhook_token: "fakewebhooktoken0001".into(),
            client_id: "local.fake0000000001".into(),
            client_secret: "fakeclientsecret0001".into(),
            access_ttl: Duration::from_secs(3600),
        }
    }
}

/// What the portal has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// REST requests received (batch counts once; token requests not counted).
    pub requests: u64,
    /// Requests refused with `QUERY_LIMIT_EXCEEDED` by the leaky bucket.
    pub rate_rejections: u64,
    /// Calls refused with `OPERATION_TIME_LIMIT` by the server-time budget.
    pub operating_rejections: u64,
    /// Successful token refreshes.
    pub refreshes: u64,
    /// Faults injected.
    pub faults: u64,
    /// Calls run per method (lower-case wire name), batch commands included.
    pub calls: BTreeMap<String, u64>,
}

/// A fault to inject into matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Only requests of this method (lower-case wire name; `batch` for batches); `None`
    /// for all.
    pub method: Option<String>,
    /// What happens.
    pub kind: FaultKind,
    /// Every `every`-th matching request gets the fault (1 = each one).
    pub every: u64,
    /// How many times in all.
    pub times: u64,
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// HTTP 503 with an HTML page, before the method runs.
    Unavailable,
    /// HTTP 500 `INTERNAL_SERVER_ERROR`, before the method runs.
    ServerError,
    /// The method runs, then the answer waits this long.
    Slow(Duration),
    /// The method runs, then the connection is closed without an answer.
    Drop,
    /// The method runs, then the answer is cut-off JSON.
    Malformed,
}

/// An error answer a custom method handler returns.
#[derive(Debug, Clone)]
pub struct FakeError {
    /// HTTP status.
    pub status: u16,
    /// The `error` member.
    pub code: String,
    /// The `error_description` member.
    pub description: String,
}

impl FakeError {
    /// An error answer.
    pub fn new(status: u16, code: &str, description: &str) -> FakeError {
        FakeError {
            status,
            code: code.into(),
            description: description.into(),
        }
    }
}

/// A custom method: gets the parameters, returns the `result` or an error.
pub type Handler = Arc<dyn Fn(&Value) -> Result<Value, FakeError> + Send + Sync>;

#[derive(Clone, Default)]
struct MethodDef {
    name: String,
    required: Vec<String>,
    handler: Option<Handler>,
    list: Option<Arc<Vec<(i64, Value)>>>,
    /// The key of `result` the list's rows sit under (`items`), if not `result` itself.
    wrap: Option<String>,
}

struct Portal {
    config: Config,
    state: Mutex<State>,
}

struct State {
    level: f64,
    last: Instant,
    stats: Stats,
    methods: BTreeMap<String, MethodDef>,
    aliases: BTreeMap<String, String>,
    access: HashMap<String, Instant>,
    refresh: HashMap<String, ()>,
    operating: HashMap<String, VecDeque<(Instant, f64)>>,
    faults: Vec<(Fault, u64)>,
    counter: u64,
    /// The new address of a portal that moved (see `extra.rs`).
    moved: Option<String>,
}

/// A running fake portal. Stops when dropped.
pub struct FakePortal {
    addr: SocketAddr,
    portal: Arc<Portal>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakePortal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakePortal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePortal")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakePortal {
    /// Starts a portal on a free port of 127.0.0.1.
    pub async fn start(config: Config) -> std::io::Result<FakePortal> {
        FakePortal::start_on(config, 0).await
    }

    /// Starts a portal on the given port of 127.0.0.1 (0: any free port).
    pub async fn start_on(config: Config, port: u16) -> std::io::Result<FakePortal> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let portal = Arc::new(Portal {
            config,
            state: Mutex::new(State {
                level: 0.0,
                last: Instant::now(),
                stats: Stats::default(),
                methods: BTreeMap::new(),
                aliases: BTreeMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                operating: HashMap::new(),
                faults: Vec::new(),
                counter: 0,
                moved: None,
            }),
        });
        let served = portal.clone();
        let task = tokio::spawn(async move {
            // Runs until the portal is dropped (the task is aborted).
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let portal = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let portal = portal.clone();
                        async move { portal.serve(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(FakePortal { addr, portal, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The incoming-webhook URL, `http://127.0.0.1:<port>/rest/<user>/<token>/`.
    pub fn webhook_url(&self) -> String {
        format!(
            "{}/rest/{}/{}/",
            self.base_url(),
            self.portal.config.webhook_user,
            self.portal.config.webhook_token
        )
    }

    /// The OAuth `client_endpoint`, `http://127.0.0.1:<port>/rest/`.
    pub fn client_endpoint(&self) -> String {
        format!("{}/rest/", self.base_url())
    }

    /// The OAuth `server_endpoint` (the same server answers `/oauth/token/`).
    pub fn server_endpoint(&self) -> String {
        format!("{}/rest/", self.base_url())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.portal.config
    }

    /// Issues a fresh access token and refresh token.
    pub fn issue_tokens(&self) -> (String, String) {
        let mut s = self.portal.lock();
        issue(&mut s, &self.portal.config)
    }

    /// Makes every access token issued so far expire now.
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for t in self.portal.lock().access.values_mut() {
            *t = now;
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.portal.lock().stats.clone()
    }

    /// Registers (or replaces) a method answered by `handler`.
    pub fn on(
        &self,
        method: &str,
        handler: impl Fn(&Value) -> Result<Value, FakeError> + Send + Sync + 'static,
    ) {
        let mut s = self.portal.lock();
        let def = s.methods.entry(method.to_ascii_lowercase()).or_default();
        def.name = method.to_owned();
        def.handler = Some(Arc::new(handler));
    }

    /// Registers (or replaces) a list method over `items`, paged by `start`. Items must have
    /// an integer `ID` (a number or a numeric string); they are served in ID order.
    pub fn seed_list(&self, method: &str, items: Vec<Value>) {
        let mut rows: Vec<(i64, Value)> = items
            .into_iter()
            .filter_map(|v| Some((loose_i64(v.get("ID")?)?, v)))
            .collect();
        rows.sort_by_key(|r| r.0);
        let mut s = self.portal.lock();
        let def = s.methods.entry(method.to_ascii_lowercase()).or_default();
        def.name = method.to_owned();
        def.list = Some(Arc::new(rows));
    }

    /// Requires these top-level parameters of a method (`ERROR_ARGUMENT` when missing).
    pub fn require(&self, method: &str, params: &[&str]) {
        let mut s = self.portal.lock();
        let def = s.methods.entry(method.to_ascii_lowercase()).or_default();
        def.name = method.to_owned();
        def.required = params.iter().map(|p| (*p).to_owned()).collect();
    }

    /// Registers every method of the specs in `dir` (`*.md`), with their aliases and
    /// required parameters. Methods without a handler or list answer `true`. Returns how
    /// many specs were read; specs that do not parse are skipped.
    pub fn load_specs(&self, dir: &std::path::Path) -> std::io::Result<usize> {
        let mut count = 0;
        let mut entries: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path)?;
            let src = codegen::SourceFile {
                path: path.display().to_string(),
                text,
            };
            let mut diags = codegen::Diagnostics::default();
            let Some(spec) = codegen::spec::parse(&src, &mut diags) else {
                continue;
            };
            let required = match &spec.params.root.kind {
                codegen::schema::Kind::Object(o) => o
                    .properties
                    .iter()
                    .filter(|p| p.required)
                    .map(|p| p.name.clone())
                    .collect(),
                _ => Vec::new(),
            };
            let mut s = self.portal.lock();
            let key = spec.method.to_ascii_lowercase();
            let def = s.methods.entry(key.clone()).or_default();
            def.name = spec.method.clone();
            def.required = required;
            for alias in &spec.aliases {
                s.aliases.insert(alias.to_ascii_lowercase(), key.clone());
            }
            count += 1;
        }
        Ok(count)
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) {
        self.portal.lock().faults.push((fault, 0));
    }
}

/// `n` deals as a portal lists them: IDs 1..=n, numbers as strings, `Y`/`N` flags.
pub fn deals(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            json!({
                "ID": i.to_string(),
                "TITLE": format!("Deal #{i}"),
                "OPPORTUNITY": format!("{}.00", i * 10),
                "CURRENCY_ID": "EUR",
                "CLOSED": if i % 3 == 0 { "Y" } else { "N" },
                "CATEGORY_ID": (i % 4).to_string(),
            })
        })
        .collect()
}

fn issue(s: &mut State, config: &Config) -> (String, String) {
    let n = s.access.len() + s.refresh.len() + 1;
    let salt = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let access = format!("access{n:04}x{salt:08x}");
    let refresh = format!("refresh{n:04}y{salt:08x}");
    s.access
        .insert(access.clone(), Instant::now() + config.access_ttl);
    s.refresh.insert(refresh.clone(), ());
    (access, refresh)
}

fn loose_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

type Body = Full<Bytes>;

fn answer(status: u16, body: Vec<u8>, content_type: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn json_answer(status: u16, value: &Value) -> Response<Body> {
    answer(
        status,
        serde_json::to_vec(value).unwrap_or_default(),
        "application/json; charset=utf-8",
    )
}

fn error_answer(e: &FakeError) -> Response<Body> {
    json_answer(
        e.status,
        &json!({ "error": e.code, "error_description": e.description }),
    )
}

/// A method's server time used in the window, and when its oldest part expires.
type Operating = (f64, Option<u64>);

/// What one call produced.
struct Outcome {
    result: Value,
    total: Option<usize>,
    next: Option<usize>,
}

/// The fault chosen for a request, if any.
enum Chosen {
    None,
    Before(FaultKind),
    After(FaultKind),
}

impl Portal {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn serve(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, std::io::Error> {
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        if let Some(moved) = self.moved_answer(&path, &query) {
            return Ok(moved);
        }
        let host = req
            .headers()
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned();
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = match Limited::new(req.into_body(), 64 << 20).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return Ok(answer(400, b"body too large".to_vec(), "text/plain")),
        };
        if path.trim_end_matches('/') == "/oauth/token" {
            return Ok(self.token(&query, &host));
        }
        if path.trim_end_matches('/') == "/fake/stats" {
            let st = self.lock().stats.clone();
            return Ok(json_answer(
                200,
                &json!({
                    "requests": st.requests,
                    "rate_rejections": st.rate_rejections,
                    "operating_rejections": st.operating_rejections,
                    "refreshes": st.refreshes,
                    "faults": st.faults,
                    "calls": st.calls,
                }),
            ));
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (webhook, raw_method) = match segments.as_slice() {
            ["rest", user, token, method] => (Some((*user, *token)), *method),
            ["rest", method] => (None, *method),
            _ => {
                return Ok(answer(
                    404,
                    b"<html>404 Not Found</html>".to_vec(),
                    "text/html",
                ));
            }
        };
        let method = raw_method
            .strip_suffix(".json")
            .unwrap_or(raw_method)
            .to_ascii_lowercase();
        // Parameters: the query, then the body (JSON or form).
        let mut params = php::parse_query(&query);
        let trimmed = body.iter().copied().find(|b| !b.is_ascii_whitespace());
        if content_type.contains("json") || matches!(trimmed, Some(b'{') | Some(b'[')) {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => params.extend(m),
                Ok(Value::Array(a)) => {
                    for (i, v) in a.into_iter().enumerate() {
                        params.insert(i.to_string(), v);
                    }
                }
                Ok(_) => {}
                Err(_) if body.is_empty() => {}
                Err(_) => {
                    return Ok(error_answer(&FakeError::new(
                        400,
                        "INVALID_REQUEST",
                        "The body is not valid JSON",
                    )));
                }
            }
        } else if !body.is_empty() {
            params.extend(php::parse_query(&String::from_utf8_lossy(&body)));
        }
        let started = unix_now();
        // The leaky bucket, then the credentials, then the fault plan.
        let chosen = {
            let mut s = self.lock();
            s.stats.requests += 1;
            let now = Instant::now();
            let drained = now.duration_since(s.last).as_secs_f64() * self.config.per_second;
            s.level = (s.level - drained).max(0.0);
            s.last = now;
            if s.level + 1.0 > self.config.burst {
                s.stats.rate_rejections += 1;
                return Ok(error_answer(&FakeError::new(
                    503,
                    "QUERY_LIMIT_EXCEEDED",
                    "Too many requests",
                )));
            }
            s.level += 1.0;
            if let Err(e) = self.authenticate(&mut s, webhook, &params) {
                return Ok(error_answer(&e));
            }
            choose_fault(&mut s, &method)
        };
        match &chosen {
            Chosen::Before(FaultKind::Unavailable) => {
                return Ok(answer(
                    503,
                    b"<html><body>503 Service Temporarily Unavailable</body></html>".to_vec(),
                    "text/html",
                ));
            }
            Chosen::Before(_) => {
                return Ok(error_answer(&FakeError::new(
                    500,
                    "INTERNAL_SERVER_ERROR",
                    "Internal server error",
                )));
            }
            _ => {}
        }
        params.remove("auth");
        let params = Value::Object(params);
        let outcome = if method == "batch" {
            self.batch(&params)
        } else {
            self.call(&method, &params)
        };
        let response = match outcome {
            Err(e) => error_answer(&e),
            Ok((outcome, operating)) => {
                let finished = unix_now();
                let mut envelope = Map::new();
                envelope.insert("result".into(), outcome.result);
                if let Some(next) = outcome.next {
                    envelope.insert("next".into(), next.into());
                }
                if let Some(total) = outcome.total {
                    envelope.insert("total".into(), total.into());
                }
                let mut time = json!({
                    "start": started,
                    "finish": finished,
                    "duration": finished - started,
                    "processing": self.config.operating_cost,
                    "date_start": "2026-01-01T00:00:00+00:00",
                    "date_finish": "2026-01-01T00:00:00+00:00",
                });
                if let Some((op, reset)) = operating {
                    time["operating"] = json!(op);
                    if let Some(reset) = reset {
                        time["operating_reset_at"] = json!(reset);
                    }
                }
                envelope.insert("time".into(), time);
                json_answer(200, &Value::Object(envelope))
            }
        };
        match chosen {
            Chosen::After(FaultKind::Slow(d)) => {
                tokio::time::sleep(d).await;
                Ok(response)
            }
            Chosen::After(FaultKind::Drop) => Err(std::io::Error::other("dropped by fault")),
            Chosen::After(FaultKind::Malformed) => Ok(answer(
                200,
                b"{\"result\":[{\"ID\":\"1\",".to_vec(),
                "application/json",
            )),
            _ => Ok(response),
        }
    }

    fn authenticate(
        &self,
        s: &mut State,
        webhook: Option<(&str, &str)>,
        params: &Map<String, Value>,
    ) -> Result<(), FakeError> {
        match webhook {
            Some((user, token)) => {
                if user == self.config.webhook_user.to_string()
                    && token == self.config.webhook_token
                {
                    Ok(())
                } else {
                    Err(FakeError::new(
                        401,
                        "NO_AUTH_FOUND",
                        "Wrong authorization data",
                    ))
                }
            }
            None => {
                let Some(Value::String(token)) = params.get("auth") else {
                    return Err(FakeError::new(
                        401,
                        "NO_AUTH_FOUND",
                        "Wrong authorization data",
                    ));
                };
                match s.access.get(token) {
                    Some(expires) if *expires > Instant::now() => Ok(()),
                    Some(_) => Err(FakeError::new(
                        401,
                        "expired_token",
                        "The access token provided has expired.",
                    )),
                    None => Err(FakeError::new(
                        401,
                        "invalid_token",
                        "Unable to get application by token",
                    )),
                }
            }
        }
    }

    /// `GET /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token`.
    fn token(&self, query: &str, host: &str) -> Response<Body> {
        let q = php::parse_query(query);
        let get = |k: &str| q.get(k).and_then(Value::as_str).unwrap_or("");
        if get("client_id") != self.config.client_id
            || get("client_secret") != self.config.client_secret
        {
            return error_answer(&FakeError::new(
                401,
                "invalid_client",
                "invalid client credentials",
            ));
        }
        if get("grant_type") != "refresh_token" {
            return error_answer(&FakeError::new(
                400,
                "invalid_request",
                "unsupported grant_type",
            ));
        }
        let mut s = self.lock();
        if s.refresh.remove(get("refresh_token")).is_none() {
            return error_answer(&FakeError::new(
                400,
                "invalid_grant",
                "Invalid refresh token",
            ));
        }
        let (access, refresh) = issue(&mut s, &self.config);
        s.stats.refreshes += 1;
        let ttl = self.config.access_ttl.as_secs();
        json_answer(
            200,
            &json!({
                "access_token": access,
                "refresh_token": refresh,
                "expires": unix_now() as u64 + ttl,
                "expires_in": ttl,
                "scope": "app",
                "domain": "127.0.0.1",
                "server_endpoint": format!("http://{host}/rest/"),
                "client_endpoint": format!("http://{host}/rest/"),
                "member_id": "fakemember",
                "user_id": 1,
                "status": "L",
            }),
        )
    }

    /// Runs one method, budget checked and counted; returns the outcome and the method's
    /// operating figures.
    fn call(
        &self,
        method: &str,
        params: &Value,
    ) -> Result<(Outcome, Option<Operating>), FakeError> {
        let (def, key) = {
            let s = self.lock();
            let key = s
                .aliases
                .get(method)
                .cloned()
                .unwrap_or_else(|| method.to_owned());
            match s.methods.get(&key) {
                Some(d) => (d.clone(), key),
                None => {
                    return Err(FakeError::new(
                        404,
                        "ERROR_METHOD_NOT_FOUND",
                        "Method not found!",
                    ));
                }
            }
        };
        let operating = self.spend(&key)?;
        for r in &def.required {
            let present = params.as_object().is_some_and(|m| {
                m.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case(r) && !v.is_null() && v.as_str() != Some("")
                })
            });
            if !present {
                return Err(FakeError::new(
                    400,
                    "ERROR_ARGUMENT",
                    &format!("Required parameter '{r}' is missing"),
                ));
            }
        }
        let outcome = if let Some(h) = &def.handler {
            Outcome {
                result: h(params)?,
                total: None,
                next: None,
            }
        } else if let Some(rows) = &def.list {
            let mut outcome = list(rows, params)?;
            outcome.result = extra::wrap(def.wrap.as_deref(), outcome.result);
            outcome
        } else {
            Outcome {
                result: Value::Bool(true),
                total: None,
                next: None,
            }
        };
        Ok((outcome, Some(operating)))
    }

    /// Checks and charges the method's server-time budget.
    fn spend(&self, key: &str) -> Result<(f64, Option<u64>), FakeError> {
        let now = Instant::now();
        let window = self.config.operating_window;
        let slot = window / 10;
        let mut s = self.lock();
        *s.stats.calls.entry(key.to_owned()).or_default() += 1;
        let buckets = s.operating.entry(key.to_owned()).or_default();
        // Bounded by the number of buckets.
        while buckets
            .front()
            .is_some_and(|(start, _)| now.duration_since(*start) >= window)
        {
            buckets.pop_front();
        }
        let used: f64 = buckets.iter().map(|b| b.1).sum();
        if used > self.config.operating_budget {
            s.stats.operating_rejections += 1;
            return Err(FakeError::new(
                429,
                "OPERATION_TIME_LIMIT",
                "Method is blocked due to operation time limit.",
            ));
        }
        let cost = self.config.operating_cost;
        match buckets.back_mut() {
            Some((start, sum)) if now.duration_since(*start) < slot => *sum += cost,
            _ => buckets.push_back((now, cost)),
        }
        let used = used + cost;
        let reset = buckets.front().map(|(start, _)| {
            let left = window.saturating_sub(now.duration_since(*start));
            (unix_now() + left.as_secs_f64()).ceil() as u64
        });
        Ok((used, reset))
    }

    fn batch(&self, params: &Value) -> Result<(Outcome, Option<Operating>), FakeError> {
        let halt = match params.get("halt") {
            Some(Value::Bool(b)) => *b,
            Some(v) => loose_i64(v).unwrap_or(0) != 0 || v.as_str() == Some("true"),
            None => false,
        };
        let cmds: Vec<(String, String)> = match params.get("cmd") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.as_str().unwrap_or("").to_owned()))
                .collect(),
            _ => {
                return Err(FakeError::new(
                    400,
                    "ERROR_ARGUMENT",
                    "Required parameter 'cmd' is missing",
                ));
            }
        };
        if cmds.len() > 50 {
            return Err(FakeError::new(
                400,
                "ERROR_BATCH_LENGTH_EXCEEDED",
                "Max batch length exceeded",
            ));
        }
        let mut results = Map::new();
        let mut errors = Map::new();
        let mut totals = Map::new();
        let mut nexts = Map::new();
        let mut times = Map::new();
        for (id, cmd) in cmds {
            let (method, query) = cmd.split_once('?').unwrap_or((&cmd, ""));
            let method = method
                .trim()
                .strip_suffix(".json")
                .unwrap_or(method.trim())
                .to_ascii_lowercase();
            let query = php::substitute(query, &results);
            let inner = Value::Object(php::parse_query(&query));
            let outcome = if method == "batch" {
                Err(FakeError::new(
                    405,
                    "ERROR_BATCH_METHOD_NOT_ALLOWED",
                    "Method is not allowed for batch usage",
                ))
            } else {
                self.call(&method, &inner)
            };
            match outcome {
                Ok((o, _)) => {
                    results.insert(id.clone(), o.result);
                    if let Some(t) = o.total {
                        totals.insert(id.clone(), t.into());
                    }
                    if let Some(n) = o.next {
                        nexts.insert(id.clone(), n.into());
                    }
                    let now = unix_now();
                    times.insert(
                        id,
                        json!({"start": now, "finish": now, "duration": 0.0, "processing": self.config.operating_cost}),
                    );
                }
                Err(e) => {
                    errors.insert(
                        id,
                        json!({"error": e.code, "error_description": e.description}),
                    );
                    if halt {
                        break;
                    }
                }
            }
        }
        let php_map = |m: Map<String, Value>| {
            if m.is_empty() {
                Value::Array(Vec::new())
            } else {
                Value::Object(m)
            }
        };
        Ok((
            Outcome {
                result: json!({
                    "result": php_map(results),
                    "result_error": php_map(errors),
                    "result_total": php_map(totals),
                    "result_next": php_map(nexts),
                    "result_time": php_map(times),
                }),
                total: None,
                next: None,
            },
            None,
        ))
    }
}

fn choose_fault(s: &mut State, method: &str) -> Chosen {
    s.counter += 1;
    let mut chosen = Chosen::None;
    for (fault, seen) in s.faults.iter_mut() {
        if fault.times == 0 || fault.method.as_deref().is_some_and(|m| m != method) {
            continue;
        }
        *seen += 1;
        if *seen % fault.every.max(1) == 0 {
            fault.times -= 1;
            chosen = match &fault.kind {
                k @ (FaultKind::Unavailable | FaultKind::ServerError) => Chosen::Before(k.clone()),
                k => Chosen::After(k.clone()),
            };
            break;
        }
    }
    if !matches!(chosen, Chosen::None) {
        s.stats.faults += 1;
    }
    chosen
}

/// One page of a seeded list.
fn list(rows: &[(i64, Value)], params: &Value) -> Result<Outcome, FakeError> {
    let get = |k: &str| {
        params.as_object().and_then(|m| {
            m.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        })
    };
    let start = match get("start") {
        None | Some(Value::Null) => 0,
        Some(v) => loose_i64(v).ok_or_else(|| {
            FakeError::new(
                400,
                "ERROR_ARGUMENT",
                "Parameter 'start' must be an integer",
            )
        })?,
    };
    let mut conditions: Vec<(&str, i64)> = Vec::new();
    if let Some(Value::Object(filter)) = get("filter") {
        for (k, v) in filter {
            let (op, field) = if let Some(f) = k.strip_prefix(">=") {
                (">=", f)
            } else if let Some(f) = k.strip_prefix("<=") {
                ("<=", f)
            } else if let Some(f) = k.strip_prefix('>') {
                (">", f)
            } else if let Some(f) = k.strip_prefix('<') {
                ("<", f)
            } else if let Some(f) = k.strip_prefix('=') {
                ("=", f)
            } else {
                ("=", k.as_str())
            };
            if !field.eq_ignore_ascii_case("ID") {
                continue;
            }
            // An empty value (an unresolved batch reference) leaves the condition out.
            if v.as_str() == Some("") {
                continue;
            }
            let n = loose_i64(v).ok_or_else(|| {
                FakeError::new(400, "ERROR_ARGUMENT", "The ID filter must be an integer")
            })?;
            conditions.push((op, n));
        }
    }
    let desc = matches!(get("order"), Some(Value::Object(o))
        if o.iter().any(|(k, v)| k.eq_ignore_ascii_case("ID")
            && v.as_str().is_some_and(|d| d.eq_ignore_ascii_case("DESC"))));
    const PAGE: usize = 50;
    // Rows are sorted by ID: every condition narrows a slice.
    let mut lo = 0;
    let mut hi = rows.len();
    for (op, n) in &conditions {
        let n = *n;
        let (l, h) = match *op {
            ">=" => (rows.partition_point(|r| r.0 < n), rows.len()),
            ">" => (rows.partition_point(|r| r.0 <= n), rows.len()),
            "<=" => (0, rows.partition_point(|r| r.0 <= n)),
            "<" => (0, rows.partition_point(|r| r.0 < n)),
            _ => (
                rows.partition_point(|r| r.0 < n),
                rows.partition_point(|r| r.0 <= n),
            ),
        };
        lo = lo.max(l);
        hi = hi.min(h);
    }
    let slice = if lo < hi { &rows[lo..hi] } else { &rows[..0] };
    let total = slice.len();
    // The rows from offset `skip` on, in the requested order (no scan of the skipped rows).
    let ordered = |skip: usize| -> Vec<Value> {
        let n = total.saturating_sub(skip).min(PAGE);
        if desc {
            let end = total - skip.min(total);
            slice[end - n..end]
                .iter()
                .rev()
                .map(|r| r.1.clone())
                .collect()
        } else {
            slice[skip.min(total)..skip.min(total) + n]
                .iter()
                .map(|r| r.1.clone())
                .collect()
        }
    };
    if start < 0 {
        return Ok(Outcome {
            result: Value::Array(ordered(0)),
            total: Some(0),
            next: None,
        });
    }
    let start = start as usize;
    let page = ordered(start);
    let next = (start + PAGE < total).then_some(start + PAGE);
    Ok(Outcome {
        result: Value::Array(page),
        total: Some(total),
        next,
    })
}
