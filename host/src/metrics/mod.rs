//! Prometheus metrics (`souk up --metrics-listen ADDR`): what every request,
//! instance, chained call, outbound request and store operation did, by
//! component, served on a listener of its own ([`server`]).
//!
//! On `prometheus-client`, the Prometheus project's own Rust client (typed
//! label sets, OpenMetrics text encoding, which Prometheus scrapes). Off by
//! default: then each record is one failed `OnceLock` read. Label values
//! are bounded: route patterns (never paths), status classes, the SQL
//! statement's verb, and at most [`MAX_OUTBOUND_HOSTS`] outbound hosts.

pub mod server;

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Distinct outbound hosts named in labels; later ones are `other`.
pub const MAX_OUTBOUND_HOSTS: usize = 100;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub component: String,
    pub route: String,
    pub method: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ComponentLabels {
    pub component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainLabels {
    pub caller: String,
    pub callee: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainPairLabels {
    pub caller: String,
    pub callee: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutboundLabels {
    pub component: String,
    pub host: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreOperationLabels {
    pub store: String,
    pub label: String,
    pub operation: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreTimingLabels {
    pub store: String,
    pub label: String,
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub store: String,
    pub label: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StorePoolLabels {
    pub store: String,
    pub label: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RedisMessageLabels {
    pub component: String,
    pub channel: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CronRunLabels {
    pub component: String,
    pub schedule: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionKindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub component: String,
    pub reason: String,
}

/// Seconds from 0.25 ms to about 8 s, doubling.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

fn register(registry: &mut Registry, names: &mut Vec<String>, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
    registry.register(name, help, metric);
    names.push(format!("souk_{name}"));
}

/// Every metric souk keeps.
pub struct Metrics {
    registry: Registry,
    /// Every family's full name (`souk_…`): the dashboard's test checks
    /// its queries against them (an empty family is not in the text).
    #[cfg_attr(not(test), allow(dead_code))]
    names: Vec<String>,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<ComponentLabels, Histogram, fn() -> Histogram>,
    pub in_flight: Family<ComponentLabels, Gauge>,
    pub instances_created: Family<ComponentLabels, Counter>,
    pub instances_reused: Family<ComponentLabels, Counter>,
    pub instantiation_seconds: Family<ComponentLabels, Histogram, fn() -> Histogram>,
    pub admission_waits: Family<ComponentLabels, Counter>,
    pub admission_wait_seconds: Family<ComponentLabels, Histogram, fn() -> Histogram>,
    pub admission_refusals: Family<ComponentLabels, Counter>,
    pub chained: Family<ChainLabels, Counter>,
    pub chained_seconds: Family<ChainPairLabels, Histogram, fn() -> Histogram>,
    pub outbound: Family<OutboundLabels, Counter>,
    pub store_operations: Family<StoreOperationLabels, Counter>,
    pub store_seconds: Family<StoreTimingLabels, Histogram, fn() -> Histogram>,
    pub store_busy_waits: Family<StoreLabels, Counter>,
    pub store_pool_runs: Family<StorePoolLabels, Counter>,
    pub guest_failures: Family<FailureLabels, Counter>,
    pub redis_messages: Family<RedisMessageLabels, Counter>,
    pub redis_message_seconds: Family<ComponentLabels, Histogram, fn() -> Histogram>,
    pub cron_runs: Family<CronRunLabels, Counter>,
    pub cron_run_seconds: Family<ComponentLabels, Histogram, fn() -> Histogram>,
    pub circuit_state: Family<ChainPairLabels, Gauge>,
    pub circuit_refusals: Family<ChainPairLabels, Counter>,
    pub outbound_connections: Family<ConnectionKindLabels, Gauge>,
    pub outbound_connection_waits: Family<ConnectionKindLabels, Counter>,
    pub outbound_connection_refusals: Family<ConnectionKindLabels, Counter>,
    outbound_hosts: Mutex<HashSet<String>>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("souk");
        let mut names = Vec::new();
        let requests = Family::default();
        register(&mut registry, &mut names, "http_requests", "Requests answered, by component, route pattern, method and status class", requests.clone());
        let request_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        register(&mut registry, &mut names, "http_request_duration_seconds", "Time to a request's response head, by component", request_seconds.clone());
        let in_flight = Family::default();
        register(&mut registry, &mut names, "http_requests_in_flight", "Requests being served now, by component", in_flight.clone());
        let instances_created = Family::default();
        register(&mut registry, &mut names, "instances_created", "Component instances created", instances_created.clone());
        let instances_reused = Family::default();
        register(&mut registry, &mut names, "instances_reused", "Requests served by an instance that had served another before", instances_reused.clone());
        let instantiation_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        register(
            &mut registry,
            &mut names,
            "instantiation_duration_seconds",
            "Time to create a store and instantiate a component",
            instantiation_seconds.clone(),
        );
        let admission_waits = Family::default();
        register(&mut registry, &mut names, "admission_waits", "Requests that waited for a --max-concurrent-requests slot", admission_waits.clone());
        let admission_wait_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        register(&mut registry, &mut names, "admission_wait_duration_seconds", "How long those requests waited", admission_wait_seconds.clone());
        let admission_refusals = Family::default();
        register(&mut registry, &mut names, "admission_refusals", "Requests refused (503) after waiting too long for a slot", admission_refusals.clone());
        let chained = Family::default();
        register(
            &mut registry,
            &mut names,
            "chained_requests",
            "Service-chained requests, by caller, callee and status class (`error`: not served)",
            chained.clone(),
        );
        let chained_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        register(&mut registry, &mut names, "chained_request_duration_seconds", "Time to a chained request's response head", chained_seconds.clone());
        let outbound = Family::default();
        register(
            &mut registry,
            &mut names,
            "outbound_http_requests",
            "Outbound HTTP requests, by component, host and status class (`denied`, `error`)",
            outbound.clone(),
        );
        let store_operations = Family::default();
        register(
            &mut registry,
            &mut names,
            "store_operations",
            "Key-value and SQLite operations, by store kind, label, operation and outcome",
            store_operations.clone(),
        );
        let store_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        register(&mut registry, &mut names, "store_operation_duration_seconds", "Time of key-value and SQLite operations", store_seconds.clone());
        let store_busy_waits = Family::default();
        register(&mut registry, &mut names, "store_busy_waits", "SQLite statements that waited for another guest's transaction", store_busy_waits.clone());
        let store_pool_runs = Family::default();
        register(
            &mut registry,
            &mut names,
            "store_pool_runs",
            "SQLite statements run on the blocking pool instead of the calling thread, by reason: busy, not_restartable, over_budget",
            store_pool_runs.clone(),
        );
        let guest_failures = Family::default();
        register(&mut registry, &mut names, "guest_failures", "Requests a component failed, by reason: trap, deadline, memory, error", guest_failures.clone());
        let redis_messages = Family::default();
        register(
            &mut registry,
            &mut names,
            "redis_messages",
            "Redis trigger messages handled, by component, channel and outcome (ok, error)",
            redis_messages.clone(),
        );
        let redis_message_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        register(&mut registry, &mut names, "redis_message_duration_seconds", "Time a component took over a Redis message", redis_message_seconds.clone());
        let cron_runs = Family::default();
        register(&mut registry, &mut names, "cron_runs", "Cron trigger runs, by component, schedule and outcome (ok, error)", cron_runs.clone());
        let cron_run_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        register(&mut registry, &mut names, "cron_run_duration_seconds", "Time a component took over a cron run", cron_run_seconds.clone());
        let circuit_state = Family::default();
        register(
            &mut registry,
            &mut names,
            "circuit_state",
            "Circuit from caller to callee (a component or an outbound host): 0 closed, 1 open, 2 half-open",
            circuit_state.clone(),
        );
        let circuit_refusals = Family::default();
        register(&mut registry, &mut names, "circuit_refusals", "Calls refused at once (503) because their circuit was open", circuit_refusals.clone());
        let outbound_connections = Family::default();
        register(
            &mut registry,
            &mut names,
            "outbound_connections",
            "Outbound connections guests hold now, by kind (http, redis, postgres, mysql, mqtt)",
            outbound_connections.clone(),
        );
        let outbound_connection_waits = Family::default();
        register(
            &mut registry,
            &mut names,
            "outbound_connection_waits",
            "Outbound connections that waited for a place under the runtime config's connection limits",
            outbound_connection_waits.clone(),
        );
        let outbound_connection_refusals = Family::default();
        register(
            &mut registry,
            &mut names,
            "outbound_connection_refusals",
            "Outbound connections refused because their limit is 0",
            outbound_connection_refusals.clone(),
        );
        Metrics {
            registry,
            names,
            requests,
            request_seconds,
            in_flight,
            instances_created,
            instances_reused,
            instantiation_seconds,
            admission_waits,
            admission_wait_seconds,
            admission_refusals,
            chained,
            chained_seconds,
            outbound,
            store_operations,
            store_seconds,
            store_busy_waits,
            store_pool_runs,
            guest_failures,
            redis_messages,
            redis_message_seconds,
            cron_runs,
            cron_run_seconds,
            circuit_state,
            circuit_refusals,
            outbound_connections,
            outbound_connection_waits,
            outbound_connection_refusals,
            outbound_hosts: Mutex::new(HashSet::new()),
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// `host` as a label value: itself while fewer than
    /// [`MAX_OUTBOUND_HOSTS`] hosts have been seen, `other` after.
    fn host_label(&self, host: &str) -> String {
        let mut seen = self.outbound_hosts.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(host) || (seen.len() < MAX_OUTBOUND_HOSTS && seen.insert(host.to_string())) { host.to_string() } else { "other".to_string() }
    }
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Turns metrics on (once, at start-up).
pub fn enable() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

/// The metrics, when they are on.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

fn component(id: &str) -> ComponentLabels {
    ComponentLabels { component: id.to_string() }
}

/// `2xx`, `4xx`, ... for a status code.
pub fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// A method as a label: the standard ones by name, anything else `other`.
fn method_label(method: &http::Method) -> String {
    match *method {
        http::Method::GET
        | http::Method::HEAD
        | http::Method::POST
        | http::Method::PUT
        | http::Method::DELETE
        | http::Method::PATCH
        | http::Method::OPTIONS
        | http::Method::CONNECT
        | http::Method::TRACE => method.as_str().to_string(),
        _ => "other".to_string(),
    }
}

/// Counts a request in flight for `component` until dropped.
pub struct InFlight(Option<Gauge>);

impl InFlight {
    /// Whether metrics are on, so that this counts a request.
    pub fn is_counted(&self) -> bool {
        self.0.is_some()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(gauge) = &self.0 {
            gauge.dec();
        }
    }
}

pub fn request_started(component_id: &str) -> InFlight {
    InFlight(get().map(|m| {
        let gauge = m.in_flight.get_or_create(&component(component_id)).clone();
        gauge.inc();
        gauge
    }))
}

pub fn request_answered(component_id: &str, route: &str, method: &http::Method, status: u16, took: Duration) {
    if let Some(m) = get() {
        let labels =
            RequestLabels { component: component_id.to_string(), route: route.to_string(), method: method_label(method), status: status_class(status) };
        m.requests.get_or_create(&labels).inc();
        if component_id != "-" {
            m.request_seconds.get_or_create(&component(component_id)).observe(took.as_secs_f64());
        }
    }
}

pub fn instance_created(component_id: &str, took: Duration) {
    if let Some(m) = get() {
        m.instances_created.get_or_create(&component(component_id)).inc();
        m.instantiation_seconds.get_or_create(&component(component_id)).observe(took.as_secs_f64());
    }
}

pub fn instance_reused(component_id: &str) {
    if let Some(m) = get() {
        m.instances_reused.get_or_create(&component(component_id)).inc();
    }
}

pub fn admission_waited(component_id: &str, took: Duration, refused: bool) {
    if let Some(m) = get() {
        m.admission_waits.get_or_create(&component(component_id)).inc();
        m.admission_wait_seconds.get_or_create(&component(component_id)).observe(took.as_secs_f64());
        if refused {
            m.admission_refusals.get_or_create(&component(component_id)).inc();
        }
    }
}

/// A chained request's outcome: its status, or `None` if it was not served.
pub fn chained(caller: &str, callee: &str, status: Option<u16>, took: Duration) {
    if let Some(m) = get() {
        let status = status.map_or_else(|| "error".to_string(), status_class);
        m.chained.get_or_create(&ChainLabels { caller: caller.to_string(), callee: callee.to_string(), status }).inc();
        m.chained_seconds.get_or_create(&ChainPairLabels { caller: caller.to_string(), callee: callee.to_string() }).observe(took.as_secs_f64());
    }
}

/// An outbound request's outcome: a status class, `denied` or `error`.
pub fn outbound(component_id: &str, host: &str, outcome: &str) {
    if let Some(m) = get() {
        let labels = OutboundLabels { component: component_id.to_string(), host: m.host_label(host), status: outcome.to_string() };
        m.outbound.get_or_create(&labels).inc();
    }
}

/// A key-value (`store = "key_value"`) or SQLite (`"sqlite"`) operation.
pub fn store_operation(store: &str, label: &str, operation: &str, ok: bool, took: Duration) {
    if let Some(m) = get() {
        let outcome = if ok { "ok" } else { "error" };
        let labels =
            StoreOperationLabels { store: store.to_string(), label: label.to_string(), operation: operation.to_string(), outcome: outcome.to_string() };
        m.store_operations.get_or_create(&labels).inc();
        let timing = StoreTimingLabels { store: store.to_string(), label: label.to_string(), operation: operation.to_string() };
        m.store_seconds.get_or_create(&timing).observe(took.as_secs_f64());
    }
}

pub fn store_busy_wait(store: &str, label: &str) {
    if let Some(m) = get() {
        m.store_busy_waits.get_or_create(&StoreLabels { store: store.to_string(), label: label.to_string() }).inc();
    }
}

/// A statement that ran on the blocking pool, and why (see
/// `SharedConnection::run_quick`): many `over_budget` mean slow queries.
pub fn store_pool_run(store: &str, label: &str, reason: &str) {
    if let Some(m) = get() {
        m.store_pool_runs.get_or_create(&StorePoolLabels { store: store.to_string(), label: label.to_string(), reason: reason.to_string() }).inc();
    }
}

/// A request a component failed: `trap`, `deadline`, `memory` or `error`.
pub fn guest_failed(component_id: &str, reason: &str) {
    if let Some(m) = get() {
        m.guest_failures.get_or_create(&FailureLabels { component: component_id.to_string(), reason: reason.to_string() }).inc();
    }
}

/// A Redis message a component handled (`ok`) or failed (`error`).
pub fn redis_message(component_id: &str, channel: &str, ok: bool, took: Duration) {
    if let Some(m) = get() {
        let outcome = if ok { "ok" } else { "error" };
        let labels = RedisMessageLabels { component: component_id.to_string(), channel: channel.to_string(), outcome: outcome.to_string() };
        m.redis_messages.get_or_create(&labels).inc();
        m.redis_message_seconds.get_or_create(&component(component_id)).observe(took.as_secs_f64());
    }
}

/// A cron run a component finished (`ok`) or failed (`error`).
pub fn cron_run(component_id: &str, schedule: &str, ok: bool, took: Duration) {
    if let Some(m) = get() {
        let outcome = if ok { "ok" } else { "error" };
        let labels = CronRunLabels { component: component_id.to_string(), schedule: schedule.to_string(), outcome: outcome.to_string() };
        m.cron_runs.get_or_create(&labels).inc();
        m.cron_run_seconds.get_or_create(&component(component_id)).observe(took.as_secs_f64());
    }
}

/// How an outbound connection fared under the connection limits: it took
/// a place (`+1`) or gave it back (`-1`), waited, or was refused.
pub enum ConnectionEvent {
    Opened,
    Closed,
    Waited,
    Refused,
}

pub fn outbound_connection(kind: &str, event: ConnectionEvent) {
    if let Some(m) = get() {
        let labels = ConnectionKindLabels { kind: kind.to_string() };
        match event {
            ConnectionEvent::Opened => {
                m.outbound_connections.get_or_create(&labels).inc();
            }
            ConnectionEvent::Closed => {
                m.outbound_connections.get_or_create(&labels).dec();
            }
            ConnectionEvent::Waited => {
                m.outbound_connection_waits.get_or_create(&labels).inc();
            }
            ConnectionEvent::Refused => {
                m.outbound_connection_refusals.get_or_create(&labels).inc();
            }
        }
    }
}

fn pair(caller: &str, callee: &str) -> ChainPairLabels {
    ChainPairLabels { caller: caller.to_string(), callee: callee.to_string() }
}

/// A circuit's state as its gauge shows it: 0 closed, 1 open, 2 half-open.
pub fn circuit_state(caller: &str, callee: &str, state: i64) {
    if let Some(m) = get() {
        m.circuit_state.get_or_create(&pair(caller, callee)).set(state);
    }
}

pub fn circuit_refused(caller: &str, callee: &str) {
    if let Some(m) = get() {
        m.circuit_refusals.get_or_create(&pair(caller, callee)).inc();
    }
}

/// A SQL statement's operation label: its first keyword, if it is one of
/// the common ones, else `other`.
pub fn sql_verb(statement: &str) -> &'static str {
    let first = statement.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    const VERBS: [&str; 12] = ["select", "insert", "update", "delete", "begin", "commit", "rollback", "create", "drop", "alter", "with", "pragma"];
    VERBS.iter().find(|v| first.eq_ignore_ascii_case(v)).copied().unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_stay_bounded() {
        assert_eq!(sql_verb("  SELECT * FROM t"), "select");
        assert_eq!(sql_verb("with x as (select 1) select * from x"), "with");
        assert_eq!(sql_verb("VACUUM"), "other");
        assert_eq!(method_label(&http::Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_class(404), "4xx");
        let metrics = Metrics::new();
        for i in 0..MAX_OUTBOUND_HOSTS {
            assert_eq!(metrics.host_label(&format!("h{i}.example")), format!("h{i}.example"));
        }
        assert_eq!(metrics.host_label("one-more.example"), "other");
        assert_eq!(metrics.host_label("h3.example"), "h3.example");
    }

    #[test]
    fn the_text_names_each_family_with_its_labels() {
        let metrics = Metrics::new();
        let labels = RequestLabels { component: "catalog".into(), route: "/api/v1/products/...".into(), method: "GET".into(), status: "2xx".into() };
        metrics.requests.get_or_create(&labels).inc();
        metrics.request_seconds.get_or_create(&component("catalog")).observe(0.003);
        let text = metrics.encode();
        assert!(text.contains(r#"souk_http_requests_total{component="catalog",route="/api/v1/products/...",method="GET",status="2xx"} 1"#), "{text}");
        assert!(text.contains(r#"souk_http_request_duration_seconds_count{component="catalog"} 1"#), "{text}");
        assert!(metrics.names.iter().any(|n| n == "souk_guest_failures"));
    }

    #[test]
    fn every_series_the_shops_dashboard_queries_is_one_souk_serves() {
        let dashboard = include_str!("../../../deploy/grafana/souk-dashboard.json");
        let names = Metrics::new().names;
        let mut queried: Vec<&str> = dashboard
            .match_indices("souk_")
            .map(|(at, _)| &dashboard[at..])
            .map(|rest| &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())])
            .collect();
        queried.sort();
        queried.dedup();
        assert!(queried.len() >= 12, "{queried:?}");
        for series in queried {
            let family = ["_bucket", "_total", "_count", "_sum"].iter().find_map(|s| series.strip_suffix(s)).unwrap_or(series);
            assert!(names.iter().any(|n| n == family), "the dashboard queries {series}, which souk does not serve");
        }
    }
}
