//! Version 1 manifests (Spin 1's `spin_manifest_version = "1"`) run as
//! Spin runs them: each `[[component]]` with its trigger settings, its
//! `config` as variables and `allowed_http_hosts` as outbound rights.

use crate::harness::AppDir;

#[test]
fn a_version_1_manifest_runs_its_components() {
    let app = AppDir::new(
        r#"spin_manifest_version = "1"
name = "old"
version = "0.1.0"
trigger = { type = "http", base = "/" }

[variables]
greeting = { default = "hello, version 1" }

[[component]]
id = "hello_world"
source = "{guest}"
allowed_http_hosts = ["self"]
key_value_stores = ["default"]
[component.trigger]
route = "/hello/..."
[component.config]
greeting = "{{ greeting }}"

[[component]]
id = "cgi"
source = "{wagi}"
[component.trigger]
route = "/cgi/..."
executor = { type = "wagi" }
"#,
    );
    let souk = app.up();
    assert_eq!(souk.get("/hello/hello").body, "hello from souk");
    assert_eq!(souk.get("/hello/var?name=greeting").body, "hello, version 1", "`config` is the component's variables");
    assert_eq!(souk.post("/hello/kv/set?store=default&key=k", "v").status, 200);
    assert_eq!(souk.get("/hello/kv/get?store=default&key=k").body, "v");
    assert!(souk.get("/cgi/x").body.contains("script=/cgi\n"), "a version 1 WAGI component");
}
