//! The in-memory token store: for tests and single-process apps that re-authorise after a
//! restart.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{PortalRecord, TokenStore};
use crate::auth::{OAuthTokens, SaveError};
use crate::transport::BoxFuture;

/// A [`TokenStore`] in a map. Clones of an `Arc<MemoryStore>` share it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    portals: Mutex<BTreeMap<String, PortalRecord>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, PortalRecord>> {
        self.portals.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The member ids stored, in order.
    pub fn member_ids(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(
        &'a self,
        member_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<PortalRecord>, SaveError>> {
        let found = self.map().get(member_id).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn save<'a>(&'a self, record: &'a PortalRecord) -> BoxFuture<'a, Result<(), SaveError>> {
        self.map().insert(record.member_id.clone(), record.clone());
        Box::pin(async { Ok(()) })
    }

    fn rotate<'a>(
        &'a self,
        member_id: &'a str,
        old_refresh: &'a str,
        new: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<bool, SaveError>> {
        let done = match self.map().get_mut(member_id) {
            Some(r) if r.tokens.refresh_token == old_refresh => {
                r.tokens = new.clone();
                true
            }
            _ => false,
        };
        Box::pin(async move { Ok(done) })
    }

    fn remove<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<(), SaveError>> {
        self.map().remove(member_id);
        Box::pin(async { Ok(()) })
    }
}
