//! The runtime config's `[[client_tls]]` entries, as Spin reads them: for
//! the listed components' outbound HTTPS to the listed hosts, which roots
//! a server's certificate may chain to (the system's, the web's, a file of
//! CA certificates) and the client certificate to present. The files are
//! read by the host at start-up (`capabilities/client_tls.rs`); here they
//! are resolved against the runtime config's folder.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::paths::resolve_path;
use crate::toml_source::{KeyPath, TomlSource};

/// One `[[client_tls]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTlsConfig {
    /// Where it is written (`client_tls[0]`), for messages.
    pub at: String,
    pub component_ids: Vec<String>,
    /// Host names, in lower case, without ports.
    pub hosts: Vec<String>,
    pub use_platform_roots: bool,
    pub use_webpki_roots: bool,
    pub ca_roots_file: Option<PathBuf>,
    /// The client's certificate chain and private key (PEM files).
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

const KEYS: [&str; 7] =
    ["component_ids", "hosts", "ca_use_platform_roots", "ca_use_webpki_roots", "ca_roots_file", "client_cert_file", "client_private_key_file"];

pub(crate) fn parse(source: &TomlSource, dir: &Path, tables: Vec<toml::Table>) -> Result<Vec<ClientTlsConfig>, ConfigError> {
    tables.into_iter().enumerate().map(|(i, table)| entry(source, dir, &KeyPath::root().key("client_tls").index(i), table)).collect()
}

fn entry(source: &TomlSource, dir: &Path, path: &KeyPath, table: toml::Table) -> Result<ClientTlsConfig, ConfigError> {
    if let Some(unknown) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(
            source.error_at(&path.key(unknown), format!("unknown key `{unknown}`; [[client_tls]] accepts {}", KEYS.map(|k| format!("`{k}`")).join(", ")))
        );
    }
    let strings = |key: &str| -> Result<Vec<String>, ConfigError> {
        let Some(toml::Value::Array(items)) = table.get(key) else {
            return Err(source.error_at(&path.key(key), "must be a non-empty list of strings"));
        };
        let items: Vec<String> = items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        if items.is_empty() || items.len() != table[key].as_array().map_or(0, Vec::len) {
            return Err(source.error_at(&path.key(key), "must be a non-empty list of strings"));
        }
        Ok(items)
    };
    let flag = |key: &str| -> Result<Option<bool>, ConfigError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(_) => Err(source.error_at(&path.key(key), "must be true or false")),
        }
    };
    let file = |key: &str| -> Result<Option<PathBuf>, ConfigError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(p)) if !p.trim().is_empty() => Ok(Some(resolve_path(dir, p))),
            Some(_) => Err(source.error_at(&path.key(key), "must be a non-empty file path string")),
        }
    };
    let component_ids = strings("component_ids")?;
    let mut hosts = Vec::new();
    for (i, host) in strings("hosts")?.into_iter().enumerate() {
        // Checked as Spin checks it: an HTTP authority, without a port.
        let authority: http::uri::Authority = host.parse().map_err(|_| source.error_at(&path.key("hosts").index(i), format!("`{host}` is not a host name")))?;
        if authority.port().is_some() {
            return Err(source.error_at(&path.key("hosts").index(i), format!("`{host}`: ports are not supported here, name the host alone")));
        }
        hosts.push(authority.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase());
    }
    let ca_roots_file = file("ca_roots_file")?;
    // Spin's defaults: the system's roots unless a file of roots is given.
    let (use_platform_roots, use_webpki_roots) = match (flag("ca_use_platform_roots")?, flag("ca_use_webpki_roots")?) {
        (Some(platform), Some(webpki)) => (platform, webpki),
        (Some(platform), None) => (platform, false),
        (None, Some(webpki)) => (false, webpki),
        (None, None) => (ca_roots_file.is_none(), false),
    };
    if !use_platform_roots && !use_webpki_roots && ca_roots_file.is_none() {
        return Err(source.error_at(path, "trusts no root: set `ca_use_platform_roots`, `ca_use_webpki_roots` or `ca_roots_file`"));
    }
    let client_cert = match (file("client_cert_file")?, file("client_private_key_file")?) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => return Err(source.error_at(&path.key("client_cert_file"), "needs `client_private_key_file` too")),
        (None, Some(_)) => return Err(source.error_at(&path.key("client_private_key_file"), "needs `client_cert_file` too")),
    };
    Ok(ClientTlsConfig { at: path.to_string(), component_ids, hosts, use_platform_roots, use_webpki_roots, ca_roots_file, client_cert })
}
