//! The cart service (docs/shop.md): the caller's cart in the `cart`
//! key-value store, shown with current prices and a quote from the pricing
//! component. `cart` keeps the items and their limits, `view` builds what
//! the API shows, `consumer` takes an order's lines out when orders says it
//! was placed; `adapter` (wasm32 only) asks the catalog, users and pricing
//! and routes HTTP requests.

pub mod cart;
pub mod consumer;
pub mod view;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// The public routes this service serves (method, path template).
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/cart"),
    ("DELETE", "/api/v1/cart"),
    ("POST", "/api/v1/cart/items"),
    ("PUT", "/api/v1/cart/items/{product_id}"),
    ("DELETE", "/api/v1/cart/items/{product_id}"),
];
