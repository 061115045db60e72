//! An OTLP/HTTP receiver for the trace tests: it takes what souk exports to
//! `POST /v1/traces`, decodes it with the protocol's generated messages
//! (protobuf), and keeps every span for the test to look at.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

/// One span as received, ids in lowercase hex (empty parent: a root).
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    pub service: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// The protocol's `SpanKind`: 1 internal, 2 server, 3 client.
    pub kind: i32,
    pub attributes: HashMap<String, String>,
    /// The protocol's status code: 0 unset, 1 ok, 2 error.
    pub status: i32,
    pub start_ns: u64,
    pub end_ns: u64,
}

impl ReceivedSpan {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }
}

pub struct OtlpReceiver {
    pub endpoint: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    /// Requests that were not a decodable export (each one fails the test).
    rejected: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl OtlpReceiver {
    pub fn start() -> OtlpReceiver {
        Self::start_with(None)
    }

    /// A receiver over TLS, with the server certificate of `ca`; with
    /// `client_certificates`, it takes only clients whose certificate the
    /// root signed.
    pub fn start_tls(ca: &crate::test_ca::TestCa, client_certificates: bool) -> OtlpReceiver {
        Self::start_with(Some(ca.server_config(client_certificates)))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> OtlpReceiver {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let endpoint = format!("{scheme}://{}", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let rejected = Arc::new(Mutex::new(Vec::new()));
        let (kept, refused) = (spans.clone(), rejected.clone());
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (kept, refused) = (kept.clone(), refused.clone());
                let service = hyper::service::service_fn(move |request| receive(request, kept.clone(), refused.clone()));
                let http1 = hyper::server::conn::http1::Builder::new();
                match tls.clone() {
                    None => drop(tokio::spawn(http1.serve_connection(hyper_util::rt::TokioIo::new(stream), service))),
                    Some(tls) => drop(tokio::spawn(async move {
                        // A failed handshake (an untrusted client) ends here.
                        if let Ok(stream) = tokio_rustls::TlsAcceptor::from(tls).accept(stream).await {
                            let _ = http1.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                        }
                    })),
                }
            }
        });
        OtlpReceiver { endpoint, spans, rejected, _runtime: runtime }
    }

    /// The spans received once `done` says they are all there (within 30 s).
    pub fn wait_for(&self, what: &str, done: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rejected = self.rejected.lock().unwrap().clone();
            assert!(rejected.is_empty(), "the receiver got requests it could not decode: {rejected:?}");
            let spans = self.spans.lock().unwrap().clone();
            if done(&spans) {
                return spans;
            }
            assert!(Instant::now() < deadline, "waited 30 s for {what}; received:\n{}", describe(&spans));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One line per span, for failure messages.
pub fn describe(spans: &[ReceivedSpan]) -> String {
    spans.iter().map(|s| format!("  {} {} parent={} kind={} {:?} {:?}\n", s.span_id, s.name, s.parent_span_id, s.kind, s.status, s.attributes)).collect()
}

async fn receive(
    request: hyper::Request<hyper::body::Incoming>,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    rejected: Arc<Mutex<Vec<String>>>,
) -> Result<hyper::Response<Full<bytes::Bytes>>, Infallible> {
    let what = format!("{} {} {:?}", request.method(), request.uri(), request.headers().get("content-type"));
    let protobuf = request.headers().get("content-type").is_some_and(|v| v == "application/x-protobuf");
    let path_ok = request.method() == "POST" && request.uri().path() == "/v1/traces";
    let body = request.into_body().collect().await.map(|b| b.to_bytes());
    let decoded = match (path_ok && protobuf, body) {
        (true, Ok(body)) => ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string()),
        (_, Err(e)) => Err(e.to_string()),
        (false, _) => Err("not a protobuf POST to /v1/traces".to_string()),
    };
    match decoded {
        Ok(export) => {
            spans.lock().unwrap().extend(flatten(export));
            let body = ExportTraceServiceResponse::default().encode_to_vec();
            Ok(hyper::Response::builder().header("content-type", "application/x-protobuf").body(Full::new(body.into())).unwrap())
        }
        Err(e) => {
            rejected.lock().unwrap().push(format!("{what}: {e}"));
            Ok(hyper::Response::builder().status(400).body(Full::new(bytes::Bytes::new())).unwrap())
        }
    }
}

fn flatten(export: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for resource_spans in export.resource_spans {
        let resource = resource_spans.resource.map(|r| attributes(r.attributes)).unwrap_or_default();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                out.push(ReceivedSpan {
                    service: service.clone(),
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: hex::encode(&span.parent_span_id),
                    name: span.name,
                    kind: span.kind,
                    attributes: attributes(span.attributes),
                    status: span.status.map_or(0, |s| s.code),
                    start_ns: span.start_time_unix_nano,
                    end_ns: span.end_time_unix_nano,
                });
            }
        }
    }
    out
}

fn attributes(list: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>) -> HashMap<String, String> {
    list.into_iter()
        .map(|kv| {
            let value = match kv.value.and_then(|v| v.value) {
                Some(Value::StringValue(s)) => s,
                Some(Value::IntValue(i)) => i.to_string(),
                Some(Value::BoolValue(b)) => b.to_string(),
                Some(Value::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key, value)
        })
        .collect()
}
