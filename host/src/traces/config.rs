//! Where spans go, read from the environment variables Spin reads (the
//! OpenTelemetry SDK's): tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set and not empty, unless
//! `OTEL_SDK_DISABLED` is. An `https://` endpoint is trusted as the system
//! trusts it, or through the CA file `OTEL_EXPORTER_OTLP_CERTIFICATE`
//! names, and may be given a client certificate
//! (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `..._CLIENT_KEY`); each has
//! a `..._TRACES_...` form that comes first, as the OTLP exporter's
//! specification has them. A value souk cannot use is refused at start-up,
//! naming the variable.

use std::env;
use std::path::PathBuf;
use std::time::Duration;

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
const CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
const TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
const CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
const TRACES_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
const CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
const TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";

/// The OTLP exporter's default time for one export.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// For an `https://` endpoint: what to trust and present.
    pub tls: Option<TlsFiles>,
    /// How long one export may take (`OTEL_EXPORTER_OTLP_TIMEOUT`,
    /// milliseconds; 10 s by default).
    pub timeout: Duration,
}

/// A file, with the variable that named it (for messages).
pub type NamedFile = (PathBuf, &'static str);

/// The files of an `https://` export: CA roots trusted besides the
/// system's, and a client certificate with its key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub certificate: Option<NamedFile>,
    pub client: Option<(NamedFile, NamedFile)>,
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
    let secure = match uri.scheme_str() {
        Some("http") if uri.host().is_some() => false,
        Some("https") if uri.host().is_some() => true,
        _ => return Err(format!("{variable}: `{url}` is not an http:// or https:// URL with a host")),
    };
    // The traces-specific variable first, then the general one.
    let either = |traces: &'static str, general: &'static str| match (var(traces), var(general)) {
        (Some(value), _) => Some((PathBuf::from(value), traces)),
        (None, Some(value)) => Some((PathBuf::from(value), general)),
        (None, None) => None,
    };
    let tls = secure
        .then(|| -> Result<TlsFiles, String> {
            let certificate = either(TRACES_CERTIFICATE, CERTIFICATE);
            let client = match (either(TRACES_CLIENT_CERTIFICATE, CLIENT_CERTIFICATE), either(TRACES_CLIENT_KEY, CLIENT_KEY)) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                (Some((_, named)), None) => return Err(format!("{named}: a client certificate needs its key ({CLIENT_KEY} or {TRACES_CLIENT_KEY})")),
                (None, Some((_, named))) => return Err(format!("{named}: a key needs its certificate ({CLIENT_CERTIFICATE} or {TRACES_CLIENT_CERTIFICATE})")),
            };
            Ok(TlsFiles { certificate, client })
        })
        .transpose()?;
    let (timeout, timeout_variable) = match (var(TRACES_TIMEOUT), var(TIMEOUT)) {
        (Some(t), _) => (Some(t), TRACES_TIMEOUT),
        (None, Some(t)) => (Some(t), TIMEOUT),
        (None, None) => (None, TIMEOUT),
    };
    let timeout = match timeout {
        None => DEFAULT_TIMEOUT,
        Some(ms) => match ms.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => return Err(format!("{timeout_variable}: `{ms}` is not a number of milliseconds above 0")),
        },
    };
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
    Ok(Some(ExportConfig { url, protocol, tls, timeout }))
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
        let plain = |url: &str, protocol| ExportConfig { url: url.into(), protocol, tls: None, timeout: DEFAULT_TIMEOUT };
        assert_eq!(config, plain("http://collector:4318/v1/traces", Protocol::HttpProtobuf));
        let config = with(&[(ENDPOINT, "http://a:4318"), (TRACES_ENDPOINT, "http://b:9000/otlp"), (PROTOCOL, "http/json")]).unwrap().unwrap();
        assert_eq!(config, plain("http://b:9000/otlp", Protocol::HttpJson));
    }

    #[test]
    fn an_https_endpoint_takes_its_files_traces_variables_first_and_a_timeout() {
        let config = with(&[(ENDPOINT, "https://collector:4318"), (CERTIFICATE, "/general.pem"), (TRACES_CERTIFICATE, "/traces.pem"), (TIMEOUT, "2500")])
            .unwrap()
            .unwrap();
        assert_eq!(config.url, "https://collector:4318/v1/traces");
        assert_eq!(config.tls, Some(TlsFiles { certificate: Some(("/traces.pem".into(), TRACES_CERTIFICATE)), client: None }));
        assert_eq!(config.timeout, Duration::from_millis(2500));
        let config = with(&[(ENDPOINT, "https://c"), (CLIENT_CERTIFICATE, "/me.pem"), (CLIENT_KEY, "/me.key")]).unwrap().unwrap();
        assert_eq!(config.tls.unwrap().client, Some((("/me.pem".into(), CLIENT_CERTIFICATE), ("/me.key".into(), CLIENT_KEY))));
        let config = with(&[(ENDPOINT, "http://c"), (CERTIFICATE, "/ca.pem")]).unwrap().unwrap();
        assert_eq!(config.tls, None, "the files are for https:// only");
    }

    #[test]
    fn what_souk_cannot_use_is_refused_naming_the_variable() {
        let refused = |vars: &[(&str, &str)], variable: &str| {
            let error = with(vars).unwrap_err();
            assert!(error.starts_with(&format!("{variable}:")), "{error}");
        };
        refused(&[(ENDPOINT, "collector:4318")], ENDPOINT);
        refused(&[(TRACES_ENDPOINT, "ftp://collector/v1/traces")], TRACES_ENDPOINT);
        refused(&[(ENDPOINT, "https://collector"), (CLIENT_CERTIFICATE, "/me.pem")], CLIENT_CERTIFICATE);
        refused(&[(ENDPOINT, "https://collector"), (TRACES_CLIENT_KEY, "/me.key")], TRACES_CLIENT_KEY);
        refused(&[(ENDPOINT, "http://collector"), (TIMEOUT, "soon")], TIMEOUT);
        refused(&[(ENDPOINT, "http://collector:4318"), (PROTOCOL, "grpc")], PROTOCOL);
        refused(&[(ENDPOINT, "http://collector:4318"), (PROTOCOL, "http/protobuf"), (TRACES_PROTOCOL, "thrift")], TRACES_PROTOCOL);
    }
}
