//! Typed batches: many calls in one request (`batch`), split at 50 calls per request.

use std::fmt;
use std::marker::PhantomData;

use super::Method;
use super::client::Time;
use super::client::{Client, check_method_name, to_params};
use super::error::{ApiError, Error, ErrorCode, ErrorKind, Part, decode_value};
use super::loose::Loose;
use super::retry::is_read;

/// The most calls the portal runs in one `batch` request.
pub const MAX_BATCH: usize = 50;

/// A list of calls to send together with [`Client::batch`].
///
/// Calls are sent in the order they were added, 50 per request; a later request is sent
/// only after the earlier one was answered. With [`Batch::halt`], the first failed call
/// stops the rest (of its request and of all later requests).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    calls: Vec<Call>,
    halt: bool,
}

#[derive(Debug, Clone)]
struct Call {
    method: String,
    /// `key=value&...` in PHP's form, percent-encoded once.
    query: String,
}

/// Where the answer of one call of a [`Batch`] will be, and of which type.
pub struct BatchKey<T> {
    index: usize,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for BatchKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for BatchKey<T> {}
impl<T> fmt::Debug for BatchKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchKey({})", self.index)
    }
}

impl<T> BatchKey<T> {
    /// The position of the call in its batch (0-based, in the order calls were added).
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Batch {
    /// An empty batch that runs every call whatever the others do.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Stops at the first failed call when `halt` is true.
    pub fn halt(mut self, halt: bool) -> Batch {
        self.halt = halt;
        self
    }

    /// Adds a call; its typed answer will be under the returned key.
    pub fn add<M: Method>(&mut self, request: &M) -> Result<BatchKey<M::Response>, Error> {
        if M::API == super::ApiVersion::V3 {
            return Err(Error::InvalidConfig(format!(
                "{} is a REST 3.0 method; a classic batch cannot hold it (call it directly)",
                M::NAME
            )));
        }
        let params = to_params(M::NAME, request)?;
        self.add_raw_as(M::NAME, &params)
    }

    /// Adds a call by wire name with JSON parameters; its answer stays JSON.
    pub fn add_raw(
        &mut self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<BatchKey<serde_json::Value>, Error> {
        self.add_raw_as(method, params)
    }

    fn add_raw_as<T>(
        &mut self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<BatchKey<T>, Error> {
        check_method_name(method)?;
        if method.eq_ignore_ascii_case("batch") {
            return Err(Error::InvalidConfig(
                "a batch cannot hold another batch".into(),
            ));
        }
        let query = php_query(params).map_err(|path| {
            Error::Decode(Box::new(super::DecodeError {
                method: method.to_owned(),
                part: Part::Params,
                path,
                message: "a batch call's parameters must be a JSON object".into(),
                excerpt: String::new(),
            }))
        })?;
        Ok(self.push(method, query))
    }

    /// Adds a call with a ready query string (may hold `$result[...]` references).
    pub(crate) fn push<T>(&mut self, method: &str, query: String) -> BatchKey<T> {
        self.calls.push(Call {
            method: method.to_owned(),
            query,
        });
        BatchKey {
            index: self.calls.len() - 1,
            _type: PhantomData,
        }
    }

    /// How many calls the batch holds.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether the batch holds no call.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

/// The answers of a batch, one per call, in the order the calls were added.
#[derive(Debug)]
pub struct BatchResults {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    method: String,
    outcome: Option<Result<Raw, Error>>,
}

/// One call's answer before decoding.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) result: serde_json::Value,
}

impl BatchResults {
    /// Takes the typed answer of one call. A second `take` of the same key fails with
    /// [`Error::InvalidConfig`].
    pub fn take<T: Loose>(&mut self, key: BatchKey<T>) -> Result<T, Error> {
        let entry = self
            .entries
            .get_mut(key.index)
            .ok_or_else(|| Error::InvalidConfig("a batch key of another batch".into()))?;
        match entry.outcome.take() {
            None => Err(Error::InvalidConfig(format!(
                "{}: this batch answer was already taken",
                entry.method
            ))),
            Some(Err(e)) => Err(e),
            Some(Ok(raw)) => decode_value::<T>(&entry.method, Part::Result, &raw.result),
        }
    }

    /// How many answers there are (one per call).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no answer.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every answer as JSON, in the order the calls were added.
    pub fn into_raw(self) -> Vec<Result<serde_json::Value, Error>> {
        self.entries
            .into_iter()
            .map(|e| match e.outcome {
                Some(r) => r.map(|raw| raw.result),
                None => Err(Error::InvalidConfig(format!(
                    "{}: this batch answer was already taken",
                    e.method
                ))),
            })
            .collect()
    }
}

impl Client {
    /// Sends a batch: 50 calls per request, requests one after another. Returns one answer
    /// per call, in order; each is the call's own value or error. The whole batch fails
    /// only when its first request could not be made at all.
    pub async fn batch(&self, batch: &Batch) -> Result<BatchResults, Error> {
        let mut entries: Vec<Entry> = Vec::with_capacity(batch.calls.len());
        let mut halted = false;
        for chunk in batch.calls.chunks(MAX_BATCH) {
            if halted {
                entries.extend(chunk.iter().map(|c| Entry {
                    method: c.method.clone(),
                    outcome: Some(Err(Error::NotRun {
                        method: c.method.clone(),
                    })),
                }));
                continue;
            }
            match self.batch_chunk(chunk, batch.halt).await {
                Ok(outcomes) => {
                    halted = batch.halt && outcomes.iter().any(|o| o.is_err());
                    entries.extend(chunk.iter().zip(outcomes).map(|(c, o)| Entry {
                        method: c.method.clone(),
                        outcome: Some(o),
                    }));
                }
                Err(e) if entries.is_empty() => return Err(e),
                Err(e) => {
                    halted = batch.halt;
                    entries.extend(chunk.iter().map(|c| Entry {
                        method: c.method.clone(),
                        outcome: Some(Err(e.clone())),
                    }));
                }
            }
        }
        Ok(BatchResults { entries })
    }

    /// Sends the same method with many requests as batches; one answer per request, in order.
    pub async fn batch_of<M: Method>(
        &self,
        requests: &[M],
    ) -> Result<Vec<Result<M::Response, Error>>, Error> {
        let mut batch = Batch::new();
        let keys = requests
            .iter()
            .map(|r| batch.add(r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = self.batch(&batch).await?;
        Ok(keys.into_iter().map(|k| results.take(k)).collect())
    }

    /// Sends up to 50 calls as one `batch` request.
    pub(crate) async fn batch_chunk_raw(
        &self,
        calls: &[(String, String)],
        halt: bool,
    ) -> Result<Vec<Result<Raw, Error>>, Error> {
        let chunk: Vec<Call> = calls
            .iter()
            .map(|(m, q)| Call {
                method: m.clone(),
                query: q.clone(),
            })
            .collect();
        self.batch_chunk(&chunk, halt).await
    }

    /// Sends one chunk, then repeats the calls of it that the portal refused for a limit
    /// (reads only, without `$result` references, not under `halt`), a bounded number of
    /// times; each repeat waits for the method's budget in the limiter first.
    async fn batch_chunk(
        &self,
        chunk: &[Call],
        halt: bool,
    ) -> Result<Vec<Result<Raw, Error>>, Error> {
        let mut outcomes = self.batch_chunk_once(chunk, halt).await?;
        if halt {
            return Ok(outcomes);
        }
        let repeatable = |c: &Call, o: &Result<Raw, Error>| {
            matches!(o, Err(e) if matches!(e.kind(), ErrorKind::OperatingTimeLimit | ErrorKind::RateLimited))
                && is_read(&c.method)
                && !c.query.contains("$result")
        };
        // Bounded by the retry policy's count.
        for attempt in 1..=self.retry_policy().max_retries {
            let again: Vec<usize> = (0..chunk.len())
                .filter(|&i| repeatable(&chunk[i], &outcomes[i]))
                .collect();
            if again.is_empty() {
                break;
            }
            let delay = self.retry_delay(attempt);
            super::stats::Counters::add(&self.counters().retries, again.len() as u64);
            super::stats::trace_event!(
                info,
                method = "batch",
                attempt,
                commands = again.len(),
                delay_ms = super::stats::millis(delay),
                "retry"
            );
            tokio::time::sleep(delay).await;
            let calls: Vec<Call> = again.iter().map(|&i| chunk[i].clone()).collect();
            let Ok(answers) = self.batch_chunk_once(&calls, false).await else {
                break;
            };
            for (i, answer) in again.into_iter().zip(answers) {
                outcomes[i] = answer;
            }
        }
        Ok(outcomes)
    }

    /// Sends one `batch` request. Each nested call counts against its own method's
    /// server-time budget (the outer `batch` is not counted by the portal): the request
    /// waits until every nested method's budget allows a call, their `result_time` figures
    /// are recorded, and an `OPERATION_TIME_LIMIT` of a nested call blocks its method.
    async fn batch_chunk_once(
        &self,
        chunk: &[Call],
        halt: bool,
    ) -> Result<Vec<Result<Raw, Error>>, Error> {
        let mut cmd = serde_json::Map::new();
        for (i, c) in chunk.iter().enumerate() {
            cmd.insert(
                key(i),
                serde_json::Value::String(format!("{}?{}", c.method, c.query)),
            );
        }
        let params = serde_json::json!({ "halt": if halt { 1 } else { 0 }, "cmd": cmd });
        let read = chunk.iter().all(|c| is_read(&c.method));
        let mut counts: std::collections::BTreeMap<String, u32> = Default::default();
        for c in chunk {
            *counts.entry(c.method.to_ascii_lowercase()).or_default() += 1;
        }
        let nested = self.limiter().acquire_nested(&counts).await?;
        let mut answer = self.execute("batch", &params, read, None).await?;
        let mut result = answer.remove("result").unwrap_or(serde_json::Value::Null);
        let mut part = |name: &str| match result.get_mut(name).map(serde_json::Value::take) {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let mut results = part("result");
        let errors = part("result_error");
        let times = part("result_time");
        for (i, c) in chunk.iter().enumerate() {
            let time = times
                .get(&key(i))
                .and_then(|t| decode_value::<Option<Time>>(&c.method, Part::Envelope, t).ok())
                .flatten();
            if let Some(time) = time {
                self.limiter().observe_nested(&c.method, &time);
            }
        }
        drop(nested);
        let mut out = Vec::with_capacity(chunk.len());
        for (i, c) in chunk.iter().enumerate() {
            let k = key(i);
            if let Some(e) = errors.get(&k) {
                let code = e
                    .get("error")
                    .map(ErrorCode::from_json)
                    .unwrap_or_else(|| ErrorCode::Text(String::new()));
                let description = match e.get("error_description") {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                let error = ApiError {
                    method: c.method.clone(),
                    status: 0,
                    code,
                    description: self.scrub(&description),
                    validation: Vec::new(),
                };
                match error.kind() {
                    ErrorKind::OperatingTimeLimit => {
                        super::stats::Counters::add(&self.counters().operating_limited, 1);
                        self.limiter().method_blocked(&c.method).await;
                    }
                    ErrorKind::RateLimited => {
                        super::stats::Counters::add(&self.counters().rate_limited, 1);
                    }
                    _ => {}
                }
                super::stats::trace_event!(
                    info,
                    method = c.method.as_str(),
                    kind = ?error.kind(),
                    code = %error.code,
                    "failed in a batch"
                );
                out.push(Err(Error::Api(Box::new(error))));
                continue;
            }
            out.push(match results.remove(&k) {
                Some(result) => Ok(Raw { result }),
                None => Err(Error::NotRun {
                    method: c.method.clone(),
                }),
            });
        }
        Ok(out)
    }
}

/// The command id of the `i`-th call of a request, zero-padded so that the portal (and a
/// JSON object sorted by key) keeps them in order.
pub(crate) fn key(i: usize) -> String {
    format!("c{i:02}")
}

/// Writes JSON parameters as a PHP query string (`fields[TITLE]=x&select[0]=ID`),
/// percent-encoding keys and values once, after the encoding every classic call gets
/// ([`wire::classic`](crate::wire::classic): numbers as text, booleans `Y`/`N`, `null` and
/// empty containers left out, keys in the caller's order). Fails with the path of the
/// offending value when the top level is not an object.
pub(crate) fn php_query(params: &serde_json::Value) -> Result<String, String> {
    let mut out = String::new();
    if !matches!(
        params,
        serde_json::Value::Object(_) | serde_json::Value::Null
    ) {
        return Err("params".into());
    }
    match &super::wire::classic(params) {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                php_pairs(&encode(k), v, &mut out);
            }
            Ok(out)
        }
        serde_json::Value::Null => Ok(out),
        _ => Err("params".into()),
    }
}

fn php_pairs(prefix: &str, value: &serde_json::Value, out: &mut String) {
    let mut pair = |v: &str| {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(prefix);
        out.push('=');
        out.push_str(&encode(v));
    };
    match value {
        // Not left after `wire::classic`; written as a form would, should they appear.
        serde_json::Value::Null => {}
        serde_json::Value::Bool(b) => pair(if *b { "Y" } else { "N" }),
        serde_json::Value::Number(n) => pair(&n.to_string()),
        serde_json::Value::String(s) => pair(s),
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                php_pairs(&format!("{prefix}[{i}]"), v, out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                php_pairs(&format!("{prefix}[{}]", encode(k)), v, out);
            }
        }
    }
}

/// Percent-encodes all but RFC 3986 unreserved characters.
pub(crate) fn encode(text: &str) -> String {
    super::auth::percent(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_php_query_strings() {
        let q = php_query(&serde_json::json!({
            "fields": { "TITLE": "a b&c", "OK": true, "NO": false, "GONE": null },
            "select": ["ID", "UF_*"],
            "filter": { ">ID": 5 },
        }))
        .unwrap();
        assert_eq!(
            q,
            "fields[TITLE]=a%20b%26c&fields[OK]=Y&fields[NO]=N&select[0]=ID&select[1]=UF_%2A&filter[%3EID]=5"
        );
        // Holes left by `null` keep the positions of the rest; empty lists are left out.
        let q = php_query(&serde_json::json!({"a": [1, null, 3], "b": [], "c": {}})).unwrap();
        assert_eq!(q, "a[0]=1&a[2]=3");
        assert_eq!(php_query(&serde_json::json!(null)).unwrap(), "");
        assert!(php_query(&serde_json::json!([1, 2])).is_err());
    }

    #[test]
    fn command_keys_sort_in_call_order() {
        let keys: Vec<String> = (0..MAX_BATCH).map(key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
