//! Loads `runtime-config.toml`: where each key-value store and SQLite
//! database label lives (a file, or memory), with Spin's rules: a configured
//! label without `path` is in memory, and an unconfigured `default` label is a
//! file in the state dir; and the variables providers
//! (`[[variables_provider]]`, or its older spelling `[[config_provider]]`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::blocked_networks::BlockedNetworks;
use crate::client_tls::ClientTlsConfig;
use crate::connection_limits::ConnectionLimits;
use crate::error::ConfigError;
use crate::paths::resolve_path;
use crate::toml_source::{KeyPath, TomlSource};

/// Store locations by label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub key_value_stores: BTreeMap<String, StoreConfig>,
    pub sqlite_databases: BTreeMap<String, StoreConfig>,
    /// The configured variables providers, in the order they are asked;
    /// Spin's default environment provider comes after them all.
    pub variables_providers: Vec<VariablesProvider>,
    /// `[outbound_networking] block_networks`: where no guest may connect.
    pub blocked_networks: BlockedNetworks,
    /// `[[client_tls]]`: outbound HTTPS settings by component and host.
    pub client_tls: Vec<ClientTlsConfig>,
    /// How many outbound connections guests may hold at once.
    pub connection_limits: ConnectionLimits,
}

/// A `[[variables_provider]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariablesProvider {
    Env(EnvProviderConfig),
    /// `type = "static"`: `values`, variable name to value, as written.
    Static(BTreeMap<String, String>),
}

/// A `type = "env"` variables provider: variable `name` is the environment
/// variable `<prefix>_<NAME>` (prefix `SPIN_VARIABLE` unless set), or, when
/// that is not set, the same name in the dotenv file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProviderConfig {
    pub prefix: Option<String>,
    /// As written (relative to the working directory, as in Spin).
    pub dotenv_path: Option<PathBuf>,
}

/// One store: `type = "spin"`, a SQLite database; or, for a key-value
/// store, `type = "redis"`, a Redis server that several replicas can share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Absolute path of the SQLite file; `None` keeps the store in memory
    /// (empty at every start), as Spin does for a label without `path`.
    pub path: Option<PathBuf>,
    /// A `type = "redis"` key-value store's server (`redis://...`); `path`
    /// is then `None`.
    pub redis_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, toml::Table>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, toml::Table>,
    #[serde(default)]
    variables_provider: Vec<toml::Table>,
    #[serde(default)]
    config_provider: Vec<toml::Table>,
    outbound_networking: Option<toml::Table>,
    #[serde(default)]
    client_tls: Vec<toml::Table>,
    // Each kind's connection limit (`connection_limits.rs`).
    outbound_http: Option<toml::Value>,
    outbound_redis: Option<toml::Value>,
    outbound_pg: Option<toml::Value>,
    outbound_mysql: Option<toml::Value>,
    outbound_mqtt: Option<toml::Value>,
}

/// The kinds of store, with their table name and the `default` label's file.
struct Kind {
    table: &'static str,
    default_file: &'static str,
}

const KEY_VALUE: Kind = Kind { table: "key_value_store", default_file: "sqlite_key_value.db" };

const SQLITE: Kind = Kind { table: "sqlite_database", default_file: "sqlite_db.db" };

const SUPPORTED_TYPE: &str = "spin";

impl RuntimeConfig {
    /// Loads `file` (if any). Both kinds always have a `default` label: unless
    /// the file configures it, the key-value default is
    /// `<state_dir>/sqlite_key_value.db` and the SQLite default is
    /// `<state_dir>/sqlite_db.db`. A configured label (`default` too) without
    /// `path` is in memory. A relative `path` is resolved against the config
    /// file's folder.
    pub fn load(file: Option<&Path>, state_dir: &Path) -> Result<RuntimeConfig, ConfigError> {
        let mut config = RuntimeConfig {
            key_value_stores: BTreeMap::new(),
            sqlite_databases: BTreeMap::new(),
            variables_providers: Vec::new(),
            blocked_networks: BlockedNetworks::default(),
            client_tls: Vec::new(),
            connection_limits: ConnectionLimits::default(),
        };
        if let Some(file) = file {
            let file = crate::paths::absolute(file).map_err(|e| ConfigError::new(file, "", format!("cannot resolve path: {e}")))?;
            let source = TomlSource::read(&file)?;
            let raw: RawRuntimeConfig = source.deserialize()?;
            let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
            config.key_value_stores = stores(&source, &dir, &KEY_VALUE, raw.key_value_store)?;
            config.sqlite_databases = stores(&source, &dir, &SQLITE, raw.sqlite_database)?;
            let (table, providers) = match (raw.variables_provider.is_empty(), raw.config_provider.is_empty()) {
                (false, false) => {
                    return Err(
                        source.error_at(&KeyPath::root().key("config_provider"), "use `variables_provider` or its older name `config_provider`, not both")
                    );
                }
                (true, false) => ("config_provider", raw.config_provider),
                _ => ("variables_provider", raw.variables_provider),
            };
            config.variables_providers = providers
                .into_iter()
                .enumerate()
                .map(|(i, t)| variables_provider(&source, &KeyPath::root().key(table).index(i), t))
                .collect::<Result<_, _>>()?;
            if let Some(table) = raw.outbound_networking {
                config.blocked_networks = outbound_networking(&source, table, &mut config.connection_limits)?;
            }
            let kinds = [
                ("outbound_http", raw.outbound_http),
                ("outbound_redis", raw.outbound_redis),
                ("outbound_pg", raw.outbound_pg),
                ("outbound_mysql", raw.outbound_mysql),
                ("outbound_mqtt", raw.outbound_mqtt),
            ];
            let kinds: toml::Table = kinds.into_iter().filter_map(|(name, value)| Some((name.to_string(), value?))).collect();
            config.connection_limits.read_kinds(&source, &kinds)?;
            config.client_tls = crate::client_tls::parse(&source, &dir, raw.client_tls)?;
        }
        for (stores, kind) in [(&mut config.key_value_stores, &KEY_VALUE), (&mut config.sqlite_databases, &SQLITE)] {
            stores.entry("default".to_owned()).or_insert_with(|| StoreConfig { path: Some(state_dir.join(kind.default_file)), redis_url: None });
        }
        Ok(config)
    }
}

/// `[outbound_networking]`: `block_networks`, a list of CIDR blocks and
/// `private`, `max_total_connections` and `max_socket_connections`.
fn outbound_networking(source: &TomlSource, table: toml::Table, limits: &mut ConnectionLimits) -> Result<BlockedNetworks, ConfigError> {
    let path = KeyPath::root().key("outbound_networking");
    if let Some(key) = table.keys().find(|k| !["block_networks", "max_total_connections", "max_socket_connections"].contains(&k.as_str())) {
        let message = format!("unknown key `{key}`; [outbound_networking] accepts `block_networks`, `max_total_connections` and `max_socket_connections`");
        return Err(source.error_at(&path.key(key), message));
    }
    if let Some(total) = table.get("max_total_connections") {
        limits.read_total(source, &path.key("max_total_connections"), total)?;
    }
    if let Some(sockets) = table.get("max_socket_connections") {
        limits.read_sockets(source, &path.key("max_socket_connections"), sockets)?;
    }
    let path = path.key("block_networks");
    let entries = match table.get("block_networks") {
        None => return Ok(BlockedNetworks::default()),
        Some(toml::Value::Array(entries)) => entries,
        Some(_) => return Err(source.error_at(&path, "must be a list of IP networks (\"10.0.0.0/8\") or \"private\"")),
    };
    let mut blocked = BlockedNetworks::default();
    for (i, entry) in entries.iter().enumerate() {
        let toml::Value::String(entry) = entry else { return Err(source.error_at(&path.index(i), "must be a string")) };
        blocked.add(entry).map_err(|e| source.error_at(&path.index(i), e))?;
    }
    Ok(blocked)
}

fn stores(source: &TomlSource, config_dir: &Path, kind: &Kind, raw: BTreeMap<String, toml::Table>) -> Result<BTreeMap<String, StoreConfig>, ConfigError> {
    let mut out = BTreeMap::new();
    for (label, table) in raw {
        let path = KeyPath::root().key(kind.table).key(&label);
        out.insert(label, store(source, &path, config_dir, kind, table)?);
    }
    Ok(out)
}

/// Checks one `[<kind>.<label>]` table.
fn store(source: &TomlSource, path: &KeyPath, config_dir: &Path, kind: &Kind, table: toml::Table) -> Result<StoreConfig, ConfigError> {
    let supported = if kind.table == KEY_VALUE.table { "\"spin\" or \"redis\"" } else { "\"spin\"" };
    let redis = match table.get("type") {
        None => return Err(source.error_at(path, format!("missing `type`; the supported type is {supported}"))),
        Some(toml::Value::String(t)) if t == SUPPORTED_TYPE => false,
        Some(toml::Value::String(t)) if t == "redis" && kind.table == KEY_VALUE.table => true,
        Some(other) => return Err(source.error_at(&path.key("type"), format!("unsupported store type {other}; the supported type is {supported}"))),
    };
    let allowed: &[&str] = if redis { &["type", "url"] } else { &["type", "path"] };
    if let Some(unknown) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        let accepts = if redis { "a \"redis\" store accepts only `type` and `url`" } else { "a \"spin\" store accepts only `type` and `path`" };
        return Err(source.error_at(&path.key(unknown), format!("unknown key `{unknown}`; {accepts}")));
    }
    if redis {
        return match table.get("url") {
            Some(toml::Value::String(url)) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(StoreConfig { path: None, redis_url: Some(url.clone()) })
            }
            Some(_) => Err(source.error_at(&path.key("url"), "must be a redis:// or rediss:// URL string")),
            None => Err(source.error_at(path, "missing `url` (e.g. \"redis://localhost:6379\")")),
        };
    }
    match table.get("path") {
        None => Ok(StoreConfig { path: None, redis_url: None }),
        Some(toml::Value::String(p)) if !p.trim().is_empty() => Ok(StoreConfig { path: Some(resolve_path(config_dir, p)), redis_url: None }),
        Some(_) => Err(source.error_at(&path.key("path"), "must be a non-empty file path string")),
    }
}

const PROVIDER_TYPES: &str = "the supported types are \"env\" and \"static\"";

/// Checks one `[[variables_provider]]` table.
fn variables_provider(source: &TomlSource, path: &KeyPath, table: toml::Table) -> Result<VariablesProvider, ConfigError> {
    match table.get("type") {
        Some(toml::Value::String(kind)) if kind == "env" => {}
        Some(toml::Value::String(kind)) if kind == "static" => return static_provider(source, path, &table),
        Some(toml::Value::String(kind)) if ["vault", "azure_key_vault"].contains(&kind.as_str()) => {
            return Err(source.error_at(&path.key("type"), format!("the \"{kind}\" variables provider is not served by souk yet; {PROVIDER_TYPES}")));
        }
        Some(other) => return Err(source.error_at(&path.key("type"), format!("unknown variables provider type {other}; {PROVIDER_TYPES}"))),
        None => return Err(source.error_at(path, format!("missing `type`; {PROVIDER_TYPES}"))),
    }
    if let Some(unknown) = table.keys().find(|k| !matches!(k.as_str(), "type" | "prefix" | "dotenv_path")) {
        return Err(source.error_at(&path.key(unknown), format!("unknown key `{unknown}`; an \"env\" provider accepts `type`, `prefix` and `dotenv_path`")));
    }
    let text = |key: &str| match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(source.error_at(&path.key(key), "must be a string")),
    };
    Ok(VariablesProvider::Env(EnvProviderConfig { prefix: text("prefix")?, dotenv_path: text("dotenv_path")?.map(PathBuf::from) }))
}

/// A `type = "static"` provider: `values`, a table of variable names and
/// their string values.
fn static_provider(source: &TomlSource, path: &KeyPath, table: &toml::Table) -> Result<VariablesProvider, ConfigError> {
    if let Some(unknown) = table.keys().find(|k| !matches!(k.as_str(), "type" | "values")) {
        return Err(source.error_at(&path.key(unknown), format!("unknown key `{unknown}`; a \"static\" provider accepts `type` and `values`")));
    }
    let values = match table.get("values") {
        Some(toml::Value::Table(values)) => values,
        Some(_) => return Err(source.error_at(&path.key("values"), "must be a table of variable names and string values")),
        None => return Err(source.error_at(path, "missing `values` (e.g. values = { api_url = \"https://example.com\" })")),
    };
    let mut out = BTreeMap::new();
    for (name, value) in values {
        let toml::Value::String(value) = value else { return Err(source.error_at(&path.key("values").key(name), "must be a string")) };
        out.insert(name.clone(), value.clone());
    }
    Ok(VariablesProvider::Static(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let file = dir.join("runtime-config.toml");
        std::fs::write(&file, text).unwrap();
        file
    }

    #[test]
    fn without_a_file_both_defaults_are_in_the_state_dir() {
        let rc = RuntimeConfig::load(None, Path::new("/app/.spin")).unwrap();
        assert_eq!(rc.key_value_stores.len(), 1);
        assert_eq!(rc.key_value_stores["default"].path.as_deref(), Some(Path::new("/app/.spin/sqlite_key_value.db")));
        assert_eq!(rc.sqlite_databases.len(), 1);
        assert_eq!(rc.sqlite_databases["default"].path.as_deref(), Some(Path::new("/app/.spin/sqlite_db.db")));
    }

    #[test]
    fn relative_store_path_is_resolved_against_the_config_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(
            tmp.path(),
            "[key_value_store.cache]\ntype = \"spin\"\npath = \"data/cache.db\"\n\n[sqlite_database.default]\ntype = \"spin\"\npath = \"/abs/main.db\"\n",
        );
        let rc = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap();
        assert_eq!(rc.key_value_stores["cache"].path, Some(tmp.path().join("data/cache.db")));
        assert_eq!(rc.key_value_stores["default"].path.as_deref(), Some(Path::new("/state/sqlite_key_value.db")));
        assert_eq!(rc.sqlite_databases["default"].path.as_deref(), Some(Path::new("/abs/main.db")));
    }

    #[test]
    fn a_configured_store_without_path_is_in_memory_as_in_spin() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(
            tmp.path(),
            "[key_value_store.cache]\ntype = \"spin\"\n[sqlite_database.orders]\ntype = \"spin\"\n[key_value_store.default]\ntype = \"spin\"\n",
        );
        let rc = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap();
        assert_eq!(rc.key_value_stores["cache"].path, None);
        assert_eq!(rc.key_value_stores["default"].path, None);
        assert_eq!(rc.sqlite_databases["orders"].path, None);
        // Not configured: the default label stays a file in the state dir.
        assert_eq!(rc.sqlite_databases["default"].path.as_deref(), Some(Path::new("/state/sqlite_db.db")));
    }

    #[test]
    fn unsupported_store_type_names_key_and_supported_type() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "[key_value_store.cache]\ntype = \"azure_cosmos\"\nurl = \"x\"\n");
        let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
        assert_eq!(e.key, "key_value_store.cache.type");
        assert!(e.message.contains("\"azure_cosmos\"") && e.message.contains("\"spin\" or \"redis\""), "{e}");
        assert!(e.message.starts_with("line 2: "), "{e}");
        assert!(e.to_string().contains("runtime-config.toml"), "{e}");
    }

    #[test]
    fn missing_store_type_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "[sqlite_database.main]\npath = \"x.db\"\n");
        let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
        assert_eq!(e.key, "sqlite_database.main");
        assert!(e.message.contains("type"), "{e}");
    }

    #[test]
    fn unknown_store_key_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "[sqlite_database.main]\ntype = \"spin\"\npth = \"x.db\"\n");
        let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
        assert_eq!(e.key, "sqlite_database.main.pth");
        assert!(e.message.contains("line 3"), "{e}");
    }

    #[test]
    fn outbound_networking_blocks_networks_and_names_a_bad_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "[outbound_networking]\nblock_networks = [\"10.0.0.0/8\", \"private\"]\n");
        let rc = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap();
        assert!(rc.blocked_networks.is_blocked("10.1.2.3".parse().unwrap()));
        assert!(rc.blocked_networks.is_blocked("127.0.0.1".parse().unwrap()));
        assert!(!rc.blocked_networks.is_blocked("1.1.1.1".parse().unwrap()));

        let file = write(tmp.path(), "[outbound_networking]\nblock_networks = [\"10.0.0.0/8\", \"intranet\"]\n");
        let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
        assert_eq!(e.key, "outbound_networking.block_networks[1]");
        assert!(e.message.contains("`intranet` is not an IP network"), "{e}");

        let file = write(tmp.path(), "[outbound_networking]\nmax_socket_connections = -1\n");
        let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
        assert_eq!(e.key, "outbound_networking.max_socket_connections");
        assert!(e.message.contains("whole number"), "{e}");
    }

    #[test]
    fn connection_limits_are_read_for_every_kind_and_a_bad_one_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "[outbound_networking]\nmax_total_connections = 10\nmax_socket_connections = 6\n[outbound_http]\nmax_connections = 0\n[outbound_redis]\nmax_connections = 2\n\
                    [outbound_pg]\nmax_connections = 3\n[outbound_mysql]\nmax_connections = 4\n[outbound_mqtt]\nmax_connections = 5\n";
        let rc = RuntimeConfig::load(Some(&write(tmp.path(), text)), Path::new("/state")).unwrap();
        let expected = ConnectionLimits { total: Some(10), http: Some(0), redis: Some(2), postgres: Some(3), mysql: Some(4), mqtt: Some(5), sockets: Some(6) };
        assert_eq!(rc.connection_limits, expected);
        let rc = RuntimeConfig::load(Some(&write(tmp.path(), "[outbound_http]\nmax_concurrent_requests = 0\n")), Path::new("/state")).unwrap();
        assert_eq!(rc.connection_limits, ConnectionLimits { http: Some(1), ..Default::default() }, "the older key's 0 allowed one");
        let rc = RuntimeConfig::load(Some(&write(tmp.path(), "[key_value_store.default]\ntype = \"spin\"\n")), Path::new("/state")).unwrap();
        assert_eq!(rc.connection_limits, ConnectionLimits::default(), "no limit unless set");

        for (text, key, says) in [
            ("[outbound_redis]\nmax_connections = -1\n", "outbound_redis.max_connections", "0 or more"),
            ("[outbound_pg]\nmax_connections = \"ten\"\n", "outbound_pg.max_connections", "whole number"),
            ("[outbound_mqtt]\nmax_conections = 1\n", "outbound_mqtt.max_conections", "unknown key"),
            ("[outbound_http]\nmax_connections = 1\nmax_concurrent_requests = 1\n", "outbound_http", "not both"),
            ("[outbound_networking]\nmax_total_connections = 1.5\n", "outbound_networking.max_total_connections", "whole number"),
            ("outbound_mysql = 3\n", "outbound_mysql", "must be a table"),
        ] {
            let e = RuntimeConfig::load(Some(&write(tmp.path(), text)), Path::new("/state")).unwrap_err();
            assert_eq!(e.key, key, "{text}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn client_tls_follows_spins_defaults_and_names_a_bad_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "[[client_tls]]\ncomponent_ids = [\"api\"]\nhosts = [\"Internal.Example\"]\n\n[[client_tls]]\ncomponent_ids = [\"api\", \"web\"]\nhosts = [\"10.0.0.5\"]\nca_roots_file = \"certs/ca.pem\"\nclient_cert_file = \"certs/me.pem\"\nclient_private_key_file = \"certs/me.key\"\n";
        let file = write(tmp.path(), text);
        let rc = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap();
        let (first, second) = (&rc.client_tls[0], &rc.client_tls[1]);
        assert_eq!((first.hosts.as_slice(), first.use_platform_roots, first.use_webpki_roots), (["internal.example".to_string()].as_slice(), true, false));
        assert_eq!((second.use_platform_roots, second.use_webpki_roots), (false, false), "a roots file alone is trusted alone");
        assert_eq!(second.ca_roots_file.as_deref(), Some(tmp.path().join("certs/ca.pem").as_path()));
        assert_eq!(second.client_cert.as_ref().unwrap().1, tmp.path().join("certs/me.key"));
        assert_eq!(second.at, "client_tls[1]");

        for (text, key, says) in [
            ("[[client_tls]]\ncomponent_ids = [\"api\"]\nhosts = [\"example.com:443\"]\n", "client_tls[0].hosts[0]", "ports are not supported"),
            ("[[client_tls]]\ncomponent_ids = []\nhosts = [\"example.com\"]\n", "client_tls[0].component_ids", "non-empty list"),
            ("[[client_tls]]\ncomponent_ids = [\"api\"]\nhosts = [\"example.com\"]\nca_use_platform_roots = false\n", "client_tls[0]", "trusts no root"),
            (
                "[[client_tls]]\ncomponent_ids = [\"api\"]\nhosts = [\"example.com\"]\nclient_cert_file = \"me.pem\"\n",
                "client_tls[0].client_cert_file",
                "client_private_key_file",
            ),
        ] {
            let file = write(tmp.path(), text);
            let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(e.message.contains(says), "{e}");
        }
    }

    #[test]
    fn unknown_top_level_table_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "[llm_compute]\ntype = \"spin\"\n");
        let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
        assert_eq!(e.key, "llm_compute");
        assert!(e.message.contains("unknown field `llm_compute`"), "{e}");
    }

    #[test]
    fn store_path_must_be_a_string() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "[key_value_store.default]\ntype = \"spin\"\npath = 3\n");
        let e = RuntimeConfig::load(Some(&file), Path::new("/state")).unwrap_err();
        assert_eq!(e.key, "key_value_store.default.path");
    }

    #[test]
    fn unreadable_file_is_an_error_naming_it() {
        let e = RuntimeConfig::load(Some(Path::new("/nonexistent/rc.toml")), Path::new("/state")).unwrap_err();
        assert_eq!(e.file, Path::new("/nonexistent/rc.toml"));
        assert!(e.message.contains("cannot read"), "{e}");
    }

    #[test]
    fn variables_providers_are_read_in_order_and_bad_ones_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(
            tmp.path(),
            "[[variables_provider]]\ntype = \"env\"\nprefix = \"SHOP\"\ndotenv_path = \"shop.env\"\n\n[[variables_provider]]\ntype = \"env\"\n",
        );
        let rc = RuntimeConfig::load(Some(&file), tmp.path()).unwrap();
        assert_eq!(
            rc.variables_providers,
            [
                VariablesProvider::Env(EnvProviderConfig { prefix: Some("SHOP".into()), dotenv_path: Some("shop.env".into()) }),
                VariablesProvider::Env(EnvProviderConfig { prefix: None, dotenv_path: None })
            ]
        );
        let file = write(tmp.path(), "[[config_provider]]\ntype = \"env\"\nprefix = \"OLD\"\n");
        let old = VariablesProvider::Env(EnvProviderConfig { prefix: Some("OLD".into()), dotenv_path: None });
        assert_eq!(RuntimeConfig::load(Some(&file), tmp.path()).unwrap().variables_providers, [old]);
        let file = write(tmp.path(), "[[variables_provider]]\ntype = \"static\"\nvalues = { api_url = \"https://a.example\", mode = \"live\" }\n");
        let values = BTreeMap::from([("api_url".to_string(), "https://a.example".to_string()), ("mode".to_string(), "live".to_string())]);
        assert_eq!(RuntimeConfig::load(Some(&file), tmp.path()).unwrap().variables_providers, [VariablesProvider::Static(values)]);
        for (text, key, says) in [
            ("[[variables_provider]]\ntype = \"static\"\nvalues = { port = 80 }\n", "variables_provider[0].values.port", "must be a string"),
            ("[[variables_provider]]\ntype = \"static\"\n", "variables_provider[0]", "missing `values`"),
            ("[[variables_provider]]\ntype = \"static\"\nvalues = {}\nprefix = \"A\"\n", "variables_provider[0].prefix", "unknown key"),
        ] {
            let e = RuntimeConfig::load(Some(&write(tmp.path(), text)), tmp.path()).unwrap_err();
            assert_eq!(e.key, key, "{text}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
        let file = write(tmp.path(), "[[variables_provider]]\ntype = \"vault\"\nurl = \"x\"\n");
        let e = RuntimeConfig::load(Some(&file), tmp.path()).unwrap_err();
        assert!(e.message.contains("\"vault\" variables provider is not served by souk yet"), "{e}");
        assert!(e.to_string().contains("variables_provider[0].type") || e.to_string().contains("variables_provider"), "{e}");
        let file = write(tmp.path(), "[[variables_provider]]\ntype = \"env\"\nprefx = \"A\"\n");
        assert!(RuntimeConfig::load(Some(&file), tmp.path()).unwrap_err().message.contains("unknown key `prefx`"));
    }

    #[test]
    fn a_redis_key_value_store_needs_a_redis_url_and_sqlite_cannot_be_redis() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "[key_value_store.cart]\ntype = \"redis\"\nurl = \"redis://cache:6379/1\"\n");
        let rc = RuntimeConfig::load(Some(&file), tmp.path()).unwrap();
        assert_eq!(rc.key_value_stores["cart"], StoreConfig { path: None, redis_url: Some("redis://cache:6379/1".into()) });
        let file = write(tmp.path(), "[key_value_store.cart]\ntype = \"redis\"\n");
        assert!(RuntimeConfig::load(Some(&file), tmp.path()).unwrap_err().message.contains("missing `url`"));
        let file = write(tmp.path(), "[key_value_store.cart]\ntype = \"redis\"\nurl = \"http://x\"\n");
        assert_eq!(RuntimeConfig::load(Some(&file), tmp.path()).unwrap_err().key, "key_value_store.cart.url");
        let file = write(tmp.path(), "[sqlite_database.main]\ntype = \"redis\"\nurl = \"redis://x\"\n");
        let e = RuntimeConfig::load(Some(&file), tmp.path()).unwrap_err();
        assert!(e.message.contains("the supported type is \"spin\""), "{e}");
    }
}
