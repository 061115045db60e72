//! One SQLite connection shared by every instance that opens the same store
//! label; both key-value stores and SQLite databases are files of this kind.
//!
//! A guest may open a transaction (`BEGIN ... COMMIT`) across several
//! statements. On a shared connection, another instance's statements would
//! then run inside it, so SQLite guests take the connection's *lease* for
//! each statement and keep it while their transaction is open: other
//! instances wait for it asynchronously, without blocking an executor thread.
//!
//! Guest statements must not stall the other requests an executor thread
//! serves, yet handing each to another thread costs more than most take.
//! So [`SharedConnection::run_quick`] runs a statement on the calling
//! thread for at most [`INLINE_BUDGET`] when its caller can run it again
//! once cut (SQLite's guests: `sqlite.rs` with `sqlite_journal.rs`); one
//! that outlasts it, or cannot be cut, runs on tokio's blocking pool
//! ([`SharedConnection::run`]). When the caller stops waiting
//! (its request's deadline dropped the instance), a statement on the pool
//! is interrupted (SQLite's interrupt handle, and the progress handler for
//! a statement that had not quite started, which SQLite's interrupt
//! misses) or, if it is still waiting for the connection, never runs.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, InterruptHandle};

use super::sql_policy::{self, Refusals};

/// Prepared statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 256;

pub struct SharedConnection {
    /// The file, or "memory", for messages.
    pub name: String,
    conn: Mutex<Option<Connection>>,
    lease: Arc<tokio::sync::Mutex<()>>,
    interrupt: InterruptHandle,
    /// The call whose work holds `conn` now (0: none); see [`Call`].
    running: Mutex<u64>,
    next_call: AtomicU64,
    /// Reasons the guest SQL policy gave (databases guests write SQL for).
    pub refusals: Option<Refusals>,
    budget: Arc<Budget>,
}

/// How long a statement may run on the calling thread before it is cut
/// and sent to the blocking pool.
pub const INLINE_BUDGET: Duration = Duration::from_millis(2);

/// The time a statement on the calling thread has left, checked by SQLite's
/// progress handler every few hundred virtual machine steps.
struct Budget {
    epoch: Instant,
    /// Nanoseconds after `epoch` when the statement is cut; 0: no budget.
    until: AtomicU64,
    /// The statement was cut for running past `until`.
    tripped: AtomicBool,
    /// The caller of the call on the pool gave up ([`Call`]'s drop): cut
    /// its statement. SQLite's interrupt alone is lost if it comes after
    /// the call took the connection but before the statement started.
    given_up: AtomicBool,
}

impl Budget {
    fn new() -> Self {
        Budget { epoch: Instant::now(), until: AtomicU64::new(0), tripped: AtomicBool::new(false), given_up: AtomicBool::new(false) }
    }

    fn start(&self, budget: Duration) {
        self.tripped.store(false, Ordering::Relaxed);
        let until = (self.epoch.elapsed() + budget).as_nanos() as u64;
        self.until.store(until.max(1), Ordering::Relaxed);
    }

    /// Ends the budget; whether the statement was cut.
    fn stop(&self) -> bool {
        self.until.store(0, Ordering::Relaxed);
        self.tripped.load(Ordering::Relaxed)
    }

    /// The progress handler: `true` cuts the statement.
    fn exceeded(&self) -> bool {
        if self.given_up.load(Ordering::Relaxed) {
            return true;
        }
        let until = self.until.load(Ordering::Relaxed);
        if until != 0 && self.epoch.elapsed().as_nanos() as u64 > until {
            self.tripped.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

const CLOSED: &str = "the store is closed (the app is shutting down)";

/// Why a statement ran on the blocking pool instead of the calling thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnPool {
    /// Another thread was using the connection.
    Busy,
    /// It could not be cut and run again (a write inside a transaction
    /// larger than its journal, or a statement of no known kind).
    NotRestartable,
    /// It ran past [`INLINE_BUDGET`] and was cut, to run again there.
    OverBudget,
}

impl OnPool {
    pub fn as_str(self) -> &'static str {
        match self {
            OnPool::Busy => "busy",
            OnPool::NotRestartable => "not_restartable",
            OnPool::OverBudget => "over_budget",
        }
    }
}

/// Who writes the SQL a connection runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sql {
    /// Only the host (key-value stores).
    Host,
    /// Guests (SQLite databases): [`sql_policy`] applies.
    Guest,
}

/// The right to run statements on the connection, held across an open transaction.
pub type Lease = tokio::sync::OwnedMutexGuard<()>;

impl SharedConnection {
    /// Opens (creating if needed) the file, in WAL mode so readers in other
    /// processes (e.g. a backup) do not block writers; or, without a path, a
    /// database in memory that lasts as long as the app runs.
    pub fn open(path: Option<&Path>, sql: Sql) -> Result<Self, String> {
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
        let budget = Arc::new(Budget::new());
        let refusals = match sql {
            Sql::Host => None,
            Sql::Guest => {
                let refusals = Refusals::default();
                sql_policy::install(&conn, refusals.clone()).map_err(|e| format!("{name}: {e}"))?;
                let checked = budget.clone();
                conn.progress_handler(500, Some(move || checked.exceeded()));
                Some(refusals)
            }
        };
        Ok(Self {
            name,
            interrupt: conn.get_interrupt_handle(),
            conn: Mutex::new(Some(conn)),
            lease: Arc::new(tokio::sync::Mutex::new(())),
            running: Mutex::new(0),
            next_call: AtomicU64::new(1),
            refusals,
            budget,
        })
    }

    /// Waits until no other guest holds the connection.
    /// The lease, if no other guest holds it.
    pub fn try_lease(&self) -> Option<Lease> {
        self.lease.clone().try_lock_owned().ok()
    }

    pub async fn lease(&self) -> Lease {
        self.lease.clone().lock_owned().await
    }

    /// Runs `f` with the connection on the calling thread; an error once
    /// the app is shutting down. For work that cannot wait (start-up, the
    /// synchronous key-value interfaces' point lookups); guest statements go
    /// through [`SharedConnection::run`].
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>) -> Result<R, String> {
        self.with_call(0, None, f)
    }

    fn with_call<R>(&self, call: u64, cancelled: Option<&AtomicBool>, f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>) -> Result<R, String> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = guard.as_mut().ok_or_else(|| CLOSED.to_string())?;
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if cancelled.is_some_and(|c| c.load(Ordering::Acquire)) {
                return Err(INTERRUPTED.to_string());
            }
            *running = call;
        }
        let result = f(conn);
        {
            // `Call`'s drop marks the call given up only while it runs, so
            // the mark ends here.
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            *running = 0;
            self.budget.given_up.store(false, Ordering::Relaxed);
        }
        result.map_err(|e| describe(&e, self.refusals.as_ref()))
    }

    /// Runs `f` with the connection on tokio's blocking pool and waits for
    /// it without holding an executor thread. Dropping the returned future
    /// (the request's deadline passed) interrupts `f`'s statement if it is
    /// running, and keeps it from starting if it is still waiting.
    pub async fn run<R: Send + 'static>(self: &Arc<Self>, f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static) -> Result<R, String> {
        let call = Call { conn: self.clone(), id: self.next_call.fetch_add(1, Ordering::Relaxed), cancelled: Arc::new(AtomicBool::new(false)), done: false };
        let (conn, id, cancelled) = (self.clone(), call.id, call.cancelled.clone());
        let joined = tokio::task::spawn_blocking(move || conn.with_call(id, Some(&cancelled), f)).await;
        call.finish();
        joined.unwrap_or_else(|e| Err(format!("the store's worker failed: {e}")))
    }

    /// Runs `f` on the calling thread if the connection is free and
    /// `restartable` says `f`'s statement may be cut and run again, for at
    /// most [`INLINE_BUDGET`]; otherwise, or once cut, on the blocking pool
    /// with [`SharedConnection::run`], saying why.
    pub async fn run_quick<R: Send + 'static>(
        self: &Arc<Self>,
        restartable: impl FnOnce(&mut Connection) -> bool,
        f: impl Fn(&mut Connection) -> rusqlite::Result<R> + Send + Sync + 'static,
    ) -> (Result<R, String>, Option<OnPool>) {
        let why = match self.conn.try_lock() {
            Err(_) => OnPool::Busy,
            Ok(mut guard) => {
                let Some(conn) = guard.as_mut() else { return (Err(CLOSED.to_string()), None) };
                if !restartable(conn) {
                    OnPool::NotRestartable
                } else {
                    self.budget.start(INLINE_BUDGET);
                    let result = f(conn);
                    // Only a statement the budget actually cut runs again: one that
                    // finished without being told so must not run twice. (SQLite can
                    // also report a finished statement as cut; `f` settles that:
                    // see `sqlite_cut`.)
                    if !self.budget.stop() || !is_interrupted(&result) {
                        return (result.map_err(|e| describe(&e, self.refusals.as_ref())), None);
                    }
                    OnPool::OverBudget
                }
            }
        };
        let f = Arc::new(f);
        // Boxed: the pool's rare path would otherwise make the future of
        // every statement (which wasmtime keeps on the heap) over a kilobyte.
        (Box::pin(self.run(move |c| f(c))).await, Some(why))
    }

    /// Closes the connection (flushing the WAL); later calls fail cleanly.
    pub fn close(&self) {
        let taken = self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(conn) = taken
            && let Err((_, e)) = conn.close()
        {
            tracing::warn!("closing {}: {e}", self.name);
        }
    }
}

/// The message for a failed statement: SQLite's, or for a statement the
/// guest SQL policy refused, why (taken on the connection's thread, right
/// after the refusal).
pub fn describe(e: &rusqlite::Error, refusals: Option<&Refusals>) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OperationInterrupted) => INTERRUPTED.to_string(),
        Some(rusqlite::ErrorCode::AuthorizationForStatementDenied) => {
            refusals.and_then(Refusals::take).map_or_else(|| e.to_string(), |why| format!("not authorized: {why}"))
        }
        _ => e.to_string(),
    }
}

/// Whether `result` is SQLite's answer to a statement that was cut off.
pub fn is_interrupted<R>(result: &rusqlite::Result<R>) -> bool {
    matches!(result, Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted))
}

/// The error a statement cut off gives, for callers that fold SQLite's own
/// errors into their answer.
pub fn interrupted_error() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERRUPT), None)
}

/// What a guest is told when its statement was cut off.
pub const INTERRUPTED: &str = "interrupted: the request's deadline passed";

/// One [`SharedConnection::run`] in flight; dropped unfinished, it stops its work.
struct Call {
    conn: Arc<SharedConnection>,
    id: u64,
    cancelled: Arc<AtomicBool>,
    done: bool,
}

impl Call {
    fn finish(mut self) {
        self.done = true;
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Under `running`'s lock the worker can neither start nor finish
        // this call's work, so the interrupt hits this call's statement and
        // no other guest's (SQLite ignores an interrupt while none runs).
        let running = self.conn.running.lock().unwrap_or_else(|p| p.into_inner());
        self.cancelled.store(true, Ordering::Release);
        if *running == self.id {
            self.conn.budget.given_up.store(true, Ordering::Relaxed);
            self.conn.interrupt.interrupt();
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
        for shared in [SharedConnection::open(None, Sql::Guest).unwrap(), SharedConnection::open(Some(&dir.path().join("t.db")), Sql::Guest).unwrap()] {
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

    /// A statement that would run for ever stops when its caller gives up,
    /// and the connection serves the next one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_runaway_statement_is_interrupted_when_its_caller_stops_waiting() {
        let shared = Arc::new(SharedConnection::open(None, Sql::Guest).unwrap());
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
        let runaway = shared.run(move |c| c.query_row(endless, [], |r| r.get::<_, i64>(0)));
        let cut = tokio::time::timeout(std::time::Duration::from_millis(300), runaway).await;
        assert!(cut.is_err(), "the endless query finished");
        // The worker gives the connection back only once the statement has stopped.
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), shared.run(|c| c.query_row("SELECT 41 + 1", [], |r| r.get::<_, i64>(0))));
        assert_eq!(next.await.expect("the connection is still busy with the interrupted statement"), Ok(42));
    }

    /// The caller may stop waiting after its call holds the connection but
    /// before SQLite counts its statement as running, when SQLite ignores an
    /// interrupt: the statement is still cut once it starts.
    #[test]
    fn a_call_given_up_just_before_its_statement_starts_is_still_cut() {
        let shared = Arc::new(SharedConnection::open(None, Sql::Guest).unwrap());
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = shared.clone();
        std::thread::spawn(move || {
            let call = Call { conn: worker.clone(), id: 7, cancelled: Arc::new(AtomicBool::new(false)), done: false };
            let cancelled = call.cancelled.clone();
            let result = worker.with_call(7, Some(&cancelled), move |c| {
                drop(call);
                c.query_row(endless, [], |r| r.get::<_, i64>(0))
            });
            let _ = tx.send(result);
        });
        let result = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the statement ran on after its caller gave up");
        assert_eq!(result, Err(INTERRUPTED.to_string()));
        assert_eq!(shared.with(|c| c.query_row("SELECT 41 + 1", [], |r| r.get::<_, i64>(0))), Ok(42), "the next statement runs");
    }

    /// A long read starts on the calling thread, is cut at the budget and
    /// finishes on the pool with the whole answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_statement_outgrows_the_calling_thread_and_still_answers() {
        let shared = Arc::new(SharedConnection::open(None, Sql::Guest).unwrap());
        let long = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 3000000) SELECT count(*) FROM n";
        let (counted, why) = shared.run_quick(|_| true, move |c| c.query_row(long, [], |r| r.get::<_, i64>(0))).await;
        assert_eq!(why, Some(OnPool::OverBudget));
        assert_eq!(counted, Ok(3_000_000));
        assert!(!shared.budget.tripped.load(Ordering::Relaxed) || shared.budget.until.load(Ordering::Relaxed) == 0);
        let (quick, why) = shared.run_quick(|_| true, |c| c.query_row("SELECT 6 * 7", [], |r| r.get::<_, i64>(0))).await;
        assert_eq!(why, None, "a short statement stays on the calling thread");
        let (_, why) = shared.run_quick(|_| false, |c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))).await;
        assert_eq!(why, Some(OnPool::NotRestartable));
        assert_eq!(quick, Ok(42));
    }

    #[tokio::test]
    async fn a_refused_statement_says_why() {
        let shared = Arc::new(SharedConnection::open(None, Sql::Guest).unwrap());
        let err = shared.run(|c| c.execute_batch("ATTACH DATABASE '/etc/hostname' AS h")).await.unwrap_err();
        assert!(err.starts_with("not authorized: ATTACH is not allowed"), "{err}");
    }
}
