//! What a guest statement cut by the inline budget (or its deadline) left
//! behind, so that running it again cannot apply it twice.
//!
//! SQLite also consults the progress handler as a statement *returns*,
//! after its last instruction: a write that has completed (its rows in the
//! transaction, or committed when outside one) can still report
//! `SQLITE_INTERRUPT`. A write really cut mid-way rolls back the whole
//! transaction and sets the statement's change count (`changes()`, which
//! leaves out triggers' changes) to 0, which tells the two apart:
//! - inside a guest's transaction, one still open after the cut means the
//!   write completed: it is undone by rolling the transaction back, and
//!   the journal runs it again, once;
//! - outside one, a write that changed rows completed (and is committed);
//!   one that changed none left the database as it was, and may run again.
//!   A write with `RETURNING` would lose its rows that way, so it runs in a
//!   savepoint of the host's ([`begin_guarded`]) that is undone instead;
//!   any other write (schema changes, PRAGMA, VACUUM) never runs where it
//!   can be cut;
//! - a BEGIN (of any kind), SAVEPOINT, COMMIT or ROLLBACK that changed the
//!   transaction's state has completed; one that did not, may run again.

use rusqlite::Connection;

const SAVEPOINT: &str = "souk_statement";
/// Kept as prepared statements (they come with every guarded write).
const OPEN_SAVEPOINT: &str = "SAVEPOINT souk_statement";
const RELEASE_SAVEPOINT: &str = "RELEASE souk_statement";

/// How a write outside a transaction may start where it can be cut.
#[derive(Debug, PartialEq, Eq)]
pub enum Outside {
    /// Whether it completed shows afterwards: for a data change in its
    /// change count, for BEGIN and SAVEPOINT in the transaction they open.
    Evident,
    /// A data change with `RETURNING`: inside the host's savepoint.
    Guarded,
}

/// How `statement`, run outside a transaction, may be cut; a read is
/// [`Outside::Evident`] too (it changes nothing). Told by its first word,
/// without preparing it: `None` when that does not say (then only a
/// statement SQLite calls read-only may be cut).
pub fn outside_transaction(statement: &str) -> Option<Outside> {
    let first = statement.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    let is = |verbs: &[&str]| verbs.iter().any(|verb| first.eq_ignore_ascii_case(verb));
    // SQLite calls BEGIN IMMEDIATE and EXCLUSIVE writes (they take the
    // write lock), so without this line they would never start inline.
    if is(&["select", "values", "begin", "savepoint"]) {
        return Some(Outside::Evident);
    }
    if !is(&["insert", "update", "delete", "replace", "with"]) {
        return None;
    }
    // A false match (the word in a string or a name) only costs the savepoint.
    let returning = statement.as_bytes().windows(9).any(|w| w.eq_ignore_ascii_case(b"returning"));
    Some(if returning { Outside::Guarded } else { Outside::Evident })
}

/// Opens the host's savepoint around a write outside a transaction.
pub fn begin_guarded(c: &Connection) -> rusqlite::Result<()> {
    run_short(c, OPEN_SAVEPOINT)
}

/// Closes the host's savepoint after the write: kept (committed) if the
/// write was not cut, undone if it completed and was then reported cut.
/// Nothing to do if SQLite already rolled it back. If closing it fails
/// (the request's deadline interrupts it), the whole savepoint is rolled
/// back, write included: it is the connection's outermost transaction, and
/// left open, every other guest's statements would run inside it.
pub fn end_guarded(c: &Connection, cut: bool) -> rusqlite::Result<()> {
    if c.is_autocommit() {
        return Ok(());
    }
    let closed = if cut { c.execute_batch(&format!("ROLLBACK TO {SAVEPOINT}; {RELEASE_SAVEPOINT}")) } else { run_short(c, RELEASE_SAVEPOINT) };
    if closed.is_err() && !c.is_autocommit() {
        c.execute_batch("ROLLBACK")?;
    }
    closed
}

/// Runs one of the host's own short statements, kept prepared. Its count
/// of steps starts again from 0, so that SQLite's progress handler (consulted
/// every few hundred steps a statement has made over all its runs) is not
/// consulted during it: the inline budget never cuts it.
fn run_short(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut statement = c.prepare_cached(sql)?;
    statement.reset_status(rusqlite::StatementStatus::VmStep);
    statement.execute([]).map(|_| ())
}

/// What to do about a statement reported cut.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// It completed: answer as if it had not been cut.
    Completed,
    /// It left nothing: run it again, first replaying the guest's
    /// transaction if that was lost.
    RunAgain { transaction_lost: bool },
}

/// Settles a statement reported cut: whether it is read-only, whether a
/// guest transaction was open before it, whether it ran inside the host's
/// savepoint (already closed with [`end_guarded`]), and whether the
/// statement's change count (`changes()` right after it) is above 0.
pub fn settle(c: &Connection, read_only: bool, in_transaction_before: bool, guarded: bool, changed: bool) -> rusqlite::Result<Settled> {
    let in_transaction = !c.is_autocommit();
    if guarded {
        return Ok(Settled::RunAgain { transaction_lost: false });
    }
    if read_only {
        // A read changes nothing; BEGIN, COMMIT and ROLLBACK that moved the
        // transaction's state did what they were asked.
        return Ok(if in_transaction != in_transaction_before { Settled::Completed } else { Settled::RunAgain { transaction_lost: false } });
    }
    if in_transaction_before {
        if in_transaction {
            // A write really cut would have rolled everything back: this
            // one completed. Undo it with its transaction, run again.
            c.execute_batch("ROLLBACK")?;
        }
        return Ok(Settled::RunAgain { transaction_lost: true });
    }
    // Outside a transaction, only BEGIN or SAVEPOINT leaves one open: it
    // completed. A data change completed if it changed rows.
    Ok(if in_transaction || changed { Settled::Completed } else { Settled::RunAgain { transaction_lost: false } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE NOT NULL)";

    /// A fresh database with `setup` run on it.
    fn database(setup: &str) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c.execute_batch(setup).unwrap();
        c
    }

    /// A progress handler consulted at every instruction, counting its
    /// calls, tripping on call `trip_at` (0: never).
    fn count_calls(c: &Connection, trip_at: u64) -> Arc<AtomicU64> {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = calls.clone();
        c.progress_handler(1, Some(move || counted.fetch_add(1, Ordering::Relaxed) + 1 == trip_at));
        calls
    }

    /// Runs `sql` after `setup` with the handler tripping on its last call,
    /// the one SQLite makes as the statement returns (counted first on an
    /// identical database): the connection, and what the statement reported.
    fn cut_as_it_returns(setup: &str, sql: &str) -> (Connection, rusqlite::Result<usize>) {
        let dry = database(setup);
        let calls = count_calls(&dry, 0);
        dry.execute(sql, []).unwrap();
        let last = calls.load(Ordering::Relaxed);
        let c = database(setup);
        count_calls(&c, last);
        let result = c.execute(sql, []);
        c.progress_handler(0, None::<fn() -> bool>);
        (c, result)
    }

    fn is_cut<R>(result: &rusqlite::Result<R>) -> bool {
        crate::capabilities::shared_connection::is_interrupted(result)
    }

    fn rows(c: &Connection) -> i64 {
        c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn sqlite_reports_a_completed_write_as_cut_when_the_handler_trips_as_it_returns() {
        let (c, result) = cut_as_it_returns("BEGIN", "INSERT INTO t (k) VALUES ('a')");
        assert!(is_cut(&result), "{result:?}");
        // The row is there and the transaction open: the write completed.
        assert_eq!((rows(&c), c.is_autocommit()), (1, false));
    }

    #[test]
    fn a_write_that_completed_in_a_transaction_is_undone_with_it_and_runs_once_more() {
        let (c, result) = cut_as_it_returns("BEGIN", "INSERT INTO t (k) VALUES ('a')");
        assert!(is_cut(&result));
        assert_eq!(settle(&c, false, true, false, true).unwrap(), Settled::RunAgain { transaction_lost: true });
        assert!(c.is_autocommit(), "rolled back, for the journal to run again");
        // What the journal then does: the transaction again, then the write.
        c.execute_batch("BEGIN; INSERT INTO t (k) VALUES ('a'); COMMIT").unwrap();
        assert_eq!(rows(&c), 1);
    }

    #[test]
    fn a_write_outside_a_transaction_that_changed_rows_and_completed_is_taken_as_done() {
        assert_eq!(outside_transaction("  insert into t (k) values ('a')"), Some(Outside::Evident));
        let (c, result) = cut_as_it_returns("", "INSERT INTO t (k) VALUES ('a')");
        assert!(is_cut(&result));
        assert_eq!((rows(&c), c.is_autocommit()), (1, true), "committed all the same");
        assert_eq!(c.changes(), 1, "the sign it completed");
        assert_eq!(settle(&c, false, false, false, c.changes() > 0).unwrap(), Settled::Completed);
        // Really cut mid-way: rolled back, and its change count is 0.
        let c = database("");
        count_calls(&c, 3);
        let result = c.execute("INSERT INTO t (k) VALUES ('a'), ('b'), ('c'), ('d')", []);
        assert!(is_cut(&result), "{result:?}");
        assert_eq!((rows(&c), c.changes()), (0, 0));
        assert_eq!(settle(&c, false, false, false, c.changes() > 0).unwrap(), Settled::RunAgain { transaction_lost: false });
        // One that changed nothing left nothing: running it again is harmless.
        assert_eq!(settle(&c, false, false, false, false).unwrap(), Settled::RunAgain { transaction_lost: false });
    }

    #[test]
    fn a_returning_write_outside_a_transaction_that_completed_is_undone_by_the_hosts_savepoint() {
        assert_eq!(outside_transaction("UPDATE t SET k = 'b' ReTuRnInG id"), Some(Outside::Guarded));
        let (c, result) = cut_as_it_returns(&format!("SAVEPOINT {SAVEPOINT}"), "INSERT INTO t (k) VALUES ('a')");
        assert!(is_cut(&result));
        end_guarded(&c, true).unwrap();
        assert_eq!(settle(&c, false, false, true, true).unwrap(), Settled::RunAgain { transaction_lost: false });
        assert_eq!((rows(&c), c.is_autocommit()), (0, true), "undone, nothing committed");
        // Run again: once, and kept.
        begin_guarded(&c).unwrap();
        c.execute("INSERT INTO t (k) VALUES ('a')", []).unwrap();
        end_guarded(&c, false).unwrap();
        assert_eq!((rows(&c), c.is_autocommit()), (1, true));
    }

    #[test]
    fn a_commit_reported_cut_after_committing_is_taken_as_done() {
        let (c, result) = cut_as_it_returns("BEGIN; INSERT INTO t (k) VALUES ('a')", "COMMIT");
        assert!(is_cut(&result), "{result:?}");
        assert_eq!((rows(&c), c.is_autocommit()), (1, true), "committed all the same");
        assert_eq!(settle(&c, true, true, false, false).unwrap(), Settled::Completed);
    }

    #[test]
    fn a_begin_immediate_that_opened_its_transaction_is_taken_as_done() {
        for begin in ["BEGIN IMMEDIATE", "begin exclusive transaction", "SAVEPOINT s"] {
            assert_eq!(outside_transaction(begin), Some(Outside::Evident), "{begin}");
            let (c, result) = cut_as_it_returns("", begin);
            assert!(is_cut(&result), "{begin}: {result:?}");
            assert!(!c.is_autocommit(), "{begin}: the transaction is open all the same");
            // SQLite does not call these read-only.
            assert_eq!(settle(&c, false, false, false, false).unwrap(), Settled::Completed, "{begin}");
            // Cut before it took effect: nothing is open, so it runs again.
            let c = database("");
            assert_eq!(settle(&c, false, false, false, false).unwrap(), Settled::RunAgain { transaction_lost: false }, "{begin}");
        }
    }

    #[test]
    fn a_read_cut_is_run_again_and_what_cannot_be_told_apart_is_never_cut() {
        let c = database("BEGIN");
        assert_eq!(settle(&c, true, true, false, false).unwrap(), Settled::RunAgain { transaction_lost: false });
        for statement in ["VACUUM", "PRAGMA journal_mode = DELETE", "CREATE TABLE u (x)"] {
            assert_eq!(outside_transaction(statement), None, "{statement}");
        }
    }

    #[test]
    fn a_savepoint_release_that_is_cut_rolls_the_write_back_and_leaves_no_transaction_open() {
        let c = database("");
        begin_guarded(&c).unwrap();
        c.execute("INSERT INTO t (k) VALUES ('a')", []).unwrap();
        // The deadline's interrupt lands on the RELEASE.
        count_calls(&c, 1);
        let closed = end_guarded(&c, false);
        c.progress_handler(0, None::<fn() -> bool>);
        assert!(is_cut(&closed), "{closed:?}");
        assert_eq!((rows(&c), c.is_autocommit()), (0, true), "nothing kept, nothing left open");
        // The host's statements, kept prepared, still open and close.
        begin_guarded(&c).unwrap();
        c.execute("INSERT INTO t (k) VALUES ('b')", []).unwrap();
        end_guarded(&c, false).unwrap();
        assert_eq!((rows(&c), c.is_autocommit()), (1, true));
    }
}
