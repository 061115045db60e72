//! The metrics listener: `GET /metrics` on an address of its own, never
//! the app's (where it could shadow a route). Anything else is 404.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wasmtime::error::Context;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds `addr`, turns metrics on and serves them until the process ends;
/// the bound address (a port of 0 picks one).
pub async fn spawn(addr: SocketAddr) -> wasmtime::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await.with_context(|| format!("--metrics-listen {addr}: cannot listen"))?;
    let bound = listener.local_addr()?;
    let metrics = super::enable();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| async move {
                let response = if request.uri().path() == "/metrics" && matches!(*request.method(), http::Method::GET | http::Method::HEAD) {
                    let mut response = hyper::Response::new(Full::new(Bytes::from(metrics.encode())));
                    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(CONTENT_TYPE));
                    response
                } else {
                    let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"Not Found: metrics are at /metrics\n")));
                    *response.status_mut() = http::StatusCode::NOT_FOUND;
                    response
                };
                Ok::<_, Infallible>(response)
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(bound)
}
