//! `souk:host/deny-*`: Spin's key-value, SQLite and variables interfaces,
//! WASIp3's HTTP client and WASI's environment, with every call refused (or
//! nothing there). A component dependency or middleware that does not
//! inherit a kind of configuration has its import of the Spin interface
//! composed onto one of these (see `compose::deny`), so it is told
//! `access-denied` (or, for variables, that nothing is defined) instead of
//! acting with its importer's rights.

use wasmtime::component::{Accessor, FutureReader, Linker, Resource, StreamReader};

use souk_manifest::ConfigKind;

use super::{CapabilitiesView, HasCapabilities, Spin};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "souk:host/denied",
        imports: { default: trappable },
        with: {
            "souk:host/deny-key-value.store": super::Never,
            "souk:host/deny-sqlite.connection": super::Never,
            "wasi:http/types@0.3.0": wasmtime_wasi_http::p3::bindings::http::types,
        },
    });
}

use bindings::souk::host::deny_environment_p2 as env2;
use bindings::souk::host::deny_environment_p3 as env3;
use bindings::souk::host::deny_http_client as client;
use bindings::souk::host::deny_key_value as kv;
use bindings::souk::host::deny_sqlite as sql;
use bindings::souk::host::deny_variables as vars;

/// The type of resources that can never be created: `open` always fails.
pub enum Never {}

/// Every import that draws on a part of a component's configuration: its
/// name (a prefix; the first match wins), that part, and the stand-in that
/// refuses it, where there is one. A dependency or middleware that does not
/// inherit the part gets the stand-in, or is refused at start-up.
const GUARDED: [(&str, ConfigKind, Option<&str>); 25] = [
    ("spin:key-value/key-value@3.0.0", ConfigKind::KeyValueStores, Some("souk:host/deny-key-value")),
    ("spin:key-value/", ConfigKind::KeyValueStores, None),
    ("fermyon:spin/key-value@", ConfigKind::KeyValueStores, None),
    ("wasi:keyvalue/", ConfigKind::KeyValueStores, None),
    ("spin:sqlite/sqlite@3.1.0", ConfigKind::SqliteDatabases, Some("souk:host/deny-sqlite")),
    ("spin:sqlite/", ConfigKind::SqliteDatabases, None),
    ("fermyon:spin/sqlite@", ConfigKind::SqliteDatabases, None),
    ("spin:variables/variables@3.0.0", ConfigKind::Variables, Some("souk:host/deny-variables")),
    ("fermyon:spin/variables@", ConfigKind::Variables, None),
    ("wasi:config/", ConfigKind::Variables, None),
    ("wasi:http/client@0.3.0", ConfigKind::AllowedOutboundHosts, Some("souk:host/deny-http-client")),
    ("wasi:http/client@", ConfigKind::AllowedOutboundHosts, None),
    ("wasi:http/outgoing-handler@", ConfigKind::AllowedOutboundHosts, None),
    ("wasi:sockets/", ConfigKind::AllowedOutboundHosts, None),
    ("spin:redis/", ConfigKind::AllowedOutboundHosts, None),
    ("fermyon:spin/redis@", ConfigKind::AllowedOutboundHosts, None),
    ("spin:mqtt/", ConfigKind::AllowedOutboundHosts, None),
    ("fermyon:spin/mqtt@", ConfigKind::AllowedOutboundHosts, None),
    ("spin:postgres/", ConfigKind::AllowedOutboundHosts, None),
    ("fermyon:spin/postgres@", ConfigKind::AllowedOutboundHosts, None),
    ("spin:mysql/", ConfigKind::AllowedOutboundHosts, None),
    ("fermyon:spin/mysql@", ConfigKind::AllowedOutboundHosts, None),
    ("wasi:cli/environment@0.2.", ConfigKind::Environment, Some("souk:host/deny-environment-p2")),
    ("wasi:cli/environment@0.3.", ConfigKind::Environment, Some("souk:host/deny-environment-p3")),
    ("wasi:filesystem/preopens@", ConfigKind::Files, None),
];

/// The part of the configuration `import` draws on, and its stand-in.
pub fn guard(import: &str) -> Option<(ConfigKind, Option<&'static str>)> {
    GUARDED.iter().find(|(name, _, _)| import.starts_with(name)).map(|(_, kind, stand_in)| (*kind, *stand_in))
}

/// The imports that have a stand-in, for messages.
pub fn deniable() -> impl Iterator<Item = &'static str> {
    GUARDED.iter().filter(|(_, _, stand_in)| stand_in.is_some()).map(|(name, _, _)| *name)
}

pub fn link<T: HasCapabilities + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    kv::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    sql::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    vars::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    client::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    env2::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    env3::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    Ok(())
}

fn unreachable<T>() -> wasmtime::Result<T> {
    Err(wasmtime::format_err!("a denied resource cannot exist"))
}

impl kv::Host for CapabilitiesView<'_> {}

impl kv::HostStore for CapabilitiesView<'_> {
    fn drop(&mut self, _: Resource<Never>) -> wasmtime::Result<()> {
        unreachable()
    }
}

impl<T: Send> kv::HostStoreWithStore<T> for Spin {
    async fn open(_: &Accessor<T, Self>, _: String) -> wasmtime::Result<Result<Resource<Never>, kv::Error>> {
        Ok(Err(kv::Error::AccessDenied))
    }
    async fn get(_: &Accessor<T, Self>, _: Resource<Never>, _: String) -> wasmtime::Result<Result<Option<Vec<u8>>, kv::Error>> {
        unreachable()
    }
    async fn set(_: &Accessor<T, Self>, _: Resource<Never>, _: String, _: Vec<u8>) -> wasmtime::Result<Result<(), kv::Error>> {
        unreachable()
    }
    async fn delete(_: &Accessor<T, Self>, _: Resource<Never>, _: String) -> wasmtime::Result<Result<(), kv::Error>> {
        unreachable()
    }
    async fn exists(_: &Accessor<T, Self>, _: Resource<Never>, _: String) -> wasmtime::Result<Result<bool, kv::Error>> {
        unreachable()
    }
    async fn get_keys(_: &Accessor<T, Self>, _: Resource<Never>) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), kv::Error>>)> {
        unreachable()
    }
}

impl sql::Host for CapabilitiesView<'_> {}

impl sql::HostConnection for CapabilitiesView<'_> {
    fn open(&mut self, _: String) -> wasmtime::Result<Result<Resource<Never>, sql::Error>> {
        Ok(Err(sql::Error::AccessDenied))
    }
    fn execute(&mut self, _: Resource<Never>, _: String, _: Vec<sql::Value>) -> wasmtime::Result<Result<sql::QueryResult, sql::Error>> {
        unreachable()
    }
    fn last_insert_rowid(&mut self, _: Resource<Never>) -> wasmtime::Result<i64> {
        unreachable()
    }
    fn changes(&mut self, _: Resource<Never>) -> wasmtime::Result<u64> {
        unreachable()
    }
    fn drop(&mut self, _: Resource<Never>) -> wasmtime::Result<()> {
        unreachable()
    }
}

impl<T: Send> sql::HostConnectionWithStore<T> for Spin {
    async fn open_async(_: &Accessor<T, Self>, _: String) -> wasmtime::Result<Result<Resource<Never>, sql::Error>> {
        Ok(Err(sql::Error::AccessDenied))
    }
    async fn execute_async(
        _: &Accessor<T, Self>,
        _: Resource<Never>,
        _: String,
        _: Vec<sql::Value>,
    ) -> wasmtime::Result<Result<(Vec<String>, StreamReader<sql::RowResult>, FutureReader<Result<(), sql::Error>>), sql::Error>> {
        unreachable()
    }
    async fn last_insert_rowid_async(_: &Accessor<T, Self>, _: Resource<Never>) -> wasmtime::Result<i64> {
        unreachable()
    }
    async fn changes_async(_: &Accessor<T, Self>, _: Resource<Never>) -> wasmtime::Result<u64> {
        unreachable()
    }
}

impl vars::Host for CapabilitiesView<'_> {}

impl<T: Send> vars::HostWithStore<T> for Spin {
    async fn get(_: &Accessor<T, Self>, name: String) -> wasmtime::Result<Result<String, vars::Error>> {
        Ok(Err(vars::Error::Undefined(format!("variable `{name}` is not available: this component does not inherit `variables` from its importer"))))
    }
}

impl client::Host for CapabilitiesView<'_> {}

impl<T: Send> client::HostWithStore<T> for Spin {
    async fn send(
        accessor: &Accessor<T, Self>,
        request: Resource<wasmtime_wasi_http::p3::Request>,
    ) -> wasmtime::Result<Result<Resource<wasmtime_wasi_http::p3::Response>, client::ErrorCode>> {
        accessor.with(|mut access| access.get().table.delete(request))?;
        Ok(Err(client::ErrorCode::HttpRequestDenied))
    }
}

impl env2::Host for CapabilitiesView<'_> {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }
    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}

impl env3::Host for CapabilitiesView<'_> {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }
    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn get_initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::guard;

    /// Strips comments, blank lines, `@since` gates and the package of `use`d types,
    /// leaving the shape of an interface.
    fn shape(wit: &str, interface: &str) -> Vec<String> {
        let lines: Vec<String> = wit
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('@'))
            // `use types.{..}` and `use wasi:http/types@0.3.0.{..}` name the same types.
            .map(|l| match (l.strip_prefix("use "), l.find(".{")) {
                (Some(_), Some(at)) => format!("use {}", &l[at + 1..]),
                _ => l.to_owned(),
            })
            .collect();
        let start = lines.iter().position(|l| l == &format!("interface {interface} {{")).expect(interface);
        let mut depth = 0;
        let mut out = Vec::new();
        for line in &lines[start + 1..] {
            depth += line.matches('{').count() as i32;
            depth -= line.matches('}').count() as i32;
            if depth < 0 {
                break;
            }
            out.push(line.clone());
        }
        out
    }

    fn read(path: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let file = std::fs::read_dir(dir.join(path)).map_or_else(|_| dir.join(path), |mut entries| entries.next().unwrap().unwrap().path());
        std::fs::read_to_string(file).unwrap()
    }

    #[test]
    fn guarded_imports_map_to_their_part_and_stand_in() {
        use souk_manifest::ConfigKind::*;
        assert_eq!(guard("spin:key-value/key-value@3.0.0"), Some((KeyValueStores, Some("souk:host/deny-key-value"))));
        assert_eq!(guard("fermyon:spin/key-value@2.0.0"), Some((KeyValueStores, None)));
        assert_eq!(guard("wasi:http/client@0.3.0"), Some((AllowedOutboundHosts, Some("souk:host/deny-http-client"))));
        assert_eq!(guard("wasi:http/outgoing-handler@0.2.6"), Some((AllowedOutboundHosts, None)));
        assert_eq!(guard("wasi:cli/environment@0.2.6"), Some((Environment, Some("souk:host/deny-environment-p2"))));
        assert_eq!(guard("wasi:http/types@0.3.0"), None, "types carry no rights");
        assert_eq!(guard("wasi:cli/stdout@0.2.6"), None);
    }

    #[test]
    fn stand_ins_have_the_shapes_of_the_spin_interfaces() {
        let deny = read("deny.wit");
        for (dir, spin_iface, deny_iface) in [
            ("deps/spin-key-value@3.0.0", "key-value", "deny-key-value"),
            ("deps/spin-sqlite@3.1.0", "sqlite", "deny-sqlite"),
            ("deps/spin-variables@3.0.0", "variables", "deny-variables"),
            ("deps/wasi-http@0.3.0", "client", "deny-http-client"),
            ("deps/wasi-cli@0.3.0", "environment", "deny-environment-p3"),
        ] {
            assert_eq!(shape(&read(dir), spin_iface), shape(&deny, deny_iface), "{dir}");
        }
    }
}
