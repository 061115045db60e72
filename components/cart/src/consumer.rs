//! What the cart consumes from the orders outbox: `order.placed` for an
//! order made from the cart that recovery completed, or whose placement
//! could not reach the cart (a placement otherwise takes the lines itself,
//! `POST /internal/cart/{user_id}/ordered`), which takes the ordered lines
//! out of the buyer's cart ([`cart::take_ordered`]), once however often it
//! is told. And `cart.return`, orders' command for an order made from the
//! cart that will not be paid after all: its lines back into the cart if
//! the cart gave them to it ([`cart::give_back`]), once. Never an error
//! for the event's content, so the producer does not retry in vain: what
//! cannot be applied is ignored, with the reason.

use serde::Deserialize;
use shop_common::events::Event;
pub use shop_common::events::Outcome;
use shop_common::{ApiError, Kv};

use crate::cart::{self, OrderedLine};

/// The part of `order.placed` (and of `cart.return`) the cart needs.
#[derive(Deserialize)]
struct Placed {
    order_id: String,
    user_id: String,
    items: Vec<OrderedLine>,
}

/// Applies one event; the reason goes with an ignored one.
pub async fn consume<K: Kv>(kv: &K, event: &Event) -> Result<(Outcome, Option<String>), ApiError> {
    let kind = event.kind.as_str();
    if kind != "order.placed" && kind != "cart.return" {
        return Ok((Outcome::Ignored, Some(format!("the cart does not consume {kind:?}"))));
    }
    let placed: Placed = match serde_json::from_value(event.data.clone()) {
        Ok(placed) => placed,
        Err(e) => return Ok((Outcome::Ignored, Some(format!("{kind} without its order_id, user_id and items: {e}")))),
    };
    let first_time = if kind == "order.placed" {
        cart::take_ordered(kv, &placed.user_id, &placed.order_id, &placed.items).await?
    } else {
        cart::give_back(kv, &placed.user_id, &placed.order_id, &placed.items).await?
    };
    Ok((if first_time { Outcome::Applied } else { Outcome::Duplicate }, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use serde_json::json;
    use shop_common::kv::memory::MemoryKv;

    fn placed(order_id: &str, data: serde_json::Value) -> Event {
        Event { id: format!("event-{order_id}"), kind: "order.placed".into(), occurred_at: "2026-12-03T00:00:00Z".into(), data }
    }

    #[test]
    fn order_placed_takes_the_lines_out_once_and_anything_else_is_ignored() {
        block_on(async {
            let kv = MemoryKv::default();
            cart::add(&kv, "u1", "mug", 3).await.unwrap();
            let event = placed(
                "o1",
                json!({ "order_id": "o1", "user_id": "u1", "items": [{ "product_id": "mug", "sku": "SKU-1", "name": "Mug", "quantity": 2 }], "total": {} }),
            );
            assert_eq!(consume(&kv, &event).await.unwrap(), (Outcome::Applied, None));
            assert_eq!(cart::load(&kv, "u1").await.unwrap().quantity_of("mug"), Some(1));
            assert_eq!(consume(&kv, &event).await.unwrap().0, Outcome::Duplicate);
            assert_eq!(cart::load(&kv, "u1").await.unwrap().quantity_of("mug"), Some(1));

            let other = Event { kind: "order.cancelled".into(), ..event.clone() };
            let (outcome, reason) = consume(&kv, &other).await.unwrap();
            assert_eq!(outcome, Outcome::Ignored);
            assert!(reason.unwrap().contains("order.cancelled"));
            let (outcome, reason) = consume(&kv, &placed("o2", json!({ "order_id": "o2", "items": [] }))).await.unwrap();
            assert_eq!(outcome, Outcome::Ignored);
            assert!(reason.unwrap().contains("user_id"));
            assert_eq!(cart::load(&kv, "u1").await.unwrap().quantity_of("mug"), Some(1));

            // The order is not paid after all: its lines come back, once.
            let returned = Event { kind: "cart.return".into(), id: "command-o1".into(), ..event.clone() };
            assert_eq!(consume(&kv, &returned).await.unwrap(), (Outcome::Applied, None));
            assert_eq!(cart::load(&kv, "u1").await.unwrap().quantity_of("mug"), Some(3));
            assert_eq!(consume(&kv, &returned).await.unwrap().0, Outcome::Duplicate);
            assert_eq!(cart::load(&kv, "u1").await.unwrap().quantity_of("mug"), Some(3));
        });
    }
}
