//! The shipping service (see docs/shop.md): rate quotes priced through the
//! pricing dependency, shipments made from order events, and tracking
//! updates announced as `shipment.updated`. Plain modules hold the rules
//! and SQL; `adapter` (wasm32 only) is the Spin side.

pub mod consumer;
pub mod quote;
pub mod shipment;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// The public routes this service serves, as in docs/openapi.yaml.
pub const PUBLIC_ROUTES: &[(&str, &str)] =
    &[("POST", "/api/v1/shipping/quotes"), ("GET", "/api/v1/shipments"), ("GET", "/api/v1/shipments/{id}"), ("POST", "/api/v1/shipments/{id}/events")];
