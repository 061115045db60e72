//! `--max-instance-reuse-count` (Spin 4's flag): a WASIp3 instance serves
//! several requests; by default each request gets a fresh one.

// The failure tests' app: the fixture guest is component `modern`, at `/p3/...`.
use crate::failures::APP;
use std::time::Duration;

use crate::harness::AppDir;

fn counts(souk: &crate::harness::Souk, n: usize) -> Vec<String> {
    (0..n).map(|_| souk.get("/p3/count").body).collect()
}

#[test]
fn each_request_gets_a_fresh_instance_by_default() {
    let app = AppDir::new(APP);
    let souk = app.up();
    assert_eq!(counts(&souk, 3), ["1", "1", "1"]);
}

#[test]
fn a_reused_instance_serves_up_to_the_count_then_a_fresh_one_takes_over() {
    let app = AppDir::new(APP);
    // A long idle timeout, so a slow machine between two requests does not
    // end the instance early.
    let souk = app.up_with(&["--max-instance-reuse-count", "3", "--idle-instance-timeout", "60s"], &[]);
    assert_eq!(counts(&souk, 7), ["1", "2", "3", "1", "2", "3", "1"]);
}

#[test]
fn a_trap_ends_the_reused_instance_and_the_next_request_gets_a_fresh_one() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--max-instance-reuse-count", "100", "--idle-instance-timeout", "60s"], &[]);
    assert_eq!(counts(&souk, 2), ["1", "2"]);
    assert_eq!(souk.get("/p3/trap").status, 500);
    assert_eq!(counts(&souk, 2), ["1", "2"]);
}

#[test]
fn a_reused_instance_past_its_deadline_is_cut_with_503() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--max-instance-reuse-count", "100", "--request-timeout", "2s"], &[]);
    assert_eq!(souk.get("/p3/loop").status, 503);
    assert_eq!(souk.get("/p3/hello").body, "hello from souk");
}

/// An instance stuck in a busy loop takes no new request: one sent
/// meanwhile goes to a fresh instance, and the loop ends at its deadline.
#[test]
fn a_request_sent_while_a_reused_instance_loops_gets_a_fresh_instance() {
    let app = AppDir::new(APP);
    let souk = std::sync::Arc::new(app.up_with(&["--max-instance-reuse-count", "100", "--request-timeout", "3s", "--idle-instance-timeout", "60s"], &[]));
    assert_eq!(counts(&souk, 1), ["1"]);
    let before = souk.cpu_time();
    let looping = {
        let souk = souk.clone();
        std::thread::spawn(move || souk.get("/p3/loop"))
    };
    souk.wait_for_cpu(before, Duration::from_millis(500), Duration::from_secs(30));
    let meanwhile = souk.get("/p3/count");
    assert_eq!((meanwhile.status, meanwhile.body.as_str()), (200, "1"), "a fresh instance, not the looping one");
    assert_eq!(looping.join().unwrap().status, 503);
    souk.wait_until_idle(Duration::from_secs(10));
}

/// Stopping souk drops the reused instances still waiting for requests:
/// that is no failure, and the log does not call it a trap.
#[test]
fn stopping_with_idle_reused_instances_logs_no_trap() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--max-instance-reuse-count", "10", "--idle-instance-timeout", "60s"], &[]);
    assert_eq!(counts(&souk, 2), ["1", "2"]);
    let (code, stderr) = souk.terminate_with_stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Stopped") && !stderr.contains("trapped"), "{stderr}");
}
