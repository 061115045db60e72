//! docs/openapi.yaml, served as JSON, names exactly what the shop serves:
//! every documented operation reaches a handler (this test), and every
//! route a service handles is documented (components/meta's unit test).

use serde_json::Value;

use super::Shop;

#[test]
fn every_documented_operation_is_served() {
    let shop = Shop::start();
    let r = shop.anonymous().get("/api/v1/openapi.json");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let admin = shop.admin();
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (template, item) in paths {
        // A well-formed id that names nothing.
        let path = template.replace("{id}", "01900000-0000-7000-8000-000000000000").replace("{product_id}", "01900000-0000-7000-8000-000000000000");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let upper = method.to_uppercase();
            let body = matches!(method, "post" | "put" | "patch").then_some("{}");
            let r = admin.send(&upper, &path, body, &[]);
            assert!(r.status < 500 && r.status != 405, "{upper} {path}: {} {}", r.status, r.body);
            if r.status == 404 {
                let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("{upper} {path}: not routed: {}", r.body));
                let message = v["error"]["message"].as_str().unwrap_or("");
                assert!(!message.starts_with("no such endpoint"), "{upper} {path}: {message}");
            }
        }
    }
    assert!(operations >= 30, "{operations} operations documented");
}
