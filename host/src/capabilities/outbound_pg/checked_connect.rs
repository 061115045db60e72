//! New PostgreSQL connections under the runtime config's blocked networks.
//! tokio-postgres would resolve each host itself, so a name whose records
//! change after souk's check at `open` (or between a pool's connections)
//! could lead it into a blocked network. With blocked networks, each new
//! connection of a pool instead resolves every host here, passes over a
//! host with any blocked address (the rule `open` applies), connects to an
//! address it checked, and runs the protocol on that stream; TLS still
//! verifies the host's name. Without blocked networks, pools connect as
//! tokio-postgres does.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use deadpool_postgres::Connect;
use futures::future::BoxFuture;
use souk_manifest::BlockedNetworks;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, Error, NoTls};

use super::CONNECT_TIMEOUT;
use crate::capabilities::blocked_networks::prohibited;

pub struct CheckedConnect<T> {
    pub tls: T,
    pub blocked: Arc<BlockedNetworks>,
}

impl<T> Connect for CheckedConnect<T>
where
    T: MakeTlsConnect<TcpStream> + Clone + Sync + Send + 'static,
    T::Stream: Sync + Send + 'static,
    T::TlsConnect: Sync + Send,
    <T::TlsConnect as TlsConnect<TcpStream>>::Future: Send,
{
    fn connect(&self, config: &Config) -> BoxFuture<'_, Result<(Client, JoinHandle<()>), Error>> {
        let (config, tls, blocked) = (config.clone(), self.tls.clone(), self.blocked.clone());
        Box::pin(connect(config, tls, blocked))
    }
}

async fn connect<T>(config: Config, mut tls: T, blocked: Arc<BlockedNetworks>) -> Result<(Client, JoinHandle<()>), Error>
where
    T: MakeTlsConnect<TcpStream> + Send + 'static,
    T::Stream: Sync + Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<TcpStream>>::Future: Send,
{
    let ports = config.get_ports();
    let mut why = String::from("no host to connect to");
    let mut failed: Option<Error> = None;
    for (i, host) in config.get_hosts().iter().enumerate() {
        // `open` refuses Unix sockets before any pool is made.
        let Host::Tcp(name) = host else { continue };
        // `open` refuses an address with fewer ports than hosts.
        let Some(port) = super::port_of(ports, i) else { continue };
        let found: Vec<_> = match tokio::net::lookup_host((name.as_str(), port)).await {
            Ok(found) => found.collect(),
            Err(e) => {
                why = format!("cannot resolve {name}: {e}");
                continue;
            }
        };
        if let Some(addr) = found.iter().find(|addr| blocked.is_blocked(addr.ip())) {
            why = prohibited(name, *addr);
            continue;
        }
        for addr in found {
            let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    why = format!("cannot connect to {addr}: {e}");
                    continue;
                }
                Err(_) => {
                    why = format!("cannot connect to {addr}: no answer within {CONNECT_TIMEOUT:?}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let tls_connect = match tls.make_tls_connect(name) {
                Ok(tls_connect) => tls_connect,
                Err(e) => {
                    why = format!("cannot set up TLS for {name}: {}", e.into());
                    continue;
                }
            };
            match tokio::time::timeout(CONNECT_TIMEOUT, config.connect_raw(stream, tls_connect)).await {
                Ok(Ok((client, connection))) => {
                    let task = tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!("a PostgreSQL connection ended: {e}");
                        }
                    });
                    return Ok((client, task));
                }
                Ok(Err(e)) => failed = Some(e),
                Err(_) => why = format!("{addr} did not complete the PostgreSQL start-up within {CONNECT_TIMEOUT:?}"),
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Err(refusal(&config, why).await),
    }
}

/// A connection error saying `why`. tokio-postgres makes its errors only
/// itself, so the start-up is run on a stream whose first write fails with
/// `why` (in the clear: nothing is sent anywhere).
async fn refusal(config: &Config, why: String) -> Error {
    let mut clear = config.clone();
    clear.ssl_mode(SslMode::Disable);
    match clear.connect_raw(Refused(Some(why)), NoTls).await {
        Err(e) => e,
        Ok(_) => unreachable!("a stream that refuses every write cannot start a session"),
    }
}

/// A stream that fails at once with the reason it holds.
struct Refused(Option<String>);

impl Refused {
    fn error(&mut self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, self.0.take().unwrap_or_else(|| "refused".into()))
    }
}

impl AsyncRead for Refused {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Err(self.error()))
    }
}

impl AsyncWrite for Refused {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Err(self.error()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Err(self.error()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_with_a_blocked_address_is_never_connected_to_and_the_error_says_why() {
        let blocked = Arc::new(BlockedNetworks::parse(&["127.0.0.0/8".to_string()]).unwrap());
        let config: Config = "host=127.0.0.1 port=1 user=u".parse().unwrap();
        let Err(e) = connect(config, NoTls, blocked).await else { panic!("connected to a blocked address") };
        let text = format!("{e}: {}", std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default());
        assert!(text.contains("127.0.0.1 resolves to 127.0.0.1, in a network the runtime config blocks"), "{text}");
    }
}
