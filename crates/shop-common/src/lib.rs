//! What every shop service shares, in plain Rust that compiles natively
//! (and is unit-tested there) and for wasm32-wasip2: the one error shape,
//! money in minor units, UUIDv7 ids, RFC 3339 UTC times, pagination, the
//! caller's identity as the gateway middleware passes it on, bearer tokens
//! and the keys that sign and verify them, JSON bodies, store access behind
//! traits, and events between services.
//! `spin` (wasm32 only) is the adapter onto spin-sdk.

pub mod db;
pub mod error;
pub mod events;
pub mod id;
pub mod identity;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod kv;
pub mod money;
pub mod page;
pub mod pricing;
pub mod query;
pub mod timestamp;

#[cfg(all(feature = "spin", target_arch = "wasm32"))]
pub mod spin;

pub use db::{Db, Row, Value, transaction};
pub use error::ApiError;
pub use identity::{Identity, Role};
pub use kv::Kv;
pub use money::{Currency, Money};
pub use page::{Page, PageRequest};
