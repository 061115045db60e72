//! Service chaining: `http://<component>.spin.internal` served in-process.

use crate::harness::AppDir;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "chaining"
[[trigger.http]]
route = "/front/..."
component = "front"
[[trigger.http]]
route = "/isolated/..."
component = "isolated"
[[trigger.http]]
route = { private = true }
component = "back"
[component.front]
source = "{guest}"
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.isolated]
source = "{guest}"
[component.back]
source = "{guest}"
"#;

#[test]
fn a_component_calls_a_private_one_by_chaining() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let reply = souk.get("/front/outbound?url=http%3A%2F%2Fback.spin.internal%2Fhello");
    assert_eq!((reply.status, reply.body.as_str()), (200, "status=200\nhello from souk"));

    // The chained request carries spin-* headers for the target.
    let echoed = souk.get("/front/outbound?url=http%3A%2F%2Fback.spin.internal%2Fx%2Fecho");
    let json = echoed.body.strip_prefix("status=200\n").unwrap_or_else(|| panic!("{echoed:?}"));
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["headers"]["spin-path-info"], "/x/echo", "{json}");
}

#[test]
fn a_private_route_is_unreachable_from_outside() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(souk.get("/hello").status, 404);
    assert_eq!(souk.get("/back/hello").status, 404);
}

#[test]
fn chaining_needs_the_target_in_allowed_outbound_hosts() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let refused = souk.get("/isolated/outbound?url=http%3A%2F%2Fback.spin.internal%2Fhello");
    assert_eq!(refused.status, 502);
    assert!(refused.body.contains("HttpRequestDenied"), "{refused:?}");
}
