//! A failing guest fails only its own request.

use std::time::Duration;

use crate::harness::AppDir;

pub const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "failures"
[[trigger.http]]
route = "/p3/..."
component = "modern"
[[trigger.http]]
route = "/p2/..."
component = "legacy"
[component.modern]
source = "{guest}"
[component.legacy]
source = "{p2}"
"#;

#[test]
fn a_trap_gives_500_and_the_next_request_is_served() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(souk.get("/p3/trap").status, 500);
    assert_eq!(souk.get("/p3/hello").body, "hello from souk");
    assert_eq!(souk.get("/p2/trap").status, 500);
    assert_eq!(souk.get("/p2/again").status, 200);
    let log = std::fs::read_to_string(app.path().join(".spin/logs/modern_stderr.txt")).unwrap();
    assert!(log.contains("fixture trap requested"), "the guest's panic message lands in its stderr log: {log}");
}

#[test]
fn an_endless_loop_is_cut_at_the_deadline_while_others_are_served() {
    let app = AppDir::new(APP);
    let souk = std::sync::Arc::new(app.up_with(&["--request-timeout", "2s"], &[]));
    let looping = {
        let souk = souk.clone();
        std::thread::spawn(move || souk.get("/p3/loop"))
    };
    std::thread::sleep(Duration::from_millis(300));
    // While the loop spins, other requests are answered.
    for _ in 0..5 {
        assert_eq!(souk.get("/p3/hello").body, "hello from souk");
    }
    let cut = looping.join().unwrap();
    assert_eq!(cut.status, 503, "{cut:?}");
    assert_eq!(souk.get("/p3/hello").status, 200);
}

#[test]
fn a_memory_hungry_guest_fails_alone() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--max-instance-memory-mb", "64"], &[]);
    assert_eq!(souk.get("/p3/alloc?mb=8").body, "allocated 8");
    assert_eq!(souk.get("/p3/alloc?mb=200").status, 500);
    assert_eq!(souk.get("/p3/alloc?mb=8").status, 200);
}

#[test]
fn a_wasip2_component_serves() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let reply = souk.get("/p2/greet?name=x");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "hello from wasip2 /p2/greet?name=x");
}

#[test]
fn sigterm_lets_requests_in_flight_finish() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--request-timeout", "2s"], &[]);
    let url = souk.url.clone();
    // A request that takes until its 2 s deadline.
    let in_flight = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        agent.get(format!("{url}/p3/loop")).call().map(|r| r.status().as_u16())
    });
    std::thread::sleep(Duration::from_millis(500));
    let code = souk.terminate();
    assert_eq!(in_flight.join().unwrap().expect("the in-flight request gets an answer"), 503);
    assert_eq!(code, Some(0));
}
