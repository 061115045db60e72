//! The gateway service (skeleton; see docs/shop.md).
