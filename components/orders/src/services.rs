//! The other services an order needs, behind a trait: the Spin adapter
//! implements it by service chaining (and the pricing import), native tests
//! by a fake. Errors are `ApiError`s as `shop_common::spin::Called::into_error`
//! makes them: the callee's 4xx passed on, 502 naming the service otherwise.

use serde::Deserialize;
use shop_common::ApiError;
use shop_common::events::Event;
use shop_common::money::Money;

use crate::input::{Card, LineRequest};
use crate::model::{Address, Order, PaymentInfo, Quote};

/// A catalog product, as far as orders needs it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub weight_grams: u32,
    pub active: bool,
}

pub use shop_common::pricing::QuoteLine;

/// The pricing service's errors (`souk:pricing/quote`).
#[derive(Debug, Clone, PartialEq)]
pub enum PriceError {
    Empty,
    MixedCurrencies,
    InvalidLine(String),
    UnknownPromoCode(String),
    UnsupportedCountry(String),
    Overflow,
}

impl From<PriceError> for ApiError {
    fn from(e: PriceError) -> ApiError {
        use serde_json::json;
        match e {
            PriceError::Empty => ApiError::unprocessable("empty_cart", "there is nothing to order"),
            PriceError::MixedCurrencies => ApiError::unprocessable("unprocessable", "the products are priced in different currencies"),
            PriceError::InvalidLine(why) => ApiError::unprocessable("unprocessable", format!("a line cannot be priced: {why}")),
            PriceError::UnknownPromoCode(code) => {
                ApiError::unprocessable("unknown_promo_code", format!("unknown promo code {code:?}")).with_details(json!({ "promo_code": code }))
            }
            PriceError::UnsupportedCountry(country) => {
                ApiError::unprocessable("unsupported_country", format!("the shop does not ship to {country:?}")).with_details(json!({ "country": country }))
            }
            PriceError::Overflow => ApiError::unprocessable("unprocessable", "the order's total is too large"),
        }
    }
}

/// `POST /internal/payments/charges`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargeRequest {
    pub order_id: String,
    pub user_id: String,
    pub amount: Money,
    pub card: Card,
}

#[allow(async_fn_in_trait)]
pub trait Services {
    /// The user's cart lines (`GET /internal/cart/<user_id>`).
    async fn cart(&self, user_id: &str) -> Result<Vec<LineRequest>, ApiError>;
    /// Takes an order's lines out of its buyer's cart, once per order
    /// (`POST /internal/cart/<user_id>/ordered`).
    async fn take_from_cart(&self, order: &Order) -> Result<(), ApiError>;
    /// The user's saved shipping address, if any (`GET /internal/users/<id>`).
    async fn saved_address(&self, user_id: &str) -> Result<Option<Address>, ApiError>;
    /// The pricing service (a component dependency, so not async).
    fn price(&self, lines: &[QuoteLine], country: &str, promo_code: Option<&str>) -> Result<Quote, PriceError>;
    /// Reserves stock for the order, all or nothing, and answers with the
    /// reserved products (unknown ids are an error, as are inactive products
    /// and short stock), so the order is priced from the same answer.
    async fn reserve(&self, order_id: &str, lines: &[LineRequest]) -> Result<Vec<Product>, ApiError>;
    async fn commit(&self, order_id: &str) -> Result<(), ApiError>;
    /// Gives reserved or sold stock back; nothing to release is fine.
    async fn release(&self, order_id: &str) -> Result<(), ApiError>;
    /// The payment made (approved or declined).
    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentInfo, ApiError>;
    /// Refunds the order's approved payment; where the order has no
    /// payment (404) it also refuses any later charge for it, so a refund
    /// undoes a charge whose answer was lost. 409 for a declined payment.
    async fn refund(&self, order_id: &str) -> Result<PaymentInfo, ApiError>;
    /// Closes the order to new charges and answers its payment, if it has
    /// one (approved, declined or refunded): what recovery decides from.
    async fn close_charge(&self, order_id: &str) -> Result<Option<PaymentInfo>, ApiError>;
    /// POSTs an event to `/internal/<consumer>/events`; `Err` to try later.
    async fn deliver(&self, consumer: &str, event: &Event) -> Result<(), String>;
}
