//! `-c`/`--component-id`: running only some of an app's components, as
//! `spin up -c`, with the middleware and chained components they need.

use crate::harness::AppDir;

/// `unbuilt`'s file does not exist: the whole app cannot start, a
/// selection without it can.
const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "selection"
[[trigger.http]]
route = "/front/..."
component = "front"
dependencies.middleware = [{ component = "a" }]
[[trigger.http]]
route = { private = true }
component = "back"
[[trigger.http]]
route = "/other/..."
component = "other"
[[trigger.http]]
route = "/unbuilt/..."
component = "unbuilt"
[component.front]
source = "{guest}"
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.a]
source = "{mw-a}"
[component.back]
source = "{guest}"
[component.other]
source = "{guest}"
[component.unbuilt]
source = "unbuilt.wasm"
"#;

#[test]
fn only_the_selected_components_run_with_their_middleware() {
    let app = AppDir::new(APP);
    let whole = app.up_fails(&[], &[]);
    assert!(whole.contains("unbuilt.wasm"), "{whole}");

    let souk = app.up_with(&["-c", "front", "--component-id", "back"], &[]);
    let chained = souk.get("/front/outbound?url=http%3A%2F%2Fback.spin.internal%2Fhello");
    assert_eq!((chained.status, chained.body.as_str()), (200, "status=200\nhello from souk"));
    let echoed = souk.get("/front/echo");
    assert_eq!(echoed.json()["headers"]["x-chain"], "a", "the trigger keeps its middleware: {}", echoed.body);
    assert_eq!(souk.get("/other/hello").status, 404, "a component not selected is not served");
}

#[test]
fn a_selection_that_would_chain_out_of_itself_is_refused() {
    let app = AppDir::new(APP);
    let out = app.up_fails(&["-c", "front"], &[]);
    assert!(out.contains("component.front.allowed_outbound_hosts[0]") && out.contains("`back`"), "{out}");
    let out = app.up_fails(&["-c", "nope"], &[]);
    assert!(out.contains("--component-id nope") && out.contains("no component `nope`"), "{out}");
    let out = app.up_fails(&["-c", "other", "--follow", "front"], &[]);
    assert!(out.contains("--follow") && out.contains("`front` is not run"), "{out}");
}
