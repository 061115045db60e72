//! The statements of a guest's open transaction, kept so that the
//! transaction can be run again.
//!
//! Guest statements start on the calling thread with a short budget and
//! move to the blocking pool once past it (`SharedConnection::run_quick`).
//! A read that is cut can simply run again; a write cut inside an explicit
//! transaction is different: SQLite rolls the whole transaction back. So
//! each statement of an open transaction is written here with a digest of
//! what the guest was answered, and when a write is cut the transaction is
//! run again from here on the pool, before the cut statement. Each
//! statement run again must give the answer the guest already saw; if one
//! does not (another process wrote to the file meanwhile, or the guest read
//! a value such as `random()`), the transaction is rolled back and the guest
//! is told, as a database tells a transaction it had to abort.
//!
//! A transaction larger than the journal's bounds is not kept: its writes
//! start on the blocking pool, where nothing needs to be run again.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use super::bindings::spin::sqlite::sqlite::{QueryResult, Value};

/// The most statements, and bytes of statements and parameters, one
/// transaction's journal holds.
const MAX_ENTRIES: usize = 1024;
const MAX_BYTES: usize = 1 << 20;

/// What the guest saw of one statement: its result (or error message) and,
/// if it changed rows, the connection's counters right after it (the last
/// inserted rowid and the rows changed). A statement that changed nothing
/// leaves the counters as an earlier statement set them, perhaps another
/// guest's or the cut one's, so they are not part of its answer.
pub struct Answer<'a> {
    pub result: &'a Result<QueryResult, String>,
    pub counters: Option<(i64, u64)>,
}

impl Answer<'_> {
    fn digest(&self) -> u64 {
        // foldhash's quality hasher: a digest per statement of every open
        // transaction, so it must be cheap (SipHash was the journal's
        // largest cost); a fixed seed, so every digest compares.
        let mut h = foldhash::quality::FixedState::with_seed(0).build_hasher();
        match self.result {
            Ok(result) => {
                0u8.hash(&mut h);
                result.columns.hash(&mut h);
                result.rows.len().hash(&mut h);
                for row in &result.rows {
                    row.values.len().hash(&mut h);
                    row.values.iter().for_each(|v| hash_value(v, &mut h));
                }
            }
            Err(message) => {
                1u8.hash(&mut h);
                message.hash(&mut h);
            }
        }
        self.counters.hash(&mut h);
        h.finish()
    }
}

fn hash_value(value: &Value, h: &mut impl Hasher) {
    match value {
        Value::Integer(i) => (0u8, i).hash(h),
        Value::Real(r) => (1u8, r.to_bits()).hash(h),
        Value::Text(t) => (2u8, t).hash(h),
        Value::Blob(b) => (3u8, b).hash(h),
        Value::Null => 4u8.hash(h),
    }
}

/// The statement and parameters as the guest sent them, shared with the
/// call that ran them rather than copied.
struct Entry {
    statement: Arc<String>,
    parameters: Arc<Vec<Value>>,
    digest: u64,
}

/// One guest connection's open transaction.
#[derive(Default)]
pub struct Journal {
    entries: Vec<Entry>,
    bytes: usize,
    /// The transaction outgrew the bounds: it cannot be run again.
    overflowed: bool,
    /// A cut statement rolled the transaction back: it must be run again
    /// before the next statement.
    rolled_back: bool,
}

/// Why a transaction could not be run again.
#[derive(Debug, PartialEq)]
pub struct Diverged {
    /// The position of the first statement whose answer differed (0-based).
    pub statement: usize,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the transaction was rolled back: it had to be run again (a statement ran past the host's inline budget), and statement {} of it \
             no longer gave the same result (the database changed meanwhile, or the statement reads a value that changes); run the transaction again",
            self.statement + 1
        )
    }
}

impl Journal {
    /// Whether a write in this transaction may start where it can be cut.
    pub fn replayable(&self) -> bool {
        !self.overflowed
    }

    /// Whether the transaction must be run again before the next statement.
    pub fn rolled_back(&self) -> bool {
        self.rolled_back
    }

    /// Records what a statement that completed left: written down while a
    /// transaction stays open, forgotten once it is closed.
    pub fn completed(&mut self, statement: &Arc<String>, parameters: &Arc<Vec<Value>>, answer: Answer<'_>, in_transaction: bool) {
        if !in_transaction {
            *self = Journal::default();
            return;
        }
        if self.overflowed {
            return;
        }
        self.bytes += statement.len() + parameters.iter().map(value_bytes).sum::<usize>();
        if self.entries.len() >= MAX_ENTRIES || self.bytes > MAX_BYTES {
            self.overflowed = true;
            self.entries = Vec::new();
            return;
        }
        self.entries.push(Entry { statement: statement.clone(), parameters: parameters.clone(), digest: answer.digest() });
    }

    /// Notes that a statement was cut; `transaction_lost`: SQLite rolled
    /// back the transaction that was open before it.
    pub fn cut(&mut self, transaction_lost: bool) {
        if transaction_lost {
            self.rolled_back = true;
        }
    }

    /// Runs the transaction again with `run` (which answers as the guest was
    /// answered), checking each answer against the one written down. On
    /// divergence the journal is emptied; the caller rolls back.
    pub fn replay(&mut self, mut run: impl FnMut(&str, &[Value]) -> (Result<QueryResult, String>, Option<(i64, u64)>)) -> Result<(), Diverged> {
        self.rolled_back = false;
        for (i, entry) in self.entries.iter().enumerate() {
            let (result, counters) = run(&entry.statement, &entry.parameters);
            if (Answer { result: &result, counters }).digest() != entry.digest {
                *self = Journal::default();
                return Err(Diverged { statement: i });
            }
        }
        Ok(())
    }
}

fn value_bytes(value: &Value) -> usize {
    match value {
        Value::Text(t) => t.len(),
        Value::Blob(b) => b.len(),
        Value::Integer(_) | Value::Real(_) | Value::Null => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement and its parameters, as `completed` takes them.
    fn sent(statement: &str, parameters: &[Value]) -> (Arc<String>, Arc<Vec<Value>>) {
        (Arc::new(statement.to_string()), Arc::new(parameters.to_vec()))
    }

    fn answer(rows: i64) -> Result<QueryResult, String> {
        Ok(QueryResult {
            columns: vec!["n".into()],
            rows: (0..rows).map(|i| super::super::bindings::spin::sqlite::sqlite::RowResult { values: vec![Value::Integer(i)] }).collect(),
        })
    }

    #[test]
    fn a_transaction_replays_while_every_answer_matches() {
        let mut journal = Journal::default();
        for n in 1..=3 {
            let (st, ps) = sent("SELECT ?", &[Value::Integer(n)]);
            journal.completed(&st, &ps, Answer { result: &answer(n), counters: Some((n, 1)) }, true);
        }
        journal.cut(true);
        assert!(journal.rolled_back());
        let mut seen = Vec::new();
        let replayed = journal.replay(|_, params| {
            let Value::Integer(n) = params[0] else { unreachable!() };
            seen.push(n);
            (answer(n), Some((n, 1)))
        });
        assert_eq!(replayed, Ok(()));
        assert_eq!(seen, [1, 2, 3]);
        assert!(!journal.rolled_back());
    }

    #[test]
    fn a_different_answer_stops_the_replay_and_names_the_statement() {
        let mut journal = Journal::default();
        let (st, ps) = sent("BEGIN", &[]);
        journal.completed(&st, &ps, Answer { result: &answer(0), counters: None }, true);
        let (st, ps) = sent("SELECT n FROM t", &[]);
        journal.completed(&st, &ps, Answer { result: &answer(2), counters: None }, true);
        let replayed = journal.replay(|statement, _| if statement == "BEGIN" { (answer(0), None) } else { (answer(3), None) });
        assert_eq!(replayed, Err(Diverged { statement: 1 }));
        assert!(replayed.unwrap_err().to_string().contains("statement 2"));
        // Emptied: nothing is left to replay.
        assert_eq!(journal.replay(|_, _| unreachable!()), Ok(()));
    }

    #[test]
    fn the_journal_is_forgotten_when_the_transaction_closes_and_stops_past_its_bounds() {
        let mut journal = Journal::default();
        let (st, ps) = sent("BEGIN", &[]);
        journal.completed(&st, &ps, Answer { result: &answer(0), counters: None }, true);
        let (st, ps) = sent("COMMIT", &[]);
        journal.completed(&st, &ps, Answer { result: &answer(0), counters: None }, false);
        assert_eq!(journal.replay(|_, _| unreachable!()), Ok(()));

        let big = Value::Blob(vec![0; MAX_BYTES / 2]);
        for _ in 0..3 {
            let (st, ps) = sent("INSERT INTO t VALUES (?)", std::slice::from_ref(&big));
            journal.completed(&st, &ps, Answer { result: &answer(0), counters: Some((1, 1)) }, true);
        }
        assert!(!journal.replayable(), "a transaction past the bounds is not kept");
        let (st, ps) = sent("COMMIT", &[]);
        journal.completed(&st, &ps, Answer { result: &answer(0), counters: None }, false);
        assert!(journal.replayable(), "the next transaction is kept again");
    }
}
