//! Circuit breakers between services: a callee that fails opens the circuit
//! from its caller after `--circuit-failures` failures, further calls get a
//! 503 at once without reaching it, and after `--circuit-cooldown` a probe
//! that succeeds closes it again; a callee that hangs is cut at
//! `--outbound-timeout` with a 504.

use std::time::{Duration, Instant};

use crate::harness::{AppDir, Souk};

fn app() -> AppDir {
    AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "circuits"
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
"#,
    )
}

/// The chained call's status and body, as the fixture reports them.
fn call_back(souk: &Souk, path: &str) -> (String, String) {
    let reply = souk.get(&format!("/front/outbound?url=http%3A%2F%2Fback.spin.internal%2F{path}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (status, body) = reply.body.split_once('\n').unwrap_or((&reply.body, ""));
    (status.to_string(), body.to_string())
}

fn metric(souk: &Souk, series: &str) -> Option<f64> {
    let address = souk.startup.iter().find_map(|l| l.strip_prefix("Metrics at ")).unwrap().to_string();
    let text = ureq::get(&address).call().unwrap().body_mut().read_to_string().unwrap();
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

#[test]
fn a_failing_callee_opens_the_circuit_and_a_successful_probe_closes_it() {
    let app = app();
    let souk = app.up_with(&["--circuit-failures", "3", "--circuit-cooldown", "2s", "--metrics-listen", "127.0.0.1:0"], &[]);
    for _ in 0..3 {
        assert_eq!(call_back(&souk, "trap").0, "status=500");
    }
    assert_eq!(metric(&souk, r#"souk_circuit_state{caller="front",callee="back"}"#), Some(1.0));
    // Open: answered at once, and the callee never runs.
    let (status, body) = call_back(&souk, "hello");
    assert_eq!(status, "status=503");
    assert!(body.contains("the circuit from `front` to `back` is open"), "{body}");
    assert_eq!(metric(&souk, r#"souk_instances_created_total{component="back"}"#), Some(3.0));
    assert_eq!(metric(&souk, r#"souk_circuit_refusals_total{caller="front",callee="back"}"#), Some(1.0));
    // The callee's own route still serves: only front's calls to it are cut.
    assert_eq!(souk.get("/back/hello").status, 200);

    // After the cool-down a probe goes through and, succeeding, closes it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = call_back(&souk, "hello");
        if status == "status=200" {
            break;
        }
        assert_eq!(status, "status=503");
        assert!(Instant::now() < deadline, "the circuit never closed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(metric(&souk, r#"souk_circuit_state{caller="front",callee="back"}"#), Some(0.0));
    assert_eq!(call_back(&souk, "hello").0, "status=200");
}

#[test]
fn a_hanging_callee_is_cut_at_the_outbound_timeout() {
    let app = app();
    let souk = app.up_with(&["--outbound-timeout", "300ms", "--request-timeout", "5s", "--metrics-listen", "127.0.0.1:0"], &[]);
    let (status, body) = call_back(&souk, "loop");
    assert_eq!(status, "status=504");
    assert!(body.starts_with("Gateway Timeout: `back` did not answer within"), "{body}");
    assert_eq!(metric(&souk, r#"souk_chained_requests_total{caller="front",callee="back",status="error"}"#), Some(1.0));
}
