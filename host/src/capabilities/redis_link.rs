//! One connection to a Redis server, shared by every caller, that is opened
//! again after the server drops it; each time it is opened the server's
//! name is resolved through the blocked-networks check.
//!
//! The `redis` crate's own `ConnectionManager` reconnects too, but resolves
//! names itself on every reconnect, with no way to check the addresses: a
//! name that resolved to an allowed address at first could later resolve
//! into a blocked network (DNS rebinding), and `rediss://` cannot be pinned
//! to a checked address because TLS needs the name. A multiplexed
//! connection takes a resolver ([`redis::AsyncConnectionConfig`]), so the
//! check sits where the socket is opened, for `redis://` and `rediss://`
//! alike, and this module keeps the reconnection.
//!
//! As with the crate's manager, a command that finds the connection gone
//! fails, and the next one opens a new connection: a command is never sent
//! twice, since the first may have reached the server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::io::AsyncDNSResolver;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, RedisFuture, RedisResult};
use souk_manifest::BlockedNetworks;

pub struct RedisLink {
    client: redis::Client,
    config: AsyncConnectionConfig,
    /// The connection in use, with its number; none before the first use
    /// and after the server dropped it.
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    /// Held while connecting, so concurrent callers open one connection;
    /// counts the connections opened.
    opened: tokio::sync::Mutex<u64>,
}

impl RedisLink {
    /// A link to `client`'s server that reaches no address in `blocked`;
    /// nothing connects until the first command.
    pub fn new(client: redis::Client, blocked: Arc<BlockedNetworks>, connect_timeout: Duration) -> RedisLink {
        // No response timeout: a guest's commands are bounded by its
        // request's deadline, as in Spin, and a slow command (a large EVAL,
        // a blocking pop) is not an error.
        let config =
            AsyncConnectionConfig::new().set_connection_timeout(Some(connect_timeout)).set_response_timeout(None).set_dns_resolver(CheckedResolver { blocked });
        RedisLink { client, config, current: Mutex::new(None), opened: tokio::sync::Mutex::new(0) }
    }

    /// The open connection, or a new one.
    pub async fn connection(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let mut opened = self.opened.lock().await;
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let conn = self.client.get_multiplexed_async_connection_with_config(&self.config).await?;
        *opened += 1;
        let current = (*opened, conn);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(current.clone());
        Ok(current)
    }

    /// A connection of its own to the same server, opened now, with the
    /// same checks, not shared (see `redis_commands`).
    pub async fn dedicated(&self) -> RedisResult<MultiplexedConnection> {
        self.client.get_multiplexed_async_connection_with_config(&self.config).await
    }

    fn current(&self) -> Option<(u64, MultiplexedConnection)> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs `cmd`; a connection the command found broken is let go, so the
    /// next command opens another.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        let (number, mut conn) = self.connection().await?;
        let result = cmd.query_async(&mut conn).await;
        if let Err(e) = &result
            && e.is_unrecoverable_error()
        {
            let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
            if current.as_ref().is_some_and(|(n, _)| *n == number) {
                *current = None;
            }
        }
        result
    }
}

/// Resolves a server's name as its socket is opened, refusing a name with
/// any address in a blocked network (as the other outbound checks do).
struct CheckedResolver {
    blocked: Arc<BlockedNetworks>,
}

impl AsyncDNSResolver for CheckedResolver {
    fn resolve<'a, 'b: 'a>(&'a self, host: &'b str, port: u16) -> RedisFuture<'a, Box<dyn Iterator<Item = SocketAddr> + Send + 'a>> {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
            if let Some(addr) = found.iter().find(|addr| self.blocked.is_blocked(addr.ip())) {
                let why = super::blocked_networks::prohibited(host, *addr);
                return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why).into());
            }
            Ok(Box::new(found.into_iter()) as Box<dyn Iterator<Item = SocketAddr> + Send>)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_blocked() -> Arc<BlockedNetworks> {
        Arc::new(BlockedNetworks::parse(&["127.0.0.0/8".to_string(), "::1/128".to_string()]).unwrap())
    }

    /// Nothing listens on port 1: a connection that skipped the check would
    /// fail as refused, not as prohibited.
    #[tokio::test]
    async fn every_connection_is_resolved_through_the_blocked_networks_check() {
        for url in ["redis://localhost:1", "rediss://localhost:1", "redis://127.0.0.1:1"] {
            let link = RedisLink::new(redis::Client::open(url).unwrap(), loopback_blocked(), Duration::from_secs(5));
            let e = link.query::<()>(&redis::cmd("PING")).await.unwrap_err().to_string();
            assert!(e.contains("in a network the runtime config blocks"), "{url}: {e}");
            // Not remembered: each attempt resolves and checks again.
            let e = link.query::<()>(&redis::cmd("PING")).await.unwrap_err().to_string();
            assert!(e.contains("in a network the runtime config blocks"), "{url}: {e}");
        }
        let open = RedisLink::new(redis::Client::open("redis://localhost:1").unwrap(), Default::default(), Duration::from_secs(5));
        let e = open.query::<()>(&redis::cmd("PING")).await.unwrap_err().to_string();
        assert!(!e.contains("blocks"), "{e}");
    }
}
