//! Spin 4.1's `static_response` triggers: routes the host answers itself,
//! beside the components' routes.

use crate::harness::AppDir;

#[test]
fn a_static_response_answers_its_route_without_a_component() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "static"
[[trigger.http]]
route = "/users/..."
component = "users"
[component.users]
source = "{guest}"
[[trigger.http]]
route = "/..."
static_response = { status_code = 404, body = "not found", headers = { x-static = "yes" } }
[[trigger.http]]
route = "/default-code"
static_response = { body = "should be 200" }
[[trigger.http]]
route = "/bob"
static_response = { status_code = 302, headers = { location = "/users/hello" } }
"#,
    );
    let souk = app.up();
    assert_eq!(souk.get("/users/hello").body, "hello from souk", "the component's route");
    let default = souk.get("/default-code");
    assert_eq!((default.status, default.body.as_str()), (200, "should be 200"));
    let missing = souk.get("/anything/else");
    assert_eq!((missing.status, missing.body.as_str(), missing.header("x-static")), (404, "not found", Some("yes")));
    let redirected = souk.get("/bob");
    assert_eq!((redirected.status, redirected.body.as_str()), (200, "hello from souk"), "Location is followed to the component");

    let only =
        AppDir::new("spin_manifest_version = 2\n[application]\nname = \"only\"\n[[trigger.http]]\nroute = \"/...\"\nstatic_response = { body = \"up\" }\n");
    assert_eq!(only.up().get("/health").body, "up", "an app of static responses alone listens");
}
