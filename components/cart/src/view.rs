//! What `GET /api/v1/cart` shows: each line with the product's current
//! price and whether it can be bought, and the quote for the lines still
//! on sale. Pricing itself is a function passed in (the `souk:pricing`
//! import in the component, a stand-in in tests).

use serde::{Deserialize, Serialize};
use shop_common::{ApiError, Money};

use crate::cart::Cart;

/// The fields of a catalog product (from `/internal/catalog/products/lookup`) a cart needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CatalogProduct {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub weight_grams: i64,
    pub active: bool,
    pub stock: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CartLine {
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
    /// On sale and in stock for this quantity.
    pub available: bool,
}

pub use shop_common::pricing::QuoteLine;

pub use shop_common::pricing::Quote;

/// Why there is no quote, with a code from `shop_common::error::CODES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteError {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CartView {
    pub items: Vec<CartLine>,
    pub quote: Option<Quote>,
    pub quote_error: Option<QuoteError>,
}

impl CartView {
    pub fn empty() -> CartView {
        CartView { items: Vec::new(), quote: None, quote_error: None }
    }
}

/// The cart's lines with their products; a product the catalog no longer
/// knows is left out (the catalog never deletes products, so this is rare).
pub fn lines(cart: &Cart, products: &[CatalogProduct]) -> Result<Vec<CartLine>, ApiError> {
    let mut lines = Vec::new();
    for item in &cart.items {
        let Some(p) = products.iter().find(|p| p.id == item.product_id) else { continue };
        let line_total = p.price.times(item.quantity).map_err(|e| ApiError::internal(format!("line total of {}: {e}", p.sku)))?;
        lines.push(CartLine {
            product_id: p.id.clone(),
            sku: p.sku.clone(),
            name: p.name.clone(),
            quantity: item.quantity,
            unit_price: p.price,
            line_total,
            available: p.active && p.stock >= i64::from(item.quantity),
        });
    }
    Ok(lines)
}

/// The lines to price: those of products still on sale.
pub fn quote_lines(cart: &Cart, products: &[CatalogProduct]) -> Vec<QuoteLine> {
    cart.items
        .iter()
        .filter_map(|item| {
            let p = products.iter().find(|p| p.id == item.product_id && p.active)?;
            Some(QuoteLine {
                sku: p.sku.clone(),
                unit_price: p.price,
                quantity: item.quantity,
                weight_grams: u32::try_from(p.weight_grams.max(0)).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// The destination: the `country` query, else the saved address's, else DE.
pub fn country(query: Option<&str>, saved: Option<&str>) -> String {
    [query, saved].into_iter().flatten().map(str::trim).find(|c| !c.is_empty()).map(str::to_ascii_uppercase).unwrap_or_else(|| "DE".to_owned())
}

/// The `promo_code` query, when not blank.
pub fn promo_code(query: Option<&str>) -> Option<String> {
    query.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned)
}

/// The view of a non-empty cart: `price` is only called when some line can
/// be priced.
pub fn view(cart: &Cart, products: &[CatalogProduct], price: impl FnOnce(Vec<QuoteLine>) -> Result<Quote, QuoteError>) -> Result<CartView, ApiError> {
    let items = lines(cart, products)?;
    if cart.items.is_empty() {
        return Ok(CartView::empty());
    }
    let to_price = quote_lines(cart, products);
    let (quote, quote_error) = if to_price.is_empty() {
        (None, Some(QuoteError { code: "empty_cart", message: "none of the products in the cart is on sale".into() }))
    } else {
        match price(to_price) {
            Ok(q) => (Some(q), None),
            Err(e) => (None, Some(e)),
        }
    };
    Ok(CartView { items, quote, quote_error })
}

/// The product ids to ask the catalog about for `cart` and `also` (one more
/// product about to go in): one lookup then serves both the on-sale check
/// and the view of the changed cart.
pub fn lookup_ids<'a>(cart: &'a Cart, also: &'a str) -> Vec<&'a str> {
    let mut ids: Vec<&str> = cart.items.iter().map(|i| i.product_id.as_str()).collect();
    if !ids.contains(&also) {
        ids.push(also);
    }
    ids
}

/// Whether `products` has every product in `cart` (it may not, when another
/// request changed the cart in between).
pub fn covers(products: &[CatalogProduct], cart: &Cart) -> bool {
    cart.items.iter().all(|i| products.iter().any(|p| p.id == i.product_id))
}

/// 404 for a product the catalog does not have, 422 `product_inactive` for
/// one off sale.
pub fn on_sale(products: &[CatalogProduct], product_id: &str) -> Result<(), ApiError> {
    match products.iter().find(|p| p.id == product_id) {
        None => Err(ApiError::not_found("product").with_details(serde_json::json!({ "product_id": product_id }))),
        Some(p) if !p.active => Err(ApiError::unprocessable("product_inactive", format!("{} ({}) is no longer sold", p.name, p.sku))
            .with_details(serde_json::json!({ "product_id": product_id, "sku": p.sku }))),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::CartItem;
    use shop_common::Currency;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap())
    }

    fn product(id: &str, price: i64, active: bool, stock: i64) -> CatalogProduct {
        CatalogProduct { id: id.into(), sku: format!("SKU-{id}"), name: format!("Product {id}"), price: eur(price), weight_grams: 500, active, stock }
    }

    fn cart(items: &[(&str, u32)]) -> Cart {
        Cart { items: items.iter().map(|(p, q)| CartItem { product_id: (*p).into(), quantity: *q }).collect(), ordered: Vec::new() }
    }

    /// A stand-in for pricing: the subtotal, nothing else.
    fn subtotal(lines: Vec<QuoteLine>) -> Result<Quote, QuoteError> {
        let total = lines.iter().map(|l| l.unit_price.amount * i64::from(l.quantity)).sum();
        Ok(Quote { subtotal: eur(total), discount: eur(0), shipping: eur(0), tax: eur(0), total: eur(total), promo_code: None })
    }

    #[test]
    fn one_lookup_covers_the_cart_and_the_product_going_in() {
        let before = cart(&[("a", 1), ("b", 2)]);
        assert_eq!(lookup_ids(&before, "c"), ["a", "b", "c"]);
        assert_eq!(lookup_ids(&before, "b"), ["a", "b"]);
        let products = [product("a", 100, true, 1), product("b", 100, true, 1), product("c", 100, true, 1)];
        assert!(covers(&products, &cart(&[("a", 1), ("c", 1)])));
        assert!(!covers(&products[..2], &cart(&[("a", 1), ("c", 1)])), "c was added by another request meanwhile");
    }

    #[test]
    fn only_a_known_active_product_is_on_sale() {
        let products = [product("a", 100, true, 0), product("b", 100, false, 5)];
        assert!(on_sale(&products, "a").is_ok(), "out of stock is still on sale");
        assert_eq!(on_sale(&products, "b").unwrap_err().code, "product_inactive");
        assert_eq!(on_sale(&products, "z").unwrap_err().status, 404);
    }

    #[test]
    fn lines_show_current_prices_and_availability() {
        let products = [product("a", 1250, true, 10), product("b", 500, true, 1), product("c", 900, false, 50)];
        let v = view(&cart(&[("a", 2), ("b", 3), ("c", 1), ("gone", 1)]), &products, subtotal).unwrap();
        let got: Vec<_> = v.items.iter().map(|l| (l.product_id.as_str(), l.line_total.amount, l.available)).collect();
        assert_eq!(got, [("a", 2500, true), ("b", 1500, false), ("c", 900, false)]);
        // The inactive product is left out of the quote; the short one is not.
        assert_eq!(v.quote.unwrap().subtotal, eur(4000));
        assert_eq!(v.quote_error, None);
    }

    #[test]
    fn a_pricing_error_still_shows_the_cart() {
        let products = [product("a", 1250, true, 10)];
        let refuse = |_| Err(QuoteError { code: "unknown_promo_code", message: "unknown promo code \"NOPE\"".into() });
        let v = view(&cart(&[("a", 1)]), &products, refuse).unwrap();
        assert_eq!((v.items.len(), v.quote.is_none()), (1, true));
        assert_eq!(v.quote_error.unwrap().code, "unknown_promo_code");
    }

    #[test]
    fn nothing_to_price_is_no_quote() {
        let never = |_: Vec<QuoteLine>| -> Result<Quote, QuoteError> { panic!("pricing must not be called") };
        assert_eq!(view(&Cart::default(), &[], never).unwrap(), CartView::empty());
        let v = view(&cart(&[("c", 1)]), &[product("c", 900, false, 5)], never).unwrap();
        assert_eq!((v.quote, v.quote_error.map(|e| e.code)), (None, Some("empty_cart")));
    }

    #[test]
    fn the_country_comes_from_the_query_then_the_address_then_de() {
        assert_eq!(country(Some("fr"), Some("NL")), "FR");
        assert_eq!(country(Some(" "), Some("NL")), "NL");
        assert_eq!(country(None, None), "DE");
        assert_eq!(promo_code(Some(" ")), None);
        assert_eq!(promo_code(Some("welcome10")).as_deref(), Some("welcome10"));
    }
}
