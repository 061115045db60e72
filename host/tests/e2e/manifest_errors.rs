//! A bad manifest stops start-up with one message naming the file and key.

use crate::harness::AppDir;

fn refuses(manifest: &str, expected: &[&str]) {
    let app = AppDir::new(manifest);
    let output = app.up_fails(&[], &[]);
    assert!(output.contains("spin.toml"), "the message names the file: {output}");
    for part in expected {
        assert!(output.contains(part), "expected `{part}` in: {output}");
    }
    assert!(!output.contains("Serving"), "nothing is half started: {output}");
    assert!(!output.contains("panicked"), "{output}");
}

const HEAD: &str = "spin_manifest_version = 2\n[application]\nname = \"bad\"\n";

#[test]
fn syntax_error_names_the_line() {
    refuses(&format!("{HEAD}[[trigger.http]\nroute = \"/\"\n"), &["line"]);
}

#[test]
fn unknown_key_is_named() {
    refuses(&format!("{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\n[component.web]\nsource = \"{{guest}}\"\nsorce = \"x\"\n"), &["sorce"]);
}

#[test]
fn missing_component_file_is_named() {
    refuses(
        &format!("{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\n[component.web]\nsource = \"target/nowhere.wasm\"\n"),
        &["component.web.source", "nowhere.wasm"],
    );
}

#[test]
fn route_conflict_is_named() {
    refuses(
        &format!(
            "{HEAD}[[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"one\"\n[[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"two\"\n\
             [component.one]\nsource = \"{{guest}}\"\n[component.two]\nsource = \"{{guest}}\"\n"
        ),
        &["trigger.http", "/a/..."],
    );
}

#[test]
fn undefined_variable_is_named() {
    refuses(
        &format!(
            "{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\n[component.web]\nsource = \"{{guest}}\"\n\
             [component.web.variables]\ntoken = \"{{{{ nonexistent }}}}\"\n"
        ),
        &["component.web.variables", "nonexistent"],
    );
}

#[test]
fn trigger_naming_an_unknown_component_is_named() {
    refuses(&format!("{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"ghost\"\n"), &["ghost"]);
}

#[test]
fn an_import_the_host_does_not_give_is_named() {
    let app = AppDir::new(&format!("{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\n[component.web]\nsource = \"needs-more.wat\"\n"));
    app.write(
        "needs-more.wat",
        r#"(component
             (import "acme:unknown/thing@1.0.0" (instance (export "f" (func))))
           )"#,
    );
    let output = app.up_fails(&[], &[]);
    assert!(output.contains("acme:unknown/thing@1.0.0"), "{output}");
    assert!(output.contains("web"), "{output}");
}
