//! The notifications service (see docs/shop.md): a notification for each
//! `order.placed`, `order.cancelled` and `shipment.updated` event, listed
//! per user, and posted to a webhook when `webhook_url` is set. Plain
//! modules hold the messages and SQL; `adapter` (wasm32 only) is the Spin
//! side.

pub mod message;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// The public routes this service serves, as in docs/openapi.yaml.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[("GET", "/api/v1/notifications")];
