//! `fermyon:spin/*@2.0.0`: the interfaces Spin 2 and 3 SDKs import
//! (key-value, SQLite, variables, LLM). The first three are the Spin 3
//! interfaces with synchronous calls: same stores, same scoping, same
//! variables. The host serves no models, so every LLM call is refused.

use wasmtime::component::{Access, Resource};

use super::CapabilitiesView;
use super::Spin;
use super::bindings::fermyon::spin::{key_value as kv, llm, sqlite as sql, variables as vars};
use super::bindings::spin::sqlite::sqlite as sql3;
use super::bindings::spin::variables::variables as vars3;
use super::key_value::{self, OpenError, OpenStore};
use super::sqlite::{self, OpenConnection};

impl kv::Host for CapabilitiesView<'_> {}

impl kv::HostStore for CapabilitiesView<'_> {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<OpenStore>, kv::Error>> {
        Ok(match key_value::open_store(&self.caps.grants.key_value, &label) {
            Ok(store) => Ok(self.table.push(store)?),
            Err(OpenError::AccessDenied) => Err(kv::Error::AccessDenied),
            Err(OpenError::NoSuchStore) => Err(kv::Error::NoSuchStore),
        })
    }

    async fn get(&mut self, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, kv::Error>> {
        Ok(self.table.get(&store)?.backend.clone().get(&self.caps.hooks.for_request(), &key).await.map_err(kv::Error::Other))
    }

    async fn set(&mut self, store: Resource<OpenStore>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), kv::Error>> {
        Ok(self.table.get(&store)?.backend.clone().set(&self.caps.hooks.for_request(), &key, &value).await.map_err(kv::Error::Other))
    }

    async fn delete(&mut self, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<(), kv::Error>> {
        Ok(self.table.get(&store)?.backend.clone().delete(&self.caps.hooks.for_request(), &key).await.map_err(kv::Error::Other))
    }

    async fn exists(&mut self, store: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<bool, kv::Error>> {
        Ok(self.table.get(&store)?.backend.clone().exists(&self.caps.hooks.for_request(), &key).await.map_err(kv::Error::Other))
    }

    async fn get_keys(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<Result<Vec<String>, kv::Error>> {
        Ok(self.table.get(&store)?.backend.clone().keys(&self.caps.hooks.for_request()).await.map_err(kv::Error::Other))
    }

    async fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl sql::Host for CapabilitiesView<'_> {}

fn error_v2(e: sql3::Error) -> sql::Error {
    match e {
        sql3::Error::NoSuchDatabase => sql::Error::NoSuchDatabase,
        sql3::Error::AccessDenied => sql::Error::AccessDenied,
        sql3::Error::InvalidConnection => sql::Error::InvalidConnection,
        sql3::Error::DatabaseFull => sql::Error::DatabaseFull,
        sql3::Error::Io(message) => sql::Error::Io(message),
    }
}

fn value_v3(v: sql::Value) -> sql3::Value {
    match v {
        sql::Value::Integer(i) => sql3::Value::Integer(i),
        sql::Value::Real(r) => sql3::Value::Real(r),
        sql::Value::Text(t) => sql3::Value::Text(t),
        sql::Value::Blob(b) => sql3::Value::Blob(b),
        sql::Value::Null => sql3::Value::Null,
    }
}

fn value_v2(v: sql3::Value) -> sql::Value {
    match v {
        sql3::Value::Integer(i) => sql::Value::Integer(i),
        sql3::Value::Real(r) => sql::Value::Real(r),
        sql3::Value::Text(t) => sql::Value::Text(t),
        sql3::Value::Blob(b) => sql::Value::Blob(b),
        sql3::Value::Null => sql::Value::Null,
    }
}

impl sql::HostConnection for CapabilitiesView<'_> {
    fn open(&mut self, database: String) -> wasmtime::Result<Result<Resource<OpenConnection>, sql::Error>> {
        Ok(sqlite::open(self, &database)?.map_err(error_v2))
    }

    fn drop(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl<T: Send> sql::HostConnectionWithStore<T> for Spin {
    async fn execute(
        access: Access<'_, T, Self>,
        conn: Resource<OpenConnection>,
        statement: String,
        parameters: Vec<sql::Value>,
    ) -> wasmtime::Result<Result<sql::QueryResult, sql::Error>> {
        let parameters = parameters.into_iter().map(value_v3).collect();
        Ok(sqlite::run_blocking_caller(access, &conn, statement, parameters)
            .await?
            .map(|result| sql::QueryResult {
                columns: result.columns,
                rows: result.rows.into_iter().map(|row| sql::RowResult { values: row.values.into_iter().map(value_v2).collect() }).collect(),
            })
            .map_err(error_v2))
    }
}

impl vars::Host for CapabilitiesView<'_> {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, vars::Error>> {
        Ok(super::variables::lookup(&self.caps.grants.variables, &name).map_err(|e| match e {
            vars3::Error::InvalidName(m) => vars::Error::InvalidName(m),
            vars3::Error::Undefined(m) => vars::Error::Undefined(m),
            vars3::Error::Provider(m) => vars::Error::Provider(m),
            vars3::Error::Other(m) => vars::Error::Other(m),
        }))
    }
}

const NO_MODELS: &str = "souk serves no LLM models";

impl CapabilitiesView<'_> {
    /// Why a call naming `model` fails: as in Spin, a model the component's
    /// `ai_models` does not list is invalid input; any other, because souk
    /// runs none.
    fn no_model(&self, model: &str, doing: &str) -> llm::Error {
        if !self.caps.grants.ai_models.iter().any(|m| m == model) {
            return llm::Error::InvalidInput(format!("the component may not use `{model}`: add it to the component's `ai_models` in spin.toml"));
        }
        llm::Error::RuntimeError(format!("{NO_MODELS}; cannot {doing} with `{model}`"))
    }
}

impl llm::Host for CapabilitiesView<'_> {
    fn infer(
        &mut self,
        model: String,
        _prompt: String,
        _params: Option<llm::InferencingParams>,
    ) -> wasmtime::Result<Result<llm::InferencingResult, llm::Error>> {
        Ok(Err(self.no_model(&model, "infer")))
    }

    fn generate_embeddings(&mut self, model: String, _text: Vec<String>) -> wasmtime::Result<Result<llm::EmbeddingsResult, llm::Error>> {
        Ok(Err(self.no_model(&model, "embed")))
    }
}
