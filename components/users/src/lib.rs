//! The users service (docs/shop.md): accounts with argon2id passwords,
//! login tokens, the caller's profile and shipping address, and the first
//! admin from the app's variables. Rules in `service`, SQL in `store`,
//! input checks in `validate`; `adapter` (wasm32 only) is the Spin export.

pub mod password;
pub mod service;
pub mod store;
pub mod validate;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// Every public route this service serves (method, path template).
pub const PUBLIC_ROUTES: &[(&str, &str)] =
    &[("POST", "/api/v1/users"), ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/users/me"), ("PATCH", "/api/v1/users/me"), ("GET", "/api/v1/users/{id}")];
