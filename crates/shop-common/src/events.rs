//! Events between services, delivered at least once and never lost.
//!
//! The producer writes each event into its own `outbox` table in the same
//! transaction as the change that caused it, one row per consumer. After the
//! change commits, it tries to deliver the due rows (`relay`); a row whose
//! delivery fails stays in the outbox and is tried again, with a growing
//! delay, by a later relay: on the producer's next requests and whenever
//! `POST /internal/<service>/outbox/relay` is called. So an event waits for a
//! consumer that is down and reaches it once it is back. A relay first takes
//! the rows it will try, in one statement, so requests relaying at the same
//! time never deliver the same row twice.
//!
//! A consumer records each event id in its `inbox` table in the same
//! transaction as the change the event causes, and skips ids it has seen,
//! so a redelivered event changes nothing twice.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::db::{Db, Value};
use crate::error::ApiError;

/// What travels: `{"id", "type", "occurred_at", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// UUIDv7; consumers deduplicate by it.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339 UTC.
    pub occurred_at: String,
    pub data: Json,
}

/// What a consumer did with one delivery of an event (its answer's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Seen before; nothing changed.
    Duplicate,
    /// A type (or content) the consumer does not handle.
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
        }
    }
}

impl Event {
    pub fn new(kind: &str, data: Json) -> Event {
        Event { id: crate::id::new_id(), kind: kind.to_owned(), occurred_at: crate::timestamp::to_rfc3339(crate::timestamp::now_unix()), data }
    }
}

/// The producer's table (one row per event and consumer) and the consumer's.
pub const OUTBOX_SCHEMA: &str = "CREATE TABLE outbox (
    event_id TEXT NOT NULL, consumer TEXT NOT NULL, payload TEXT NOT NULL,
    created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL, delivered_at INTEGER, last_error TEXT,
    PRIMARY KEY (event_id, consumer));
    CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at)";
pub const INBOX_SCHEMA: &str = "CREATE TABLE inbox (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, received_at INTEGER NOT NULL)";

/// At most this many rows are tried by one relay, so a backlog never makes
/// one request slow.
pub const RELAY_BATCH: u32 = 20;

/// Records `event` for each of `consumers`. Call it inside the transaction
/// of the change the event reports.
pub async fn record<D: Db>(db: &D, event: &Event, consumers: &[&str], now: i64) -> Result<(), ApiError> {
    let payload = serde_json::to_string(event).map_err(|e| ApiError::internal(e.to_string()))?;
    for consumer in consumers {
        db.exec(
            "INSERT OR IGNORE INTO outbox (event_id, consumer, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
            &[event.id.as_str().into(), (*consumer).into(), payload.as_str().into(), now.into(), now.into()],
        )
        .await?;
    }
    Ok(())
}

/// Seconds to wait after a failure when `attempts` were made before it:
/// 1, 2, 4, ... 256.
pub fn backoff_seconds(attempts: i64) -> i64 {
    (1i64 << attempts.clamp(0, 8)).min(300)
}

/// How long a relay holds the rows it took. Another relay leaves them alone
/// meanwhile, so concurrent requests never deliver the same row twice; if
/// the one that took them dies mid-way, they are due again after this.
pub const CLAIM_SECONDS: i64 = 60;

/// What one relay did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    pub delivered: u32,
    pub failed: u32,
    /// Rows still waiting after this relay.
    pub pending: u64,
}

/// What [`deliver_due`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: u32,
    pub failed: u32,
}

/// A row taken for delivery: event id, consumer, payload, attempts so far.
type Claimed = (String, String, String, i64);

/// Takes rows for delivery by moving their next attempt `claim_seconds`
/// ahead in one statement (`which` picks them), so a relay running at the
/// same time (another request's) finds them not due. Oldest first.
async fn claim<D: Db>(db: &D, which: &str, params: &[Value], now: i64, claim_seconds: i64) -> Result<Vec<Claimed>, ApiError> {
    let mut all = vec![Value::from(now.saturating_add(claim_seconds))];
    all.extend_from_slice(params);
    let rows = db
        .query(
            &format!("UPDATE outbox SET next_attempt_at = ? WHERE rowid IN ({which}) RETURNING event_id, consumer, payload, attempts, created_at, rowid"),
            &all,
        )
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        claimed.push(((row.int(4)?, row.int(5)?), (row.text(0)?, row.text(1)?, row.text(2)?, row.int(3)?)));
    }
    // RETURNING gives no order: deliver oldest first, in the order recorded.
    claimed.sort_by_key(|(order, _)| *order);
    Ok(claimed.into_iter().map(|(_, row)| row).collect())
}

/// Takes the due rows (at most `RELAY_BATCH`, oldest first).
async fn claim_due<D: Db>(db: &D, now: i64) -> Result<Vec<Claimed>, ApiError> {
    const DUE: &str = "SELECT rowid FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY created_at, rowid LIMIT ?";
    claim(db, DUE, &[now.into(), RELAY_BATCH.into()], now, CLAIM_SECONDS).await
}

/// Delivers the rows that are due, oldest first, each by exactly one relay
/// (see [`CLAIM_SECONDS`]). `deliver(consumer, event)` sends one; an `Err`
/// leaves the row for a later relay, after a back-off. The cheap form, for
/// the end of a request: one statement when nothing is due.
pub async fn deliver_due<D: Db>(db: &D, now: i64, deliver: impl AsyncFn(&str, &Event) -> Result<(), String>) -> Result<Delivered, ApiError> {
    let claimed = claim_due(db, now).await?;
    deliver_claimed(db, claimed, now, deliver).await
}

/// Delivers the rows of the events `event_ids` now (those not delivered
/// and not taken by another relay), whatever else is due: for a change that
/// wants its own events out before it answers (a compensation, say). The
/// rows are held for `claim_seconds` instead of [`CLAIM_SECONDS`]: a short
/// hold lets the relay take over soon from a request that died, at the
/// price of a second delivery (which consumers ignore) when an attempt
/// outlasts it. What fails waits for a later relay, as in [`deliver_due`].
pub async fn deliver_events<D: Db>(
    db: &D,
    event_ids: &[String],
    now: i64,
    claim_seconds: i64,
    deliver: impl AsyncFn(&str, &Event) -> Result<(), String>,
) -> Result<Delivered, ApiError> {
    if event_ids.is_empty() {
        return Ok(Delivered::default());
    }
    let marks = vec!["?"; event_ids.len()].join(", ");
    let which = format!("SELECT rowid FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? AND event_id IN ({marks})");
    let mut params = vec![Value::from(now)];
    params.extend(event_ids.iter().map(Value::from));
    let claimed = claim(db, &which, &params, now, claim_seconds).await?;
    deliver_claimed(db, claimed, now, deliver).await
}

async fn deliver_claimed<D: Db>(
    db: &D,
    claimed: Vec<Claimed>,
    now: i64,
    deliver: impl AsyncFn(&str, &Event) -> Result<(), String>,
) -> Result<Delivered, ApiError> {
    let mut done = Delivered::default();
    for (event_id, consumer, payload, attempts) in claimed {
        let key = [Value::from(&event_id), Value::from(&consumer)];
        let outcome = match serde_json::from_str::<Event>(&payload) {
            Ok(event) => deliver(&consumer, &event).await,
            Err(e) => Err(format!("outbox row {event_id} is not an event: {e}")),
        };
        match outcome {
            Ok(()) => {
                db.exec(
                    "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE event_id = ? AND consumer = ?",
                    &[now.into(), key[0].clone(), key[1].clone()],
                )
                .await?;
                done.delivered += 1;
            }
            Err(why) => {
                let next = now + backoff_seconds(attempts);
                db.exec(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE event_id = ? AND consumer = ?",
                    &[next.into(), why.into(), key[0].clone(), key[1].clone()],
                )
                .await?;
                done.failed += 1;
            }
        }
    }
    Ok(done)
}

/// [`deliver_due`], then counts what is still waiting: the report of
/// `POST /internal/<service>/outbox/relay`.
pub async fn relay<D: Db>(db: &D, now: i64, deliver: impl AsyncFn(&str, &Event) -> Result<(), String>) -> Result<RelayReport, ApiError> {
    let done = deliver_due(db, now, deliver).await?;
    Ok(RelayReport { delivered: done.delivered, failed: done.failed, pending: pending(db).await? })
}

/// Rows not yet delivered.
pub async fn pending<D: Db>(db: &D) -> Result<u64, ApiError> {
    let row = db.query_one("SELECT count(*) FROM outbox WHERE delivered_at IS NULL", &[]).await?;
    Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0) as u64)
}

/// `true` the first time `event` is seen; records it. Call it inside the
/// transaction of the change the event causes.
pub async fn first_delivery<D: Db>(db: &D, event: &Event, now: i64) -> Result<bool, ApiError> {
    let inserted = db
        .exec("INSERT OR IGNORE INTO inbox (event_id, kind, received_at) VALUES (?, ?, ?)", &[event.id.as_str().into(), event.kind.as_str().into(), now.into()])
        .await?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::db::memory::MemoryDb;
    use crate::db::{migrate, transaction};
    use futures::executor::block_on;
    use serde_json::json;

    fn producer() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, &[OUTBOX_SCHEMA])).unwrap();
        db
    }

    #[test]
    fn an_event_waits_for_a_consumer_that_is_down() {
        let db = producer();
        block_on(async {
            let event = Event::new("order.placed", json!({ "order_id": "o-1" }));
            transaction(&db, async |db| record(db, &event, &["shipping", "notifications"], 100).await).await.unwrap();

            let shipping_up = Cell::new(false);
            let received = RefCell::new(Vec::new());
            let deliver = async |consumer: &str, e: &Event| {
                if consumer == "shipping" && !shipping_up.get() {
                    return Err("connection refused".to_owned());
                }
                received.borrow_mut().push((consumer.to_owned(), e.id.clone()));
                Ok(())
            };
            let first = relay(&db, 100, &deliver).await.unwrap();
            assert_eq!((first.delivered, first.failed, first.pending), (1, 1, 1));
            // Not due again until the back-off has passed.
            assert_eq!(relay(&db, 100, &deliver).await.unwrap().failed, 0);
            shipping_up.set(true);
            let later = relay(&db, 100 + backoff_seconds(0), &deliver).await.unwrap();
            assert_eq!((later.delivered, later.pending), (1, 0));
            assert_eq!(received.borrow().len(), 2, "each consumer got it once: {:?}", received.borrow());
            assert_eq!(relay(&db, 10_000, &deliver).await.unwrap(), RelayReport::default());
        });
    }

    #[test]
    fn a_row_taken_by_one_relay_is_not_delivered_by_another_meanwhile() {
        let db = producer();
        block_on(async {
            for n in 0..3 {
                let event = Event::new("order.placed", json!({ "n": n }));
                transaction(&db, async |db| record(db, &event, &["shipping"], 100 + n).await).await.unwrap();
            }
            let others = RefCell::new(Vec::new());
            let received = RefCell::new(Vec::new());
            let other_relay = async |_: &str, e: &Event| {
                others.borrow_mut().push(e.data["n"].clone());
                Ok(())
            };
            // While the first relay delivers its first row, a second relay
            // (another request's) runs: the first one's rows are not due for it.
            let first_relay = async |_: &str, e: &Event| {
                if received.borrow().is_empty() {
                    let second = deliver_due(&db, 103, &other_relay).await.unwrap();
                    assert_eq!(second, Delivered::default());
                }
                received.borrow_mut().push(e.data["n"].clone());
                Ok(())
            };
            let done = deliver_due(&db, 103, &first_relay).await.unwrap();
            assert_eq!(done, Delivered { delivered: 3, failed: 0 });
            assert_eq!(*received.borrow(), vec![json!(0), json!(1), json!(2)], "oldest first");
            assert!(others.borrow().is_empty());
            assert_eq!(pending(&db).await.unwrap(), 0);
        });
    }

    #[test]
    fn a_change_delivers_its_own_events_first_and_leaves_the_rest_due() {
        let db = producer();
        block_on(async {
            let backlog = Event::new("order.placed", json!({ "n": "old" }));
            transaction(&db, async |db| record(db, &backlog, &["shipping"], 100).await).await.unwrap();
            let mine = Event::new("stock.release", json!({ "order_id": "o-1" }));
            transaction(&db, async |db| record(db, &mine, &["catalog"], 101).await).await.unwrap();
            let received = RefCell::new(Vec::new());
            let deliver = async |consumer: &str, e: &Event| {
                received.borrow_mut().push((consumer.to_owned(), e.id.clone()));
                Ok(())
            };
            let done = deliver_events(&db, std::slice::from_ref(&mine.id), 101, 5, &deliver).await.unwrap();
            assert_eq!(done, Delivered { delivered: 1, failed: 0 });
            assert_eq!(*received.borrow(), vec![("catalog".to_owned(), mine.id.clone())]);
            assert_eq!(pending(&db).await.unwrap(), 1, "the backlog is left for the relay");
            // Delivered rows are not delivered again.
            assert_eq!(deliver_events(&db, std::slice::from_ref(&mine.id), 102, 5, &deliver).await.unwrap(), Delivered::default());
            assert_eq!(deliver_events(&db, &[], 102, 5, &deliver).await.unwrap(), Delivered::default());
            // Rows held by a request that died are the relay's again after the short hold.
            let other = Event::new("stock.release", json!({ "order_id": "o-2" }));
            transaction(&db, async |db| record(db, &other, &["catalog"], 103).await).await.unwrap();
            assert_eq!(claim(&db, "SELECT rowid FROM outbox WHERE event_id = ?", &[other.id.as_str().into()], 103, 5).await.unwrap().len(), 1);
            assert_eq!(deliver_due(&db, 107, &deliver).await.unwrap().delivered, 1, "the backlog, not the held row");
            assert_eq!(deliver_due(&db, 108, &deliver).await.unwrap().delivered, 1, "the held row, once its hold is over");
            assert_eq!(pending(&db).await.unwrap(), 0);
        });
    }

    #[test]
    fn rows_taken_by_a_relay_that_died_are_due_again_after_the_claim() {
        let db = producer();
        block_on(async {
            let event = Event::new("order.placed", json!({}));
            transaction(&db, async |db| record(db, &event, &["shipping", "notifications"], 100).await).await.unwrap();
            // A relay takes the rows and never reports back.
            assert_eq!(claim_due(&db, 100).await.unwrap().len(), 2);
            let deliver = async |_: &str, _: &Event| Ok(());
            assert_eq!(relay(&db, 100 + CLAIM_SECONDS - 1, &deliver).await.unwrap(), RelayReport { delivered: 0, failed: 0, pending: 2 });
            assert_eq!(relay(&db, 100 + CLAIM_SECONDS, &deliver).await.unwrap(), RelayReport { delivered: 2, failed: 0, pending: 0 });
        });
    }

    #[test]
    fn a_row_that_is_not_an_event_waits_without_stopping_the_others() {
        let db = producer();
        block_on(async {
            db.exec("INSERT INTO outbox (event_id, consumer, payload, created_at, next_attempt_at) VALUES ('bad', 'shipping', 'not json', 1, 1)", &[])
                .await
                .unwrap();
            let event = Event::new("order.placed", json!({}));
            transaction(&db, async |db| record(db, &event, &["shipping"], 2).await).await.unwrap();
            let deliver = async |_: &str, _: &Event| Ok(());
            assert_eq!(relay(&db, 10, &deliver).await.unwrap(), RelayReport { delivered: 1, failed: 1, pending: 1 });
            let row = db.query_one("SELECT last_error FROM outbox WHERE event_id = 'bad'", &[]).await.unwrap().unwrap();
            assert!(row.text(0).unwrap().contains("outbox row bad is not an event"), "{:?}", row.text(0));
        });
    }

    #[test]
    fn events_roll_back_with_their_change() {
        let db = producer();
        block_on(async {
            let event = Event::new("order.placed", json!({}));
            let result: Result<(), ApiError> = transaction(&db, async |db| {
                record(db, &event, &["shipping"], 1).await?;
                Err(ApiError::conflict("out_of_stock", "no"))
            })
            .await;
            assert!(result.is_err());
            assert_eq!(pending(&db).await.unwrap(), 0);
        });
    }

    #[test]
    fn consumers_see_each_event_once() {
        block_on(async {
            let db = MemoryDb::new();
            migrate(&db, &[INBOX_SCHEMA]).await.unwrap();
            let event = Event::new("shipment.updated", json!({}));
            assert!(first_delivery(&db, &event, 1).await.unwrap());
            assert!(!first_delivery(&db, &event, 2).await.unwrap());
        });
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!((backoff_seconds(0), backoff_seconds(1), backoff_seconds(3)), (1, 2, 8));
        assert!(backoff_seconds(50) <= 300);
    }

    #[test]
    fn events_serialise_with_a_type_field() {
        let e = Event::new("order.cancelled", json!({ "order_id": "o" }));
        let v: Json = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "order.cancelled");
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);
    }
}
