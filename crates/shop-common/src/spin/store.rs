//! Spin's SQLite, key-value and variables behind the crate's traits.

// `spin:key-value` has no compare-and-swap; `wasi:keyvalue/atomics` (which
// Spin serves too, on the same labels) does. spin-sdk 7 generates its
// bindings in a module it hides from its docs, `experimental`: a new
// spin-sdk major version may move them.
use spin_sdk::experimental::wasi::keyvalue as wasi_kv;
use spin_sdk::key_value::Store;
use spin_sdk::sqlite::{self, Connection};

use crate::db::{Db, DbError, Row, Value};
use crate::error::ApiError;
use crate::kv::Kv;

/// A SQLite database label this component lists in spin.toml.
pub struct SpinDb(Connection);

impl SpinDb {
    pub async fn open(label: &str) -> Result<SpinDb, ApiError> {
        Connection::open(label).await.map(SpinDb).map_err(|e| ApiError::unavailable(format!("cannot open database {label:?}: {e:?}")))
    }

    /// Opens `label` with its schema brought up to date by `migrations`
    /// ([`crate::db::migrate`]). The check runs once per instance: when the
    /// host reuses an instance for many requests (Spin 4's default for
    /// WASIp3 components) the later ones skip it. That is sound because a
    /// schema only moves forward, and only this service's migrations move it.
    pub async fn open_migrated(label: &str, migrations: &[&str]) -> Result<SpinDb, ApiError> {
        let db = SpinDb::open(label).await?;
        if !MIGRATED.with_borrow(|done| done.iter().any(|l| l == label)) {
            crate::db::migrate(&db, migrations).await?;
            MIGRATED.with_borrow_mut(|done| done.push(label.to_owned()));
        }
        Ok(db)
    }
}

thread_local! {
    /// The labels whose schema this instance has brought up to date.
    static MIGRATED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn to_spin(v: &Value) -> sqlite::Value {
    match v {
        Value::Null => sqlite::Value::Null,
        Value::Integer(i) => sqlite::Value::Integer(*i),
        Value::Real(r) => sqlite::Value::Real(*r),
        Value::Text(t) => sqlite::Value::Text(t.clone()),
        Value::Blob(b) => sqlite::Value::Blob(b.clone()),
    }
}

fn from_spin(v: sqlite::Value) -> Value {
    match v {
        sqlite::Value::Null => Value::Null,
        sqlite::Value::Integer(i) => Value::Integer(i),
        sqlite::Value::Real(r) => Value::Real(r),
        sqlite::Value::Text(t) => Value::Text(t),
        sqlite::Value::Blob(b) => Value::Blob(b),
    }
}

impl Db for SpinDb {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let result = self.0.execute(sql, params.iter().map(to_spin)).await.map_err(|e| DbError(format!("{e:?}")))?;
        let rows = result.collect().await.map_err(|e| DbError(format!("{e:?}")))?;
        Ok(rows.into_iter().map(|r| Row(r.values.into_iter().map(from_spin).collect())).collect())
    }

    async fn exec(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.query(sql, params).await?;
        Ok(self.0.changes().await)
    }
}

/// A key-value store label this component lists in spin.toml.
pub struct SpinKv {
    store: Store,
    label: String,
}

impl SpinKv {
    pub async fn open(label: &str) -> Result<SpinKv, ApiError> {
        let store = Store::open(label).await.map_err(|e| ApiError::unavailable(format!("cannot open key-value store {label:?}: {e:?}")))?;
        Ok(SpinKv { store, label: label.to_owned() })
    }
}

fn kv_error(e: spin_sdk::key_value::Error) -> ApiError {
    ApiError::unavailable(format!("the key-value store failed: {e:?}"))
}

fn wasi_kv_error(e: wasi_kv::store::Error) -> ApiError {
    ApiError::unavailable(format!("the key-value store failed: {e:?}"))
}

impl Kv for SpinKv {
    /// The bucket stays open as long as the handle taken on it.
    type Cas = (wasi_kv::atomics::Cas, wasi_kv::store::Bucket);

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
        self.store.get(key).await.map_err(kv_error)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), ApiError> {
        self.store.set(key, value).await.map_err(kv_error)
    }
    async fn delete(&self, key: &str) -> Result<(), ApiError> {
        self.store.delete(key).await.map_err(kv_error)
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), ApiError> {
        let bucket = wasi_kv::store::open(&self.label).map_err(wasi_kv_error)?;
        let cas = wasi_kv::atomics::Cas::new(&bucket, key).map_err(wasi_kv_error)?;
        let seen = cas.current().map_err(wasi_kv_error)?;
        Ok((seen, (cas, bucket)))
    }
    async fn swap(&self, (cas, bucket): Self::Cas, value: &[u8]) -> Result<bool, ApiError> {
        let swapped = match wasi_kv::atomics::swap(cas, value) {
            Ok(()) => Ok(true),
            Err(wasi_kv::atomics::CasError::CasFailed(_)) => Ok(false),
            Err(wasi_kv::atomics::CasError::StoreError(e)) => Err(wasi_kv_error(e)),
        };
        drop(bucket);
        swapped
    }
}

/// A component variable; 503 naming it when it has no value.
pub async fn variable(name: &str) -> Result<String, ApiError> {
    spin_sdk::variables::get(name).await.map_err(|e| ApiError::unavailable(format!("variable {name:?} is not set: {e:?}")))
}

/// A component variable, or `None` when it is unset or empty.
pub async fn optional_variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name).await.ok().filter(|v| !v.is_empty())
}
