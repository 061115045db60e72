//! The caller's cart in the key-value store: `cart:<user_id>` holds
//! `{"items": [{"product_id", "quantity"}]}` in the order items were added,
//! and `"ordered"`, the last orders whose lines were taken out of it.
//! Whether a product exists and is on sale is the adapter's check (it asks
//! the catalog); this module keeps the limits.

use serde::{Deserialize, Serialize};
use serde_json::json;
use shop_common::ApiError;
use shop_common::kv::{self, Kv};

/// Units of one product in a cart.
pub const MAX_LINE_QUANTITY: i64 = 99;
/// Different products in a cart.
pub const MAX_LINES: usize = 50;
/// Orders a cart remembers having given up its lines to (see [`take_ordered`]).
pub const REMEMBERED_ORDERS: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub items: Vec<CartItem>,
    /// The last orders whose lines were taken out, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ordered: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub product_id: String,
    pub quantity: u32,
}

/// A line of an order made from the cart: what it took out of it (or gives back).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderedLine {
    pub product_id: String,
    pub quantity: u32,
}

impl Cart {
    pub fn quantity_of(&self, product_id: &str) -> Option<u32> {
        self.items.iter().find(|i| i.product_id == product_id).map(|i| i.quantity)
    }
}

pub fn key(user_id: &str) -> String {
    format!("cart:{user_id}")
}

fn too_many(message: String) -> ApiError {
    ApiError::unprocessable("unprocessable", message).with_details(json!({ "field": "quantity", "max": MAX_LINE_QUANTITY }))
}

/// A requested quantity: `min..=99`, else 422 naming `quantity`.
pub fn check_quantity(quantity: i64, min: i64) -> Result<u32, ApiError> {
    if (min..=MAX_LINE_QUANTITY).contains(&quantity) {
        u32::try_from(quantity).map_err(|_| too_many(format!("`quantity` must be from {min} to {MAX_LINE_QUANTITY}")))
    } else {
        Err(too_many(format!("`quantity` must be from {min} to {MAX_LINE_QUANTITY}; got {quantity}")))
    }
}

pub async fn load<K: Kv>(kv: &K, user_id: &str) -> Result<Cart, ApiError> {
    decode(user_id, kv.get(&key(user_id)).await?.as_deref())
}

fn decode(user_id: &str, stored: Option<&[u8]>) -> Result<Cart, ApiError> {
    match stored {
        None => Ok(Cart::default()),
        Some(bytes) => serde_json::from_slice(bytes).map_err(|e| ApiError::internal(format!("the stored cart of {user_id} is unreadable: {e}"))),
    }
}

fn encode(cart: &Cart) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(cart).map_err(|e| ApiError::internal(format!("encoding a cart: {e}")))
}

/// Applies `change` to the stored cart and stores the result, without
/// losing a change another request makes to the same cart meanwhile (two
/// tabs adding at once): on such a race `change` runs again on the newer
/// cart. An emptied cart is stored empty, since a compare-and-swap cannot
/// delete.
async fn modify<K: Kv>(kv: &K, user_id: &str, mut change: impl FnMut(&mut Cart) -> Result<(), ApiError>) -> Result<Cart, ApiError> {
    kv::update(kv, &key(user_id), |stored| {
        let mut cart = decode(user_id, stored)?;
        change(&mut cart)?;
        Ok((encode(&cart)?, cart))
    })
    .await
}

fn add_line(cart: &mut Cart, product_id: &str, quantity: u32) -> Result<(), ApiError> {
    if cart.items.len() >= MAX_LINES {
        return Err(ApiError::unprocessable("unprocessable", format!("a cart holds at most {MAX_LINES} different products"))
            .with_details(json!({ "max_lines": MAX_LINES })));
    }
    cart.items.push(CartItem { product_id: product_id.to_owned(), quantity });
    Ok(())
}

/// Adds `quantity` units (1..=99) of a product; the line may not pass 99.
pub async fn add<K: Kv>(kv: &K, user_id: &str, product_id: &str, quantity: i64) -> Result<Cart, ApiError> {
    let quantity = check_quantity(quantity, 1)?;
    modify(kv, user_id, |cart| match cart.items.iter_mut().find(|i| i.product_id == product_id) {
        Some(line) => {
            let total = i64::from(line.quantity) + i64::from(quantity);
            if total > MAX_LINE_QUANTITY {
                return Err(too_many(format!(
                    "the cart already has {} of this product; adding {quantity} would make {total}, and at most {MAX_LINE_QUANTITY} are allowed",
                    line.quantity
                )));
            }
            line.quantity += quantity;
            Ok(())
        }
        None => add_line(cart, product_id, quantity),
    })
    .await
}

/// Sets a line's quantity (0..=99); 0 removes it (404 if it is not there).
pub async fn set<K: Kv>(kv: &K, user_id: &str, product_id: &str, quantity: i64) -> Result<Cart, ApiError> {
    let quantity = check_quantity(quantity, 0)?;
    if quantity == 0 {
        return remove(kv, user_id, product_id).await;
    }
    modify(kv, user_id, |cart| match cart.items.iter_mut().find(|i| i.product_id == product_id) {
        Some(line) => {
            line.quantity = quantity;
            Ok(())
        }
        None => add_line(cart, product_id, quantity),
    })
    .await
}

/// Takes a product out of the cart; 404 if it is not in it.
pub async fn remove<K: Kv>(kv: &K, user_id: &str, product_id: &str) -> Result<Cart, ApiError> {
    modify(kv, user_id, |cart| {
        let before = cart.items.len();
        cart.items.retain(|i| i.product_id != product_id);
        if cart.items.len() == before {
            return Err(not_in_cart(product_id));
        }
        Ok(())
    })
    .await
}

pub fn not_in_cart(product_id: &str) -> ApiError {
    ApiError::new(404, "not_found", format!("product {product_id} is not in the cart")).with_details(json!({ "product_id": product_id }))
}

/// Empties the cart, keeping the orders it remembers (so an order told
/// again later is still known as taken). It is written empty rather than
/// deleted: Spin's SQLite store swaps onto a missing key without checking
/// that it is still missing, so keeping the key makes the next changes
/// safe there too.
pub async fn clear<K: Kv>(kv: &K, user_id: &str) -> Result<(), ApiError> {
    modify(kv, user_id, |cart| {
        cart.items.clear();
        Ok(())
    })
    .await
    .map(drop)
}

/// Takes the lines of an order out of the cart it was made from: each
/// product's quantity less what was ordered, a line that reaches 0 gone,
/// so whatever was added since stays. Once per order: `false` (and no
/// change) if this order's lines were already taken (the placement takes
/// them, and recovery or the outbox may tell the cart again); the cart
/// remembers its last
/// [`REMEMBERED_ORDERS`] orders for that.
pub async fn take_ordered<K: Kv>(kv: &K, user_id: &str, order_id: &str, lines: &[OrderedLine]) -> Result<bool, ApiError> {
    kv::update(kv, &key(user_id), |stored| {
        let mut cart = decode(user_id, stored)?;
        let first_time = !cart.ordered.iter().any(|o| o == order_id);
        if first_time {
            for ordered in lines {
                if let Some(line) = cart.items.iter_mut().find(|i| i.product_id == ordered.product_id) {
                    line.quantity = line.quantity.saturating_sub(ordered.quantity);
                }
            }
            cart.items.retain(|i| i.quantity > 0);
            cart.ordered.push(order_id.to_owned());
            let excess = cart.ordered.len().saturating_sub(REMEMBERED_ORDERS);
            cart.ordered.drain(..excess);
        }
        Ok((encode(&cart)?, first_time))
    })
    .await
}

/// Gives back the lines an order took out of the cart, when that order
/// will not be paid: each quantity added again (a line kept within 99, a
/// new line only while the cart has room), and the order forgotten. Once
/// per order: `false` (and no change) when the cart does not remember
/// giving this order its lines (never taken, or given back already).
pub async fn give_back<K: Kv>(kv: &K, user_id: &str, order_id: &str, lines: &[OrderedLine]) -> Result<bool, ApiError> {
    kv::update(kv, &key(user_id), |stored| {
        let mut cart = decode(user_id, stored)?;
        let Some(at) = cart.ordered.iter().position(|o| o == order_id) else { return Ok((encode(&cart)?, false)) };
        cart.ordered.remove(at);
        let most = MAX_LINE_QUANTITY as u32;
        for ordered in lines {
            if let Some(line) = cart.items.iter_mut().find(|i| i.product_id == ordered.product_id) {
                line.quantity = (line.quantity + ordered.quantity).min(most);
            } else if cart.items.len() < MAX_LINES {
                cart.items.push(CartItem { product_id: ordered.product_id.clone(), quantity: ordered.quantity.min(most) });
            }
        }
        Ok((encode(&cart)?, true))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use shop_common::kv::memory::MemoryKv;

    const U: &str = "user-1";

    fn ids(cart: &Cart) -> Vec<(&str, u32)> {
        cart.items.iter().map(|i| (i.product_id.as_str(), i.quantity)).collect()
    }

    #[test]
    fn adding_keeps_insertion_order_and_sums_lines() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "b", 2).await.unwrap();
            add(&kv, U, "a", 1).await.unwrap();
            let cart = add(&kv, U, "b", 3).await.unwrap();
            assert_eq!(ids(&cart), [("b", 5), ("a", 1)]);
            assert_eq!(load(&kv, U).await.unwrap(), cart);
            let raw: serde_json::Value = serde_json::from_slice(&kv.get("cart:user-1").await.unwrap().unwrap()).unwrap();
            assert_eq!(raw, json!({"items": [{"product_id": "b", "quantity": 5}, {"product_id": "a", "quantity": 1}]}));
            assert!(load(&kv, "someone-else").await.unwrap().items.is_empty());
        });
    }

    #[test]
    fn quantities_stay_within_1_to_99() {
        block_on(async {
            let kv = MemoryKv::default();
            for bad in [0, -1, 100] {
                let err = add(&kv, U, "a", bad).await.unwrap_err();
                assert_eq!((err.status, err.details["field"].as_str()), (422, Some("quantity")), "{bad}");
            }
            add(&kv, U, "a", 90).await.unwrap();
            let err = add(&kv, U, "a", 10).await.unwrap_err();
            assert_eq!(err.status, 422);
            assert!(err.message.contains("100") && err.message.contains("99"), "{}", err.message);
            assert_eq!(add(&kv, U, "a", 9).await.unwrap().quantity_of("a"), Some(99));
            assert_eq!(set(&kv, U, "a", 100).await.unwrap_err().status, 422);
        });
    }

    #[test]
    fn a_cart_holds_at_most_50_products() {
        block_on(async {
            let kv = MemoryKv::default();
            for i in 0..MAX_LINES {
                add(&kv, U, &format!("p{i}"), 1).await.unwrap();
            }
            assert_eq!(add(&kv, U, "one-more", 1).await.unwrap_err().status, 422);
            assert_eq!(set(&kv, U, "one-more", 1).await.unwrap_err().status, 422);
            // Existing lines can still change.
            assert_eq!(add(&kv, U, "p0", 5).await.unwrap().quantity_of("p0"), Some(6));
        });
    }

    #[test]
    fn set_replaces_adds_or_removes() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "a", 4).await.unwrap();
            assert_eq!(ids(&set(&kv, U, "a", 2).await.unwrap()), [("a", 2)]);
            assert_eq!(ids(&set(&kv, U, "b", 7).await.unwrap()), [("a", 2), ("b", 7)]);
            assert_eq!(ids(&set(&kv, U, "a", 0).await.unwrap()), [("b", 7)]);
            assert_eq!(set(&kv, U, "a", 0).await.unwrap_err().status, 404);
            assert_eq!(set(&kv, U, "b", -1).await.unwrap_err().status, 422);
        });
    }

    #[test]
    fn removing_and_clearing() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "a", 1).await.unwrap();
            add(&kv, U, "b", 1).await.unwrap();
            assert_eq!(ids(&remove(&kv, U, "a").await.unwrap()), [("b", 1)]);
            let err = remove(&kv, U, "a").await.unwrap_err();
            assert_eq!((err.status, err.details["product_id"].as_str()), (404, Some("a")));
            remove(&kv, U, "b").await.unwrap();
            assert!(load(&kv, U).await.unwrap().items.is_empty(), "the last line removed leaves an empty cart");
            add(&kv, U, "c", 1).await.unwrap();
            clear(&kv, U).await.unwrap();
            clear(&kv, U).await.unwrap();
            assert!(load(&kv, U).await.unwrap().items.is_empty());
            assert!(kv.get("cart:user-1").await.unwrap().is_some(), "a cleared cart keeps its key");
        });
    }

    #[test]
    fn a_change_made_by_a_concurrent_request_is_kept() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "a", 1).await.unwrap();
            // Another tab adds "b" between this request's read and its write.
            let theirs = serde_json::to_vec(&json!({"items": [{"product_id": "a", "quantity": 1}, {"product_id": "b", "quantity": 2}]})).unwrap();
            kv.interleave("cart:user-1", &[&theirs]);
            assert_eq!(ids(&add(&kv, U, "c", 3).await.unwrap()), [("a", 1), ("b", 2), ("c", 3)]);
            kv.interleave("cart:user-1", &[&theirs]);
            assert_eq!(ids(&remove(&kv, U, "a").await.unwrap()), [("b", 2)]);
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("b", 2)]);
        });
    }

    fn ordered(lines: &[(&str, u32)]) -> Vec<OrderedLine> {
        lines.iter().map(|(p, q)| OrderedLine { product_id: (*p).to_owned(), quantity: *q }).collect()
    }

    #[test]
    fn an_order_takes_out_what_it_ordered_once_and_leaves_what_was_added_since() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "a", 2).await.unwrap();
            add(&kv, U, "b", 1).await.unwrap();
            // Ordered: 2 of a, 1 of b; meanwhile 3 more of b and 1 of c were added.
            add(&kv, U, "b", 3).await.unwrap();
            add(&kv, U, "c", 1).await.unwrap();
            let lines = ordered(&[("a", 2), ("b", 1)]);
            assert!(take_ordered(&kv, U, "order-1", &lines).await.unwrap());
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("b", 3), ("c", 1)]);
            // Delivered again: nothing more is taken.
            assert!(!take_ordered(&kv, U, "order-1", &lines).await.unwrap());
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("b", 3), ("c", 1)]);
            // A line removed by hand, or an order for someone's empty cart, takes nothing below 0.
            assert!(take_ordered(&kv, U, "order-2", &ordered(&[("b", 5), ("gone", 1)])).await.unwrap());
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("c", 1)]);
            assert!(take_ordered(&kv, "nobody", "order-3", &lines).await.unwrap());
            assert!(load(&kv, "nobody").await.unwrap().items.is_empty());
        });
    }

    #[test]
    fn clearing_the_cart_keeps_the_orders_it_remembers() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "a", 2).await.unwrap();
            assert!(take_ordered(&kv, U, "order-1", &ordered(&[("a", 2)])).await.unwrap());
            add(&kv, U, "a", 1).await.unwrap();
            clear(&kv, U).await.unwrap();
            add(&kv, U, "a", 2).await.unwrap();
            // Told again after the clear (recovery, or the outbox): still known.
            assert!(!take_ordered(&kv, U, "order-1", &ordered(&[("a", 2)])).await.unwrap());
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("a", 2)]);
        });
    }

    #[test]
    fn an_unpaid_order_gives_its_lines_back_once_and_only_if_it_took_them() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "a", 2).await.unwrap();
            add(&kv, U, "b", 1).await.unwrap();
            assert!(take_ordered(&kv, U, "order-1", &ordered(&[("a", 2), ("b", 1)])).await.unwrap());
            add(&kv, U, "b", 1).await.unwrap();
            assert!(give_back(&kv, U, "order-1", &ordered(&[("a", 2), ("b", 1)])).await.unwrap());
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("b", 2), ("a", 2)]);
            assert!(!give_back(&kv, U, "order-1", &ordered(&[("a", 2), ("b", 1)])).await.unwrap(), "once");
            assert!(!give_back(&kv, U, "order-2", &ordered(&[("a", 5)])).await.unwrap(), "never taken");
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("b", 2), ("a", 2)]);
            assert!(load(&kv, U).await.unwrap().ordered.is_empty());
        });
    }

    #[test]
    fn a_cart_remembers_its_last_orders_only() {
        block_on(async {
            let kv = MemoryKv::default();
            for n in 0..REMEMBERED_ORDERS + 5 {
                take_ordered(&kv, U, &format!("order-{n}"), &[]).await.unwrap();
            }
            let cart = load(&kv, U).await.unwrap();
            assert_eq!(cart.ordered.len(), REMEMBERED_ORDERS);
            assert_eq!(cart.ordered.first().map(String::as_str), Some("order-5"), "the oldest are forgotten first");
            assert!(!take_ordered(&kv, U, &format!("order-{}", REMEMBERED_ORDERS + 4), &[]).await.unwrap());
        });
    }

    #[test]
    fn taking_an_order_out_keeps_a_change_made_meanwhile() {
        block_on(async {
            let kv = MemoryKv::default();
            add(&kv, U, "a", 2).await.unwrap();
            // Another tab adds "b" between the read and the write.
            let theirs = serde_json::to_vec(&json!({"items": [{"product_id": "a", "quantity": 2}, {"product_id": "b", "quantity": 1}]})).unwrap();
            kv.interleave("cart:user-1", &[&theirs]);
            assert!(take_ordered(&kv, U, "order-1", &ordered(&[("a", 2)])).await.unwrap());
            assert_eq!(ids(&load(&kv, U).await.unwrap()), [("b", 1)]);
        });
    }
}
