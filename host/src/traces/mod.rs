//! OpenTelemetry traces. With an OTLP endpoint in the environment (see
//! [`config`]) souk records a span for each inbound request, each component
//! execution, each chained or outbound call and each key-value or SQLite
//! operation, and exports them in batches from a task of its own. Without
//! one, every function here returns at once and no span is made: [`Span`]
//! is then an empty value and nothing is allocated per request.
//!
//! The parent of a span travels in two ways: in `traceparent` request
//! headers (from the client, from souk to the guest, and on a chained or
//! outbound request), and as [`Parent`] in the instance's state for the
//! operations an instance makes while it serves a request.

pub mod config;
mod propagation;
mod span;
mod tls;

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;

pub use span::{Parent, Span, chained_call, component_execution, cron_run, inbound_request, outbound_call, redis_message, store_operation};

struct Tracing {
    provider: SdkTracerProvider,
    tracer: opentelemetry_sdk::trace::Tracer,
}

static TRACING: OnceLock<Tracing> = OnceLock::new();

fn tracer() -> Option<&'static opentelemetry_sdk::trace::Tracer> {
    TRACING.get().map(|t| &t.tracer)
}

/// Starts the exporter if the environment asks for one; what to print at
/// start-up, or why the environment's values cannot be used. Must run on
/// the tokio runtime (the batch exporter is a task on it).
pub fn start_from_env() -> wasmtime::Result<Option<String>> {
    let Some(export) = config::from_env().map_err(wasmtime::Error::msg)? else {
        return Ok(None);
    };
    let protocol = match export.protocol {
        config::Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
        config::Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
    };
    let mut builder =
        opentelemetry_otlp::SpanExporter::builder().with_http().with_endpoint(export.url.clone()).with_protocol(protocol).with_timeout(export.timeout);
    if let Some(files) = &export.tls {
        builder = builder.with_http_client(tls::client(files, export.timeout).map_err(wasmtime::Error::msg)?);
    }
    let exporter = builder.build().map_err(|e| wasmtime::format_err!("the OTLP trace exporter: {e}"))?;
    let processor = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let provider = SdkTracerProvider::builder().with_resource(resource()).with_span_processor(processor).build();
    let tracer = provider.tracer("souk");
    if TRACING.set(Tracing { provider, tracer }).is_err() {
        wasmtime::bail!("tracing was started twice");
    }
    Ok(Some(format!("Traces to {} ({})", export.url, export.protocol.name())))
}

/// `service.name` is `OTEL_SERVICE_NAME`, else the one in
/// `OTEL_RESOURCE_ATTRIBUTES`, else `souk`; `service.version` is souk's.
fn resource() -> opentelemetry_sdk::Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.split(',').any(|kv| kv.trim_start().starts_with("service.name=")));
    let builder = opentelemetry_sdk::Resource::builder().with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if named { builder.build() } else { builder.with_service_name("souk").build() }
}

/// Sends the spans still queued and stops the exporter (at shutdown).
pub async fn shutdown() {
    if let Some(started) = TRACING.get() {
        let provider = started.provider.clone();
        // The SDK waits for its export task by blocking the calling thread.
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!("the last spans could not be exported: {e}");
        }
    }
}
