//! A service's SQLite database, as a small trait so that the same domain code
//! runs on Spin's SQLite in the component and on an in-memory SQLite in
//! native unit tests (`memory-store` feature).
//!
//! Multi-statement changes run in a transaction ([`transaction`]), which
//! takes the write lock first (`BEGIN IMMEDIATE`) so two requests never
//! interleave their reads and writes of the same rows.

use crate::error::ApiError;

/// A SQLite value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row; getters name the column index when the type is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

fn column_error(index: usize, want: &str, got: Option<&Value>) -> ApiError {
    ApiError::internal(format!("column {index}: expected {want}, found {got:?}"))
}

impl Row {
    pub fn int(&self, index: usize) -> Result<i64, ApiError> {
        match self.0.get(index) {
            Some(Value::Integer(i)) => Ok(*i),
            other => Err(column_error(index, "an integer", other)),
        }
    }

    pub fn text(&self, index: usize) -> Result<String, ApiError> {
        match self.0.get(index) {
            Some(Value::Text(t)) => Ok(t.clone()),
            other => Err(column_error(index, "text", other)),
        }
    }

    /// Text, or `None` for NULL.
    pub fn opt_text(&self, index: usize) -> Result<Option<String>, ApiError> {
        match self.0.get(index) {
            Some(Value::Null) => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    /// An integer, or `None` for NULL.
    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, ApiError> {
        match self.0.get(index) {
            Some(Value::Null) => Ok(None),
            _ => self.int(index).map(Some),
        }
    }

    pub fn bool(&self, index: usize) -> Result<bool, ApiError> {
        self.int(index).map(|i| i != 0)
    }
}

/// What the database said when a statement failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError(pub String);

impl DbError {
    /// A `UNIQUE` (or primary key) constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        self.0.contains("UNIQUE constraint failed")
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DbError> for ApiError {
    /// The store failed: the service cannot answer now (503), never a 500
    /// that blames the client or hides the cause.
    fn from(e: DbError) -> Self {
        ApiError::unavailable(format!("the database failed: {e}"))
    }
}

#[allow(async_fn_in_trait)]
pub trait Db {
    /// Runs a statement and returns its rows.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;

    /// Runs a statement and returns how many rows it changed.
    async fn exec(&self, sql: &str, params: &[Value]) -> Result<u64, DbError>;

    /// The first row, if any.
    async fn query_one(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
}

/// Runs `body` in a transaction that holds the write lock from the start:
/// committed when it returns `Ok`, rolled back when it returns `Err`.
pub async fn transaction<D: Db, T>(db: &D, body: impl AsyncFnOnce(&D) -> Result<T, ApiError>) -> Result<T, ApiError> {
    db.exec("BEGIN IMMEDIATE", &[]).await?;
    match body(db).await {
        Ok(value) => {
            if let Err(e) = db.exec("COMMIT", &[]).await {
                let _ = db.exec("ROLLBACK", &[]).await;
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            let _ = db.exec("ROLLBACK", &[]).await;
            Err(e)
        }
    }
}

/// Brings the schema up to date: applies the `migrations` not yet applied
/// (counted in `PRAGMA user_version`), all in one transaction. Costs one
/// read when the schema is current. A component has no start-up hook, so
/// services call it through `SpinDb::open_migrated`, once per instance.
pub async fn migrate<D: Db>(db: &D, migrations: &[&str]) -> Result<(), ApiError> {
    let version = |rows: Option<Row>| rows.map(|r| r.int(0)).transpose().map(|v| v.unwrap_or(0));
    let target = migrations.len() as i64;
    if version(db.query_one("PRAGMA user_version", &[]).await?)? >= target {
        return Ok(());
    }
    transaction(db, async |db| {
        // Another request may have migrated while this one waited for the lock.
        let current = version(db.query_one("PRAGMA user_version", &[]).await?)?;
        for (i, sql) in migrations.iter().enumerate().skip(current.max(0) as usize) {
            for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                db.exec(statement, &[]).await.map_err(|e| ApiError::internal(format!("migration {}: {e}", i + 1)))?;
            }
        }
        db.exec(&format!("PRAGMA user_version = {target}"), &[]).await?;
        Ok(())
    })
    .await
}

#[cfg(any(test, feature = "memory-store"))]
pub mod memory {
    //! An in-memory SQLite [`Db`] for native unit tests, and a file-backed
    //! one for native measurements (`crates/shop-floor`).

    use super::{Db, DbError, Row, Value};
    use rusqlite::types::{Value as SqlValue, ValueRef};

    pub struct MemoryDb(rusqlite::Connection);

    impl MemoryDb {
        pub fn new() -> Self {
            MemoryDb(rusqlite::Connection::open_in_memory().expect("an in-memory SQLite database"))
        }

        /// A SQLite file, set up as the host sets up a store (WAL,
        /// `synchronous = NORMAL`, the query planner stability guarantee),
        /// so native timings compare with the services' fairly.
        pub fn open_file(path: &std::path::Path) -> Result<Self, DbError> {
            let fail = |e: rusqlite::Error| DbError(format!("{}: {e}", path.display()));
            let conn = rusqlite::Connection::open(path).map_err(fail)?;
            conn.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
            conn.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
            conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(fail)?;
            conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(fail)?;
            Ok(MemoryDb(conn))
        }
    }

    impl Default for MemoryDb {
        fn default() -> Self {
            Self::new()
        }
    }

    fn to_sql(v: &Value) -> SqlValue {
        match v {
            Value::Null => SqlValue::Null,
            Value::Integer(i) => SqlValue::Integer(*i),
            Value::Real(r) => SqlValue::Real(*r),
            Value::Text(t) => SqlValue::Text(t.clone()),
            Value::Blob(b) => SqlValue::Blob(b.clone()),
        }
    }

    fn from_sql(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }

    impl Db for MemoryDb {
        async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
            let run = || -> rusqlite::Result<Vec<Row>> {
                // Cached, as the host caches its statements.
                let mut stmt = self.0.prepare_cached(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(to_sql)))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(Row((0..n).map(|i| row.get_ref(i).map(from_sql)).collect::<rusqlite::Result<_>>()?));
                }
                Ok(out)
            };
            run().map_err(|e| DbError(e.to_string()))
        }

        async fn exec(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
            self.query(sql, params).await?;
            Ok(self.0.changes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryDb;
    use super::*;
    use futures::executor::block_on;

    const MIGRATIONS: &[&str] = &["CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)", "ALTER TABLE t ADD COLUMN note TEXT"];

    #[test]
    fn migrate_applies_each_step_once() {
        block_on(async {
            let db = MemoryDb::new();
            migrate(&db, &MIGRATIONS[..1]).await.unwrap();
            db.exec("INSERT INTO t (k, v) VALUES (?, ?)", &["a".into(), 1i64.into()]).await.unwrap();
            migrate(&db, MIGRATIONS).await.unwrap();
            migrate(&db, MIGRATIONS).await.unwrap();
            let row = db.query_one("SELECT v, note FROM t", &[]).await.unwrap().unwrap();
            assert_eq!((row.int(0).unwrap(), row.opt_text(1).unwrap()), (1, None));
            assert_eq!(db.query_one("PRAGMA user_version", &[]).await.unwrap().unwrap().int(0).unwrap(), 2);
        });
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        block_on(async {
            let db = MemoryDb::new();
            migrate(&db, MIGRATIONS).await.unwrap();
            let result: Result<(), ApiError> = transaction(&db, async |db| {
                db.exec("INSERT INTO t (k, v) VALUES ('a', 1)", &[]).await?;
                Err(ApiError::conflict("nope", "changed my mind"))
            })
            .await;
            assert_eq!(result.unwrap_err().code, "nope");
            assert!(db.query("SELECT * FROM t", &[]).await.unwrap().is_empty());
            transaction(&db, async |db| Ok(db.exec("INSERT INTO t (k, v) VALUES ('b', 2)", &[]).await?)).await.unwrap();
            assert_eq!(db.query("SELECT * FROM t", &[]).await.unwrap().len(), 1);
        });
    }

    #[test]
    fn a_file_database_is_in_wal_mode_and_keeps_its_rows() {
        block_on(async {
            let dir = std::env::temp_dir().join(format!("shop-common-db-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("t.db");
            let db = MemoryDb::open_file(&path).unwrap();
            let mode = db.query_one("PRAGMA journal_mode", &[]).await.unwrap().unwrap().text(0).unwrap();
            assert_eq!(mode, "wal");
            migrate(&db, MIGRATIONS).await.unwrap();
            db.exec("INSERT INTO t (k, v) VALUES ('a', 1)", &[]).await.unwrap();
            drop(db);
            let again = MemoryDb::open_file(&path).unwrap();
            assert_eq!(again.query("SELECT k FROM t", &[]).await.unwrap().len(), 1);
            drop(again);
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }

    #[test]
    fn unique_violations_are_recognised_and_types_checked() {
        block_on(async {
            let db = MemoryDb::new();
            migrate(&db, MIGRATIONS).await.unwrap();
            db.exec("INSERT INTO t (k, v) VALUES ('a', 1)", &[]).await.unwrap();
            let err = db.exec("INSERT INTO t (k, v) VALUES ('a', 2)", &[]).await.unwrap_err();
            assert!(err.is_unique_violation(), "{err}");
            let row = db.query_one("SELECT k FROM t", &[]).await.unwrap().unwrap();
            assert_eq!(row.int(0).unwrap_err().status, 500);
            assert_eq!(ApiError::from(err).status, 503);
        });
    }
}
