//! Events are never lost: one whose consumer is down waits in the
//! producer's outbox and is delivered once the consumer is back.

use super::{APPROVED_CARD, Shop, eventually};
use crate::harness::workspace_root;

/// The repository's app, except that the `notifications` component is
/// deployed under another id, so `http://notifications.spin.internal` has
/// no one behind it: the consumer is down.
fn app_without_notifications() -> tempfile::TempDir {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("spin.toml")).unwrap();
    let manifest = manifest
        .replace("component = \"notifications\"", "component = \"notifications-away\"")
        .replace("[component.notifications]", "[component.notifications-away]")
        .replace("[component.notifications.build]", "[component.notifications-away.build]")
        .replace("source = \"target/", &format!("source = \"{}/target/", crate::harness::toml_path(&root)));
    assert!(manifest.contains("[component.notifications-away]"), "the manifest changed shape");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spin.toml"), manifest).unwrap();
    std::fs::copy(root.join("runtime-config.toml"), dir.path().join("runtime-config.toml")).unwrap();
    dir
}

#[test]
fn an_event_waits_for_its_consumer_and_arrives_once_it_is_back() {
    let away = app_without_notifications();
    let shop = Shop::start_from(away.path());
    let product = shop.product(3);
    let nia = shop.customer("nia");
    let (email, token) = (nia.user_id.clone(), nia.token.clone());
    let r = nia.order(&[(&product, 1)], APPROVED_CARD);
    assert_eq!(r.status, 201, "placing an order does not need the consumer: {}", r.body);
    let order_id = r.json()["id"].as_str().unwrap().to_owned();
    // Shipping (up) got order.placed; notifications (down) did not.
    eventually("the shipment", || nia.get(&format!("/api/v1/shipments?order_id={order_id}")).json()["items"].as_array()?.first().cloned());
    let health = shop.anonymous().get("/api/v1/health").json();
    assert!(health["outboxes"]["orders"]["pending"].as_u64().unwrap() >= 1, "waiting in the outbox: {health}");
    assert_eq!(nia.get("/api/v1/notifications").json()["total"], 0);
    drop(nia);

    // The consumer is back: the next relay (here, the health check's) delivers.
    let shop = shop.restart_from(&workspace_root());
    let nia = super::Client { souk: &shop.souk, token, user_id: email };
    let notification = eventually("the notification after the consumer came back", || {
        shop.anonymous().get("/api/v1/health");
        nia.get("/api/v1/notifications").json()["items"].as_array()?.iter().find(|n| n["order_id"] == order_id.as_str()).cloned()
    });
    assert_eq!(notification["type"], "order.placed");
    // Delivered once, however many relays ran.
    shop.anonymous().get("/api/v1/health");
    assert_eq!(nia.get("/api/v1/notifications").json()["total"], 1);
}
