//! Offline events (`events/offline-events.md`) drained as a stream: `event.offline.get` with
//! `clear=0` and a `process_id` marks a batch for this process (parallel readers get disjoint
//! sets); the batch is cleared (`event.offline.clear`) only after every event of it has been
//! taken from the stream. A stream dropped, or a clear that fails, halfway leaves the rest of
//! the batch marked for the process: a stream started again with the same
//! [`OfflineEvents::process_id`] gets those events again. Nothing is lost; an event may be
//! seen twice (at-least-once).

use std::collections::VecDeque;

use futures_core::Stream;
use futures_util::stream;
use serde_json::{Value, json};

use crate::{Client, Error};

/// One offline event as `event.offline.get` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineEvent {
    /// The record's `ID`.
    pub id: i64,
    /// `MESSAGE_ID`.
    pub message_id: String,
    /// `EVENT_NAME` (`ONCRMDEALADD`).
    pub name: String,
    /// `TIMESTAMP_X`.
    pub timestamp: String,
    /// `EVENT_DATA`.
    pub data: Value,
    /// `EVENT_ADDITIONAL`.
    pub additional: Value,
    /// The process the event is marked for (to resume with after a failure).
    pub process_id: String,
}

/// How to drain the offline queue. `OfflineEvents::new().stream(&client)`.
#[derive(Debug, Clone)]
pub struct OfflineEvents {
    limit: u32,
    process_id: Option<String>,
    auth_connector: Option<String>,
    max_batches: usize,
}

impl Default for OfflineEvents {
    fn default() -> OfflineEvents {
        OfflineEvents::new()
    }
}

impl OfflineEvents {
    /// Batches of 50, a fresh process id, at most 1,000 batches per stream.
    pub fn new() -> OfflineEvents {
        OfflineEvents {
            limit: 50,
            process_id: None,
            auth_connector: None,
            max_batches: 1000,
        }
    }

    /// Events per `event.offline.get` (1..=1000).
    pub fn limit(mut self, limit: u32) -> OfflineEvents {
        self.limit = limit.clamp(1, 1000);
        self
    }

    /// Resumes the process `id` (the `process_id` of an event seen before a failure): its
    /// events not cleared yet come first. Default: a new random id, chosen here so a repeat
    /// of a lost `event.offline.get` marks nothing for a process we never learn.
    pub fn process_id(mut self, id: impl Into<String>) -> OfflineEvents {
        self.process_id = Some(id.into());
        self
    }

    /// The `auth_connector` given to `event.bind`.
    pub fn auth_connector(mut self, key: impl Into<String>) -> OfflineEvents {
        self.auth_connector = Some(key.into());
        self
    }

    /// Stops after this many batches (bounded even if events keep arriving).
    pub fn max_batches(mut self, n: usize) -> OfflineEvents {
        self.max_batches = n;
        self
    }

    /// The events, in queue order, until the queue is empty (or `max_batches`).
    pub fn stream(
        self,
        client: &Client,
    ) -> impl Stream<Item = Result<OfflineEvent, Error>> + use<> {
        let process = self.process_id.clone().unwrap_or_else(|| {
            let mut rng = fastrand::Rng::new();
            format!("rs{:016x}{:016x}", rng.u64(..), rng.u64(..))
        });
        let state = State {
            client: client.clone(),
            options: self,
            process,
            pending: VecDeque::new(),
            to_clear: Vec::new(),
            batches: 0,
            done: false,
        };
        stream::unfold(state, |mut st| async move {
            loop {
                if let Some(ev) = st.pending.pop_front() {
                    return Some((Ok(ev), st));
                }
                if !st.to_clear.is_empty() {
                    let ids = std::mem::take(&mut st.to_clear);
                    let mut params = json!({"process_id": st.process, "id": ids});
                    if let Some(c) = &st.options.auth_connector {
                        params["auth_connector"] = json!(c);
                    }
                    if let Err(e) = st.client.call_raw("event.offline.clear", &params).await {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
                if st.done || st.batches >= st.options.max_batches {
                    return None;
                }
                st.batches += 1;
                let mut params =
                    json!({"clear": 0, "limit": st.options.limit, "process_id": st.process});
                if let Some(c) = &st.options.auth_connector {
                    params["auth_connector"] = json!(c);
                }
                let answer = match st.client.call_raw("event.offline.get", &params).await {
                    Ok(a) => a.result,
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                };
                match read_batch(&answer, &st.process) {
                    Ok(events) if events.is_empty() => st.done = true,
                    Ok(events) => {
                        st.to_clear = events.iter().map(|e| e.id).collect();
                        st.pending = events.into();
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }
}

struct State {
    client: Client,
    options: OfflineEvents,
    process: String,
    pending: VecDeque<OfflineEvent>,
    to_clear: Vec<i64>,
    batches: usize,
    done: bool,
}

fn read_batch(result: &Value, asked: &str) -> Result<Vec<OfflineEvent>, Error> {
    let bad = |what: &str| Error::Http {
        method: "event.offline.get".into(),
        status: 200,
        excerpt: format!("the answer's result {what}"),
    };
    let process = result
        .get("process_id")
        .and_then(Value::as_str)
        .unwrap_or(asked)
        .to_owned();
    let events = match result.get("events") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(Value::Object(m)) if m.is_empty() => &[],
        None | Some(Value::Null) => &[],
        Some(_) => return Err(bad("has `events` that is not a list")),
    };
    let text = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    events
        .iter()
        .map(|e| {
            let id = text(e, "ID")
                .trim()
                .parse()
                .map_err(|_| bad("has an event without an integer `ID`"))?;
            Ok(OfflineEvent {
                id,
                message_id: text(e, "MESSAGE_ID"),
                name: text(e, "EVENT_NAME"),
                timestamp: text(e, "TIMESTAMP_X"),
                data: e.get("EVENT_DATA").cloned().unwrap_or(Value::Null),
                additional: e.get("EVENT_ADDITIONAL").cloned().unwrap_or(Value::Null),
                process_id: process.clone(),
            })
        })
        .collect()
}
