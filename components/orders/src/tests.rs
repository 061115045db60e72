//! The saga, cancelling and event consumption against a fake of the other
//! services on an in-memory SQLite.

use std::cell::RefCell;
use std::collections::HashMap;

use futures::executor::block_on;
use serde_json::{Value as Json, json};
use shop_common::db::memory::MemoryDb;
use shop_common::db::{Db, migrate};
use shop_common::events::Event;
use shop_common::money::{Currency, Money};
use shop_common::{ApiError, Identity, Role};

use crate::idempotency::Answer;
use crate::input::{Card, LineRequest, PlaceInput};
use crate::model::{Address, PaymentInfo, Quote, Status};
use crate::services::{ChargeRequest, PriceError, Product, QuoteLine, Services};
use crate::{cancel, outbox, saga, store};

#[derive(Default)]
struct State {
    cart: Vec<LineRequest>,
    cart_cleared: bool,
    address: Option<Address>,
    products: Vec<Product>,
    /// Available stock per product.
    stock: HashMap<String, i64>,
    /// order id → (lines, "reserved" | "committed" | "released")
    reservations: HashMap<String, (Vec<LineRequest>, String)>,
    payments: HashMap<String, PaymentInfo>,
    payments_down: bool,
    catalog_down: bool,
    consumers_down: bool,
    delivered: Vec<(String, String)>,
}

#[derive(Default)]
struct Fake(RefCell<State>);

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")))
}

impl Services for Fake {
    async fn cart(&self, _user_id: &str) -> Result<Vec<LineRequest>, ApiError> {
        Ok(self.0.borrow().cart.clone())
    }
    async fn clear_cart(&self, _user_id: &str) -> Result<(), ApiError> {
        let mut s = self.0.borrow_mut();
        s.cart.clear();
        s.cart_cleared = true;
        Ok(())
    }
    async fn saved_address(&self, _user_id: &str) -> Result<Option<Address>, ApiError> {
        Ok(self.0.borrow().address.clone())
    }
    fn price(&self, lines: &[QuoteLine], country: &str, promo_code: Option<&str>) -> Result<Quote, PriceError> {
        if !["DE", "FR", "US"].contains(&country) {
            return Err(PriceError::UnsupportedCountry(country.into()));
        }
        if let Some(code) = promo_code.filter(|c| *c != "WELCOME10") {
            return Err(PriceError::UnknownPromoCode(code.into()));
        }
        let subtotal: i64 = lines.iter().map(|l| l.unit_price.amount * i64::from(l.quantity)).sum();
        Ok(Quote { subtotal: eur(subtotal), discount: eur(0), shipping: eur(490), tax: eur(0), total: eur(subtotal + 490), promo_code: promo_code.map(str::to_owned) })
    }
    /// As the catalog: unknown ids are a 404; short stock a 409. Inactive
    /// products are reserved here, so the saga's own check is what refuses them.
    async fn reserve(&self, order_id: &str, lines: &[LineRequest]) -> Result<Vec<Product>, ApiError> {
        let mut s = self.0.borrow_mut();
        if s.catalog_down {
            return Err(ApiError::bad_gateway("catalog", "the catalog service could not be reached"));
        }
        let products: Vec<Product> = s.products.iter().filter(|p| lines.iter().any(|l| l.product_id == p.id)).cloned().collect();
        if let Some(unknown) = lines.iter().find(|l| !products.iter().any(|p| p.id == l.product_id)) {
            return Err(ApiError::new(404, "not_found", format!("product {} not found", unknown.product_id)).with_details(json!({ "product_id": unknown.product_id })));
        }
        let short: Vec<Json> = lines
            .iter()
            .filter(|l| s.stock.get(&l.product_id).copied().unwrap_or(0) < l.quantity)
            .map(|l| json!({ "product_id": l.product_id, "requested": l.quantity }))
            .collect();
        if !short.is_empty() {
            return Err(ApiError::conflict("out_of_stock", "not enough stock").with_details(json!({ "items": short })));
        }
        for l in lines {
            *s.stock.entry(l.product_id.clone()).or_default() -= l.quantity;
        }
        s.reservations.insert(order_id.into(), (lines.to_vec(), "reserved".into()));
        Ok(products)
    }
    async fn commit(&self, order_id: &str) -> Result<(), ApiError> {
        match self.0.borrow_mut().reservations.get_mut(order_id) {
            Some((_, state)) if state != "released" => {
                *state = "committed".into();
                Ok(())
            }
            _ => Err(ApiError::conflict("invalid_state", "released")),
        }
    }
    async fn release(&self, order_id: &str) -> Result<(), ApiError> {
        let mut s = self.0.borrow_mut();
        let Some((lines, state)) = s.reservations.get(order_id).cloned() else { return Ok(()) };
        if state != "released" {
            for l in &lines {
                *s.stock.entry(l.product_id.clone()).or_default() += l.quantity;
            }
            s.reservations.insert(order_id.into(), (lines, "released".into()));
        }
        Ok(())
    }
    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentInfo, ApiError> {
        let mut s = self.0.borrow_mut();
        if s.payments_down {
            return Err(ApiError::bad_gateway("payments", "the payments service could not be reached"));
        }
        if let Some(p) = s.payments.get(&request.order_id) {
            return Ok(p.clone());
        }
        let number = request.card.number.replace(' ', "");
        if number == "4242424242424241" {
            return Err(ApiError::new(400, "invalid_card", "card.number: checksum").with_details(json!({ "field": "card.number" })));
        }
        let status = if number == "4000000000000002" { "declined" } else { "approved" };
        let p = PaymentInfo { id: format!("pay-{}", request.order_id), status: status.into(), brand: "visa".into(), last4: number[number.len() - 4..].into() };
        s.payments.insert(request.order_id.clone(), p.clone());
        Ok(p)
    }
    async fn refund(&self, order_id: &str) -> Result<PaymentInfo, ApiError> {
        let mut s = self.0.borrow_mut();
        match s.payments.get_mut(order_id) {
            None => Err(ApiError::not_found("payment")),
            Some(p) if p.status == "declined" => Err(ApiError::conflict("invalid_state", "declined")),
            Some(p) => {
                p.status = "refunded".into();
                Ok(p.clone())
            }
        }
    }
    async fn deliver(&self, consumer: &str, event: &Event) -> Result<(), String> {
        let mut s = self.0.borrow_mut();
        if s.consumers_down {
            return Err("connection refused".into());
        }
        s.delivered.push((consumer.into(), event.kind.clone()));
        Ok(())
    }
}

fn address() -> Address {
    Address { name: "Ada".into(), line1: "1 Main St".into(), line2: None, city: "Berlin".into(), postal_code: "10115".into(), country: "DE".into() }
}

fn product(id: &str, price: i64, active: bool) -> Product {
    Product { id: id.into(), sku: format!("SKU-{id}"), name: format!("Product {id}"), price: eur(price), weight_grams: 300, active }
}

fn setup() -> (MemoryDb, Fake) {
    let db = MemoryDb::new();
    block_on(migrate(&db, store::MIGRATIONS)).unwrap_or_else(|e| panic!("{e}"));
    let fake = Fake::default();
    {
        let mut s = fake.0.borrow_mut();
        s.products = vec![product("mug", 1250, true), product("tee", 2000, true), product("old", 500, false)];
        s.stock = HashMap::from([("mug".into(), 10), ("tee".into(), 1), ("old".into(), 5)]);
        s.address = Some(address());
    }
    (db, fake)
}

fn line(id: &str, quantity: i64) -> LineRequest {
    LineRequest { product_id: id.into(), quantity }
}

fn input(items: Option<Vec<LineRequest>>, number: &str) -> PlaceInput {
    PlaceInput { items, shipping_address: None, card: Card { number: number.into(), exp_month: 12, exp_year: 2030, cvc: "123".into() }, promo_code: None }
}

const OK_CARD: &str = "4242424242424242";
const DECLINED_CARD: &str = "4000000000000002";

fn count(db: &MemoryDb, sql: &str) -> i64 {
    block_on(db.query_one(sql, &[])).ok().flatten().and_then(|r| r.int(0).ok()).unwrap_or(-1)
}

fn stock(fake: &Fake, id: &str) -> i64 {
    fake.0.borrow().stock[id]
}

#[test]
fn an_approved_order_commits_stock_and_records_order_placed() {
    let (db, fake) = setup();
    fake.0.borrow_mut().cart = vec![line("mug", 2), line("tee", 1)];
    let order = block_on(saga::place(&db, &fake, "u1", input(None, OK_CARD))).unwrap_or_else(|f| panic!("{:?}", f.error));
    assert_eq!(order.status, Status::Paid);
    assert_eq!(order.quote.total.amount, 2 * 1250 + 2000 + 490);
    assert_eq!(order.items[0].line_total.amount, 2500);
    assert_eq!(order.payment.as_ref().map(|p| p.status.as_str()), Some("approved"));
    let s = fake.0.borrow();
    assert_eq!(s.reservations[&order.id].1, "committed");
    assert_eq!((s.stock["mug"], s.stock["tee"]), (8, 0));
    assert!(s.cart_cleared, "the items came from the cart");
    assert_eq!(s.delivered, vec![("shipping".to_owned(), "order.placed".to_owned()), ("notifications".to_owned(), "order.placed".to_owned())]);
    drop(s);
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE payload LIKE '%\"order.placed\"%' AND delivered_at IS NOT NULL"), 2);
    let stored = block_on(store::get(&db, &order.id)).ok().flatten().unwrap_or_else(|| panic!("stored"));
    assert_eq!(stored.order, order);
}

#[test]
fn order_placed_carries_the_contracts_data() {
    let (db, fake) = setup();
    fake.0.borrow_mut().consumers_down = true;
    let order = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 1)]), OK_CARD))).unwrap_or_else(|f| panic!("{:?}", f.error));
    assert!(!fake.0.borrow().cart_cleared, "the items came from the body");
    let row = block_on(db.query_one("SELECT payload FROM outbox WHERE consumer = 'shipping'", &[])).ok().flatten().unwrap_or_else(|| panic!("no outbox row"));
    let event: Json = serde_json::from_str(&row.text(0).unwrap_or_default()).unwrap_or_default();
    assert_eq!(event["type"], "order.placed");
    assert_eq!(event["data"]["order_id"], order.id.as_str());
    assert_eq!(event["data"]["user_id"], "u1");
    assert_eq!(event["data"]["items"], json!([{ "product_id": "mug", "sku": "SKU-mug", "name": "Product mug", "quantity": 1 }]));
    assert_eq!(event["data"]["total"], json!({ "amount": 1740, "currency": "EUR" }));
    assert_eq!(event["data"]["shipping_address"]["city"], "Berlin");
    // The consumers were down: the rows wait for a later relay.
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"), 2);
}

#[test]
fn a_declined_card_releases_the_stock_and_records_payment_failed() {
    let (db, fake) = setup();
    let failed = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 3)]), DECLINED_CARD))).err().unwrap_or_else(|| panic!("declined"));
    assert_eq!((failed.error.status, failed.error.code), (402, "payment_declined"));
    let id = failed.error.details["order_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(stock(&fake, "mug"), 10, "stock given back");
    assert_eq!(fake.0.borrow().reservations[&id].1, "released");
    let stored = block_on(store::get(&db, &id)).ok().flatten().unwrap_or_else(|| panic!("recorded"));
    assert_eq!(stored.order.status, Status::PaymentFailed);
    assert_eq!(stored.order.payment.map(|p| p.status), Some("declined".into()));
    assert_eq!(count(&db, "SELECT count(*) FROM outbox"), 0, "no event for an unpaid order");
}

#[test]
fn out_of_stock_is_passed_on_and_records_nothing() {
    let (db, fake) = setup();
    let failed = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 1), line("tee", 2)]), OK_CARD))).err().unwrap_or_else(|| panic!("out of stock"));
    assert_eq!((failed.error.status, failed.error.code), (409, "out_of_stock"));
    assert_eq!(failed.error.details["items"][0]["product_id"], "tee");
    assert!(!failed.recorded);
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), 0);
    assert_eq!(stock(&fake, "mug"), 10);
    assert!(fake.0.borrow().payments.is_empty(), "nothing charged");
}

#[test]
fn payments_down_releases_the_stock_and_names_the_service() {
    let (db, fake) = setup();
    fake.0.borrow_mut().payments_down = true;
    let failed = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 2)]), OK_CARD))).err().unwrap_or_else(|| panic!("failed"));
    assert_eq!(failed.error.status, 502);
    assert_eq!(failed.error.details["service"], "payments");
    let id = failed.error.details["order_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(stock(&fake, "mug"), 10);
    let stored = block_on(store::get(&db, &id)).ok().flatten().unwrap_or_else(|| panic!("recorded"));
    assert_eq!(stored.order.status, Status::PaymentFailed);
    assert!(stored.note.unwrap_or_default().contains("the charge failed"));
}

#[test]
fn an_invalid_card_is_passed_on_and_releases_the_stock() {
    let (db, fake) = setup();
    let failed = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 1)]), "4242424242424241"))).err().unwrap_or_else(|| panic!("failed"));
    assert_eq!((failed.error.status, failed.error.code), (400, "invalid_card"));
    assert_eq!(failed.error.details["field"], "card.number");
    assert_eq!(stock(&fake, "mug"), 10);
}

#[test]
fn what_cannot_be_ordered() {
    let (db, fake) = setup();
    let code = |input: PlaceInput| block_on(saga::place(&db, &fake, "u1", input)).err().map(|f| (f.error.status, f.error.code)).unwrap_or((0, "none"));
    assert_eq!(code(input(None, OK_CARD)), (422, "empty_cart"));
    assert_eq!(code(input(Some(vec![line("nope", 1)]), OK_CARD)), (404, "not_found"));
    assert_eq!(code(input(Some(vec![line("old", 1)]), OK_CARD)), (422, "product_inactive"));
    let mut promo = input(Some(vec![line("mug", 1)]), OK_CARD);
    promo.promo_code = Some("FREE".into());
    assert_eq!(code(promo), (422, "unknown_promo_code"));
    let mut abroad = input(Some(vec![line("mug", 1)]), OK_CARD);
    abroad.shipping_address = Some(Address { country: "JP".into(), ..address() });
    assert_eq!(code(abroad), (422, "unsupported_country"));
    fake.0.borrow_mut().address = None;
    let e = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 1)]), OK_CARD))).err().map(|f| f.error).unwrap_or_else(|| ApiError::internal("placed"));
    assert_eq!((e.status, e.details["field"].as_str()), (400, Some("shipping_address")));
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), 0);
    assert_eq!(stock(&fake, "mug"), 10);
    // Reserved before it was priced, then given back when it could not be.
    let s = fake.0.borrow();
    assert_eq!(s.reservations.len(), 3, "inactive, promo code, country: {:?}", s.reservations.values().collect::<Vec<_>>());
    assert!(s.reservations.values().all(|(_, state)| state == "released"));
}

fn body(items: &str, number: &str) -> Vec<u8> {
    format!(r#"{{"items": {items}, "card": {{"number": "{number}", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}}}"#).into_bytes()
}

#[test]
fn a_retry_with_the_same_key_gets_the_first_answer() {
    let (db, fake) = setup();
    let b = body(r#"[{"product_id": "mug", "quantity": 1}]"#, OK_CARD);
    let first = block_on(saga::place_idempotent(&db, &fake, "u1", Some("k-1"), &b));
    assert_eq!(first.status, 201);
    let again = block_on(saga::place_idempotent(&db, &fake, "u1", Some("k-1"), &b));
    assert_eq!(again, first);
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), 1);
    assert_eq!(stock(&fake, "mug"), 9);
    // A declined first attempt is answered again as it was, too.
    let declined_body = body(r#"[{"product_id": "mug", "quantity": 1}]"#, DECLINED_CARD);
    let declined = block_on(saga::place_idempotent(&db, &fake, "u1", Some("k-2"), &declined_body));
    assert_eq!(declined.status, 402);
    assert_eq!(block_on(saga::place_idempotent(&db, &fake, "u1", Some("k-2"), &declined_body)), declined);
    // The key with another body (another card) is refused, not answered as the first.
    let reused = block_on(saga::place_idempotent(&db, &fake, "u1", Some("k-2"), &b));
    assert_eq!((reused.status, reused.body["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), 2, "the refused request placed nothing");
    // Without a key, each request is a new order.
    let Answer { status, .. } = block_on(saga::place_idempotent(&db, &fake, "u1", None, &b));
    assert_eq!(status, 201);
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), 3);
}

#[test]
fn a_key_is_refused_while_its_first_request_runs_and_freed_after_a_server_failure() {
    let (db, fake) = setup();
    let b = body(r#"[{"product_id": "mug", "quantity": 1}]"#, OK_CARD);
    let hash = crate::idempotency::request_hash(&b).unwrap();
    block_on(crate::idempotency::begin(&db, "u1", "busy", &hash, shop_common::timestamp::now_unix())).unwrap_or_else(|e| panic!("{e}"));
    let busy = block_on(saga::place_idempotent(&db, &fake, "u1", Some("busy"), &b));
    assert_eq!((busy.status, busy.body["error"]["code"].as_str()), (409, Some("idempotency_conflict")));
    let bad = block_on(saga::place_idempotent(&db, &fake, "u1", Some(""), &b));
    assert_eq!(bad.status, 400);
    // The catalog was down before anything happened: the key is free again.
    fake.0.borrow_mut().catalog_down = true;
    let down = block_on(saga::place_idempotent(&db, &fake, "u1", Some("k"), &b));
    assert_eq!((down.status, down.body["error"]["details"]["service"].as_str()), (502, Some("catalog")));
    fake.0.borrow_mut().catalog_down = false;
    assert_eq!(block_on(saga::place_idempotent(&db, &fake, "u1", Some("k"), &b)).status, 201);
}

fn customer(id: &str) -> Identity {
    Identity { user_id: id.into(), role: Role::Customer }
}

fn paid_order(db: &MemoryDb, fake: &Fake) -> String {
    block_on(saga::place(db, fake, "u1", input(Some(vec![line("mug", 2)]), OK_CARD))).map(|o| o.id).unwrap_or_else(|f| panic!("{:?}", f.error))
}

#[test]
fn cancelling_a_paid_order_refunds_returns_stock_and_tells_the_consumers() {
    let (db, fake) = setup();
    let id = paid_order(&db, &fake);
    assert_eq!(stock(&fake, "mug"), 8);
    assert_eq!(block_on(cancel::cancel(&db, &fake, &customer("u2"), &id)).unwrap_err().status, 404, "someone else's");
    let order = block_on(cancel::cancel(&db, &fake, &customer("u1"), &id)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(order.status, Status::Cancelled);
    assert_eq!(order.payment.map(|p| p.status), Some("refunded".into()));
    assert_eq!(stock(&fake, "mug"), 10);
    assert!(fake.0.borrow().delivered.iter().any(|(c, k)| c == "notifications" && k == "order.cancelled"));
    let row = block_on(db.query_one("SELECT payload FROM outbox WHERE payload LIKE '%order.cancelled%' AND consumer = 'shipping'", &[])).ok().flatten();
    let event: Json = row.and_then(|r| r.text(0).ok()).and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    assert_eq!(event["data"], json!({ "order_id": id, "user_id": "u1", "refunded": true }));
    // Again: answered as it is, nothing done twice.
    let again = block_on(cancel::cancel(&db, &fake, &Identity { user_id: "admin".into(), role: Role::Admin }, &id)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.status, Status::Cancelled);
    assert_eq!(stock(&fake, "mug"), 10);
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE payload LIKE '%order.cancelled%'"), 2);
}

#[test]
fn cancelling_unpaid_and_shipped_orders() {
    let (db, fake) = setup();
    let failed = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 1)]), DECLINED_CARD))).err().unwrap_or_else(|| panic!("declined"));
    let id = failed.error.details["order_id"].as_str().unwrap_or_default().to_owned();
    let order = block_on(cancel::cancel(&db, &fake, &customer("u1"), &id)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(order.status, Status::Cancelled);
    assert_eq!(stock(&fake, "mug"), 10);

    let shipped = paid_order(&db, &fake);
    block_on(db.exec("UPDATE orders SET status = 'shipped' WHERE id = ?", &[shipped.as_str().into()])).unwrap_or_else(|e| panic!("{e}"));
    let e = block_on(cancel::cancel(&db, &fake, &customer("u1"), &shipped)).unwrap_err();
    assert_eq!((e.status, e.code), (409, "invalid_state"));
}

fn shipment_event(order_id: &str, status: &str) -> Event {
    Event::new("shipment.updated", json!({ "shipment_id": "s1", "order_id": order_id, "user_id": "u1", "status": status, "tracking_number": "T1" }))
}

fn status_of(db: &MemoryDb, id: &str) -> Option<Status> {
    block_on(store::get(db, id)).ok().flatten().map(|s| s.order.status)
}

#[test]
fn shipment_updates_move_orders_forwards_once() {
    let (db, fake) = setup();
    let id = paid_order(&db, &fake);
    let in_transit = shipment_event(&id, "in_transit");
    let consume = |e: &Event| block_on(outbox::consume(&db, e, 100)).map(|c| c.status).unwrap_or("error");
    assert_eq!(consume(&in_transit), "applied");
    assert_eq!(status_of(&db, &id), Some(Status::Shipped));
    assert_eq!(consume(&in_transit), "duplicate");
    assert_eq!(consume(&shipment_event(&id, "delivered")), "applied");
    assert_eq!(consume(&shipment_event(&id, "in_transit")), "ignored", "never backwards");
    assert_eq!(status_of(&db, &id), Some(Status::Delivered));
    assert_eq!(consume(&Event::new("order.placed", json!({}))), "ignored");
    assert_eq!(consume(&shipment_event("nope", "in_transit")), "ignored");

    let other = paid_order(&db, &fake);
    block_on(cancel::cancel(&db, &fake, &customer("u1"), &other)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(consume(&shipment_event(&other, "delivered")), "ignored", "never out of cancelled");
    assert_eq!(status_of(&db, &other), Some(Status::Cancelled));
}

#[test]
fn summary_and_lists() {
    let (db, fake) = setup();
    let a = paid_order(&db, &fake);
    let b = paid_order(&db, &fake);
    let _ = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("tee", 1)]), DECLINED_CARD)));
    block_on(cancel::cancel(&db, &fake, &customer("u1"), &b)).unwrap_or_else(|e| panic!("{e}"));
    let summary = block_on(store::summary(&db)).unwrap_or_default();
    assert_eq!(summary, json!({ "paid_quantities": { "mug": 2 }, "paid_orders": [a] }));
    let page = block_on(store::list_for_user(&db, "u1", shop_common::PageRequest::default())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 3);
    assert_eq!(page.items[0].status, Status::PaymentFailed, "newest first");
    assert_eq!(block_on(store::list_for_user(&db, "u2", shop_common::PageRequest::default())).map(|p| p.total).unwrap_or(9), 0);
}
