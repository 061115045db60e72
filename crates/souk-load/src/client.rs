//! One keep-alive HTTP/1.1 connection: connecting, sending a [`RequestSpec`]
//! and reading the whole response. The driver owns one per virtual user;
//! [`Client`] wraps one for the unmeasured admin calls around a run.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::cli::Target;
use crate::scenario::RequestSpec;
use crate::stats::TransportError;

pub type Sender = SendRequest<Full<Bytes>>;

pub async fn connect(addr: SocketAddr) -> Result<Sender, TransportError> {
    let stream = TcpStream::connect(addr).await.map_err(|_| TransportError::Connect)?;
    stream.set_nodelay(true).map_err(|_| TransportError::Connect)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(|_| TransportError::Connect)?;
    // Ends by itself once the sender is dropped or the server closes.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole response body.
pub async fn exchange(sender: &mut Sender, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), TransportError> {
    let response = sender.send_request(request).await.map_err(|_| TransportError::Send)?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|_| TransportError::Body)?.to_bytes();
    Ok((status, body))
}

/// The `Host` header for `target`.
pub fn host_header(target: &Target) -> HeaderValue {
    HeaderValue::from_str(&target.authority).expect("authority is a valid header value")
}

pub fn build_request(spec: &RequestSpec, target: &Target, host: &HeaderValue) -> Request<Full<Bytes>> {
    let uri: Uri = target.join(&spec.path).parse().unwrap_or_else(|e| panic!("scenario produced a bad path {:?}: {e}", spec.path));
    let mut request = Request::new(Full::new(spec.body.clone()));
    *request.method_mut() = spec.method.clone();
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(HOST, host.clone());
    for (name, value) in &spec.headers {
        headers.append(name.clone(), value.clone());
    }
    request
}

/// A client for a few sequential requests (setup and checks), reconnecting
/// when the server closed the connection.
pub struct Client {
    addr: SocketAddr,
    target: Target,
    host: HeaderValue,
    timeout: Duration,
    conn: Option<Sender>,
}

impl Client {
    pub fn new(addr: SocketAddr, target: Target, timeout: Duration) -> Self {
        Client { addr, host: host_header(&target), target, timeout, conn: None }
    }

    pub async fn send(&mut self, spec: &RequestSpec) -> Result<(u16, Bytes), TransportError> {
        if let Some(sender) = self.conn.as_mut()
            && sender.ready().await.is_err()
        {
            self.conn = None;
        }
        let sender = match self.conn.as_mut() {
            Some(sender) => sender,
            None => {
                let sender = timeout(self.timeout, connect(self.addr)).await.map_err(|_| TransportError::Timeout)??;
                self.conn.insert(sender)
            }
        };
        let request = build_request(spec, &self.target, &self.host);
        let result = match timeout(self.timeout, exchange(sender, request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout),
        };
        if result.is_err() {
            self.conn = None;
        }
        result
    }
}
