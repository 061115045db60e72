//! Placing an order, step by step:
//! 1. reserve stock (the catalog answers with the products) and price it;
//! 2. record the order `pending`;
//! 3. charge the card;
//! 4. commit the stock, and take the order's lines out of the cart it was
//!    made from (the cart applies each order once);
//! 5. mark it `paid` with `order.placed` in the outbox (one transaction;
//!    for the cart too if step 4 could not reach it).
//!
//! A step that fails ends the order `payment_failed`, with what must be
//! undone (release the stock, refund a charge that may have happened) queued
//! in the outbox in the same transaction (`compensation`). No database
//! transaction is open while another service is called.
//!
//! What a crash between two steps leaves, and what finishes it:
//! - after 1: a reservation with no order; the catalog's sweep releases it
//!   once it expires (`reservation_ttl_seconds`).
//! - after 2 or 3: a `pending` order, charged or not. Once it has been
//!   pending longer than any request runs, `recovery` closes it to new
//!   charges at payments and settles it by what payments answers: approved
//!   → steps 4 and 5 (or, if the reservation was released meanwhile, a
//!   refund); declined or no charge → stock released, `payment_failed`.
//! - after 4: approved and committed; recovery does step 5, and tells the
//!   cart through the outbox (a no-op if step 4 took the lines already).
//! - while undoing: the commands are in the outbox, relayed until done.
//!
//! A slow request and a recovery (or a cancel) can run at once: every order
//! change applies only from the status it was planned for, payments refuses
//! to charge a closed order, and the catalog refuses to commit a released
//! reservation, so exactly one of them settles the order and none leaves a
//! charge without a paid order or stock sold without one.

use serde_json::json;
use shop_common::db::{Db, transaction};
use shop_common::events;
use shop_common::{ApiError, timestamp};

use crate::compensation::{self, Undo};
use crate::idempotency::{self, Answer, Begin};
use crate::input::{self, LineRequest, PlaceInput};
use crate::model::{Address, Order, OrderItem, PaymentInfo, Status, Stock};
use crate::outbox;
use crate::services::{ChargeRequest, Product, QuoteLine, Services};
use crate::store::{self, Change};

/// Why a placement failed, and whether an order row was recorded by then.
#[derive(Debug)]
pub struct Failed {
    pub error: ApiError,
    pub recorded: bool,
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Failed {
        Failed { error, recorded: false }
    }
}

fn recorded(error: ApiError, order_id: &str) -> Failed {
    let mut error = error;
    if let Some(details) = error.details.as_object_mut() {
        details.insert("order_id".into(), order_id.into());
    }
    Failed { error, recorded: true }
}

/// `POST /api/v1/orders` with its `Idempotency-Key` (if any) and raw body.
pub async fn place_idempotent<D: Db, S: Services>(db: &D, services: &S, user_id: &str, key: Option<&str>, body: &[u8]) -> Answer {
    let run = async || -> Result<Answer, ApiError> {
        let key = input::idempotency_key(key)?;
        let input = input::parse_body(body)?;
        let Some(key) = key else {
            return Ok(answer(place(db, services, user_id, input).await));
        };
        let hash = idempotency::request_hash(body)?;
        match idempotency::begin(db, user_id, &key, &hash, timestamp::now_unix()).await {
            Ok(Begin::First) => {}
            Ok(Begin::Replay(first)) => return Ok(first),
            // The key's first request has not answered.
            Err(busy) if busy.code == "idempotency_conflict" => match unanswered(db, user_id, &key).await? {
                // It stopped (a crash) after recording its order: the order,
                // as recovery settled it, is the answer.
                Unanswered::Settled(answer) => return Ok(answer),
                // It stopped before recording one: it left nothing behind
                // (no order, so no charge; a reservation it made expires),
                // so once it is given up for lost this request runs instead.
                Unanswered::NoOrder if busy.details["abandoned"] == true => {
                    idempotency::forget(db, user_id, &key).await?;
                    if let Begin::Replay(first) = idempotency::begin(db, user_id, &key, &hash, timestamp::now_unix()).await? {
                        return Ok(first);
                    }
                }
                Unanswered::NoOrder | Unanswered::Pending => return Err(busy),
            },
            Err(e) => return Err(e),
        }
        let result = place_with_key(db, services, user_id, input, Some(&key)).await;
        let order_id = match &result {
            Ok(order) => Some(order.id.clone()),
            Err(f) => f.error.details["order_id"].as_str().map(str::to_owned),
        };
        // A server-side failure that changed nothing frees the key for a retry.
        let forget = matches!(&result, Err(f) if f.error.status >= 500 && !f.recorded);
        let answer = answer(result);
        if forget {
            idempotency::forget(db, user_id, &key).await?;
        } else {
            idempotency::finish(db, user_id, &key, order_id.as_deref(), &answer, timestamp::now_unix()).await?;
        }
        Ok(answer)
    };
    run().await.unwrap_or_else(Answer::from)
}

/// What became of a key's first request that has not answered.
enum Unanswered {
    /// It recorded no order (yet, or ever).
    NoOrder,
    /// Its order is still `pending`: the request, or recovery, is not done with it.
    Pending,
    /// Its order is settled, and this is the answer: 201 with the order if
    /// it was paid (and perhaps shipped since), else 409 naming the order
    /// and how it ended.
    Settled(Answer),
}

async fn unanswered<D: Db>(db: &D, user_id: &str, key: &str) -> Result<Unanswered, ApiError> {
    let Some(stored) = store::by_idempotency_key(db, user_id, key).await? else {
        return Ok(Unanswered::NoOrder);
    };
    let order = stored.order;
    Ok(match order.status {
        Status::Pending => Unanswered::Pending,
        Status::Paid | Status::Shipped | Status::Delivered => Unanswered::Settled(answer(Ok(order))),
        Status::PaymentFailed | Status::Cancelled => Unanswered::Settled(
            ApiError::conflict(
                "idempotency_conflict",
                format!(
                    "the first request with this Idempotency-Key stopped before it answered, and its order {} ended {}; use a new key to order again",
                    order.id,
                    order.status.as_str()
                ),
            )
            .with_details(json!({ "idempotency_key": key, "order_id": order.id, "status": order.status.as_str() }))
            .into(),
        ),
    })
}

fn answer(result: Result<Order, Failed>) -> Answer {
    match result {
        Ok(order) => Answer { status: 201, body: serde_json::to_value(&order).unwrap_or_default() },
        Err(f) => f.error.into(),
    }
}

/// The lines to order: the body's, else the cart's.
async fn lines<S: Services>(services: &S, user_id: &str, input: &PlaceInput) -> Result<(Vec<LineRequest>, bool), ApiError> {
    if let Some(items) = &input.items {
        return Ok((items.clone(), false));
    }
    let cart = services.cart(user_id).await?;
    if cart.is_empty() {
        return Err(ApiError::unprocessable("empty_cart", "the cart is empty and the order lists no items"));
    }
    let merged =
        input::merge_lines(&cart, "cart.items").map_err(|e| ApiError::unprocessable("unprocessable", format!("the cart cannot be ordered: {}", e.message)))?;
    Ok((merged, true))
}

async fn address<S: Services>(services: &S, user_id: &str, input: &PlaceInput) -> Result<Address, ApiError> {
    if let Some(a) = &input.shipping_address {
        return Ok(a.clone());
    }
    let saved = services.saved_address(user_id).await?;
    let missing = || ApiError::invalid_field("shipping_address", "give a shipping_address, or save one on your account first");
    let saved = saved.ok_or_else(missing)?;
    saved.validate("shipping_address").map_err(|_| missing())?;
    Ok(saved)
}

/// The priced lines of the order, from the catalog's products.
fn items(products: &[Product], lines: &[LineRequest]) -> Result<(Vec<OrderItem>, Vec<QuoteLine>), ApiError> {
    let mut items = Vec::with_capacity(lines.len());
    let mut quote_lines = Vec::with_capacity(lines.len());
    for line in lines {
        let id = &line.product_id;
        let p = products
            .iter()
            .find(|p| &p.id == id)
            .ok_or_else(|| ApiError::new(404, "not_found", format!("product {id} not found")).with_details(json!({ "product_id": id })))?;
        if !p.active {
            return Err(ApiError::unprocessable("product_inactive", format!("product {id} ({}) is no longer sold", p.sku))
                .with_details(json!({ "product_id": id, "sku": p.sku })));
        }
        let quantity = u32::try_from(line.quantity).map_err(|_| ApiError::invalid_field("quantity", "out of range"))?;
        let line_total = p.price.times(quantity).map_err(|e| ApiError::unprocessable("unprocessable", format!("product {id}: {e}")))?;
        items.push(OrderItem { product_id: id.clone(), sku: p.sku.clone(), name: p.name.clone(), quantity, unit_price: p.price, line_total });
        quote_lines.push(QuoteLine { sku: p.sku.clone(), unit_price: p.price, quantity, weight_grams: p.weight_grams });
    }
    Ok((items, quote_lines))
}

/// Places the order; see the module comment for the steps.
pub async fn place<D: Db, S: Services>(db: &D, services: &S, user_id: &str, input: PlaceInput) -> Result<Order, Failed> {
    place_with_key(db, services, user_id, input, None).await
}

/// [`place`], the order recorded with the request's `Idempotency-Key`.
async fn place_with_key<D: Db, S: Services>(db: &D, services: &S, user_id: &str, input: PlaceInput, key: Option<&str>) -> Result<Order, Failed> {
    let (lines, from_cart) = lines(services, user_id, &input).await?;
    let shipping_address = address(services, user_id, &input).await?;

    let id = shop_common::id::new_id();
    // Out of stock (409), inactive (422) or unknown (404): passed on; nothing recorded.
    let products = services.reserve(&id, &lines).await?;
    // Priced from the products the reservation answered with; a line that
    // cannot be priced (say, an unknown promo code) gives the stock back.
    let priced = items(&products, &lines).and_then(|(items, quote_lines)| {
        let quote = services.price(&quote_lines, &shipping_address.country, input.promo_code.as_deref())?;
        Ok((items, quote))
    });
    // No order is recorded yet, so a release that fails here is left to
    // the catalog's sweep of expired reservations.
    let (items, quote) = match priced {
        Ok(priced) => priced,
        Err(e) => {
            let _ = services.release(&id).await;
            return Err(e.into());
        }
    };

    let now = timestamp::now_unix();
    let created = timestamp::to_rfc3339(now);
    let order = Order {
        id: id.clone(),
        user_id: user_id.to_owned(),
        status: Status::Pending,
        items,
        shipping_address,
        quote,
        payment: None,
        created_at: created.clone(),
        updated_at: created,
    };
    if let Err(e) = store::insert(db, &order, from_cart, key, now).await {
        let _ = services.release(&id).await;
        return Err(e.into());
    }

    let charge = ChargeRequest { order_id: id.clone(), user_id: user_id.to_owned(), amount: order.quote.total, card: input.card };
    let payment = match services.charge(&charge).await {
        Ok(p) => p,
        Err(e) => {
            // A 4xx is the card's fault and nothing was charged; otherwise
            // the charge may have happened, so it is refunded if it did.
            let unknown = e.status >= 500;
            let note = format!("the charge failed: {}", e.message);
            abandon(db, services, &id, None, unknown, &note, None).await;
            return Err(recorded(e, &id));
        }
    };
    if payment.status != "approved" {
        abandon(db, services, &id, Some(&payment), false, "the card was declined", None).await;
        let e = ApiError::new(402, "payment_declined", "the card was declined").with_details(json!({ "payment_id": payment.id }));
        return Err(recorded(e, &id));
    }

    if let Err(e) = services.commit(&id).await {
        abandon(db, services, &id, Some(&payment), true, &format!("the stock could not be committed: {}", e.message), None).await;
        return Err(recorded(e, &id));
    }
    // The cart gives up the ordered lines before the order is paid, so a
    // crash on either side of `paid` leaves nothing to do but what recovery
    // does for a pending order (which tells the cart again: it applies an
    // order once). A cart that cannot be reached now is told through the
    // outbox with `paid`. Should the order still end unpaid (the database
    // fails here, or a cancel came first), the cart gets the lines back.
    let cart_took = from_cart && services.take_from_cart(&order).await.is_ok();
    match mark_paid(db, &order, &payment, from_cart && !cart_took, timestamp::now_unix()).await {
        Ok(true) => {}
        Ok(false) => {
            // Settled meanwhile by someone else: recovery (which may have
            // completed it) or a cancel, which undoes what it needs to.
            let status = store::get(db, &id).await.ok().flatten().map(|s| s.order);
            return match status {
                Some(stored) if stored.status == Status::Paid => Ok(stored),
                other => {
                    if cart_took {
                        let _ = compensation::give_back_to_cart(db, services, &order).await;
                    }
                    let now = other.map_or("unknown", |o| o.status.as_str());
                    let e = ApiError::conflict("invalid_state", format!("the order was settled while it was being placed; it is {now}"));
                    Err(recorded(e.with_details(json!({ "status": now })), &id))
                }
            };
        }
        Err(e) => {
            // Left `pending` if this fails too: recovery completes it later.
            let note = format!("the order could not be marked paid: {}", e.message);
            abandon(db, services, &id, Some(&payment), true, &note, cart_took.then_some(&order)).await;
            return Err(recorded(e, &id));
        }
    }
    let _ = outbox::deliver_due(db, services).await;
    match store::get(db, &id).await {
        Ok(Some(stored)) => Ok(stored.order),
        _ => Ok(Order { status: Status::Paid, payment: Some(payment), ..order }),
    }
}

/// Step 5: the order `pending` → `paid` with its payment, its stock
/// committed, and `order.placed` in the outbox (for the cart too when
/// `tell_cart`: an order made from the cart that recovery completes, or
/// whose placement could not reach the cart), in one transaction. `false`
/// if the order was no longer pending.
pub async fn mark_paid<D: Db>(db: &D, order: &Order, payment: &PaymentInfo, tell_cart: bool, now: i64) -> Result<bool, ApiError> {
    let paid = Order { status: Status::Paid, payment: Some(payment.clone()), ..order.clone() };
    let event = outbox::placed(&paid);
    transaction(db, async |db| {
        let change = Change { status: Some(Status::Paid), stock: Some(Stock::Committed), payment: Some(payment), note: None };
        let applied = store::update(db, &order.id, Status::Pending, change, now).await?;
        if applied {
            events::record(db, &event, outbox::placed_consumers(tell_cart), now).await?;
        }
        Ok(applied)
    })
    .await
}

/// Ends a placement that will not be paid: `payment_failed` with `note`,
/// the stock's release (and the charge's refund when `refund`: it may have
/// been approved; the cart's lines given back when `to_cart` took them)
/// queued with it and sent at once (`compensation::settle`).
/// If even that cannot be recorded, the order stays `pending` and recovery
/// settles it later.
async fn abandon<D: Db, S: Services>(db: &D, services: &S, id: &str, payment: Option<&PaymentInfo>, refund: bool, note: &str, to_cart: Option<&Order>) {
    let change = Change { status: Some(Status::PaymentFailed), stock: Some(Stock::Released), payment, note: Some(note) };
    let undo = Undo { release: true, refund, to_cart };
    let _ = compensation::settle(db, services, id, Status::Pending, change, undo, &[]).await;
}
