//! Sends a guest's outbound HTTP request to a remote host (chained calls
//! never get here). The host name is resolved here and the connection made
//! only to an address outside the runtime config's blocked networks
//! ([`super::blocked_networks`]), so no later lookup can lead elsewhere;
//! every address blocked is `destination-ip-prohibited`, as in Spin. Over
//! TLS for `https`, with the component's settings for that host
//! ([`super::client_tls`]: the system's and the web's roots unless
//! `[[client_tls]]` says otherwise, as in Spin).
//!
//! As wasmtime-wasi-http's own client does: one HTTP/1.1 connection per
//! request, and the request's connect, first-byte and between-bytes
//! timeouts (10 minutes when the guest sets none).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use souk_manifest::BlockedNetworks;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

use super::blocked_networks::{Unreachable, resolve};

/// How long each step may take when the guest set no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// A response, and the connection's end (an error the guest sees on the
/// request it sent).
pub type Sent = (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>);

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Sends `request`; `tls` is the component's TLS client for its host.
pub async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    blocked: &BlockedNetworks,
    tls: Arc<rustls::ClientConfig>,
    component: &str,
) -> Result<Sent, HttpError> {
    let uri = request.uri();
    let use_tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if use_tls { 443 } else { 80 });
    let connect_timeout = options.and_then(|o| o.connect_timeout).unwrap_or(DEFAULT_TIMEOUT);
    let first_byte_timeout = options.and_then(|o| o.first_byte_timeout).unwrap_or(DEFAULT_TIMEOUT);
    // A zero interval would panic in tokio; a nanosecond is as good as none.
    let between_bytes_timeout = options.and_then(|o| o.between_bytes_timeout).unwrap_or(DEFAULT_TIMEOUT).max(Duration::from_nanos(1));

    let addrs = match tokio::time::timeout(connect_timeout, resolve(&host, port, blocked)).await {
        Err(_) => return Err(HttpError::DnsTimeout),
        Ok(Err(Unreachable::Dns(e))) => return Err(HttpError::DnsError { rcode: Some(e.to_string()), info_code: None }),
        Ok(Err(Unreachable::Prohibited(refused))) => {
            let refused: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
            tracing::warn!(
                "component `{component}`: outbound request to {host}:{port} refused: every address ({}) is in a blocked network",
                refused.join(", ")
            );
            return Err(HttpError::DestinationIpProhibited);
        }
        Ok(Ok(addrs)) => addrs,
    };
    let tcp = match tokio::time::timeout(connect_timeout, TcpStream::connect(&addrs[..])).await {
        Err(_) => return Err(HttpError::ConnectionTimeout),
        Ok(connected) => connected.map_err(HttpError::Connect)?,
    };
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Stream> = if use_tls {
        let name = rustls::pki_types::ServerName::try_from(host.clone())?;
        Box::new(tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.map_err(HttpError::Tls)?)
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = tokio::time::timeout(connect_timeout, hyper::client::conn::http1::handshake(TokioIo::new(stream)))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)??;
    // The request line carries the path only (the absolute form is for proxies).
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| HttpError::HttpRequestUriInvalid)?;

    // The connection runs on its own task, so it moves while the guest
    // reads the body; its end is reported through the returned future.
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = ended_tx.send(connection.await);
    });
    let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request)).await.map_err(|_| HttpError::ConnectionReadTimeout)??;
    let mut timer = tokio::time::interval(between_bytes_timeout);
    timer.reset();
    let response = response.map(|incoming| BetweenBytes { incoming, timer }.boxed_unsync());
    let io = async move {
        match ended.await {
            Ok(Err(e)) if e.is_timeout() => Err(HttpError::HttpResponseTimeout),
            Ok(Err(e)) => Err(HttpError::from(e)),
            Ok(Ok(())) | Err(_) => Ok(()),
        }
    };
    Ok((response, Box::new(io)))
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
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(if e.is_timeout() { HttpError::HttpResponseTimeout } else { HttpError::from(e) }))),
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
