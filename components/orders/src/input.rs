//! Checking what a client sends to place an order: the body's fields and
//! the `Idempotency-Key` header. The card is checked for presence and types
//! only; the payments service checks the card itself.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shop_common::ApiError;

use crate::model::Address;

pub const MAX_LINES: usize = 50;
pub const MAX_QUANTITY: i64 = 99;
pub const MAX_KEY_CHARS: usize = 128;

/// One requested line: `{"product_id", "quantity"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineRequest {
    pub product_id: String,
    pub quantity: i64,
}

/// `{"number", "exp_month", "exp_year", "cvc"}`, passed to payments as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub number: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub cvc: String,
}

/// The body of `POST /api/v1/orders`.
#[derive(Debug, Clone, Deserialize)]
pub struct PlaceBody {
    #[serde(default)]
    pub items: Option<Vec<LineRequest>>,
    #[serde(default)]
    pub shipping_address: Option<Address>,
    pub card: Card,
    #[serde(default)]
    pub promo_code: Option<String>,
}

/// A checked body: lines merged, promo code trimmed (blank is none).
#[derive(Debug, Clone)]
pub struct PlaceInput {
    pub items: Option<Vec<LineRequest>>,
    pub shipping_address: Option<Address>,
    pub card: Card,
    pub promo_code: Option<String>,
}

pub fn parse_body(body: &[u8]) -> Result<PlaceInput, ApiError> {
    let body: PlaceBody = shop_common::json::parse(body)?;
    let items = match body.items {
        Some(items) if items.is_empty() => {
            return Err(ApiError::invalid_field("items", "`items` must list at least one product (or be left out to order the cart)"));
        }
        Some(items) => Some(merge_lines(&items, "items")?),
        None => None,
    };
    if let Some(address) = &body.shipping_address {
        address.validate("shipping_address")?;
    }
    for (field, value) in [("card.number", &body.card.number), ("card.cvc", &body.card.cvc)] {
        if value.trim().is_empty() {
            return Err(ApiError::invalid_field(field, format!("`{field}` must not be empty")));
        }
    }
    let promo_code = body.promo_code.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
    Ok(PlaceInput { items, shipping_address: body.shipping_address, card: body.card, promo_code })
}

/// Checks each line (quantity 1 to 99, at most 50 lines) and merges lines
/// of the same product, keeping the order of first appearance. Errors name
/// `<field>[i].quantity` and the like (400).
pub fn merge_lines(lines: &[LineRequest], field: &str) -> Result<Vec<LineRequest>, ApiError> {
    let mut merged: Vec<LineRequest> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        let id = line.product_id.trim();
        if id.is_empty() {
            return Err(ApiError::invalid_field(&format!("{field}[{i}].product_id"), "`product_id` must not be empty"));
        }
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            let f = format!("{field}[{i}].quantity");
            return Err(ApiError::invalid_field(&f, format!("`{f}` must be from 1 to {MAX_QUANTITY}")));
        }
        match index.get(id) {
            Some(&at) => {
                merged[at].quantity += line.quantity;
                if merged[at].quantity > MAX_QUANTITY {
                    let f = format!("{field}[{i}].quantity");
                    return Err(ApiError::invalid_field(&f, format!("product {id} adds up to more than {MAX_QUANTITY}")));
                }
            }
            None => {
                index.insert(id, merged.len());
                merged.push(LineRequest { product_id: id.to_owned(), quantity: line.quantity });
            }
        }
    }
    if merged.len() > MAX_LINES {
        return Err(ApiError::invalid_field(field, format!("an order can have at most {MAX_LINES} different products")));
    }
    Ok(merged)
}

/// The `Idempotency-Key` header: absent is fine; otherwise 1 to 128
/// printable ASCII characters, else 400.
pub fn idempotency_key(header: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(key) = header else { return Ok(None) };
    if (1..=MAX_KEY_CHARS).contains(&key.len()) && key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(Some(key.to_owned()))
    } else {
        Err(ApiError::invalid_field("Idempotency-Key", format!("the Idempotency-Key header must be 1 to {MAX_KEY_CHARS} printable ASCII characters")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, q: i64) -> LineRequest {
        LineRequest { product_id: id.into(), quantity: q }
    }

    const CARD: &str = r#""card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}"#;

    #[test]
    fn duplicate_products_are_merged() {
        let merged = merge_lines(&[line("a", 2), line("b", 1), line("a", 3)], "items").unwrap();
        assert_eq!(merged, vec![line("a", 5), line("b", 1)]);
    }

    #[test]
    fn quantities_and_line_counts_are_bounded() {
        assert_eq!(merge_lines(&[line("a", 0)], "items").unwrap_err().details["field"], "items[0].quantity");
        assert_eq!(merge_lines(&[line("a", 1), line("b", 100)], "items").unwrap_err().details["field"], "items[1].quantity");
        assert_eq!(merge_lines(&[line("a", 50), line("a", 50)], "items").unwrap_err().details["field"], "items[1].quantity");
        let many: Vec<_> = (0..51).map(|i| line(&format!("p{i}"), 1)).collect();
        assert_eq!(merge_lines(&many, "items").unwrap_err().details["field"], "items");
        assert_eq!(merge_lines(&many[..50], "items").unwrap().len(), 50);
    }

    #[test]
    fn bodies_are_checked_for_shape() {
        let ok = parse_body(format!(r#"{{"items": [{{"product_id": "a", "quantity": 1}}], {CARD}, "promo_code": " "}}"#).as_bytes()).unwrap();
        assert_eq!((ok.items.map(|i| i.len()), ok.promo_code), (Some(1), None));
        assert!(parse_body(format!("{{{CARD}}}").as_bytes()).unwrap().items.is_none(), "no items: the cart");
        let e = parse_body(br#"{"card": {"number": 4242, "exp_month": 1, "exp_year": 2030, "cvc": "1"}}"#).unwrap_err();
        assert_eq!(e.details["field"], "card.number");
        assert_eq!(parse_body(b"{}").unwrap_err().status, 400, "card is required");
        let e = parse_body(format!(r#"{{"items": [], {CARD}}}"#).as_bytes()).unwrap_err();
        assert_eq!(e.details["field"], "items");
    }

    #[test]
    fn idempotency_keys() {
        assert_eq!(idempotency_key(None).unwrap(), None);
        assert_eq!(idempotency_key(Some("order 1/abc")).unwrap().as_deref(), Some("order 1/abc"));
        assert!(idempotency_key(Some(&"k".repeat(128))).is_ok());
        for bad in ["", "tab\there", "ünïcode"] {
            assert_eq!(idempotency_key(Some(bad)).unwrap_err().status, 400, "{bad:?}");
        }
        assert!(idempotency_key(Some(&"k".repeat(129))).is_err());
    }
}
