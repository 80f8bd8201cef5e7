//! Events: `event.bind` / `event.unbind` / `event.get` register handler URLs; the portal's
//! deals (`crm.deal.add`, `crm.deal.update`, `crm.deal.delete`, `crm.deal.get`) POST the
//! documented form body (`event=ONCRMDEALADD&data[FIELDS][ID]=…&auth[…]=…`) to every online
//! handler, or queue it for `event.offline.get` (with `clear`, `process_id`, `error`) when the
//! handler was bound offline. [`FakePortal::install_app`] / [`FakePortal::uninstall_app`]
//! send `ONAPPINSTALL` (with tokens and the application token) and `ONAPPUNINSTALL` (without
//! tokens), and `app.info` answers for OAuth tokens. Deliveries go to `127.0.0.1` only, over
//! plain HTTP/1.1, each bounded by a 5 s timeout; [`FakePortal::deliveries`] lists them.
//!
//! Opt in with [`FakePortal::enable_events`].

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{FakeError, FakePortal, Portal, loose_i64, unix_now};

/// One handler bound with `event.bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `event_handler_id` sent with each delivery.
    pub id: i64,
    /// The event code in capitals.
    pub event: String,
    /// The handler URL.
    pub handler: String,
    /// `online` or `offline`.
    pub event_type: String,
}

/// One POST the portal made to a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event code.
    pub event: String,
    /// The handler URL.
    pub url: String,
    /// The handler's HTTP status, 0 when it could not be reached.
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Offline {
    id: i64,
    event: String,
    data: Value,
    process_id: Option<String>,
    error: bool,
}

/// The events part of the portal's state.
#[derive(Debug, Default)]
pub(crate) struct EventState {
    port: u16,
    application_token: String,
    bindings: Vec<Binding>,
    next_binding: i64,
    deals: BTreeMap<i64, Value>,
    next_deal: i64,
    offline: Vec<Offline>,
    next_offline: i64,
    next_process: u64,
    deliveries: Vec<Delivery>,
}

impl EventState {
    pub(crate) fn new(port: u16) -> EventState {
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        EventState {
            port,
            application_token: format!("apptoken{port:05}z{salt:08x}"),
            next_binding: 1,
            next_deal: 1,
            next_offline: 1,
            next_process: 1,
            ..EventState::default()
        }
    }
}

impl FakePortal {
    /// Registers the event methods, `app.info` and the deal methods that send events.
    pub fn enable_events(&self) {
        let weak = Arc::downgrade(&self.portal);
        let on = |name: &str, f: fn(&Arc<Portal>, &Value) -> Result<Value, FakeError>| {
            let weak: Weak<Portal> = weak.clone();
            self.on(name, move |params| {
                let portal = weak
                    .upgrade()
                    .ok_or_else(|| FakeError::new(503, "PORTAL_STOPPED", "stopped"))?;
                f(&portal, params)
            });
        };
        on("event.bind", bind);
        on("event.unbind", unbind);
        on("event.get", get);
        on("event.offline.get", offline_get);
        on("event.offline.clear", offline_clear);
        on("event.offline.error", offline_error);
        on("event.offline.list", offline_list);
        on("app.info", |_, _| {
            Ok(
                json!({"ID": 1, "CODE": "local.fake", "VERSION": 1, "STATUS": "L",
                "INSTALLED": true, "PAYMENT_EXPIRED": "N", "DAYS": null, "LICENSE": "ru_project"}),
            )
        });
        on("crm.deal.add", deal_add);
        on("crm.deal.update", deal_update);
        on("crm.deal.delete", deal_delete);
        on("crm.deal.get", deal_get);
    }

    /// The portal's `member_id` (`fakemember<port>`: two portals differ).
    pub fn member_id(&self) -> String {
        self.portal.lock().member_id.clone()
    }

    /// The application token the portal sends with every event.
    pub fn application_token(&self) -> String {
        self.portal.lock().events.application_token.clone()
    }

    /// The handlers bound now.
    pub fn bindings(&self) -> Vec<Binding> {
        self.portal.lock().events.bindings.clone()
    }

    /// Every delivery made so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.portal.lock().events.deliveries.clone()
    }

    /// Waits (at most `timeout`) until `n` deliveries were made; returns them all.
    pub async fn wait_deliveries(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            let d = self.deliveries();
            if d.len() >= n || tokio::time::Instant::now() >= until {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A one-time authorisation code for `GET /oauth/token/?grant_type=authorization_code`.
    pub fn authorization_code(&self) -> String {
        let mut s = self.portal.lock();
        let code = format!("code{:04}x{}", s.codes.len() + 1, s.member_id);
        s.codes.push(code.clone());
        code
    }

    /// The form body of `ONAPPINSTALL` as the portal sends it: fresh tokens and the
    /// application token.
    pub fn install_body(&self) -> String {
        build_query(&self.portal.event_body(
            "ONAPPINSTALL",
            json!({"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "ru"}),
            None,
            true,
        ))
    }

    /// Sends `ONAPPINSTALL` to `url`; the handler's HTTP status.
    pub async fn install_app(&self, url: &str) -> std::io::Result<u16> {
        let body = self.install_body();
        self.portal
            .record(post_form(url, &body).await, "ONAPPINSTALL", url)
    }

    /// Sends `ONAPPUNINSTALL` (no tokens: domain, member_id, application_token) to `url`.
    pub async fn uninstall_app(&self, url: &str) -> std::io::Result<u16> {
        let body = build_query(&self.portal.event_body(
            "ONAPPUNINSTALL",
            json!({"LANGUAGE_ID": "ru", "CLEAN": "0"}),
            None,
            false,
        ));
        self.portal
            .record(post_form(url, &body).await, "ONAPPUNINSTALL", url)
    }

    /// POSTs any form body to `url` (a forged event, say); the handler's HTTP status.
    pub async fn send_form(url: &str, body: &str) -> std::io::Result<u16> {
        post_form(url, body).await
    }
}

impl Portal {
    fn record(&self, r: std::io::Result<u16>, event: &str, url: &str) -> std::io::Result<u16> {
        self.lock().events.deliveries.push(Delivery {
            event: event.into(),
            url: url.into(),
            status: *r.as_ref().unwrap_or(&0),
        });
        r
    }

    /// The event body as a JSON tree (form keys nest like `auth[member_id]`).
    fn event_body(&self, event: &str, data: Value, handler: Option<i64>, tokens: bool) -> Value {
        let ttl = self.config.access_ttl.as_secs();
        let mut s = self.lock();
        let port = s.events.port;
        let endpoint = format!("http://127.0.0.1:{port}/rest/");
        let mut auth = Map::new();
        if tokens {
            let (access, refresh) = crate::auth::issue_for(&mut s, &self.config);
            auth.insert("access_token".into(), access.into());
            auth.insert(
                "expires".into(),
                (unix_now() as u64 + ttl).to_string().into(),
            );
            auth.insert("expires_in".into(), ttl.to_string().into());
            auth.insert("scope".into(), "crm,event".into());
            auth.insert("refresh_token".into(), refresh.into());
            auth.insert("status".into(), "L".into());
            auth.insert("user_id".into(), "1".into());
        }
        auth.insert("domain".into(), format!("127.0.0.1:{port}").into());
        auth.insert("server_endpoint".into(), endpoint.clone().into());
        auth.insert("client_endpoint".into(), endpoint.into());
        auth.insert("member_id".into(), s.member_id.clone().into());
        auth.insert(
            "application_token".into(),
            s.events.application_token.clone().into(),
        );
        let mut body = Map::new();
        body.insert("event".into(), event.into());
        if let Some(id) = handler {
            body.insert("event_handler_id".into(), id.to_string().into());
        }
        body.insert("data".into(), data);
        body.insert("ts".into(), (unix_now() as u64).to_string().into());
        body.insert("auth".into(), Value::Object(auth));
        Value::Object(body)
    }

    /// Sends `event` to every handler bound to it: POSTs for online ones (in the
    /// background, in order), a queue entry for offline ones.
    fn fire(self: &Arc<Self>, event: &str, data: Value) {
        let bindings: Vec<Binding> = {
            let s = self.lock();
            s.events
                .bindings
                .iter()
                .filter(|b| b.event == event)
                .cloned()
                .collect()
        };
        let mut posts = Vec::new();
        for b in bindings {
            if b.event_type == "offline" {
                let mut s = self.lock();
                let id = s.events.next_offline;
                s.events.next_offline += 1;
                s.events.offline.push(Offline {
                    id,
                    event: event.into(),
                    data: data.clone(),
                    process_id: None,
                    error: false,
                });
            } else {
                let body = build_query(&self.event_body(event, data.clone(), Some(b.id), true));
                posts.push((b.handler, body));
            }
        }
        if posts.is_empty() {
            return;
        }
        let portal = Arc::downgrade(self);
        let event = event.to_owned();
        tokio::spawn(async move {
            for (url, body) in posts {
                let r = post_form(&url, &body).await;
                if let Some(p) = portal.upgrade() {
                    let _ = p.record(r, &event, &url);
                }
            }
        });
    }
}

fn text(params: &Value, key: &str) -> String {
    match params
        .get(key)
        .or_else(|| params.get(key.to_ascii_uppercase()))
    {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn argument(message: &str) -> FakeError {
    FakeError::new(400, "ERROR_ARGUMENT", message)
}

fn bind(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let event = text(params, "event").to_ascii_uppercase();
    let handler = text(params, "handler");
    let event_type = match text(params, "event_type").to_ascii_lowercase().as_str() {
        "" | "online" => "online",
        "offline" => "offline",
        _ => return Err(argument("event_type must be online or offline")),
    };
    if event.is_empty() {
        return Err(argument("Event name is empty"));
    }
    if event_type == "online" && handler.is_empty() {
        return Err(FakeError::new(
            400,
            "WRONG_HANDLER_URL",
            "Handler URL is empty",
        ));
    }
    if event_type == "online" && !handler.starts_with("http://127.0.0.1:") {
        // The fake portal delivers to loopback only.
        return Err(FakeError::new(
            400,
            "WRONG_HANDLER_URL",
            "Wrong handler URL",
        ));
    }
    let mut s = p.lock();
    if s.events
        .bindings
        .iter()
        .any(|b| b.event == event && b.handler == handler && b.event_type == event_type)
    {
        return Err(FakeError::new(
            400,
            "ERROR_EVENT_BIND",
            "Handler already binded",
        ));
    }
    let id = s.events.next_binding;
    s.events.next_binding += 1;
    s.events.bindings.push(Binding {
        id,
        event,
        handler,
        event_type: event_type.into(),
    });
    Ok(Value::Bool(true))
}

fn unbind(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let event = text(params, "event").to_ascii_uppercase();
    let handler = text(params, "handler");
    let mut s = p.lock();
    let before = s.events.bindings.len();
    s.events
        .bindings
        .retain(|b| !(b.event == event && (handler.is_empty() || b.handler == handler)));
    Ok(json!({"count": before - s.events.bindings.len()}))
}

fn get(p: &Arc<Portal>, _: &Value) -> Result<Value, FakeError> {
    let s = p.lock();
    Ok(Value::Array(
        s.events
            .bindings
            .iter()
            .map(|b| {
                json!({"event": b.event, "handler": b.handler, "auth_type": "0",
                    "offline": if b.event_type == "offline" { 1 } else { 0 }})
            })
            .collect(),
    ))
}

fn flag(params: &Value, key: &str, default: bool) -> bool {
    match params.get(key) {
        None | Some(Value::Null) => default,
        Some(v) => loose_i64(v).map(|n| n != 0).unwrap_or(default),
    }
}

fn offline_json(o: &Offline) -> Value {
    json!({"ID": o.id.to_string(), "TIMESTAMP_X": "2026-01-01T00:00:00+00:00",
        "EVENT_NAME": o.event, "EVENT_DATA": o.data, "EVENT_ADDITIONAL": false,
        "MESSAGE_ID": o.id.to_string()})
}

/// `event.offline.get`: `limit` (default 50), `clear` (default 1: the events are removed),
/// `process_id` (with `clear=0`: events marked for that process, so parallel calls get
/// disjoint sets, and a repeat with the same id gets the unfinished ones again), `error`
/// (default 0: events marked erroneous are left out).
fn offline_get(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let limit = params
        .get("limit")
        .and_then(loose_i64)
        .unwrap_or(50)
        .clamp(1, 1000) as usize;
    let clear = flag(params, "clear", true);
    let with_errors = flag(params, "error", false);
    let mut s = p.lock();
    let asked = text(params, "process_id");
    let process = if clear {
        None
    } else if asked.is_empty() {
        let n = s.events.next_process;
        s.events.next_process += 1;
        Some(format!("process{n:06}"))
    } else {
        Some(asked)
    };
    let mut picked = Vec::new();
    for o in s.events.offline.iter_mut() {
        if picked.len() >= limit {
            break;
        }
        let free = o.process_id.is_none() || o.process_id == process;
        if free && (with_errors || !o.error) {
            if !clear {
                o.process_id = process.clone();
            }
            picked.push(o.id);
        }
    }
    let events: Vec<Value> = s
        .events
        .offline
        .iter()
        .filter(|o| picked.contains(&o.id))
        .map(offline_json)
        .collect();
    if clear {
        s.events.offline.retain(|o| !picked.contains(&o.id));
    }
    Ok(json!({"process_id": process, "events": events}))
}

/// `event.offline.clear`: `process_id` (required) and `id` (a list; default every event
/// of that process).
fn offline_clear(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let process = text(params, "process_id");
    if process.is_empty() {
        return Err(argument("process_id is required"));
    }
    let ids = ids(params);
    let mut s = p.lock();
    s.events.offline.retain(|o| {
        !(o.process_id.as_deref() == Some(process.as_str())
            && (ids.is_empty() || ids.contains(&o.id)))
    });
    Ok(Value::Bool(true))
}

/// `event.offline.error`: `process_id` and `message_id` (a list): marks them erroneous and
/// frees them from the process.
fn offline_error(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let process = text(params, "process_id");
    let ids = match params.get("message_id") {
        Some(v) => list_ids(v),
        None => Vec::new(),
    };
    let mut s = p.lock();
    for o in s.events.offline.iter_mut() {
        if o.process_id.as_deref() == Some(process.as_str()) && ids.contains(&o.id) {
            o.error = true;
            o.process_id = None;
        }
    }
    Ok(Value::Bool(true))
}

fn offline_list(p: &Arc<Portal>, _: &Value) -> Result<Value, FakeError> {
    let s = p.lock();
    Ok(Value::Array(
        s.events.offline.iter().map(offline_json).collect(),
    ))
}

fn ids(params: &Value) -> Vec<i64> {
    params.get("id").map(list_ids).unwrap_or_default()
}

fn list_ids(v: &Value) -> Vec<i64> {
    match v {
        Value::Array(a) => a.iter().filter_map(loose_i64).collect(),
        Value::Object(m) => m.values().filter_map(loose_i64).collect(),
        other => loose_i64(other).into_iter().collect(),
    }
}

fn deal_id(params: &Value) -> Result<i64, FakeError> {
    params
        .get("id")
        .or_else(|| params.get("ID"))
        .and_then(loose_i64)
        .ok_or_else(|| argument("ID is not defined or invalid."))
}

fn deal_add(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let fields = params.get("fields").cloned().unwrap_or(json!({}));
    let id = {
        let mut s = p.lock();
        let id = s.events.next_deal;
        s.events.next_deal += 1;
        let mut deal = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        deal.insert("ID".into(), id.to_string().into());
        s.events.deals.insert(id, Value::Object(deal));
        id
    };
    p.fire("ONCRMDEALADD", json!({"FIELDS": {"ID": id.to_string()}}));
    Ok(json!(id))
}

fn deal_update(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let id = deal_id(params)?;
    {
        let mut s = p.lock();
        let Some(Value::Object(deal)) = s.events.deals.get_mut(&id) else {
            return Err(FakeError::new(400, "NOT_FOUND", "Not found"));
        };
        if let Some(Value::Object(fields)) = params.get("fields") {
            for (k, v) in fields {
                if k != "ID" {
                    deal.insert(k.clone(), v.clone());
                }
            }
        }
    }
    p.fire("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": id.to_string()}}));
    Ok(Value::Bool(true))
}

fn deal_delete(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let id = deal_id(params)?;
    if p.lock().events.deals.remove(&id).is_none() {
        return Err(FakeError::new(400, "NOT_FOUND", "Not found"));
    }
    p.fire("ONCRMDEALDELETE", json!({"FIELDS": {"ID": id.to_string()}}));
    Ok(Value::Bool(true))
}

fn deal_get(p: &Arc<Portal>, params: &Value) -> Result<Value, FakeError> {
    let id = deal_id(params)?;
    p.lock()
        .events
        .deals
        .get(&id)
        .cloned()
        .ok_or_else(|| FakeError::new(400, "NOT_FOUND", "Not found"))
}

/// A JSON tree as PHP's `http_build_query` writes it: `a[b][0]=v`, keys and values
/// percent-encoded.
pub fn build_query(value: &Value) -> String {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, v, out);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            Value::Null => out.push(format!("{}=", encode(prefix))),
            Value::Bool(b) => out.push(format!("{}={}", encode(prefix), u8::from(*b))),
            Value::Number(n) => out.push(format!("{}={}", encode(prefix), n)),
            Value::String(s) => out.push(format!("{}={}", encode(prefix), encode(s))),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out.join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// POSTs a form to a loopback `http://127.0.0.1:<port>/<path>` URL with HTTP/1.1; the
/// answer's status. Refuses any other address; bounded by 5 s.
async fn post_form(url: &str, body: &str) -> std::io::Result<u16> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a loopback http URL");
    let rest = url.strip_prefix("http://127.0.0.1:").ok_or_else(bad)?;
    let (port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: Bitrix24 Webhook Engine\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        // The status line is all we need; read until it is complete (bounded).
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&head);
        line.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| std::io::Error::other("no HTTP status in the handler's answer"))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "handler timed out"))?
}
