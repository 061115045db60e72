//! The events orders produces (`order.placed`, `order.cancelled`, for
//! shipping and notifications) and the one it consumes (`shipment.updated`);
//! the outbox also carries the compensation commands (`commands`).

use serde::Serialize;
use serde_json::{Value as Json, json};
use shop_common::db::{Db, transaction};
use shop_common::events::{self, Event, RelayReport};
use shop_common::{ApiError, timestamp};

use crate::commands;
use crate::model::{Order, Status};
use crate::services::Services;
use crate::store::{self, Change};

pub const CONSUMERS: &[&str] = &["shipping", "notifications"];

/// Who is told an order was placed: the cart too for an order made from
/// it that recovery completed (or whose placement could not reach the
/// cart), so that the cart gives up what was ordered (`cart`'s `POST
/// /internal/cart/events`), told again until it has. (A placement
/// otherwise takes the lines itself, before the order is paid.)
pub fn placed_consumers(tell_cart: bool) -> &'static [&'static str] {
    if tell_cart { &["shipping", "notifications", "cart"] } else { CONSUMERS }
}

pub fn placed(order: &Order) -> Event {
    let items: Vec<Json> = order.items.iter().map(|i| json!({ "product_id": i.product_id, "sku": i.sku, "name": i.name, "quantity": i.quantity })).collect();
    Event::new(
        "order.placed",
        json!({
            "order_id": order.id,
            "user_id": order.user_id,
            "items": items,
            "total": order.quote.total,
            "shipping_address": order.shipping_address,
        }),
    )
}

pub fn cancelled(order: &Order, refunded: bool) -> Event {
    Event::new("order.cancelled", json!({ "order_id": order.id, "user_id": order.user_id, "refunded": refunded }))
}

/// Delivers one outbox row: a compensation command to the service that
/// carries it out (see `commands`), an event to its consumer's
/// `/internal/<consumer>/events`. `Err` to try again later.
pub async fn send<D: Db, S: Services>(db: &D, services: &S, consumer: &str, event: &Event) -> Result<(), String> {
    match commands::perform(db, services, event).await {
        Some(done) => done,
        None => services.deliver(consumer, event).await,
    }
}

/// Delivers the due outbox rows (at most `RELAY_BATCH`) and reports what is
/// still waiting: `POST /internal/orders/outbox/relay`.
pub async fn relay<D: Db, S: Services>(db: &D, services: &S, now: i64) -> Result<RelayReport, ApiError> {
    events::relay(db, now, async |consumer: &str, event: &Event| send(db, services, consumer, event).await).await
}

/// Delivers the due outbox rows, at the end of a request.
pub async fn deliver_due<D: Db, S: Services>(db: &D, services: &S) -> Result<events::Delivered, ApiError> {
    events::deliver_due(db, timestamp::now_unix(), async |consumer: &str, event: &Event| send(db, services, consumer, event).await).await
}

/// What consuming an event did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Consumed {
    /// applied | duplicate | ignored
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn ignored(reason: impl Into<String>) -> Consumed {
    Consumed { status: "ignored", reason: Some(reason.into()) }
}

/// Applies `shipment.updated` (in_transit → shipped, delivered → delivered,
/// forwards only) once per event id; other types are ignored. Never an
/// error for the event's content, so the producer does not retry in vain.
pub async fn consume<D: Db>(db: &D, event: &Event, now: i64) -> Result<Consumed, ApiError> {
    if event.kind != "shipment.updated" {
        return Ok(ignored(format!("orders does not consume {:?}", event.kind)));
    }
    transaction(db, async |db| {
        if !events::first_delivery(db, event, now).await? {
            return Ok(Consumed { status: "duplicate", reason: None });
        }
        let (Some(order_id), Some(shipment_status)) = (event.data["order_id"].as_str(), event.data["status"].as_str()) else {
            return Ok(ignored("data.order_id or data.status is missing"));
        };
        let Some(row) = db.query_one("SELECT status FROM orders WHERE id = ?", &[order_id.into()]).await? else {
            return Ok(ignored(format!("no order {order_id}")));
        };
        let current = Status::parse(&row.text(0)?)?;
        match current.after_shipment(shipment_status) {
            Some(next) => {
                store::update(db, order_id, current, Change { status: Some(next), ..Change::default() }, now).await?;
                Ok(Consumed { status: "applied", reason: None })
            }
            None => Ok(ignored(format!("a {} order does not become {shipment_status}", current.as_str()))),
        }
    })
    .await
}
