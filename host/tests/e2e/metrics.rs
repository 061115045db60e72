//! Prometheus metrics (`--metrics-listen`): the counters and histograms
//! after a few requests, with their labels, on a listener of their own; and
//! a real Prometheus scraping souk and answering the request rate of a
//! component through its HTTP API.

use std::time::{Duration, Instant};

use crate::harness::{AppDir, Souk};
use crate::servers::PrometheusServer;

fn app() -> AppDir {
    AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "metrics"
[[trigger.http]]
route = "/front/..."
component = "front"
[[trigger.http]]
route = "/back/..."
component = "back"
[component.front]
source = "{guest}"
key_value_stores = ["default"]
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.back]
source = "{guest}"
"#,
    )
}

/// The metrics listener's address, as souk printed it at start-up.
pub(crate) fn metrics_address(souk: &Souk) -> String {
    let line = souk.startup.iter().find_map(|l| l.strip_prefix("Metrics at http://")).expect("souk printed where its metrics are");
    line.trim_end_matches("/metrics").to_string()
}

pub(crate) fn scrape(address: &str) -> String {
    let mut response = ureq::get(&format!("http://{address}/metrics")).call().expect("GET /metrics");
    assert!(response.headers().get("content-type").unwrap().to_str().unwrap().starts_with("application/openmetrics-text"));
    response.body_mut().read_to_string().unwrap()
}

/// The value of the sample named exactly `series` (name and labels).
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

/// A request is in flight until its body has been sent, not only its head.
#[test]
fn a_request_is_in_flight_until_its_body_has_been_sent() {
    use std::io::{Read, Write};
    let app = AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "drip"
[[trigger.http]]
route = "/drip/..."
component = "drip"
[component.drip]
source = "{p2}"
"#,
    );
    let souk = app.up_with(&["--metrics-listen", "127.0.0.1:0"], &[]);
    let address = metrics_address(&souk);
    let in_flight = || sample(&scrape(&address), r#"souk_http_requests_in_flight{component="drip"}"#);
    let mut stream = std::net::TcpStream::connect(souk.url.trim_start_matches("http://")).unwrap();
    stream.write_all(b"GET /drip/drip?ms=2000 HTTP/1.1\r\nhost: souk\r\nconnection: close\r\n\r\n").unwrap();
    // The head and the first byte of the body have come.
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("\r\n\r\n1\r\na") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the connection closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(in_flight(), Some(1.0), "the body is still being sent");
    stream.read_to_end(&mut seen).unwrap();
    assert!(String::from_utf8_lossy(&seen).contains("\r\nb\r\n"), "{}", String::from_utf8_lossy(&seen));
    let deadline = Instant::now() + Duration::from_secs(10);
    while in_flight() != Some(0.0) {
        assert!(Instant::now() < deadline, "still in flight after its body ended");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn metrics_count_requests_instances_chains_stores_and_failures_with_bounded_labels() {
    let app = app();
    let souk = app.up_with(&["--metrics-listen", "127.0.0.1:0"], &[]);
    let address = metrics_address(&souk);
    for _ in 0..3 {
        assert_eq!(souk.get("/front/hello").status, 200);
    }
    assert_eq!(souk.post("/front/kv/set?store=default&key=k", "v").status, 200);
    assert_eq!(souk.get("/front/kv/get?store=default&key=k").status, 200);
    assert_eq!(souk.get("/front/kv/get?store=default&key=missing").status, 404);
    let chained = souk.get("/front/outbound?url=http%3A%2F%2Fback.spin.internal%2Fhello");
    assert!(chained.body.starts_with("status=200"), "{}", chained.body);
    assert_eq!(souk.get("/front/trap").status, 500);
    assert_eq!(souk.get("/nowhere").status, 404);
    // The app's port does not serve metrics: /metrics there is the app's own (here, no route).
    assert_eq!(souk.get("/metrics").status, 404);

    let text = scrape(&address);
    let value = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"));
    // Route patterns, never paths; status classes.
    assert_eq!(value(r#"souk_http_requests_total{component="front",route="/front/...",method="GET",status="2xx"}"#), 5.0);
    assert_eq!(value(r#"souk_http_requests_total{component="front",route="/front/...",method="POST",status="2xx"}"#), 1.0);
    assert_eq!(value(r#"souk_http_requests_total{component="front",route="/front/...",method="GET",status="4xx"}"#), 1.0);
    assert_eq!(value(r#"souk_http_requests_total{component="front",route="/front/...",method="GET",status="5xx"}"#), 1.0);
    assert_eq!(value(r#"souk_http_requests_total{component="-",route="-",method="GET",status="4xx"}"#), 2.0);
    assert!(!text.contains("/front/hello"), "a path became a label value:\n{text}");
    assert_eq!(value(r#"souk_http_request_duration_seconds_count{component="front"}"#), 8.0);
    assert_eq!(value(r#"souk_http_requests_in_flight{component="front"}"#), 0.0);
    // A fresh instance per request (souk's default): 8 for front, 1 for back.
    assert_eq!(value(r#"souk_instances_created_total{component="front"}"#), 8.0);
    assert_eq!(value(r#"souk_instantiation_duration_seconds_count{component="back"}"#), 1.0);
    assert_eq!(value(r#"souk_chained_requests_total{caller="front",callee="back",status="2xx"}"#), 1.0);
    assert_eq!(value(r#"souk_chained_request_duration_seconds_count{caller="front",callee="back"}"#), 1.0);
    assert_eq!(value(r#"souk_store_operations_total{store="key_value",label="default",operation="set",outcome="ok"}"#), 1.0);
    assert_eq!(value(r#"souk_store_operations_total{store="key_value",label="default",operation="get",outcome="ok"}"#), 2.0);
    assert_eq!(value(r#"souk_store_operation_duration_seconds_count{store="key_value",label="default",operation="get"}"#), 2.0);
    assert_eq!(value(r#"souk_guest_failures_total{component="front",reason="trap"}"#), 1.0);

    // The metrics listener serves nothing else.
    let other = ureq::get(&format!("http://{address}/")).call();
    assert!(matches!(other, Err(ureq::Error::StatusCode(404))), "{other:?}");
}

#[test]
fn instance_reuse_shows_in_created_and_reused_counts() {
    let app = app();
    let souk = app.up_with(&["--metrics-listen", "127.0.0.1:0", "--max-instance-reuse-count", "10", "--idle-instance-timeout", "60s"], &[]);
    let address = metrics_address(&souk);
    for _ in 0..4 {
        assert_eq!(souk.get("/back/hello").status, 200);
    }
    let text = scrape(&address);
    let created = sample(&text, r#"souk_instances_created_total{component="back"}"#).unwrap();
    let reused = sample(&text, r#"souk_instances_reused_total{component="back"}"#).unwrap_or(0.0);
    assert_eq!((created, created + reused), (1.0, 4.0), "{text}");
}

#[test]
fn prometheus_scrapes_souk_and_answers_a_components_request_rate() {
    // The scrape configuration the repository ships is one Prometheus accepts.
    let shipped = crate::harness::workspace_root().join("deploy/prometheus.yml");
    let checked = std::process::Command::new("promtool").arg("check").arg("config").arg(&shipped).output().expect("promtool (Debian's prometheus package)");
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));

    let app = app();
    let souk = app.up_with(&["--metrics-listen", "127.0.0.1:0"], &[]);
    let prometheus = PrometheusServer::start(&metrics_address(&souk));
    // Requests keep coming while Prometheus scrapes every second, until its
    // rate over the last few scrapes is above zero.
    let deadline = Instant::now() + Duration::from_secs(90);
    let rate = loop {
        for _ in 0..5 {
            assert_eq!(souk.get("/back/hello").status, 200);
        }
        if let Some(rate) = prometheus.query(r#"sum(rate(souk_http_requests_total{component="back"}[5s]))"#).filter(|r| *r > 0.0) {
            break rate;
        }
        assert!(Instant::now() < deadline, "Prometheus never reported a request rate for `back`");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(rate > 0.0);
    let up = prometheus.query(r#"up{job="souk"}"#).expect("Prometheus knows the souk target");
    assert_eq!(up, 1.0);
    let p99 = prometheus
        .query(r#"histogram_quantile(0.99, sum by (le) (rate(souk_http_request_duration_seconds_bucket{component="back"}[5s])))"#)
        .expect("a latency quantile for `back`");
    assert!(p99 > 0.0, "{p99}");
}

/// A guest statement past the inline budget moves to the blocking pool, and
/// the metrics say so (a slow query shows there); a quick one does not.
#[test]
fn a_statement_moved_to_the_blocking_pool_is_counted_with_its_reason() {
    let app = crate::capabilities::stores_app();
    let souk = app.up_with(&["--metrics-listen", "127.0.0.1:0"], &[]);
    let address = metrics_address(&souk);
    let series = r#"souk_store_pool_runs_total{store="sqlite",label="cart-db",reason="over_budget"}"#;
    let quick = souk.post("/cart/sql/exec?db=cart-db", "SELECT 40 + 2");
    assert_eq!((quick.status, quick.body.as_str()), (200, "42\n"));
    assert_eq!(sample(&scrape(&address), series), None, "a quick statement stays on the calling thread");
    // Millions of steps: far past the 2 ms budget, well within the deadline.
    let slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 3000000) SELECT count(*) FROM n";
    let answered = souk.post("/cart/sql/exec?db=cart-db", slow);
    assert_eq!((answered.status, answered.body.as_str()), (200, "3000000\n"), "the slow statement still answers");
    assert_eq!(sample(&scrape(&address), series), Some(1.0));
}
