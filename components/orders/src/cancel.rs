//! Cancelling an order (owner or admin): an unpaid one gives its stock
//! back; a paid one is refunded, its stock returned, and `order.cancelled`
//! told to the consumers; shipped or delivered ones cannot be cancelled.

use shop_common::db::{Db, transaction};
use shop_common::{ApiError, Identity, events, timestamp};

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
            CancelPlan::Release => {
                if stored.stock != Stock::Released {
                    services.release(id).await?;
                }
                let change = Change { status: Some(Status::Cancelled), stock: Some(Stock::Released), ..Change::default() };
                store::update(db, id, from, change, timestamp::now_unix()).await?
            }
            CancelPlan::RefundAndRelease => {
                let payment = services.refund(id).await?;
                services.release(id).await?;
                let now = timestamp::now_unix();
                let event = outbox::cancelled(&stored.order, true);
                let done = transaction(db, async |db| {
                    let change = Change { status: Some(Status::Cancelled), stock: Some(Stock::Released), payment: Some(&payment), note: None };
                    let applied = store::update(db, id, from, change, now).await?;
                    if applied {
                        events::record(db, &event, outbox::CONSUMERS, now).await?;
                    }
                    Ok(applied)
                })
                .await?;
                if done {
                    let _ = outbox::deliver_due(db, services).await;
                }
                done
            }
        };
        if done {
            return Ok(visible(db, who, id).await?.order);
        }
    }
    Err(ApiError::conflict("invalid_state", "the order kept changing; try again"))
}
