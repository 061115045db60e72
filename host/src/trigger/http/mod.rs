//! The HTTP trigger: listener, routing, dispatch to components, access log
//! and graceful shutdown.

pub mod admission;
pub mod body_limit;
pub mod cgi;
pub mod chain;
pub mod dispatch;
pub mod handler;
pub mod headers;
pub mod host_response;
pub mod listen;
pub mod probe;
pub mod static_response;
pub mod tls;
pub mod transport;
pub mod wagi;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::server::graceful::GracefulShutdown;
use wasmtime_wasi_http::WasiBody;

use crate::app::App;
use crate::cli::UpArgs;
use dispatch::dispatch;
use headers::RouteInfo;
use host_response::text_response;
use transport::Transport;

/// What the listener enforces for every request, before any guest runs.
#[derive(Clone, Copy)]
struct ListenerLimits {
    quiet: bool,
    max_body_bytes: u64,
}

/// The listener's transport `--tls-cert` and `--tls-key` ask for (their
/// files are read now, so that a bad one stops start-up before the app loads).
pub fn transport(args: &UpArgs) -> wasmtime::Result<Transport> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key).map_err(wasmtime::Error::msg)?),
        (None, None) => None,
        (Some(_), None) => wasmtime::bail!("--tls-cert needs --tls-key (the certificate's private key)"),
        (None, Some(_)) => wasmtime::bail!("--tls-key needs --tls-cert (the certificate chain)"),
    };
    Ok(Transport::new(tls, args.header_read_timeout, args.http1_max_buf_size))
}

/// Listens on `--listen` and serves the app's HTTP triggers until
/// `shutdown` resolves, then stops accepting and finishes the requests in
/// flight (for 30 s at most).
pub async fn serve(app: Arc<App>, args: &UpArgs, transport: Transport, shutdown: impl Future<Output = ()>) -> wasmtime::Result<()> {
    let transport = Arc::new(transport);
    let listener = listen::bind(args.listen, args.find_free_port).await?;
    let addr = listener.local_addr()?;
    print_routes(&app, addr, transport.scheme());

    if let Some(path) = &args.probe {
        probe::spawn(app.clone(), addr.to_string(), path.clone(), args.probe_interval);
    }

    let graceful = GracefulShutdown::new();
    let limits = ListenerLimits { quiet: args.quiet, max_body_bytes: args.max_request_body_bytes };
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |request| handle_request(app.clone(), request, client, limits));
        transport.serve(stream, client, service, &graceful);
    }

    drop(listener);
    eprintln!("Shutting down: finishing requests in flight");
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still open after 30 s; closing them");
    }
    Ok(())
}

fn print_routes(app: &App, addr: SocketAddr, scheme: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Serving {scheme}://{addr}");
    let _ = writeln!(out, "Available Routes:");
    for (route, trigger) in app.router.routes() {
        let component = app.triggers.get(trigger).map_or_else(|| format!("{trigger} (static response)"), |t| t.component.clone());
        let wildcard = if route.ends_with("/...") { " (wildcard)" } else { "" };
        let shown = route.trim_end_matches("/...").trim_end_matches("...");
        let _ = writeln!(out, "  {component}: {scheme}://{addr}{}{wildcard}", if shown.is_empty() { "/" } else { shown });
    }
    for trigger in app.triggers.values() {
        let id = &trigger.component;
        if matches!(trigger.route, souk_manifest::HttpRoute::Private) {
            let _ = writeln!(out, "  {id}: private (http://{id}.spin.internal)");
        }
    }
    let _ = out.flush();
}

async fn handle_request(
    app: Arc<App>,
    request: hyper::Request<Incoming>,
    client: SocketAddr,
    limits: ListenerLimits,
) -> Result<hyper::Response<WasiBody>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    // A body framed by Transfer-Encoding (which overrides any
    // Content-Length, RFC 9112 6.1) closes the connection after its
    // response, so bytes smuggled past a proxy that read the length
    // instead are never taken for a request.
    let close_after = request.version() == http::Version::HTTP_11 && request.headers().contains_key(http::header::TRANSFER_ENCODING);
    let too_large = body_limit::declared_too_large(request.headers(), limits.max_body_bytes);
    let (mut request, exceeded) = {
        let (parts, body) = request.into_parts();
        let (body, exceeded) = body_limit::cap(body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync(), limits.max_body_bytes);
        (http::Request::from_parts(parts, body), exceeded)
    };

    let routed = app.router.route(&path).map(|m| (m.component_id.to_string(), RouteInfo::from_match(&m)));
    let route_pattern = routed.as_ref().map_or_else(|| "-".to_string(), |(_, route)| route.raw_component_route.clone());
    // A static response's route has no component: "-".
    let routed_component = routed.as_ref().and_then(|(trigger, _)| app.triggers.get(trigger)).map_or("-", |t| t.component.as_str());
    let in_flight = crate::metrics::request_started(routed_component);
    let mut span = crate::traces::inbound_request(request.headers(), &method, &route_pattern, &path, routed_component);
    span.inject(request.headers_mut());
    // Only the JSON access log has them: nothing is made for a request
    // otherwise. The trace id is the exported trace's when tracing is on.
    let ids = (!limits.quiet && crate::logs::format() == crate::logs::LogFormat::Json)
        .then(|| (headers::request_id(request.headers()), headers::trace_id(request.headers())));
    let (component_id, mut response) = match (routed, too_large) {
        (_, Some(why)) => {
            tracing::warn!("{method} {path} refused: {why}");
            ("-".to_string(), text_response(http::StatusCode::PAYLOAD_TOO_LARGE, &format!("Payload Too Large: {why}\n")))
        }
        (None, None) => ("-".to_string(), text_response(http::StatusCode::NOT_FOUND, "Not Found\n")),
        (Some((trigger, _)), None) if let Some(answer) = app.statics.get(&trigger) => ("-".to_string(), answer.respond()),
        (Some((trigger, route)), None) => {
            let component = &app.triggers[&trigger];
            let response = match app.admission.admit(&component.component).await {
                Ok(slot) => {
                    let response = dispatch(component, request, route, Some(client), None).await;
                    match slot {
                        // The slot is the instance's: it is free once the body is sent.
                        Some(slot) => crate::body_guard::held_until_body_ends(response, slot),
                        None => response,
                    }
                }
                Err(refused) => {
                    tracing::error!("{refused}");
                    text_response(http::StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
                }
            };
            (component.component.clone(), response)
        }
    };
    if exceeded.get() {
        response = text_response(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Payload Too Large: the request body is larger than {} bytes (--max-request-body-bytes)\n", limits.max_body_bytes),
        );
    }
    if close_after {
        response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    // In flight until the body is sent, as the instance and its slot are.
    let response = if in_flight.is_counted() { crate::body_guard::held_until_body_ends(response, in_flight) } else { response };
    span.http_status(response.status().as_u16());
    let response = span.until_body_ends(response);
    crate::metrics::request_answered(&component_id, &route_pattern, &method, response.status().as_u16(), started.elapsed());
    if !limits.quiet {
        crate::logs::access(crate::logs::AccessEntry {
            request_id: ids.as_ref().map_or("", |(id, _)| id.as_str()),
            trace_id: ids.as_ref().and_then(|(_, trace)| trace.as_deref()),
            method: &method,
            path: &path,
            component: &component_id,
            route: &route_pattern,
            status: response.status().as_u16(),
            duration: started.elapsed(),
        });
    }
    Ok(response)
}
