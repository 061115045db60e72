//! Undoing what a placement did once an order will not be paid (or is
//! cancelled): giving its stock back (catalog), refunding its charge
//! (payments) and giving the cart back the lines the placement took out of
//! it (cart). Each undo is a command row in the outbox, addressed to the
//! service that does it and recorded in the same transaction as the order's
//! new status ([`settle`]), so a crash never leaves an order settled with
//! its undo forgotten. The commands are delivered at once and, when that
//! fails, by later relays with the outbox's back-off until they are done.
//! The receivers are idempotent: releasing a released reservation,
//! refunding a refunded payment, or returning lines the cart does not
//! remember giving (never taken, or given back already), answers as it is.

use serde_json::json;
use shop_common::db::{Db, transaction};
use shop_common::events::{self, Event};
use shop_common::{ApiError, timestamp};

use crate::commands::{REFUND_PAYMENT, RELEASE_STOCK, return_to_cart};
use crate::model::{Order, Status};
use crate::outbox;
use crate::services::Services;
use crate::store::{self, Change};

/// How long [`settle`] holds the rows it sends at once: enough for the
/// attempt, short so that after a crash the relay takes them over soon. An
/// attempt that outlasts it may be repeated by a relay, which the
/// idempotent receivers (and the event consumers' inboxes) absorb.
pub const SEND_NOW_HOLD_SECONDS: i64 = 5;

/// What to undo: `to_cart` is the order whose lines the cart may have given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Undo<'a> {
    pub release: bool,
    pub refund: bool,
    pub to_cart: Option<&'a Order>,
}

impl Undo<'_> {
    pub const RELEASE: Undo<'static> = Undo { release: true, refund: false, to_cart: None };
    pub const RELEASE_AND_REFUND: Undo<'static> = Undo { release: true, refund: true, to_cart: None };
}

/// Gives `order`'s lines back to the cart on their own, recorded in the
/// outbox and sent at once (an order settled by someone else while its
/// placement took the lines).
pub async fn give_back_to_cart<D: Db, S: Services>(db: &D, services: &S, order: &Order) -> Result<(), ApiError> {
    let now = timestamp::now_unix();
    let command = return_to_cart(order);
    events::record(db, &command, &["cart"], now).await?;
    send_now(db, services, std::slice::from_ref(&command.id), now).await;
    Ok(())
}

/// Sends the rows `ids` just recorded, held [`SEND_NOW_HOLD_SECONDS`]
/// against a relay; what fails is the outbox's to retry, and does not undo
/// what was recorded with them.
async fn send_now<D: Db, S: Services>(db: &D, services: &S, ids: &[String], now: i64) {
    let send = async |consumer: &str, event: &Event| outbox::send(db, services, consumer, event).await;
    let _ = events::deliver_events(db, ids, now, SEND_NOW_HOLD_SECONDS, send).await;
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
    undo: Undo<'_>,
    events: &[Event],
) -> Result<bool, ApiError> {
    let now = timestamp::now_unix();
    let commands: Vec<(Event, &str)> = [(undo.release, RELEASE_STOCK, "catalog"), (undo.refund, REFUND_PAYMENT, "payments")]
        .into_iter()
        .filter(|(wanted, _, _)| *wanted)
        .map(|(_, kind, receiver)| (Event::new(kind, json!({ "order_id": id })), receiver))
        .chain(undo.to_cart.map(|order| (return_to_cart(order), "cart")))
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
        send_now(db, services, &ids, now).await;
    }
    Ok(applied)
}
