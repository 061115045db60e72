//! The other services an order needs, answered in process: the cart, the
//! saved address and payment answer at once; pricing is the real
//! `pricing::rules::price`; stock is reserved (with the reserved products
//! looked up), committed and released by the real `catalog::inventory` and
//! `catalog::products` on the catalog's own database, as the catalog
//! service does it (its schema check included).

use std::cell::Cell;

use catalog::inventory::{self, ReserveItem, ReserveRequest};
use orders::input::LineRequest;
use orders::model::{Address, Order, PaymentInfo, Quote};
use orders::services::{ChargeRequest, PriceError, Product, QuoteLine, Services};
use pricing::rules::{self, PricingError};
use shop_common::db::memory::MemoryDb;
use shop_common::events::Event;
use shop_common::{ApiError, db, id, timestamp};

pub struct FakeShop<'a> {
    pub catalog: &'a MemoryDb,
    pub products: Vec<Product>,
    /// Picks the cart's lines, deterministically.
    next: Cell<u64>,
}

impl<'a> FakeShop<'a> {
    pub fn new(catalog: &'a MemoryDb, products: Vec<Product>) -> Self {
        FakeShop { catalog, products, next: Cell::new(0x9e37_79b9_7f4a_7c15) }
    }

    fn roll(&self, below: u64) -> u64 {
        // xorshift64: enough to vary the cart, no dependency.
        let mut x = self.next.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.next.set(x);
        x % below.max(1)
    }

    async fn open_catalog(&self) -> Result<&MemoryDb, ApiError> {
        db::migrate(self.catalog, catalog::schema::MIGRATIONS).await?;
        Ok(self.catalog)
    }
}

/// A catalog product as the orders service sees it.
pub fn order_product(p: catalog::product::Product) -> Product {
    Product { id: p.id, sku: p.sku, name: p.name, price: p.price, weight_grams: u32::try_from(p.weight_grams).unwrap_or(0), active: p.active }
}

fn pricing_error(e: PricingError) -> PriceError {
    match e {
        PricingError::Empty => PriceError::Empty,
        PricingError::MixedCurrencies => PriceError::MixedCurrencies,
        PricingError::InvalidLine(m) => PriceError::InvalidLine(m),
        PricingError::UnknownPromoCode(c) => PriceError::UnknownPromoCode(c),
        PricingError::UnsupportedCountry(c) => PriceError::UnsupportedCountry(c),
        PricingError::Overflow => PriceError::Overflow,
    }
}

impl Services for FakeShop<'_> {
    /// One or two products, one to three of each, as the checkout scenario fills its cart.
    async fn cart(&self, _user_id: &str) -> Result<Vec<LineRequest>, ApiError> {
        let mut lines: Vec<LineRequest> = Vec::new();
        for _ in 0..=self.roll(2) {
            let product = &self.products[self.roll(self.products.len() as u64) as usize];
            let quantity = 1 + self.roll(3) as i64;
            match lines.iter_mut().find(|l| l.product_id == product.id) {
                Some(line) => line.quantity += quantity,
                None => lines.push(LineRequest { product_id: product.id.clone(), quantity }),
            }
        }
        Ok(lines)
    }

    async fn take_from_cart(&self, _order: &Order) -> Result<(), ApiError> {
        Ok(())
    }

    async fn saved_address(&self, _user_id: &str) -> Result<Option<Address>, ApiError> {
        Ok(Some(Address {
            name: "Load Test".into(),
            line1: "Alexanderplatz 1".into(),
            line2: None,
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country: "DE".into(),
        }))
    }

    fn price(&self, lines: &[QuoteLine], country: &str, promo_code: Option<&str>) -> Result<Quote, PriceError> {
        let request = rules::QuoteRequest {
            lines: lines
                .iter()
                .map(|l| rules::Line { sku: l.sku.clone(), unit_price: l.unit_price, quantity: l.quantity, weight_grams: l.weight_grams })
                .collect(),
            country: country.to_owned(),
            promo_code: promo_code.map(str::to_owned),
        };
        let q = rules::price(&request).map_err(pricing_error)?;
        Ok(Quote { subtotal: q.subtotal, discount: q.discount, shipping: q.shipping, tax: q.tax, total: q.total, promo_code: q.promo_code })
    }

    /// As the catalog's endpoint: the reservation, then its products looked up.
    async fn reserve(&self, order_id: &str, lines: &[LineRequest]) -> Result<Vec<Product>, ApiError> {
        let request = ReserveRequest {
            order_id: order_id.to_owned(),
            items: lines.iter().map(|l| ReserveItem { product_id: l.product_id.clone(), quantity: l.quantity }).collect(),
        };
        let db = self.open_catalog().await?;
        let (reservation, _) = inventory::reserve(db, &request, timestamp::now_unix(), inventory::DEFAULT_TTL_SECONDS).await?;
        let found = catalog::products::lookup(db, &reservation.product_ids()).await?;
        Ok(found.into_iter().map(order_product).collect())
    }

    async fn commit(&self, order_id: &str) -> Result<(), ApiError> {
        inventory::commit(self.open_catalog().await?, order_id, timestamp::now_unix()).await?;
        Ok(())
    }

    async fn release(&self, order_id: &str) -> Result<(), ApiError> {
        inventory::release(self.open_catalog().await?, order_id, timestamp::now_unix()).await?;
        Ok(())
    }

    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentInfo, ApiError> {
        let digits: String = request.card.number.chars().filter(char::is_ascii_digit).collect();
        let last4 = digits.get(digits.len().saturating_sub(4)..).unwrap_or_default().to_owned();
        Ok(PaymentInfo { id: id::new_id(), status: "approved".into(), brand: "visa".into(), last4 })
    }

    async fn refund(&self, order_id: &str) -> Result<PaymentInfo, ApiError> {
        Err(ApiError::not_found(&format!("payment for order {order_id}")))
    }

    async fn close_charge(&self, _order_id: &str) -> Result<Option<PaymentInfo>, ApiError> {
        Ok(None)
    }

    async fn deliver(&self, _consumer: &str, _event: &Event) -> Result<(), String> {
        Ok(())
    }
}
