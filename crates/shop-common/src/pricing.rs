//! The values of the pricing service's `souk:pricing/quote` as plain Rust:
//! the rules (components/pricing) make them, cart and orders show them.

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// One line to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLine {
    pub sku: String,
    pub unit_price: Money,
    pub quantity: u32,
    /// Weight of one unit, for the shipping charge.
    pub weight_grams: u32,
}

/// What a cart or an order costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub subtotal: Money,
    /// Zero or negative.
    pub discount: Money,
    pub shipping: Money,
    /// Tax on the discounted subtotal plus shipping.
    pub tax: Money,
    pub total: Money,
    /// The promo code applied, upper case.
    pub promo_code: Option<String>,
}
