//! Component dependencies: an import satisfied by another component's
//! export, composed at start-up, with the importer's configuration
//! inherited only where the manifest says so.

use crate::harness::AppDir;

fn app(dependency: &str) -> AppDir {
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "deps"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{{greeter-user}}"
key_value_stores = ["default"]
[component.web.dependencies]
{dependency}
[component.greeter]
source = "{{greeter}}"
"#
    ))
}

#[test]
fn an_import_is_served_by_another_component_of_the_app() {
    let dir = app(r#""souk:fixture/greeter@0.1.0" = { component = "greeter" }"#);
    let souk = dir.up();
    let reply = souk.get("/greet?name=Souk");
    assert_eq!((reply.status, reply.body.as_str()), (200, "Hello, Souk!"));
}

#[test]
fn an_import_is_served_by_a_wasm_file() {
    let dir = app(r#""souk:fixture/greeter@0.1.0" = { path = "{greeter}" }"#);
    let souk = dir.up();
    assert_eq!(souk.get("/greet?name=file").body, "Hello, file!");
}

#[test]
fn a_package_key_satisfies_the_interfaces_of_that_package() {
    let dir = app(r#""souk:fixture@0.1.0" = { component = "greeter" }"#);
    let souk = dir.up();
    assert_eq!(souk.get("/greet?name=pkg").body, "Hello, pkg!");
}

#[test]
fn a_dependency_that_does_not_inherit_is_denied_the_store() {
    let dir = app(r#""souk:fixture/greeter@0.1.0" = { component = "greeter" }"#);
    let souk = dir.up();
    assert_eq!(souk.get("/touch").body, "access-denied");
    // The importing component itself keeps its access.
    assert_eq!(souk.get("/touch-self").body, "opened");
}

#[test]
fn a_dependency_inheriting_key_value_stores_uses_the_importers_store() {
    for inherit in [r#"["key_value_stores"]"#, "true"] {
        let dir = app(&format!(r#""souk:fixture/greeter@0.1.0" = {{ component = "greeter", inherit_configuration = {inherit} }}"#));
        let souk = dir.up();
        assert_eq!(souk.get("/touch").body, "stored", "inherit_configuration = {inherit}");
    }
}

#[test]
fn a_dependency_inheriting_other_things_is_still_denied_the_store() {
    let dir = app(r#""souk:fixture/greeter@0.1.0" = { component = "greeter", inherit_configuration = ["variables"] }"#);
    let souk = dir.up();
    assert_eq!(souk.get("/touch").body, "access-denied");
}

fn refuses(dependency: &str, expected: &[&str]) {
    let output = app(dependency).up_fails(&[], &[]);
    for part in expected {
        assert!(output.contains(part), "expected `{part}` in: {output}");
    }
    assert!(!output.contains("Serving"), "nothing is half started: {output}");
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn a_dependency_without_the_export_is_refused_naming_both() {
    refuses(
        r#""souk:fixture/greeter@0.1.0" = { component = "greeter", export = "souk:fixture/missing@0.1.0" }"#,
        &["component `greeter`", "does not export `souk:fixture/missing@0.1.0`", "web"],
    );
}

#[test]
fn an_export_of_the_wrong_type_is_refused_naming_the_import() {
    refuses(
        r#""souk:fixture/greeter@0.1.0" = { component = "greeter", export = "souk:fixture/counter@0.1.0" }"#,
        &["does not match", "souk:fixture/greeter@0.1.0", "component `web`"],
    );
}

#[test]
fn a_key_matching_no_import_is_refused() {
    refuses(
        r#""souk:fixture/greeter@0.1.0" = { component = "greeter" }
"souk:other/thing@0.1.0" = { component = "greeter" }"#,
        &["has no import `souk:other/thing@0.1.0`", "component.web.dependencies"],
    );
}

#[test]
fn an_import_left_unsatisfied_is_refused_naming_it() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "deps"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{greeter-user}"
"#,
    );
    let output = app.up_fails(&[], &[]);
    assert!(output.contains("souk:fixture/greeter@0.1.0") && output.contains("web"), "{output}");
}

#[test]
fn a_dependency_cycle_is_refused_naming_the_cycle() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "deps"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{greeter-user}"
[component.web.dependencies]
"souk:fixture/greeter@0.1.0" = { component = "greeter" }
[component.greeter]
source = "{greeter}"
[component.greeter.dependencies]
"souk:fixture/counter@0.1.0" = { component = "web" }
"#,
    );
    let output = app.up_fails(&[], &[]);
    assert!(output.contains("dependency cycle: greeter -> web -> greeter") || output.contains("dependency cycle: web -> greeter -> web"), "{output}");
}

/// greeter-user with outbound access to a private `callee` and an
/// environment variable, its greeter dependency inheriting `inherit`.
fn app_with_outbound_and_env(inherit: &str) -> AppDir {
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "deps"
[[trigger.http]]
route = "/..."
component = "web"
[[trigger.http]]
route = {{ private = true }}
component = "callee"
[component.web]
source = "{{greeter-user}}"
allowed_outbound_hosts = ["http://callee.spin.internal"]
environment = {{ REGION = "eu-west" }}
[component.web.dependencies]
"souk:fixture/greeter@0.1.0" = {{ component = "greeter", inherit_configuration = {inherit} }}
[component.greeter]
source = "{{greeter}}"
[component.callee]
source = "{{guest}}"
"#
    ))
}

const CALLEE: &str = "/fetch?url=http%3A%2F%2Fcallee.spin.internal%2Fhello";

#[test]
fn a_dependency_without_allowed_outbound_hosts_is_refused_its_requests() {
    let dir = app_with_outbound_and_env("false");
    let souk = dir.up();
    let reply = souk.get(CALLEE);
    assert!(reply.body.contains("HttpRequestDenied"), "{}", reply.body);

    let dir = app_with_outbound_and_env(r#"["allowed_outbound_hosts"]"#);
    let souk = dir.up();
    assert_eq!(souk.get(CALLEE).body, "status=200");
}

#[test]
fn a_dependency_sees_the_environment_only_when_it_inherits_it() {
    let dir = app_with_outbound_and_env("false");
    let souk = dir.up();
    assert_eq!(souk.get("/env?name=REGION").body, "absent");

    let dir = app_with_outbound_and_env(r#"["environment"]"#);
    let souk = dir.up();
    assert_eq!(souk.get("/env?name=REGION").body, "eu-west");
}
