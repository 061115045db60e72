//! The shipping service (skeleton; see docs/shop.md).
