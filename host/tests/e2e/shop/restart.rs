//! Stopping and starting again keeps what was stored.

use super::{APPROVED_CARD, Shop};

#[test]
fn a_restart_keeps_users_orders_and_stock() {
    let shop = Shop::start();
    let product = shop.product(7);
    let email = format!("lee-{}@shop.test", super::unique());
    let r = shop.anonymous().post("/api/v1/users", serde_json::json!({ "email": email, "password": "restart password" }));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = shop.login(&email, "restart password").order(&[(&product, 3)], APPROVED_CARD);
    assert_eq!(r.status, 400, "no address saved and none given: {}", r.body);
    let lee = shop.login(&email, "restart password");
    assert_eq!(lee.patch("/api/v1/users/me", serde_json::json!({ "shipping_address": super::address() })).status, 200);
    let r = lee.order(&[(&product, 3)], APPROVED_CARD);
    assert_eq!(r.status, 201, "{}", r.body);
    let order_id = r.json()["id"].as_str().unwrap().to_owned();
    drop(lee);

    // Each store is where runtime-config.toml says (its copy in the state
    // dir): the services' databases in files, the rate limiter's buckets in
    // memory.
    let files = shop.state.path().join(".spin");
    for db in ["sqlite_db_users.db", "sqlite_db_orders.db", "sqlite_db_catalog.db", "sqlite_key_value_cart.db"] {
        assert!(files.join(db).is_file(), "{db} is not in {}", files.display());
    }
    assert!(!std::fs::read_dir(&files).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains("ratelimit")));

    let shop = shop.restart();
    let lee = shop.login(&email, "restart password");
    let order = lee.get(&format!("/api/v1/orders/{order_id}"));
    assert_eq!((order.status, order.json()["status"].as_str()), (200, Some("paid")));
    assert_eq!(shop.stock(&product), 4);
    let demo_total = shop.anonymous().get("/api/v1/products").json()["total"].as_u64().unwrap();
    let again = shop.restart();
    assert_eq!(again.anonymous().get("/api/v1/products").json()["total"].as_u64().unwrap(), demo_total, "the demo catalog is loaded once");
}
