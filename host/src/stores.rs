//! The stores of the whole app: key-value stores and SQLite databases, the
//! shared outbound connections (Redis, PostgreSQL, MySQL), and what guards
//! them (blocked networks, client TLS, connection limits), opened at
//! start-up from runtime-config.toml and closed at shutdown.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use souk_manifest::{AppManifest, BlockedNetworks, RuntimeConfig};
use wasmtime::format_err;

use crate::capabilities::client_tls::ClientTls;
use crate::capabilities::connection_limits::ConnectionLimits;
use crate::capabilities::key_value::KeyValueStores;
use crate::capabilities::outbound_mysql::MysqlPools;
use crate::capabilities::outbound_pg::PgPools;
use crate::capabilities::outbound_redis::RedisClients;
use crate::capabilities::sqlite::SqliteDatabases;

/// The stores of the whole app, opened at start-up and closed at shutdown.
#[derive(Default)]
pub struct Stores {
    pub key_value: KeyValueStores,
    pub sqlite: SqliteDatabases,
    /// The connections of `type = "redis"` key-value stores.
    pub redis: Arc<RedisClients>,
    /// Guests' outbound Redis connections, shared by every component and
    /// held to the blocked networks.
    pub outbound_redis: Arc<RedisClients>,
    /// Where no guest may connect (`[outbound_networking] block_networks`).
    pub blocked_networks: Arc<BlockedNetworks>,
    /// Outbound HTTPS trust and identity by component and host (`[[client_tls]]`).
    pub client_tls: ClientTls,
    /// Outbound PostgreSQL pools, shared by every component.
    pub postgres: Arc<PgPools>,
    /// Outbound MySQL pools, shared by every component.
    pub mysql: Arc<MysqlPools>,
    /// How many outbound connections guests may hold at once.
    pub connection_limits: Arc<ConnectionLimits>,
}

impl Stores {
    pub fn close(&self) {
        self.key_value.close();
        self.sqlite.close();
    }
}

/// Opens every store some component lists and runtime-config.toml (or the
/// built-in `default`) defines. Labels nobody configured stay unopened: the
/// guest gets `no-such-store` / `no-such-database` for them, as in Spin.
pub fn open_stores(manifest: &AppManifest, config: &RuntimeConfig, config_file: Option<&Path>, max_result_bytes: usize) -> wasmtime::Result<Stores> {
    let mut stores = Stores::default();
    stores.sqlite.max_result_bytes = max_result_bytes;
    stores.blocked_networks = Arc::new(config.blocked_networks.clone());
    stores.outbound_redis = Arc::new(RedisClients::holding_to(stores.blocked_networks.clone()));
    stores.connection_limits = Arc::new(ConnectionLimits::new(&config.connection_limits));
    let source = config_file.map(|p| p.display().to_string()).unwrap_or_else(|| "runtime config (built-in default)".into());
    stores.client_tls = ClientTls::load(&config.client_tls, &source).map_err(|e| format_err!("{e}"))?;
    let kv_labels: HashSet<&String> = manifest.components.values().flat_map(|c| &c.key_value_stores).collect();
    for label in kv_labels {
        if let Some(store) = config.key_value_stores.get(label) {
            KeyValueStores::open(label, store, &stores.redis, &mut stores.key_value).map_err(|e| format_err!("{source}: key_value_store.{label}: {e}"))?;
        }
    }
    let sql_labels: HashSet<&String> = manifest.components.values().flat_map(|c| &c.sqlite_databases).collect();
    for label in sql_labels {
        if let Some(db) = config.sqlite_databases.get(label) {
            SqliteDatabases::open(label, db.path.as_deref(), &mut stores.sqlite).map_err(|e| format_err!("{source}: sqlite_database.{label}: {e}"))?;
        }
    }
    Ok(stores)
}
