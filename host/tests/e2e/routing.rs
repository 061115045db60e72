//! Spin's routing rules and the `spin-*` headers.

use crate::harness::AppDir;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "routing"

[[trigger.http]]
route = "/exact"
component = "exact"
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.http]]
route = "/api/special"
component = "special"
[[trigger.http]]
route = "/users/:id/orders/:order_no"
component = "named"
[[trigger.http]]
route = "/..."
component = "fallback"

[component.exact]
source = "{guest}"
[component.api]
source = "{guest}"
[component.special]
source = "{guest}"
[component.named]
source = "{guest}"
[component.fallback]
source = "{guest}"
"#;

#[test]
fn most_specific_route_wins_and_spin_headers_are_set() {
    let app = AppDir::new(APP);
    let souk = app.up();

    let exact = souk.get("/exact?x=1");
    assert_eq!(exact.status, 200, "{exact:?}");
    let h = &exact.json()["headers"];
    assert_eq!(h["spin-component-route"], "/exact");
    assert_eq!(h["spin-raw-component-route"], "/exact");
    assert_eq!(h["spin-matched-route"], "/exact");
    assert_eq!(h["spin-path-info"], "");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(h["spin-full-url"], format!("{}/exact?x=1", souk.url));
    assert!(h["spin-client-addr"].as_str().unwrap().starts_with("127.0.0.1:"), "{h}");

    // An exact route beats the wildcard that also covers it.
    let special = souk.get("/api/special").json();
    assert_eq!(special["headers"]["spin-component-route"], "/api/special");

    // The wildcard takes the rest, and reports the part after its prefix.
    let api = souk.get("/api/things/42").json();
    assert_eq!(api["headers"]["spin-component-route"], "/api");
    assert_eq!(api["headers"]["spin-raw-component-route"], "/api/...");
    assert_eq!(api["headers"]["spin-path-info"], "/things/42");
    let api_root = souk.get("/api").json();
    assert_eq!(api_root["headers"]["spin-raw-component-route"], "/api/...");

    // Named segments are captured into spin-path-match-<name>.
    let named = souk.get("/users/ada/orders/7").json();
    assert_eq!(named["headers"]["spin-raw-component-route"], "/users/:id/orders/:order_no");
    assert_eq!(named["headers"]["spin-path-match-id"], "ada");
    // Spin writes `_` in a parameter's name as `-`.
    assert_eq!(named["headers"]["spin-path-match-order-no"], "7");

    // Everything else falls through to `/...`.
    let other = souk.get("/somewhere/else").json();
    assert_eq!(other["headers"]["spin-raw-component-route"], "/...");
    assert_eq!(other["headers"]["spin-path-info"], "/somewhere/else");
}

#[test]
fn forged_spin_headers_from_clients_are_replaced() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let reply =
        souk.request("GET", "/exact", None, &[("spin-path-match-id", "forged"), ("spin-client-addr", "10.0.0.1:1"), ("spin-component-route", "/admin")]);
    let h = &reply.json()["headers"];
    assert!(h.get("spin-path-match-id").is_none(), "{h}");
    assert_eq!(h["spin-component-route"], "/exact");
    assert!(h["spin-client-addr"].as_str().unwrap().starts_with("127.0.0.1:"));
}

#[test]
fn unmatched_path_is_404_and_route_table_is_printed() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "small"
[[trigger.http]]
route = "/hello"
component = "hello"
[component.hello]
source = "{guest}"
"#,
    );
    let souk = app.up();
    assert_eq!(souk.get("/hello").body, "hello from souk");
    assert_eq!(souk.get("/nothing-here").status, 404);
    assert_eq!(souk.get("/hello/deeper").status, 404, "an exact route does not match deeper paths");
    let line = souk.wait_for_line(|l| l.contains("hello: ") && l.contains("/hello"));
    assert!(line.contains(&souk.url), "{line}");
}
