//! Outbound Redis as Spin gives it: `spin:redis/redis@3.0.0` (spin-sdk 4
//! and later) and `fermyon:spin/redis@2.0.0` (Spin 2/3 SDKs), on the
//! `redis` crate (the Rust ecosystem's maintained client).
//!
//! An address (`redis://[user:password@]host[:port][/db]`, or `rediss://`
//! for Redis over TLS: the server's certificate must chain to a root the
//! system trusts, see [`super::outbound_tls`], unless the URL ends in
//! `#insecure`, as Spin allows) is checked against the component's
//! `allowed_outbound_hosts` (whose entry names the same scheme) before
//! anything connects; a refused or malformed one is
//! `invalid-address`, as Spin answers. Connections are shared by the whole
//! app, one per address ([`RedisLink`]): every caller's commands are
//! pipelined over one socket, opened again after the server drops it, so a
//! burst of requests opens one connection per server, not one per request.
//! Each time a socket is opened, the name is resolved and checked against
//! the runtime config's blocked networks. A command that would change or
//! hold the shared connection (`SELECT`, `MULTI`, `BLPOP`, ...; see
//! [`super::redis_commands`]) moves the guest's connection to a socket of
//! its own.

use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::{ConnectionAddr, IntoConnectionInfo, RedisError, Value as Reply};
use souk_manifest::{AllowedHosts, BlockedNetworks};
use wasmtime::component::{Accessor, Resource};

use super::CapabilitiesView;
use super::Spin;
use super::address_cache::AddressCache;
use super::bindings::fermyon::spin::redis as v2;
use super::bindings::spin::redis::redis as v3;
use super::bindings::spin::redis::redis::{Error, RedisParameter, RedisResult};
use super::connection_limits::{ConnectionLimits, Kind, Permit};
use super::redis_link::RedisLink;

/// How long connecting to a Redis server may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Redis connections, one per address: the app has one set for guests'
/// outbound Redis and one for its `type = "redis"` key-value stores.
#[derive(Default)]
pub struct RedisClients {
    by_address: AddressCache<String, Arc<RedisLink>>,
    /// Networks these connections may not reach: the runtime config's, for
    /// guests' connections; none for the stores the operator configured.
    blocked: Arc<BlockedNetworks>,
}

impl RedisClients {
    /// Connections that reach no address in `blocked`.
    pub fn holding_to(blocked: Arc<BlockedNetworks>) -> RedisClients {
        RedisClients { by_address: Default::default(), blocked }
    }

    /// The connection to `address`, connected: at first use, or again if
    /// the server dropped it. A name that resolves into a blocked network
    /// is refused with a message that says so.
    pub(crate) async fn connection(&self, address: &str, client: redis::Client) -> Result<Arc<RedisLink>, String> {
        let link = self.by_address.get_or_insert(address.to_string(), || Arc::new(RedisLink::new(client, self.blocked.clone(), CONNECT_TIMEOUT)));
        match link.connection().await {
            Ok(_) => Ok(link),
            Err(e) => Err(format!("cannot connect to {}: {e}", redacted(address))),
        }
    }
}

/// What one component may reach over Redis.
pub struct RedisGrant {
    pub component: String,
    pub allowed_hosts: Arc<AllowedHosts>,
    pub clients: Arc<RedisClients>,
    pub limits: Arc<ConnectionLimits>,
}

/// A connection a guest has opened: the app's shared one to the server
/// and, once the guest sends a command that cannot share it
/// (`redis_commands`), one of its own, which every later command uses and
/// which closes when the guest drops the connection.
#[derive(Clone)]
pub struct RedisConnection {
    link: Arc<RedisLink>,
    own: Arc<tokio::sync::OnceCell<MultiplexedConnection>>,
    /// Its place under the runtime config's connection limits.
    _permit: Arc<Permit>,
}

/// `address` without its password, for messages.
pub(crate) fn redacted(address: &str) -> String {
    match (address.split_once("://"), address.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://…{}", &address[at..]),
        _ => address.to_string(),
    }
}

/// The scheme, host and port `address` connects to, if it is a Redis URL.
fn target(address: &str) -> Option<(redis::Client, &'static str, String, u16)> {
    let info = address.into_connection_info().ok()?;
    let (scheme, host, port) = match info.addr() {
        ConnectionAddr::Tcp(host, port) => ("redis", host.clone(), *port),
        ConnectionAddr::TcpTls { host, port, .. } => ("rediss", host.clone(), *port),
        _ => return None,
    };
    Some((redis::Client::open(info).ok()?, scheme, host, port))
}

async fn open(grant: &RedisGrant, address: &str) -> Result<RedisConnection, Error> {
    let Some((client, scheme, host, port)) = target(address) else {
        tracing::warn!("component `{}`: Redis address {} is not a redis:// or rediss:// URL", grant.component, redacted(address));
        return Err(Error::InvalidAddress);
    };
    if !grant.allowed_hosts.allows(scheme, &host, port) {
        tracing::warn!("component `{}`: Redis connection to {scheme}://{host}:{port} refused: not in allowed_outbound_hosts", grant.component);
        return Err(Error::InvalidAddress);
    }
    let permit = grant.limits.acquire(Kind::Redis).await.map_err(Error::Other)?;
    let link = grant.clients.connection(address, client).await.map_err(Error::Other)?;
    Ok(RedisConnection { link, own: Default::default(), _permit: Arc::new(permit) })
}

fn error(e: RedisError) -> Error {
    let type_error = e.code() == Some("WRONGTYPE")
        || e.detail().is_some_and(|d| d.contains("not an integer"))
        || matches!(e.kind(), redis::ErrorKind::UnexpectedReturnType | redis::ErrorKind::Parse);
    if type_error { Error::TypeError } else { Error::Other(e.to_string()) }
}

/// A reply as `execute` returns it: nested replies (arrays, sets, maps)
/// flattened in order.
fn flatten(reply: Reply, out: &mut Vec<RedisResult>) -> Result<(), Error> {
    match reply {
        Reply::Nil => out.push(RedisResult::Nil),
        Reply::Int(i) => out.push(RedisResult::Int64(i)),
        Reply::BulkString(bytes) => out.push(RedisResult::Binary(bytes)),
        Reply::SimpleString(s) => out.push(RedisResult::Status(s)),
        Reply::Okay => out.push(RedisResult::Status("OK".into())),
        Reply::Boolean(b) => out.push(RedisResult::Int64(b.into())),
        Reply::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        Reply::VerbatimString { text, .. } => out.push(RedisResult::Binary(text.into_bytes())),
        Reply::BigNumber(digits) => out.push(RedisResult::Binary(digits)),
        Reply::Array(items) | Reply::Set(items) | Reply::Push { data: items, .. } => items.into_iter().try_for_each(|item| flatten(item, out))?,
        Reply::Map(pairs) => pairs.into_iter().try_for_each(|(k, v)| flatten(k, out).and_then(|()| flatten(v, out)))?,
        Reply::Attribute { data, .. } => flatten(*data, out)?,
        Reply::ServerError(e) => return Err(error(e.into())),
        other => return Err(Error::Other(format!("a reply souk cannot pass on: {other:?}"))),
    }
    Ok(())
}

/// The operations, shared by both interface versions.
impl RedisConnection {
    /// Runs one of the typed operations, which can all share.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Error> {
        self.run(cmd, true).await
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd, shareable: bool) -> Result<T, Error> {
        if self.own.get().is_none() && shareable {
            return self.link.query(cmd).await.map_err(error);
        }
        let own = self.own.get_or_try_init(|| self.link.dedicated()).await.map_err(|e| Error::Other(format!("cannot connect: {e}")))?;
        cmd.query_async(&mut own.clone()).await.map_err(error)
    }

    async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), Error> {
        self.query::<i64>(redis::cmd("PUBLISH").arg(channel).arg(payload)).await.map(drop)
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.query(redis::cmd("GET").arg(key)).await
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.query::<()>(redis::cmd("SET").arg(key).arg(value)).await
    }

    async fn incr(&self, key: String) -> Result<i64, Error> {
        self.query(redis::cmd("INCR").arg(key)).await
    }

    async fn del(&self, keys: Vec<String>) -> Result<u32, Error> {
        self.query(redis::cmd("DEL").arg(keys)).await
    }

    async fn sadd(&self, key: String, values: Vec<String>) -> Result<u32, Error> {
        self.query(redis::cmd("SADD").arg(key).arg(values)).await
    }

    async fn smembers(&self, key: String) -> Result<Vec<String>, Error> {
        self.query(redis::cmd("SMEMBERS").arg(key)).await
    }

    async fn srem(&self, key: String, values: Vec<String>) -> Result<u32, Error> {
        self.query(redis::cmd("SREM").arg(key).arg(values)).await
    }

    async fn execute(&self, command: String, arguments: Vec<RedisParameter>) -> Result<Vec<RedisResult>, Error> {
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(bytes) => cmd.arg(bytes),
            };
        }
        let mut out = Vec::new();
        flatten(self.run::<Reply>(&cmd, super::redis_commands::shareable(&command)).await?, &mut out)?;
        Ok(out)
    }
}

fn connection_of<T: Send>(accessor: &Accessor<T, Spin>, conn: &Resource<RedisConnection>) -> wasmtime::Result<RedisConnection> {
    accessor.with(|mut access| Ok(access.get().table.get(conn)?.clone()))
}

impl v3::Host for CapabilitiesView<'_> {}

impl v3::HostConnection for CapabilitiesView<'_> {
    fn drop(&mut self, conn: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl<T: Send> v3::HostConnectionWithStore<T> for Spin {
    async fn open(accessor: &Accessor<T, Self>, address: String) -> wasmtime::Result<Result<Resource<RedisConnection>, Error>> {
        let grant = accessor.with(|mut access| access.get().caps.grants.clone());
        match open(&grant.redis, &address).await {
            Ok(conn) => accessor.with(|mut access| Ok(Ok(access.get().table.push(conn)?))),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn publish(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, channel: String, payload: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        Ok(connection_of(accessor, &conn)?.publish(channel, payload).await)
    }

    async fn get(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        Ok(connection_of(accessor, &conn)?.get(key).await)
    }

    async fn set(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        Ok(connection_of(accessor, &conn)?.set(key, value).await)
    }

    async fn incr(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, key: String) -> wasmtime::Result<Result<i64, Error>> {
        Ok(connection_of(accessor, &conn)?.incr(key).await)
    }

    async fn del(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, keys: Vec<String>) -> wasmtime::Result<Result<u32, Error>> {
        Ok(connection_of(accessor, &conn)?.del(keys).await)
    }

    async fn sadd(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, key: String, values: Vec<String>) -> wasmtime::Result<Result<u32, Error>> {
        Ok(connection_of(accessor, &conn)?.sadd(key, values).await)
    }

    async fn smembers(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, key: String) -> wasmtime::Result<Result<Vec<String>, Error>> {
        Ok(connection_of(accessor, &conn)?.smembers(key).await)
    }

    async fn srem(accessor: &Accessor<T, Self>, conn: Resource<RedisConnection>, key: String, values: Vec<String>) -> wasmtime::Result<Result<u32, Error>> {
        Ok(connection_of(accessor, &conn)?.srem(key, values).await)
    }

    async fn execute(
        accessor: &Accessor<T, Self>,
        conn: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> wasmtime::Result<Result<Vec<RedisResult>, Error>> {
        Ok(connection_of(accessor, &conn)?.execute(command, arguments).await)
    }
}

// fermyon:spin/redis@2.0.0: the same operations behind synchronous
// functions (the calling guest waits; the thread does not), with its own
// copies of the types.

fn error_v2(e: Error) -> v2::Error {
    match e {
        Error::InvalidAddress => v2::Error::InvalidAddress,
        Error::TooManyConnections => v2::Error::TooManyConnections,
        Error::TypeError => v2::Error::TypeError,
        Error::Other(m) => v2::Error::Other(m),
    }
}

fn result_v2(r: RedisResult) -> v2::RedisResult {
    match r {
        RedisResult::Nil => v2::RedisResult::Nil,
        RedisResult::Status(s) => v2::RedisResult::Status(s),
        RedisResult::Int64(i) => v2::RedisResult::Int64(i),
        RedisResult::Binary(b) => v2::RedisResult::Binary(b),
    }
}

fn parameter_v3(p: v2::RedisParameter) -> RedisParameter {
    match p {
        v2::RedisParameter::Int64(i) => RedisParameter::Int64(i),
        v2::RedisParameter::Binary(b) => RedisParameter::Binary(b),
    }
}

impl CapabilitiesView<'_> {
    fn redis_connection(&self, conn: &Resource<RedisConnection>) -> wasmtime::Result<RedisConnection> {
        Ok(self.table.get(conn)?.clone())
    }
}

impl v2::Host for CapabilitiesView<'_> {}

impl v2::HostConnection for CapabilitiesView<'_> {
    async fn open(&mut self, address: String) -> wasmtime::Result<Result<Resource<RedisConnection>, v2::Error>> {
        let grant = self.caps.grants.clone();
        match open(&grant.redis, &address).await {
            Ok(conn) => Ok(Ok(self.table.push(conn)?)),
            Err(e) => Ok(Err(error_v2(e))),
        }
    }

    async fn publish(&mut self, conn: Resource<RedisConnection>, channel: String, payload: Vec<u8>) -> wasmtime::Result<Result<(), v2::Error>> {
        Ok(self.redis_connection(&conn)?.publish(channel, payload).await.map_err(error_v2))
    }

    async fn get(&mut self, conn: Resource<RedisConnection>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, v2::Error>> {
        Ok(self.redis_connection(&conn)?.get(key).await.map_err(error_v2))
    }

    async fn set(&mut self, conn: Resource<RedisConnection>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), v2::Error>> {
        Ok(self.redis_connection(&conn)?.set(key, value).await.map_err(error_v2))
    }

    async fn incr(&mut self, conn: Resource<RedisConnection>, key: String) -> wasmtime::Result<Result<i64, v2::Error>> {
        Ok(self.redis_connection(&conn)?.incr(key).await.map_err(error_v2))
    }

    async fn del(&mut self, conn: Resource<RedisConnection>, keys: Vec<String>) -> wasmtime::Result<Result<u32, v2::Error>> {
        Ok(self.redis_connection(&conn)?.del(keys).await.map_err(error_v2))
    }

    async fn sadd(&mut self, conn: Resource<RedisConnection>, key: String, values: Vec<String>) -> wasmtime::Result<Result<u32, v2::Error>> {
        Ok(self.redis_connection(&conn)?.sadd(key, values).await.map_err(error_v2))
    }

    async fn smembers(&mut self, conn: Resource<RedisConnection>, key: String) -> wasmtime::Result<Result<Vec<String>, v2::Error>> {
        Ok(self.redis_connection(&conn)?.smembers(key).await.map_err(error_v2))
    }

    async fn srem(&mut self, conn: Resource<RedisConnection>, key: String, values: Vec<String>) -> wasmtime::Result<Result<u32, v2::Error>> {
        Ok(self.redis_connection(&conn)?.srem(key, values).await.map_err(error_v2))
    }

    async fn execute(
        &mut self,
        conn: Resource<RedisConnection>,
        command: String,
        arguments: Vec<v2::RedisParameter>,
    ) -> wasmtime::Result<Result<Vec<v2::RedisResult>, v2::Error>> {
        let arguments = arguments.into_iter().map(parameter_v3).collect();
        Ok(self.redis_connection(&conn)?.execute(command, arguments).await.map(|r| r.into_iter().map(result_v2).collect()).map_err(error_v2))
    }

    async fn drop(&mut self, conn: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_resolve_to_scheme_host_and_port_and_passwords_stay_out_of_messages() {
        let (_, scheme, host, port) = target("redis://localhost").unwrap();
        assert_eq!((scheme, host.as_str(), port), ("redis", "localhost", 6379));
        let (_, scheme, host, port) = target("redis://:pw@10.0.0.5:7000/2").unwrap();
        assert_eq!((scheme, host.as_str(), port), ("redis", "10.0.0.5", 7000));
        assert!(target("http://localhost:6379").is_none());
        assert!(target("not a url").is_none());
        assert_eq!(redacted("redis://user:secret@host:1/0"), "redis://…@host:1/0");
        assert_eq!(redacted("redis://host:1"), "redis://host:1");
    }

    #[test]
    fn nested_replies_are_flattened_in_order() {
        let mut out = Vec::new();
        flatten(Reply::Array(vec![Reply::Okay, Reply::Array(vec![Reply::Int(3), Reply::BulkString(b"x".to_vec())]), Reply::Nil]), &mut out).unwrap();
        assert!(matches!(&out[..], [RedisResult::Status(s), RedisResult::Int64(3), RedisResult::Binary(b), RedisResult::Nil] if s == "OK" && b == b"x"));
    }
}
