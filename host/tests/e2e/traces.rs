//! OpenTelemetry traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, souk
//! exports spans over OTLP/HTTP to the receiver the test runs, continuing
//! the client's `traceparent`, handing the guest its own span as parent,
//! and making a chained call and a store operation children of the
//! component execution that made them.

use crate::harness::AppDir;
use crate::otlp_receiver::{OtlpReceiver, ReceivedSpan, describe};

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const ERROR: i32 = 2;

fn app() -> AppDir {
    AppDir::new(
        r#"
spin_manifest_version = 2
[application]
name = "traces"
[[trigger.http]]
route = "/front/..."
component = "front"
[[trigger.http]]
route = { private = true }
component = "back"
[component.front]
source = "{guest}"
key_value_stores = ["default"]
sqlite_databases = ["default"]
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.back]
source = "{guest}"
"#,
    )
}

/// A client's own trace context: a fresh trace id per call.
fn client_context(n: u8) -> (String, String) {
    let trace = format!("{:02x}{}", n, "4bf92f3577b34da6a3ce929d0e0e47");
    let span = "00f067aa0ba902b7".to_string();
    (format!("00-{trace}-{span}-01"), trace)
}

fn in_trace<'a>(spans: &'a [ReceivedSpan], trace: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.trace_id == trace).collect()
}

fn named<'a>(spans: &[&'a ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one span named {name:?} in:\n{}", describe(&spans.iter().map(|s| (*s).clone()).collect::<Vec<_>>()));
    found[0]
}

/// The span id in a `traceparent` value, after checking its trace id.
fn parent_in(traceparent: &str, trace: &str) -> String {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!((parts.len(), parts[1]), (4, trace), "{traceparent}");
    parts[2].to_string()
}

#[test]
fn a_request_is_one_trace_through_its_component_a_chained_call_and_its_stores() {
    let receiver = OtlpReceiver::start();
    let app = app();
    let souk = app.up_with(&["--log-format", "json"], &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    assert!(
        souk.startup.iter().any(|l| *l == format!("Traces to {}/v1/traces (http/protobuf)", receiver.endpoint)),
        "souk says where its spans go: {:?}",
        souk.startup
    );

    // 1. The guest sees its own execution span as its parent.
    let (traceparent, trace1) = client_context(1);
    let echoed = souk.request("GET", "/front/echo", None, &[("traceparent", &traceparent)]);
    assert_eq!(echoed.status, 200);
    let guest_saw = echoed.json()["headers"]["traceparent"].as_str().expect("the guest got a traceparent").to_string();
    let guest_parent = parent_in(&guest_saw, &trace1);

    // 2. A chained call: front → back, in the same trace.
    let (traceparent, trace2) = client_context(2);
    let chained = souk.request("GET", "/front/outbound?url=http%3A%2F%2Fback.spin.internal%2Fecho", None, &[("traceparent", &traceparent)]);
    assert!(chained.body.starts_with("status=200\n"), "{}", chained.body);
    let back_echo: serde_json::Value = serde_json::from_str(chained.body.trim_start_matches("status=200\n")).unwrap();
    let back_parent = parent_in(back_echo["headers"]["traceparent"].as_str().expect("back got a traceparent"), &trace2);

    // 3. Key-value and SQLite operations.
    let (traceparent, trace3) = client_context(3);
    assert_eq!(souk.request("POST", "/front/kv/set?store=default&key=k", Some("v"), &[("traceparent", &traceparent)]).status, 200);
    let sql = souk.request("POST", "/front/sql/exec?db=default", Some("SELECT 1"), &[("traceparent", &traceparent)]);
    assert_eq!(sql.status, 200, "{}", sql.body);

    // 4. An outbound call the manifest does not allow: refused, and on record.
    let (traceparent, trace4) = client_context(4);
    let denied = souk.request("GET", "/front/outbound?url=http%3A%2F%2Fexample.com%2F", None, &[("traceparent", &traceparent)]);
    assert_eq!(denied.status, 502, "{}", denied.body);

    // 5. A trap, with no client context: a trace of its own, marked failed.
    assert_eq!(souk.get("/front/trap").status, 500);

    let spans = receiver.wait_for("the spans of six requests", |spans| {
        in_trace(spans, &trace1).len() >= 2
            && in_trace(spans, &trace2).len() >= 4
            && in_trace(spans, &trace3).len() >= 6
            && in_trace(spans, &trace4).len() >= 3
            && spans.iter().any(|s| s.name == "execute front" && s.status == ERROR)
    });
    let all = describe(&spans);
    assert!(spans.iter().all(|s| s.service == "souk"), "{all}");

    // 1: client → server span → component execution, which the guest saw.
    let one = in_trace(&spans, &trace1);
    let server = named(&one, "GET /front/...");
    assert_eq!((server.kind, server.parent_span_id.as_str()), (SERVER, "00f067aa0ba902b7"), "the client's span is the parent:\n{all}");
    assert_eq!(server.attribute("http.route"), Some("/front/..."));
    assert_eq!(server.attribute("url.path"), Some("/front/echo"));
    assert_eq!(server.attribute("http.request.method"), Some("GET"));
    assert_eq!(server.attribute("http.response.status_code"), Some("200"));
    assert_eq!(server.attribute("souk.component"), Some("front"));
    let execution = named(&one, "execute front");
    assert_eq!(execution.parent_span_id, server.span_id);
    assert_eq!(guest_parent, execution.span_id, "the guest's traceparent names its execution span:\n{all}");
    assert!(execution.start_ns >= server.start_ns && execution.end_ns <= server.end_ns, "{all}");

    // 2: ... → execute front → chained call → execute back (what back saw).
    let two = in_trace(&spans, &trace2);
    let front = named(&two, "execute front");
    let call = named(&two, "GET back.spin.internal");
    assert_eq!((call.kind, &call.parent_span_id), (CLIENT, &front.span_id), "{all}");
    assert_eq!(call.attribute("souk.callee"), Some("back"));
    assert_eq!(call.attribute("http.response.status_code"), Some("200"));
    assert_eq!(call.attribute("url.full"), Some("http://back.spin.internal/echo"));
    let back = named(&two, "execute back");
    assert_eq!(back.parent_span_id, call.span_id, "{all}");
    assert_eq!(back_parent, back.span_id, "back's traceparent names its own execution:\n{all}");

    // 3: store operations under the execution that made them.
    let three = in_trace(&spans, &trace3);
    let executions: Vec<&str> = three.iter().filter(|s| s.name == "execute front").map(|s| s.span_id.as_str()).collect();
    let set = named(&three, "key_value set default");
    assert!(executions.contains(&set.parent_span_id.as_str()), "{all}");
    assert_eq!((set.kind, set.attribute("db.system.name"), set.attribute("db.operation.name")), (CLIENT, Some("sqlite"), Some("set")));
    let select = named(&three, "sqlite select default");
    assert!(executions.contains(&select.parent_span_id.as_str()), "{all}");
    assert_eq!(select.attribute("db.namespace"), Some("default"));

    // 4: the refused call, under the execution that tried it.
    let four = in_trace(&spans, &trace4);
    let refused = named(&four, "GET example.com");
    assert_eq!((refused.kind, refused.status, refused.attribute("error.type")), (CLIENT, ERROR, Some("denied")), "{all}");
    assert_eq!(refused.parent_span_id, named(&four, "execute front").span_id);

    // 5: the trap: a root server span and a failed execution.
    let failed = spans.iter().find(|s| s.name == "execute front" && s.status == ERROR).unwrap();
    assert_eq!(failed.attribute("error.type"), Some("trap"), "{all}");
    let root = spans.iter().find(|s| s.span_id == failed.parent_span_id).expect("the trap's server span");
    assert_eq!((root.parent_span_id.as_str(), root.status, root.attribute("http.response.status_code")), ("", ERROR, Some("500")), "{all}");
    // The JSON access log names the trace souk started for it.
    let (_, stderr) = souk.terminate_with_stderr();
    let entry =
        stderr.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|o| o["path"] == "/front/trap").expect("the trap's access entry");
    assert_eq!(entry["trace_id"], root.trace_id.as_str(), "{stderr}");
}

#[test]
fn without_an_endpoint_nothing_is_traced_and_the_clients_context_reaches_the_guest_untouched() {
    let app = app();
    let souk = app.up();
    assert!(!souk.startup.iter().any(|l| l.starts_with("Traces to")), "{:?}", souk.startup);
    let (traceparent, _) = client_context(9);
    let echoed = souk.request("GET", "/front/echo", None, &[("traceparent", &traceparent)]);
    assert_eq!(echoed.json()["headers"]["traceparent"], traceparent.as_str());
}

#[test]
fn a_trace_setting_souk_cannot_use_is_refused_at_start_up_naming_the_variable() {
    let app = app();
    let output = app.up_fails(&[], &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    assert!(output.contains("OTEL_EXPORTER_OTLP_PROTOCOL: `grpc` is not supported"), "{output}");
    let output = app.up_fails(&[], &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://collector.example/v1/traces")]);
    assert!(output.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `grpc://collector.example/v1/traces`"), "{output}");
    let tls = [("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:4318"), ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem")];
    let output = app.up_fails(&[], &tls);
    assert!(output.contains("OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read /no/such/ca.pem"), "{output}");
    // OTEL_SDK_DISABLED wins over an endpoint, as in Spin.
    let souk = app.up_with(&[], &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), ("OTEL_SDK_DISABLED", "true")]);
    assert!(!souk.startup.iter().any(|l| l.starts_with("Traces to")), "{:?}", souk.startup);
}

/// An `https://` endpoint: spans go over TLS to a collector whose
/// certificate chains to the CA `OTEL_EXPORTER_OTLP_CERTIFICATE` names,
/// with the client certificate the collector asks for.
#[test]
fn spans_go_over_tls_to_a_collector_trusted_through_the_certificate_variables() {
    let ca = crate::test_ca::TestCa::new();
    let receiver = OtlpReceiver::start_tls(&ca, true);
    let app = app();
    let root = ca.root().display().to_string();
    let (cert, key) = ca.client_cert();
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", root.as_str()),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", cert.as_str()),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", key.as_str()),
        ("OTEL_SERVICE_NAME", "shop-tls"),
    ];
    let souk = app.up_with(&[], &env);
    assert!(souk.startup.iter().any(|l| l == &format!("Traces to {}/v1/traces (http/protobuf)", receiver.endpoint)), "{:?}", souk.startup);
    let (traceparent, trace) = client_context(11);
    let reply = souk.request("GET", "/front/echo", None, &[("traceparent", &traceparent)]);
    assert_eq!(reply.status, 200);
    let spans = receiver.wait_for("the request's server span", |spans| in_trace(spans, &trace).iter().any(|s| s.kind == 2));
    assert!(in_trace(&spans, &trace).iter().all(|s| s.service == "shop-tls"), "{}", describe(&spans));
}
