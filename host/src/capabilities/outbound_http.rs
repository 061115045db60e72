//! Outbound HTTP for p2 and p3 guests: `allowed_outbound_hosts` is enforced
//! before any connection is made, and `http://<component>.spin.internal/...`
//! is served in-process by that component (service chaining), with no socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use souk_manifest::AllowedHosts;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The suffix that addresses another component of the same app.
pub const CHAINING_SUFFIX: &str = ".spin.internal";

/// Where a chained request (`http://<component>.spin.internal/...`) is
/// served: the trigger that owns the components provides it.
pub trait ServiceChain: Send + Sync {
    /// The response of component `target`, or why there is none.
    fn send(&self, target: &str, request: http::Request<WasiBody>) -> Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, String>> + Send + '_>>;
}

/// What one component may reach over HTTP.
pub struct OutboundGrant {
    pub component: String,
    pub allowed_hosts: AllowedHosts,
    pub chain: Arc<dyn ServiceChain>,
}

pub struct OutboundHooks {
    pub grant: Arc<OutboundGrant>,
}

type SendResult = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>), HttpError>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let component = self.grant.clone();
        Box::new(async move {
            let uri = request.uri();
            let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
            let host = uri.host().unwrap_or_default().to_ascii_lowercase();
            let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
            if !component.allowed_hosts.allows(&scheme, &host, port) {
                tracing::warn!("component `{}`: outbound request to {scheme}://{host}:{port} refused: not in allowed_outbound_hosts", component.component);
                return Err(HttpError::HttpRequestDenied);
            }
            if let Some(target) = host.strip_suffix(CHAINING_SUFFIX) {
                let response = component.chain.send(target, request).await.map_err(|e| {
                    tracing::warn!("component `{}`: chained request to `{target}` failed: {e}", component.component);
                    HttpError::DestinationNotFound
                })?;
                let no_io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
                return Ok((response, no_io));
            }
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
    }
}
