//! A customer's whole way through the shop, and what the other services see.

use serde_json::{Value, json};

use super::{APPROVED_CARD, Shop, card, eventually};

#[test]
fn browse_search_and_filter_the_demo_catalog() {
    let shop = Shop::start();
    let anon = shop.anonymous();
    let r = anon.get("/api/v1/products?page_size=100");
    assert_eq!(r.status, 200, "{}", r.body);
    let all = r.json();
    assert!(all["total"].as_u64().unwrap() >= 15, "a demo catalog is loaded: {}", r.body);
    let items = all["items"].as_array().unwrap();
    let first = &items[0];
    assert!(first["price"]["amount"].is_i64() && first["price"]["currency"] == "EUR", "{first}");

    // Search by a word of a product's name finds it.
    let name = first["name"].as_str().unwrap();
    let word = name.split_whitespace().max_by_key(|w| w.len()).unwrap();
    let found = anon.get(&format!("/api/v1/products?q={}", word.to_lowercase())).json();
    assert!(found["items"].as_array().unwrap().iter().any(|p| p["id"] == first["id"]), "searching {word:?}: {found}");

    // Category filter and price sort.
    let category = first["category"].as_str().unwrap();
    let in_category = anon.get(&format!("/api/v1/products?category={category}&sort=price")).json();
    let prices: Vec<i64> = in_category["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["category"], category);
            p["price"]["amount"].as_i64().unwrap()
        })
        .collect();
    assert!(!prices.is_empty() && prices.windows(2).all(|w| w[0] <= w[1]), "sorted by price: {prices:?}");

    // Pages.
    let page = anon.get("/api/v1/products?page=2&page_size=5").json();
    assert_eq!((page["page"].as_u64(), page["items"].as_array().unwrap().len()), (Some(2), 5));

    let detail = anon.get(&format!("/api/v1/products/{}", first["id"].as_str().unwrap()));
    assert_eq!(detail.status, 200);
    assert_eq!(detail.json()["sku"], first["sku"]);
    assert!(anon.get("/api/v1/categories").json()["items"].as_array().unwrap().len() >= 3);
}

#[test]
fn a_paid_order_ships_and_is_delivered() {
    let shop = Shop::start();
    let product = shop.product(5);
    let alice = shop.customer("alice");

    // Cart: add, change, view with prices and a quote from pricing.
    assert_eq!(alice.post("/api/v1/cart/items", json!({ "product_id": product, "quantity": 1 })).status, 200);
    let r = alice.put(&format!("/api/v1/cart/items/{product}"), json!({ "quantity": 2 }));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = alice.delete("/api/v1/cart/items/01900000-0000-7000-8000-000000000000");
    assert_eq!((r.status, super::error_code(&r).as_str()), (404, "not_found"), "removing what is not there");
    let cart = alice.get("/api/v1/cart").json();
    assert_eq!(cart["items"][0]["quantity"], 2);
    assert_eq!(cart["items"][0]["line_total"]["amount"], 2000);
    let quote = &cart["quote"];
    assert_eq!(quote["subtotal"]["amount"], 2000, "{cart}");
    let total = quote["total"]["amount"].as_i64().unwrap();
    assert!(total > 2000, "shipping and tax are added: {quote}");

    // Order from the cart with the saved address.
    let r = alice.post("/api/v1/orders", json!({ "card": card(APPROVED_CARD) }));
    assert_eq!(r.status, 201, "{}", r.body);
    let order = r.json();
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["status"], "paid");
    assert_eq!(order["quote"]["total"]["amount"], total, "the order costs what the cart said");
    assert_eq!(order["payment"]["last4"], "4242");
    assert_eq!(shop.stock(&product), 3);
    assert!(alice.get("/api/v1/cart").json()["items"].as_array().unwrap().is_empty(), "the cart is cleared");

    // The payment is the customer's to read; only brand and last 4 digits.
    let payments = alice.get(&format!("/api/v1/payments?order_id={order_id}")).json();
    let payment = &payments["items"][0];
    assert_eq!((payment["status"].as_str(), payment["brand"].as_str()), (Some("approved"), Some("visa")));
    assert!(!payments.to_string().contains("4242424242424242"), "the card number is not stored");

    // order.placed reaches shipping and notifications.
    let shipment: Value = eventually("a shipment for the order", || {
        let r = alice.get(&format!("/api/v1/shipments?order_id={order_id}")).json();
        r["items"].as_array().and_then(|a| a.first().cloned())
    });
    assert_eq!(shipment["status"], "label_created");
    eventually("an order.placed notification", || {
        let n = alice.get("/api/v1/notifications").json();
        n["items"].as_array()?.iter().find(|n| n["type"] == "order.placed" && n["order_id"] == order_id.as_str()).cloned()
    });

    // An admin moves the shipment on; the order follows.
    let admin = shop.admin();
    let shipment_id = shipment["id"].as_str().unwrap();
    let r = admin.post(&format!("/api/v1/shipments/{shipment_id}/events"), json!({ "status": "in_transit" }));
    assert_eq!(r.status, 200, "{}", r.body);
    eventually("the order to be shipped", || (alice.get(&format!("/api/v1/orders/{order_id}")).json()["status"] == "shipped").then_some(()));
    let r = admin.post(&format!("/api/v1/shipments/{shipment_id}/events"), json!({ "status": "delivered", "note": "left with a neighbour" }));
    assert_eq!(r.status, 200, "{}", r.body);
    eventually("the order to be delivered", || (alice.get(&format!("/api/v1/orders/{order_id}")).json()["status"] == "delivered").then_some(()));
    let tracking = alice.get(&format!("/api/v1/shipments/{shipment_id}")).json();
    let statuses: Vec<&str> = tracking["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["label_created", "in_transit", "delivered"], "{tracking}");
    eventually("shipment notifications", || {
        let n = alice.get("/api/v1/notifications").json();
        (n["items"].as_array()?.iter().filter(|n| n["type"] == "shipment.updated").count() >= 2).then_some(())
    });

    // Delivered orders cannot be cancelled.
    let r = alice.post(&format!("/api/v1/orders/{order_id}/cancel"), json!({}));
    assert_eq!((r.status, super::error_code(&r).as_str()), (409, "invalid_state"));

    let health = shop.anonymous().get("/api/v1/health");
    assert_eq!(health.status, 200, "{}", health.body);
    let services = health.json()["services"].clone();
    for id in ["users", "catalog", "cart", "orders", "payments", "shipping", "notifications"] {
        assert_eq!(services[id]["status"], "ok", "{id}: {services}");
    }
}
