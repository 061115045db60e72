//! The compensation commands the outbox carries (see `compensation`, which
//! records them): what each is, who carries it out, carrying one out, and
//! how many are not done yet.

use serde_json::json;
use shop_common::db::Db;
use shop_common::events::Event;
use shop_common::{ApiError, timestamp};

use crate::model::Order;
use crate::services::Services;
use crate::store;

/// `{"order_id"}` to catalog: release the order's reservation.
pub const RELEASE_STOCK: &str = "stock.release";
/// `{"order_id"}` to payments: refund the order's charge (and refuse any
/// later charge for it when there was none).
pub const REFUND_PAYMENT: &str = "payment.refund";

/// `{"order_id", "user_id", "items": [{"product_id", "quantity"}]}` to
/// cart (an event on its `POST /internal/cart/events`): give back the lines
/// of an order made from the cart that will not be paid, if the cart gave
/// them to it.
pub const RETURN_TO_CART: &str = "cart.return";

/// The services commands are addressed to (outbox `consumer`s).
pub const RECEIVERS: &[&str] = &["catalog", "payments", "cart"];

/// The command giving `order`'s lines back to its buyer's cart.
pub fn return_to_cart(order: &Order) -> Event {
    Event::new(RETURN_TO_CART, json!({ "order_id": order.id, "user_id": order.user_id, "items": order.cart_lines() }))
}

/// Carries out `event` if it is a command; `None` for any other event.
pub async fn perform<D: Db, S: Services>(db: &D, services: &S, event: &Event) -> Option<Result<(), String>> {
    let order_id = || event.data["order_id"].as_str().ok_or_else(|| format!("command {} {} has no data.order_id", event.kind, event.id));
    match event.kind.as_str() {
        RELEASE_STOCK => Some(async { services.release(order_id()?).await.map_err(|e| e.message) }.await),
        REFUND_PAYMENT => Some(
            async {
                let order_id = order_id()?;
                match services.refund(order_id).await {
                    Ok(payment) => store::set_payment(db, order_id, &payment, timestamp::now_unix()).await.map_err(|e| e.message),
                    // Nothing was charged (and now nothing will be), or the
                    // card was declined: nothing to give back.
                    Err(e) if e.status == 404 || e.status == 409 => Ok(()),
                    Err(e) => Err(e.message),
                }
            }
            .await,
        ),
        _ => None,
    }
}

/// Commands not yet done (the audit's `compensations_pending`).
pub async fn pending<D: Db>(db: &D) -> Result<u64, ApiError> {
    let marks = vec!["?"; RECEIVERS.len()].join(", ");
    let params: Vec<shop_common::Value> = RECEIVERS.iter().map(|r| (*r).into()).collect();
    let row = db.query_one(&format!("SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND consumer IN ({marks})"), &params).await?;
    Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0).max(0) as u64)
}
