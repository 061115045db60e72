//! What the shop scenarios share: endpoint names, the run's identity
//! (emails, idempotency keys), the product list a user remembers, and
//! reading the shop's answers.

use bytes::Bytes;
use hyper::Method;
use serde::Deserialize;
use serde_json::json;

use super::RequestSpec;
use crate::stats::Expect;

/// Endpoint names in the summary: templates, not each id.
pub mod ep {
    pub const PRODUCTS: &str = "GET /api/v1/products";
    pub const SEARCH: &str = "GET /api/v1/products?q={q}";
    pub const CATEGORY: &str = "GET /api/v1/products?category={category}";
    pub const PRODUCT: &str = "GET /api/v1/products/{id}";
    pub const REGISTER: &str = "POST /api/v1/users";
    pub const LOGIN: &str = "POST /api/v1/auth/login";
    pub const ADDRESS: &str = "PATCH /api/v1/users/me";
    pub const CART_ADD: &str = "POST /api/v1/cart/items";
    pub const CART_SET: &str = "PUT /api/v1/cart/items/{product_id}";
    pub const CART_VIEW: &str = "GET /api/v1/cart";
    pub const CART_CLEAR: &str = "DELETE /api/v1/cart";
    pub const ORDER: &str = "POST /api/v1/orders";
}

/// The most units of one product a cart line may hold.
pub const MAX_LINE_QUANTITY: u32 = 99;
/// The page size of the first product list (the contract's maximum).
pub const LIST_ALL_PAGE_SIZE: u32 = 100;

/// What makes this run's accounts and keys unique.
#[derive(Debug, Clone)]
pub struct Run {
    pub seed: u64,
    pub nonce: String,
}

impl Run {
    /// The email of virtual user `index`'s account of `kind` (cart, checkout).
    pub fn email(&self, index: u32, kind: &str) -> String {
        format!("load-{}-s{}-u{index}-{kind}@load.souk.test", self.nonce, self.seed)
    }

    /// Prefix of virtual user `index`'s idempotency keys.
    pub fn key_prefix(&self, index: u32) -> String {
        format!("load-{}-s{}-u{index}", self.nonce, self.seed)
    }
}

/// A product as the list shows it, with what the users pick by.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Product {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub category: String,
}

#[derive(Deserialize)]
struct ProductPage {
    items: Vec<Product>,
    #[serde(default)]
    total: u64,
}

/// The products a user listed first and picks from afterwards.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub products: Vec<Product>,
    /// Distinct categories, in the order first seen.
    pub categories: Vec<String>,
    /// Active products in the shop (may be more than listed).
    pub total: u64,
}

impl Catalog {
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// The first request of a user that picks products.
    pub fn request() -> RequestSpec {
        RequestSpec::get(ep::PRODUCTS, format!("/api/v1/products?page_size={LIST_ALL_PAGE_SIZE}")).expecting(Expect::Status(200))
    }

    /// Remembers the products of a successful list; anything else leaves
    /// the catalog as it was (and the user lists again).
    pub fn on_response(&mut self, status: u16, body: &Bytes) {
        if status != 200 {
            return;
        }
        let Ok(page) = serde_json::from_slice::<ProductPage>(body) else {
            return;
        };
        self.total = page.total.max(page.items.len() as u64);
        self.categories.clear();
        for p in &page.items {
            if !p.category.is_empty() && !self.categories.contains(&p.category) {
                self.categories.push(p.category.clone());
            }
        }
        self.products = page.items;
    }

    /// A random product; the catalog must not be empty.
    pub fn pick<'a>(&'a self, rng: &mut fastrand::Rng) -> &'a Product {
        &self.products[rng.usize(..self.products.len())]
    }
}

/// A cart line as the cart answers show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Line {
    pub product_id: String,
    pub quantity: u32,
}

#[derive(Deserialize)]
struct CartBody {
    items: Vec<Line>,
}

/// The lines of a cart answer (`GET /api/v1/cart`, and the add and update
/// answers, which show the cart too); `None` if the body is not one.
pub fn parse_cart(body: &Bytes) -> Option<Vec<Line>> {
    serde_json::from_slice::<CartBody>(body).ok().map(|c| c.items)
}

pub fn add_to_cart(product_id: &str, quantity: u32) -> RequestSpec {
    RequestSpec::json(ep::CART_ADD, Method::POST, "/api/v1/cart/items", &json!({ "product_id": product_id, "quantity": quantity }))
        .expecting(Expect::Status(200))
}

pub fn clear_cart() -> RequestSpec {
    RequestSpec::new(ep::CART_CLEAR, Method::DELETE, "/api/v1/cart").expecting(Expect::Status(204))
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub mod testing {
    //! Canned shop answers for the scenarios' tests.
    use bytes::Bytes;
    use serde_json::json;

    pub fn products() -> Bytes {
        Bytes::from(
            json!({
                "items": [
                    {"id": "p1", "name": "Stoneware Coffee Mug", "category": "kitchen", "stock": 5},
                    {"id": "p2", "name": "Chef's Knife 20 cm", "category": "kitchen", "stock": 5},
                    {"id": "p3", "name": "Linen Throw", "category": "home & living", "stock": 5},
                ],
                "page": 1, "page_size": 100, "total": 45
            })
            .to_string(),
        )
    }

    pub fn login(token: &str) -> Bytes {
        Bytes::from(json!({"token": token, "token_type": "Bearer", "expires_in": 3600, "user": {"id": "u1"}}).to_string())
    }

    pub fn cart(lines: &[(&str, u32)]) -> Bytes {
        let items: Vec<_> = lines.iter().map(|(id, q)| json!({"product_id": id, "quantity": q})).collect();
        Bytes::from(json!({"items": items, "quote": null, "quote_error": null}).to_string())
    }

    pub fn empty() -> Bytes {
        Bytes::from_static(b"{}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("mug"), "mug");
        assert_eq!(encode("home & living"), "home%20%26%20living");
        assert_eq!(encode("chef's"), "chef%27s");
        assert_eq!(encode("ü"), "%C3%BC");
    }

    #[test]
    fn the_catalog_remembers_ids_names_and_categories() {
        let mut c = Catalog::default();
        c.on_response(503, &testing::products());
        assert!(c.is_empty());
        c.on_response(200, &Bytes::from_static(b"not json"));
        assert!(c.is_empty());
        c.on_response(200, &testing::products());
        let ids: Vec<_> = c.products.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["p1", "p2", "p3"]);
        assert_eq!(c.categories, ["kitchen", "home & living"]);
        assert_eq!(c.total, 45);
        assert_eq!(c.products[0].name, "Stoneware Coffee Mug");
    }

    #[test]
    fn cart_answers_parse() {
        assert_eq!(parse_cart(&testing::cart(&[("p1", 2)])), Some(vec![Line { product_id: "p1".into(), quantity: 2 }]));
        assert_eq!(parse_cart(&testing::empty()), None);
    }

    #[test]
    fn emails_and_keys_are_unique_per_run_user_and_kind() {
        let run = Run { seed: 7, nonce: "abc".into() };
        assert_eq!(run.email(3, "cart"), "load-abc-s7-u3-cart@load.souk.test");
        assert_ne!(run.email(3, "cart"), run.email(3, "checkout"));
        assert_ne!(run.email(3, "cart"), run.email(4, "cart"));
        assert_eq!(run.key_prefix(3), "load-abc-s7-u3");
    }
}
