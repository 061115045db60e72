//! `--log-format json`: souk's access log and its own messages as one JSON
//! object per line on stderr, with the fields a log shipper indexes.

use crate::harness::AppDir;

#[test]
fn json_logs_carry_each_requests_id_trace_component_route_status_and_duration() {
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "logs"
[[trigger.http]]
route = "/a/..."
component = "a"
[component.a]
source = "{guest}"
"#,
    );
    let souk = app.up_with(&["--log-format", "json"], &[]);
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let reply = souk.request("GET", "/a/hello", None, &[("traceparent", traceparent), ("x-request-id", "req-1")]);
    assert_eq!(reply.status, 200);
    assert_eq!(souk.get("/a/trap").status, 500);
    let (_, stderr) = souk.terminate_with_stderr();
    // Component output keeps its `[a] ` prefix; souk's own lines are JSON.
    let objects: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a line that is not JSON ({e}): {l}")))
        .collect();
    let access = objects.iter().find(|o| o["request_id"] == "req-1").unwrap_or_else(|| panic!("no access entry for req-1 in:\n{stderr}"));
    assert_eq!(access["message"], "request");
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!((access["method"].as_str(), access["path"].as_str()), (Some("GET"), Some("/a/hello")));
    assert_eq!((access["component"].as_str(), access["route"].as_str()), (Some("a"), Some("/a/...")));
    assert_eq!(access["status"], 200);
    assert!(access["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{access}");
    assert!(access["timestamp"].is_string(), "{access}");
    // A request without an id gets one of souk's; the host's own messages are JSON too.
    let trapped = objects.iter().find(|o| o["status"] == 500).expect("the trapped request's entry");
    assert!(trapped["request_id"].as_str().is_some_and(|id| !id.is_empty() && id != "req-1"));
    assert_eq!(trapped["trace_id"], "");
    assert!(objects.iter().any(|o| o["level"] == "ERROR" && o["message"].as_str().is_some_and(|m| m.contains("component `a`"))), "{stderr}");
}
