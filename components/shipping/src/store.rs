//! The shipping database: shipments, their tracking events, and the outbox
//! and inbox of the events it exchanges with other services.

use shop_common::events::{self, Event};
use shop_common::timestamp::to_rfc3339;
use shop_common::{ApiError, Db, Page, PageRequest, Row, Value};

use crate::shipment::{Shipment, ShipmentEvent, Status, tracking_number};

pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE shipments (
        id TEXT PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, status TEXT NOT NULL,
        tracking_number TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
     CREATE INDEX shipments_by_user ON shipments (user_id, id);
     CREATE TABLE shipment_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, shipment_id TEXT NOT NULL REFERENCES shipments (id),
        status TEXT NOT NULL, note TEXT, at INTEGER NOT NULL);
     CREATE INDEX shipment_events_by_shipment ON shipment_events (shipment_id, seq);
     -- Orders cancelled before their order.placed arrived: no shipment for them.
     CREATE TABLE cancelled_orders (order_id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    events::OUTBOX_SCHEMA,
    events::INBOX_SCHEMA,
];

/// Who reads `shipment.updated`.
pub const SHIPMENT_UPDATED_CONSUMERS: &[&str] = &["orders", "notifications"];

const COLUMNS: &str = "id, order_id, user_id, status, tracking_number, created_at, updated_at";

async fn events_of<D: Db>(db: &D, shipment_id: &str) -> Result<Vec<ShipmentEvent>, ApiError> {
    let rows = db.query("SELECT status, note, at FROM shipment_events WHERE shipment_id = ? ORDER BY seq", &[shipment_id.into()]).await?;
    rows.iter().map(|r| Ok(ShipmentEvent { status: r.text(0)?, note: r.opt_text(1)?, at: to_rfc3339(r.int(2)?) })).collect()
}

async fn from_row<D: Db>(db: &D, row: &Row) -> Result<Shipment, ApiError> {
    let id = row.text(0)?;
    Ok(Shipment {
        events: events_of(db, &id).await?,
        order_id: row.text(1)?,
        user_id: row.text(2)?,
        status: row.text(3)?,
        tracking_number: row.text(4)?,
        created_at: to_rfc3339(row.int(5)?),
        updated_at: to_rfc3339(row.int(6)?),
        id,
    })
}

pub async fn find<D: Db>(db: &D, id: &str) -> Result<Option<Shipment>, ApiError> {
    match db.query_one(&format!("SELECT {COLUMNS} FROM shipments WHERE id = ?"), &[id.into()]).await? {
        Some(row) => Ok(Some(from_row(db, &row).await?)),
        None => Ok(None),
    }
}

pub async fn find_by_order<D: Db>(db: &D, order_id: &str) -> Result<Option<Shipment>, ApiError> {
    match db.query_one(&format!("SELECT {COLUMNS} FROM shipments WHERE order_id = ?"), &[order_id.into()]).await? {
        Some(row) => Ok(Some(from_row(db, &row).await?)),
        None => Ok(None),
    }
}

/// The user's shipments, newest first, optionally of one order.
pub async fn list_for_user<D: Db>(db: &D, user_id: &str, order_id: Option<&str>, page: PageRequest) -> Result<Page<Shipment>, ApiError> {
    list(db, Some(user_id), order_id, page).await
}

/// Every user's shipments, newest first (for admins: the shipments to move on).
pub async fn list_all<D: Db>(db: &D, order_id: Option<&str>, page: PageRequest) -> Result<Page<Shipment>, ApiError> {
    list(db, None, order_id, page).await
}

async fn list<D: Db>(db: &D, user_id: Option<&str>, order_id: Option<&str>, page: PageRequest) -> Result<Page<Shipment>, ApiError> {
    let (filter, mut params) = match (user_id, order_id) {
        (Some(user_id), Some(order_id)) => ("user_id = ? AND order_id = ?", vec![Value::from(user_id), Value::from(order_id)]),
        (Some(user_id), None) => ("user_id = ?", vec![Value::from(user_id)]),
        (None, Some(order_id)) => ("order_id = ?", vec![Value::from(order_id)]),
        (None, None) => ("1 = 1", vec![]),
    };
    let total = db.query_one(&format!("SELECT count(*) FROM shipments WHERE {filter}"), &params).await?.map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let (limit, offset) = page.limit_offset();
    params.push(i64::from(limit).into());
    params.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
    let rows = db.query(&format!("SELECT {COLUMNS} FROM shipments WHERE {filter} ORDER BY id DESC LIMIT ? OFFSET ?"), &params).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(from_row(db, row).await?);
    }
    Ok(Page::new(items, page, total as u64))
}

async fn add_event<D: Db>(db: &D, shipment_id: &str, status: Status, note: Option<&str>, now: i64) -> Result<(), ApiError> {
    db.exec(
        "INSERT INTO shipment_events (shipment_id, status, note, at) VALUES (?, ?, ?, ?)",
        &[shipment_id.into(), status.as_str().into(), note.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Creates the order's shipment (label created) unless it has one or the
/// order was already cancelled. Returns the new shipment's id. Call inside
/// a transaction.
pub async fn create_for_order<D: Db>(db: &D, order_id: &str, user_id: &str, now: i64) -> Result<Option<String>, ApiError> {
    if db.query_one("SELECT 1 FROM cancelled_orders WHERE order_id = ?", &[order_id.into()]).await?.is_some() {
        return Ok(None);
    }
    // Checked, not `INSERT OR IGNORE`: that would also swallow a (very
    // unlikely) tracking number clash, which should fail and be retried.
    if db.query_one("SELECT 1 FROM shipments WHERE order_id = ?", &[order_id.into()]).await?.is_some() {
        return Ok(None);
    }
    let id = shop_common::id::new_id();
    db.exec(
        "INSERT INTO shipments (id, order_id, user_id, status, tracking_number, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &[id.as_str().into(), order_id.into(), user_id.into(), Status::LabelCreated.as_str().into(), tracking_number(&id).into(), now.into(), now.into()],
    )
    .await?;
    add_event(db, &id, Status::LabelCreated, Some("label created"), now).await?;
    Ok(Some(id))
}

/// Moves `shipment` to `status`, records the tracking event and the
/// `shipment.updated` event in the outbox. Call inside a transaction.
async fn set_status<D: Db>(db: &D, shipment: &Shipment, status: Status, note: Option<&str>, now: i64) -> Result<Shipment, ApiError> {
    db.exec("UPDATE shipments SET status = ?, updated_at = ? WHERE id = ?", &[status.as_str().into(), now.into(), shipment.id.as_str().into()]).await?;
    add_event(db, &shipment.id, status, note, now).await?;
    let updated = find(db, &shipment.id).await?.ok_or_else(|| ApiError::internal("a shipment vanished while it was updated"))?;
    events::record(db, &Event::new("shipment.updated", updated.event_data()), SHIPMENT_UPDATED_CONSUMERS, now).await?;
    Ok(updated)
}

/// An order was cancelled: its shipment is cancelled if the label is all
/// there is; a parcel already on its way is left alone. Returns the
/// cancelled shipment, if any. Call inside a transaction.
pub async fn cancel_for_order<D: Db>(db: &D, order_id: &str, now: i64) -> Result<Option<Shipment>, ApiError> {
    db.exec("INSERT OR IGNORE INTO cancelled_orders (order_id, at) VALUES (?, ?)", &[order_id.into(), now.into()]).await?;
    let Some(shipment) = find_by_order(db, order_id).await? else { return Ok(None) };
    match Status::parse(&shipment.status) {
        Some(s) if s.can_cancel() => Ok(Some(set_status(db, &shipment, Status::Cancelled, Some("order cancelled"), now).await?)),
        _ => Ok(None),
    }
}

/// An admin's tracking update. 404 for an unknown shipment, 409
/// `invalid_state` for a move that is not one step forward.
pub async fn advance<D: Db>(db: &D, id: &str, status: Status, note: Option<&str>, now: i64) -> Result<Shipment, ApiError> {
    shop_common::transaction(db, async |db| {
        let shipment = find(db, id).await?.ok_or_else(|| ApiError::not_found("shipment"))?;
        let current = Status::parse(&shipment.status).ok_or_else(|| ApiError::internal(format!("unknown stored status {:?}", shipment.status)))?;
        if !current.can_advance_to(status) {
            return Err(ApiError::conflict("invalid_state", format!("a shipment that is {} cannot become {}", current.as_str(), status.as_str()))
                .with_details(serde_json::json!({ "status": current.as_str(), "requested": status.as_str() })));
        }
        set_status(db, &shipment, status, note, now).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use shop_common::db::memory::MemoryDb;
    use shop_common::db::migrate;

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, MIGRATIONS)).unwrap();
        db
    }

    async fn outbox(db: &MemoryDb) -> Vec<(String, String)> {
        let rows = db.query("SELECT consumer, payload FROM outbox ORDER BY consumer", &[]).await.unwrap();
        rows.iter().map(|r| (r.text(0).unwrap(), r.text(1).unwrap())).collect()
    }

    #[test]
    fn a_shipment_per_order_only_once() {
        let db = db();
        block_on(async {
            let id = create_for_order(&db, "o1", "u1", 10).await.unwrap().unwrap();
            assert_eq!(create_for_order(&db, "o1", "u1", 11).await.unwrap(), None);
            let s = find(&db, &id).await.unwrap().unwrap();
            assert_eq!((s.status.as_str(), s.order_id.as_str(), s.events.len()), ("label_created", "o1", 1));
            assert_eq!(find_by_order(&db, "o1").await.unwrap().unwrap().id, id);
            assert!(outbox(&db).await.is_empty(), "creation announces nothing");
        });
    }

    #[test]
    fn tracking_moves_forward_and_is_recorded_with_its_events() {
        let db = db();
        block_on(async {
            let id = create_for_order(&db, "o1", "u1", 10).await.unwrap().unwrap();
            let err = advance(&db, &id, Status::Delivered, None, 11).await.unwrap_err();
            assert_eq!((err.status, err.code), (409, "invalid_state"));
            let s = advance(&db, &id, Status::InTransit, Some("picked up"), 12).await.unwrap();
            assert_eq!(s.status, "in_transit");
            assert_eq!(s.events.last().unwrap().note.as_deref(), Some("picked up"));
            let sent = outbox(&db).await;
            assert_eq!(sent.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["notifications", "orders"]);
            let event: Event = serde_json::from_str(&sent[0].1).unwrap();
            assert_eq!(
                (event.kind.as_str(), event.data["status"].as_str(), event.data["order_id"].as_str()),
                ("shipment.updated", Some("in_transit"), Some("o1"))
            );
            assert_eq!(event.data["tracking_number"], s.tracking_number.as_str());

            let s = advance(&db, &id, Status::Delivered, None, 13).await.unwrap();
            assert_eq!(s.events.iter().map(|e| e.status.as_str()).collect::<Vec<_>>(), ["label_created", "in_transit", "delivered"]);
            assert_eq!(advance(&db, &id, Status::InTransit, None, 14).await.unwrap_err().code, "invalid_state");
            assert_eq!(advance(&db, "nope", Status::InTransit, None, 14).await.unwrap_err().status, 404);
            assert_eq!(outbox(&db).await.len(), 4);
        });
    }

    #[test]
    fn cancelling_an_order_stops_only_a_parcel_that_has_not_left() {
        let db = db();
        block_on(async {
            let waiting = create_for_order(&db, "o1", "u1", 10).await.unwrap().unwrap();
            let gone = create_for_order(&db, "o2", "u1", 10).await.unwrap().unwrap();
            advance(&db, &gone, Status::InTransit, None, 11).await.unwrap();
            let before = outbox(&db).await.len();

            let cancelled = shop_common::transaction(&db, async |db| cancel_for_order(db, "o1", 12).await).await.unwrap().unwrap();
            assert_eq!((cancelled.id.as_str(), cancelled.status.as_str()), (waiting.as_str(), "cancelled"));
            assert_eq!(outbox(&db).await.len(), before + 2, "shipment.updated for orders and notifications");

            assert_eq!(shop_common::transaction(&db, async |db| cancel_for_order(db, "o2", 12).await).await.unwrap(), None);
            assert_eq!(find(&db, &gone).await.unwrap().unwrap().status, "in_transit");
            // A second cancellation of the same order changes nothing.
            assert_eq!(shop_common::transaction(&db, async |db| cancel_for_order(db, "o1", 13).await).await.unwrap(), None);
            assert_eq!(outbox(&db).await.len(), before + 2);
            assert_eq!(advance(&db, &waiting, Status::InTransit, None, 14).await.unwrap_err().code, "invalid_state");
        });
    }

    #[test]
    fn an_order_cancelled_before_it_was_seen_gets_no_shipment() {
        let db = db();
        block_on(async {
            assert_eq!(cancel_for_order(&db, "o1", 10).await.unwrap(), None);
            assert_eq!(create_for_order(&db, "o1", "u1", 11).await.unwrap(), None);
            assert!(find_by_order(&db, "o1").await.unwrap().is_none());
        });
    }

    #[test]
    fn users_list_their_own_shipments_newest_first() {
        let db = db();
        block_on(async {
            let first = create_for_order(&db, "o1", "u1", 10).await.unwrap().unwrap();
            let second = create_for_order(&db, "o2", "u1", 11).await.unwrap().unwrap();
            create_for_order(&db, "o3", "u2", 12).await.unwrap().unwrap();
            let page = list_for_user(&db, "u1", None, PageRequest::default()).await.unwrap();
            assert_eq!(page.total, 2);
            assert_eq!(page.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [second.as_str(), first.as_str()]);
            let page = list_for_user(&db, "u1", Some("o1"), PageRequest::default()).await.unwrap();
            assert_eq!((page.total, page.items[0].id.as_str()), (1, first.as_str()));
            assert_eq!(list_for_user(&db, "u2", Some("o1"), PageRequest::default()).await.unwrap().total, 0);
            let small = list_for_user(&db, "u1", None, PageRequest { page: 2, page_size: 1 }).await.unwrap();
            assert_eq!((small.items.len(), small.items[0].id.as_str(), small.total), (1, first.as_str(), 2));
        });
    }

    #[test]
    fn the_whole_list_has_every_users_shipments_newest_first() {
        let db = db();
        block_on(async {
            let first = create_for_order(&db, "o1", "u1", 10).await.unwrap().unwrap();
            let second = create_for_order(&db, "o2", "u2", 11).await.unwrap().unwrap();
            let page = list_all(&db, None, PageRequest::default()).await.unwrap();
            assert_eq!(page.total, 2);
            assert_eq!(page.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [second.as_str(), first.as_str()]);
            let page = list_all(&db, Some("o1"), PageRequest::default()).await.unwrap();
            assert_eq!((page.total, page.items[0].id.as_str()), (1, first.as_str()));
            assert_eq!(list_all(&db, Some("o9"), PageRequest::default()).await.unwrap().total, 0);
        });
    }
}
