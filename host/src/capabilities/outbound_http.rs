//! Outbound HTTP for p2 and p3 guests: `allowed_outbound_hosts` is enforced
//! before any connection is made, and `http://<component>.spin.internal/...`
//! is served in-process by that component (service chaining), with no socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use souk_manifest::AllowedHosts;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::circuit_breaker::Circuits;

/// The suffix that addresses another component of the same app.
pub const CHAINING_SUFFIX: &str = ".spin.internal";

/// Where a chained request (`http://<component>.spin.internal/...`) is
/// served: the trigger that owns the components provides it.
pub trait ServiceChain: Send + Sync {
    /// The response of component `target`, or why there is none. The
    /// callee's work ends by `deadline` (when the caller stops waiting), or
    /// by its own request timeout if that comes first.
    fn send(
        &self,
        target: &str,
        request: http::Request<WasiBody>,
        deadline: Option<Instant>,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, String>> + Send + '_>>;
}

/// Marks the answer of a chained callee cut at the deadline its caller
/// gave it (a response extension): the caller takes it as the call running
/// out of time, as when its own timer for the call fires first, so the two
/// racing to the same instant end the same way.
#[derive(Clone, Copy)]
pub struct CutAtCallersDeadline;

/// What one component may reach over HTTP.
pub struct OutboundGrant {
    pub component: String,
    pub allowed_hosts: AllowedHosts,
    pub chain: Arc<dyn ServiceChain>,
    /// The app's circuit breakers, one per (caller, target).
    pub circuits: Arc<Circuits>,
    /// The most one call may take (`--outbound-timeout`), besides the rest
    /// of the calling request's deadline.
    pub call_timeouts: Arc<CallTimeouts>,
    /// Its calls to remote hosts: its own pool of connections, held to the
    /// blocked networks and its TLS settings.
    pub client: super::outbound_http_send::OutboundClient,
}

/// `--outbound-timeout`: a ceiling for every call, and ceilings for named
/// targets (a component id, or an outbound host), which take precedence.
#[derive(Debug, Default)]
pub struct CallTimeouts {
    pub all: Option<Duration>,
    pub by_target: std::collections::HashMap<String, Duration>,
}

impl CallTimeouts {
    pub fn new(flags: &[(Option<String>, Duration)]) -> CallTimeouts {
        let mut timeouts = CallTimeouts::default();
        for (target, limit) in flags {
            match target {
                Some(target) => drop(timeouts.by_target.insert(target.to_ascii_lowercase(), *limit)),
                None => timeouts.all = Some(*limit),
            }
        }
        timeouts
    }

    /// The ceiling for a call to `target` (a component id) or `host`.
    fn for_call(&self, target: Option<&str>, host: &str) -> Option<Duration> {
        target.and_then(|t| self.by_target.get(t)).or_else(|| self.by_target.get(host)).copied().or(self.all)
    }
}

pub struct OutboundHooks {
    pub grant: Arc<OutboundGrant>,
    /// When the request the instance is serving must be answered by (the
    /// latest one's, for an instance serving several at once).
    pub deadline: Option<Instant>,
    /// The span of the request the instance is serving, parent of its
    /// calls and store operations (the latest one's, as for `deadline`).
    pub trace: crate::traces::Parent,
}

impl OutboundHooks {
    /// What an operation of the instance is made for when its caller's
    /// request is not known: the latest request's span and deadline.
    pub fn for_request(&self) -> super::for_request::ForRequest {
        super::for_request::ForRequest { trace: self.trace.clone(), deadline: self.deadline }
    }
}

type SendResult = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>), HttpError>;

/// The scheme in lower case, without allocating for the usual two.
fn lowercase_scheme(scheme: &str) -> std::borrow::Cow<'static, str> {
    if scheme.eq_ignore_ascii_case("http") {
        "http".into()
    } else if scheme.eq_ignore_ascii_case("https") {
        "https".into()
    } else {
        scheme.to_ascii_lowercase().into()
    }
}

fn no_io() -> Box<dyn Future<Output = Result<(), HttpError>> + Send> {
    Box::new(async { Ok(()) })
}

/// An answer souk makes in the target's place: 503 with `Retry-After` for
/// an open circuit, 504 for a chained call past its time.
fn answer_instead(status: http::StatusCode, retry_after: Option<Duration>, message: String) -> http::Response<WasiBody> {
    use http_body_util::BodyExt;
    let body = http_body_util::Full::new(bytes::Bytes::from(message + "\n")).map_err(|never| match never {}).boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    if let Some(wait) = retry_after {
        // Whole seconds, rounded up: a client that waits that long finds the probe let through.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds.max(1)));
    }
    response
}

/// Sends a request to a remote host (`outbound_http_send`). Boxed: held
/// inline, the client's state would make every call's future (chained
/// ones included, which wasmtime keeps on the heap) a few kilobytes larger.
fn send(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    grant: &OutboundGrant,
) -> Pin<Box<dyn Future<Output = Result<super::outbound_http_send::Sent, HttpError>> + Send + '_>> {
    Box::pin(grant.client.send(request, options))
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let component = self.grant.clone();
        let deadline = self.deadline;
        let trace = self.trace.clone();
        Box::new(async move {
            let uri = request.uri();
            let scheme = lowercase_scheme(uri.scheme_str().unwrap_or("http"));
            let host = uri.host().unwrap_or_default().to_ascii_lowercase();
            let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
            let chained = host.strip_suffix(CHAINING_SUFFIX);
            let target = match chained {
                Some(callee) => std::borrow::Cow::Borrowed(callee),
                None => std::borrow::Cow::Owned(format!("{scheme}://{host}:{port}")),
            };
            // The call's span is the parent of whatever serves it: the
            // callee's execution, or the remote service's own spans.
            let mut span = match chained {
                Some(callee) => crate::traces::chained_call(&trace, &component.component, callee, request.method(), request.uri()),
                None => crate::traces::outbound_call(&trace, &component.component, request.method(), request.uri(), &host, port),
            };
            span.inject(request.headers_mut());
            if !component.allowed_hosts.allows(&scheme, &host, port) {
                crate::metrics::outbound(&component.component, &host, "denied");
                tracing::warn!("component `{}`: outbound request to {scheme}://{host}:{port} refused: not in allowed_outbound_hosts", component.component);
                span.error("denied", "not in allowed_outbound_hosts");
                return Err(HttpError::HttpRequestDenied);
            }
            let permit = match component.circuits.admit(&component.component, &target) {
                Ok(permit) => permit,
                Err(retry_after) => {
                    let message = format!("Service Unavailable: the circuit from `{}` to `{target}` is open after repeated failures", component.component);
                    span.error("circuit_open", message.clone());
                    return Ok((answer_instead(http::StatusCode::SERVICE_UNAVAILABLE, Some(retry_after), message), no_io()));
                }
            };
            // At most the rest of the caller's deadline, and the per-call ceiling.
            let ceiling = component.call_timeouts.for_call(chained, &host);
            let limit = [deadline.map(|d| d.saturating_duration_since(Instant::now())), ceiling].into_iter().flatten().min();
            let within = |limit: Option<Duration>| async move {
                match limit {
                    Some(limit) => tokio::time::sleep(limit).await,
                    None => std::future::pending().await,
                }
            };
            let started = Instant::now();
            // No time left (the caller's deadline has passed, or a ceiling of
            // zero): the call is not started at all.
            if limit.is_some_and(|limit| limit.is_zero()) {
                permit.finish(false);
                tracing::warn!("component `{}`: call to `{target}` not made: no time left for it", component.component);
                span.error("timeout", "no time was left for the call");
                return match chained {
                    Some(target) => {
                        crate::metrics::chained(&component.component, target, None, started.elapsed());
                        let message = format!("Gateway Timeout: no time was left for a call to `{target}`");
                        Ok((answer_instead(http::StatusCode::GATEWAY_TIMEOUT, None, message), no_io()))
                    }
                    None => {
                        crate::metrics::outbound(&component.component, &host, "error");
                        Err(HttpError::ConnectionTimeout)
                    }
                };
            }
            if let Some(target) = chained {
                let sent = match tokio::select! {
                    sent = component.chain.send(target, request, limit.map(|limit| started + limit)) => Some(sent),
                    () = within(limit) => None,
                } {
                    Some(Ok(response)) if response.extensions().get::<CutAtCallersDeadline>().is_some() => None,
                    sent => sent,
                };
                let status = sent.as_ref().and_then(|s| s.as_ref().ok()).map(|r| r.status().as_u16());
                crate::metrics::chained(&component.component, target, status, started.elapsed());
                permit.finish(status.is_some_and(|s| s < 500));
                return match sent {
                    Some(Ok(response)) => {
                        span.http_status(response.status().as_u16());
                        Ok((response, no_io()))
                    }
                    Some(Err(e)) => {
                        span.error("unreachable", e.clone());
                        tracing::warn!("component `{}`: chained request to `{target}` failed: {e}", component.component);
                        Err(HttpError::DestinationNotFound)
                    }
                    None => {
                        let waited = started.elapsed();
                        span.error("timeout", format!("no answer within {waited:?}"));
                        tracing::warn!("component `{}`: chained request to `{target}` took longer than {waited:?}; answered 504", component.component);
                        let message = format!("Gateway Timeout: `{target}` did not answer within {waited:?}");
                        Ok((answer_instead(http::StatusCode::GATEWAY_TIMEOUT, None, message), no_io()))
                    }
                };
            }
            let sent = tokio::select! {
                sent = send(request, options, &component) => sent,
                () = within(limit) => Err(HttpError::ConnectionReadTimeout),
            };
            let outcome = sent.as_ref().map_or_else(|_| "error".to_string(), |(r, _)| crate::metrics::status_class(r.status().as_u16()));
            crate::metrics::outbound(&component.component, &host, &outcome);
            permit.finish(sent.as_ref().is_ok_and(|(r, _)| r.status().as_u16() < 500));
            match &sent {
                Ok((response, _)) => span.http_status(response.status().as_u16()),
                Err(e) => span.error("error", e.to_string()),
            }
            sent
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_targets_own_timeout_comes_before_the_one_for_all() {
        let timeouts = CallTimeouts::new(&[
            (None, Duration::from_secs(2)),
            (Some("Payments".into()), Duration::ZERO),
            (Some("api.example".into()), Duration::from_secs(1)),
        ]);
        assert_eq!(timeouts.for_call(Some("payments"), "payments.spin.internal"), Some(Duration::ZERO));
        assert_eq!(timeouts.for_call(Some("catalog"), "catalog.spin.internal"), Some(Duration::from_secs(2)));
        assert_eq!(timeouts.for_call(None, "api.example"), Some(Duration::from_secs(1)));
        assert_eq!(CallTimeouts::new(&[]).for_call(None, "api.example"), None);
    }

    #[test]
    fn an_open_circuit_answers_503_with_retry_after_in_whole_seconds_rounded_up() {
        let response = answer_instead(http::StatusCode::SERVICE_UNAVAILABLE, Some(Duration::from_millis(1500)), "open".into());
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "2");
        let response = answer_instead(http::StatusCode::SERVICE_UNAVAILABLE, Some(Duration::from_millis(10)), "open".into());
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
        let response = answer_instead(http::StatusCode::GATEWAY_TIMEOUT, None, "late".into());
        assert!(response.headers().get(http::header::RETRY_AFTER).is_none());
    }
}
