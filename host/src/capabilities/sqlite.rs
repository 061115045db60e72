//! `spin:sqlite/sqlite@3.1.0`: each database label is a SQLite file from
//! runtime-config.toml; a component opens only the labels its manifest lists,
//! and its SQL reaches nothing else (`sql_policy`). Statements run off the
//! executor and stop at the request's deadline (`shared_connection`); one
//! result may hold at most `--sqlite-max-result-bytes`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use wasmtime::component::{Access, Accessor, FutureReader, Resource, StreamReader};

use super::CapabilitiesView;
use super::Spin;
use super::bindings::spin::sqlite::sqlite::{self as sql, Error, QueryResult, RowResult, Value};
use super::for_request::ForRequest;
use super::shared_connection::{self, Lease, SharedConnection, Sql};
use super::sqlite_cut;
use super::sqlite_journal::{Answer, Journal};

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

    /// The database `label`, opened now if no component's manifest had it opened.
    pub fn open_if_closed(label: &str, path: Option<&std::path::Path>, dbs: &mut Self) -> Result<Arc<SharedConnection>, String> {
        if !dbs.by_label.contains_key(label) {
            Self::open(label, path, dbs)?;
        }
        Ok(dbs.by_label[label].clone())
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
    /// The database's label, for metrics.
    label: Arc<str>,
    max_result_bytes: usize,
    last_insert_rowid: i64,
    changes: u64,
    /// Held while this guest has a transaction open.
    lease: Option<Lease>,
    /// That transaction's statements, to run it again if a write is cut.
    journal: Arc<Mutex<Journal>>,
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

pub(super) fn open(state: &mut CapabilitiesView<'_>, label: &str) -> wasmtime::Result<Result<Resource<OpenConnection>, Error>> {
    let Some(granted) = state.caps.grants.sqlite.by_label.get(label) else {
        return Ok(Err(Error::AccessDenied));
    };
    let Some(conn) = granted.clone() else {
        return Ok(Err(Error::NoSuchDatabase));
    };
    let max_result_bytes = state.caps.grants.sqlite.max_result_bytes;
    let label = Arc::from(label);
    Ok(Ok(state.table.push(OpenConnection { conn, label, max_result_bytes, last_insert_rowid: 0, changes: 0, lease: None, journal: Default::default() })?))
}

/// A guest's parameter, bound by reference (a statement's text and blob
/// parameters are not copied to be bound).
struct Bound<'a>(&'a Value);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::Null => ValueRef::Null,
        }))
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

/// Runs one statement, on the calling thread first and on the blocking pool
/// once past the inline budget; also returns the connection's counters
/// after it, read while still holding the connection so another instance's
/// statement cannot interleave.
async fn execute(target: Target, statement: String, parameters: Vec<Value>) -> Executed {
    let Target { conn, label, max_result_bytes, holding, journal, .. } = target;
    let refusals = conn.refusals.clone();
    let statement = Arc::new(statement);
    // Shared with the journal, if a transaction is open, rather than copied.
    let parameters = Arc::new(parameters);
    // What may start where it can be cut: a read runs again as it was; a
    // data change outside a transaction too, unless it completed
    // (`sqlite_cut`); a transaction whose write was cut runs again from its
    // journal, unless it outgrew it.
    let read_only = |c: &mut rusqlite::Connection, statement: &str| c.prepare_cached(statement).is_ok_and(|s| s.readonly());
    let restartable = |c: &mut rusqlite::Connection| {
        if c.is_autocommit() {
            sqlite_cut::outside_transaction(&statement).is_some() || read_only(c, &statement)
        } else {
            lock(&journal).replayable() || read_only(c, &statement)
        }
    };
    let (run_statement, run_journal) = (statement.clone(), journal.clone());
    let (ran, on_pool) = conn
        .run_quick(restartable, move |c| {
            let answer = |c: &mut rusqlite::Connection, statement: &str, parameters: &[Value]| {
                let changed_before = c.total_changes();
                let outcome = query(c, statement, parameters, max_result_bytes);
                let counters = (c.total_changes() != changed_before).then(|| (c.last_insert_rowid(), c.changes()));
                let cut = matches!(&outcome, Err(QueryError::Sql(e)) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted));
                let outcome = outcome.map_err(|e| match e {
                    QueryError::Sql(e) => shared_connection::describe(&e, refusals.as_ref()),
                    QueryError::TooLarge(message) => message,
                });
                (outcome, counters, cut)
            };
            let mut journal = lock(&run_journal);
            if journal.rolled_back() {
                let replayed = journal.replay(|statement, parameters| {
                    let (outcome, counters, _) = answer(c, statement, parameters);
                    (outcome, counters)
                });
                if let Err(diverged) = replayed {
                    if !c.is_autocommit() {
                        c.execute_batch("ROLLBACK")?;
                    }
                    return Ok((Err(diverged.to_string()), c.last_insert_rowid(), c.changes(), false));
                }
            }
            let in_transaction_before = !c.is_autocommit();
            let guarded = !in_transaction_before && sqlite_cut::outside_transaction(&run_statement) == Some(sqlite_cut::Outside::Guarded);
            if guarded {
                sqlite_cut::begin_guarded(c)?;
            }
            let (mut outcome, counters, cut) = answer(c, &run_statement, &parameters[..]);
            // The statement's own row count: 0 after a real cut (SQLite
            // resets it as it rolls back), trigger changes not included.
            let changed_rows = c.changes() > 0;
            if guarded {
                sqlite_cut::end_guarded(c, cut)?;
            }
            if cut {
                let read_only = read_only(c, &run_statement);
                match sqlite_cut::settle(c, read_only, in_transaction_before, guarded, changed_rows)? {
                    // It did what it was asked (a write without rows to return).
                    sqlite_cut::Settled::Completed => outcome = Ok(QueryResult { columns: Vec::new(), rows: Vec::new() }),
                    sqlite_cut::Settled::RunAgain { transaction_lost } => {
                        journal.cut(transaction_lost);
                        // Tells `run_quick` the statement was cut (to run it again).
                        return Err(shared_connection::interrupted_error());
                    }
                }
            }
            let in_transaction = !c.is_autocommit();
            journal.completed(&run_statement, &parameters, Answer { result: &outcome, counters }, in_transaction);
            Ok((outcome, c.last_insert_rowid(), c.changes(), in_transaction))
        })
        .await;
    if let Some(why) = on_pool {
        crate::metrics::store_pool_run("sqlite", &label, why.as_str());
    }
    match ran {
        Ok((outcome, last_insert_rowid, changes, in_transaction)) => {
            Executed { result: outcome.map_err(Error::Io), last_insert_rowid, changes, in_transaction }
        }
        // The statement never ran (the store is closing), or the request's
        // deadline cut it (its instance is being dropped, and with it any
        // open transaction, rolled back).
        Err(message) => Executed { result: Err(Error::Io(message)), last_insert_rowid: 0, changes: 0, in_transaction: holding },
    }
}

fn lock(journal: &Mutex<Journal>) -> std::sync::MutexGuard<'_, Journal> {
    journal.lock().unwrap_or_else(|p| p.into_inner())
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
    // The progress handler is first consulted after 500 instructions of
    // this run, not of every run of the cached statement: a short
    // statement is never cut, and never reported cut after completing.
    stmt.reset_status(rusqlite::StatementStatus::VmStep);
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    let mut rows_out = Vec::new();
    let mut bytes = columns.iter().map(String::len).sum::<usize>();
    let mut rows = stmt.query(rusqlite::params_from_iter(parameters.iter().map(Bound)))?;
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

/// The guest's database for one statement, as the statement needs it.
struct Target {
    conn: Arc<SharedConnection>,
    label: Arc<str>,
    max_result_bytes: usize,
    /// The guest already holds the lease (its transaction is open).
    holding: bool,
    journal: Arc<Mutex<Journal>>,
    /// The request the statement is made for.
    request: ForRequest,
}

/// The guest's database for one statement (counted for `--stats`).
fn target(state: &mut CapabilitiesView<'_>, conn: &Resource<OpenConnection>, request: ForRequest) -> wasmtime::Result<Target> {
    crate::stats::record_sqlite_statement(&state.caps.grants.sqlite.component);
    let open = state.table.get(conn)?;
    Ok(Target {
        conn: open.conn.clone(),
        label: open.label.clone(),
        max_result_bytes: open.max_result_bytes,
        holding: open.lease.is_some(),
        journal: open.journal.clone(),
        request,
    })
}

/// Runs the statement, first waiting for the lease unless the guest holds it.
/// Timed for the metrics, by the statement's verb; a wait for another
/// guest's transaction counts as a busy wait.
async fn run_leased(target: Target, statement: String, parameters: Vec<Value>) -> (Executed, Option<Lease>) {
    let started = std::time::Instant::now();
    let label = target.label.clone();
    let verb = (crate::metrics::get().is_some() || target.request.trace.is_some()).then(|| crate::metrics::sql_verb(&statement));
    let mut span = match verb {
        Some(verb) => crate::traces::store_operation(&target.request.trace, "sqlite", "sqlite", &label, verb),
        None => Default::default(),
    };
    let lease = if target.holding {
        None
    } else {
        match target.conn.try_lease() {
            Some(lease) => Some(lease),
            None => {
                crate::metrics::store_busy_wait("sqlite", &label);
                Some(target.conn.lease().await)
            }
        }
    };
    // A statement whose request's deadline passed (while it waited for
    // another guest's transaction, say) never starts: the request is being
    // answered 503, so nothing it asked for may happen after that.
    let executed = match target.request.in_time() {
        Err(late) => Executed { result: Err(Error::Io(late)), last_insert_rowid: 0, changes: 0, in_transaction: target.holding },
        // Boxed apart: wasmtime boxes each host call's future whole, and
        // with the statement's state inline it passed 1,000 bytes, where
        // glibc serves a request from its large bins and first consolidates
        // every freed small chunk (about 12 times a checkout request). Two
        // small boxes cost less than that.
        Ok(()) => Box::pin(execute(target, statement, parameters)).await,
    };
    if let Err(e) = &executed.result {
        span.error("sqlite", format!("{e:?}"));
    }
    if let Some(verb) = verb {
        crate::metrics::store_operation("sqlite", &label, verb, executed.result.is_ok(), started.elapsed());
    }
    (executed, lease)
}

/// Runs a statement for an async call, waiting (on the caller's host task,
/// not blocking a thread) while another guest has a transaction open.
pub(super) async fn run<T: Send>(
    accessor: &Accessor<T, Spin>,
    conn: &Resource<OpenConnection>,
    statement: String,
    parameters: Vec<Value>,
) -> wasmtime::Result<Result<QueryResult, Error>> {
    let target = accessor.with(|mut access| {
        let request = super::for_request::for_caller(&mut access);
        target(&mut access.get(), conn, request)
    })?;
    let (executed, lease) = run_leased(target, statement, parameters).await;
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
    let request = super::for_request::for_caller(&mut access);
    let target = target(&mut access.get(), conn, request)?;
    let (executed, lease) = run_leased(target, statement, parameters).await;
    Ok(access.get().table.get_mut(conn)?.after(executed, lease))
}

impl sql::Host for CapabilitiesView<'_> {}

impl sql::HostConnection for CapabilitiesView<'_> {
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
        accessor.with(|mut access| open(&mut access.get(), &database))
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
        let (rows, done) = super::buffered_stream(accessor, result.rows, Ok(()))?;
        Ok(Ok((result.columns, rows, done)))
    }

    async fn last_insert_rowid_async(accessor: &Accessor<T, Self>, conn: Resource<OpenConnection>) -> wasmtime::Result<i64> {
        accessor.with(|mut access| Ok(access.get().table.get(&conn)?.last_insert_rowid))
    }

    async fn changes_async(accessor: &Accessor<T, Self>, conn: Resource<OpenConnection>) -> wasmtime::Result<u64> {
        accessor.with(|mut access| Ok(access.get().table.get(&conn)?.changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserts 200,000 rows: far past the inline budget, so it is cut and run again.
    const SLOW_WRITE: &str = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000) INSERT INTO t SELECT n FROM c";

    struct Guest {
        conn: Arc<SharedConnection>,
        journal: Arc<Mutex<Journal>>,
        in_transaction: bool,
    }

    impl Guest {
        fn new(conn: &Arc<SharedConnection>) -> Self {
            Guest { conn: conn.clone(), journal: Default::default(), in_transaction: false }
        }

        async fn run(&mut self, statement: &str) -> Result<QueryResult, Error> {
            let target = Target {
                conn: self.conn.clone(),
                label: Arc::from("test"),
                max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
                holding: true,
                journal: self.journal.clone(),
                request: Default::default(),
            };
            let executed = execute(target, statement.to_string(), vec![]).await;
            self.in_transaction = executed.in_transaction;
            executed.result
        }

        async fn count(&mut self) -> i64 {
            let rows = self.run("SELECT count(*), count(DISTINCT x) FROM t").await.unwrap().rows;
            let [Value::Integer(all), Value::Integer(distinct)] = rows[0].values[..] else { panic!("{:?}", rows[0].values) };
            assert_eq!(all, distinct, "a row was written twice");
            all
        }
    }

    fn database() -> Arc<SharedConnection> {
        let conn = Arc::new(SharedConnection::open(None, Sql::Guest).unwrap());
        conn.with(|c| c.execute_batch("CREATE TABLE t (x INTEGER NOT NULL)")).unwrap();
        conn
    }

    /// wasmtime keeps each host call's future on the heap, where glibc
    /// serves 1,000 bytes or more by its slower path (its large bins, after
    /// consolidating the freed small chunks): the future the bindings wrap
    /// stays far under that, with room for their wrapping, and the
    /// statement's own state, boxed apart, under it too (the blocking
    /// pool's rare path is boxed apart again, the request's span shared).
    #[test]
    fn a_statements_futures_stay_under_glibcs_large_requests() {
        let conn = database();
        let target = || Target {
            conn: conn.clone(),
            label: Arc::from("test"),
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            holding: false,
            journal: Default::default(),
            request: Default::default(),
        };
        let inner = std::mem::size_of_val(&execute(target(), String::new(), vec![]));
        assert!(inner < 768, "a statement's own future takes {inner} bytes");
        let outer = std::mem::size_of_val(&run_leased(target(), String::new(), vec![]));
        assert!(outer < 512, "the future wasmtime boxes for a statement holds {outer} bytes of it");
    }

    /// A statement whose request's deadline passed while it waited for the
    /// lease (another guest's transaction) is refused, not run: its request
    /// is answered 503.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_statement_does_not_start_once_its_requests_deadline_has_passed() {
        let conn = database();
        let target = |deadline| Target {
            conn: conn.clone(),
            label: Arc::from("test"),
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            holding: false,
            journal: Default::default(),
            request: ForRequest { deadline: Some(deadline), ..Default::default() },
        };
        let held = conn.lease().await;
        let soon = std::time::Instant::now() + std::time::Duration::from_millis(50);
        let waiting = tokio::spawn(run_leased(target(soon), "INSERT INTO t VALUES (1)".to_string(), vec![]));
        // The deadline passes while the statement waits for the lease.
        tokio::time::sleep_until((soon + std::time::Duration::from_millis(50)).into()).await;
        drop(held);
        let (executed, _) = waiting.await.unwrap();
        let Err(Error::Io(message)) = executed.result else { panic!("the late statement ran: {:?}", executed.result) };
        assert_eq!(message, shared_connection::INTERRUPTED);
        assert_eq!(Guest::new(&conn).count().await, 0, "nothing was written");

        let later = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let (executed, _) = run_leased(target(later), "INSERT INTO t VALUES (1)".to_string(), vec![]).await;
        executed.result.unwrap();
        assert_eq!(Guest::new(&conn).count().await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_whose_write_is_cut_runs_again_and_commits_once() {
        let conn = database();
        let mut guest = Guest::new(&conn);
        guest.run("BEGIN").await.unwrap();
        guest.run("INSERT INTO t VALUES (-1)").await.unwrap();
        assert_eq!(guest.count().await, 1);
        guest.run(SLOW_WRITE).await.unwrap();
        assert!(guest.in_transaction, "the transaction is still open after the cut write");
        assert_eq!(guest.count().await, 200_001, "the rows written before the cut are there once");
        guest.run("COMMIT").await.unwrap();
        assert!(!guest.in_transaction);
        assert_eq!(Guest::new(&conn).count().await, 200_001);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_that_answers_differently_when_run_again_is_rolled_back_with_a_clear_error() {
        let conn = database();
        let mut guest = Guest::new(&conn);
        guest.run("BEGIN").await.unwrap();
        guest.run("INSERT INTO t VALUES (-1)").await.unwrap();
        // The guest saw a value that will not come again.
        guest.run("SELECT random()").await.unwrap();
        let error = guest.run(SLOW_WRITE).await.unwrap_err();
        let Error::Io(message) = error else { panic!("{error:?}") };
        assert!(message.contains("the transaction was rolled back") && message.contains("statement 3"), "{message}");
        assert!(!guest.in_transaction, "the guest is told its transaction is over");
        assert_eq!(Guest::new(&conn).count().await, 0, "nothing of the transaction was written");
    }

    /// Not a test but a measurement, run by hand (BENCHMARKS.md, fourteenth
    /// round): what a statement's bookkeeping (inline budget, journal,
    /// restartability) adds to running it straight on the connection, for
    /// a shop-like transaction and read. It asserts nothing about time.
    #[tokio::test(flavor = "current_thread")]
    #[ignore = "a measurement: cargo test --release -p souk --bin souk statement_bookkeeping -- --ignored --nocapture"]
    async fn statement_bookkeeping_cost() {
        let conn = Arc::new(SharedConnection::open(None, Sql::Guest).unwrap());
        conn.with(|c| {
            c.execute_batch(
                "CREATE TABLE p (id TEXT PRIMARY KEY, name TEXT NOT NULL, stock INTEGER NOT NULL, price INTEGER NOT NULL, updated_at INTEGER NOT NULL);
                 CREATE TABLE r (id INTEGER PRIMARY KEY, pid TEXT, qty INTEGER, at INTEGER)",
            )?;
            for i in 0..1000 {
                c.execute("INSERT INTO p VALUES (?, ?, 1000000, 1999, 0)", rusqlite::params![format!("prod-{i:04}"), format!("Product number {i}")])?;
            }
            Ok(())
        })
        .unwrap();
        let text = |s: &str| Value::Text(s.into());
        let statements: Vec<(&str, Vec<Value>)> = vec![
            ("BEGIN IMMEDIATE", vec![]),
            ("SELECT id, name, stock, price, updated_at FROM p WHERE id = ?", vec![text("prod-0042")]),
            (
                "UPDATE p SET stock = stock - ?, updated_at = ? WHERE id = ? AND stock >= ?",
                vec![Value::Integer(1), Value::Integer(5), text("prod-0042"), Value::Integer(1)],
            ),
            ("INSERT INTO r (pid, qty, at) VALUES (?, ?, ?)", vec![text("prod-0042"), Value::Integer(1), Value::Integer(5)]),
            ("COMMIT", vec![]),
            ("SELECT id, name, stock, price, updated_at FROM p WHERE id IN (?, ?, ?)", vec![text("prod-0001"), text("prod-0002"), text("prod-0003")]),
        ];
        let runs = 20_000;
        let per_statement = |started: std::time::Instant| started.elapsed().as_nanos() as f64 / (runs * statements.len()) as f64;
        for round in 1..=5 {
            let journal: Arc<Mutex<Journal>> = Default::default();
            let started = std::time::Instant::now();
            for _ in 0..runs {
                for (statement, parameters) in &statements {
                    let target = Target {
                        conn: conn.clone(),
                        label: Arc::from("p"),
                        max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
                        holding: true,
                        journal: journal.clone(),
                        request: Default::default(),
                    };
                    execute(target, statement.to_string(), parameters.clone()).await.result.unwrap();
                }
            }
            let bounded = per_statement(started);
            let started = std::time::Instant::now();
            for _ in 0..runs {
                for (statement, parameters) in &statements {
                    let (statement, parameters) = (statement.to_string(), parameters.clone());
                    conn.with(|c| {
                        let result = query(c, &statement, &parameters, DEFAULT_MAX_RESULT_BYTES).map_err(|e| match e {
                            QueryError::Sql(e) => e,
                            QueryError::TooLarge(m) => panic!("{m}"),
                        });
                        let _counters = (c.last_insert_rowid(), c.changes(), c.is_autocommit());
                        result
                    })
                    .unwrap();
                }
            }
            let straight = per_statement(started);
            eprintln!(
                "round {round}: {bounded:.0} ns a statement bounded, {straight:.0} ns straight on the connection: {:.0} ns of bookkeeping",
                bounded - straight
            );
        }
    }
}
