//! The orders service (skeleton; see docs/shop.md).
