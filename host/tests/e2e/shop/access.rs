//! Who may see what: tokens, forged headers, other people's things, and
//! the rate limit.

use serde_json::json;

use super::{APPROVED_CARD, Shop, error_code};

#[test]
fn no_token_or_a_bad_token_is_401() {
    let shop = Shop::start();
    let anon = shop.anonymous();
    for path in ["/api/v1/users/me", "/api/v1/cart", "/api/v1/orders", "/api/v1/notifications"] {
        let r = anon.get(path);
        assert_eq!((r.status, error_code(&r).as_str()), (401, "unauthorized"), "{path}: {}", r.body);
    }
    let r = anon.send("GET", "/api/v1/users/me", None, &[("authorization", "Bearer not-a-token")]);
    assert_eq!((r.status, error_code(&r).as_str()), (401, "invalid_token"));
    assert!(r.header("x-request-id").is_some(), "even the gateway's own errors carry a request id");
    let r = anon.post("/api/v1/auth/login", json!({ "email": super::ADMIN_EMAIL, "password": "wrong-password" }));
    assert_eq!(r.status, 401);
}

#[test]
fn a_forged_identity_header_is_ignored() {
    let shop = Shop::start();
    let admin = shop.admin();
    let gus = shop.customer("gus");
    // No token, but claims to be the admin.
    let forged = [("x-souk-user-id", admin.user_id.as_str()), ("x-souk-role", "admin")];
    let r = shop.anonymous().send("GET", "/api/v1/users/me", None, &forged);
    assert_eq!(r.status, 401, "{}", r.body);
    // A customer's token, plus headers claiming to be the admin.
    let r = gus.send("GET", "/api/v1/users/me", None, &forged);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], gus.user_id.as_str());
    let r = gus.send("GET", &format!("/api/v1/users/{}", admin.user_id), None, &forged);
    assert_eq!(r.status, 403, "{}", r.body);
}

#[test]
fn other_peoples_orders_payments_and_notifications_are_hidden() {
    let shop = Shop::start();
    let product = shop.product(3);
    let hal = shop.customer("hal");
    let ivy = shop.customer("ivy");
    let r = hal.order(&[(&product, 1)], APPROVED_CARD);
    assert_eq!(r.status, 201, "{}", r.body);
    let order = r.json();
    let (order_id, payment_id) = (order["id"].as_str().unwrap(), order["payment"]["id"].as_str().unwrap());

    for path in [format!("/api/v1/orders/{order_id}"), format!("/api/v1/payments/{payment_id}")] {
        let r = ivy.get(&path);
        assert!(matches!(r.status, 403 | 404), "{path}: {} {}", r.status, r.body);
        assert_eq!(hal.get(&path).status, 200, "{path}");
    }
    assert_eq!(ivy.post(&format!("/api/v1/orders/{order_id}/cancel"), json!({})).status, 404);
    assert_eq!(ivy.get(&format!("/api/v1/payments?order_id={order_id}")).json()["total"], 0);
    assert_eq!(ivy.get("/api/v1/orders").json()["total"], 0);
    super::eventually("hal's notification", || {
        let n = hal.get("/api/v1/notifications").json();
        (n["total"].as_u64()? >= 1).then_some(())
    });
    assert_eq!(ivy.get("/api/v1/notifications").json()["total"], 0);
    // A customer cannot act as an admin.
    let r = ivy.post(
        "/api/v1/products",
        json!({ "sku": "X-1", "name": "x", "description": "", "category": "c", "price": { "amount": 1, "currency": "EUR" }, "weight_grams": 1, "stock": 1 }),
    );
    assert_eq!((r.status, error_code(&r).as_str()), (403, "forbidden"));
}

#[test]
fn too_many_requests_get_429_with_retry_after() {
    let shop = Shop::start_with(&[("SPIN_VARIABLE_RATE_LIMIT_RPS", "1"), ("SPIN_VARIABLE_RATE_LIMIT_BURST", "5")]);
    let anon = shop.anonymous();
    let statuses: Vec<u16> = (0..12).map(|_| anon.get("/api/v1/products").status).collect();
    let limited = statuses.iter().position(|s| *s == 429).unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert!(limited >= 5, "the burst is allowed first: {statuses:?}");
    let r = anon.get("/api/v1/products");
    assert_eq!((r.status, error_code(&r).as_str()), (429, "rate_limited"));
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry >= 1);
}
