//! The users service (skeleton; see docs/shop.md).
