//! The orders service (docs/shop.md): placing orders (a saga over catalog,
//! pricing and payments), reading and cancelling them, and the events
//! between orders, shipping and notifications. Everything but `adapter`
//! (wasm32 only) is plain Rust, tested natively with a fake for the other
//! services (`tests`). An order left half-placed by a crash is settled by
//! `recovery`; what a failed or cancelled order must undo goes through the
//! outbox (`compensation` records it, `commands` carries it out).

pub mod audit;
pub mod cancel;
pub mod commands;
pub mod compensation;
pub mod idempotency;
pub mod input;
pub mod model;
pub mod outbox;
pub mod recovery;
pub mod saga;
pub mod services;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod adapter;

#[cfg(test)]
mod tests;

/// The public routes this service serves (compared with the OpenAPI document).
pub const PUBLIC_ROUTES: &[(&str, &str)] =
    &[("POST", "/api/v1/orders"), ("GET", "/api/v1/orders"), ("GET", "/api/v1/orders/{id}"), ("POST", "/api/v1/orders/{id}/cancel")];
