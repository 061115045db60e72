//! The tokens service (docs/shop.md): the only holder of the private key
//! that signs login tokens. users asks it for a token once a password has
//! checked out (`POST /internal/tokens/issue`); nothing else can reach it,
//! since only users lists `http://tokens.spin.internal`. The rules are in
//! `signer`; `adapter` (wasm32 only) is the Spin export.

pub mod signer;

#[cfg(target_arch = "wasm32")]
mod adapter;

/// It serves no public routes.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[];
