//! A blocking facade over [`Client`](super::Client), for programs without an async runtime.
//!
//! It owns a small tokio runtime and runs each call to completion on it. Do not use it from
//! inside an async runtime (tokio refuses to block a thread that drives one); use the async
//! [`Client`](super::Client) there.

use futures_util::StreamExt;

use super::Method;
use super::batch::{Batch, BatchResults};
use super::client::Envelope;
use super::error::Error;

/// A blocking client: the same calls as [`Client`](super::Client), each run to completion.
///
/// The limiter, retries and token refresh work as in the async client (they are the same
/// code). `Debug` shows no secret.
#[derive(Debug)]
pub struct Client {
    inner: super::Client,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// Wraps an async client (built with [`Client::webhook`](super::Client::webhook) or
    /// [`Client::oauth`](super::Client::oauth)).
    pub fn new(inner: super::Client) -> Result<Client, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot start a tokio runtime: {e}")))?;
        Ok(Client { inner, runtime })
    }

    /// The async client underneath.
    pub fn inner(&self) -> &super::Client {
        &self.inner
    }

    /// The async client's counters ([`super::Client::stats`]).
    pub fn stats(&self) -> super::Stats {
        self.inner.stats()
    }

    /// Calls a method and returns its typed `result`.
    pub fn call<M: Method>(&self, request: &M) -> Result<M::Response, Error> {
        self.runtime.block_on(self.inner.call(request))
    }

    /// Calls a method and returns the whole answer (`result`, `next`, `total`, `time`).
    pub fn call_envelope<M: Method>(&self, request: &M) -> Result<Envelope<M::Response>, Error> {
        self.runtime.block_on(self.inner.call_envelope(request))
    }

    /// Calls any method by wire name with untyped parameters.
    pub fn call_raw(
        &self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<Envelope<serde_json::Value>, Error> {
        self.runtime.block_on(self.inner.call_raw(method, params))
    }

    /// Calls a REST 3.0 method by wire name (see
    /// [`Client::call_v3_raw`](super::Client::call_v3_raw)).
    pub fn call_v3_raw(
        &self,
        method: &str,
        params: &serde_json::Value,
    ) -> Result<Envelope<serde_json::Value>, Error> {
        self.runtime
            .block_on(self.inner.call_v3_raw(method, params))
    }

    /// Calls a REST 3.0 method with an `Idempotency-Key` of your own (see
    /// [`Client::call_v3_keyed`](super::Client::call_v3_keyed)).
    pub fn call_v3_keyed<M: Method>(
        &self,
        request: &M,
        key: &str,
    ) -> Result<Envelope<M::Response>, Error> {
        self.runtime
            .block_on(self.inner.call_v3_keyed(request, key))
    }

    /// Sends a batch (see [`Client::batch`](super::Client::batch)).
    pub fn batch(&self, batch: &Batch) -> Result<BatchResults, Error> {
        self.runtime.block_on(self.inner.batch(batch))
    }

    /// Every item of a list method, following `next` (see
    /// [`Client::items`](super::Client::items)); stops at the first error.
    pub fn all_items<M>(
        &self,
        request: &M,
    ) -> Result<Vec<<M::Response as IntoIterator>::Item>, Error>
    where
        M: Method,
        M::Response: IntoIterator + Send + 'static,
        <M::Response as IntoIterator>::Item: Send + 'static,
        <M::Response as IntoIterator>::IntoIter: Send + 'static,
    {
        self.runtime.block_on(async {
            let mut out = Vec::new();
            let mut items = std::pin::pin!(self.inner.items(request));
            while let Some(item) = items.next().await {
                out.push(item?);
            }
            Ok(out)
        })
    }
}
