//! Where spans go, read from the environment variables Spin reads (the
//! OpenTelemetry SDK's): tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set and not empty, unless
//! `OTEL_SDK_DISABLED` is. A value souk cannot use is refused at start-up,
//! naming the variable.

use std::env;

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";

/// How spans are encoded on the wire (OTLP over HTTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    HttpJson,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct ExportConfig {
    /// The URL spans are posted to: the traces endpoint as given, or the
    /// general endpoint with `/v1/traces` appended (the OTLP rule).
    pub url: String,
    pub protocol: Protocol,
}

/// The export configuration, `None` when tracing is off.
pub fn from_env() -> Result<Option<ExportConfig>, String> {
    resolve(|name| env::var(name).ok().filter(|value| !value.is_empty()))
}

fn resolve(var: impl Fn(&str) -> Option<String>) -> Result<Option<ExportConfig>, String> {
    if var(SDK_DISABLED).is_some() {
        return Ok(None);
    }
    let (url, variable) = match (var(TRACES_ENDPOINT), var(ENDPOINT)) {
        (Some(url), _) => (url, TRACES_ENDPOINT),
        (None, Some(base)) => (format!("{}/v1/traces", base.trim_end_matches('/')), ENDPOINT),
        (None, None) => return Ok(None),
    };
    let uri: http::Uri = url.parse().map_err(|e| format!("{variable}: `{url}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some() => {}
        Some("https") => return Err(format!("{variable}: `{url}`: souk exports spans over plain HTTP only; send them to a collector on http://")),
        _ => return Err(format!("{variable}: `{url}` is not an http:// URL with a host")),
    }
    let (protocol, variable) = match (var(TRACES_PROTOCOL), var(PROTOCOL)) {
        (Some(p), _) => (p, TRACES_PROTOCOL),
        (None, Some(p)) => (p, PROTOCOL),
        (None, None) => ("http/protobuf".to_string(), PROTOCOL),
    };
    let protocol = match protocol.as_str() {
        "http/protobuf" => Protocol::HttpProtobuf,
        "http/json" => Protocol::HttpJson,
        "grpc" => return Err(format!("{variable}: `grpc` is not supported by souk; use `http/protobuf` (a collector's port 4318)")),
        other => return Err(format!("{variable}: `{other}` is not an OTLP protocol (expected `http/protobuf` or `http/json`)")),
    };
    Ok(Some(ExportConfig { url, protocol }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Option<ExportConfig>, String> {
        resolve(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn no_endpoint_or_a_disabled_sdk_means_no_tracing() {
        assert_eq!(with(&[]), Ok(None));
        assert_eq!(with(&[(ENDPOINT, "http://collector:4318"), (SDK_DISABLED, "true")]), Ok(None));
    }

    #[test]
    fn the_general_endpoint_gets_the_traces_path_and_the_traces_one_is_taken_as_is() {
        let config = with(&[(ENDPOINT, "http://collector:4318/")]).unwrap().unwrap();
        assert_eq!(config, ExportConfig { url: "http://collector:4318/v1/traces".into(), protocol: Protocol::HttpProtobuf });
        let config = with(&[(ENDPOINT, "http://a:4318"), (TRACES_ENDPOINT, "http://b:9000/otlp"), (PROTOCOL, "http/json")]).unwrap().unwrap();
        assert_eq!(config, ExportConfig { url: "http://b:9000/otlp".into(), protocol: Protocol::HttpJson });
    }

    #[test]
    fn what_souk_cannot_use_is_refused_naming_the_variable() {
        let refused = |vars: &[(&str, &str)], variable: &str| {
            let error = with(vars).unwrap_err();
            assert!(error.starts_with(&format!("{variable}:")), "{error}");
        };
        refused(&[(ENDPOINT, "collector:4318")], ENDPOINT);
        refused(&[(TRACES_ENDPOINT, "https://collector/v1/traces")], TRACES_ENDPOINT);
        refused(&[(ENDPOINT, "http://collector:4318"), (PROTOCOL, "grpc")], PROTOCOL);
        refused(&[(ENDPOINT, "http://collector:4318"), (PROTOCOL, "http/protobuf"), (TRACES_PROTOCOL, "thrift")], TRACES_PROTOCOL);
    }
}
