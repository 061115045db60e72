//! Spin's limits on the outbound connections an app's guests hold at once,
//! as its runtime config writes them: `[outbound_networking]
//! max_total_connections` for every kind together, `[outbound_networking]
//! max_socket_connections` for `wasi:sockets` sockets, and `max_connections` in
//! `[outbound_http]`, `[outbound_redis]`, `[outbound_pg]`,
//! `[outbound_mysql]` and `[outbound_mqtt]` for one kind (`[outbound_http]
//! max_concurrent_requests` is the older spelling, where 0 still allowed
//! one). Absent: no limit. 0: no connection of that kind.

use crate::error::ConfigError;
use crate::toml_source::{KeyPath, TomlSource};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub total: Option<usize>,
    pub http: Option<usize>,
    pub redis: Option<usize>,
    pub postgres: Option<usize>,
    pub mysql: Option<usize>,
    pub mqtt: Option<usize>,
    /// Open `wasi:sockets` sockets.
    pub sockets: Option<usize>,
}

/// Where one kind's limit is kept.
type Field = fn(&mut ConnectionLimits) -> &mut Option<usize>;

/// The tables of one kind's limit, and the field each fills.
const KINDS: [(&str, Field); 5] = [
    ("outbound_http", |l| &mut l.http),
    ("outbound_redis", |l| &mut l.redis),
    ("outbound_pg", |l| &mut l.postgres),
    ("outbound_mysql", |l| &mut l.mysql),
    ("outbound_mqtt", |l| &mut l.mqtt),
];

impl ConnectionLimits {
    /// Reads each kind's table present in the file's top level `tables`.
    pub(crate) fn read_kinds(&mut self, source: &TomlSource, tables: &toml::Table) -> Result<(), ConfigError> {
        for (name, field) in KINDS {
            let Some(value) = tables.get(name) else { continue };
            let path = KeyPath::root().key(name);
            let toml::Value::Table(table) = value else { return Err(source.error_at(&path, "must be a table")) };
            let older = name == "outbound_http";
            let accepted = if older { "`max_connections` (or its older spelling `max_concurrent_requests`)" } else { "`max_connections`" };
            if let Some(key) = table.keys().find(|k| k.as_str() != "max_connections" && !(older && k.as_str() == "max_concurrent_requests")) {
                return Err(source.error_at(&path.key(key), format!("unknown key `{key}`; [{name}] accepts {accepted}")));
            }
            let limit = match (table.get("max_connections"), older.then(|| table.get("max_concurrent_requests")).flatten()) {
                (Some(_), Some(_)) => return Err(source.error_at(&path, "set `max_connections` or `max_concurrent_requests`, not both")),
                (Some(max), None) => Some(count(source, &path.key("max_connections"), max)?),
                // The older key counted requests beyond the first: 0 allowed one.
                (None, Some(max)) => Some(count(source, &path.key("max_concurrent_requests"), max)?.max(1)),
                (None, None) => None,
            };
            *field(self) = limit;
        }
        Ok(())
    }

    /// `[outbound_networking] max_total_connections`.
    pub(crate) fn read_total(&mut self, source: &TomlSource, path: &KeyPath, value: &toml::Value) -> Result<(), ConfigError> {
        self.total = Some(count(source, path, value)?);
        Ok(())
    }

    /// `[outbound_networking] max_socket_connections`.
    pub(crate) fn read_sockets(&mut self, source: &TomlSource, path: &KeyPath, value: &toml::Value) -> Result<(), ConfigError> {
        self.sockets = Some(count(source, path, value)?);
        Ok(())
    }
}

fn count(source: &TomlSource, path: &KeyPath, value: &toml::Value) -> Result<usize, ConfigError> {
    match value {
        toml::Value::Integer(n) if *n >= 0 => usize::try_from(*n).map_err(|_| source.error_at(path, "is too large")),
        _ => Err(source.error_at(path, "must be a whole number of connections, 0 or more")),
    }
}
