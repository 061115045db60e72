//! A component as Spin 4.0's `http-rust` template builds it (spin-sdk 6,
//! importing and exporting the WASIp3 release candidate
//! `wasi:http@0.3.0-rc-2026-03-15`) serves beside final-WASIp3 guests:
//! requests and their bodies, Spin's key-value interface, and requests to
//! other components through the candidate's `wasi:http/client`.

use crate::harness::{AppDir, Souk};

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "spin4"
[[trigger.http]]
route = "/rc/..."
component = "rc"
[[trigger.http]]
route = "/p3/..."
component = "p3"
[component.rc]
source = "{spin4}"
key_value_stores = ["default"]
allowed_outbound_hosts = ["http://p3.spin.internal", "http://rc.spin.internal"]
[component.p3]
source = "{guest}"
"#;

fn text(souk: &Souk, path: &str) -> (u16, String) {
    let reply = souk.get(path);
    (reply.status, reply.body)
}

#[test]
fn a_spin4_template_component_serves_requests_and_bodies() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/rc/hello"), (200, "hello from a Spin 4.0 SDK component".into()));
    let reply = souk.request("PUT", "/rc/echo", Some("a body"), &[("x-marker", "m1")]);
    assert_eq!((reply.status, reply.body.as_str()), (200, "PUT m1 a body"));
    // Instances are reused for it as for any guest: many requests in a row.
    for i in 0..20 {
        let reply = souk.post("/rc/echo", &format!("n{i}"));
        assert_eq!(reply.body, format!("POST  n{i}"));
    }
}

#[test]
fn a_spin4_template_component_uses_key_value_and_calls_other_components() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(text(&souk, "/rc/kv?key=colour&value=teal"), (200, "teal".into()));
    // To a final-WASIp3 component, and to itself, through the candidate's client.
    assert_eq!(text(&souk, "/rc/chain?to=p3"), (200, "200 hello from souk".into()));
    assert_eq!(text(&souk, "/rc/chain?to=rc"), (200, "200 hello from a Spin 4.0 SDK component".into()));
}
