//! The payments service (skeleton; see docs/shop.md).
