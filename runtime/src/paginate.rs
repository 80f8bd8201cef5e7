//! Paging through list methods (`pagination: start`) as streams.
//!
//! * [`Client::pages`] / [`Client::items`] follow the portal's `next` offsets one request
//!   at a time: simple, works for every list method, but each page makes the portal count
//!   the whole list again.
//! * [`FastList`] is the portal's recipe for big lists: `start=-1` (no count), ordered by
//!   ID, each page asking for IDs above the last one seen. Up to 50 pages are chained in one
//!   `batch` request through `$result[...]` references, and several ID ranges run in
//!   parallel under the client's shared limiter. Memory stays bounded: each range holds at
//!   most two batches of items, and three more sit in the hand-over to the caller.

use std::collections::VecDeque;

use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream;

use super::Method;
use super::batch::{MAX_BATCH, encode, key, php_query};
use super::client::{Client, Envelope, envelope, to_params};
use super::error::{DecodeError, Error, Part, cut, decode_value, short_json};

/// The page size of Bitrix24 list methods.
pub const PAGE_SIZE: usize = 50;

/// Guards against a portal that never stops handing out `next`: at most this many pages.
const MAX_PAGES: u64 = 10_000_000;

impl Client {
    /// Every page of a list method, from the request's own `start` (or 0) to the last,
    /// following the portal's `next`. A page that fails after the client's retries ends the
    /// stream with that error; a page whose `next` does not move forward is yielded, then
    /// an error ends the stream rather than looping.
    pub fn pages<M>(
        &self,
        request: &M,
    ) -> impl Stream<Item = Result<Envelope<M::Response>, Error>> + Send + 'static
    where
        M: Method,
        M::Response: Send + 'static,
    {
        let client = self.clone();
        // REST 3.0 lists page by `pagination: {page, limit}`: `Client::v3_pages`.
        let params = if M::API == super::ApiVersion::V3 {
            Err(Error::InvalidConfig(format!(
                "{} is a REST 3.0 method: page it with `v3_pages`",
                M::NAME
            )))
        } else {
            to_params(M::NAME, request)
        };
        struct State {
            client: Client,
            params: Result<serde_json::Value, Error>,
            start: Option<i64>,
            pages: u64,
            done: bool,
            /// An error found in the last page's envelope, yielded after that page.
            pending: Option<Error>,
        }
        let start = params
            .as_ref()
            .ok()
            .and_then(|p| p.get("start"))
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()));
        let state = State {
            client,
            params,
            start: start.filter(|s| *s >= 0).or(Some(0)),
            pages: 0,
            done: false,
            pending: None,
        };
        stream::unfold(state, |mut st| async move {
            if let Some(e) = st.pending.take() {
                st.done = true;
                return Some((Err(e), st));
            }
            if st.done {
                return None;
            }
            let start = st.start?;
            let mut params = match &st.params {
                Ok(p) => p.clone(),
                Err(e) => {
                    st.done = true;
                    return Some((Err(e.clone()), st));
                }
            };
            if let serde_json::Value::Object(m) = &mut params {
                m.insert("start".into(), start.into());
            } else if params.is_null() {
                params = serde_json::json!({ "start": start });
            }
            st.pages += 1;
            let answer = st
                .client
                .execute(M::NAME, &params, true, Some(M::RATE_LIMIT_PER_SEC))
                .await
                .and_then(|a| envelope::<M::Response>(M::NAME, a));
            match answer {
                Err(e) => {
                    st.done = true;
                    Some((Err(e), st))
                }
                Ok(page) => {
                    match page.next {
                        Some(next) if next <= start || st.pages >= MAX_PAGES => {
                            st.start = None;
                            st.pending = Some(Error::Decode(Box::new(DecodeError {
                                method: M::NAME.to_owned(),
                                part: Part::Envelope,
                                path: "next".into(),
                                message: format!(
                                    "the next offset does not move forward from {start}"
                                ),
                                excerpt: next.to_string(),
                            })));
                        }
                        Some(next) => st.start = Some(next),
                        None => st.done = true,
                    }
                    Some((Ok(page), st))
                }
            }
        })
    }

    /// Every item of a list method whose `result` is the list itself, page after page
    /// (see [`Client::pages`]).
    pub fn items<M>(
        &self,
        request: &M,
    ) -> impl Stream<Item = Result<<M::Response as IntoIterator>::Item, Error>> + Send + 'static
    where
        M: Method,
        M::Response: IntoIterator + Send + 'static,
        <M::Response as IntoIterator>::Item: Send + 'static,
        <M::Response as IntoIterator>::IntoIter: Send + 'static,
    {
        self.pages(request).flat_map(|page| match page {
            Ok(page) => stream::iter(Items::Page(page.result.into_iter())),
            Err(e) => stream::iter(Items::Error(Some(e))),
        })
    }
}

enum Items<I: Iterator> {
    Page(I),
    Error(Option<Error>),
}

impl<I: Iterator> Iterator for Items<I> {
    type Item = Result<I::Item, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::Page(i) => i.next().map(Ok),
            Items::Error(e) => e.take().map(Err),
        }
    }
}

/// What a [`FastList`] walks: a typed request (any [`Method`] whose response iterates its
/// rows), or a [`RawList`] named at run time. Sealed: implemented by the runtime only.
pub trait Listing: Clone + Send + Sync + 'static + sealed::Sealed {
    /// One row of the list.
    type Row: Send + 'static;
    /// The wire name.
    fn name(&self) -> &str;
    /// The API the method belongs to.
    fn api(&self) -> super::ApiVersion;
    /// Where the rows sit in `result` (see [`Method::ITEMS_KEY`]).
    fn items_key(&self) -> Option<&str>;
    /// The rows' ID key (see [`Method::ID_KEY`]).
    fn id_key(&self) -> &str;
    /// The request's parameters as JSON.
    fn params(&self) -> Result<serde_json::Value, Error>;
    /// The rows of one page's `result`.
    fn decode(&self, result: &serde_json::Value) -> Result<Vec<Self::Row>, Error>;
}

mod sealed {
    pub trait Sealed {}
}

impl<M> sealed::Sealed for M where M: Method {}

impl<M> Listing for M
where
    M: Method + Clone + Send + Sync + 'static,
    M::Response: IntoIterator + Send + 'static,
    <M::Response as IntoIterator>::Item: Send + 'static,
{
    type Row = <M::Response as IntoIterator>::Item;
    fn name(&self) -> &str {
        M::NAME
    }
    fn api(&self) -> super::ApiVersion {
        M::API
    }
    fn items_key(&self) -> Option<&str> {
        M::ITEMS_KEY
    }
    fn id_key(&self) -> &str {
        M::ID_KEY
    }
    fn params(&self) -> Result<serde_json::Value, Error> {
        to_params(M::NAME, self)
    }
    fn decode(&self, result: &serde_json::Value) -> Result<Vec<Self::Row>, Error> {
        let page: M::Response = decode_value(M::NAME, Part::Result, result)?;
        Ok(page.into_iter().collect())
    }
}

/// A list method named at run time (say, by a command-line argument): JSON parameters in,
/// rows as JSON out. Where the rows sit and their ID key come from the method table
/// ([`RawList::from_info`]) or are set by hand.
#[derive(Debug, Clone)]
pub struct RawList {
    name: String,
    params: serde_json::Value,
    items_key: Option<String>,
    id_key: String,
    api: super::ApiVersion,
}

impl RawList {
    /// A list whose `result` is the array of rows, keyed by `ID`.
    pub fn new(name: &str, params: serde_json::Value) -> RawList {
        RawList {
            name: name.to_owned(),
            params,
            items_key: None,
            id_key: "ID".into(),
            api: super::ApiVersion::Classic,
        }
    }

    /// A list of the method `info` describes (its rows' place, ID key and API).
    pub fn from_info(info: &super::MethodInfo, params: serde_json::Value) -> RawList {
        RawList {
            name: info.name.to_owned(),
            params,
            items_key: info.items_key.map(str::to_owned),
            id_key: info.id_key.to_owned(),
            api: info.api,
        }
    }

    /// The key of the rows' array in an object `result` (`None`: `result` is the array).
    pub fn items_key(mut self, key: Option<&str>) -> Self {
        self.items_key = key.map(str::to_owned);
        self
    }

    /// The rows' ID key.
    pub fn id_key(mut self, key: &str) -> Self {
        self.id_key = key.to_owned();
        self
    }
}

impl sealed::Sealed for RawList {}

impl Listing for RawList {
    type Row = serde_json::Value;
    fn name(&self) -> &str {
        &self.name
    }
    fn api(&self) -> super::ApiVersion {
        self.api
    }
    fn items_key(&self) -> Option<&str> {
        self.items_key.as_deref()
    }
    fn id_key(&self) -> &str {
        &self.id_key
    }
    fn params(&self) -> Result<serde_json::Value, Error> {
        Ok(self.params.clone())
    }
    fn decode(&self, result: &serde_json::Value) -> Result<Vec<Self::Row>, Error> {
        let rows = match (&self.items_key, result) {
            (None, serde_json::Value::Array(rows)) => rows.clone(),
            (Some(k), serde_json::Value::Object(m)) => match m.get(k) {
                Some(serde_json::Value::Array(rows)) => rows.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok(rows)
    }
}

/// A fast, complete walk through a big list, by ID ranges chained through batches.
///
/// Works for list methods that accept `order` by the ID field, a `>ID` / `<=ID` filter and
/// `start=-1`, whether `result` is the array of rows itself (`crm.deal.list`, `user.get`) or
/// an object holding it ([`Method::ITEMS_KEY`]: `crm.item.list` → `items`,
/// `tasks.task.list` → `tasks`); row IDs are read from [`Method::ID_KEY`] (`ID` or `id`).
/// Items come out in ascending ID order, each exactly once (for rows that do not change
/// during the walk). The request's own `order` and `start` are replaced.
///
/// The walk checks what it relies on and fails loudly instead of returning a short list:
/// every row of every page must ascend and stay in its range, the probes for the lowest and
/// highest ID must come back ascending and descending, and every answer must hold its rows
/// where the method's spec says. Refused pages (`OPERATION_TIME_LIMIT`,
/// `QUERY_LIMIT_EXCEEDED`, a server error) are asked for again, a bounded number of times,
/// from the last row received. Keep the ID of the last item you processed:
/// [`FastList::resume_after`] continues from it after a crash.
#[derive(Debug, Clone)]
pub struct FastList<M> {
    list: M,
    id_field: String,
    row_id: String,
    filter_key: String,
    order_key: String,
    parallel: usize,
    pages_per_batch: usize,
    after: Option<i64>,
}

/// Consecutive refused batches a range (or the probe) tolerates before it gives up.
const MAX_REFUSED: u32 = 8;

impl<M: Listing> FastList<M> {
    /// A walk of the list `request` asks for (a typed request, or a [`RawList`]): ID field
    /// [`Method::ID_KEY`], parameters `filter` and `order`; four ranges at once; 50 pages
    /// per batch.
    pub fn new(request: M) -> FastList<M> {
        FastList {
            id_field: request.id_key().into(),
            row_id: request.id_key().into(),
            list: request,
            filter_key: "filter".into(),
            order_key: "order".into(),
            parallel: 4,
            pages_per_batch: MAX_BATCH,
            after: None,
        }
    }

    /// The name of the ID field in items, filters and order (`ID`, or `id`).
    pub fn id_field(mut self, name: &str) -> Self {
        self.id_field = name.to_owned();
        self.row_id = name.to_owned();
        self
    }

    /// The name of the ID field in filters and order only, when it differs from the rows'
    /// (`tasks.task.list` rows carry `id`, its filter takes `ID`).
    pub fn filter_id_field(mut self, name: &str) -> Self {
        self.id_field = name.to_owned();
        self
    }

    /// The names of the filter and order parameters (`filter`/`order`, or
    /// `FILTER`/`ORDER` for `user.get`-style methods).
    pub fn keys(mut self, filter: &str, order: &str) -> Self {
        self.filter_key = filter.to_owned();
        self.order_key = order.to_owned();
        self
    }

    /// Continues a walk after the row with this ID (the last one a crashed export saw):
    /// only rows with a higher ID are fetched.
    pub fn resume_after(mut self, id: i64) -> Self {
        self.after = Some(id);
        self
    }

    /// How many ID ranges are walked at once (1 to 16).
    pub fn parallel(mut self, ranges: usize) -> Self {
        self.parallel = ranges.clamp(1, 16);
        self
    }

    /// How many pages are chained in one batch request (1 to 50).
    pub fn pages_per_batch(mut self, pages: usize) -> Self {
        self.pages_per_batch = pages.clamp(1, MAX_BATCH);
        self
    }

    /// The walk on `client`; the stream yields items in ascending ID order, then ends, or
    /// yields one error and ends. Nothing is sent before the stream is first polled; it
    /// must be polled inside a tokio runtime (elsewhere it yields an
    /// [`Error::InvalidConfig`] instead of panicking).
    pub fn stream(
        self,
        client: &Client,
    ) -> impl Stream<Item = Result<M::Row, Error>> + Send + 'static {
        let client = client.clone();
        enum Stage<M: Listing> {
            NotStarted(FastList<M>, Client),
            Running(tokio::sync::mpsc::Receiver<Chunk<M>>),
            Done,
        }
        stream::unfold(
            (Stage::NotStarted(self, client), VecDeque::new()),
            |(mut stage, mut buffer)| async move {
                // Bounded: each round either yields, receives, or moves the stage on.
                loop {
                    if let Some(item) = buffer.pop_front() {
                        return Some((Ok(item), (stage, buffer)));
                    }
                    match stage {
                        Stage::Done => return None,
                        Stage::NotStarted(config, client) => {
                            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                                let e = Error::InvalidConfig(format!(
                                    "{}: FastList::stream must be polled inside a tokio runtime",
                                    config.list.name()
                                ));
                                return Some((Err(e), (Stage::Done, buffer)));
                            };
                            let (tx, rx) = tokio::sync::mpsc::channel::<Chunk<M>>(1);
                            handle.spawn(async move {
                                match Walk::<M>::new(config, client) {
                                    Err(e) => {
                                        let _ = tx.send(Chunk::Error(e)).await;
                                    }
                                    Ok(walk) => walk.run(tx).await,
                                }
                            });
                            stage = Stage::Running(rx);
                        }
                        Stage::Running(mut rx) => match rx.recv().await {
                            Some(Chunk::Items(items)) => {
                                buffer.extend(items);
                                stage = Stage::Running(rx);
                            }
                            Some(Chunk::Error(e)) => {
                                return Some((Err(e), (Stage::Done, buffer)));
                            }
                            None => stage = Stage::Done,
                        },
                    }
                }
            },
        )
    }
}

enum Chunk<M: Listing> {
    Items(Vec<M::Row>),
    Error(Error),
}

struct Walk<M: Listing> {
    client: Client,
    base: serde_json::Map<String, serde_json::Value>,
    config: FastList<M>,
}

/// Whether a refused call of a walk may be asked for again: limits, server errors and
/// answers lost (all of them for a read), and calls the portal did not run.
fn refused(e: &Error) -> bool {
    matches!(e, Error::NotRun { .. }) || e.is_retryable()
}

impl<M: Listing> Walk<M> {
    fn name(&self) -> &str {
        self.config.list.name()
    }

    fn new(config: FastList<M>, client: Client) -> Result<Walk<M>, Error> {
        let name = config.list.name();
        if config.list.api() == super::ApiVersion::V3 {
            return Err(Error::InvalidConfig(format!(
                "{name} is a REST 3.0 method: a fast list needs classic batches; use `v3_pages`"
            )));
        }
        let mut base = match config.list.params()? {
            serde_json::Value::Object(m) => m,
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(Error::InvalidConfig(format!(
                    "{}: a fast list needs object parameters, not {}",
                    name,
                    short_json(&other)
                )));
            }
        };
        base.remove("start");
        base.remove(&config.order_key);
        Ok(Walk {
            client,
            base,
            config,
        })
    }

    /// Parameters of one page: IDs above `above` (when known) and at most `upto`.
    fn params(&self, above: Option<i64>, upto: Option<i64>, desc: bool) -> serde_json::Value {
        let mut p = self.base.clone();
        let id = &self.config.id_field;
        let filter = p
            .entry(self.config.filter_key.clone())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if !filter.is_object() {
            *filter = serde_json::Value::Object(serde_json::Map::new());
        }
        if let serde_json::Value::Object(f) = filter {
            if let Some(a) = above {
                f.insert(format!(">{id}"), a.into());
            }
            if let Some(u) = upto {
                f.insert(format!("<={id}"), u.into());
            }
        }
        p.insert(
            self.config.order_key.clone(),
            serde_json::json!({ id.clone(): if desc { "DESC" } else { "ASC" } }),
        );
        p.insert("start".into(), (-1).into());
        serde_json::Value::Object(p)
    }

    fn query(&self, params: &serde_json::Value) -> Result<String, Error> {
        php_query(params).map_err(|path| Error::InvalidConfig(format!("{}: {path}", self.name())))
    }

    /// The ID of one raw item.
    fn id_of(&self, item: &serde_json::Value, path: &str) -> Result<i64, Error> {
        let v = item.get(&self.config.row_id);
        v.and_then(|v| decode_value::<Option<i64>>(self.name(), Part::Result, v).ok())
            .flatten()
            .ok_or_else(|| {
                Error::Decode(Box::new(DecodeError {
                    method: self.name().to_owned(),
                    part: Part::Result,
                    path: format!("{path}.{}", self.config.row_id),
                    message: "a fast list needs an integer ID in every item".into(),
                    excerpt: v.map(short_json).unwrap_or_default(),
                }))
            })
    }

    /// The rows of one answer: `result` itself, or `result[ITEMS_KEY]`. Anything else is
    /// an error, never an empty page.
    fn rows<'a>(&self, result: &'a serde_json::Value) -> Result<&'a [serde_json::Value], Error> {
        let rows = match (self.config.list.items_key(), result) {
            (None, serde_json::Value::Array(rows)) => Some(rows.as_slice()),
            (Some(key), serde_json::Value::Object(m)) => match m.get(key) {
                Some(serde_json::Value::Array(rows)) => Some(rows.as_slice()),
                _ => None,
            },
            // PHP writes an empty object as `[]`.
            (Some(_), serde_json::Value::Array(rows)) if rows.is_empty() => Some(&rows[..]),
            _ => None,
        };
        rows.ok_or_else(|| {
            let (path, want) = match self.config.list.items_key() {
                None => ("result".to_owned(), "the array of items".to_owned()),
                Some(k) => (
                    format!("result.{k}"),
                    format!("an object with the array `{k}`"),
                ),
            };
            Error::Decode(Box::new(DecodeError {
                method: self.name().to_owned(),
                part: Part::Result,
                path,
                message: format!("a fast list needs the result to be {want}"),
                excerpt: cut(&short_json(result), 80),
            }))
        })
    }

    /// The IDs of a page's rows, checked to run strictly one way (`ascending`, or
    /// descending) and to stay in `(above, upto]`.
    fn checked_ids(
        &self,
        rows: &[serde_json::Value],
        ascending: bool,
        above: Option<i64>,
        upto: Option<i64>,
        what: &str,
    ) -> Result<Vec<i64>, Error> {
        let mut ids = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let id = self.id_of(row, &format!("result[{i}]"))?;
            let prev = ids.last().copied();
            let in_order = prev.is_none_or(|p| if ascending { id > p } else { id < p });
            let in_range = above.is_none_or(|a| id > a) && upto.is_none_or(|u| id <= u);
            if !in_order || !in_range {
                return Err(Error::Decode(Box::new(DecodeError {
                    method: self.name().to_owned(),
                    part: Part::Result,
                    path: format!("result[{i}].{}", self.config.row_id),
                    message: format!(
                        "{what}: the rows are not in {} ID order within the filter{}; does the method honour `{}` by `{}` and the `>{}`/`<={}` filter? The walk stops rather than return a short list",
                        if ascending { "ascending" } else { "descending" },
                        prev.map(|p| format!(" (after {p})")).unwrap_or_default(),
                        self.config.order_key,
                        self.config.id_field,
                        self.config.id_field,
                        self.config.id_field,
                    ),
                    excerpt: id.to_string(),
                })));
            }
            ids.push(id);
        }
        Ok(ids)
    }

    async fn run(self, out: tokio::sync::mpsc::Sender<Chunk<M>>) {
        if let Err(e) = self.run_inner(&out).await {
            let _ = out.send(Chunk::Error(e)).await;
        }
    }

    /// Sends a batch, again (bounded, paced by the client's retry policy) while any of its
    /// calls is refused; the last refusal is the error.
    async fn probe(&self, calls: &[(String, String)]) -> Result<Vec<super::batch::Raw>, Error> {
        let mut attempt = 0;
        // Bounded by MAX_REFUSED.
        loop {
            let answers = self.client.batch_chunk_raw(calls, false).await?;
            match answers.into_iter().collect::<Result<Vec<_>, Error>>() {
                Ok(raws) => return Ok(raws),
                Err(e) if refused(&e) && attempt < MAX_REFUSED => {
                    attempt += 1;
                    tokio::time::sleep(self.client.retry_delay(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn run_inner(self, out: &tokio::sync::mpsc::Sender<Chunk<M>>) -> Result<(), Error> {
        // The smallest and largest ID, in one batch request; both probes must answer.
        let after = self.config.after;
        let calls = vec![
            (
                self.name().to_owned(),
                self.query(&self.params(after, None, false))?,
            ),
            (
                self.name().to_owned(),
                self.query(&self.params(after, None, true))?,
            ),
        ];
        let ends = self.probe(&calls).await?;
        let [low, high] = ends.as_slice() else {
            return Err(Error::NotRun {
                method: self.name().into(),
            });
        };
        let low = self.checked_ids(
            self.rows(&low.result)?,
            true,
            after,
            None,
            "the lowest-ID probe",
        )?;
        let high = self.checked_ids(
            self.rows(&high.result)?,
            false,
            after,
            None,
            "the highest-ID probe",
        )?;
        let (lo, hi) = match (low.first(), high.first()) {
            (None, None) => return Ok(()),
            (Some(lo), Some(hi)) => (*lo, *hi),
            _ => {
                return Err(Error::InvalidConfig(format!(
                    "{}: one ID probe found rows and the other none; is the ID order honoured?",
                    self.name()
                )));
            }
        };
        if hi < lo || high.len() > 1 && low.len() > 1 && high[0] < low[low.len() - 1] {
            return Err(Error::InvalidConfig(format!(
                "{}: the list's highest ID {hi} is below its lowest {lo}; is the ID order honoured?",
                self.name()
            )));
        }
        // Split [lo, hi] into ranges (lo-1, b1], (b1, b2], ... (b_{n-1}, hi].
        // In i128, so that no ID the portal sends can overflow.
        let n = self.config.parallel as i128;
        let start = i128::from(lo) - 1;
        let span = i128::from(hi) - start;
        let mut bounds = vec![lo.saturating_sub(1)];
        for k in 1..n {
            let b = start + span * k / n;
            let last = bounds.last().map_or(start, |l| i128::from(*l));
            if b > last && b < i128::from(hi) {
                bounds.push(b as i64);
            }
        }
        bounds.push(hi);
        let this = std::sync::Arc::new(self);
        let mut receivers = Vec::new();
        for w in bounds.windows(2) {
            let (above, upto) = (w[0], w[1]);
            let (tx, rx) = tokio::sync::mpsc::channel::<Chunk<M>>(1);
            let walk = this.clone();
            tokio::spawn(async move {
                if let Err(e) = walk.range(above, upto, &tx).await {
                    let _ = tx.send(Chunk::Error(e)).await;
                }
            });
            receivers.push(rx);
        }
        // Forward the ranges in order; each keeps at most one batch waiting.
        for mut rx in receivers {
            // Bounded: ends when the range's task drops its sender.
            while let Some(chunk) = rx.recv().await {
                let stop = matches!(chunk, Chunk::Error(_));
                if out.send(chunk).await.is_err() || stop {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Walks IDs in `(above, upto]`, sending items in batches of pages. A batch whose
    /// page `k` is refused keeps pages `0..k` (the later ones are chained to it, so their
    /// answers mean nothing) and asks again from the last row received.
    async fn range(
        &self,
        mut above: i64,
        upto: i64,
        out: &tokio::sync::mpsc::Sender<Chunk<M>>,
    ) -> Result<(), Error> {
        let id = &self.config.id_field;
        let row_id = &self.config.row_id;
        let last = PAGE_SIZE - 1;
        let mut refusals = 0;
        // Bounded: every round moves `above` up by a full page, ends the range, or counts
        // a refusal (at most MAX_REFUSED in a row); the IDs are bounded by `upto`.
        while above < upto {
            // Nobody reads any more (the stream was dropped): stop before the next batch.
            if out.is_closed() {
                return Ok(());
            }
            let mut calls = Vec::with_capacity(self.config.pages_per_batch);
            // The first page starts at a known ID; each next one at the last ID of the
            // page before it, which the portal fills in.
            let first = self.query(&self.params(Some(above), Some(upto), false))?;
            calls.push((self.name().to_owned(), first));
            let rest = self.query(&self.params(None, Some(upto), false))?;
            let items_path = self
                .config
                .list
                .items_key()
                .map(|k| format!("[{}]", encode(k)))
                .unwrap_or_default();
            for i in 1..self.config.pages_per_batch {
                let reference = format!(
                    "{}[{}]=$result[{}]{items_path}[{last}][{}]",
                    encode(&self.config.filter_key),
                    encode(&format!(">{id}")),
                    key(i - 1),
                    encode(row_id)
                );
                let query = if rest.is_empty() {
                    reference
                } else {
                    format!("{rest}&{reference}")
                };
                calls.push((self.name().to_owned(), query));
            }
            let answers = self.client.batch_chunk_raw(&calls, false).await?;
            let mut items = Vec::new();
            let mut finished = false;
            let mut refusal = None;
            for answer in answers {
                let raw = match answer {
                    Ok(raw) => raw,
                    Err(e) if refused(&e) => {
                        refusal = Some(e);
                        break;
                    }
                    Err(e) => return Err(e),
                };
                let rows = self.rows(&raw.result)?;
                let ids = self.checked_ids(rows, true, Some(above), Some(upto), "a page")?;
                let count = ids.len();
                if let Some(next) = ids.last() {
                    above = *next;
                }
                items.extend(self.config.list.decode(&raw.result)?);
                if count < PAGE_SIZE {
                    finished = true;
                    break;
                }
            }
            let progressed = !items.is_empty();
            if progressed && out.send(Chunk::Items(items)).await.is_err() {
                return Ok(());
            }
            if finished {
                break;
            }
            if let Some(e) = refusal {
                refusals = if progressed { 1 } else { refusals + 1 };
                if refusals > MAX_REFUSED {
                    return Err(e);
                }
                // The limiter already holds a method blocked by OPERATION_TIME_LIMIT.
                tokio::time::sleep(self.client.retry_delay(refusals)).await;
            }
        }
        Ok(())
    }
}
