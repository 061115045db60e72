//! Bad input is a 4xx in the one error shape, never a 500.

use serde_json::json;

use super::{APPROVED_CARD, Shop, card, error_code};

#[test]
fn bad_json_wrong_types_and_huge_bodies_are_4xx_with_the_error_shape() {
    let shop = Shop::start();
    let jo = shop.customer("jo");
    let r = jo.send("POST", "/api/v1/cart/items", Some("{\"product_id\": "), &[]);
    assert_eq!((r.status, error_code(&r).as_str()), (400, "invalid_json"), "{}", r.body);

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

/// `body` (a JSON object) spoiled three ways: garbage after it, its first
/// key given again, and a byte that is not UTF-8 in its first string value.
fn spoiled(body: &serde_json::Value) -> Vec<(&'static str, Vec<u8>)> {
    // Compact: `{"key":value,...}`, keys sorted.
    let text = body.to_string();
    let (first_key, first_value) = body.as_object().unwrap().iter().next().unwrap();
    let duplicated = format!("{{\"{first_key}\":{first_value},{}", &text[1..]);
    let mut invalid = text.clone().into_bytes();
    let string_value = text.find(":\"").expect("a string value") + 2;
    invalid.insert(string_value, 0xff);
    vec![("trailing garbage", format!("{text} x").into_bytes()), ("a duplicate key", duplicated.into_bytes()), ("invalid UTF-8", invalid)]
}

fn assert_invalid_json(r: &crate::harness::Reply, what: &str, route: &str) {
    assert_eq!((r.status, error_code(r).as_str()), (400, "invalid_json"), "{route} with {what}: {}", r.body);
}

#[test]
fn sign_up_login_and_orders_refuse_bodies_that_are_not_exactly_one_json_value_and_create_nothing() {
    let shop = Shop::start();
    let anonymous = shop.anonymous();

    let email = format!("strict-{}@shop.test", super::unique());
    let sign_up = json!({ "email": email, "password": "a long password", "name": "Strict" });
    for (what, body) in spoiled(&sign_up) {
        let r = anonymous.send_bytes("POST", "/api/v1/users", Some(&body), &[]);
        assert_invalid_json(&r, what, "sign-up");
        if what == "a duplicate key" {
            assert!(r.json()["error"]["message"].as_str().unwrap().contains("duplicate key \"email\""), "{}", r.body);
        }
    }
    // No account was made: logging in fails, and the address is still free.
    let login = json!({ "email": email, "password": "a long password" });
    assert_eq!(anonymous.post("/api/v1/auth/login", login.clone()).status, 401);
    assert_eq!(anonymous.post("/api/v1/users", sign_up).status, 201, "the email was not taken");

    for (what, body) in spoiled(&login) {
        let r = anonymous.send_bytes("POST", "/api/v1/auth/login", Some(&body), &[]);
        assert_invalid_json(&r, what, "login");
        assert!(r.json().get("token").is_none());
    }
    // Which of two passwords counts is not left to the parser.
    let two_passwords = format!(r#"{{"email": "{email}", "password": "wrong one!", "password": "a long password"}}"#);
    assert_invalid_json(&anonymous.send("POST", "/api/v1/auth/login", Some(&two_passwords), &[]), "two passwords", "login");

    let product = shop.product(5);
    let buyer = shop.customer("strict");
    let order = json!({ "items": [{ "product_id": product, "quantity": 1 }], "card": card(APPROVED_CARD) });
    let mut bodies = spoiled(&order);
    // A duplicate deep inside: the card's number twice.
    let text = order.to_string().replacen("\"number\":", "\"number\":\"4000 0000 0000 0002\",\"number\":", 1);
    bodies.push(("a duplicate key in the card", text.into_bytes()));
    for (what, body) in bodies {
        for key in [None, Some("strict-key")] {
            let headers: Vec<(&str, &str)> = key.iter().map(|k| ("idempotency-key", *k)).collect();
            let r = buyer.send_bytes("POST", "/api/v1/orders", Some(&body), &headers);
            assert_invalid_json(&r, what, "an order");
        }
    }
    assert_eq!(buyer.get("/api/v1/orders").json()["total"], 0, "no order was recorded");
    assert_eq!(shop.stock(&product), 5, "no stock was reserved");
    // The key was not taken by the refused requests.
    let r = buyer.send("POST", "/api/v1/orders", Some(&order.to_string()), &[("idempotency-key", "strict-key")]);
    assert_eq!(r.status, 201, "{}", r.body);
}
