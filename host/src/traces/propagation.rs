//! The W3C trace context in HTTP headers (`traceparent`, `tracestate`),
//! read and written by the OpenTelemetry SDK's propagator.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The caller's span, if `headers` carry a valid `traceparent`.
pub fn extract(headers: &http::HeaderMap) -> Option<SpanContext> {
    let context = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let span = context.span().span_context().clone();
    span.is_valid().then_some(span)
}

/// Puts `span` in `headers` as the parent of whatever serves them,
/// replacing any context already there.
pub fn inject(span: &SpanContext, headers: &mut http::HeaderMap) {
    headers.remove("tracestate");
    let context = opentelemetry::Context::new().with_remote_span_context(span.clone());
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    // The propagator writes `tracestate` even when it is empty.
    if headers.get("tracestate").is_some_and(|v| v.is_empty()) {
        headers.remove("tracestate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_goes_out_as_it_came_in_and_garbage_is_no_context() {
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        let span = extract(&headers).expect("a valid traceparent");
        assert_eq!(span.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let mut out = http::HeaderMap::new();
        out.insert("tracestate", "stale=1".parse().unwrap());
        inject(&span, &mut out);
        assert_eq!(out["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert!(out.get("tracestate").is_none(), "{out:?}");

        for bad in ["", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "zz"] {
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", bad.parse().unwrap());
            assert!(extract(&headers).is_none(), "{bad}");
        }
    }
}
