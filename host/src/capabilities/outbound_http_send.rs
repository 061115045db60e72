//! Sends a guest's outbound HTTP requests to remote hosts (chained calls
//! never get here), as Spin's client does: connections are kept and
//! reused (hyper-util's pooling client), HTTP/2 is used where a TLS server
//! offers it (ALPN) and HTTP/1.1 otherwise.
//!
//! Each component has its own client and pool ([`OutboundClient`]), so a
//! connection made with one component's TLS settings (a `[[client_tls]]`
//! client certificate) is never lent to another. A new connection resolves
//! the host here and goes only to an address outside the runtime config's
//! blocked networks ([`super::blocked_networks`]; every address blocked is
//! `destination-ip-prohibited`), over TLS for `https` with the component's
//! settings for that host ([`super::client_tls`]).
//!
//! The Host header is the URI's authority (HTTP/1.1) or absent (HTTP/2).
//! Cleartext is HTTP/1.1, but for the one `host:port` the
//! `SPIN_OUTBOUND_H2C_PRIOR_KNOWLEDGE` variable names (HTTP/2 with prior
//! knowledge, for development, as in Spin).
//!
//! Timeouts, as the guest sets them (10 minutes when it sets none, a day
//! at most):
//! connecting (DNS, TCP and TLS), then the response head, then each frame
//! of the body.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use souk_manifest::BlockedNetworks;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

use super::blocked_networks::{Unreachable, resolve};
use super::client_tls::ComponentTls;
use super::connection_limits::{ConnectionLimits, Kind, Permit};

/// How long each step may take when the guest set no timeout, and at most
/// (a guest's timeout is a number of nanoseconds up to 584 years, which no
/// clock adds to).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How long a kept connection may stay unused, and how many one host may
/// keep per component.
const POOL_IDLE: Duration = Duration::from_secs(90);
const POOL_MAX_IDLE_PER_HOST: usize = 32;

/// A response, and the request's end (an error the guest sees on the
/// request it sent; this client reports those through the response).
pub type Sent = (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>);

tokio::task_local! {
    /// The connect timeout of the request being sent: the pooling client
    /// calls the connector with the URI only.
    static CONNECT_TIMEOUT: Duration;
}

/// The variable naming one `host:port` spoken to in cleartext HTTP/2 (h2c
/// with prior knowledge), for development, as in Spin.
const H2C_PRIOR_KNOWLEDGE: &str = "SPIN_OUTBOUND_H2C_PRIOR_KNOWLEDGE";

/// One component's outbound HTTP client.
#[derive(Clone)]
pub struct OutboundClient {
    client: Client<Connector, WasiBody>,
    /// For the authority `SPIN_OUTBOUND_H2C_PRIOR_KNOWLEDGE` names, if set.
    h2c: Option<(String, Client<Connector, WasiBody>)>,
}

impl OutboundClient {
    pub fn new(component: &str, blocked: Arc<BlockedNetworks>, tls: ComponentTls, limits: Arc<ConnectionLimits>) -> OutboundClient {
        let connector = Connector { component: Arc::from(component), blocked, tls, limits };
        let builder = || {
            let mut builder = Client::builder(TokioExecutor::new());
            builder.pool_timer(TokioTimer::new()).pool_idle_timeout(POOL_IDLE).pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST);
            builder
        };
        let h2c = std::env::var(H2C_PRIOR_KNOWLEDGE)
            .ok()
            .filter(|authority| !authority.is_empty())
            .map(|authority| (authority, builder().http2_only(true).build(connector.clone())));
        OutboundClient { client: builder().build(connector), h2c }
    }

    pub async fn send(&self, mut request: http::Request<WasiBody>, options: Option<RequestOptions>) -> Result<Sent, HttpError> {
        // The Host header comes from the URI: the client writes it for
        // HTTP/1.1, and HTTP/2 carries the authority instead (some servers,
        // nginx among them, refuse an HTTP/2 request that has both).
        request.headers_mut().remove(http::header::HOST);
        let timeout = |set: Option<Duration>| set.unwrap_or(DEFAULT_TIMEOUT).min(MAX_TIMEOUT);
        let connect_timeout = timeout(options.and_then(|o| o.connect_timeout));
        let first_byte_timeout = timeout(options.and_then(|o| o.first_byte_timeout));
        // A zero interval would panic in tokio; a nanosecond is as good as none.
        let between_bytes_timeout = timeout(options.and_then(|o| o.between_bytes_timeout)).max(Duration::from_nanos(1));
        let client = match &self.h2c {
            Some((authority, h2c))
                if request.uri().scheme() == Some(&http::uri::Scheme::HTTP) && request.uri().authority().is_some_and(|a| a == authority.as_str()) =>
            {
                h2c
            }
            _ => &self.client,
        };
        let sent = CONNECT_TIMEOUT.scope(connect_timeout, tokio::time::timeout(connect_timeout + first_byte_timeout, client.request(request)));
        let response = sent.await.map_err(|_| HttpError::ConnectionReadTimeout)?.map_err(request_error)?;
        let mut timer = tokio::time::interval(between_bytes_timeout);
        timer.reset();
        let response = response.map(|incoming| BetweenBytes { incoming, timer }.boxed_unsync());
        Ok((response, Box::new(std::future::ready(Ok(())))))
    }
}

/// Why a request failed, in wasi:http's terms.
fn request_error(e: hyper_util::client::legacy::Error) -> HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(cause) = source {
        if let Some(failed) = cause.downcast_ref::<ConnectError>() {
            return failed.clone_code();
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            return hyper_error(hyper);
        }
        source = cause.source();
    }
    if e.is_connect() { HttpError::ConnectionRefused } else { HttpError::InternalError(Some(e.to_string())) }
}

fn hyper_error(e: &hyper::Error) -> HttpError {
    if e.is_timeout() {
        HttpError::HttpResponseTimeout
    } else if e.is_incomplete_message() {
        HttpError::HttpResponseIncomplete
    } else if e.is_parse() || e.is_user() {
        HttpError::HttpProtocolError
    } else if e.is_canceled() || e.is_closed() {
        HttpError::ConnectionTerminated
    } else {
        HttpError::InternalError(Some(e.to_string()))
    }
}

/// Makes a component's new connections.
#[derive(Clone)]
struct Connector {
    component: Arc<str>,
    blocked: Arc<BlockedNetworks>,
    tls: ComponentTls,
    limits: Arc<ConnectionLimits>,
}

/// A connection that could not be made, with its wasi:http error.
#[derive(Debug)]
struct ConnectError(HttpError);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for ConnectError {}

impl ConnectError {
    /// The error again, for the guest (the client keeps the original).
    fn clone_code(&self) -> HttpError {
        match &self.0 {
            HttpError::Connect(e) => HttpError::Connect(std::io::Error::new(e.kind(), e.to_string())),
            HttpError::Tls(e) => HttpError::Tls(std::io::Error::new(e.kind(), e.to_string())),
            HttpError::DnsError { rcode, info_code } => HttpError::DnsError { rcode: rcode.clone(), info_code: *info_code },
            HttpError::DnsTimeout => HttpError::DnsTimeout,
            HttpError::DestinationIpProhibited => HttpError::DestinationIpProhibited,
            HttpError::ConnectionTimeout => HttpError::ConnectionTimeout,
            HttpError::ConnectionLimitReached => HttpError::ConnectionLimitReached,
            HttpError::HttpRequestUriInvalid => HttpError::HttpRequestUriInvalid,
            other => HttpError::InternalError(Some(other.to_string())),
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A new connection, and whether TLS chose HTTP/2 for it.
struct Conn {
    io: TokioIo<Box<dyn Stream>>,
    h2: bool,
    /// Its place under the runtime config's connection limits, held while
    /// the pool keeps the connection.
    _permit: Permit,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        if self.h2 { Connected::new().negotiated_h2() } else { Connected::new() }
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: hyper::rt::ReadBufCursor<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = Conn;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let timeout = CONNECT_TIMEOUT.try_with(|t| *t).unwrap_or(DEFAULT_TIMEOUT);
        let connector = self.clone();
        Box::pin(async move {
            match tokio::time::timeout(timeout, connector.connect(uri)).await {
                Ok(connected) => connected.map_err(ConnectError),
                Err(_) => Err(ConnectError(HttpError::ConnectionTimeout)),
            }
        })
    }
}

impl Connector {
    async fn connect(self, uri: http::Uri) -> Result<Conn, HttpError> {
        let use_tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(if use_tls { 443 } else { 80 });
        let addrs = match resolve(&host, port, &self.blocked).await {
            Ok(addrs) => addrs,
            Err(Unreachable::Dns(e)) => return Err(HttpError::DnsError { rcode: Some(e.to_string()), info_code: None }),
            Err(Unreachable::Prohibited(refused)) => {
                let refused: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
                tracing::warn!(
                    "component `{}`: outbound request to {host}:{port} refused: every address ({}) is in a blocked network",
                    self.component,
                    refused.join(", ")
                );
                return Err(HttpError::DestinationIpProhibited);
            }
        };
        // Within the connect timeout, as the wait for a place is in Spin.
        let permit = self.limits.acquire(Kind::Http).await.map_err(|e| {
            tracing::warn!("component `{}`: outbound request to {host}:{port} refused: {e}", self.component);
            HttpError::ConnectionLimitReached
        })?;
        let tcp = TcpStream::connect(&addrs[..]).await.map_err(HttpError::Connect)?;
        let _ = tcp.set_nodelay(true);
        if !use_tls {
            return Ok(Conn { io: TokioIo::new(Box::new(tcp)), h2: false, _permit: permit });
        }
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| HttpError::HttpRequestUriInvalid)?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.for_host(&host)).connect(name, tcp).await.map_err(HttpError::Tls)?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(Conn { io: TokioIo::new(Box::new(tls)), h2, _permit: permit })
    }
}

/// A response body that fails once no frame has come for the request's
/// between-bytes timeout.
struct BetweenBytes {
    incoming: Incoming,
    timer: tokio::time::Interval,
}

impl Body for BetweenBytes {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                self.timer.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(hyper_error(&e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.timer.poll_tick(cx));
                Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
