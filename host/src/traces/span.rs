//! The spans souk records, one constructor per kind of work, with the
//! OpenTelemetry semantic conventions' attribute names where one exists
//! and `souk.*` for the rest. Each constructor returns an empty [`Span`]
//! when tracing is off, or when there is no parent to hang a child on.

use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use wasmtime_wasi_http::WasiBody;

use super::{propagation, tracer};

/// The span an instance's work belongs to while it serves a request: its
/// component execution's. `None` when tracing is off. Shared, not held
/// inline: every store operation's future carries one (one word, where a
/// span context takes eight).
pub type Parent = Option<std::sync::Arc<SpanContext>>;

/// A span being recorded; it ends when dropped. Empty when tracing is off,
/// and then one word: request futures hold one across their awaits.
#[derive(Default)]
pub struct Span(Option<Box<Recording>>);

struct Recording {
    span: opentelemetry_sdk::trace::Span,
    /// A client span (a call, a store operation) rather than a server's.
    client: bool,
}

impl Span {
    /// This span's context, for its children.
    pub fn context(&self) -> Parent {
        use opentelemetry::trace::Span as _;
        self.0.as_ref().map(|r| std::sync::Arc::new(r.span.span_context().clone()))
    }

    /// Makes this span the parent of whoever serves `headers`.
    pub fn inject(&self, headers: &mut http::HeaderMap) {
        if let Some(context) = self.context() {
            propagation::inject(&context, headers);
        }
    }

    /// Records the HTTP status of the response. A server counts only a 5xx
    /// as its own error; a client counts every 4xx and 5xx it got.
    pub fn http_status(&mut self, status: u16) {
        use opentelemetry::trace::Span as _;
        if let Some(recording) = &mut self.0 {
            let Recording { span, client } = recording.as_mut();
            span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status)));
            if status >= 500 || (*client && status >= 400) {
                span.set_attribute(KeyValue::new("error.type", status.to_string()));
                span.set_status(Status::error(""));
            }
        }
    }

    /// Records a failure: its kind (`error.type`) and what happened.
    pub fn error(&mut self, kind: &str, message: impl Into<String>) {
        use opentelemetry::trace::Span as _;
        if let Some(recording) = &mut self.0 {
            let span = &mut recording.span;
            span.set_attribute(KeyValue::new("error.type", kind.to_string()));
            span.set_status(Status::error(message.into()));
        }
    }

    /// Keeps this span open until `response`'s body is sent or dropped: the
    /// work of a request ends with its body, not its head.
    pub fn until_body_ends(self, response: http::Response<WasiBody>) -> http::Response<WasiBody> {
        if self.0.is_none() {
            return response;
        }
        crate::body_guard::held_until_body_ends(response, self)
    }
}

fn child_of(parent: Option<&SpanContext>) -> Context {
    match parent {
        Some(parent) => Context::new().with_remote_span_context(parent.clone()),
        None => Context::new(),
    }
}

/// The span of a request from a client: continues the client's
/// `traceparent` when it sent one.
pub fn inbound_request(headers: &http::HeaderMap, method: &http::Method, route: &str, path: &str, component: &str) -> Span {
    let Some(tracer) = tracer() else { return Span::default() };
    let parent = propagation::extract(headers);
    let span = tracer
        .span_builder(format!("{method} {route}"))
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", method.to_string()),
            KeyValue::new("http.route", route.to_string()),
            KeyValue::new("url.path", path.to_string()),
            KeyValue::new("souk.component", component.to_string()),
        ])
        .start_with_context(tracer, &child_of(parent.as_ref()));
    Span(Some(Box::new(Recording { span, client: false })))
}

/// The span of one component serving one request, child of the span
/// `headers` name (souk's inbound request or chained call span).
pub fn component_execution(headers: &http::HeaderMap, component: &str) -> Span {
    let Some(tracer) = tracer() else { return Span::default() };
    let parent = propagation::extract(headers);
    let span = tracer
        .span_builder(format!("execute {component}"))
        .with_kind(SpanKind::Internal)
        .with_attributes([KeyValue::new("souk.component", component.to_string())])
        .start_with_context(tracer, &child_of(parent.as_ref()));
    Span(Some(Box::new(Recording { span, client: false })))
}

/// The span of one component handling one Redis message (a root: a
/// published message carries no trace context).
pub fn redis_message(channel: &str, component: &str) -> Span {
    let Some(tracer) = tracer() else { return Span::default() };
    let span = tracer
        .span_builder(format!("{channel} receive"))
        .with_kind(SpanKind::Consumer)
        .with_attributes([
            KeyValue::new("messaging.system", "redis"),
            KeyValue::new("messaging.operation.type", "receive"),
            KeyValue::new("messaging.destination.name", channel.to_string()),
            KeyValue::new("souk.component", component.to_string()),
        ])
        .start_with_context(tracer, &Context::new());
    Span(Some(Box::new(Recording { span, client: false })))
}

/// The span of one cron run of a component (a root).
pub fn cron_run(schedule: &str, component: &str) -> Span {
    let Some(tracer) = tracer() else { return Span::default() };
    let span = tracer
        .span_builder(format!("cron {component}"))
        .with_kind(SpanKind::Internal)
        .with_attributes([KeyValue::new("souk.cron.schedule", schedule.to_string()), KeyValue::new("souk.component", component.to_string())])
        .start_with_context(tracer, &Context::new());
    Span(Some(Box::new(Recording { span, client: false })))
}

/// A client span under `parent`; `describe` (its name and attributes) is
/// only called when there is a parent, so nothing is built when tracing is off.
fn call(parent: &Parent, describe: impl FnOnce() -> (String, Vec<KeyValue>)) -> Span {
    let (Some(parent), Some(tracer)) = (parent, tracer()) else { return Span::default() };
    let (name, attributes) = describe();
    let span = tracer.span_builder(name).with_kind(SpanKind::Client).with_attributes(attributes).start_with_context(tracer, &child_of(Some(parent.as_ref())));
    Span(Some(Box::new(Recording { span, client: true })))
}

/// A request from `caller` to component `target` (service chaining).
pub fn chained_call(parent: &Parent, caller: &str, target: &str, method: &http::Method, url: &http::Uri) -> Span {
    call(parent, || {
        (
            format!("{method} {target}.spin.internal"),
            vec![
                KeyValue::new("http.request.method", method.to_string()),
                KeyValue::new("url.full", url.to_string()),
                KeyValue::new("server.address", format!("{target}.spin.internal")),
                KeyValue::new("souk.component", caller.to_string()),
                KeyValue::new("souk.callee", target.to_string()),
            ],
        )
    })
}

/// A request from `caller` to a host outside the app.
pub fn outbound_call(parent: &Parent, caller: &str, method: &http::Method, url: &http::Uri, host: &str, port: u16) -> Span {
    call(parent, || {
        (
            format!("{method} {host}"),
            vec![
                KeyValue::new("http.request.method", method.to_string()),
                KeyValue::new("url.full", url.to_string()),
                KeyValue::new("server.address", host.to_string()),
                KeyValue::new("server.port", i64::from(port)),
                KeyValue::new("souk.component", caller.to_string()),
            ],
        )
    })
}

/// One key-value or SQLite operation on the store `label` (`store` is
/// `key_value` or `sqlite`, `system` what holds it: `sqlite` or `redis`).
pub fn store_operation(parent: &Parent, store: &'static str, system: &'static str, label: &str, operation: &str) -> Span {
    call(parent, || {
        (
            format!("{store} {operation} {label}"),
            vec![
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.namespace", label.to_string()),
                KeyValue::new("db.operation.name", operation.to_string()),
                KeyValue::new("souk.store", store),
            ],
        )
    })
}
