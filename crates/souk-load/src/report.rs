//! Turning recorded stats (and the invariant check) into numbers, a table,
//! JSON, and a verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::check::Violation;
use crate::stats::{EndpointStats, Stats};

/// The numbers reported for one endpoint or for all of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Responses by status code ("200": n).
    pub statuses: BTreeMap<String, u64>,
    /// Responses with a status their request did not expect, by status.
    pub error_statuses: BTreeMap<String, u64>,
    /// Requests without a response, by cause ("connect", "send", "body", "timeout").
    pub transport_errors: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointSummary {
    pub name: String,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The whole report; `--json` prints exactly this.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub scenario: String,
    /// The `mixed` scenario's weights (`null` for other scenarios).
    pub mix: Option<String>,
    pub url: String,
    pub connections: u32,
    pub duration_s: f64,
    pub reconnects: u64,
    pub total: Summary,
    pub endpoints: Vec<EndpointSummary>,
    /// The invariant check after the run (`null` when not made).
    pub check: Option<CheckReport>,
}

/// The outcome of the invariant check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub passed: bool,
    /// Products and paid orders the audit covered.
    pub products: usize,
    pub paid_orders: usize,
    pub violations: Vec<Violation>,
    /// Why the check could not be made (then `passed` is false).
    pub error: Option<String>,
}

impl CheckReport {
    pub fn failed_to_run(error: String) -> Self {
        CheckReport { passed: false, products: 0, paid_orders: 0, violations: Vec::new(), error: Some(error) }
    }
}

/// Requests per second over the measured time (0 when nothing was measured).
pub fn rps(requests: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { requests as f64 / secs } else { 0.0 }
}

pub fn summarize(stats: &EndpointStats, elapsed: Duration) -> Summary {
    let h = &stats.latency_us;
    let (p50, p90, p99, max) =
        if h.is_empty() { (0, 0, 0, 0) } else { (h.value_at_quantile(0.50), h.value_at_quantile(0.90), h.value_at_quantile(0.99), h.max()) };
    Summary {
        requests: stats.requests(),
        errors: stats.errors(),
        rps: rps(stats.requests(), elapsed),
        p50_us: p50,
        p90_us: p90,
        p99_us: p99,
        max_us: max,
        statuses: stats.statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        error_statuses: stats.unexpected.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        transport_errors: stats.transport.iter().map(|(k, n)| (k.as_str().to_string(), *n)).collect(),
    }
}

pub struct RunInfo<'a> {
    pub scenario: &'a str,
    pub url: &'a str,
    pub connections: u32,
    pub elapsed: Duration,
}

pub fn build(info: &RunInfo, stats: &Stats) -> Report {
    Report {
        scenario: info.scenario.to_string(),
        mix: None,
        url: info.url.to_string(),
        connections: info.connections,
        duration_s: info.elapsed.as_secs_f64(),
        reconnects: stats.reconnects,
        total: summarize(&stats.total(), info.elapsed),
        endpoints: stats.endpoints.iter().map(|(name, s)| EndpointSummary { name: name.to_string(), summary: summarize(s, info.elapsed) }).collect(),
        check: None,
    }
}

pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("report serializes")
}

/// The human-readable table.
pub fn to_table(report: &Report) -> String {
    let mut rows: Vec<(&str, &Summary)> = report.endpoints.iter().map(|e| (e.name.as_str(), &e.summary)).collect();
    rows.push(("total", &report.total));
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max("endpoint".len());

    let mut out = String::new();
    let mix = report.mix.as_ref().map(|m| format!(" ({m})")).unwrap_or_default();
    let _ = writeln!(
        out,
        "scenario {}{mix}  url {}  connections {}  measured {:.2}s  reconnects {}\n",
        report.scenario, report.url, report.connections, report.duration_s, report.reconnects
    );
    let _ = writeln!(
        out,
        "{:<width$}  {:>10}  {:>8}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  statuses",
        "endpoint", "requests", "errors", "req/s", "p50 µs", "p90 µs", "p99 µs", "max µs"
    );
    for (name, s) in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:>10}  {:>8}  {:>10.1}  {:>9}  {:>9}  {:>9}  {:>9}  {}",
            name,
            s.requests,
            s.errors,
            s.rps,
            s.p50_us,
            s.p90_us,
            s.p99_us,
            s.max_us,
            outcomes(s)
        );
    }
    if let Some(check) = &report.check {
        out.push('\n');
        out.push_str(&check_lines(check));
    }
    out
}

/// `check passed: ...` or what broke, one violation a line.
pub fn check_lines(check: &CheckReport) -> String {
    if let Some(error) = &check.error {
        return format!("check FAILED: could not check the shop: {error}\n");
    }
    let covered = format!("{} products, {} paid orders", check.products, check.paid_orders);
    if check.passed {
        return format!(
            "check passed ({covered}): sold = paid quantities, no negative stock, one approved payment per paid order and none for another, no order pending, no compensation queued\n"
        );
    }
    let mut out = format!("check FAILED ({covered}): {} broken invariant{}\n", check.violations.len(), if check.violations.len() == 1 { "" } else { "s" });
    for v in &check.violations {
        let _ = writeln!(out, "  - {v}");
    }
    out
}

/// `200×990 409×3 503×8! connect×2!` (`!`: counted as errors).
fn outcomes(s: &Summary) -> String {
    let statuses = s.statuses.iter().map(|(k, n)| {
        let mark = if s.error_statuses.contains_key(k) { "!" } else { "" };
        format!("{k}×{n}{mark}")
    });
    let transport = s.transport_errors.iter().map(|(k, n)| format!("{k}×{n}!"));
    let parts: Vec<String> = statuses.chain(transport).collect();
    if parts.is_empty() { "-".to_string() } else { parts.join(" ") }
}

/// `None` when every request got an expected status; otherwise a message
/// saying how many failed and how.
pub fn failures(report: &Report) -> Option<String> {
    let total = &report.total;
    if total.errors == 0 {
        return None;
    }
    let mut causes: Vec<String> = total.error_statuses.iter().map(|(status, n)| format!("{n} × unexpected status {status}")).collect();
    causes.extend(total.transport_errors.iter().map(|(kind, n)| format!("{n} × {kind} error")));
    Some(format!("{} of {} requests failed: {}", total.errors, total.requests, causes.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::TransportError;

    fn sample() -> Stats {
        let mut stats = Stats::default();
        for i in 1..=1000 {
            stats.endpoint("GET /hello").record_response(200, true, Duration::from_micros(i));
        }
        stats.endpoint("GET /cart").record_response(503, false, Duration::from_micros(50));
        stats.endpoint("POST /api/v1/orders").record_response(409, true, Duration::from_micros(70));
        stats.endpoint("GET /cart").record_transport_error(TransportError::Connect);
        stats.reconnects = 1;
        stats
    }

    fn info() -> RunInfo<'static> {
        RunInfo { scenario: "hello", url: "http://127.0.0.1:3000", connections: 4, elapsed: Duration::from_secs(2) }
    }

    #[test]
    fn rps_divides_by_measured_time() {
        assert_eq!(rps(1000, Duration::from_secs(2)), 500.0);
        assert_eq!(rps(3, Duration::from_millis(1500)), 2.0);
        assert_eq!(rps(10, Duration::ZERO), 0.0);
    }

    #[test]
    fn summary_numbers() {
        let report = build(&info(), &sample());
        let hello = &report.endpoints.iter().find(|e| e.name == "GET /hello").unwrap().summary;
        assert_eq!(hello.requests, 1000);
        assert_eq!(hello.errors, 0);
        assert_eq!(hello.rps, 500.0);
        assert_eq!((hello.p50_us, hello.p90_us, hello.p99_us, hello.max_us), (500, 900, 990, 1000));

        let t = &report.total;
        assert_eq!((t.requests, t.errors, t.rps), (1003, 2, 501.5));
        assert_eq!(t.statuses, BTreeMap::from([("200".into(), 1000), ("409".into(), 1), ("503".into(), 1)]));
        assert_eq!(t.error_statuses, BTreeMap::from([("503".into(), 1)]));
        assert_eq!(t.transport_errors, BTreeMap::from([("connect".into(), 1)]));
        assert_eq!(report.endpoints.len(), 3);
        assert_eq!(report.check, None);
    }

    #[test]
    fn empty_endpoint_has_zero_latencies() {
        let mut stats = Stats::default();
        stats.endpoint("GET /x").record_transport_error(TransportError::Send);
        let s = summarize(&stats.endpoints["GET /x"], Duration::from_secs(1));
        assert_eq!((s.requests, s.errors, s.p50_us, s.max_us), (1, 1, 0, 0));
    }

    fn failed_check() -> CheckReport {
        CheckReport {
            passed: false,
            products: 20,
            paid_orders: 7,
            violations: vec![Violation::PaymentCount { order_id: "o1".into(), approved: 0 }],
            error: None,
        }
    }

    #[test]
    fn json_shape() {
        let mut report = build(&info(), &sample());
        let v: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(v["scenario"], "hello");
        assert_eq!(v["connections"], 4);
        assert_eq!(v["duration_s"], 2.0);
        assert_eq!(v["total"]["requests"], 1003);
        assert_eq!(v["total"]["statuses"]["200"], 1000);
        assert_eq!(v["total"]["error_statuses"]["503"], 1);
        for key in ["requests", "errors", "rps", "p50_us", "p90_us", "p99_us", "max_us", "statuses", "error_statuses"] {
            assert!(!v["total"][key].is_null(), "total.{key}");
            assert!(!v["endpoints"][0][key].is_null(), "endpoints[0].{key}");
        }
        assert_eq!(v["endpoints"][0]["name"], "GET /cart");
        assert_eq!(v["endpoints"][1]["name"], "GET /hello");
        assert!(v["check"].is_null());

        report.check = Some(failed_check());
        let v: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(v["check"]["passed"], false);
        assert_eq!(v["check"]["violations"][0]["kind"], "payment_count");
        assert_eq!(v["check"]["violations"][0]["order_id"], "o1");
    }

    #[test]
    fn table_has_a_row_per_endpoint_and_a_total() {
        let table = to_table(&build(&info(), &sample()));
        assert!(table.contains("GET /hello"));
        assert!(table.contains("GET /cart"));
        assert!(table.lines().any(|l| l.starts_with("total")));
        assert!(table.contains("503×1! connect×1!"), "{table}");
        assert!(table.contains("POST /api/v1/orders"));
        assert!(table.contains(" 409×1\n"), "{table}");
        assert!(!table.contains("check"));
        assert!(table.starts_with("scenario hello  url"), "{table}");
    }

    #[test]
    fn table_shows_the_check() {
        let mut report = build(&info(), &sample());
        report.check = Some(failed_check());
        report.mix = Some("browse=80,cart=15,checkout=5".into());
        let table = to_table(&report);
        assert!(table.starts_with("scenario hello (browse=80,cart=15,checkout=5)  url"));
        assert!(
            table.contains("check FAILED (20 products, 7 paid orders): 1 broken invariant\n  - paid order o1: 0 approved payments, expected 1\n"),
            "{table}"
        );
        report.check = Some(CheckReport { passed: true, violations: vec![], ..failed_check() });
        assert!(to_table(&report).contains("check passed (20 products, 7 paid orders)"));
        report.check = Some(CheckReport::failed_to_run("GET /api/v1/admin/audit answered 404".into()));
        assert!(to_table(&report).contains("check FAILED: could not check the shop: GET /api/v1/admin/audit answered 404"));
    }

    #[test]
    fn verdict_names_the_failures() {
        let report = build(&info(), &sample());
        assert_eq!(failures(&report).unwrap(), "2 of 1003 requests failed: 1 × unexpected status 503, 1 × connect error");

        let mut ok = Stats::default();
        ok.endpoint("GET /hello").record_response(204, true, Duration::from_micros(5));
        ok.endpoint("POST /api/v1/orders").record_response(409, true, Duration::from_micros(5));
        assert_eq!(failures(&build(&info(), &ok)), None);
    }
}
