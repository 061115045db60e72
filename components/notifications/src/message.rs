//! What a customer is told about each event: a subject line and a short
//! body, written from the event's data.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use shop_common::events::Event;
use shop_common::{ApiError, Money};

/// A notification before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub user_id: String,
    pub order_id: Option<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Deserialize)]
struct PlacedItem {
    name: String,
    quantity: u32,
}

#[derive(Deserialize)]
struct Placed {
    order_id: String,
    user_id: String,
    items: Vec<PlacedItem>,
    total: Money,
}

#[derive(Deserialize)]
struct Cancelled {
    order_id: String,
    user_id: String,
    #[serde(default)]
    refunded: bool,
}

#[derive(Deserialize)]
struct ShipmentUpdated {
    order_id: String,
    user_id: String,
    status: String,
    tracking_number: String,
}

fn data<T: DeserializeOwned>(event: &Event) -> Result<T, ApiError> {
    serde_json::from_value(event.data.clone()).map_err(|e| ApiError::invalid_field("data", format!("{} event {}: bad data: {e}", event.kind, event.id)))
}

fn items_phrase(count: u64) -> String {
    if count == 1 { "1 item".to_owned() } else { format!("{count} items") }
}

fn placed(p: Placed) -> Draft {
    let count: u64 = p.items.iter().map(|i| u64::from(i.quantity)).sum();
    let lines: Vec<String> = p.items.iter().map(|i| format!("{} x {}", i.quantity, i.name)).collect();
    Draft {
        subject: format!("Order {} placed: {}, {}", p.order_id, items_phrase(count), p.total),
        body: format!(
            "Thank you for your order. We have received order {} for {}: {}. We will let you know when it ships.",
            p.order_id,
            p.total,
            lines.join(", ")
        ),
        user_id: p.user_id,
        order_id: Some(p.order_id),
    }
}

fn cancelled(c: Cancelled) -> Draft {
    let refund = if c.refunded { " Your payment has been refunded." } else { "" };
    Draft {
        subject: format!("Order {} cancelled", c.order_id),
        body: format!("Your order {} has been cancelled.{refund}", c.order_id),
        user_id: c.user_id,
        order_id: Some(c.order_id),
    }
}

fn shipment_updated(s: ShipmentUpdated) -> Draft {
    let (order, tracking) = (&s.order_id, &s.tracking_number);
    let (subject, body) = match s.status.as_str() {
        "label_created" => (format!("Order {order}: shipping label created"), format!("Your parcel is being prepared. Tracking number: {tracking}.")),
        "in_transit" => (format!("Order {order} is on its way"), format!("Your parcel has left our warehouse. Tracking number: {tracking}.")),
        "delivered" => (format!("Order {order} delivered"), format!("Your parcel (tracking number {tracking}) has been delivered. Enjoy!")),
        "cancelled" => {
            (format!("Shipment of order {order} cancelled"), format!("The shipment of order {order} (tracking number {tracking}) has been cancelled."))
        }
        other => (format!("Order {order}: shipment {other}"), format!("The shipment of order {order} (tracking number {tracking}) is now {other}.")),
    };
    Draft { user_id: s.user_id, order_id: Some(s.order_id), subject, body }
}

/// The message for `event`, `None` for a type nobody is told about, or 400
/// when the event's data is not what its type promises.
pub fn compose(event: &Event) -> Result<Option<Draft>, ApiError> {
    Ok(Some(match event.kind.as_str() {
        "order.placed" => placed(data(event)?),
        "order.cancelled" => cancelled(data(event)?),
        "shipment.updated" => shipment_updated(data(event)?),
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORDER: &str = "0192f0c2-1234-7000-8000-00000000abcd";

    fn draft(kind: &str, data: serde_json::Value) -> Draft {
        compose(&Event::new(kind, data)).unwrap().unwrap()
    }

    #[test]
    fn order_placed_counts_items_and_shows_the_total() {
        let d = draft(
            "order.placed",
            json!({
                "order_id": ORDER, "user_id": "u1",
                "items": [{ "product_id": "p1", "sku": "MUG", "name": "Mug", "quantity": 2 }, { "product_id": "p2", "sku": "PEN", "name": "Pen", "quantity": 1 }],
                "total": { "amount": 3748, "currency": "EUR" },
                "shipping_address": { "name": "A", "line1": "B", "city": "C", "postal_code": "1", "country": "DE" }
            }),
        );
        assert_eq!(d.subject, format!("Order {ORDER} placed: 3 items, 37.48 EUR"));
        assert!(d.body.contains("2 x Mug, 1 x Pen"), "{}", d.body);
        assert_eq!((d.user_id.as_str(), d.order_id.as_deref()), ("u1", Some(ORDER)));
        let one = draft(
            "order.placed",
            json!({ "order_id": ORDER, "user_id": "u1", "items": [{ "name": "Mug", "quantity": 1 }], "total": { "amount": 500, "currency": "EUR" } }),
        );
        assert!(one.subject.ends_with("1 item, 5.00 EUR"), "{}", one.subject);
    }

    #[test]
    fn order_cancelled_mentions_a_refund_only_when_there_was_one() {
        let d = draft("order.cancelled", json!({ "order_id": ORDER, "user_id": "u1", "refunded": true }));
        assert_eq!(d.subject, format!("Order {ORDER} cancelled"));
        assert!(d.body.contains("refunded"));
        let d = draft("order.cancelled", json!({ "order_id": ORDER, "user_id": "u1", "refunded": false }));
        assert!(!d.body.contains("refunded"));
    }

    #[test]
    fn shipment_updates_say_where_the_parcel_is() {
        let update = |status: &str| {
            draft("shipment.updated", json!({ "shipment_id": "s1", "order_id": ORDER, "user_id": "u1", "status": status, "tracking_number": "SK0123456789" }))
        };
        assert_eq!(update("in_transit").subject, format!("Order {ORDER} is on its way"));
        assert!(update("in_transit").body.contains("SK0123456789"));
        assert_eq!(update("delivered").subject, format!("Order {ORDER} delivered"));
        assert!(update("cancelled").subject.contains("cancelled"));
        assert!(update("label_created").subject.contains("label created"));
        assert!(update("held_at_customs").body.contains("held_at_customs"));
    }

    #[test]
    fn other_types_are_not_told_and_bad_data_is_a_400() {
        assert_eq!(compose(&Event::new("payment.approved", json!({}))).unwrap(), None);
        let err = compose(&Event::new("order.cancelled", json!({ "order_id": ORDER }))).unwrap_err();
        assert_eq!((err.status, err.details["field"].as_str()), (400, Some("data")));
    }
}
