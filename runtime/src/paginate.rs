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
        let params = to_params(M::NAME, request);
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

/// A fast, complete walk through a big list, by ID ranges chained through batches.
///
/// Works for list methods whose `result` is the array of items itself (`crm.deal.list`,
/// `crm.lead.list`, `user.get`...), that accept `order` by the ID field, a `>ID` / `<=ID`
/// filter and `start=-1`. Items come out in ascending ID order, each exactly once (for rows
/// that do not change during the walk). The request's own `order` and `start` are replaced.
#[derive(Debug, Clone)]
pub struct FastList<M> {
    request: M,
    id_field: String,
    filter_key: String,
    order_key: String,
    parallel: usize,
    pages_per_batch: usize,
}

impl<M> FastList<M>
where
    M: Method + Clone + Send + Sync + 'static,
    M::Response: IntoIterator + Send + 'static,
    <M::Response as IntoIterator>::Item: Send + 'static,
{
    /// A walk of the list `request` asks for, with CRM-style keys: ID field `ID`, parameters
    /// `filter` and `order`; four ranges at once; 50 pages per batch.
    pub fn new(request: M) -> FastList<M> {
        FastList {
            request,
            id_field: "ID".into(),
            filter_key: "filter".into(),
            order_key: "order".into(),
            parallel: 4,
            pages_per_batch: MAX_BATCH,
        }
    }

    /// The name of the ID field in items, filters and order (`ID`, or `id`).
    pub fn id_field(mut self, name: &str) -> Self {
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

    /// Runs the walk on `client`; the stream yields items in ascending ID order, then ends,
    /// or yields one error and ends. Must be polled inside a tokio runtime.
    pub fn stream(
        self,
        client: &Client,
    ) -> impl Stream<Item = Result<<M::Response as IntoIterator>::Item, Error>> + Send + 'static
    {
        let client = client.clone();
        let (first_tx, first_rx) = tokio::sync::mpsc::channel::<Chunk<M>>(1);
        tokio::spawn(async move {
            let walk = Walk::<M>::new(self, client);
            match walk {
                Err(e) => {
                    let _ = first_tx.send(Chunk::Error(e)).await;
                }
                Ok(walk) => walk.run(first_tx).await,
            }
        });
        stream::unfold(
            (first_rx, VecDeque::new(), false),
            |(mut rx, mut buffer, mut done)| async move {
                // Bounded: each round either yields or receives; a closed channel ends it.
                loop {
                    if let Some(item) = buffer.pop_front() {
                        return Some((Ok(item), (rx, buffer, done)));
                    }
                    if done {
                        return None;
                    }
                    match rx.recv().await {
                        Some(Chunk::Items(items)) => buffer.extend(items),
                        Some(Chunk::Error(e)) => {
                            done = true;
                            return Some((Err(e), (rx, buffer, done)));
                        }
                        None => done = true,
                    }
                }
            },
        )
    }
}

type Item<M> = <<M as Method>::Response as IntoIterator>::Item;

enum Chunk<M: Method>
where
    M::Response: IntoIterator,
{
    Items(Vec<Item<M>>),
    Error(Error),
}

struct Walk<M: Method> {
    client: Client,
    base: serde_json::Map<String, serde_json::Value>,
    config: FastList<M>,
}

impl<M> Walk<M>
where
    M: Method + Clone + Send + Sync + 'static,
    M::Response: IntoIterator + Send + 'static,
    <M::Response as IntoIterator>::Item: Send + 'static,
{
    fn new(config: FastList<M>, client: Client) -> Result<Walk<M>, Error> {
        let mut base = match to_params(M::NAME, &config.request)? {
            serde_json::Value::Object(m) => m,
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(Error::InvalidConfig(format!(
                    "{}: a fast list needs object parameters, not {}",
                    M::NAME,
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
        php_query(params).map_err(|path| Error::InvalidConfig(format!("{}: {path}", M::NAME)))
    }

    /// The ID of one raw item.
    fn id_of(&self, item: &serde_json::Value, path: &str) -> Result<i64, Error> {
        let v = item.get(&self.config.id_field);
        v.and_then(|v| decode_value::<Option<i64>>(M::NAME, Part::Result, v).ok())
            .flatten()
            .ok_or_else(|| {
                Error::Decode(Box::new(DecodeError {
                    method: M::NAME.to_owned(),
                    part: Part::Result,
                    path: format!("{path}.{}", self.config.id_field),
                    message: "a fast list needs an integer ID in every item".into(),
                    excerpt: v.map(short_json).unwrap_or_default(),
                }))
            })
    }

    async fn run(self, out: tokio::sync::mpsc::Sender<Chunk<M>>) {
        if let Err(e) = self.run_inner(&out).await {
            let _ = out.send(Chunk::Error(e)).await;
        }
    }

    async fn run_inner(self, out: &tokio::sync::mpsc::Sender<Chunk<M>>) -> Result<(), Error> {
        // The smallest and largest ID, in one batch request.
        let calls = vec![
            (
                M::NAME.to_owned(),
                self.query(&self.params(None, None, false))?,
            ),
            (
                M::NAME.to_owned(),
                self.query(&self.params(None, None, true))?,
            ),
        ];
        let mut ends = self.client.batch_chunk_raw(&calls, false).await?;
        let high = ends.pop().and_then(Result::ok);
        let low = ends.pop().ok_or_else(|| Error::NotRun {
            method: M::NAME.into(),
        })??;
        let first = |raw: &serde_json::Value| raw.as_array().and_then(|a| a.first()).cloned();
        let (Some(lo), Some(hi)) = (
            first(&low.result),
            high.as_ref().and_then(|h| first(&h.result)),
        ) else {
            return Ok(());
        };
        let (lo, hi) = (self.id_of(&lo, "result[0]")?, self.id_of(&hi, "result[0]")?);
        if hi < lo {
            return Err(Error::InvalidConfig(format!(
                "{}: the list's highest ID {hi} is below its lowest {lo}; is the ID order honoured?",
                M::NAME
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

    /// Walks IDs in `(above, upto]`, sending items in batches of pages.
    async fn range(
        &self,
        mut above: i64,
        upto: i64,
        out: &tokio::sync::mpsc::Sender<Chunk<M>>,
    ) -> Result<(), Error> {
        let id = &self.config.id_field;
        let last = PAGE_SIZE - 1;
        // Bounded: every round moves `above` up by a full page or ends the range; the IDs
        // are bounded by `upto`.
        while above < upto {
            let mut calls = Vec::with_capacity(self.config.pages_per_batch);
            // The first page starts at a known ID; each next one at the last ID of the
            // page before it, which the portal fills in.
            let first = self.query(&self.params(Some(above), Some(upto), false))?;
            calls.push((M::NAME.to_owned(), first));
            let rest = self.query(&self.params(None, Some(upto), false))?;
            for i in 1..self.config.pages_per_batch {
                let reference = format!(
                    "{}[{}]=$result[{}][{last}][{}]",
                    encode(&self.config.filter_key),
                    encode(&format!(">{id}")),
                    key(i - 1),
                    id
                );
                let query = if rest.is_empty() {
                    reference
                } else {
                    format!("{rest}&{reference}")
                };
                calls.push((M::NAME.to_owned(), query));
            }
            let answers = self.client.batch_chunk_raw(&calls, false).await?;
            let mut items = Vec::new();
            let mut finished = false;
            for (i, answer) in answers.into_iter().enumerate() {
                let raw = answer?;
                let serde_json::Value::Array(rows) = &raw.result else {
                    return Err(Error::Decode(Box::new(DecodeError {
                        method: M::NAME.to_owned(),
                        part: Part::Result,
                        path: "result".into(),
                        message: "a fast list needs the result to be the array of items".into(),
                        excerpt: cut(&short_json(&raw.result), 80),
                    })));
                };
                let count = rows.len();
                if let Some(row) = rows.last() {
                    let next = self.id_of(row, &format!("result[{}]", count - 1))?;
                    if next <= above {
                        return Err(Error::Decode(Box::new(DecodeError {
                            method: M::NAME.to_owned(),
                            part: Part::Result,
                            path: format!("result[{}].{id}", count - 1),
                            message: format!(
                                "IDs do not ascend (page {i} of a batch ends at or below {above}); is the ID order honoured?"
                            ),
                            excerpt: next.to_string(),
                        })));
                    }
                    above = next;
                }
                let page: M::Response = decode_value(M::NAME, Part::Result, &raw.result)?;
                items.extend(page);
                if count < PAGE_SIZE {
                    finished = true;
                    break;
                }
            }
            if !items.is_empty() && out.send(Chunk::Items(items)).await.is_err() {
                return Ok(());
            }
            if finished {
                break;
            }
        }
        Ok(())
    }
}
