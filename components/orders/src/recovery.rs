//! Recovery of orders whose placement stopped half-way (the host was
//! killed, an instance trapped or ran out of time): an order still
//! `pending` past the grace period, which is longer than any request runs,
//! is driven to an end state from what payments and the catalog recorded
//! (see the crash list in `saga`):
//!
//! - payments is asked to close the order to new charges and answers its
//!   payment, if any; from then on a slow placement cannot charge it;
//! - approved: the stock is committed and the order marked `paid` with
//!   `order.placed`, as the placement would have; if the catalog refuses
//!   (the reservation was released, e.g. it expired), the charge is
//!   refunded, the stock released and the order ends `payment_failed`;
//! - declined, refunded or no charge: the stock is released and the order
//!   ends `payment_failed`.
//!
//! Each end state is a status-guarded change, so a placement still running
//! and a recovery cannot both settle an order. It runs where the outbox
//! relay runs (`POST /internal/orders/outbox/relay`, which the shop's
//! health check calls, and the end of orders' requests), on a bounded
//! batch of orders each time.

use serde::Serialize;
use shop_common::ApiError;
use shop_common::db::Db;

use crate::compensation::{self, Undo};
use crate::model::{PaymentInfo, Status, Stock};
use crate::saga;
use crate::services::Services;
use crate::store::{self, Change};

/// The grace period when `order_recovery_grace_seconds` is not set: twice
/// the host's default request deadline (30 s).
pub const DEFAULT_GRACE_SECONDS: i64 = 60;
const _: () = assert!(DEFAULT_GRACE_SECONDS > 30, "longer than the host's default request deadline");

/// At most this many orders are recovered by one call.
pub const BATCH: u32 = 20;

/// The grace period from the variable's text, if sane (1 s to 1 day).
pub fn grace_from(variable: Option<&str>) -> i64 {
    variable.and_then(|v| v.trim().parse::<i64>().ok()).filter(|s| (1..=24 * 3600).contains(s)).unwrap_or(DEFAULT_GRACE_SECONDS)
}

/// How one order was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The approved charge completed it.
    Paid,
    /// Not charged (or declined): stock released.
    Unpaid,
    /// Charged, but its stock was gone: refunded and released.
    Refunded,
    /// It was no longer pending (settled meanwhile by someone else).
    Moved,
}

/// What one recovery call did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Recovered {
    pub paid: u32,
    pub unpaid: u32,
    pub refunded: u32,
    /// Orders that could not be settled now (a service was down); tried
    /// again after another grace period.
    pub failed: u32,
}

/// Settles up to [`BATCH`] orders that have been `pending` for more than
/// `grace` seconds at `now`.
pub async fn recover_due<D: Db, S: Services>(db: &D, services: &S, now: i64, grace: i64) -> Result<Recovered, ApiError> {
    let ids = store::claim_stale_pending(db, now.saturating_sub(grace), now, now.saturating_add(grace), BATCH).await?;
    let mut done = Recovered::default();
    for id in ids {
        match recover(db, services, &id, now).await {
            Ok(Outcome::Paid) => done.paid += 1,
            Ok(Outcome::Unpaid) => done.unpaid += 1,
            Ok(Outcome::Refunded) => done.refunded += 1,
            Ok(Outcome::Moved) => {}
            Err(_) => done.failed += 1,
        }
    }
    Ok(done)
}

/// Settles one `pending` order from what payments and the catalog recorded.
pub async fn recover<D: Db, S: Services>(db: &D, services: &S, id: &str, now: i64) -> Result<Outcome, ApiError> {
    let Some(stored) = store::get(db, id).await? else { return Ok(Outcome::Moved) };
    if stored.order.status != Status::Pending {
        return Ok(Outcome::Moved);
    }
    let payment = services.close_charge(id).await?;
    let Some(approved) = payment.as_ref().filter(|p| p.status == "approved") else {
        let note = match payment.as_ref().map(|p| p.status.as_str()) {
            None => "recovered: the order was never charged".to_owned(),
            Some(status) => format!("recovered: the payment was {status}"),
        };
        return unpaid(db, services, id, payment.as_ref(), Undo::RELEASE, &note, Outcome::Unpaid).await;
    };
    match services.commit(id).await {
        Ok(()) => Ok(if saga::mark_paid(db, &stored.order, approved, stored.from_cart, now).await? { Outcome::Paid } else { Outcome::Moved }),
        // The reservation is released (or gone): the order cannot be
        // completed, so its charge is given back.
        Err(e) if e.status == 404 || e.status == 409 => {
            let note = format!("recovered: the charge was approved but the stock could not be committed ({}), so it is refunded", e.message);
            unpaid(db, services, id, Some(approved), Undo::RELEASE_AND_REFUND, &note, Outcome::Refunded).await
        }
        Err(e) => Err(e),
    }
}

async fn unpaid<D: Db, S: Services>(
    db: &D,
    services: &S,
    id: &str,
    payment: Option<&PaymentInfo>,
    undo: Undo<'_>,
    note: &str,
    outcome: Outcome,
) -> Result<Outcome, ApiError> {
    let change = Change { status: Some(Status::PaymentFailed), stock: Some(Stock::Released), payment, note: Some(note) };
    let settled = compensation::settle(db, services, id, Status::Pending, change, undo, &[]).await?;
    Ok(if settled { outcome } else { Outcome::Moved })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_period_is_sane() {
        assert_eq!(grace_from(Some("2")), 2);
        assert_eq!(grace_from(Some(" 90 ")), 90);
        assert_eq!(grace_from(None), DEFAULT_GRACE_SECONDS);
        assert_eq!(grace_from(Some("0")), DEFAULT_GRACE_SECONDS);
        assert_eq!(grace_from(Some("-5")), DEFAULT_GRACE_SECONDS);
        assert_eq!(grace_from(Some("soon")), DEFAULT_GRACE_SECONDS);
    }
}
