//! Cancelling an order (owner or admin): its stock is given back and any
//! charge refunded (a `pending` order may have been charged already, and
//! payments refuses to charge it afterwards); a paid one's cancellation is
//! also told to the consumers (`order.cancelled`). Shipped or delivered
//! ones cannot be cancelled. The release and the refund are compensation
//! commands recorded with the new status and sent at once, retried by the
//! outbox until done (`compensation`), so the answer shows the payment
//! `refunded` unless payments was unreachable just then. A `pending` order
//! made from the cart also gives the cart back the lines its placement may
//! have taken.

use shop_common::db::Db;
use shop_common::{ApiError, Identity};

use crate::compensation::{self, Undo};
use crate::model::{CancelPlan, Order, Status, Stock};
use crate::outbox;
use crate::services::Services;
use crate::store::{self, Change};

/// The order if the caller may see it (its owner or an admin); 404 otherwise,
/// so ids of other people's orders do not leak.
pub async fn visible<D: Db>(db: &D, who: &Identity, id: &str) -> Result<store::Stored, ApiError> {
    match store::get(db, id).await? {
        Some(s) if s.order.user_id == who.user_id || who.is_admin() => Ok(s),
        _ => Err(ApiError::not_found("order")),
    }
}

pub async fn cancel<D: Db, S: Services>(db: &D, services: &S, who: &Identity, id: &str) -> Result<Order, ApiError> {
    // The order can move while the other services are called (a placement
    // finishing, a shipment starting); each change applies only from the
    // status it was planned for, and is planned again if that moved.
    for _ in 0..3 {
        let stored = visible(db, who, id).await?;
        let from = stored.order.status;
        let done = match from.cancel_plan() {
            CancelPlan::AlreadyCancelled => return Ok(stored.order),
            CancelPlan::TooLate => {
                return Err(ApiError::conflict("invalid_state", format!("a {} order cannot be cancelled", from.as_str())));
            }
            plan => {
                // Unpaid (pending or payment_failed): a charge the order may
                // already have is refunded, and payments refuses any later
                // one. Paid: refunded too, and the consumers are told.
                let events = if plan == CancelPlan::RefundAndRelease { vec![outbox::cancelled(&stored.order, true)] } else { Vec::new() };
                let change = Change { status: Some(Status::Cancelled), stock: Some(Stock::Released), ..Change::default() };
                // A pending order made from the cart may have taken its
                // lines already (its placement is still running): they go back.
                let to_cart = (from == Status::Pending && stored.from_cart).then_some(&stored.order);
                compensation::settle(db, services, id, from, change, Undo { to_cart, ..Undo::RELEASE_AND_REFUND }, &events).await?
            }
        };
        if done {
            return Ok(visible(db, who, id).await?.order);
        }
    }
    Err(ApiError::conflict("invalid_state", "the order kept changing; try again"))
}
