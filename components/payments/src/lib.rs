//! The payments service: a simulated card processor (docs/shop.md). Card
//! rules in `card`, storage in `store`, both plain Rust tested natively;
//! `adapter` (wasm32 only) routes HTTP requests onto them.

pub mod card;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// The public routes this service serves (compared with the OpenAPI document).
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[("GET", "/api/v1/payments"), ("GET", "/api/v1/payments/{id}")];
