//! The saga, cancelling and event consumption against a fake of the other
//! services on an in-memory SQLite.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

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
    /// Orders whose lines were taken out of the cart, as the cart records them.
    cart_taken: Vec<String>,
    cart_down: bool,
    address: Option<Address>,
    products: Vec<Product>,
    /// Available stock per product.
    stock: HashMap<String, i64>,
    /// order id → (lines, "reserved" | "committed" | "released")
    reservations: HashMap<String, (Vec<LineRequest>, String)>,
    payments: HashMap<String, PaymentInfo>,
    /// Orders payments refuses to charge (closed by recovery or a refund).
    closed: HashSet<String>,
    payments_down: bool,
    catalog_down: bool,
    consumers_down: bool,
    /// The next this many releases fail (the catalog answers 503).
    failing_releases: u32,
    delivered: Vec<(String, String)>,
    /// Where a placement stops, as if its request stalled or its host died:
    /// `charge` (before charging), `charged` (after), `committed` (after
    /// committing the stock), `cart_taken` (after the cart gave up the
    /// order's lines). It goes on once `resume` is set.
    pause_at: Option<&'static str>,
    paused: bool,
    resume: bool,
}

#[derive(Default)]
struct Fake(RefCell<State>);

/// Pending until the test sets `resume`: polled by hand, never woken.
struct Gate<'a>(&'a Fake);

impl std::future::Future for Gate<'_> {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0.0.borrow().resume { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    }
}

impl Fake {
    async fn pause(&self, point: &str) {
        if self.0.borrow().pause_at == Some(point) {
            self.0.borrow_mut().paused = true;
            Gate(self).await;
        }
    }

    fn charge_now(&self, request: &ChargeRequest) -> Result<PaymentInfo, ApiError> {
        let mut s = self.0.borrow_mut();
        if s.payments_down {
            return Err(ApiError::bad_gateway("payments", "the payments service could not be reached"));
        }
        if let Some(p) = s.payments.get(&request.order_id) {
            return Ok(p.clone());
        }
        if s.closed.contains(&request.order_id) {
            return Err(ApiError::conflict("invalid_state", "the order is closed to new charges"));
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

    fn commit_now(&self, order_id: &str) -> Result<(), ApiError> {
        let mut s = self.0.borrow_mut();
        if s.catalog_down {
            return Err(ApiError::bad_gateway("catalog", "the catalog service could not be reached"));
        }
        match s.reservations.get_mut(order_id) {
            Some((_, state)) if state != "released" => {
                *state = "committed".into();
                Ok(())
            }
            _ => Err(ApiError::conflict("invalid_state", "released")),
        }
    }
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")))
}

impl Services for Fake {
    async fn cart(&self, _user_id: &str) -> Result<Vec<LineRequest>, ApiError> {
        Ok(self.0.borrow().cart.clone())
    }
    /// As the cart: each order's lines taken out once.
    async fn take_from_cart(&self, order: &crate::model::Order) -> Result<(), ApiError> {
        {
            let mut s = self.0.borrow_mut();
            if s.cart_down {
                return Err(ApiError::bad_gateway("cart", "the cart service could not be reached"));
            }
            if !s.cart_taken.contains(&order.id) {
                for item in &order.items {
                    if let Some(l) = s.cart.iter_mut().find(|l| l.product_id == item.product_id) {
                        l.quantity = l.quantity.saturating_sub(i64::from(item.quantity));
                    }
                }
                s.cart.retain(|l| l.quantity > 0);
                s.cart_taken.push(order.id.clone());
            }
        }
        self.pause("cart_taken").await;
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
        Ok(Quote {
            subtotal: eur(subtotal),
            discount: eur(0),
            shipping: eur(490),
            tax: eur(0),
            total: eur(subtotal + 490),
            promo_code: promo_code.map(str::to_owned),
        })
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
            return Err(
                ApiError::new(404, "not_found", format!("product {} not found", unknown.product_id)).with_details(json!({ "product_id": unknown.product_id }))
            );
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
        self.commit_now(order_id)?;
        self.pause("committed").await;
        Ok(())
    }
    async fn release(&self, order_id: &str) -> Result<(), ApiError> {
        let mut s = self.0.borrow_mut();
        if s.catalog_down {
            return Err(ApiError::bad_gateway("catalog", "the catalog service could not be reached"));
        }
        if s.failing_releases > 0 {
            s.failing_releases -= 1;
            return Err(ApiError::unavailable("the catalog's database failed"));
        }
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
        self.pause("charge").await;
        let payment = self.charge_now(request)?;
        self.pause("charged").await;
        Ok(payment)
    }
    async fn refund(&self, order_id: &str) -> Result<PaymentInfo, ApiError> {
        let mut s = self.0.borrow_mut();
        if s.payments_down {
            return Err(ApiError::bad_gateway("payments", "the payments service could not be reached"));
        }
        match s.payments.get_mut(order_id) {
            None => {
                s.closed.insert(order_id.into());
                Err(ApiError::not_found("payment"))
            }
            Some(p) if p.status == "declined" => Err(ApiError::conflict("invalid_state", "declined")),
            Some(p) => {
                p.status = "refunded".into();
                Ok(p.clone())
            }
        }
    }
    async fn close_charge(&self, order_id: &str) -> Result<Option<PaymentInfo>, ApiError> {
        let mut s = self.0.borrow_mut();
        if s.payments_down {
            return Err(ApiError::bad_gateway("payments", "the payments service could not be reached"));
        }
        s.closed.insert(order_id.into());
        Ok(s.payments.get(order_id).cloned())
    }
    async fn deliver(&self, consumer: &str, event: &Event) -> Result<(), String> {
        let mut s = self.0.borrow_mut();
        if s.consumers_down {
            return Err("connection refused".into());
        }
        s.delivered.push((consumer.into(), event.kind.clone()));
        // As the cart: lines it gave an order come back once.
        if consumer == "cart" && event.kind == crate::commands::RETURN_TO_CART {
            let order_id = event.data["order_id"].as_str().unwrap_or_default().to_owned();
            if let Some(at) = s.cart_taken.iter().position(|o| *o == order_id) {
                s.cart_taken.remove(at);
                for item in event.data["items"].as_array().into_iter().flatten() {
                    let (product_id, quantity) = (item["product_id"].as_str().unwrap_or_default(), item["quantity"].as_i64().unwrap_or_default());
                    match s.cart.iter_mut().find(|l| l.product_id == product_id) {
                        Some(l) => l.quantity += quantity,
                        None => s.cart.push(line(product_id, quantity)),
                    }
                }
            }
        }
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
    assert_eq!(s.cart_taken, vec![order.id.clone()], "the items came from the cart: the request takes them out");
    assert!(s.cart.is_empty());
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
    assert!(fake.0.borrow().cart_taken.is_empty(), "the items came from the body");
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
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE consumer IN ('shipping', 'notifications')"), 0, "no event for an unpaid order");
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE consumer = 'catalog' AND delivered_at IS NOT NULL"), 1, "the release went through the outbox");
}

#[test]
fn out_of_stock_is_passed_on_and_records_nothing() {
    let (db, fake) = setup();
    let failed =
        block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 1), line("tee", 2)]), OK_CARD))).err().unwrap_or_else(|| panic!("out of stock"));
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
    let e = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 1)]), OK_CARD)))
        .err()
        .map(|f| f.error)
        .unwrap_or_else(|| ApiError::internal("placed"));
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
    let summary = block_on(crate::audit::summary(&db)).unwrap_or_default();
    assert_eq!(summary, json!({ "paid_quantities": { "mug": 2 }, "paid_orders": [a], "pending_orders": [], "compensations_pending": 0 }));
    let page = block_on(store::list_for_user(&db, "u1", shop_common::PageRequest::default())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 3);
    assert_eq!(page.items[0].status, Status::PaymentFailed, "newest first");
    assert_eq!(block_on(store::list_for_user(&db, "u2", shop_common::PageRequest::default())).map(|p| p.total).unwrap_or(9), 0);
}

// Recovery of placements that stopped half-way, and compensations.

type Placing<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<crate::model::Order, saga::Failed>> + 'a>>;

/// A placement of 2 mugs run until the fake holds it at `point`: resume it
/// (`resume`, then `block_on`) as a slow request, or drop it as a crash.
fn stalled_at<'a>(db: &'a MemoryDb, fake: &'a Fake, point: &'static str, card: &str) -> (Placing<'a>, String) {
    fake.0.borrow_mut().pause_at = Some(point);
    let mut placing: Placing<'a> = Box::pin(saga::place(db, fake, "u1", input(Some(vec![line("mug", 2)]), card)));
    assert!(futures::FutureExt::now_or_never(placing.as_mut()).is_none(), "the placement ran past {point}");
    assert!(fake.0.borrow().paused);
    // Only this placement stops there.
    fake.0.borrow_mut().pause_at = None;
    let row = block_on(db.query_one("SELECT id FROM orders WHERE status = 'pending'", &[])).ok().flatten().unwrap_or_else(|| panic!("no pending order"));
    (placing, row.text(0).unwrap_or_default())
}

/// Recovery as the relay runs it, `after` seconds from now, with a grace of 60 s.
fn recover_after(db: &MemoryDb, fake: &Fake, after: i64) -> crate::recovery::Recovered {
    block_on(crate::recovery::recover_due(db, fake, shop_common::timestamp::now_unix() + after, 60)).unwrap_or_else(|e| panic!("{e}"))
}

fn stored(db: &MemoryDb, id: &str) -> store::Stored {
    block_on(store::get(db, id)).ok().flatten().unwrap_or_else(|| panic!("order {id} is not stored"))
}

fn placed_events(db: &MemoryDb) -> i64 {
    count(db, "SELECT count(*) FROM outbox WHERE payload LIKE '%\"order.placed\"%'")
}

fn compensations_pending(db: &MemoryDb) -> u64 {
    block_on(crate::commands::pending(db)).unwrap_or(u64::MAX)
}

#[test]
fn an_order_left_pending_with_an_approved_charge_is_completed_by_recovery() {
    for point in ["charged", "committed"] {
        let (db, fake) = setup();
        let (crashed, id) = stalled_at(&db, &fake, point, OK_CARD);
        drop(crashed);
        assert_eq!(recover_after(&db, &fake, 0), Default::default(), "{point}: not past the grace period yet");
        let done = recover_after(&db, &fake, 61);
        assert_eq!((done.paid, done.unpaid, done.refunded, done.failed), (1, 0, 0, 0), "{point}");
        let order = stored(&db, &id);
        assert_eq!(order.order.status, Status::Paid, "{point}");
        assert_eq!(order.order.payment.map(|p| p.status), Some("approved".into()));
        assert_eq!(fake.0.borrow().reservations[&id].1, "committed");
        assert_eq!(stock(&fake, "mug"), 8);
        assert_eq!(placed_events(&db), 2, "order.placed for shipping and notifications");
        assert_eq!(recover_after(&db, &fake, 200), Default::default(), "settled once");
    }
}

/// A placement of `cart` (ordered from the cart) run until the fake holds
/// it at `point`: resume it (`resume`, then `block_on`) as a slow request,
/// or drop it as a crash.
fn stalled_from_cart<'a>(db: &'a MemoryDb, fake: &'a Fake, cart: Vec<LineRequest>, point: &'static str) -> Placing<'a> {
    fake.0.borrow_mut().cart = cart;
    fake.0.borrow_mut().pause_at = Some(point);
    let mut placing: Placing<'a> = Box::pin(saga::place(db, fake, "u1", input(None, OK_CARD)));
    assert!(futures::FutureExt::now_or_never(placing.as_mut()).is_none(), "the placement ran past `{point}`");
    fake.0.borrow_mut().pause_at = None;
    placing
}

#[test]
fn an_order_from_the_cart_completed_by_recovery_tells_the_cart_too() {
    let (db, fake) = setup();
    let placing = stalled_from_cart(&db, &fake, vec![line("mug", 2)], "committed");
    // The crash: the order is pending, its cart untouched.
    drop(placing);
    assert_eq!(recover_after(&db, &fake, 61).paid, 1);
    assert!(fake.0.borrow().cart_taken.is_empty(), "the crash came before the cart was told; recovery tells it through the outbox");
    assert_eq!(placed_events(&db), 3, "order.placed for shipping, notifications and the cart");
    let row = block_on(db.query_one("SELECT payload FROM outbox WHERE consumer = 'cart'", &[]))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no outbox row for the cart"));
    let event: Json = serde_json::from_str(&row.text(0).unwrap_or_default()).unwrap_or_default();
    assert_eq!((event["type"].as_str(), event["data"]["user_id"].as_str()), (Some("order.placed"), Some("u1")));
    assert_eq!(event["data"]["items"][0]["product_id"], "mug");
    assert_eq!(event["data"]["items"][0]["quantity"], 2);
}

/// A crash after the cart gave up the order's lines and before the order
/// was marked paid: recovery completes the order and tells the cart again,
/// which the cart takes as a duplicate (it applies an order once).
#[test]
fn a_crash_between_the_carts_take_and_paid_is_completed_by_recovery() {
    let (db, fake) = setup();
    let placing = stalled_from_cart(&db, &fake, vec![line("mug", 2), line("tee", 1)], "cart_taken");
    drop(placing);
    let id = fake.0.borrow().cart_taken[0].clone();
    assert_eq!(stored(&db, &id).order.status, Status::Pending);
    assert!(fake.0.borrow().cart.is_empty(), "the cart gave up its lines before the crash");

    assert_eq!(recover_after(&db, &fake, 61).paid, 1);
    assert_eq!(stored(&db, &id).order.status, Status::Paid);
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE consumer = 'cart'"), 1, "the cart is told again by the outbox");
    assert_eq!(fake.0.borrow().cart_taken, vec![id], "once");
}

/// A cancel that lands while the placement has taken the cart's lines and
/// not yet marked the order paid: the order ends cancelled, and the cart
/// gets its lines back, once (the cancel's command and the placement's own
/// both ask for them).
#[test]
fn a_cancel_after_the_carts_take_gives_the_lines_back_once() {
    let (db, fake) = setup();
    let placing = stalled_from_cart(&db, &fake, vec![line("mug", 2)], "cart_taken");
    let id = fake.0.borrow().cart_taken[0].clone();
    assert!(fake.0.borrow().cart.is_empty());

    let owner = Identity { user_id: "u1".into(), role: Role::Customer };
    let cancelled = block_on(cancel::cancel(&db, &fake, &owner, &id)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(cancelled.status, Status::Cancelled);
    assert_eq!(fake.0.borrow().cart, vec![line("mug", 2)], "the cancel gave the lines back");

    fake.0.borrow_mut().resume = true;
    let failed = block_on(placing).expect_err("the order was cancelled meanwhile");
    assert_eq!(failed.error.code, "invalid_state");
    assert_eq!(fake.0.borrow().cart, vec![line("mug", 2)], "given back once");
    assert_eq!(compensations_pending(&db), 0);
}

/// The database fails as the order is marked paid, after the cart gave
/// the order its lines: the order ends `payment_failed`, its charge is
/// refunded, its stock released and the cart gets the lines back.
#[test]
fn an_order_that_cannot_be_marked_paid_gives_the_carts_lines_back() {
    let (db, fake) = setup();
    fake.0.borrow_mut().cart = vec![line("mug", 2)];
    let refuse = "CREATE TRIGGER refuse_paid BEFORE UPDATE OF status ON orders WHEN NEW.status = 'paid' BEGIN SELECT RAISE(ABORT, 'the disk is full'); END";
    block_on(db.exec(refuse, &[])).unwrap_or_else(|e| panic!("{e:?}"));
    let failed = block_on(saga::place(&db, &fake, "u1", input(None, OK_CARD))).expect_err("the order cannot be marked paid");
    assert!(failed.recorded);
    let id = block_on(db.query_one("SELECT id FROM orders", &[])).ok().flatten().map(|r| r.text(0).unwrap_or_default()).unwrap_or_default();
    let order = stored(&db, &id).order;
    assert_eq!((order.status, order.payment.map(|p| p.status)), (Status::PaymentFailed, Some("refunded".to_owned())));
    assert_eq!(stock(&fake, "mug"), 10, "released");
    let s = fake.0.borrow();
    assert_eq!(s.cart, vec![line("mug", 2)], "the cart has its lines back");
    assert!(s.cart_taken.is_empty());
    drop(s);
    assert_eq!(compensations_pending(&db), 0);
}

/// A cancel of a pending order made from the cart before its placement
/// reached the cart: the cancel's return finds nothing to give back, the
/// placement then takes the lines, finds the order cancelled and gives
/// them back itself. The cart ends as it was.
#[test]
fn a_cancel_before_the_carts_take_leaves_the_cart_alone() {
    let (db, fake) = setup();
    let placing = stalled_from_cart(&db, &fake, vec![line("mug", 2)], "committed");
    let id = block_on(db.query_one("SELECT id FROM orders", &[])).ok().flatten().map(|r| r.text(0).unwrap_or_default()).unwrap_or_default();
    let owner = Identity { user_id: "u1".into(), role: Role::Customer };
    block_on(cancel::cancel(&db, &fake, &owner, &id)).unwrap_or_else(|e| panic!("{e:?}"));
    fake.0.borrow_mut().resume = true;
    let _ = block_on(placing);
    assert_eq!(fake.0.borrow().cart, vec![line("mug", 2)]);
    assert!(fake.0.borrow().delivered.contains(&("cart".to_owned(), "cart.return".to_owned())), "asked, and the cart had nothing to give back");
}

/// A placement that cannot reach the cart still completes, and hands the
/// cart's part to the outbox with `paid`, to be told until it has it.
#[test]
fn a_cart_that_cannot_be_reached_is_told_through_the_outbox() {
    let (db, fake) = setup();
    fake.0.borrow_mut().cart = vec![line("mug", 2)];
    fake.0.borrow_mut().cart_down = true;
    fake.0.borrow_mut().consumers_down = true;
    let order = block_on(saga::place(&db, &fake, "u1", input(None, OK_CARD))).unwrap_or_else(|f| panic!("{:?}", f.error));
    assert_eq!(order.status, Status::Paid);
    assert_eq!(fake.0.borrow().cart, vec![line("mug", 2)], "not reached");
    let row = block_on(db.query_one("SELECT payload FROM outbox WHERE consumer = 'cart' AND delivered_at IS NULL", &[]))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no outbox row for the cart"));
    let event: Json = serde_json::from_str(&row.text(0).unwrap_or_default()).unwrap_or_default();
    assert_eq!((event["type"].as_str(), event["data"]["order_id"].as_str()), (Some("order.placed"), Some(order.id.as_str())));
}

#[test]
fn an_approved_charge_whose_reservation_was_released_is_refunded() {
    let (db, fake) = setup();
    let (crashed, id) = stalled_at(&db, &fake, "charged", OK_CARD);
    drop(crashed);
    // The reservation expired and the catalog's sweep gave the stock back.
    block_on(fake.release(&id)).unwrap_or_else(|e| panic!("{e}"));
    let done = recover_after(&db, &fake, 61);
    assert_eq!((done.paid, done.refunded), (0, 1));
    let order = stored(&db, &id);
    assert_eq!(order.order.status, Status::PaymentFailed);
    assert_eq!(order.order.payment.map(|p| p.status), Some("refunded".into()));
    assert!(order.note.unwrap_or_default().contains("refunded"));
    assert_eq!(fake.0.borrow().payments[&id].status, "refunded");
    assert_eq!(stock(&fake, "mug"), 10);
    assert_eq!((placed_events(&db), compensations_pending(&db)), (0, 0));
}

#[test]
fn an_order_never_charged_is_released_and_can_no_longer_be_charged() {
    let (db, fake) = setup();
    let (slow, id) = stalled_at(&db, &fake, "charge", OK_CARD);
    let done = recover_after(&db, &fake, 61);
    assert_eq!((done.unpaid, done.paid), (1, 0));
    assert_eq!(stored(&db, &id).order.status, Status::PaymentFailed);
    assert_eq!(stock(&fake, "mug"), 10);
    assert_eq!(fake.0.borrow().reservations[&id].1, "released");
    // The slow request goes on: payments refuses the charge, and the order
    // stays as recovery left it.
    fake.0.borrow_mut().resume = true;
    let failed = block_on(slow).err().unwrap_or_else(|| panic!("the late placement succeeded"));
    assert_eq!(failed.error.status, 409, "{:?}", failed.error);
    assert!(fake.0.borrow().payments.is_empty(), "nothing charged");
    assert_eq!(stored(&db, &id).order.status, Status::PaymentFailed);
    assert_eq!(stock(&fake, "mug"), 10);
}

#[test]
fn a_declined_charge_left_pending_is_released() {
    let (db, fake) = setup();
    let (crashed, id) = stalled_at(&db, &fake, "charged", DECLINED_CARD);
    drop(crashed);
    let done = recover_after(&db, &fake, 61);
    assert_eq!((done.unpaid, done.paid), (1, 0));
    let order = stored(&db, &id);
    assert_eq!(order.order.status, Status::PaymentFailed);
    assert_eq!(order.order.payment.map(|p| p.status), Some("declined".into()));
    assert!(order.note.unwrap_or_default().contains("declined"));
    assert_eq!(stock(&fake, "mug"), 10);
    assert_eq!(compensations_pending(&db), 0);
}

#[test]
fn a_slow_placement_and_recovery_settle_an_order_once() {
    let (db, fake) = setup();
    let (slow, id) = stalled_at(&db, &fake, "charged", OK_CARD);
    assert_eq!(recover_after(&db, &fake, 61).paid, 1);
    fake.0.borrow_mut().resume = true;
    let order = block_on(slow).unwrap_or_else(|f| panic!("{:?}", f.error));
    assert_eq!((order.id.as_str(), order.status), (id.as_str(), Status::Paid), "the client is told it is paid");
    assert_eq!(placed_events(&db), 2, "order.placed recorded once");
    assert_eq!(stock(&fake, "mug"), 8);
}

#[test]
fn recovery_that_cannot_reach_payments_tries_again_after_the_grace_period() {
    let (db, fake) = setup();
    let (crashed, id) = stalled_at(&db, &fake, "charged", OK_CARD);
    drop(crashed);
    fake.0.borrow_mut().payments_down = true;
    assert_eq!(recover_after(&db, &fake, 61).failed, 1);
    fake.0.borrow_mut().payments_down = false;
    assert_eq!(recover_after(&db, &fake, 62), Default::default(), "held until another grace period has passed");
    assert_eq!(recover_after(&db, &fake, 122).paid, 1);
    assert_eq!(stored(&db, &id).order.status, Status::Paid);
}

#[test]
fn cancelling_a_pending_order_refunds_its_approved_charge() {
    let (db, fake) = setup();
    let (slow, id) = stalled_at(&db, &fake, "charged", OK_CARD);
    let order = block_on(cancel::cancel(&db, &fake, &customer("u1"), &id)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(order.status, Status::Cancelled);
    assert_eq!(order.payment.map(|p| p.status), Some("refunded".into()));
    assert_eq!(fake.0.borrow().payments[&id].status, "refunded");
    assert_eq!(stock(&fake, "mug"), 10);
    // The placement goes on: the released stock cannot be committed, and
    // the order stays cancelled.
    fake.0.borrow_mut().resume = true;
    assert!(block_on(slow).is_err());
    assert_eq!(stored(&db, &id).order.status, Status::Cancelled);
    assert_eq!((stock(&fake, "mug"), placed_events(&db), compensations_pending(&db)), (10, 0, 0));
}

#[test]
fn a_failing_release_stays_queued_and_is_retried_until_it_succeeds() {
    let (db, fake) = setup();
    fake.0.borrow_mut().failing_releases = 2;
    let failed = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("mug", 3)]), DECLINED_CARD))).err().unwrap_or_else(|| panic!("declined"));
    let id = failed.error.details["order_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(stored(&db, &id).order.status, Status::PaymentFailed);
    assert_eq!((stock(&fake, "mug"), compensations_pending(&db)), (7, 1), "the release failed and waits in the outbox");
    let now = shop_common::timestamp::now_unix();
    let relay = |at: i64| block_on(outbox::relay(&db, &fake, at)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((relay(now + 1).failed, compensations_pending(&db)), (1, 1), "tried again after its back-off, failed again");
    assert_eq!(relay(now + 2).delivered, 0, "not due yet");
    assert_eq!(relay(now + 10).delivered, 1);
    assert_eq!((stock(&fake, "mug"), compensations_pending(&db)), (10, 0));
    assert_eq!(count(&db, "SELECT attempts FROM outbox WHERE consumer = 'catalog'"), 3);
    assert_eq!(relay(now + 1000), shop_common::events::RelayReport::default(), "done once");
}

#[test]
fn a_refund_that_fails_when_a_paid_order_is_cancelled_is_retried() {
    let (db, fake) = setup();
    let id = paid_order(&db, &fake);
    fake.0.borrow_mut().payments_down = true;
    let order = block_on(cancel::cancel(&db, &fake, &customer("u1"), &id)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(order.status, Status::Cancelled, "the cancel is recorded; the refund follows");
    assert_eq!(order.payment.map(|p| p.status), Some("approved".into()));
    assert_eq!((stock(&fake, "mug"), compensations_pending(&db)), (10, 1));
    fake.0.borrow_mut().payments_down = false;
    let report = block_on(outbox::relay(&db, &fake, shop_common::timestamp::now_unix() + 5)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.delivered, report.pending), (1, 0));
    assert_eq!(fake.0.borrow().payments[&id].status, "refunded");
    assert_eq!(stored(&db, &id).order.payment.map(|p| p.status), Some("refunded".into()), "the order shows the refund");
}

#[test]
fn the_summary_reports_what_is_not_settled() {
    let (db, fake) = setup();
    let paid = paid_order(&db, &fake);
    let (crashed, pending) = stalled_at(&db, &fake, "charged", OK_CARD);
    drop(crashed);
    fake.0.borrow_mut().failing_releases = 1;
    let _ = block_on(saga::place(&db, &fake, "u1", input(Some(vec![line("tee", 1)]), DECLINED_CARD)));
    let summary = block_on(crate::audit::summary(&db)).unwrap_or_default();
    assert_eq!(summary["paid_orders"], json!([paid]));
    assert_eq!(summary["pending_orders"], json!([pending]));
    assert_eq!(summary["compensations_pending"], 1);
}

#[test]
fn a_retry_of_a_key_whose_request_crashed_is_answered_from_the_order_recovery_settled() {
    for (card, settled_status) in [(OK_CARD, 201), (DECLINED_CARD, 409)] {
        let (db, fake) = setup();
        let b = body(r#"[{"product_id": "mug", "quantity": 2}]"#, card);
        // The first request with the key stops after the charge: a crash.
        fake.0.borrow_mut().pause_at = Some("charged");
        let mut first = Box::pin(saga::place_idempotent(&db, &fake, "u1", Some("k-crash"), &b));
        assert!(futures::FutureExt::now_or_never(first.as_mut()).is_none(), "the placement ran past the charge");
        drop(first);
        fake.0.borrow_mut().pause_at = None;
        let id =
            block_on(db.query_one("SELECT id FROM orders WHERE status = 'pending'", &[])).ok().flatten().and_then(|r| r.text(0).ok()).expect("a pending order");
        // Before recovery, the order is pending: as far as anyone knows, still running.
        let busy = block_on(saga::place_idempotent(&db, &fake, "u1", Some("k-crash"), &b));
        assert_eq!((busy.status, busy.body["error"]["code"].as_str()), (409, Some("idempotency_conflict")), "{card}");
        assert_eq!(busy.body["error"]["details"].get("order_id"), None, "{card}");
        // Recovery settles it; the retry is told what became of it, and places nothing.
        recover_after(&db, &fake, 61);
        let retry = block_on(saga::place_idempotent(&db, &fake, "u1", Some("k-crash"), &b));
        assert_eq!(retry.status, settled_status, "{card}: {}", retry.body);
        if settled_status == 201 {
            assert_eq!((retry.body["id"].as_str(), retry.body["status"].as_str()), (Some(id.as_str()), Some("paid")));
        } else {
            let details = &retry.body["error"]["details"];
            assert_eq!((details["order_id"].as_str(), details["status"].as_str()), (Some(id.as_str()), Some("payment_failed")), "{card}");
        }
        assert_eq!(count(&db, "SELECT count(*) FROM orders"), 1, "{card}");
        // Another user's key of the same name is not this order.
        let other = block_on(saga::place_idempotent(&db, &fake, "u2", Some("k-crash"), &b));
        assert_ne!(other.body["id"].as_str(), Some(id.as_str()), "{card}");
    }
}

#[test]
fn a_key_whose_first_request_was_lost_before_recording_an_order_runs_again() {
    let (db, fake) = setup();
    let b = body(r#"[{"product_id": "mug", "quantity": 1}]"#, OK_CARD);
    let hash = crate::idempotency::request_hash(&b).unwrap();
    // The first request took the key and stopped before recording its order.
    let taken_at = shop_common::timestamp::now_unix() - crate::idempotency::ABANDONED_AFTER_S;
    block_on(crate::idempotency::begin(&db, "u1", "lost", &hash, taken_at)).unwrap_or_else(|e| panic!("{e}"));
    let retry = block_on(saga::place_idempotent(&db, &fake, "u1", Some("lost"), &b));
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(block_on(saga::place_idempotent(&db, &fake, "u1", Some("lost"), &b)), retry, "and is the key's answer from now on");
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), 1);
    // Lost with its order still pending (recovery not done with it): not run again.
    let (crashed, _) = stalled_at(&db, &fake, "charged", OK_CARD);
    drop(crashed);
    block_on(db.exec("UPDATE orders SET idempotency_key = 'pending-one' WHERE status = 'pending'", &[])).unwrap();
    block_on(crate::idempotency::begin(&db, "u1", "pending-one", &hash, taken_at - 1)).unwrap_or_else(|e| panic!("{e}"));
    block_on(db.exec("UPDATE orders SET created_at = ? WHERE status = 'pending'", &[taken_at.into()])).unwrap();
    let held = block_on(saga::place_idempotent(&db, &fake, "u1", Some("pending-one"), &b));
    assert_eq!((held.status, &held.body["error"]["details"]["abandoned"]), (409, &serde_json::json!(true)), "{}", held.body);
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), 2, "nothing placed again");
}
