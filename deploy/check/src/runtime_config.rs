//! A Spin runtime config (the TOML file): where each store label lives.

use std::collections::BTreeMap;

use toml::{Table, Value};

/// One `[key_value_store.<label>]` or `[sqlite_database.<label>]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `type`: `spin` (a SQLite file, or memory without `path`), `redis`,
    /// `libsql`, ...
    pub kind: String,
    pub path: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub key_value_stores: BTreeMap<String, StoreConfig>,
    pub sqlite_databases: BTreeMap<String, StoreConfig>,
}

impl RuntimeConfig {
    pub fn parse(text: &str) -> Result<RuntimeConfig, String> {
        let table: Table = toml::from_str(text).map_err(|e| format!("runtime config: {e}"))?;
        Ok(RuntimeConfig { key_value_stores: stores(&table, "key_value_store")?, sqlite_databases: stores(&table, "sqlite_database")? })
    }
}

fn stores(table: &Table, section: &str) -> Result<BTreeMap<String, StoreConfig>, String> {
    let mut stores = BTreeMap::new();
    for (label, entry) in table.get(section).and_then(Value::as_table).into_iter().flatten() {
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        let kind = text("type").ok_or_else(|| format!("[{section}.{label}] has no type"))?;
        stores.insert(label.clone(), StoreConfig { kind, path: text("path"), url: text("url") });
    }
    Ok(stores)
}

/// The host and port of a `redis://[user:password@]host[:port][/db]` URL
/// (6379 when no port is given).
pub fn redis_host_port(url: &str) -> Option<(&str, u16)> {
    let rest = url.strip_prefix("redis://").or_else(|| url.strip_prefix("rediss://"))?;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, after)| after);
    match host_port.rsplit_once(':') {
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None if !host_port.is_empty() => Some((host_port, 6379)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_label_with_its_type_path_and_url() {
        let config = RuntimeConfig::parse(
            "[sqlite_database.users]\ntype = \"spin\"\npath = \"/data/u.db\"\n[key_value_store.cart]\ntype = \"redis\"\nurl = \"redis://r:6379/0\"\n",
        )
        .unwrap();
        assert_eq!(config.sqlite_databases["users"], StoreConfig { kind: "spin".into(), path: Some("/data/u.db".into()), url: None });
        assert_eq!(config.key_value_stores["cart"].url.as_deref(), Some("redis://r:6379/0"));
        assert!(RuntimeConfig::parse("[key_value_store.x]\npath = \"a\"\n").unwrap_err().contains("[key_value_store.x] has no type"));
        assert!(RuntimeConfig::parse("[key_value_store.x\n").is_err());
    }

    #[test]
    fn redis_urls_give_their_host_and_port() {
        assert_eq!(redis_host_port("redis://souk-redis:6379/1"), Some(("souk-redis", 6379)));
        assert_eq!(redis_host_port("redis://souk-redis"), Some(("souk-redis", 6379)));
        assert_eq!(redis_host_port("redis://:secret@r.ns.svc:6380"), Some(("r.ns.svc", 6380)));
        assert_eq!(redis_host_port("http://r:6379"), None);
        assert_eq!(redis_host_port("redis://r:port"), None);
    }
}
