//! Events between services, delivered at least once and never lost.
//!
//! The producer writes each event into its own `outbox` table in the same
//! transaction as the change that caused it, one row per consumer. After the
//! change commits, it tries to deliver the due rows (`relay`); a row whose
//! delivery fails stays in the outbox and is tried again, with a growing
//! delay, by a later relay: on the producer's next requests and whenever
//! `POST /internal/<service>/outbox/relay` is called. So an event waits for a
//! consumer that is down and reaches it once it is back.
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

/// What one relay did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    pub delivered: u32,
    pub failed: u32,
    /// Rows still waiting after this relay.
    pub pending: u64,
}

/// Tries to deliver the rows that are due, oldest first. `deliver(consumer,
/// event)` sends one; an `Err` leaves the row for a later relay.
pub async fn relay<D: Db>(db: &D, now: i64, deliver: impl AsyncFn(&str, &Event) -> Result<(), String>) -> Result<RelayReport, ApiError> {
    let due = db
        .query(
            "SELECT event_id, consumer, payload, attempts FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY created_at, event_id LIMIT ?",
            &[now.into(), RELAY_BATCH.into()],
        )
        .await?;
    let mut report = RelayReport::default();
    for row in due {
        let (event_id, consumer, payload, attempts) = (row.text(0)?, row.text(1)?, row.text(2)?, row.int(3)?);
        let event: Event = serde_json::from_str(&payload).map_err(|e| ApiError::internal(format!("outbox row {event_id}: {e}")))?;
        let key = [Value::from(&event_id), Value::from(&consumer)];
        match deliver(&consumer, &event).await {
            Ok(()) => {
                db.exec("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE event_id = ? AND consumer = ?", &[now.into(), key[0].clone(), key[1].clone()])
                    .await?;
                report.delivered += 1;
            }
            Err(why) => {
                let next = now + backoff_seconds(attempts);
                db.exec(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE event_id = ? AND consumer = ?",
                    &[next.into(), why.into(), key[0].clone(), key[1].clone()],
                )
                .await?;
                report.failed += 1;
            }
        }
    }
    report.pending = pending(db).await?;
    Ok(report)
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
