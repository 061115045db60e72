//! The Spin adapter: routes each request, on the `cart` key-value store,
//! asking the catalog for products, the users service for the saved
//! address, and the imported `souk:pricing/quote` for the quote.

use serde::Deserialize;
use serde_json::json;
use shop_common::events::Event;
use shop_common::spin::{Incoming, Reply, SpinKv, call, serve};
use shop_common::{ApiError, Currency, Money, id};

use crate::view::{self, CartView, CatalogProduct, Quote, QuoteError, QuoteLine};
use crate::{cart, consumer};

spin_sdk::wit_bindgen::generate!({
    inline: "package souk:cart; world cart { import souk:pricing/quote@0.1.0; }",
    path: "../../wit/pricing",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

use souk::pricing::quote as pricing;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> spin_sdk::http::Response<spin_sdk::http::FullBody<bytes::Bytes>> {
    serve(req, async |inc| route(inc).await).await
}

async fn store() -> Result<SpinKv, ApiError> {
    SpinKv::open("cart").await
}

#[derive(Deserialize)]
struct AddItem {
    product_id: String,
    quantity: i64,
}

#[derive(Deserialize)]
struct SetQuantity {
    quantity: i64,
}

/// What an order took from the cart (orders' placement, before the order
/// is paid).
#[derive(Deserialize)]
struct Ordered {
    order_id: String,
    items: Vec<cart::OrderedLine>,
}

async fn route(inc: Incoming) -> Result<Reply, ApiError> {
    match (inc.method.as_str(), inc.segments().as_slice()) {
        ("GET", ["api", "v1", "cart"]) => {
            let user = inc.identity()?.user_id;
            let cart = cart::load(&store().await?, &user).await?;
            Ok(Reply::ok(&cart_view(&inc, &user, &cart).await?))
        }
        ("DELETE", ["api", "v1", "cart"]) => {
            let user = inc.identity()?.user_id;
            cart::clear(&store().await?, &user).await?;
            Ok(Reply::no_content())
        }
        (_, ["api", "v1", "cart"]) => Err(inc.method_not_allowed()),

        ("POST", ["api", "v1", "cart", "items"]) => {
            let user = inc.identity()?.user_id;
            let body = inc.json::<AddItem>()?;
            let quantity = cart::check_quantity(body.quantity, 1)?;
            let product_id = id::parse_id(&body.product_id).map_err(|e| ApiError::invalid_field("product_id", format!("`product_id`: {e}")))?;
            let store = store().await?;
            let products = lookup(&inc, &view::lookup_ids(&cart::load(&store, &user).await?, &product_id)).await?;
            view::on_sale(&products, &product_id)?;
            let cart = cart::add(&store, &user, &product_id, i64::from(quantity)).await?;
            Ok(Reply::ok(&cart_view_from(&inc, &user, &cart, products).await?))
        }
        (_, ["api", "v1", "cart", "items"]) => Err(inc.method_not_allowed()),

        ("PUT", ["api", "v1", "cart", "items", product_id]) => {
            let user = inc.identity()?.user_id;
            let quantity = cart::check_quantity(inc.json::<SetQuantity>()?.quantity, 0)?;
            let product_id = id::parse_id(product_id).map_err(|_| cart::not_in_cart(product_id))?;
            let store = store().await?;
            if quantity == 0 {
                let cart = cart::set(&store, &user, &product_id, 0).await?;
                return Ok(Reply::ok(&cart_view(&inc, &user, &cart).await?));
            }
            let products = lookup(&inc, &view::lookup_ids(&cart::load(&store, &user).await?, &product_id)).await?;
            view::on_sale(&products, &product_id)?;
            let cart = cart::set(&store, &user, &product_id, i64::from(quantity)).await?;
            Ok(Reply::ok(&cart_view_from(&inc, &user, &cart, products).await?))
        }
        ("DELETE", ["api", "v1", "cart", "items", product_id]) => {
            let user = inc.identity()?.user_id;
            let product_id = id::parse_id(product_id).map_err(|_| cart::not_in_cart(product_id))?;
            cart::remove(&store().await?, &user, &product_id).await?;
            Ok(Reply::no_content())
        }
        (_, ["api", "v1", "cart", "items", _]) => Err(inc.method_not_allowed()),

        ("GET", ["internal", "cart", "health"]) => {
            store().await?;
            Ok(Reply::ok(&json!({ "status": "ok", "service": "cart" })))
        }
        (_, ["internal", "cart", "health"]) => Err(inc.method_not_allowed()),
        ("POST", ["internal", "cart", "events"]) => {
            let event: Event = inc.json()?;
            let (outcome, reason) = consumer::consume(&store().await?, &event).await?;
            Ok(Reply::ok(&json!({ "event_id": event.id, "outcome": outcome.as_str(), "reason": reason })))
        }
        ("GET", ["internal", "cart", user_id]) => Ok(Reply::ok(&json!({ "items": cart::load(&store().await?, user_id).await?.items }))),
        (_, ["internal", "cart", _]) => Err(inc.method_not_allowed()),
        ("POST", ["internal", "cart", user_id, "ordered"]) => {
            let ordered = inc.json::<Ordered>()?;
            let taken = cart::take_ordered(&store().await?, user_id, &ordered.order_id, &ordered.items).await?;
            Ok(Reply::ok(&json!({ "order_id": ordered.order_id, "taken": taken })))
        }
        (_, ["internal", "cart", _, "ordered"]) => Err(inc.method_not_allowed()),
        _ => Err(inc.no_route()),
    }
}

/// The catalog's products for these ids (one call; unknown ids left out).
async fn lookup(inc: &Incoming, ids: &[&str]) -> Result<Vec<CatalogProduct>, ApiError> {
    let called = call("catalog", "POST", "/internal/catalog/products/lookup", Some(&json!({ "ids": ids })), &inc.request_id).await?;
    if !called.is_success() {
        return Err(called.into_error("catalog"));
    }
    serde_json::from_value::<Vec<CatalogProduct>>(called.body["products"].clone())
        .map_err(|e| ApiError::bad_gateway("catalog", format!("the catalog's product lookup was not understood: {e}")))
}

/// The country of the user's saved address, if the users service has one.
/// Any failure is no country: the cart falls back to DE rather than fail.
async fn saved_country(inc: &Incoming, user_id: &str) -> Option<String> {
    let user_id = id::parse_id(user_id).ok()?;
    let called = call("users", "GET", &format!("/internal/users/{user_id}"), None, &inc.request_id).await.ok()?;
    if !called.is_success() {
        return None;
    }
    called.body["shipping_address"]["country"].as_str().map(str::to_owned)
}

async fn cart_view(inc: &Incoming, user_id: &str, cart: &cart::Cart) -> Result<CartView, ApiError> {
    if cart.items.is_empty() {
        return Ok(CartView::empty());
    }
    let ids: Vec<&str> = cart.items.iter().map(|i| i.product_id.as_str()).collect();
    let products = lookup(inc, &ids).await?;
    priced_view(inc, user_id, cart, products).await
}

/// The view of `cart` with `products` already looked up; looks them up again
/// only if another request added a product meanwhile.
async fn cart_view_from(inc: &Incoming, user_id: &str, cart: &cart::Cart, products: Vec<CatalogProduct>) -> Result<CartView, ApiError> {
    if cart.items.is_empty() || !view::covers(&products, cart) {
        return cart_view(inc, user_id, cart).await;
    }
    priced_view(inc, user_id, cart, products).await
}

async fn priced_view(inc: &Incoming, user_id: &str, cart: &cart::Cart, products: Vec<CatalogProduct>) -> Result<CartView, ApiError> {
    // Ask the users service only when there is something to price and no country given.
    let needs_saved = inc.query("country").is_none_or(|c| c.trim().is_empty()) && !view::quote_lines(cart, &products).is_empty();
    let saved = if needs_saved { saved_country(inc, user_id).await } else { None };
    let country = view::country(inc.query("country"), saved.as_deref());
    let promo_code = view::promo_code(inc.query("promo_code"));
    view::view(cart, &products, |lines| price(lines, country, promo_code))
}

fn money_out(m: Money) -> pricing::Money {
    pricing::Money { amount: m.amount, currency: m.currency.code().to_owned() }
}

fn money_in(m: pricing::Money) -> Result<Money, QuoteError> {
    let currency = Currency::parse(&m.currency).map_err(|e| QuoteError { code: "unprocessable", message: format!("pricing answered {e}") })?;
    Ok(Money::new(m.amount, currency))
}

/// Prices the lines through the `souk:pricing/quote` import.
fn price(lines: Vec<QuoteLine>, country: String, promo_code: Option<String>) -> Result<Quote, QuoteError> {
    let request = pricing::QuoteRequest {
        lines: lines
            .into_iter()
            .map(|l| pricing::Line { sku: l.sku, unit_price: money_out(l.unit_price), quantity: l.quantity, weight_grams: l.weight_grams })
            .collect(),
        country,
        promo_code,
    };
    let q = pricing::price(&request).map_err(quote_error)?;
    Ok(Quote {
        subtotal: money_in(q.subtotal)?,
        discount: money_in(q.discount)?,
        shipping: money_in(q.shipping)?,
        tax: money_in(q.tax)?,
        total: money_in(q.total)?,
        promo_code: q.promo_code,
    })
}

fn quote_error(e: pricing::Error) -> QuoteError {
    let (code, message) = match e {
        pricing::Error::Empty => ("empty_cart", "there is nothing to price".to_owned()),
        pricing::Error::MixedCurrencies => ("unprocessable", "the cart mixes products priced in different currencies".to_owned()),
        pricing::Error::InvalidLine(m) => ("unprocessable", format!("a line cannot be priced: {m}")),
        pricing::Error::UnknownPromoCode(c) => ("unknown_promo_code", format!("unknown promo code {c:?}")),
        pricing::Error::UnsupportedCountry(c) => ("unsupported_country", format!("the shop does not ship to {c:?}")),
        pricing::Error::Overflow => ("unprocessable", "the cart's total is too large to price".to_owned()),
    };
    QuoteError { code, message }
}
