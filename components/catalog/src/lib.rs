//! The catalog service (skeleton; see docs/shop.md).
