//! The catalog service (docs/shop.md): products, search and categories for
//! shoppers, product administration for admins, and stock reservations for
//! the orders service. Rules and SQL live in the plain modules below,
//! tested natively; `adapter` (wasm32 only) routes HTTP requests to them.

pub mod inventory;
pub mod product;
pub mod products;
pub mod schema;

#[cfg(target_arch = "wasm32")]
mod adapter;

#[cfg(test)]
mod tests;

/// The public routes this service serves (method, path template).
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/products"),
    ("POST", "/api/v1/products"),
    ("GET", "/api/v1/products/{id}"),
    ("PATCH", "/api/v1/products/{id}"),
    ("POST", "/api/v1/products/{id}/deactivate"),
    ("POST", "/api/v1/products/{id}/restock"),
    ("GET", "/api/v1/categories"),
];
