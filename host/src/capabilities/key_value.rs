//! `spin:key-value/key-value@3.0.0`: each store label is, per
//! runtime-config.toml, a SQLite file (`type = "spin"`) or a Redis server
//! (`type = "redis"`, `key_value_redis.rs`); a component opens only the
//! labels its manifest lists.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::OptionalExtension;
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::bindings::spin::key_value::key_value::{self as kv, Error};
use super::for_request::ForRequest;
use super::key_value_redis::RedisStore;
use super::outbound_redis::RedisClients;
use super::shared_connection::{SharedConnection, Sql};
use super::{CapabilitiesView, Spin};

/// One store: its label (for metrics) and where its keys live.
pub struct Backend {
    label: String,
    place: Place,
}

enum Place {
    Sqlite(Arc<SharedConnection>),
    // Boxed: the Redis client (with its TLS settings) is some hundreds of bytes.
    Redis(Box<RedisStore>),
}

/// Every configured key-value store, by label.
#[derive(Default)]
pub struct KeyValueStores {
    by_label: HashMap<String, Arc<Backend>>,
}

impl KeyValueStores {
    /// Opens store `label` as the runtime config describes it: a SQLite
    /// file (or memory), or a Redis server (the URL checked now, the
    /// server reached at first use).
    pub fn open(label: &str, config: &souk_manifest::StoreConfig, clients: &Arc<RedisClients>, stores: &mut Self) -> Result<(), String> {
        let place = match &config.redis_url {
            Some(url) => Place::Redis(Box::new(RedisStore::new(url, clients.clone())?)),
            None => {
                let conn = SharedConnection::open(config.path.as_deref(), Sql::Host)?;
                conn.with(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS spin_key_value (key TEXT PRIMARY KEY, value BLOB NOT NULL)"))?;
                Place::Sqlite(Arc::new(conn))
            }
        };
        stores.by_label.insert(label.to_string(), Arc::new(Backend { label: label.to_string(), place }));
        Ok(())
    }

    /// The store `label`, opened now if no component's manifest had it opened.
    pub fn open_if_closed(label: &str, config: &souk_manifest::StoreConfig, clients: &Arc<RedisClients>, stores: &mut Self) -> Result<Arc<Backend>, String> {
        if !stores.by_label.contains_key(label) {
            Self::open(label, config, clients, stores)?;
        }
        Ok(stores.by_label[label].clone())
    }

    /// What a component listing `labels` may open: each label's store, or
    /// `None` for a label nobody configured.
    pub fn grant<'a>(&self, labels: impl IntoIterator<Item = &'a String>) -> KeyValueGrant {
        KeyValueGrant { by_label: labels.into_iter().map(|label| (label.clone(), self.by_label.get(label).cloned())).collect() }
    }

    pub fn close(&self) {
        for backend in self.by_label.values() {
            if let Place::Sqlite(conn) = &backend.place {
                conn.close();
            }
        }
    }
}

/// The key-value stores one component's manifest lists, as its instances see them.
#[derive(Default)]
pub struct KeyValueGrant {
    by_label: HashMap<String, Option<Arc<Backend>>>,
}

/// A store a guest has opened.
pub struct OpenStore {
    pub(super) backend: Arc<Backend>,
}

/// Why a label cannot be opened.
pub(super) enum OpenError {
    AccessDenied,
    NoSuchStore,
}

/// The store `label`, if the component may open it and it is configured.
/// Shared by every key-value interface the host serves.
pub(super) fn open_store(grant: &KeyValueGrant, label: &str) -> Result<OpenStore, OpenError> {
    let granted = grant.by_label.get(label).ok_or(OpenError::AccessDenied)?;
    let backend = granted.clone().ok_or(OpenError::NoSuchStore)?;
    Ok(OpenStore { backend })
}

/// The operations every key-value interface uses, on either backend, each
/// refused once its request's deadline has passed, timed for the metrics
/// and, with tracing on, a span under the request's.
///
/// A Redis call's future is boxed: held inline, its state (over a kilobyte)
/// would make every operation's future that large, SQLite's included, and
/// wasmtime allocates each host call's future on the heap, where glibc
/// serves a kilobyte or more by its slower path (measured in BENCHMARKS.md).
impl Backend {
    async fn timed<R>(&self, request: &ForRequest, operation: &str, work: impl std::future::Future<Output = Result<R, String>>) -> Result<R, String> {
        request.in_time()?;
        let started = std::time::Instant::now();
        let system = match self.place {
            Place::Sqlite(_) => "sqlite",
            Place::Redis(_) => "redis",
        };
        let mut span = crate::traces::store_operation(&request.trace, "key_value", system, &self.label, operation);
        let result = work.await;
        if let Err(e) = &result {
            span.error("store", e.clone());
        }
        crate::metrics::store_operation("key_value", &self.label, operation, result.is_ok(), started.elapsed());
        result
    }

    pub async fn get(&self, request: &ForRequest, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.timed(request, "get", async {
            match &self.place {
                Place::Sqlite(conn) => get(conn, key),
                Place::Redis(redis) => Box::pin(redis.get(key)).await,
            }
        })
        .await
    }

    pub async fn set(&self, request: &ForRequest, key: &str, value: &[u8]) -> Result<(), String> {
        self.timed(request, "set", async {
            match &self.place {
                Place::Sqlite(conn) => set(conn, key, value),
                Place::Redis(redis) => Box::pin(redis.set(key, value)).await,
            }
        })
        .await
    }

    pub async fn delete(&self, request: &ForRequest, key: &str) -> Result<(), String> {
        self.timed(request, "delete", async {
            match &self.place {
                Place::Sqlite(conn) => delete(conn, key),
                Place::Redis(redis) => Box::pin(redis.delete(key)).await,
            }
        })
        .await
    }

    pub async fn exists(&self, request: &ForRequest, key: &str) -> Result<bool, String> {
        self.timed(request, "exists", async {
            match &self.place {
                Place::Sqlite(conn) => exists(conn, key),
                Place::Redis(redis) => Box::pin(redis.exists(key)).await,
            }
        })
        .await
    }

    pub async fn keys(&self, request: &ForRequest) -> Result<Vec<String>, String> {
        self.timed(request, "keys", async {
            match &self.place {
                Place::Sqlite(conn) => keys(conn),
                Place::Redis(redis) => Box::pin(redis.keys()).await,
            }
        })
        .await
    }

    pub async fn increment(&self, request: &ForRequest, key: &str, delta: i64) -> Result<i64, String> {
        self.timed(request, "increment", async {
            match &self.place {
                Place::Sqlite(conn) => increment(conn, key, delta),
                Place::Redis(redis) => Box::pin(redis.increment(key, delta)).await,
            }
        })
        .await
    }

    pub async fn compare_and_swap(
        &self,
        request: &ForRequest,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<Result<(), Option<Vec<u8>>>, String> {
        self.timed(request, "compare_and_swap", async {
            match &self.place {
                Place::Sqlite(conn) => compare_and_swap(conn, key, expected, value),
                Place::Redis(redis) => Box::pin(redis.compare_and_swap(key, expected, value)).await,
            }
        })
        .await
    }
}

// The store operations, shared by every key-value interface the host
// serves. They are the host's own point statements on one indexed table
// (microseconds, and bounded by the key and value sizes), so they run on
// the calling thread: sending each to the blocking pool, as guest SQL is,
// would add two thread hand-offs to operations that take less time than
// one (measured in BENCHMARKS.md).

fn get_in(c: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached("SELECT value FROM spin_key_value WHERE key = ?1")?.query_row([key], |row| row.get::<_, Vec<u8>>(0)).optional()
}

fn get(conn: &SharedConnection, key: &str) -> Result<Option<Vec<u8>>, String> {
    conn.with(|c| get_in(c, key))
}

fn set(conn: &SharedConnection, key: &str, value: &[u8]) -> Result<(), String> {
    conn.with(|c| set_in(c, key, value))
}

fn set_in(c: &rusqlite::Connection, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO spin_key_value (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
        .execute(rusqlite::params![key, value])
        .map(|_| ())
}

fn delete_in(c: &rusqlite::Connection, key: &str) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM spin_key_value WHERE key = ?1")?.execute([key]).map(|_| ())
}

fn delete(conn: &SharedConnection, key: &str) -> Result<(), String> {
    conn.with(|c| delete_in(c, key))
}

fn exists_in(c: &rusqlite::Connection, key: &str) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT 1 FROM spin_key_value WHERE key = ?1")?.query_row([key], |_| Ok(())).optional().map(|r| r.is_some())
}

fn exists(conn: &SharedConnection, key: &str) -> Result<bool, String> {
    conn.with(|c| exists_in(c, key))
}

fn keys_in(c: &rusqlite::Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare_cached("SELECT key FROM spin_key_value ORDER BY key")?;
    let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
    rows.collect::<rusqlite::Result<Vec<String>>>()
}

fn keys(conn: &SharedConnection) -> Result<Vec<String>, String> {
    conn.with(|c| keys_in(c))
}

/// Adds `delta` to the 8-byte little-endian integer at `key` (0 when
/// missing), in one transaction; returns the new value.
fn increment(conn: &SharedConnection, key: &str, delta: i64) -> Result<i64, String> {
    conn.with(|c| {
        let tx = c.transaction()?;
        let current: Option<Vec<u8>> = tx.prepare_cached("SELECT value FROM spin_key_value WHERE key = ?1")?.query_row([key], |row| row.get(0)).optional()?;
        let number = match current {
            None => 0,
            Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                Ok(le) => i64::from_le_bytes(le),
                Err(_) => return Ok(Err(format!("the value at `{key}` is {} bytes, not an 8-byte little-endian integer", bytes.len()))),
            },
        };
        let Some(next) = number.checked_add(delta) else {
            return Ok(Err(format!("incrementing `{key}` ({number}) by {delta} overflows")));
        };
        set_in(&tx, key, &next.to_le_bytes())?;
        tx.commit()?;
        Ok(Ok(next))
    })?
}

/// Writes `value` at `key` only if it still holds `expected` (`None`:
/// absent). One statement, atomic by itself, so a swap that succeeds (the
/// rate limiter's every request) costs one write and no transaction around
/// it; only a failed one reads the key again. `Err` carries the value the
/// key holds instead, so a failed swap can hand the guest a handle that is
/// up to date.
fn compare_and_swap(conn: &SharedConnection, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<Result<(), Option<Vec<u8>>>, String> {
    conn.with(|c| {
        let swapped = match expected {
            Some(expected) => {
                c.prepare_cached("UPDATE spin_key_value SET value = ?3 WHERE key = ?1 AND value = ?2")?.execute(rusqlite::params![key, expected, value])?
            }
            None => c
                .prepare_cached("INSERT INTO spin_key_value (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING")?
                .execute(rusqlite::params![key, value])?,
        };
        if swapped == 1 {
            return Ok(Ok(()));
        }
        Ok(Err(get_in(c, key)?))
    })
}

fn other(e: String) -> Error {
    Error::Other(e)
}

/// The store a guest opened, and the request its operations are made for.
fn store_of<T: Send>(accessor: &Accessor<T, Spin>, store: &Resource<OpenStore>) -> wasmtime::Result<(Arc<Backend>, ForRequest)> {
    accessor.with(|mut access| {
        let request = super::for_request::for_caller(&mut access);
        Ok((access.get().table.get(store)?.backend.clone(), request))
    })
}

impl kv::Host for CapabilitiesView<'_> {}

impl kv::HostStore for CapabilitiesView<'_> {
    fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<T: Send> kv::HostStoreWithStore<T> for Spin {
    async fn open(accessor: &Accessor<T, Self>, label: String) -> wasmtime::Result<Result<Resource<OpenStore>, Error>> {
        accessor.with(|mut access| {
            let state = access.get();
            Ok(match open_store(&state.caps.grants.key_value, &label) {
                Ok(store) => Ok(state.table.push(store)?),
                Err(OpenError::AccessDenied) => Err(Error::AccessDenied),
                Err(OpenError::NoSuchStore) => Err(Error::NoSuchStore),
            })
        })
    }

    async fn get(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let (store, request) = store_of(accessor, &store)?;
        Ok(store.get(&request, &key).await.map_err(other))
    }

    async fn set(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        let (store, request) = store_of(accessor, &store)?;
        Ok(store.set(&request, &key, &value).await.map_err(other))
    }

    async fn delete(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<(), Error>> {
        let (store, request) = store_of(accessor, &store)?;
        Ok(store.delete(&request, &key).await.map_err(other))
    }

    async fn exists(accessor: &Accessor<T, Self>, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<bool, Error>> {
        let (store, request) = store_of(accessor, &store)?;
        Ok(store.exists(&request, &key).await.map_err(other))
    }

    async fn get_keys(accessor: &Accessor<T, Self>, store: Resource<OpenStore>) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let (store, request) = store_of(accessor, &store)?;
        let keys = store.keys(&request).await;
        let (keys, result) = match keys {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(Error::Other(e))),
        };
        super::buffered_stream(accessor, keys, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::shared_connection::Sql;

    #[test]
    fn a_swap_writes_only_over_the_value_it_expects() {
        let conn = SharedConnection::open(None, Sql::Host).unwrap();
        conn.with(|c| c.execute_batch("CREATE TABLE spin_key_value (key TEXT PRIMARY KEY, value BLOB NOT NULL)")).unwrap();
        assert_eq!(compare_and_swap(&conn, "k", None, b"1"), Ok(Ok(())), "absent, as expected");
        assert_eq!(compare_and_swap(&conn, "k", None, b"2"), Ok(Err(Some(b"1".to_vec()))), "no longer absent");
        assert_eq!(compare_and_swap(&conn, "k", Some(b"0"), b"2"), Ok(Err(Some(b"1".to_vec()))), "a stale value");
        assert_eq!(compare_and_swap(&conn, "k", Some(b"1"), b"1"), Ok(Ok(())), "the same value again is a swap");
        assert_eq!(compare_and_swap(&conn, "k", Some(b"1"), b"2"), Ok(Ok(())));
        assert_eq!(get(&conn, "k"), Ok(Some(b"2".to_vec())));
        delete(&conn, "k").unwrap();
        assert_eq!(compare_and_swap(&conn, "k", Some(b"2"), b"3"), Ok(Err(None)), "deleted meanwhile");
        assert_eq!(get(&conn, "k"), Ok(None));
    }

    #[test]
    fn an_operation_on_sqlite_carries_no_redis_state() {
        let mut stores = KeyValueStores::default();
        let config = souk_manifest::StoreConfig { path: None, redis_url: None };
        let backend = KeyValueStores::open_if_closed("default", &config, &Default::default(), &mut stores).unwrap();
        let request = ForRequest::default();
        let sizes = [
            ("get", std::mem::size_of_val(&backend.get(&request, "k"))),
            ("set", std::mem::size_of_val(&backend.set(&request, "k", b"v"))),
            ("delete", std::mem::size_of_val(&backend.delete(&request, "k"))),
            ("exists", std::mem::size_of_val(&backend.exists(&request, "k"))),
            ("keys", std::mem::size_of_val(&backend.keys(&request))),
            ("increment", std::mem::size_of_val(&backend.increment(&request, "k", 1))),
            ("compare_and_swap", std::mem::size_of_val(&backend.compare_and_swap(&request, "k", None, b"v"))),
        ];
        for (operation, size) in sizes {
            assert!(size < 512, "{operation}'s future takes {size} bytes");
        }
    }

    #[tokio::test]
    async fn no_operation_starts_once_its_requests_deadline_has_passed() {
        let mut stores = KeyValueStores::default();
        let config = souk_manifest::StoreConfig { path: None, redis_url: None };
        let backend = KeyValueStores::open_if_closed("default", &config, &Default::default(), &mut stores).unwrap();
        let live = ForRequest { deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(60)), ..Default::default() };
        backend.set(&live, "k", b"1").await.unwrap();
        let past = ForRequest { deadline: Some(std::time::Instant::now()), ..Default::default() };
        let refused = backend.set(&past, "k", b"2").await.unwrap_err();
        assert!(refused.contains("deadline"), "{refused}");
        assert_eq!(backend.get(&live, "k").await, Ok(Some(b"1".to_vec())), "the late write did not happen");
    }
}
