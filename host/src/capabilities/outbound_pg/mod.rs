//! Outbound PostgreSQL as Spin gives it: `spin:postgres/postgres@4.2.0`
//! (which also serves guests of 4.0.0 and 4.1.0), `spin:postgres@3.0.0` and
//! `fermyon:spin/postgres@2.0.0`, on `tokio-postgres`.
//!
//! An address is either a URL (`postgres://user:password@host:port/db`) or
//! key-value pairs (`host=… port=… user=… dbname=…`). Every host it names
//! is checked against the component's `allowed_outbound_hosts` (scheme
//! `postgres`) before anything connects; a refused or malformed address is
//! `connection-failed`, as Spin answers. Unix-socket hosts are refused.
//!
//! Connections come from one bounded pool per address, shared by the app
//! ([`MAX_CONNECTIONS_PER_ADDRESS`]); a guest's connection holds one pooled
//! client until the guest drops it, so its session (a transaction, `SET`)
//! stays its own. A client goes back to the pool only after its session
//! state is cleared (deadpool's `Clean` recycling: an abandoned transaction
//! makes the clearing fail and the client is closed instead). Under the
//! runtime config's blocked networks a pool's connections are made by
//! [`checked_connect`], to addresses checked as each is made.
//!
//! TLS as Spin has it: `sslmode=disable` connects in the clear; otherwise
//! (`prefer`, the default, and `require`) the connection is TLS whenever
//! the server offers it, and `require` refuses a server that does not. The
//! server's certificate must chain to a root the system trusts
//! ([`super::outbound_tls`]) or to the CA root the guest gave the
//! connection builder (`set-ca-root`), and name the host: an untrusted
//! server is `connection-failed`, even under `prefer`. Pools are kept by
//! address and CA root.
//!
//! Values: the column's PostgreSQL type decides the value's variant
//! ([`rows`]); a parameter is encoded for the type the server inferred for
//! its placeholder, with integer widening ([`params`]). The older interface
//! versions get the same values, with the variants they lack as
//! `unsupported` ([`interfaces`]).

mod checked_connect;
mod interfaces;
mod params;
mod rows;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use souk_manifest::{AllowedHosts, BlockedNetworks};
use tokio_postgres::config::{Host, SslMode};

use super::address_cache::AddressCache;
use super::bindings::spin::postgres4_2_0::postgres as v4;
use super::connection_limits::{ConnectionLimits, Kind, Permit};
use params::Param;

/// How many connections one address's pool may hold open at once; a guest
/// asking for one more waits up to [`POOL_WAIT`].
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 16;
/// How long connecting (or waiting for a free pooled connection) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const POOL_WAIT: Duration = Duration::from_secs(10);

/// The app's PostgreSQL pools, by address and the CA root a guest gave.
#[derive(Default)]
pub struct PgPools {
    by_address: AddressCache<(String, Option<String>), Pool>,
}

impl PgPools {
    /// The pool for `address`; with blocked networks, its connections are
    /// made by [`checked_connect`].
    fn pool(&self, address: &str, ca_root: Option<&str>, config: tokio_postgres::Config, blocked: &Arc<BlockedNetworks>) -> Result<Pool, String> {
        let key = (address.to_string(), ca_root.map(str::to_string));
        self.by_address.get_or_make(key, || Self::make_pool(ca_root, config, blocked))
    }

    fn make_pool(ca_root: Option<&str>, config: tokio_postgres::Config, blocked: &Arc<BlockedNetworks>) -> Result<Pool, String> {
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Clean };
        let manager = match (config.get_ssl_mode() == SslMode::Disable, blocked.is_empty()) {
            (true, true) => Manager::from_config(config, tokio_postgres::NoTls, recycling),
            (true, false) => Manager::from_connect(config, checked_connect::CheckedConnect { tls: tokio_postgres::NoTls, blocked: blocked.clone() }, recycling),
            (false, clear_to_all) => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(super::outbound_tls::client_config(ca_root)?);
                if clear_to_all {
                    Manager::from_config(config, tls, recycling)
                } else {
                    Manager::from_connect(config, checked_connect::CheckedConnect { tls, blocked: blocked.clone() }, recycling)
                }
            }
        };
        let timeouts = Timeouts { wait: Some(POOL_WAIT), create: Some(CONNECT_TIMEOUT), recycle: Some(CONNECT_TIMEOUT) };
        Pool::builder(manager)
            .max_size(MAX_CONNECTIONS_PER_ADDRESS)
            .timeouts(timeouts)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| format!("cannot make a connection pool: {e}"))
    }
}

/// What one component may reach over PostgreSQL.
pub struct PgGrant {
    pub component: String,
    pub allowed_hosts: Arc<AllowedHosts>,
    /// Where no connection may go, whatever `allowed_hosts` say.
    pub blocked: Arc<BlockedNetworks>,
    pub pools: Arc<PgPools>,
    pub limits: Arc<ConnectionLimits>,
}

/// A connection a guest has opened: one pooled client, shared by the
/// guest's calls (each takes the `Arc` out of the table, then awaits).
pub struct PgConnection {
    client: Arc<deadpool_postgres::Object>,
    /// Its place under the runtime config's connection limits.
    permit: Arc<Permit>,
}

/// A connection builder (4.1.0 and later) before `build`.
pub struct PgConnectionBuilder {
    address: String,
    ca_root: Option<String>,
}

/// Why a call failed, in the terms of the newest interface; the older ones
/// flatten it.
pub type PgError = v4::Error;

/// `address` without its password, for messages.
fn redacted(address: &str) -> String {
    if let Some((scheme, rest)) = address.split_once("://") {
        return match rest.rfind('@') {
            Some(at) => format!("{scheme}://…{}", &rest[at..]),
            None => address.to_string(),
        };
    }
    address.split_whitespace().map(|pair| if pair.to_ascii_lowercase().starts_with("password=") { "password=…" } else { pair }).collect::<Vec<_>>().join(" ")
}

/// Why connecting failed, with the cause a pool error wraps (a refused
/// certificate is only named there).
fn connect_error(e: &deadpool_postgres::PoolError) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message = format!("{message}: {cause_text}");
        }
        source = cause.source();
    }
    message
}

/// The port of the `i`th host: one port for every host, one per host, or
/// the default; `None` when there are fewer ports than hosts.
fn port_of(ports: &[u16], i: usize) -> Option<u16> {
    match ports.len() {
        0 => Some(5432),
        1 => Some(ports[0]),
        _ => ports.get(i).copied(),
    }
}

/// The parsed address and the host:port pairs it would connect to.
fn targets(address: &str) -> Result<(tokio_postgres::Config, Vec<(String, u16)>), String> {
    let config: tokio_postgres::Config = address.parse().map_err(|e| format!("`{}` is not a PostgreSQL address: {e}", redacted(address)))?;
    if config.get_hosts().is_empty() {
        return Err(format!("`{}` names no host", redacted(address)));
    }
    let ports = config.get_ports();
    let mut targets = Vec::new();
    for (i, host) in config.get_hosts().iter().enumerate() {
        let Host::Tcp(name) = host else {
            return Err(format!("`{}` names a Unix socket: only TCP hosts are served", redacted(address)));
        };
        let port = port_of(ports, i).ok_or_else(|| format!("`{}` names more hosts than ports", redacted(address)))?;
        targets.push((name.clone(), port));
    }
    Ok((config, targets))
}

impl PgGrant {
    /// Opens a connection to `address` if every host it names is allowed.
    async fn open(&self, address: &str, ca_root: Option<&str>) -> Result<PgConnection, PgError> {
        let (mut config, targets) = targets(address).map_err(|e| {
            tracing::warn!("component `{}`: {e}", self.component);
            PgError::ConnectionFailed(e)
        })?;
        for (host, port) in &targets {
            if !self.allowed_hosts.allows("postgres", host, *port) {
                tracing::warn!("component `{}`: PostgreSQL connection to {host}:{port} refused: not in allowed_outbound_hosts", self.component);
                return Err(PgError::ConnectionFailed(format!("address postgres://{host}:{port} is not permitted by allowed_outbound_hosts")));
            }
        }
        for (host, port) in &targets {
            super::blocked_networks::refuse_blocked(host, *port, &self.blocked).await.map_err(|e| {
                tracing::warn!("component `{}`: PostgreSQL connection refused: {e}", self.component);
                PgError::ConnectionFailed(e)
            })?;
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        let pool = self.pools.pool(address, ca_root, config, &self.blocked).map_err(PgError::ConnectionFailed)?;
        let permit = self.limits.acquire(Kind::Postgres).await.map_err(PgError::ConnectionFailed)?;
        let client = pool.get().await.map_err(|e| PgError::ConnectionFailed(format!("cannot connect to {}: {}", redacted(address), connect_error(&e))))?;
        Ok(PgConnection { client: Arc::new(client), permit: Arc::new(permit) })
    }
}

/// The answer to a query, in the newest interface's terms.
pub struct PgRows {
    pub columns: Vec<v4::Column>,
    pub rows: Vec<Vec<v4::DbValue>>,
}

impl PgConnection {
    fn share(&self) -> PgConnection {
        PgConnection { client: self.client.clone(), permit: self.permit.clone() }
    }

    async fn query(&self, statement: &str, params: Vec<v4::ParameterValue>) -> Result<PgRows, PgError> {
        let params: Vec<Param> = params.into_iter().map(Param).collect();
        let statement = self.client.prepare_cached(statement).await.map_err(query_error)?;
        let columns = statement.columns().iter().map(rows::column).collect();
        let found = self.client.query(&statement, &params.iter().map(|p| p as _).collect::<Vec<_>>()).await.map_err(query_error)?;
        let rows = found.iter().map(rows::values).collect::<Result<Vec<_>, _>>().map_err(PgError::ValueConversionFailed)?;
        Ok(PgRows { columns, rows })
    }

    async fn execute(&self, statement: &str, params: Vec<v4::ParameterValue>) -> Result<u64, PgError> {
        let params: Vec<Param> = params.into_iter().map(Param).collect();
        let statement = self.client.prepare_cached(statement).await.map_err(query_error)?;
        self.client.execute(&statement, &params.iter().map(|p| p as _).collect::<Vec<_>>()).await.map_err(query_error)
    }
}

/// A failed statement: a parameter that could not be encoded is
/// `bad-parameter`; the server's own errors keep their fields.
fn query_error(e: tokio_postgres::Error) -> PgError {
    if let Some(bad) = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<params::ParamError>()) {
        return PgError::BadParameter(bad.to_string());
    }
    if e.is_closed() {
        return PgError::ConnectionFailed(format!("the connection to PostgreSQL is closed: {e}"));
    }

    match e.as_db_error() {
        Some(db) => {
            let mut extras = Vec::new();
            let mut extra = |name: &str, value: Option<&str>| {
                if let Some(value) = value {
                    extras.push((name.to_string(), value.to_string()));
                }
            };
            extra("hint", db.hint());
            extra("where", db.where_());
            extra("schema", db.schema());
            extra("table", db.table());
            extra("column", db.column());
            extra("datatype", db.datatype());
            extra("constraint", db.constraint());
            PgError::QueryFailed(v4::QueryError::DbError(v4::DbError {
                // "ERROR: relation … does not exist", with DETAIL and HINT lines.
                as_text: db.to_string(),
                severity: db.severity().to_string(),
                code: db.code().code().to_string(),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                extras,
            }))
        }
        None => PgError::QueryFailed(v4::QueryError::Text(match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_both_forms_resolve_to_hosts_and_ports() {
        let (_, t) = targets("postgres://u:pw@db.example:6543/shop").unwrap();
        assert_eq!(t, vec![("db.example".to_string(), 6543)]);
        let (_, t) = targets("host=localhost user=postgres dbname=x").unwrap();
        assert_eq!(t, vec![("localhost".to_string(), 5432)]);
        let (_, t) = targets("host=a,b port=1,2 user=u").unwrap();
        assert_eq!(t, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
        assert!(targets("host=/var/run/postgresql user=u").unwrap_err().contains("Unix socket"));
        assert!(targets("not an address at all =").is_err());
        assert!(targets("user=u").unwrap_err().contains("names no host"));
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redacted("postgres://u:secret@h:1/d"), "postgres://…@h:1/d");
        assert_eq!(redacted("host=h password=secret user=u"), "host=h password=… user=u");
        assert!(!targets("postgres://u:secret@/d").map(|_| ()).unwrap_err().contains("secret"));
    }
}
