//! The meta service (skeleton; see docs/shop.md).
