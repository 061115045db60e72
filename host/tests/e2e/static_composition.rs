//! Ahead-of-time composition with the `wac` CLI: the .wac file composes the
//! same dependency as `[component.<id>.dependencies]`, and the result is a
//! plain component that `souk up` serves with no dependency table.

use std::path::PathBuf;
use std::process::Command;

use crate::harness::{AppDir, fixtures, toml_path, workspace_root};

/// The `wac` binary installed by `scripts/install-tools` (which `scripts/test` runs).
fn wac() -> PathBuf {
    let path = std::env::var_os("SOUK_WAC")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target")).join("tools/bin/wac"));
    assert!(path.exists(), "wac not found at {}: run scripts/install-tools (scripts/test does)", path.display());
    path
}

#[test]
fn a_wac_composed_component_serves_without_a_dependency_table() {
    let f = fixtures();
    let out = tempfile::tempdir().unwrap();
    let composed = out.path().join("greeter-app.wasm");
    let status = Command::new(wac())
        .arg("compose")
        .arg(workspace_root().join("host/tests/fixtures/compose/greeter-app.wac"))
        .arg("--dep")
        .arg(format!("souk:greeter={}", f.path("{greeter}").display()))
        .arg("--dep")
        .arg(format!("souk:greeter-user={}", f.path("{greeter-user}").display()))
        .arg("-o")
        .arg(&composed)
        .status()
        .expect("running wac");
    assert!(status.success(), "wac compose failed");

    let app = AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "composed"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "{}"
key_value_stores = ["default"]
"#,
        toml_path(&composed)
    ));
    let souk = app.up();
    assert_eq!(souk.get("/greet?name=wac").body, "Hello, wac!");
    // Composed ahead of time, the dependency shares the app component's imports.
    assert_eq!(souk.get("/touch").body, "stored");
}
