//! The runtime config's `[outbound_networking] block_networks` at each way
//! out a guest has, after `allowed_outbound_hosts` let it through: no
//! connection is made to an address in a blocked network, whichever name
//! led to it.
//!
//! - Outbound HTTP resolves the name here and connects only to an address
//!   that is not blocked (`outbound_http_send`); when every address is
//!   blocked the guest gets `destination-ip-prohibited`, as in Spin.
//! - `wasi:sockets` connect to an address the guest names: a blocked one is
//!   `access-denied` (`wasi_cli`).
//! - Redis connections take souk's resolver, which refuses a name with any
//!   address in a blocked network each time a socket is opened, including
//!   reconnections (`redis_link`), for `redis://` and `rediss://` alike.
//! - The PostgreSQL, MySQL and MQTT clients resolve names themselves, so
//!   souk checks the name first and refuses the connection when any of its
//!   addresses is blocked ([`refuse_blocked`]): at each open (PostgreSQL,
//!   MySQL) or before a session connects (MQTT). PostgreSQL pools then connect only to
//!   addresses checked as each connection is made
//!   (`outbound_pg::checked_connect`); MySQL's only to the addresses
//!   checked at the open that made the pool ([`checked_addresses`]; the
//!   name's new addresses get a pool of their own). An MQTT session is
//!   pointed at a checked address before it connects (`outbound_mqtt`).
//!
//! Stores the operator configures (a `type = "redis"` key-value store) are
//! not guests' connections and are not held to it.

use souk_manifest::BlockedNetworks;
use std::net::SocketAddr;

/// Why a name gives no address a guest may connect to.
#[derive(Debug)]
pub enum Unreachable {
    /// It did not resolve.
    Dns(std::io::Error),
    /// Every address it resolved to is in a blocked network.
    Prohibited(Vec<SocketAddr>),
}

/// The addresses of `host:port` outside the blocked networks, in the
/// resolver's order.
pub async fn resolve(host: &str, port: u16, blocked: &BlockedNetworks) -> Result<Vec<SocketAddr>, Unreachable> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(Unreachable::Dns)?.collect();
    let (refused, allowed): (Vec<SocketAddr>, Vec<SocketAddr>) = found.into_iter().partition(|addr| blocked.is_blocked(addr.ip()));
    if allowed.is_empty() && !refused.is_empty() {
        return Err(Unreachable::Prohibited(refused));
    }
    Ok(allowed)
}

/// For a client that resolves `host` itself: an error naming the blocked
/// address when any address of `host` is in a blocked network. A name that
/// does not resolve is left to the client, which reports it in its terms.
pub async fn refuse_blocked(host: &str, port: u16, blocked: &BlockedNetworks) -> Result<(), String> {
    checked_addresses(host, port, blocked).await.map(drop)
}

/// As [`refuse_blocked`], also giving the addresses it checked, for a
/// client that can be told where to connect (none when nothing is
/// blocked, or the name does not resolve).
pub async fn checked_addresses(host: &str, port: u16, blocked: &BlockedNetworks) -> Result<Option<Vec<std::net::IpAddr>>, String> {
    if blocked.is_empty() {
        return Ok(None);
    }
    let Ok(found) = tokio::net::lookup_host((host, port)).await else { return Ok(None) };
    let found: Vec<SocketAddr> = found.collect();
    match found.iter().find(|addr| blocked.is_blocked(addr.ip())) {
        Some(addr) => Err(prohibited(host, *addr)),
        None => Ok(Some(found.iter().map(SocketAddr::ip).collect())),
    }
}

/// The message for a connection refused because of `addr`.
pub fn prohibited(host: &str, addr: SocketAddr) -> String {
    format!("{host} resolves to {}, in a network the runtime config blocks ([outbound_networking] block_networks)", addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(entries: &[&str]) -> BlockedNetworks {
        BlockedNetworks::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[tokio::test]
    async fn a_name_whose_every_address_is_blocked_is_prohibited() {
        let loopback = blocked(&["127.0.0.0/8", "::1/128"]);
        assert!(matches!(resolve("localhost", 80, &loopback).await, Err(Unreachable::Prohibited(_))));
        assert!(matches!(resolve("127.0.0.1", 80, &loopback).await, Err(Unreachable::Prohibited(_))));
        let other = blocked(&["10.0.0.0/8"]);
        assert_eq!(resolve("127.0.0.1", 80, &other).await.unwrap(), ["127.0.0.1:80".parse::<SocketAddr>().unwrap()]);
        let e = refuse_blocked("127.0.0.1", 5432, &loopback).await.unwrap_err();
        assert!(e.starts_with("127.0.0.1 resolves to 127.0.0.1, in a network the runtime config blocks"), "{e}");
        assert!(refuse_blocked("127.0.0.1", 5432, &BlockedNetworks::default()).await.is_ok());
    }
}
