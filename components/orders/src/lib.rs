//! The orders service (docs/shop.md): placing orders (a saga over catalog,
//! pricing and payments), reading and cancelling them, and the events
//! between orders, shipping and notifications. Everything but `adapter`
//! (wasm32 only) is plain Rust, tested natively with a fake for the other
//! services (`tests`).

pub mod cancel;
pub mod idempotency;
pub mod input;
pub mod model;
pub mod outbox;
pub mod saga;
pub mod services;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod adapter;

#[cfg(test)]
mod tests;

/// The public routes this service serves (compared with the OpenAPI document).
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders"),
    ("GET", "/api/v1/orders/{id}"),
    ("POST", "/api/v1/orders/{id}/cancel"),
];
