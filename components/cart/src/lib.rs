//! The cart service (skeleton; see docs/shop.md).
