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
//! * **REST 3.0** at `/rest/api/…` ([`FakePortal::on_v3`], specs with `api: v3`): JSON
//!   only, the `{error: {code, message, validation}}` shape, `Idempotency-Key` replays
//!   (`Idempotent-Replayed: true`) and 422 for a key reused with another body.
//! * **Events** ([`FakePortal::enable_events`]): `event.bind`/`unbind`/`get`, deals that POST
//!   `ONCRMDEALADD`/`UPDATE`/`DELETE` form bodies to bound handlers (or queue them for
//!   `event.offline.get`), `ONAPPINSTALL`/`ONAPPUNINSTALL` on demand, `app.info`, and the
//!   `authorization_code` grant.
//! * **Counters**: [`FakePortal::stats`] in process, or `GET /fake/stats` as JSON from
//!   another process (the benchmark uses it).
//! * **What arrived**: [`FakePortal::received`] gives the parameters of the latest calls as
//!   the portal decoded them, from a JSON body, a form or a batch command alike.
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

mod auth;
mod batch;
mod events;
mod extra;
mod faults;
mod limits;
mod lists;
mod methods;
mod php;
mod server;
mod stats;
mod v3;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use methods::MethodDef;

pub use events::{Binding, Delivery, build_query};
pub use extra::{crm_items, tasks};
pub use faults::{Fault, FaultKind};
pub use lists::deals;
pub use php::parse_query;
pub use stats::{RECEIVED_KEPT, Stats};
pub use v3::{V3Error, V3Handler};

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

/// The portal behind the server: its configuration and its state, behind one lock.
struct Portal {
    config: Config,
    state: Mutex<State>,
}

/// Everything that changes while the portal runs; each part is read and written by the
/// module named beside it.
struct State {
    /// `limits`: the bucket's level and when it was last drained.
    level: f64,
    last: Instant,
    /// `stats`: the counters, and the parameters of the latest calls as decoded.
    stats: Stats,
    received: VecDeque<(String, Value)>,
    /// `methods`: registered methods (lower-case wire name) and aliases.
    methods: BTreeMap<String, MethodDef>,
    aliases: BTreeMap<String, String>,
    /// `auth`: access tokens with their expiry, and the refresh tokens not used yet.
    access: HashMap<String, Instant>,
    refresh: HashMap<String, ()>,
    /// `limits`: each method's server time, in buckets of a tenth of the window.
    operating: HashMap<String, VecDeque<(Instant, f64)>>,
    /// `faults`: injected faults with how many matching requests each has seen.
    faults: Vec<(Fault, u64)>,
    counter: u64,
    /// The new address of a portal that moved (see `extra.rs`).
    moved: Option<String>,
    /// `v3`: REST 3.0 methods and stored idempotent answers.
    v3: v3::V3State,
    /// `auth`: the portal's `member_id` (`fakemember<port>`) and unused authorisation codes.
    member_id: String,
    codes: Vec<String>,
    /// `events`: bindings, deals that send events, the offline queue, deliveries.
    events: events::EventState,
}

/// What one call produced.
struct Outcome {
    result: Value,
    total: Option<usize>,
    next: Option<usize>,
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
                received: VecDeque::new(),
                methods: BTreeMap::new(),
                aliases: BTreeMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                operating: HashMap::new(),
                faults: Vec::new(),
                counter: 0,
                moved: None,
                v3: v3::V3State::default(),
                member_id: format!("fakemember{}", addr.port()),
                codes: Vec::new(),
                events: events::EventState::new(addr.port()),
            }),
        });
        let task = server::spawn(listener, portal.clone());
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
}

impl Portal {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An integer as PHP reads one: a number, or a string holding one.
fn loose_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
