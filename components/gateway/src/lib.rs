//! The gateway middleware (docs/shop.md), in front of every public route:
//! the request id, the caller from the bearer token, and a rate limit per
//! client. `decide`, `bucket`, `slots` and `limit` are the plain rules;
//! `adapter` (wasm32 only) applies them to the raw wasi:http request and
//! response.

pub mod bucket;
pub mod decide;
pub mod limit;
pub mod slots;
pub mod verified;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// The gateway serves no routes of its own; it sits in front of the others'.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[];
