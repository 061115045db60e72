//! The events shipping consumes: `order.placed` creates the order's
//! shipment, `order.cancelled` stops it if it has not left. Each event is
//! applied once: its id goes into the inbox in the same transaction.

use serde::Deserialize;
pub use shop_common::events::Outcome;
use shop_common::events::{Event, first_delivery};
use shop_common::{ApiError, Db, transaction};

use crate::store;

#[derive(Deserialize)]
struct Placed {
    order_id: String,
    user_id: String,
}

#[derive(Deserialize)]
struct Cancelled {
    order_id: String,
}

fn data<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, ApiError> {
    serde_json::from_value(event.data.clone()).map_err(|e| ApiError::invalid_field("data", format!("{} event {}: bad data: {e}", event.kind, event.id)))
}

/// Applies `event`. `Applied` for an `order.cancelled` may have recorded a
/// `shipment.updated` in the outbox: relay after it.
pub async fn consume<D: Db>(db: &D, event: &Event, now: i64) -> Result<Outcome, ApiError> {
    match event.kind.as_str() {
        "order.placed" => {
            let placed: Placed = data(event)?;
            transaction(db, async |db| {
                if !first_delivery(db, event, now).await? {
                    return Ok(Outcome::Duplicate);
                }
                store::create_for_order(db, &placed.order_id, &placed.user_id, now).await?;
                Ok(Outcome::Applied)
            })
            .await
        }
        "order.cancelled" => {
            let cancelled: Cancelled = data(event)?;
            transaction(db, async |db| {
                if !first_delivery(db, event, now).await? {
                    return Ok(Outcome::Duplicate);
                }
                store::cancel_for_order(db, &cancelled.order_id, now).await?;
                Ok(Outcome::Applied)
            })
            .await
        }
        _ => Ok(Outcome::Ignored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use serde_json::json;
    use shop_common::db::memory::MemoryDb;
    use shop_common::db::migrate;

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, store::MIGRATIONS)).unwrap();
        db
    }

    fn placed(order_id: &str) -> Event {
        Event::new("order.placed", json!({ "order_id": order_id, "user_id": "u1", "items": [], "total": { "amount": 100, "currency": "EUR" } }))
    }

    #[test]
    fn a_redelivered_order_placed_creates_one_shipment() {
        let db = db();
        block_on(async {
            let event = placed("o1");
            assert_eq!(consume(&db, &event, 1).await.unwrap(), Outcome::Applied);
            assert_eq!(consume(&db, &event, 2).await.unwrap(), Outcome::Duplicate);
            // Another event for the same order (a producer that re-sent under a new id).
            assert_eq!(consume(&db, &placed("o1"), 3).await.unwrap(), Outcome::Applied);
            let count = db.query_one("SELECT count(*) FROM shipments", &[]).await.unwrap().unwrap().int(0).unwrap();
            assert_eq!(count, 1);
        });
    }

    #[test]
    fn a_cancellation_is_applied_once() {
        let db = db();
        block_on(async {
            consume(&db, &placed("o1"), 1).await.unwrap();
            let cancel = Event::new("order.cancelled", json!({ "order_id": "o1", "user_id": "u1", "refunded": true }));
            assert_eq!(consume(&db, &cancel, 2).await.unwrap(), Outcome::Applied);
            assert_eq!(consume(&db, &cancel, 3).await.unwrap(), Outcome::Duplicate);
            assert_eq!(store::find_by_order(&db, "o1").await.unwrap().unwrap().status, "cancelled");
            assert_eq!(shop_common::events::pending(&db).await.unwrap(), 2);
        });
    }

    #[test]
    fn other_types_are_ignored_and_bad_data_is_a_400() {
        let db = db();
        block_on(async {
            assert_eq!(consume(&db, &Event::new("shipment.updated", json!({})), 1).await.unwrap(), Outcome::Ignored);
            let err = consume(&db, &Event::new("order.placed", json!({ "order_id": 7 })), 1).await.unwrap_err();
            assert_eq!(err.status, 400);
            let seen = db.query_one("SELECT count(*) FROM inbox", &[]).await.unwrap().unwrap().int(0).unwrap();
            assert_eq!(seen, 0, "a refused event is not marked seen");
        });
    }
}
