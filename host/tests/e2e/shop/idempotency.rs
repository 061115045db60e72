//! An `Idempotency-Key` belongs to one request: the key with another body is
//! refused, and the first request's retries still get the first answer.

use serde_json::json;

use super::{APPROVED_CARD, Shop, card, error_code};

#[test]
fn an_idempotency_key_reused_for_another_order_is_refused_and_orders_nothing() {
    let shop = Shop::start();
    let product = shop.product(5);
    let gus = shop.customer("gus");
    let key = [("idempotency-key", "checkout-7")];
    let one = json!({ "items": [{ "product_id": product, "quantity": 1 }], "card": card(APPROVED_CARD) });
    let first = gus.send("POST", "/api/v1/orders", Some(&one.to_string()), &key);
    assert_eq!(first.status, 201, "{}", first.body);

    let two = json!({ "items": [{ "product_id": product, "quantity": 2 }], "card": card(APPROVED_CARD) });
    let r = gus.send("POST", "/api/v1/orders", Some(&two.to_string()), &key);
    assert_eq!((r.status, error_code(&r).as_str()), (422, "idempotency_key_reused"), "{}", r.body);
    assert!(r.json().get("id").is_none(), "never the first answer: {}", r.body);
    assert_eq!(shop.stock(&product), 4, "nothing reserved for the refused request");
    assert_eq!(gus.get("/api/v1/orders").json()["total"], 1);

    // The first request, spelled differently (keys in another order, with
    // spaces), is the same request: it gets its answer again.
    let respelled = format!(r#"{{ "card": {}, "items": [ {{ "quantity": 1, "product_id": "{product}" }} ] }}"#, card(APPROVED_CARD));
    let again = gus.send("POST", "/api/v1/orders", Some(&respelled), &key);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(shop.stock(&product), 4);

    // Keys are per user: another customer's same key is a new order.
    let hal = shop.customer("hal");
    assert_eq!(hal.send("POST", "/api/v1/orders", Some(&two.to_string()), &key).status, 201);
    assert_eq!(shop.stock(&product), 2);
}
