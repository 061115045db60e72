//! `spin:sqlite/sqlite@3.1.0`: each database label is a SQLite file from
//! runtime-config.toml; a component opens only the labels its manifest lists.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::Spin;
use super::bindings::spin::sqlite::sqlite::{self as sql, Error, QueryResult, RowResult, Value};
use super::shared_connection::SharedConnection;
use crate::instance::InstanceState;

/// Every configured SQLite database, by label.
#[derive(Default)]
pub struct SqliteDatabases {
    by_label: HashMap<String, Arc<SharedConnection>>,
}

impl SqliteDatabases {
    pub fn open(label: &str, path: &std::path::Path, dbs: &mut Self) -> Result<(), String> {
        dbs.by_label.insert(label.to_string(), Arc::new(SharedConnection::open(path)?));
        Ok(())
    }

    pub fn get(&self, label: &str) -> Option<Arc<SharedConnection>> {
        self.by_label.get(label).cloned()
    }

    pub fn close(&self) {
        self.by_label.values().for_each(|c| c.close());
    }
}

/// A database a guest has opened, with the counters of its last statement.
pub struct OpenConnection {
    conn: Arc<SharedConnection>,
    last_insert_rowid: i64,
    changes: u64,
}

pub(super) fn open(state: &mut InstanceState, label: &str) -> wasmtime::Result<Result<Resource<OpenConnection>, Error>> {
    if !state.component.sqlite_labels.contains(label) {
        return Ok(Err(Error::AccessDenied));
    }
    let Some(conn) = state.component.stores.sqlite.get(label) else {
        return Ok(Err(Error::NoSuchDatabase));
    };
    Ok(Ok(state.table.push(OpenConnection { conn, last_insert_rowid: 0, changes: 0 })?))
}

fn to_sql(value: Value) -> SqlValue {
    match value {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(r) => SqlValue::Real(r),
        Value::Text(t) => SqlValue::Text(t),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    }
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Null => Value::Null,
    }
}

/// Runs one statement; also returns the connection's counters after it, read
/// while still holding the lock so another instance's statement cannot interleave.
fn execute(conn: &SharedConnection, statement: &str, parameters: Vec<Value>) -> Result<(QueryResult, i64, u64), Error> {
    conn.with(|c| {
        let mut stmt = c.prepare_cached(statement)?;
        let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
        let params: Vec<SqlValue> = parameters.into_iter().map(to_sql).collect();
        let mut rows_out = Vec::new();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            let values = (0..columns.len()).map(|i| row.get_ref(i).map(from_sql)).collect::<rusqlite::Result<_>>()?;
            rows_out.push(RowResult { values });
        }
        drop(rows);
        drop(stmt);
        Ok((QueryResult { columns, rows: rows_out }, c.last_insert_rowid(), c.changes()))
    })
    .map_err(Error::Io)
}

pub(super) fn run(state: &mut InstanceState, conn: &Resource<OpenConnection>, statement: &str, parameters: Vec<Value>) -> wasmtime::Result<Result<QueryResult, Error>> {
    let open = state.table.get_mut(conn)?;
    Ok(execute(&open.conn, statement, parameters).map(|(result, rowid, changes)| {
        open.last_insert_rowid = rowid;
        open.changes = changes;
        result
    }))
}

impl sql::Host for &mut InstanceState {}

impl sql::HostConnection for &mut InstanceState {
    fn open(&mut self, database: String) -> wasmtime::Result<Result<Resource<OpenConnection>, Error>> {
        open(self, &database)
    }

    fn execute(&mut self, conn: Resource<OpenConnection>, statement: String, parameters: Vec<Value>) -> wasmtime::Result<Result<QueryResult, Error>> {
        run(self, &conn, &statement, parameters)
    }

    fn last_insert_rowid(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<i64> {
        Ok(self.table.get(&conn)?.last_insert_rowid)
    }

    fn changes(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&conn)?.changes)
    }

    fn drop(&mut self, conn: Resource<OpenConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl<T: Send> sql::HostConnectionWithStore<T> for Spin {
    async fn open_async(accessor: &Accessor<T, Self>, database: String) -> wasmtime::Result<Result<Resource<OpenConnection>, Error>> {
        accessor.with(|mut access| open(access.get(), &database))
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        conn: Resource<OpenConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<(Vec<String>, StreamReader<RowResult>, FutureReader<Result<(), Error>>), Error>> {
        accessor.with(|mut access| {
            let result = match run(access.get(), &conn, &statement, parameters)? {
                Ok(result) => result,
                Err(e) => return Ok(Err(e)),
            };
            let rows = StreamReader::new(&mut access, result.rows)?;
            let done = FutureReader::new(&mut access, async { wasmtime::error::Ok(Ok(())) })?;
            Ok(Ok((result.columns, rows, done)))
        })
    }

    async fn last_insert_rowid_async(accessor: &Accessor<T, Self>, conn: Resource<OpenConnection>) -> wasmtime::Result<i64> {
        accessor.with(|mut access| Ok(access.get().table.get(&conn)?.last_insert_rowid))
    }

    async fn changes_async(accessor: &Accessor<T, Self>, conn: Resource<OpenConnection>) -> wasmtime::Result<u64> {
        accessor.with(|mut access| Ok(access.get().table.get(&conn)?.changes))
    }
}
