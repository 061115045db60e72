//! Turning recorded stats into numbers, a table, JSON, and a verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::stats::{EndpointStats, Expectation, Stats};

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
    pub url: String,
    pub connections: u32,
    pub duration_s: f64,
    pub reconnects: u64,
    pub total: Summary,
    pub endpoints: Vec<EndpointSummary>,
}

/// Requests per second over the measured time (0 when nothing was measured).
pub fn rps(requests: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        requests as f64 / secs
    } else {
        0.0
    }
}

pub fn summarize(stats: &EndpointStats, elapsed: Duration, expect: Expectation) -> Summary {
    let h = &stats.latency_us;
    let (p50, p90, p99, max) = if h.is_empty() {
        (0, 0, 0, 0)
    } else {
        (
            h.value_at_quantile(0.50),
            h.value_at_quantile(0.90),
            h.value_at_quantile(0.99),
            h.max(),
        )
    };
    Summary {
        requests: stats.requests(),
        errors: stats.errors(expect),
        rps: rps(stats.requests(), elapsed),
        p50_us: p50,
        p90_us: p90,
        p99_us: p99,
        max_us: max,
        statuses: stats
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect(),
        transport_errors: stats
            .transport
            .iter()
            .map(|(k, n)| (k.as_str().to_string(), *n))
            .collect(),
    }
}

pub struct RunInfo<'a> {
    pub scenario: &'a str,
    pub url: &'a str,
    pub connections: u32,
    pub elapsed: Duration,
    pub expect: Expectation,
}

pub fn build(info: &RunInfo, stats: &Stats) -> Report {
    Report {
        scenario: info.scenario.to_string(),
        url: info.url.to_string(),
        connections: info.connections,
        duration_s: info.elapsed.as_secs_f64(),
        reconnects: stats.reconnects,
        total: summarize(&stats.total(), info.elapsed, info.expect),
        endpoints: stats
            .endpoints
            .iter()
            .map(|(name, s)| EndpointSummary {
                name: name.to_string(),
                summary: summarize(s, info.elapsed, info.expect),
            })
            .collect(),
    }
}

pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("report serializes")
}

/// The human-readable table.
pub fn to_table(report: &Report) -> String {
    let mut rows: Vec<(&str, &Summary)> = report
        .endpoints
        .iter()
        .map(|e| (e.name.as_str(), &e.summary))
        .collect();
    rows.push(("total", &report.total));
    let width = rows
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0)
        .max("endpoint".len());

    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {}  url {}  connections {}  measured {:.2}s  reconnects {}\n",
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
    out
}

/// `200×990 503×8 connect×2`
fn outcomes(s: &Summary) -> String {
    let parts: Vec<String> = s
        .statuses
        .iter()
        .chain(&s.transport_errors)
        .map(|(k, n)| format!("{k}×{n}"))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" ")
    }
}

/// `None` when every request got an expected status; otherwise a message
/// saying how many failed and how.
pub fn failures(report: &Report, expect: Expectation) -> Option<String> {
    let total = &report.total;
    if total.errors == 0 {
        return None;
    }
    let mut causes: Vec<String> = total
        .statuses
        .iter()
        .filter(|(status, _)| status.parse().is_ok_and(|s: u16| !expect.accepts(s)))
        .map(|(status, n)| format!("{n} × status {status}"))
        .collect();
    causes.extend(
        total
            .transport_errors
            .iter()
            .map(|(kind, n)| format!("{n} × {kind} error")),
    );
    Some(format!(
        "{} of {} requests failed (expected status {}): {}",
        total.errors,
        total.requests,
        expect.describe(),
        causes.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::TransportError;

    fn sample() -> Stats {
        let mut stats = Stats::default();
        for i in 1..=1000 {
            stats
                .endpoint("GET /hello")
                .record_response(200, Duration::from_micros(i));
        }
        stats
            .endpoint("GET /cart")
            .record_response(503, Duration::from_micros(50));
        stats
            .endpoint("GET /cart")
            .record_transport_error(TransportError::Connect);
        stats.reconnects = 1;
        stats
    }

    fn info(expect: Expectation) -> RunInfo<'static> {
        RunInfo {
            scenario: "hello",
            url: "http://127.0.0.1:3000",
            connections: 4,
            elapsed: Duration::from_secs(2),
            expect,
        }
    }

    #[test]
    fn rps_divides_by_measured_time() {
        assert_eq!(rps(1000, Duration::from_secs(2)), 500.0);
        assert_eq!(rps(3, Duration::from_millis(1500)), 2.0);
        assert_eq!(rps(10, Duration::ZERO), 0.0);
    }

    #[test]
    fn summary_numbers() {
        let report = build(&info(Expectation::Any2xx), &sample());
        let hello = &report
            .endpoints
            .iter()
            .find(|e| e.name == "GET /hello")
            .unwrap()
            .summary;
        assert_eq!(hello.requests, 1000);
        assert_eq!(hello.errors, 0);
        assert_eq!(hello.rps, 500.0);
        assert_eq!(
            (hello.p50_us, hello.p90_us, hello.p99_us, hello.max_us),
            (500, 900, 990, 1000)
        );

        let t = &report.total;
        assert_eq!((t.requests, t.errors, t.rps), (1002, 2, 501.0));
        assert_eq!(
            t.statuses,
            BTreeMap::from([("200".into(), 1000), ("503".into(), 1)])
        );
        assert_eq!(t.transport_errors, BTreeMap::from([("connect".into(), 1)]));
        assert_eq!(report.endpoints.len(), 2);
    }

    #[test]
    fn empty_endpoint_has_zero_latencies() {
        let mut stats = Stats::default();
        stats
            .endpoint("GET /x")
            .record_transport_error(TransportError::Send);
        let s = summarize(
            &stats.endpoints["GET /x"],
            Duration::from_secs(1),
            Expectation::Any2xx,
        );
        assert_eq!((s.requests, s.errors, s.p50_us, s.max_us), (1, 1, 0, 0));
    }

    #[test]
    fn json_shape() {
        let report = build(&info(Expectation::Any2xx), &sample());
        let v: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(v["scenario"], "hello");
        assert_eq!(v["connections"], 4);
        assert_eq!(v["duration_s"], 2.0);
        assert_eq!(v["total"]["requests"], 1002);
        assert_eq!(v["total"]["statuses"]["200"], 1000);
        for key in [
            "requests", "errors", "rps", "p50_us", "p90_us", "p99_us", "max_us", "statuses",
        ] {
            assert!(!v["total"][key].is_null(), "total.{key}");
            assert!(!v["endpoints"][0][key].is_null(), "endpoints[0].{key}");
        }
        assert_eq!(v["endpoints"][0]["name"], "GET /cart");
        assert_eq!(v["endpoints"][1]["name"], "GET /hello");
    }

    #[test]
    fn table_has_a_row_per_endpoint_and_a_total() {
        let table = to_table(&build(&info(Expectation::Any2xx), &sample()));
        assert!(table.contains("GET /hello"));
        assert!(table.contains("GET /cart"));
        assert!(table.lines().any(|l| l.starts_with("total")));
        assert!(table.contains("503×1 connect×1"));
    }

    #[test]
    fn verdict_names_the_failures() {
        let report = build(&info(Expectation::Any2xx), &sample());
        let msg = failures(&report, Expectation::Any2xx).unwrap();
        assert_eq!(
            msg,
            "2 of 1002 requests failed (expected status any 2xx): 1 × status 503, 1 × connect error"
        );

        let report = build(&info(Expectation::Exactly(503)), &sample());
        let msg = failures(&report, Expectation::Exactly(503)).unwrap();
        assert!(
            msg.starts_with(
                "1001 of 1002 requests failed (expected status 503): 1000 × status 200"
            )
        );

        let mut ok = Stats::default();
        ok.endpoint("GET /hello")
            .record_response(204, Duration::from_micros(5));
        assert_eq!(
            failures(&build(&info(Expectation::Any2xx), &ok), Expectation::Any2xx),
            None
        );
    }
}
