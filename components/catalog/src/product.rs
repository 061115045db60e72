//! A product as the API shows it, and the admin's input for creating and
//! changing one, with the rules each field must meet.

use serde::{Deserialize, Deserializer, Serialize};
use shop_common::db::Row;
use shop_common::{ApiError, Currency, Money, timestamp};

/// The columns [`Product::from_row`] reads, in its order.
pub const COLUMNS: &str = "id, sku, name, description, category, price_amount, currency, image_url, weight_grams, active, stock, created_at, updated_at";

pub const MAX_SKU_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
pub const MAX_CATEGORY_CHARS: usize = 50;
pub const MAX_URL_CHARS: usize = 2_048;
/// Generous, but low enough that price x quantity never nears `i64::MAX`.
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;
/// One tonne; pricing takes a unit's weight as a `u32`.
pub const MAX_WEIGHT_GRAMS: i64 = 1_000_000;
pub const MAX_STOCK: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price: Money,
    pub image_url: Option<String>,
    pub weight_grams: i64,
    pub active: bool,
    pub stock: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Product {
    pub fn from_row(row: &Row) -> Result<Product, ApiError> {
        let currency = Currency::parse(&row.text(6)?).map_err(|e| ApiError::internal(format!("stored product: {e}")))?;
        Ok(Product {
            id: row.text(0)?,
            sku: row.text(1)?,
            name: row.text(2)?,
            description: row.text(3)?,
            category: row.text(4)?,
            price: Money::new(row.int(5)?, currency),
            image_url: row.opt_text(7)?,
            weight_grams: row.int(8)?,
            active: row.bool(9)?,
            stock: row.int(10)?,
            created_at: timestamp::to_rfc3339(row.int(11)?),
            updated_at: timestamp::to_rfc3339(row.int(12)?),
        })
    }
}

/// `POST /api/v1/products`.
#[derive(Debug, Clone, Deserialize)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price: Money,
    #[serde(default)]
    pub image_url: Option<String>,
    pub weight_grams: i64,
    pub stock: i64,
}

/// `PATCH /api/v1/products/{id}`: only the fields given change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub price: Option<Money>,
    /// Absent: unchanged; `null`: removed.
    #[serde(default, deserialize_with = "present")]
    pub image_url: Option<Option<String>>,
    pub weight_grams: Option<i64>,
    /// Lets an admin put a deactivated product back on sale.
    pub active: Option<bool>,
    /// Refused: stock changes only by restocking and orders.
    #[serde(default, deserialize_with = "present")]
    pub stock: Option<Option<serde_json::Value>>,
}

/// A field that is present (even as `null`) becomes `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

pub fn check_sku(sku: &str) -> Result<String, ApiError> {
    let ok = (1..=MAX_SKU_CHARS).contains(&sku.len()) && sku.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(sku.to_owned())
    } else {
        Err(ApiError::invalid_field("sku", format!("`sku` must be 1 to {MAX_SKU_CHARS} letters, digits, `-` or `_`; got {sku:?}")))
    }
}

/// Trimmed text of `min..=max` characters.
fn check_text(field: &str, text: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let text = text.trim();
    let n = text.chars().count();
    if n < min || n > max {
        let what = if min == 0 { format!("at most {max}") } else { format!("{min} to {max}") };
        return Err(ApiError::invalid_field(field, format!("`{field}` must be {what} characters (not counting surrounding spaces); got {n}")));
    }
    Ok(text.to_owned())
}

pub fn check_name(name: &str) -> Result<String, ApiError> {
    check_text("name", name, 1, MAX_NAME_CHARS)
}

pub fn check_description(description: &str) -> Result<String, ApiError> {
    check_text("description", description, 0, MAX_DESCRIPTION_CHARS)
}

pub fn check_category(category: &str) -> Result<String, ApiError> {
    check_text("category", category, 1, MAX_CATEGORY_CHARS)
}

pub fn check_price(price: Money) -> Result<Money, ApiError> {
    if (0..=MAX_PRICE_MINOR).contains(&price.amount) {
        Ok(price)
    } else {
        Err(ApiError::invalid_field("price.amount", format!("`price.amount` must be from 0 to {MAX_PRICE_MINOR} minor units; got {}", price.amount)))
    }
}

/// An absolute http(s) URL, or nothing.
pub fn check_image_url(url: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else { return Ok(None) };
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > MAX_URL_CHARS || url.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid_field(
            "image_url",
            format!("`image_url` must be an http or https URL of at most {MAX_URL_CHARS} characters without spaces"),
        ));
    }
    Ok(Some(url.to_owned()))
}

pub fn check_weight(grams: i64) -> Result<i64, ApiError> {
    if (0..=MAX_WEIGHT_GRAMS).contains(&grams) {
        Ok(grams)
    } else {
        Err(ApiError::invalid_field("weight_grams", format!("`weight_grams` must be from 0 to {MAX_WEIGHT_GRAMS}; got {grams}")))
    }
}

pub fn check_stock(stock: i64) -> Result<i64, ApiError> {
    if (0..=MAX_STOCK).contains(&stock) {
        Ok(stock)
    } else {
        Err(ApiError::invalid_field("stock", format!("`stock` must be from 0 to {MAX_STOCK}; got {stock}")))
    }
}

impl NewProduct {
    /// The input with every field checked and text trimmed.
    pub fn validated(self) -> Result<NewProduct, ApiError> {
        Ok(NewProduct {
            sku: check_sku(&self.sku)?,
            name: check_name(&self.name)?,
            description: check_description(&self.description)?,
            category: check_category(&self.category)?,
            price: check_price(self.price)?,
            image_url: check_image_url(self.image_url.as_deref())?,
            weight_grams: check_weight(self.weight_grams)?,
            stock: check_stock(self.stock)?,
        })
    }
}

impl ProductPatch {
    /// The patch with every given field checked; `stock` is refused.
    pub fn validated(self) -> Result<ProductPatch, ApiError> {
        if self.stock.is_some() {
            return Err(ApiError::invalid_field("stock", "`stock` cannot be patched: use POST /api/v1/products/{id}/restock"));
        }
        Ok(ProductPatch {
            sku: self.sku.as_deref().map(check_sku).transpose()?,
            name: self.name.as_deref().map(check_name).transpose()?,
            description: self.description.as_deref().map(check_description).transpose()?,
            category: self.category.as_deref().map(check_category).transpose()?,
            price: self.price.map(check_price).transpose()?,
            image_url: self.image_url.map(|u| check_image_url(u.as_deref())).transpose()?,
            weight_grams: self.weight_grams.map(check_weight).transpose()?,
            active: self.active,
            stock: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_common::json;

    fn valid() -> serde_json::Value {
        serde_json::json!({
            "sku": "TEST-1", "name": " Tea Pot ", "description": "Holds tea.", "category": "kitchen",
            "price": {"amount": 2500, "currency": "EUR"}, "weight_grams": 800, "stock": 5
        })
    }

    fn create(body: serde_json::Value) -> Result<NewProduct, ApiError> {
        json::parse::<NewProduct>(body.to_string().as_bytes())?.validated()
    }

    #[test]
    fn a_valid_product_is_trimmed() {
        let p = create(valid()).unwrap();
        assert_eq!((p.name.as_str(), p.image_url), ("Tea Pot", None));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: &[(&str, serde_json::Value, &str)] = &[
            ("sku", serde_json::json!(""), "sku"),
            ("sku", serde_json::json!("has space"), "sku"),
            ("sku", serde_json::json!("x".repeat(65)), "sku"),
            ("name", serde_json::json!("   "), "name"),
            ("name", serde_json::json!("n".repeat(201)), "name"),
            ("category", serde_json::json!(""), "category"),
            ("price", serde_json::json!({"amount": -1, "currency": "EUR"}), "price.amount"),
            ("price", serde_json::json!({"amount": 1, "currency": "euro"}), "price.currency"),
            ("price", serde_json::json!({"amount": 1.5, "currency": "EUR"}), "price.amount"),
            ("weight_grams", serde_json::json!(-1), "weight_grams"),
            ("stock", serde_json::json!(-3), "stock"),
            ("image_url", serde_json::json!("ftp://x"), "image_url"),
        ];
        for (field, value, named) in cases {
            let mut body = valid();
            body[*field] = value.clone();
            let err = create(body).unwrap_err();
            assert_eq!((err.status, err.details["field"].as_str()), (400, Some(*named)), "{field} = {value}: {err}");
        }
    }

    #[test]
    fn missing_fields_are_named() {
        let mut body = valid();
        body.as_object_mut().unwrap().remove("price");
        let err = create(body).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains("price"), "{}", err.message);
    }

    #[test]
    fn a_patch_cannot_touch_stock_and_may_clear_the_image() {
        let err = json::parse::<ProductPatch>(br#"{"stock": 5}"#).unwrap().validated().unwrap_err();
        assert_eq!(err.details["field"], "stock");
        let patch = json::parse::<ProductPatch>(br#"{"image_url": null}"#).unwrap().validated().unwrap();
        assert_eq!(patch.image_url, Some(None));
        let patch = json::parse::<ProductPatch>(br#"{"name": "x"}"#).unwrap().validated().unwrap();
        assert_eq!(patch.image_url, None);
    }
}
