//! Concurrent requests: many customers and little stock are never oversold
//! or negative; one customer's parallel cart changes are all kept.

use serde_json::json;

use super::{APPROVED_CARD, Shop};

#[test]
fn fifty_concurrent_orders_for_the_last_ten_units_sell_exactly_ten() {
    let shop = Shop::start();
    let product = shop.product(10);
    let customers: Vec<_> = (0..50).map(|i| shop.customer(&format!("rush{i}"))).collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = customers.iter().map(|c| s.spawn(|| c.order(&[(&product, 1)], APPROVED_CARD))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .map(|r| {
                assert!(matches!(r.status, 201 | 409), "{} {}", r.status, r.body);
                r.status
            })
            .collect()
    });
    let paid = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(paid, 10, "{statuses:?}");
    assert_eq!(shop.stock(&product), 0);
    let orders: u64 = customers.iter().map(|c| c.get("/api/v1/orders").json()["total"].as_u64().unwrap()).sum();
    assert_eq!(orders, 10, "the refused ones recorded no order");
}

#[test]
fn parallel_adds_to_one_cart_are_all_counted() {
    const TABS: usize = 16;
    const ADDS: usize = 6;
    let shop = Shop::start();
    let product = shop.product(5);
    let customer = &shop.customer("tabs");
    std::thread::scope(|s| {
        let tabs: Vec<_> = (0..TABS)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..ADDS {
                        let reply = customer.post("/api/v1/cart/items", json!({ "product_id": product, "quantity": 1 }));
                        assert_eq!(reply.status, 200, "{}", reply.body);
                    }
                })
            })
            .collect();
        tabs.into_iter().for_each(|t| t.join().unwrap());
    });
    let cart = customer.get("/api/v1/cart").json();
    assert_eq!(cart["items"][0]["quantity"], TABS * ADDS, "no add was lost: {cart}");
}
