//! Version 1 manifests (`spin_manifest_version = "1"`, Spin 1's format), read
//! as Spin reads them: made into the version 2 document they mean, then
//! loaded as any other. One `[application] trigger` for the whole app;
//! each `[[component]]` carries its own trigger settings (`route`,
//! `executor` or `channel`), its variables as `config` and its outbound
//! rights as `allowed_http_hosts`, which become `allowed_outbound_hosts`
//! (with the database access version 1 gave every component, unless it
//! lists `allowed_outbound_hosts` itself).
//!
//! What the version 1 shape gets wrong is named by its own key; what the
//! version 2 loader finds wrong afterwards is named by the version 2 key
//! (see `TomlSource::converted_from`).

use toml::{Table, Value};

use crate::error::ConfigError;
use crate::toml_source::{KeyPath, TomlSource};

/// Whether the document says it is a version 1 manifest (the string "1",
/// as Spin reads it).
pub(super) fn is_v1(doc: &Table) -> bool {
    let says = |key: &str| matches!(doc.get(key), Some(Value::String(v)) if v == "1");
    says("spin_manifest_version") || (says("spin_version") && !doc.contains_key("spin_manifest_version"))
}

/// The version 2 document `doc` (a version 1 manifest read from `src`) means.
pub(super) fn to_v2(src: &TomlSource, mut doc: Table) -> Result<Table, ConfigError> {
    let root = KeyPath::root();
    doc.remove("spin_manifest_version");
    doc.remove("spin_version");
    let name = take_string(src, &mut doc, &root, "name")?.ok_or_else(|| src.error_at(&root.key("name"), "missing: a version 1 manifest names its app"))?;
    let Some(Value::Table(mut trigger)) = doc.remove("trigger") else {
        return Err(src.error_at(&root.key("trigger"), "missing: a version 1 manifest has `trigger = { type = \"http\" }` (or \"redis\")"));
    };
    let trigger_type = match trigger.remove("type") {
        Some(Value::String(kind)) => kind,
        _ => return Err(src.error_at(&root.key("trigger").key("type"), "must be the app's trigger type, such as \"http\" or \"redis\"")),
    };

    let mut application = Table::new();
    application.insert("name".into(), Value::String(name));
    for key in ["version", "description"] {
        if let Some(value) = take_string(src, &mut doc, &root, key)?.filter(|v| !v.is_empty()) {
            application.insert(key.into(), Value::String(value));
        }
    }
    if let Some(authors) = doc.remove("authors") {
        application.insert("authors".into(), authors);
    }
    if !trigger.is_empty() {
        application.insert("trigger".into(), Value::Table(Table::from_iter([(trigger_type.clone(), Value::Table(trigger))])));
    }

    let mut v2 = Table::new();
    v2.insert("spin_manifest_version".into(), Value::Integer(2));
    v2.insert("application".into(), Value::Table(application));
    if let Some(variables) = doc.remove("variables") {
        v2.insert("variables".into(), variables);
    }
    let components = match doc.remove("component") {
        None => Vec::new(),
        Some(Value::Array(components)) => components,
        Some(_) => return Err(src.error_at(&root.key("component"), "must be an array of tables (`[[component]]`)")),
    };
    if let Some(unknown) = doc.keys().next() {
        return Err(src.error_at(&root.key(unknown), format!("unknown key `{unknown}` in a version 1 manifest")));
    }

    let mut triggers = Vec::new();
    let mut by_id = Table::new();
    for (index, component) in components.into_iter().enumerate() {
        let path = root.key("component").index(index);
        let Value::Table(component) = component else { return Err(src.error_at(&path, "must be a table")) };
        let (id, converted, trigger) = component_to_v2(src, &path, component)?;
        let mut entry = trigger;
        entry.insert("id".into(), Value::String(format!("trigger-{id}")));
        entry.insert("component".into(), Value::String(id.clone()));
        triggers.push(Value::Table(entry));
        if by_id.insert(id.clone(), Value::Table(converted)).is_some() {
            return Err(src.error_at(&path.key("id"), format!("a second component `{id}`")));
        }
    }
    v2.insert("trigger".into(), Value::Table(Table::from_iter([(trigger_type, Value::Array(triggers))])));
    v2.insert("component".into(), Value::Table(by_id));
    Ok(v2)
}

/// One `[[component]]`: its id (made kebab-case as Spin makes it), its
/// version 2 `[component.<id>]` table, and its trigger's settings.
fn component_to_v2(src: &TomlSource, path: &KeyPath, mut component: Table) -> Result<(String, Table, Table), ConfigError> {
    let id = take_string(src, &mut component, path, "id")?.ok_or_else(|| src.error_at(&path.key("id"), "missing: each component has an `id`"))?;
    let id = if crate::names::check_component_id(&id).is_ok() { id } else { id.replace('_', "-").to_lowercase() };
    let trigger = match component.remove("trigger") {
        Some(Value::Table(trigger)) => trigger,
        _ => return Err(src.error_at(&path.key("trigger"), "missing: each component has its `trigger` settings (`route`, or `channel`)")),
    };
    if let Some(config) = component.remove("config") {
        component.insert("variables".into(), config);
    }
    let http_hosts = match component.remove("allowed_http_hosts") {
        None => Vec::new(),
        Some(Value::Array(hosts)) => hosts
            .iter()
            .enumerate()
            .map(|(i, host)| host.as_str().map(str::to_string).ok_or_else(|| src.error_at(&path.key("allowed_http_hosts").index(i), "must be a string")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(src.error_at(&path.key("allowed_http_hosts"), "must be an array of hosts")),
    };
    let listed = match component.remove("allowed_outbound_hosts") {
        None => None,
        Some(Value::Array(hosts)) => Some(hosts),
        Some(_) => return Err(src.error_at(&path.key("allowed_outbound_hosts"), "must be an array of hosts")),
    };
    let from_http = outbound_hosts(&http_hosts, listed.is_none()).map_err(|e| src.error_at(&path.key("allowed_http_hosts"), e))?;
    let mut allowed: Vec<Value> = listed.unwrap_or_default();
    allowed.extend(from_http.into_iter().map(Value::String));
    if !allowed.is_empty() {
        component.insert("allowed_outbound_hosts".into(), Value::Array(allowed));
    }
    if matches!(component.get("description"), Some(Value::String(d)) if d.is_empty()) {
        component.remove("description");
    }
    if matches!(component.get("ai_models"), Some(Value::Array(models)) if models.is_empty()) {
        component.remove("ai_models");
    }
    Ok((id, component, trigger))
}

/// `allowed_http_hosts` as `allowed_outbound_hosts`, as Spin converts it:
/// `insecure:allow-all` is any HTTP or HTTPS host and the app itself;
/// `self` the app itself; a host (with an optional port, with or without
/// `http://`/`https://`) both schemes on it. Version 1 let every component
/// reach any Redis, MySQL and PostgreSQL server: `with_databases` keeps that.
fn outbound_hosts(http_hosts: &[String], with_databases: bool) -> Result<Vec<String>, String> {
    let mut hosts: Vec<String> = if with_databases { ["redis://*:*", "mysql://*:*", "postgres://*:*"].map(String::from).to_vec() } else { Vec::new() };
    if http_hosts.iter().any(|h| h == "insecure:allow-all") {
        hosts.extend(["http://*:*", "https://*:*", "http://self"].map(String::from));
        return Ok(hosts);
    }
    for entry in http_hosts {
        let bare = match entry.split_once("://") {
            Some(("http" | "https", rest)) => rest,
            Some(_) => return Err(format!("{entry:?} is not an HTTP or HTTPS host")),
            None => entry.as_str(),
        };
        let authority = bare.strip_suffix('/').unwrap_or(bare);
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("{entry:?} is not a host or host:port (a path is not allowed)"));
        }
        if authority == "self" {
            hosts.push("http://self".into());
            continue;
        }
        if let Some((_, port)) = authority.rsplit_once(':')
            && port.parse::<u16>().is_err()
        {
            return Err(format!("{entry:?} has an invalid port"));
        }
        hosts.extend([format!("http://{authority}"), format!("https://{authority}")]);
    }
    Ok(hosts)
}

fn take_string(src: &TomlSource, table: &mut Table, path: &KeyPath, key: &str) -> Result<Option<String>, ConfigError> {
    match table.remove(key) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(src.error_at(&path.key(key), "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::load_str;
    use crate::manifest::{HttpExecutor, HttpRoute};

    const V1: &str = r#"spin_manifest_version = "1"
name = "hello"
version = "1.0.0"
description = ""
authors = ["Someone"]
trigger = { type = "http", base = "/" }

[variables]
greeting = { default = "hi" }

[[component]]
id = "hello_world"
source = "hello.wasm"
allowed_http_hosts = ["example.com:8443", "https://api.example.com", "self"]
key_value_stores = ["default"]
[component.trigger]
route = "/hello/..."
[component.config]
message = "{{ greeting }}"

[[component]]
id = "cgi"
source = "cgi.wasm"
allowed_outbound_hosts = ["redis://cache:6379"]
allowed_http_hosts = ["insecure:allow-all"]
[component.trigger]
route = "/cgi"
executor = { type = "wagi" }
"#;

    #[test]
    fn a_version_1_manifest_loads_as_the_version_2_one_it_means() {
        let (_dir, m) = load_str(V1);
        assert_eq!(m.name, "hello");
        let hello = &m.components["hello-world"];
        assert_eq!(
            hello.allowed_outbound_hosts,
            [
                "redis://*:*",
                "mysql://*:*",
                "postgres://*:*",
                "http://example.com:8443",
                "https://example.com:8443",
                "http://api.example.com",
                "https://api.example.com",
                "http://self"
            ]
        );
        assert_eq!(hello.variables["message"], "{{ greeting }}");
        assert_eq!(hello.key_value_stores, ["default"]);
        let cgi = &m.components["cgi"];
        assert_eq!(cgi.allowed_outbound_hosts, ["redis://cache:6379", "http://*:*", "https://*:*", "http://self"], "no implied databases beside its own list");
        let routes: Vec<_> = m.http_triggers.iter().map(|t| (t.id.as_str(), t.component.as_str(), t.route.clone())).collect();
        assert_eq!(
            routes,
            [("trigger-hello-world", "hello-world", HttpRoute::Path("/hello/...".into())), ("trigger-cgi", "cgi", HttpRoute::Path("/cgi".into()))]
        );
        assert!(matches!(m.http_triggers[1].executor, HttpExecutor::Wagi(_)));
    }

    #[test]
    fn a_bad_version_1_manifest_names_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("spin.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            crate::manifest::AppManifest::load(&file).unwrap_err()
        };
        let e = load(&V1.replace("trigger = { type = \"http\", base = \"/\" }\n", ""));
        assert_eq!(e.key, "trigger");
        let e = load(&V1.replace("\"self\"]", "\"example.com/path\"]"));
        assert_eq!(e.key, "component[0].allowed_http_hosts");
        assert!(e.message.contains("a path is not allowed"), "{e}");
        let e = load(&V1.replace("route = \"/cgi\"", "route = \"/cgi\"\nroot = 1"));
        assert!(e.key.starts_with("trigger.http[1]") && e.message.contains("version 1"), "named by its version 2 key, saying so: {e}");
    }

    #[test]
    fn a_version_1_redis_app_subscribes_each_component_to_its_channel() {
        let text = "spin_manifest_version = \"1\"\nname = \"subscriber\"\ntrigger = { type = \"redis\", address = \"redis://localhost:6379\" }\n\
                    [[component]]\nid = \"echo\"\nsource = \"echo.wasm\"\n[component.trigger]\nchannel = \"messages\"\n";
        let (_dir, m) = load_str(text);
        let trigger = &m.redis_triggers[0];
        assert_eq!((trigger.component.as_str(), trigger.channel.as_str(), trigger.address.as_str()), ("echo", "messages", "redis://localhost:6379"));
    }

    #[test]
    fn allowed_http_hosts_become_outbound_hosts() {
        assert_eq!(outbound_hosts(&["localhost:3000".into()], false).unwrap(), ["http://localhost:3000", "https://localhost:3000"]);
        assert!(outbound_hosts(&["ftp://x".into()], false).is_err());
        assert!(outbound_hosts(&["x:port".into()], false).is_err());
    }
}
