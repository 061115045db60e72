//! Service chaining: `http://<component>.spin.internal` served in-process.

use crate::harness::AppDir;

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "chaining"
[[trigger.http]]
route = "/front/..."
component = "front"
[[trigger.http]]
route = "/isolated/..."
component = "isolated"
[[trigger.http]]
route = { private = true }
component = "back"
[component.front]
source = "{guest}"
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.isolated]
source = "{guest}"
[component.back]
source = "{guest}"
"#;

#[test]
fn a_component_calls_a_private_one_by_chaining() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let reply = souk.get("/front/outbound?url=http%3A%2F%2Fback.spin.internal%2Fhello");
    assert_eq!((reply.status, reply.body.as_str()), (200, "status=200\nhello from souk"));

    // The chained request carries spin-* headers for the target.
    let echoed = souk.get("/front/outbound?url=http%3A%2F%2Fback.spin.internal%2Fx%2Fecho");
    let json = echoed.body.strip_prefix("status=200\n").unwrap_or_else(|| panic!("{echoed:?}"));
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["headers"]["spin-path-info"], "/x/echo", "{json}");
}

#[test]
fn a_private_route_is_unreachable_from_outside() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(souk.get("/hello").status, 404);
    assert_eq!(souk.get("/back/hello").status, 404);
}

#[test]
fn chaining_needs_the_target_in_allowed_outbound_hosts() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let refused = souk.get("/isolated/outbound?url=http%3A%2F%2Fback.spin.internal%2Fhello");
    assert_eq!(refused.status, 502);
    assert!(refused.body.contains("HttpRequestDenied"), "{refused:?}");
}

const HOLDING_APP: &str = r#"
spin_manifest_version = 2
[application]
name = "chained-deadline"
[[trigger.http]]
route = "/front/..."
component = "front"
[[trigger.http]]
route = "/back/..."
component = "back"
[component.front]
source = "{guest}"
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.back]
source = "{guest}"
sqlite_databases = ["default"]
"#;

/// A chained callee works under its caller's deadline, not a fresh one of
/// its own: `front` (2 s to answer) calls `back` after 1.2 s, and `back`
/// holds a write transaction for 1.5 s. Under a deadline of its own `back`
/// would commit at 2.7 s, inside its own 2 s; under the caller's it is cut
/// at 2 s and its transaction rolled back. Both with an instance per
/// request and with reused instances (which expire differently).
#[test]
fn a_chained_callee_is_cut_at_its_callers_deadline() {
    for reuse in [&[][..], &["--max-instance-reuse-count", "8", "--max-instance-concurrent-reuse-count", "4"][..]] {
        let app = AppDir::new(HOLDING_APP);
        let souk = app.up_with(&[&["--request-timeout", "2s"][..], reuse].concat(), &[]);
        assert_eq!(souk.post("/back/sql/exec?db=default", "CREATE TABLE t (v TEXT)").status, 200);

        let hold = "http%3A%2F%2Fback.spin.internal%2Fsql%2Fhold%3Fdb%3Ddefault%26ms%3D1500";
        let front = souk.get(&format!("/front/outbound?wait_ms=1200&url={hold}"));
        // The caller is answered at its deadline: cut itself (503), or told
        // that the call ran out of time (504, whether the caller's host or
        // the callee's cut at the same deadline said it first).
        let answered = (front.status, front.body.lines().next().unwrap_or(""));
        assert!(matches!(answered, (503, _) | (200, "status=504")), "{reuse:?}: {front:?}");

        // A write waits for `back`'s transaction to end, however it ends.
        assert_eq!(souk.post("/back/sql/exec?db=default", "INSERT INTO t (v) VALUES ('after')").status, 200);
        let rows = souk.post("/back/sql/exec?db=default", "SELECT v FROM t");
        assert_eq!(rows.body.trim(), "after", "{reuse:?}: the callee's held write must have been rolled back at the caller's deadline: {rows:?}");
    }
}
