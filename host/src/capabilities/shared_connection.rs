//! One SQLite connection shared by every instance that opens the same store
//! label; both key-value stores and SQLite databases are files of this kind.
//!
//! A guest may open a transaction (`BEGIN ... COMMIT`) across several
//! statements. On a shared connection, another instance's statements would
//! then run inside it, so SQLite guests take the connection's *lease* for
//! each statement and keep it while their transaction is open: other
//! instances wait for it asynchronously, without blocking an executor thread.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

/// Prepared statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 256;

pub struct SharedConnection {
    /// The file, or "memory", for messages.
    pub name: String,
    conn: Mutex<Option<Connection>>,
    lease: Arc<tokio::sync::Mutex<()>>,
}

/// The right to run statements on the connection, held across an open transaction.
pub type Lease = tokio::sync::OwnedMutexGuard<()>;

impl SharedConnection {
    /// Opens (creating if needed) the file, in WAL mode so readers in other
    /// processes (e.g. a backup) do not block writers; or, without a path, a
    /// database in memory that lasts as long as the app runs.
    pub fn open(path: Option<&Path>) -> Result<Self, String> {
        let conn = match path {
            Some(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                let conn = Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| format!("{}: {e}", path.display()))?;
                conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| format!("{}: {e}", path.display()))?;
                conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
                conn
            }
            None => Connection::open_in_memory().map_err(|e| format!("cannot open an in-memory database: {e}"))?,
        };
        // Without the query planner stability guarantee, SQLite compiles a
        // cached statement again whenever a new value is bound to a
        // parameter its plan looked at (`LIMIT ?`, `OFFSET ?`, a LIKE
        // pattern): every run of a guest's paged query would be parsed anew.
        let name = path.map_or_else(|| "memory".to_string(), |p| p.display().to_string());
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(|e| format!("{name}: cannot enable the query planner stability guarantee: {e}"))?;
        // Every guest of the label shares this cache; a service's queries
        // (with their variants: sort orders, filters, IN lists of each
        // length) are many more than rusqlite's default of 16.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        Ok(Self { name, conn: Mutex::new(Some(conn)), lease: Arc::new(tokio::sync::Mutex::new(())) })
    }

    /// Waits until no other guest holds the connection.
    pub async fn lease(&self) -> Lease {
        self.lease.clone().lock_owned().await
    }

    /// Runs `f` with the connection; an error once the app is shutting down.
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>) -> Result<R, String> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = guard.as_mut().ok_or_else(|| "the store is closed (the app is shutting down)".to_string())?;
        f(conn).map_err(|e| e.to_string())
    }

    /// Closes the connection (flushing the WAL); later calls fail cleanly.
    pub fn close(&self) {
        let taken = self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(conn) = taken {
            if let Err((_, e)) = conn.close() {
                tracing::warn!("closing {}: {e}", self.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A paged query run again with other values is not compiled again.
    #[test]
    fn a_cached_statement_is_not_compiled_again_for_new_limit_values() {
        let dir = tempfile::tempdir().unwrap();
        for shared in [SharedConnection::open(None).unwrap(), SharedConnection::open(Some(&dir.path().join("t.db"))).unwrap()] {
            shared
                .with(|c| c.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b'), ('c'), ('d');"))
                .unwrap();
            let sql = "SELECT name FROM t WHERE name LIKE ? ORDER BY name LIMIT ? OFFSET ?";
            for (limit, offset) in [(1, 0), (2, 1), (3, 2), (1, 3)] {
                let names: Vec<String> = shared
                    .with(|c| {
                        let mut stmt = c.prepare_cached(sql)?;
                        let rows = stmt.query_map(rusqlite::params!["%", limit, offset], |r| r.get(0))?;
                        rows.collect()
                    })
                    .unwrap();
                assert_eq!(names.len(), limit.min(4 - offset) as usize, "{limit} {offset}: {names:?}");
            }
            let reprepared = shared.with(|c| Ok(c.prepare_cached(sql)?.get_status(StatementStatus::RePrepare))).unwrap();
            assert_eq!(reprepared, 0, "{}: the statement was compiled again {reprepared} times", shared.name);
        }
    }
}
