//! What every shop service shares, in plain Rust that compiles natively
//! (and is unit-tested there) and for wasm32-wasip2: the one error shape,
//! money in minor units, UUIDv7 ids, RFC 3339 UTC times, pagination, and
//! the caller's identity as the gateway middleware passes it on.

pub mod error;
pub mod id;
pub mod identity;
pub mod money;
pub mod page;
pub mod timestamp;

pub use error::ApiError;
pub use identity::{Identity, Role};
pub use money::{Currency, Money};
pub use page::{Page, PageRequest};
