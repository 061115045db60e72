//! HTTP middleware: components chained in front of a trigger's component,
//! composed into one instance per request.

use crate::harness::AppDir;

fn app(middleware: &str) -> AppDir {
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "middleware"
[[trigger.http]]
route = "/guarded/..."
component = "web"
dependencies.middleware = [{middleware}]
[[trigger.http]]
route = "/open/..."
component = "web"
[component.web]
source = "{{guest}}"
key_value_stores = ["default"]
[component.a]
source = "{{mw-a}}"
[component.b]
source = "{{mw-b}}"
[component.c]
source = "{{mw-c}}"
[component.auth]
source = "{{mw-auth}}"
[component.greeter]
source = "{{greeter}}"
[component.raw]
source = "{{mw-raw}}"
"#
    ))
}

#[test]
fn a_chain_runs_in_order_on_the_way_in_and_reverse_on_the_way_out() {
    let dir = app(r#"{ component = "a" }, { component = "b" }, { component = "c" }"#);
    let souk = dir.up();
    let reply = souk.get("/guarded/echo");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["headers"]["x-chain"], "a,b,c", "{}", reply.body);
    assert_eq!(reply.header("x-chain"), Some("c,b,a"));
}

#[test]
fn a_middleware_on_the_raw_wasi_types_chains_like_any_other() {
    let dir = app(r#"{ component = "a" }, { component = "raw" }"#);
    let souk = dir.up();
    let reply = souk.get("/guarded/echo");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["headers"]["x-chain"], "a,raw", "{}", reply.body);
    assert_eq!(reply.header("x-chain"), Some("raw,a"));
    // The body passes through both kinds of forwarding intact.
    let body = "a request body ".repeat(5000);
    assert_eq!(souk.post("/guarded/kv/set?store=default&key=k", &body).status, 200);
    assert_eq!(souk.get("/guarded/kv/get?store=default&key=k").body, body);
}

#[test]
fn a_route_without_middleware_is_served_directly() {
    let dir = app(r#"{ component = "a" }"#);
    let souk = dir.up();
    let reply = souk.get("/open/echo");
    assert_eq!(reply.status, 200);
    assert!(reply.json()["headers"].get("x-chain").is_none(), "{}", reply.body);
    assert_eq!(reply.header("x-chain"), None);
}

#[test]
fn a_middleware_can_answer_on_its_own() {
    let dir = app(r#"{ component = "auth" }, { component = "a" }"#);
    let souk = dir.up();
    let refused = souk.get("/guarded/echo");
    assert_eq!((refused.status, refused.body.as_str()), (401, "unauthorized by middleware\n"));
    assert_eq!(refused.header("x-chain"), None, "the rest of the chain never ran");

    let allowed = souk.request("GET", "/guarded/echo", None, &[("authorization", "Bearer let-me-in"), ("x-auth-user", "forged")]);
    assert_eq!(allowed.status, 200, "{allowed:?}");
    let json = allowed.json();
    assert_eq!(json["headers"]["x-auth-user"], "tester", "the forged header was replaced: {json}");
    assert_eq!(json["headers"]["x-chain"], "a");
}

#[test]
fn a_middleware_that_is_not_one_is_refused() {
    let output = app(r#"{ component = "web" }"#).up_fails(&[], &[]);
    assert!(output.contains("cannot be middleware in front of itself"), "{output}");
    let output = app(r#"{ component = "a" }, { component = "nope" }"#).up_fails(&[], &[]);
    assert!(output.contains("no component named `nope`"), "{output}");
    let output = app(r#"{ component = "greeter" }"#).up_fails(&[], &[]);
    assert!(output.contains("middleware component `greeter`") && output.contains("must both import and export"), "{output}");
}
