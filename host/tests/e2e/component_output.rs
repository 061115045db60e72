//! Component output as `spin up` shows it: each line on souk's console
//! prefixed with the component's id, only the followed components' with
//! `--follow`, and in `<log-dir>/<id>_stdout.txt` (none with `-L ""`).

use crate::harness::AppDir;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "output"
[[trigger.http]]
route = "/web/..."
component = "web"
[[trigger.http]]
route = "/api/..."
component = "api"
[component.web]
source = "{guest}"
[component.api]
source = "{guest}"
"#;

#[test]
fn every_components_lines_reach_the_console_prefixed_and_the_files() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(souk.get("/web/stdout?msg=from-web").status, 200);
    souk.wait_for_line(|l| l == "[web] from-web");
    assert_eq!(souk.get("/api/stdout?msg=from-api").status, 200);
    souk.wait_for_line(|l| l == "[api] from-api");
    let out = std::fs::read_to_string(app.path().join(".spin/logs/web_stdout.txt")).unwrap();
    assert_eq!(out, "from-web\n", "the file holds the lines as the guest wrote them");
}

#[test]
fn follow_shows_only_the_named_components_and_an_empty_log_dir_writes_no_files() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--follow", "api", "--log-dir", ""], &[]);
    assert_eq!(souk.get("/web/stdout?msg=from-web").status, 200);
    assert_eq!(souk.get("/api/stdout?msg=from-api").status, 200);
    // Each reply came after its output was written, so web's line would be first.
    let lines = souk.lines_until(|l| l == "[api] from-api");
    assert!(!lines.iter().any(|l| l.contains("from-web")), "{lines:?}");
    assert!(!app.path().join(".spin/logs/web_stdout.txt").exists());
    assert!(!app.path().join(".spin/logs/api_stdout.txt").exists());

    let output = app.up_fails(&["--follow", "nope"], &[]);
    assert!(output.contains("--follow: the app has no component `nope`"), "{output}");
}

#[test]
fn a_log_dir_takes_the_files() {
    let app = AppDir::new(APP);
    let dir = app.path().join("elsewhere");
    let souk = app.up_with(&["-L", dir.to_str().unwrap()], &[]);
    assert_eq!(souk.get("/web/stdout?msg=kept").status, 200);
    souk.wait_for_line(|l| l == "[web] kept");
    assert_eq!(std::fs::read_to_string(dir.join("web_stdout.txt")).unwrap(), "kept\n");
    assert!(std::fs::read_to_string(dir.join("web_stderr.txt")).unwrap().contains("err: kept"));
}
