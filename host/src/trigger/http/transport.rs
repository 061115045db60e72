//! One client connection, from accept to close: TLS when configured, then
//! HTTP/1.1 or HTTP/2 (chosen by ALPN, or by the client's HTTP/2 preface
//! for cleartext h2c), with the limits that keep one client from holding
//! the server: the size and number of header fields (431), the time to
//! send a request head (408, then the connection is closed: a client
//! trickling one byte a second holds nothing for long).
//!
//! hyper-util's `auto` builder serves both protocols; what it cannot do is
//! answer a head that never completes, since it drops the connection. So
//! the socket is kept twice (a `dup` of it): once for hyper, and once to
//! write the 408 on when hyper gives up mid-head.

use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use wasmtime_wasi_http::WasiBody;

/// Most header fields in one request.
pub const MAX_HEADERS: usize = 100;
/// Most bytes of one request head (request line and header fields): over
/// HTTP/2, and over HTTP/1 unless `--http1-max-buf-size` says otherwise.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

pub struct Transport {
    tls: Option<TlsAcceptor>,
    header_read_timeout: Duration,
    builder: auto::Builder<TokioExecutor>,
}

impl Transport {
    /// `http1_head_bytes`: the HTTP/1 read buffer (`--http1-max-buf-size`).
    pub fn new(tls: Option<TlsAcceptor>, header_read_timeout: Duration, http1_head_bytes: usize) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(header_read_timeout)
            .max_headers(MAX_HEADERS)
            // hyper answers 431 when a head does not fit its read buffer.
            .max_buf_size(http1_head_bytes);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(MAX_HEAD_BYTES as u32)
            .max_concurrent_streams(256)
            .keep_alive_interval(Some(Duration::from_secs(20)))
            .keep_alive_timeout(Duration::from_secs(20));
        Self { tls, header_read_timeout, builder }
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Serves `stream` until the client or a graceful shutdown closes it.
    pub fn serve<S>(self: &Arc<Self>, stream: TcpStream, client: SocketAddr, service: S, graceful: &GracefulShutdown)
    where
        S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<WasiBody>, Error = std::convert::Infallible> + Send + Clone + 'static,
        S::Future: Send + 'static,
    {
        let _ = stream.set_nodelay(true);
        let this = self.clone();
        // Only a cleartext connection can be answered 408 on the side.
        let (stream, spare) = match &self.tls {
            None => match duplicate(stream) {
                Ok((stream, spare)) => (stream, Some(spare)),
                Err(e) => {
                    tracing::warn!("connection from {client}: {e}");
                    return;
                }
            },
            Some(_) => (stream, None),
        };
        let watch = graceful.watcher();
        tokio::spawn(async move {
            let head = Arc::new(HeadState::default());
            let served = Watched { inner: stream, head: head.clone() };
            let deadline = tokio::time::sleep(this.header_read_timeout);
            let outcome = match &this.tls {
                None => this.serve_io(TokioIo::new(served), service, &head, deadline, watch).await,
                Some(acceptor) => match tokio::time::timeout(this.header_read_timeout, acceptor.accept(served)).await {
                    Ok(Ok(tls)) => this.serve_io(TokioIo::new(tls), service, &head, deadline, watch).await,
                    Ok(Err(e)) => Outcome::Failed(format!("TLS handshake: {e}")),
                    Err(_) => Outcome::Failed("TLS handshake not finished in time".into()),
                },
            };
            match outcome {
                Outcome::Done => {}
                Outcome::HeadTimedOut if head.mid_head.load(Ordering::Acquire) => {
                    if let Some(mut spare) = spare {
                        let _ = spare.write_all(b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
                        let _ = spare.shutdown(std::net::Shutdown::Both);
                    }
                    tracing::debug!("connection from {client}: request head not received in time; closed with 408");
                }
                Outcome::HeadTimedOut => tracing::debug!("connection from {client}: idle; closed"),
                Outcome::Failed(e) => tracing::debug!("connection from {client}: {e}"),
            }
        });
    }

    async fn serve_io<I, S>(&self, io: I, service: S, head: &HeadState, first_head: tokio::time::Sleep, watch: hyper_util::server::graceful::Watcher) -> Outcome
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
        S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<WasiBody>, Error = std::convert::Infallible> + Send + Clone + 'static,
        S::Future: Send + 'static,
    {
        // hyper times the heads of HTTP/1 requests once it knows the
        // protocol; until the first request arrives the whole connection is
        // on this clock (a client that sends nothing, or a preface byte by byte).
        let seen = head.seen_request.clone();
        let marked = hyper::service::service_fn(move |request| {
            seen.store(true, Ordering::Release);
            let service = service.clone();
            hyper::service::Service::call(&service, request)
        });
        let connection = watch.watch(self.builder.serve_connection(io, marked).into_owned());
        tokio::pin!(connection);
        tokio::pin!(first_head);
        loop {
            tokio::select! {
                result = &mut connection => {
                    return match result {
                        Ok(()) => Outcome::Done,
                        Err(e) if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout) => Outcome::HeadTimedOut,
                        Err(e) => Outcome::Failed(e.to_string()),
                    };
                }
                _ = &mut first_head, if !head.seen_request.load(Ordering::Acquire) => {
                    if !head.seen_request.load(Ordering::Acquire) {
                        return Outcome::HeadTimedOut;
                    }
                }
            }
        }
    }
}

enum Outcome {
    Done,
    HeadTimedOut,
    Failed(String),
}

/// What the connection has seen of its client.
#[derive(Default)]
struct HeadState {
    /// A request has reached the service.
    seen_request: Arc<AtomicBool>,
    /// Bytes came in since the last response went out: a head was begun.
    mid_head: AtomicBool,
}

/// The stream hyper reads, noting when the client has begun a request.
struct Watched {
    inner: TcpStream,
    head: Arc<HeadState>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.head.mid_head.store(true, Ordering::Release);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.head.mid_head.store(false, Ordering::Release);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        self.head.mid_head.store(false, Ordering::Release);
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The stream for hyper, and a second handle on the same socket.
fn duplicate(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std()?;
    let spare = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, spare))
}
