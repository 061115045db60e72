//! Bad input is a 4xx in the one error shape, never a 500.

use serde_json::json;

use super::{Shop, error_code};

#[test]
fn bad_json_wrong_types_and_huge_bodies_are_4xx_with_the_error_shape() {
    let shop = Shop::start();
    let jo = shop.customer("jo");
    let r = jo.send("POST", "/api/v1/cart/items", Some("{\"product_id\": "), &[]);
    assert_eq!((r.status, error_code(&r).as_str()), (400, "bad_request"), "{}", r.body);

    let r = jo.post("/api/v1/cart/items", json!({ "product_id": "x", "quantity": "two" }));
    assert_eq!((r.status, error_code(&r).as_str()), (400, "invalid_field"), "{}", r.body);
    assert_eq!(r.json()["error"]["details"]["field"], "quantity");

    let r = shop.anonymous().post("/api/v1/users", json!({ "email": "not-an-email", "password": "long enough password" }));
    assert_eq!(r.status, 400, "{}", r.body);
    error_code(&r);
    let r = shop.anonymous().post("/api/v1/users", json!({ "email": "short@shop.test", "password": "short" }));
    assert_eq!(r.status, 400, "{}", r.body);

    let huge = format!("{{\"items\": \"{}\"}}", "x".repeat(200_000));
    let r = jo.send("POST", "/api/v1/orders", Some(&huge), &[]);
    assert_eq!((r.status, error_code(&r).as_str()), (413, "payload_too_large"), "{}", &r.body[..r.body.len().min(200)]);

    let r = jo.post("/api/v1/orders", json!({ "items": [{ "product_id": "p", "quantity": -1 }], "card": super::card(super::APPROVED_CARD) }));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = shop.anonymous().get("/api/v1/products?page_size=1000");
    assert_eq!((r.status, error_code(&r).as_str()), (400, "invalid_field"));
    let r = shop.anonymous().get("/api/v1/products/no-such-product");
    assert_eq!(r.status, 404, "{}", r.body);
    error_code(&r);
    let r = jo.post("/api/v1/orders", json!({ "items": [], "card": super::card(super::APPROVED_CARD) }));
    assert!(matches!(r.status, 400 | 422), "{}", r.body);
    let r = jo.post("/api/v1/orders", json!({ "card": { "number": "1234 5678", "exp_month": 1, "exp_year": 2099, "cvc": "1" } }));
    assert!(matches!(r.status, 400 | 422), "{}", r.body);
    error_code(&r);
}

#[test]
fn email_is_unique_whatever_its_case() {
    let shop = Shop::start();
    let email = format!("Kim-{}@Shop.Test", super::unique());
    let r = shop.anonymous().post("/api/v1/users", json!({ "email": email, "password": "a long password" }));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = shop.anonymous().post("/api/v1/users", json!({ "email": email.to_lowercase(), "password": "another long one" }));
    assert_eq!((r.status, error_code(&r).as_str()), (409, "email_taken"));
    shop.login(&email.to_uppercase(), "a long password");
}
