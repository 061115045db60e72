//! The Spin adapter: routes requests, opens the store, and implements
//! `Services` by service chaining and the pricing import.

use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};
use shop_common::events::Event;
use shop_common::money::{Currency, Money};
use shop_common::page::PageRequest;
use shop_common::spin::{Called, Incoming, Reply, SpinDb, call, optional_variable, serve};
use shop_common::{ApiError, timestamp};

use crate::input::LineRequest;
use crate::model::{Address, Order, PaymentInfo, Quote};
use crate::services::{ChargeRequest, PriceError, Product, QuoteLine, Services};
use crate::{audit, cancel, idempotency, outbox, recovery, saga, store};

mod bindings {
    //! `souk:pricing/quote`, imported as a component dependency.
    spin_sdk::wit_bindgen::generate!({
        inline: "package souk:orders-deps; world orders-deps { import souk:pricing/quote@0.1.0; }",
        path: "../../wit/pricing",
        runtime_path: "::spin_sdk::wit_bindgen::rt",
        generate_all,
    });
}

use bindings::souk::pricing::quote as pricing;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> impl spin_sdk::http::IntoResponse {
    serve(req, async |inc| route(inc).await).await
}

async fn open() -> Result<SpinDb, ApiError> {
    SpinDb::open_migrated("orders", store::MIGRATIONS).await
}

#[derive(Clone, Copy)]
enum Endpoint<'a> {
    Place,
    List,
    Get(&'a str),
    Cancel(&'a str),
    Events,
    Relay,
    Summary,
    Health,
}

impl Endpoint<'_> {
    /// Whether stale orders are recovered and the outbox relayed after the
    /// request. Placing and cancelling send their own rows once committed;
    /// the relay endpoint does both itself; a health check only looks.
    fn relays_after(self) -> bool {
        !matches!(self, Endpoint::Place | Endpoint::Cancel(_) | Endpoint::Relay | Endpoint::Health)
    }

    /// Whether the endpoint acts for a signed-in caller.
    fn needs_caller(self) -> bool {
        matches!(self, Endpoint::Place | Endpoint::List | Endpoint::Get(_) | Endpoint::Cancel(_))
    }
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    let segments = inc.segments();
    let endpoint = match (inc.method.as_str(), segments.as_slice()) {
        ("POST", ["api", "v1", "orders"]) => Endpoint::Place,
        ("GET", ["api", "v1", "orders"]) => Endpoint::List,
        ("GET", ["api", "v1", "orders", id]) => Endpoint::Get(id),
        ("POST", ["api", "v1", "orders", id, "cancel"]) => Endpoint::Cancel(id),
        ("POST", ["internal", "orders", "events"]) => Endpoint::Events,
        ("POST", ["internal", "orders", "outbox", "relay"]) => Endpoint::Relay,
        ("GET", ["internal", "orders", "summary"]) => Endpoint::Summary,
        ("GET", ["internal", "orders", "health"]) => Endpoint::Health,
        (_, ["api", "v1", "orders"] | ["api", "v1", "orders", _] | ["api", "v1", "orders", _, "cancel"])
        | (_, ["internal", "orders", "events" | "summary" | "health"] | ["internal", "orders", "outbox", "relay"]) => return Err(inc.method_not_allowed()),
        _ => return Err(inc.no_route()),
    };
    if endpoint.needs_caller() {
        // A request without a caller gets its 401 before the store is opened.
        inc.identity()?;
    }
    let services = SpinServices { request_id: inc.request_id.clone() };
    let db = open().await?;
    let reply = handle_with_db(&inc, &db, &services, endpoint).await;
    if endpoint.relays_after() {
        // Orders left half-placed are settled, and events waiting for a
        // consumer that was down go out, with later requests (each one
        // statement when there is nothing to do).
        let _ = recovery::recover_due(&db, &services, timestamp::now_unix(), grace().await).await;
        let _ = outbox::deliver_due(&db, &services).await;
    }
    reply
}

/// How long an order may stay `pending` before recovery settles it.
async fn grace() -> i64 {
    recovery::grace_from(optional_variable("order_recovery_grace_seconds").await.as_deref())
}

/// `POST /internal/orders/outbox/relay`: the outbox's relay report, with
/// what recovery settled first; idempotency keys past their day are
/// deleted last.
#[derive(serde::Serialize)]
struct Maintenance {
    #[serde(flatten)]
    relay: shop_common::events::RelayReport,
    recovered: recovery::Recovered,
}

async fn handle_with_db(inc: &Incoming, db: &SpinDb, services: &SpinServices, endpoint: Endpoint<'_>) -> Result<Reply, ApiError> {
    match endpoint {
        Endpoint::Place => {
            let me = inc.identity()?;
            let answer = saga::place_idempotent(db, services, &me.user_id, inc.header("idempotency-key"), &inc.body).await;
            Ok(Reply::json(answer.status, &answer.body))
        }
        Endpoint::List => {
            let me = inc.identity()?;
            let page = PageRequest::parse(inc.query("page"), inc.query("page_size"))?;
            Ok(Reply::ok(&store::list_for_user(db, &me.user_id, page).await?))
        }
        Endpoint::Get(id) => {
            let me = inc.identity()?;
            Ok(Reply::ok(&cancel::visible(db, &me, id).await?.order))
        }
        Endpoint::Cancel(id) => {
            let me = inc.identity()?;
            Ok(Reply::ok(&cancel::cancel(db, services, &me, id).await?))
        }
        Endpoint::Events => {
            let event: Event = inc.json()?;
            Ok(Reply::ok(&outbox::consume(db, &event, timestamp::now_unix()).await?))
        }
        Endpoint::Relay => {
            let recovered = recovery::recover_due(db, services, timestamp::now_unix(), grace().await).await?;
            let relay = outbox::relay(db, services, timestamp::now_unix()).await?;
            idempotency::sweep(db, timestamp::now_unix()).await?;
            Ok(Reply::ok(&Maintenance { relay, recovered }))
        }
        Endpoint::Summary => Ok(Reply::ok(&audit::summary(db).await?)),
        Endpoint::Health => Ok(Reply::ok(&json!({ "status": "ok", "service": "orders" }))),
    }
}

struct SpinServices {
    request_id: String,
}

impl SpinServices {
    async fn call(&self, service: &str, method: &str, path: &str, body: Option<&Json>) -> Result<Called, ApiError> {
        call(service, method, path, body, &self.request_id).await
    }

    /// A 2xx answer's body as a `T`, or the callee's error.
    async fn expect<T: DeserializeOwned>(&self, service: &str, method: &str, path: &str, body: Option<&Json>) -> Result<T, ApiError> {
        let called = self.call(service, method, path, body).await?;
        if !called.is_success() {
            return Err(called.into_error(service));
        }
        serde_json::from_value(called.body).map_err(|e| ApiError::bad_gateway(service, format!("the {service} service answered in an unexpected shape: {e}")))
    }

    async fn expect_ok(&self, service: &str, method: &str, path: &str, body: Option<&Json>) -> Result<(), ApiError> {
        let called = self.call(service, method, path, body).await?;
        if called.is_success() { Ok(()) } else { Err(called.into_error(service)) }
    }
}

#[derive(serde::Deserialize)]
struct CartBody {
    items: Vec<LineRequest>,
}

#[derive(serde::Deserialize)]
struct UserBody {
    shipping_address: Option<Address>,
}

/// The catalog's answer to a reservation, as far as orders needs it.
#[derive(serde::Deserialize)]
struct ReservedBody {
    products: Vec<Product>,
}

fn money_in(m: pricing::Money) -> Result<Money, PriceError> {
    Currency::parse(&m.currency).map(|c| Money::new(m.amount, c)).map_err(PriceError::InvalidLine)
}

impl Services for SpinServices {
    async fn cart(&self, user_id: &str) -> Result<Vec<LineRequest>, ApiError> {
        let called = self.call("cart", "GET", &format!("/internal/cart/{user_id}"), None).await?;
        if called.status == 404 {
            return Ok(Vec::new());
        }
        if !called.is_success() {
            return Err(called.into_error("cart"));
        }
        let cart: CartBody =
            serde_json::from_value(called.body).map_err(|e| ApiError::bad_gateway("cart", format!("the cart service answered in an unexpected shape: {e}")))?;
        Ok(cart.items)
    }

    async fn take_from_cart(&self, order: &Order) -> Result<(), ApiError> {
        let body = json!({ "order_id": order.id, "items": order.cart_lines() });
        self.expect_ok("cart", "POST", &format!("/internal/cart/{}/ordered", order.user_id), Some(&body)).await
    }

    async fn saved_address(&self, user_id: &str) -> Result<Option<Address>, ApiError> {
        let called = self.call("users", "GET", &format!("/internal/users/{user_id}"), None).await?;
        if called.status == 404 {
            return Ok(None);
        }
        if !called.is_success() {
            return Err(called.into_error("users"));
        }
        let user: UserBody = serde_json::from_value(called.body)
            .map_err(|e| ApiError::bad_gateway("users", format!("the users service answered in an unexpected shape: {e}")))?;
        Ok(user.shipping_address)
    }

    fn price(&self, lines: &[QuoteLine], country: &str, promo_code: Option<&str>) -> Result<Quote, PriceError> {
        let request = pricing::QuoteRequest {
            lines: lines
                .iter()
                .map(|l| pricing::Line {
                    sku: l.sku.clone(),
                    unit_price: pricing::Money { amount: l.unit_price.amount, currency: l.unit_price.currency.code().to_owned() },
                    quantity: l.quantity,
                    weight_grams: l.weight_grams,
                })
                .collect(),
            country: country.to_owned(),
            promo_code: promo_code.map(str::to_owned),
        };
        match pricing::price(&request) {
            Ok(q) => Ok(Quote {
                subtotal: money_in(q.subtotal)?,
                discount: money_in(q.discount)?,
                shipping: money_in(q.shipping)?,
                tax: money_in(q.tax)?,
                total: money_in(q.total)?,
                promo_code: q.promo_code,
            }),
            Err(e) => Err(match e {
                pricing::Error::Empty => PriceError::Empty,
                pricing::Error::MixedCurrencies => PriceError::MixedCurrencies,
                pricing::Error::InvalidLine(m) => PriceError::InvalidLine(m),
                pricing::Error::UnknownPromoCode(c) => PriceError::UnknownPromoCode(c),
                pricing::Error::UnsupportedCountry(c) => PriceError::UnsupportedCountry(c),
                pricing::Error::Overflow => PriceError::Overflow,
            }),
        }
    }

    async fn reserve(&self, order_id: &str, lines: &[LineRequest]) -> Result<Vec<Product>, ApiError> {
        let body = json!({ "order_id": order_id, "items": lines });
        let reserved: ReservedBody = self.expect("catalog", "POST", "/internal/catalog/reservations", Some(&body)).await?;
        Ok(reserved.products)
    }

    async fn commit(&self, order_id: &str) -> Result<(), ApiError> {
        self.expect_ok("catalog", "POST", &format!("/internal/catalog/reservations/{order_id}/commit"), None).await
    }

    async fn release(&self, order_id: &str) -> Result<(), ApiError> {
        let called = self.call("catalog", "POST", &format!("/internal/catalog/reservations/{order_id}/release"), None).await?;
        // 404: no reservation, so nothing to give back.
        if called.is_success() || called.status == 404 { Ok(()) } else { Err(called.into_error("catalog")) }
    }

    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentInfo, ApiError> {
        let body = json!({ "order_id": request.order_id, "user_id": request.user_id, "amount": request.amount, "card": request.card });
        self.expect("payments", "POST", "/internal/payments/charges", Some(&body)).await
    }

    async fn refund(&self, order_id: &str) -> Result<PaymentInfo, ApiError> {
        self.expect("payments", "POST", "/internal/payments/refunds", Some(&json!({ "order_id": order_id }))).await
    }

    async fn close_charge(&self, order_id: &str) -> Result<Option<PaymentInfo>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Closed {
            payment: Option<PaymentInfo>,
        }
        let closed: Closed = self.expect("payments", "POST", &format!("/internal/payments/charges/{order_id}/close"), None).await?;
        Ok(closed.payment)
    }

    async fn deliver(&self, consumer: &str, event: &Event) -> Result<(), String> {
        let body = serde_json::to_value(event).map_err(|e| e.to_string())?;
        match self.call(consumer, "POST", &format!("/internal/{consumer}/events"), Some(&body)).await {
            Ok(called) if called.is_success() => Ok(()),
            Ok(called) => Err(format!("{consumer} answered {}: {}", called.status, called.body["error"]["message"].as_str().unwrap_or(""))),
            Err(e) => Err(e.message),
        }
    }
}
