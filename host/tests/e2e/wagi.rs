//! The WAGI executor (`executor = { type = "wagi" }`): a WASI program run
//! per request, the request in its arguments, environment and stdin, the
//! response read from its CGI output.

use crate::harness::AppDir;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "wagi"
[[trigger.http]]
route = "/wagi/..."
component = "cgi"
executor = { type = "wagi" }
[[trigger.http]]
route = "/custom/..."
component = "custom"
executor = { type = "wagi", argv = "prog ${ARGS} --end" }
[component.cgi]
source = "{wagi}"
[component.custom]
source = "{wagi}"
"#;

#[test]
fn a_wagi_program_is_given_the_request_and_answers_from_its_output() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--request-timeout", "2s"], &[]);
    let reply = souk.request("POST", "/wagi/echo?a=1&b=2", Some("the body"), &[("x-test", "present")]);
    assert_eq!((reply.status, reply.header("x-wagi")), (200, Some("yes")), "{reply:?}");
    let expected = "method=POST\nargs=/wagi/echo|a=1|b=2\nquery=a=1&b=2\nscript=/wagi\npath_info=/echo\nheader=present\nbody=the body\n";
    assert_eq!(reply.body, expected);
    assert!(souk.get("/custom/x?k=v").body.contains("args=prog|k=v|--end\n"), "the trigger's argv");

    let missing = souk.get("/wagi/missing");
    assert_eq!((missing.status, missing.body.as_str()), (404, "no such thing\n"));
    let redirected = souk.get("/wagi/redirect");
    assert!(redirected.body.contains("query=from=redirect"), "Location is followed: {redirected:?}");
    assert_eq!(souk.get("/wagi/silent").status, 500, "no CGI output");
    assert_eq!(souk.get("/wagi/fail").status, 500, "a non-zero exit");

    let looping = souk.get("/wagi/loop");
    assert_eq!(looping.status, 503, "stopped at the deadline: {looping:?}");
    assert_eq!(souk.get("/wagi/echo").status, 200, "and the next request is served");
}
