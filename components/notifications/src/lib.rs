//! The notifications service (skeleton; see docs/shop.md).
