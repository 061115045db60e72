//! `--max-concurrent-requests`: requests beyond a component's limit wait for
//! a slot; other components are not held up.

use std::sync::Arc;
use std::time::{Duration, Instant};

// The failure tests' app: a WASIp3 guest (`modern`) and a WASIp2 one (`legacy`).
use crate::failures::APP;
use crate::harness::AppDir;

#[test]
fn a_request_beyond_the_limit_waits_for_the_slot_while_other_components_serve() {
    let app = AppDir::new(APP);
    let timeout = Duration::from_secs(5);
    let souk = Arc::new(app.up_with(&["--max-concurrent-requests", "modern=1", "--request-timeout", "5s", "--stats"], &[]));
    // The endless loop holds modern's only slot until its deadline cuts it.
    let started = Instant::now();
    let looping = {
        let souk = souk.clone();
        std::thread::spawn(move || souk.get("/p3/loop"))
    };
    // Time for the loop to be taken in first, even on a loaded machine.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(souk.get("/p2/again").status, 200, "legacy has no limit and is served meanwhile");
    let hello = souk.get("/p3/hello");
    // The loop's deadline starts when souk takes it in, after `started`, so
    // the second request can only be answered after `timeout` if it waited
    // for the slot. (A lower bound: load on the machine cannot break it.)
    let hello_waited = started.elapsed();
    let cut = looping.join().unwrap();
    assert_eq!(cut.status, 503, "{cut:?}");
    assert_eq!(hello.status, 200, "{hello:?}");
    assert!(hello_waited >= timeout, "the second request to modern was answered after {hello_waited:?}, before the first one's slot was freed");

    let souk = Arc::into_inner(souk).expect("the loop's thread has ended");
    let (code, stderr) = souk.terminate_with_stderr();
    assert_eq!(code, Some(0));
    assert!(stderr.contains("component `modern`") && stderr.contains("1 requests waited for a slot"), "{stderr}");
}

#[test]
fn a_limit_for_a_component_the_app_lacks_stops_start_up() {
    let app = AppDir::new(APP);
    let output = app.up_fails(&["--max-concurrent-requests", "nobody=2"], &[]);
    assert!(output.contains("--max-concurrent-requests") && output.contains("no component `nobody`"), "{output}");
    let output = app.up_fails(&["--max-concurrent-requests", "modern=0"], &[]);
    assert!(output.contains("at least 1"), "{output}");
}
