//! Dispatch to a component: an HTTP trigger's component ready to serve,
//! and sending it a request (from the listener or chained from another
//! component) with the `spin-*` headers for its route, or, for a WAGI
//! program, its CGI variables.

use std::net::SocketAddr;
use std::time::Instant;

use souk_manifest::HttpRoute;
use wasmtime_wasi_http::WasiBody;

use super::handler::ComponentHandler;
use super::headers::{self, RouteInfo};
use super::host_response::text_response;
use super::wagi::WagiHandler;

/// An HTTP trigger's component (composed with its dependencies and
/// middleware), ready to serve.
pub struct HttpComponent {
    /// The component id.
    pub component: String,
    pub route: HttpRoute,
    pub has_middleware: bool,
    pub handler: Handler,
}

/// How the component is called (its trigger's `executor`).
pub enum Handler {
    /// Through `wasi:http` (Spin's default executor).
    Http(ComponentHandler),
    Wagi(WagiHandler),
}

/// Sends a request to a component, with the `spin-*` headers for `route`;
/// `deadline` is the calling request's, for a chained one.
pub async fn dispatch(
    component: &HttpComponent,
    mut request: http::Request<WasiBody>,
    route: RouteInfo,
    client: Option<SocketAddr>,
    deadline: Option<Instant>,
) -> http::Response<WasiBody> {
    let full_url = full_url(&request);
    let answered = match &component.handler {
        Handler::Http(handler) => {
            headers::set_spin_headers(request.headers_mut(), &route, &full_url, client);
            handler.handle(request, deadline).await
        }
        Handler::Wagi(handler) => handler.handle(request, &route, &full_url, client, deadline).await,
    };
    match answered {
        Ok(response) => response,
        Err(failure) => {
            let mut response = text_response(failure.status, &format!("{}\n", failure.status.canonical_reason().unwrap_or("Error")));
            if failure.cut_at_callers_deadline {
                response.extensions_mut().insert(crate::capabilities::outbound_http::CutAtCallersDeadline);
            }
            response
        }
    }
}

/// Serves a chained request (from another component) in-process, its work
/// ending by the caller's `deadline`.
pub async fn dispatch_to(component: &HttpComponent, request: http::Request<WasiBody>, deadline: Option<Instant>) -> http::Response<WasiBody> {
    let route = RouteInfo::for_chained(&component.route, request.uri().path());
    dispatch(component, request, route, None, deadline).await
}

fn full_url<B>(request: &http::Request<B>) -> String {
    let uri = request.uri();
    let host = request.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).or_else(|| uri.authority().map(|a| a.as_str())).unwrap_or("localhost");
    let scheme = uri.scheme_str().unwrap_or("http");
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("{scheme}://{host}{path_and_query}")
}
