//! Spin's SQLite, key-value and variables behind the crate's traits.

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
pub struct SpinKv(Store);

impl SpinKv {
    pub async fn open(label: &str) -> Result<SpinKv, ApiError> {
        Store::open(label).await.map(SpinKv).map_err(|e| ApiError::unavailable(format!("cannot open key-value store {label:?}: {e:?}")))
    }
}

fn kv_error(e: spin_sdk::key_value::Error) -> ApiError {
    ApiError::unavailable(format!("the key-value store failed: {e:?}"))
}

impl Kv for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
        self.0.get(key).await.map_err(kv_error)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), ApiError> {
        self.0.set(key, value).await.map_err(kv_error)
    }
    async fn delete(&self, key: &str) -> Result<(), ApiError> {
        self.0.delete(key).await.map_err(kv_error)
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
