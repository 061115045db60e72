//! `spin:sqlite/sqlite@3.1.0`: each database label is a SQLite file from
//! runtime-config.toml; a component opens only the labels its manifest lists,
//! and its SQL reaches nothing else (`sql_policy`). Statements run off the
//! executor and stop at the request's deadline (`shared_connection`); one
//! result may hold at most `--sqlite-max-result-bytes`.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::{Access, Accessor, FutureReader, Resource, StreamReader};

use super::Spin;
use super::bindings::spin::sqlite::sqlite::{self as sql, Error, QueryResult, RowResult, Value};
use super::shared_connection::{self, Lease, SharedConnection, Sql};
use crate::instance::InstanceState;

/// The most bytes one query's result may hold unless `--sqlite-max-result-bytes` says otherwise.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 16 << 20;

/// Every configured SQLite database, by label.
pub struct SqliteDatabases {
    by_label: HashMap<String, Arc<SharedConnection>>,
    /// The most bytes of values one query may return.
    pub max_result_bytes: usize,
}

impl Default for SqliteDatabases {
    fn default() -> Self {
        Self { by_label: HashMap::new(), max_result_bytes: DEFAULT_MAX_RESULT_BYTES }
    }
}

impl SqliteDatabases {
    pub fn open(label: &str, path: Option<&std::path::Path>, dbs: &mut Self) -> Result<(), String> {
        dbs.by_label.insert(label.to_string(), Arc::new(SharedConnection::open(path, Sql::Guest)?));
        Ok(())
    }

    /// What component `component` may open, listing `labels`: each
    /// label's database, or `None` for a label nobody configured.
    pub fn grant<'a>(&self, component: &str, labels: impl IntoIterator<Item = &'a String>) -> SqliteGrant {
        SqliteGrant {
            component: component.to_string(),
            by_label: labels.into_iter().map(|label| (label.clone(), self.by_label.get(label).cloned())).collect(),
            max_result_bytes: self.max_result_bytes,
        }
    }

    pub fn close(&self) {
        self.by_label.values().for_each(|c| c.close());
    }
}

/// The databases one component's manifest lists, as its instances see them.
#[derive(Default)]
pub struct SqliteGrant {
    /// The component, for `--stats`.
    component: String,
    by_label: HashMap<String, Option<Arc<SharedConnection>>>,
    max_result_bytes: usize,
}

/// A database a guest has opened, with the counters of its last statement.
pub struct OpenConnection {
    conn: Arc<SharedConnection>,
    max_result_bytes: usize,
    last_insert_rowid: i64,
    changes: u64,
    /// Held while this guest has a transaction open.
    lease: Option<Lease>,
}

impl Drop for OpenConnection {
    /// A guest that goes away (drops the connection, traps, times out) with
    /// its transaction open leaves nothing half-written: it is rolled back,
    /// and only then may another guest take the connection. The rollback
    /// waits for the connection on the blocking pool, not on the thread
    /// dropping the instance (the guest's own statement may still be
    /// stopping there).
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else { return };
        let conn = self.conn.clone();
        let rollback = move || {
            let _ = conn.with(|c| c.execute_batch("ROLLBACK"));
            drop(lease);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(rollback)),
            Err(_) => rollback(),
        }
    }
}

pub(super) fn open(state: &mut InstanceState, label: &str) -> wasmtime::Result<Result<Resource<OpenConnection>, Error>> {
    let Some(granted) = state.sqlite.by_label.get(label) else {
        return Ok(Err(Error::AccessDenied));
    };
    let Some(conn) = granted.clone() else {
        return Ok(Err(Error::NoSuchDatabase));
    };
    let max_result_bytes = state.sqlite.max_result_bytes;
    Ok(Ok(state.table.push(OpenConnection { conn, max_result_bytes, last_insert_rowid: 0, changes: 0, lease: None })?))
}

fn to_sql(value: Value) -> SqlValue {
    match value {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(r) => SqlValue::Real(r),
        Value::Text(t) => SqlValue::Text(t),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    }
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Null => Value::Null,
    }
}

/// What one statement did, with the connection's state right after it.
struct Executed {
    result: Result<QueryResult, Error>,
    last_insert_rowid: i64,
    changes: u64,
    /// A transaction is open after it.
    in_transaction: bool,
}

/// Runs one statement on the blocking pool; also returns the connection's
/// counters after it, read while still holding the connection so another
/// instance's statement cannot interleave.
async fn execute(conn: &Arc<SharedConnection>, statement: String, parameters: Vec<Value>, max_result_bytes: usize, holding: bool) -> Executed {
    let refusals = conn.refusals.clone();
    // A read, or a statement outside an explicit transaction (SQLite rolls
    // it back when cut), may start on the calling thread and move to the pool.
    let restartable = |c: &mut rusqlite::Connection| c.is_autocommit() || c.prepare_cached(&statement).is_ok_and(|s| s.readonly());
    let run_statement = statement.clone();
    let ran = conn
        .run_quick(restartable, move |c| {
            let outcome = query(c, &run_statement, &parameters, max_result_bytes).map_err(|e| match e {
                QueryError::Sql(e) => shared_connection::describe(&e, refusals.as_ref()),
                QueryError::TooLarge(message) => message,
            });
            Ok((outcome, c.last_insert_rowid(), c.changes(), !c.is_autocommit()))
        })
        .await;
    match ran {
        Ok((outcome, last_insert_rowid, changes, in_transaction)) => {
            Executed { result: outcome.map_err(Error::Io), last_insert_rowid, changes, in_transaction }
        }
        // The statement never ran (the store is closing): the guest's
        // transaction, if any, stands as it was.
        Err(message) => Executed { result: Err(Error::Io(message)), last_insert_rowid: 0, changes: 0, in_transaction: holding },
    }
}

enum QueryError {
    Sql(rusqlite::Error),
    /// The result outgrew `--sqlite-max-result-bytes`.
    TooLarge(String),
}

impl From<rusqlite::Error> for QueryError {
    fn from(e: rusqlite::Error) -> Self {
        QueryError::Sql(e)
    }
}

/// Bytes a value takes in a result: its payload, at least 8 (the size of a number).
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::Text(t) => t.len().max(8),
        Value::Blob(b) => b.len().max(8),
        Value::Integer(_) | Value::Real(_) | Value::Null => 8,
    }
}

fn query(c: &mut rusqlite::Connection, statement: &str, parameters: &[Value], max_result_bytes: usize) -> Result<QueryResult, QueryError> {
    let mut stmt = c.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    let params: Vec<SqlValue> = parameters.iter().cloned().map(to_sql).collect();
    let mut rows_out = Vec::new();
    let mut bytes = columns.iter().map(String::len).sum::<usize>();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        let values: Vec<Value> = (0..columns.len()).map(|i| row.get_ref(i).map(from_sql)).collect::<rusqlite::Result<_>>()?;
        bytes += values.iter().map(value_bytes).sum::<usize>();
        if bytes > max_result_bytes {
            return Err(QueryError::TooLarge(format!(
                "the query's result is larger than {max_result_bytes} bytes (souk up --sqlite-max-result-bytes); fetch it in pages (LIMIT/OFFSET)"
            )));
        }
        rows_out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: rows_out })
}

impl OpenConnection {
    /// Records what a statement left behind: its counters, and the lease,
    /// kept while a transaction is open and given back once it is not.
    fn after(&mut self, executed: Executed, lease: Option<Lease>) -> Result<QueryResult, Error> {
        self.last_insert_rowid = executed.last_insert_rowid;
        self.changes = executed.changes;
        if executed.in_transaction {
            if self.lease.is_none() {
                self.lease = lease;
            }
        } else {
            self.lease = None;
        }
        executed.result
    }
}

/// The guest's database for one statement (counted for `--stats`), its
/// result limit, and whether the guest already holds its lease (its
/// transaction is open).
fn target(state: &mut InstanceState, conn: &Resource<OpenConnection>) -> wasmtime::Result<(Arc<SharedConnection>, usize, bool)> {
    crate::stats::record_sqlite_statement(&state.sqlite.component);
    let open = state.table.get(conn)?;
    Ok((open.conn.clone(), open.max_result_bytes, open.lease.is_some()))
}

/// Runs the statement, first waiting for the lease unless the guest holds it.
async fn run_leased(
    shared: &Arc<SharedConnection>,
    max_result_bytes: usize,
    holding: bool,
    statement: String,
    parameters: Vec<Value>,
) -> (Executed, Option<Lease>) {
    let lease = if holding { None } else { Some(shared.lease().await) };
    (execute(shared, statement, parameters, max_result_bytes, holding).await, lease)
}

/// Runs a statement for an async call, waiting (on the caller's host task,
/// not blocking a thread) while another guest has a transaction open.
pub(super) async fn run<T: Send>(
    accessor: &Accessor<T, Spin>,
    conn: &Resource<OpenConnection>,
    statement: String,
    parameters: Vec<Value>,
) -> wasmtime::Result<Result<QueryResult, Error>> {
    let (shared, max_bytes, holding) = accessor.with(|mut access| target(access.get(), conn))?;
    let (executed, lease) = run_leased(&shared, max_bytes, holding, statement, parameters).await;
    accessor.with(|mut access| Ok(access.get().table.get_mut(conn)?.after(executed, lease)))
}

/// As [`run`], for a synchronous call: the calling guest task is blocked
/// anyway, so the store stays with this call while it waits for the lease
/// (the executor thread does not).
pub(super) async fn run_blocking_caller<T: Send>(
    mut access: Access<'_, T, Spin>,
    conn: &Resource<OpenConnection>,
    statement: String,
    parameters: Vec<Value>,
) -> wasmtime::Result<Result<QueryResult, Error>> {
    let (shared, max_bytes, holding) = target(access.get(), conn)?;
    let (executed, lease) = run_leased(&shared, max_bytes, holding, statement, parameters).await;
    Ok(access.get().table.get_mut(conn)?.after(executed, lease))
}

impl sql::Host for &mut InstanceState {}

impl sql::HostConnection for &mut InstanceState {
    fn open(&mut self, database: String) -> wasmtime::Result<Result<Resource<OpenConnection>, Error>> {
        open(self, &database)
    }

    fn last_insert_rowid(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<i64> {
        Ok(self.table.get(&conn)?.last_insert_rowid)
    }

    fn changes(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&conn)?.changes)
    }

    fn drop(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl<T: Send> sql::HostConnectionWithStore<T> for Spin {
    async fn open_async(accessor: &Accessor<T, Self>, database: String) -> wasmtime::Result<Result<Resource<OpenConnection>, Error>> {
        accessor.with(|mut access| open(access.get(), &database))
    }

    async fn execute(
        access: Access<'_, T, Self>,
        conn: Resource<OpenConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        run_blocking_caller(access, &conn, statement, parameters).await
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        conn: Resource<OpenConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<(Vec<String>, StreamReader<RowResult>, FutureReader<Result<(), Error>>), Error>> {
        let result = match run(accessor, &conn, statement, parameters).await? {
            Ok(result) => result,
            Err(e) => return Ok(Err(e)),
        };
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, result.rows)?;
            let done = FutureReader::new(&mut access, async { wasmtime::error::Ok(Ok(())) })?;
            Ok(Ok((result.columns, rows, done)))
        })
    }

    async fn last_insert_rowid_async(accessor: &Accessor<T, Self>, conn: Resource<OpenConnection>) -> wasmtime::Result<i64> {
        accessor.with(|mut access| Ok(access.get().table.get(&conn)?.last_insert_rowid))
    }

    async fn changes_async(accessor: &Accessor<T, Self>, conn: Resource<OpenConnection>) -> wasmtime::Result<u64> {
        accessor.with(|mut access| Ok(access.get().table.get(&conn)?.changes))
    }
}
