//! A [`TokenStore`] in SQLite (feature `sqlite`, through rusqlite with a bundled SQLite):
//! one table, one row per portal; `rotate` is a single conditional `UPDATE`, so two
//! processes sharing the file cannot both win a refresh.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::{PortalRecord, TokenStore};
use crate::auth::{OAuthTokens, SaveError};
use crate::transport::BoxFuture;

/// A [`TokenStore`] in an SQLite database file (or in memory). Statements run on tokio's
/// blocking pool. `Debug` shows nothing of the data.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS bitrix24_portals (
    member_id TEXT PRIMARY KEY NOT NULL,
    domain TEXT NOT NULL,
    client_endpoint TEXT NOT NULL,
    server_endpoint TEXT NOT NULL,
    application_token TEXT,
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires INTEGER
)";

impl SqliteStore {
    /// Opens (or creates) the database at `path` and its table. Several processes may open
    /// the same file; a writer waits up to 5 s for another one.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, SaveError> {
        SqliteStore::with(Connection::open(path)?)
    }

    /// A private database in memory.
    pub fn in_memory() -> Result<SqliteStore, SaveError> {
        SqliteStore::with(Connection::open_in_memory()?)
    }

    fn with(conn: Connection) -> Result<SqliteStore, SaveError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, SaveError>> {
        let conn = self.conn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                f(&conn).map_err(|e| Box::new(e) as SaveError)
            })
            .await
            .map_err(|e| -> SaveError { format!("the store task failed: {e}").into() })?
        })
    }
}

impl TokenStore for SqliteStore {
    fn load<'a>(
        &'a self,
        member_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<PortalRecord>, SaveError>> {
        let member_id = member_id.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT member_id, domain, client_endpoint, server_endpoint, application_token,
                        access_token, refresh_token, expires
                 FROM bitrix24_portals WHERE member_id = ?1",
                params![member_id],
                |r| {
                    Ok(PortalRecord {
                        member_id: r.get(0)?,
                        domain: r.get(1)?,
                        client_endpoint: r.get(2)?,
                        server_endpoint: r.get(3)?,
                        application_token: r.get(4)?,
                        tokens: OAuthTokens {
                            access_token: r.get(5)?,
                            refresh_token: r.get(6)?,
                            expires: r.get(7)?,
                        },
                    })
                },
            )
            .optional()
        })
    }

    fn save<'a>(&'a self, record: &'a PortalRecord) -> BoxFuture<'a, Result<(), SaveError>> {
        let r = record.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO bitrix24_portals (member_id, domain, client_endpoint, server_endpoint,
                     application_token, access_token, refresh_token, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(member_id) DO UPDATE SET domain = excluded.domain,
                     client_endpoint = excluded.client_endpoint,
                     server_endpoint = excluded.server_endpoint,
                     application_token = excluded.application_token,
                     access_token = excluded.access_token,
                     refresh_token = excluded.refresh_token,
                     expires = excluded.expires",
                params![
                    r.member_id,
                    r.domain,
                    r.client_endpoint,
                    r.server_endpoint,
                    r.application_token,
                    r.tokens.access_token,
                    r.tokens.refresh_token,
                    r.tokens.expires
                ],
            )
            .map(|_| ())
        })
    }

    fn rotate<'a>(
        &'a self,
        member_id: &'a str,
        old_refresh: &'a str,
        new: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<bool, SaveError>> {
        let (member_id, old, new) = (member_id.to_owned(), old_refresh.to_owned(), new.clone());
        self.run(move |c| {
            c.execute(
                "UPDATE bitrix24_portals SET access_token = ?1, refresh_token = ?2, expires = ?3
                 WHERE member_id = ?4 AND refresh_token = ?5",
                params![
                    new.access_token,
                    new.refresh_token,
                    new.expires,
                    member_id,
                    old
                ],
            )
            .map(|n| n == 1)
        })
    }

    fn remove<'a>(&'a self, member_id: &'a str) -> BoxFuture<'a, Result<(), SaveError>> {
        let member_id = member_id.to_owned();
        self.run(move |c| {
            c.execute(
                "DELETE FROM bitrix24_portals WHERE member_id = ?1",
                params![member_id],
            )
            .map(|_| ())
        })
    }
}
