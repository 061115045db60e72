//! `souk up --key-value KEY=VALUE` and `--sqlite STATEMENT|@FILE`, as `spin
//! up` has them: values set in the app's `default` key-value store, and
//! statements (a migration, seed data) run against its `default` database,
//! in the order given, before the listener opens. A failure stops start-up
//! naming the flag and the statement or file.

use souk_manifest::RuntimeConfig;
use wasmtime::format_err;

use crate::capabilities::key_value::KeyValueStores;
use crate::capabilities::sqlite::SqliteDatabases;
use crate::stores::Stores;

/// The label both flags write to, as in Spin.
const DEFAULT: &str = "default";

pub fn apply(stores: &mut Stores, config: &RuntimeConfig, key_values: &[(String, String)], statements: &[String]) -> wasmtime::Result<()> {
    if !key_values.is_empty() {
        let store = config.key_value_stores.get(DEFAULT).ok_or_else(|| format_err!("--key-value: the runtime config has no `default` key-value store"))?;
        let backend = KeyValueStores::open_if_closed(DEFAULT, store, &stores.redis, &mut stores.key_value).map_err(|e| format_err!("--key-value: {e}"))?;
        // Start-up runs on the runtime; a Redis store is reached over the network.
        let runtime = tokio::runtime::Handle::current();
        for (key, value) in key_values {
            tokio::task::block_in_place(|| runtime.block_on(backend.set(&Default::default(), key, value.as_bytes())))
                .map_err(|e| format_err!("--key-value {key}=...: {e}"))?;
        }
    }
    if !statements.is_empty() {
        let db = config.sqlite_databases.get(DEFAULT).ok_or_else(|| format_err!("--sqlite: the runtime config has no `default` SQLite database"))?;
        let conn = SqliteDatabases::open_if_closed(DEFAULT, db.path.as_deref(), &mut stores.sqlite).map_err(|e| format_err!("--sqlite: {e}"))?;
        for statement in statements {
            let (sql, what) = match statement.strip_prefix('@') {
                Some(file) => (std::fs::read_to_string(file).map_err(|e| format_err!("--sqlite @{file}: cannot read it: {e}"))?, format!("@{file}")),
                None => (statement.clone(), format!("`{statement}`")),
            };
            conn.with(|c| c.execute_batch(&sql)).map_err(|e| format_err!("--sqlite {what}: {e}"))?;
        }
    }
    Ok(())
}
