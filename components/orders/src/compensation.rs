//! Undoing what a placement did once an order will not be paid (or is
//! cancelled): giving its stock back (catalog) and refunding its charge
//! (payments). Each undo is a command row in the outbox, addressed to the
//! service that does it and recorded in the same transaction as the order's
//! new status ([`settle`]), so a crash never leaves an order settled with
//! its undo forgotten. The commands are delivered at once and, when that
//! fails, by later relays with the outbox's back-off until they are done.
//! Both receivers are idempotent: releasing a released reservation, or
//! refunding a refunded payment, answers as it is.

use serde_json::json;
use shop_common::db::{Db, transaction};
use shop_common::events::{self, Event};
use shop_common::{ApiError, timestamp};

use crate::model::Status;
use crate::outbox;
use crate::services::Services;
use crate::store::{self, Change};

/// `{"order_id"}` to catalog: release the order's reservation.
pub const RELEASE_STOCK: &str = "stock.release";
/// `{"order_id"}` to payments: refund the order's charge (and refuse any
/// later charge for it when there was none).
pub const REFUND_PAYMENT: &str = "payment.refund";

/// The services commands are addressed to (outbox `consumer`s).
pub const RECEIVERS: &[&str] = &["catalog", "payments"];

/// How long [`settle`] holds the rows it sends at once: enough for the
/// attempt, short so that after a crash the relay takes them over soon. An
/// attempt that outlasts it may be repeated by a relay, which the
/// idempotent receivers (and the event consumers' inboxes) absorb.
pub const SEND_NOW_HOLD_SECONDS: i64 = 5;

/// What to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undo {
    pub release: bool,
    pub refund: bool,
}

impl Undo {
    pub const RELEASE: Undo = Undo { release: true, refund: false };
    pub const RELEASE_AND_REFUND: Undo = Undo { release: true, refund: true };
}

/// Moves order `id` from `from` as `change` says, and in the same
/// transaction records `events` for the event consumers and the commands
/// `undo` asks for; then delivers those rows at once (what fails waits for
/// the relay). `false` when the order was no longer in `from`: then nothing
/// is recorded, as whoever moved it took care of it.
pub async fn settle<D: Db, S: Services>(
    db: &D,
    services: &S,
    id: &str,
    from: Status,
    change: Change<'_>,
    undo: Undo,
    events: &[Event],
) -> Result<bool, ApiError> {
    let now = timestamp::now_unix();
    let commands: Vec<(Event, &str)> = [(undo.release, RELEASE_STOCK, "catalog"), (undo.refund, REFUND_PAYMENT, "payments")]
        .into_iter()
        .filter(|(wanted, _, _)| *wanted)
        .map(|(_, kind, receiver)| (Event::new(kind, json!({ "order_id": id })), receiver))
        .collect();
    let applied = transaction(db, async |db| {
        if !store::update(db, id, from, change, now).await? {
            return Ok(false);
        }
        for event in events {
            events::record(db, event, outbox::CONSUMERS, now).await?;
        }
        for (command, receiver) in &commands {
            events::record(db, command, &[*receiver], now).await?;
        }
        Ok(true)
    })
    .await?;
    if applied {
        let ids: Vec<String> = commands.iter().map(|(c, _)| c.id.clone()).chain(events.iter().map(|e| e.id.clone())).collect();
        // Delivery failures are the outbox's to retry; they do not undo the change.
        let send = async |consumer: &str, event: &Event| outbox::send(db, services, consumer, event).await;
        let _ = events::deliver_events(db, &ids, now, SEND_NOW_HOLD_SECONDS, send).await;
    }
    Ok(applied)
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
