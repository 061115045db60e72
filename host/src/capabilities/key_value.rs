//! `spin:key-value/key-value@3.0.0`: each store label is a SQLite file from
//! runtime-config.toml; a component opens only the labels its manifest lists.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::OptionalExtension;
use wasmtime::component::{Accessor, Resource, StreamReader, FutureReader};

use super::Spin;
use super::bindings::spin::key_value::key_value::{self as kv, Error};
use super::shared_connection::SharedConnection;

/// Every configured key-value store, by label.
#[derive(Default)]
pub struct KeyValueStores {
    by_label: HashMap<String, Arc<SharedConnection>>,
}

impl KeyValueStores {
    pub fn open(label: &str, path: &std::path::Path, stores: &mut Self) -> Result<(), String> {
        let conn = SharedConnection::open(path)?;
        conn.with(|c| {
            c.execute_batch("CREATE TABLE IF NOT EXISTS spin_key_value (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        })?;
        stores.by_label.insert(label.to_string(), Arc::new(conn));
        Ok(())
    }

    pub fn get(&self, label: &str) -> Option<Arc<SharedConnection>> {
        self.by_label.get(label).cloned()
    }

    pub fn close(&self) {
        self.by_label.values().for_each(|c| c.close());
    }
}

/// A store a guest has opened.
pub struct OpenStore {
    conn: Arc<SharedConnection>,
}

fn other(e: String) -> Error {
    Error::Other(e)
}

fn store_of<T: Send>(accessor: &Accessor<T, Spin>, store: &Resource<OpenStore>) -> wasmtime::Result<Arc<SharedConnection>> {
    accessor.with(|mut access| Ok(access.get().table.get(store)?.conn.clone()))
}

impl kv::Host for &mut crate::instance::InstanceState {}

impl kv::HostStore for &mut crate::instance::InstanceState {
    fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<T: Send> kv::HostStoreWithStore<T> for Spin {
    async fn open(accessor: &Accessor<T, Self>, label: String) -> wasmtime::Result<Result<Resource<OpenStore>, Error>> {
        accessor.with(|mut access| {
            let state = access.get();
            let component = &state.component;
            if !component.key_value_labels.contains(&label) {
                return Ok(Err(Error::AccessDenied));
            }
            let Some(conn) = component.stores.key_value.get(&label) else {
                return Ok(Err(Error::NoSuchStore));
            };
            Ok(Ok(state.table.push(OpenStore { conn })?))
        })
    }

    async fn get(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let conn = store_of(accessor, &store)?;
        Ok(conn
            .with(|c| {
                c.prepare_cached("SELECT value FROM spin_key_value WHERE key = ?1")?
                    .query_row([&key], |row| row.get::<_, Vec<u8>>(0))
                    .optional()
            })
            .map_err(other))
    }

    async fn set(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        let conn = store_of(accessor, &store)?;
        Ok(conn
            .with(|c| {
                c.prepare_cached(
                    "INSERT INTO spin_key_value (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )?
                .execute(rusqlite::params![key, value])
                .map(|_| ())
            })
            .map_err(other))
    }

    async fn delete(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<(), Error>> {
        let conn = store_of(accessor, &store)?;
        Ok(conn
            .with(|c| c.prepare_cached("DELETE FROM spin_key_value WHERE key = ?1")?.execute([&key]).map(|_| ()))
            .map_err(other))
    }

    async fn exists(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<bool, Error>> {
        let conn = store_of(accessor, &store)?;
        Ok(conn
            .with(|c| {
                c.prepare_cached("SELECT 1 FROM spin_key_value WHERE key = ?1")?
                    .query_row([&key], |_| Ok(()))
                    .optional()
                    .map(|r| r.is_some())
            })
            .map_err(other))
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<OpenStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let conn = store_of(accessor, &store)?;
        let keys = conn.with(|c| {
            let mut stmt = c.prepare_cached("SELECT key FROM spin_key_value ORDER BY key")?;
            let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
        });
        accessor.with(|mut access| {
            let (keys, result) = match keys {
                Ok(keys) => (keys, Ok(())),
                Err(e) => (Vec::new(), Err(Error::Other(e))),
            };
            let stream = StreamReader::new(&mut access, keys)?;
            let future = FutureReader::new(&mut access, async move { wasmtime::error::Ok(result) })?;
            Ok((stream, future))
        })
    }
}
