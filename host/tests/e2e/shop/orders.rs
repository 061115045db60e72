//! The order saga's other outcomes: declined, out of stock, cancelled,
//! retried.

use serde_json::json;

use super::{APPROVED_CARD, DECLINED_CARD, Shop, card, error_code, eventually};

#[test]
fn a_declined_card_leaves_stock_unchanged() {
    let shop = Shop::start();
    let product = shop.product(4);
    let bob = shop.customer("bob");
    let r = bob.order(&[(&product, 3)], DECLINED_CARD);
    assert_eq!((r.status, error_code(&r).as_str()), (402, "payment_declined"), "{}", r.body);
    let order_id = r.json()["error"]["details"]["order_id"].as_str().unwrap().to_owned();
    assert_eq!(shop.stock(&product), 4, "the reservation was released");
    assert_eq!(bob.get(&format!("/api/v1/orders/{order_id}")).json()["status"], "payment_failed");
    // The stock is really free: someone else can buy all of it.
    assert_eq!(shop.customer("carol").order(&[(&product, 4)], APPROVED_CARD).status, 201);
    assert_eq!(shop.stock(&product), 0);
}

#[test]
fn out_of_stock_names_the_items_and_records_nothing() {
    let shop = Shop::start();
    let scarce = shop.product(1);
    let plenty = shop.product(10);
    let dave = shop.customer("dave");
    let r = dave.order(&[(&plenty, 2), (&scarce, 2)], APPROVED_CARD);
    assert_eq!((r.status, error_code(&r).as_str()), (409, "out_of_stock"), "{}", r.body);
    let items = r.json()["error"]["details"]["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!((items[0]["product_id"].as_str(), items[0]["requested"].as_i64(), items[0]["available"].as_i64()), (Some(scarce.as_str()), Some(2), Some(1)));
    assert_eq!((shop.stock(&scarce), shop.stock(&plenty)), (1, 10), "all or nothing");
    assert_eq!(dave.get("/api/v1/orders").json()["total"], 0);
}

#[test]
fn cancelling_a_paid_order_refunds_and_restores_stock() {
    let shop = Shop::start();
    let product = shop.product(6);
    let erin = shop.customer("erin");
    let r = erin.order(&[(&product, 2)], APPROVED_CARD);
    assert_eq!(r.status, 201, "{}", r.body);
    let order_id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(shop.stock(&product), 4);

    let r = erin.post(&format!("/api/v1/orders/{order_id}/cancel"), json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(shop.stock(&product), 6);
    let payment = erin.get(&format!("/api/v1/payments?order_id={order_id}")).json()["items"][0].clone();
    assert_eq!(payment["status"], "refunded", "{payment}");
    eventually("an order.cancelled notification", || {
        let n = erin.get("/api/v1/notifications").json();
        n["items"].as_array()?.iter().find(|n| n["type"] == "order.cancelled").cloned()
    });
    eventually("the shipment to be cancelled", || {
        let s = erin.get(&format!("/api/v1/shipments?order_id={order_id}")).json();
        (s["items"][0]["status"] == "cancelled").then_some(())
    });
    // Cancelling again changes nothing.
    assert_eq!(erin.post(&format!("/api/v1/orders/{order_id}/cancel"), json!({})).status, 200);
    assert_eq!(shop.stock(&product), 6);
}

#[test]
fn a_retry_with_the_same_idempotency_key_returns_the_first_order() {
    let shop = Shop::start();
    let product = shop.product(5);
    let fay = shop.customer("fay");
    let body = json!({ "items": [{ "product_id": product, "quantity": 1 }], "card": card(APPROVED_CARD) }).to_string();
    let key = [("idempotency-key", "checkout-42")];
    let first = fay.send("POST", "/api/v1/orders", Some(&body), &key);
    assert_eq!(first.status, 201, "{}", first.body);
    let again = fay.send("POST", "/api/v1/orders", Some(&body), &key);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(shop.stock(&product), 4, "charged and reserved once");
    assert_eq!(fay.get("/api/v1/orders").json()["total"], 1);
    // Without the key, a second order is a second order.
    assert_eq!(fay.send("POST", "/api/v1/orders", Some(&body), &[]).status, 201);
    assert_eq!(shop.stock(&product), 3);
}
