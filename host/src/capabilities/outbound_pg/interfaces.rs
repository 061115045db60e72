//! The three interface versions over one implementation: 4.2.0 as it is
//! (its `*-async` functions answer once the statement is done, the rows
//! then stream from memory), 3.0.0 and 2.0.0 with the variants they lack
//! (UUID, JSON, numeric, ranges, arrays, intervals; and in 2.0.0 dates and
//! times too) as `unsupported`.

use wasmtime::component::{Access, Accessor, FutureReader, Resource, StreamReader};

use super::super::Spin;
use super::super::bindings::fermyon::spin::postgres as v2;
use super::super::bindings::fermyon::spin::rdbms_types as v2t;
use super::super::bindings::spin::postgres3_0_0::postgres as v3;
use super::v4;
use super::{PgConnection, PgConnectionBuilder, PgError, PgRows};
use crate::capabilities::CapabilitiesView;

fn grants<T: Send>(accessor: &Accessor<T, Spin>) -> std::sync::Arc<crate::capabilities::SpinGrants> {
    accessor.with(|mut access| access.get().caps.grants.clone())
}

fn connection<T: Send>(accessor: &Accessor<T, Spin>, conn: &Resource<PgConnection>) -> wasmtime::Result<PgConnection> {
    accessor.with(|mut access| Ok(access.get().table.get(conn)?.share()))
}

async fn open<T: Send>(accessor: &Accessor<T, Spin>, address: &str, ca_root: Option<&str>) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
    match grants(accessor).postgres.open(address, ca_root).await {
        Ok(conn) => accessor.with(|mut access| Ok(Ok(access.get().table.push(conn)?))),
        Err(e) => Ok(Err(e)),
    }
}

// A synchronous call holds the store while it waits (its guest task is
// blocked anyway), as SQLite's does.

fn held_connection<T: Send>(access: &mut Access<'_, T, Spin>, conn: &Resource<PgConnection>) -> wasmtime::Result<PgConnection> {
    Ok(access.get().table.get(conn)?.share())
}

async fn held_open<T: Send>(
    access: &mut Access<'_, T, Spin>,
    address: &str,
    ca_root: Option<&str>,
) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
    let grant = access.get().caps.grants.clone();
    match grant.postgres.open(address, ca_root).await {
        Ok(conn) => Ok(Ok(access.get().table.push(conn)?)),
        Err(e) => Ok(Err(e)),
    }
}

async fn builder_open<T: Send>(
    accessor: &Accessor<T, Spin>,
    builder: &Resource<PgConnectionBuilder>,
) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
    let (address, ca_root) = accessor.with(|mut access| {
        let b = access.get().table.get(builder)?;
        wasmtime::Result::<_>::Ok((b.address.clone(), b.ca_root.clone()))
    })?;
    open(accessor, &address, ca_root.as_deref()).await
}

impl v4::Host for CapabilitiesView<'_> {}

impl v4::HostConnection for CapabilitiesView<'_> {}

impl v4::HostConnectionBuilder for CapabilitiesView<'_> {}

impl<T: Send> v4::HostConnectionBuilderWithStore<T> for Spin {
    async fn drop(accessor: &Accessor<T, Self>, builder: Resource<PgConnectionBuilder>) -> wasmtime::Result<()> {
        accessor.with(|mut access| access.get().table.delete(builder).map(drop))?;
        Ok(())
    }

    async fn new(mut access: Access<'_, T, Self>, address: String) -> wasmtime::Result<Resource<PgConnectionBuilder>> {
        Ok(access.get().table.push(PgConnectionBuilder { address, ca_root: None })?)
    }

    async fn set_ca_root(
        mut access: Access<'_, T, Self>,
        builder: Resource<PgConnectionBuilder>,
        certificate: String,
    ) -> wasmtime::Result<Result<(), PgError>> {
        access.get().table.get_mut(&builder)?.ca_root = Some(certificate);
        Ok(Ok(()))
    }

    async fn build(mut access: Access<'_, T, Self>, builder: Resource<PgConnectionBuilder>) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        let b = access.get().table.get(&builder)?;
        let (address, ca_root) = (b.address.clone(), b.ca_root.clone());
        held_open(&mut access, &address, ca_root.as_deref()).await
    }

    async fn build_async(accessor: &Accessor<T, Self>, builder: Resource<PgConnectionBuilder>) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        builder_open(accessor, &builder).await
    }
}

impl<T: Send> v4::HostConnectionWithStore<T> for Spin {
    async fn drop(accessor: &Accessor<T, Self>, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        accessor.with(|mut access| access.get().table.delete(conn).map(drop))?;
        Ok(())
    }

    async fn open(mut access: Access<'_, T, Self>, address: String) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        held_open(&mut access, &address, None).await
    }

    async fn open_async(accessor: &Accessor<T, Self>, address: String) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        open(accessor, &address, None).await
    }

    async fn query(
        mut access: Access<'_, T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v4::ParameterValue>,
    ) -> wasmtime::Result<Result<v4::RowSet, PgError>> {
        let found = held_connection(&mut access, &conn)?.query(&statement, params).await;
        Ok(found.map(|PgRows { columns, rows }| v4::RowSet { columns, rows }))
    }

    async fn query_async(
        accessor: &Accessor<T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v4::ParameterValue>,
    ) -> wasmtime::Result<Result<(Vec<v4::Column>, StreamReader<Vec<v4::DbValue>>, FutureReader<Result<(), PgError>>), PgError>> {
        let PgRows { columns, rows } = match connection(accessor, &conn)?.query(&statement, params).await {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let (rows, done) = super::super::buffered_stream(accessor, rows, Ok(()))?;
        Ok(Ok((columns, rows, done)))
    }

    async fn execute(
        mut access: Access<'_, T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v4::ParameterValue>,
    ) -> wasmtime::Result<Result<u64, PgError>> {
        Ok(held_connection(&mut access, &conn)?.execute(&statement, params).await)
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v4::ParameterValue>,
    ) -> wasmtime::Result<Result<u64, PgError>> {
        Ok(connection(accessor, &conn)?.execute(&statement, params).await)
    }
}

// spin:postgres@3.0.0: the same calls; its types are copies of 4.x's with
// fewer variants.

fn error_v3(e: PgError) -> v3::Error {
    match e {
        PgError::ConnectionFailed(m) => v3::Error::ConnectionFailed(m),
        PgError::BadParameter(m) => v3::Error::BadParameter(m),
        PgError::QueryFailed(v4::QueryError::Text(m)) => v3::Error::QueryFailed(m),
        PgError::QueryFailed(v4::QueryError::DbError(db)) => v3::Error::QueryFailed(db.as_text),
        PgError::ValueConversionFailed(m) => v3::Error::ValueConversionFailed(m),
        PgError::Other(m) => v3::Error::Other(m),
    }
}

fn param_v3(p: v3::ParameterValue) -> v4::ParameterValue {
    use v3::ParameterValue as P;
    use v4::ParameterValue as Q;
    match p {
        P::Boolean(b) => Q::Boolean(b),
        P::Int8(i) => Q::Int8(i),
        P::Int16(i) => Q::Int16(i),
        P::Int32(i) => Q::Int32(i),
        P::Int64(i) => Q::Int64(i),
        P::Floating32(f) => Q::Floating32(f),
        P::Floating64(f) => Q::Floating64(f),
        P::Str(s) => Q::Str(s),
        P::Binary(b) => Q::Binary(b),
        P::Date(d) => Q::Date(d),
        P::Time(t) => Q::Time(t),
        P::Datetime(d) => Q::Datetime(d),
        P::Timestamp(t) => Q::Timestamp(t),
        P::DbNull => Q::DbNull,
    }
}

fn data_type_v3(t: v4::DbDataType) -> v3::DbDataType {
    use v3::DbDataType as U;
    use v4::DbDataType as T;
    match t {
        T::Boolean => U::Boolean,
        T::Int8 => U::Int8,
        T::Int16 => U::Int16,
        T::Int32 => U::Int32,
        T::Int64 => U::Int64,
        T::Floating32 => U::Floating32,
        T::Floating64 => U::Floating64,
        T::Str => U::Str,
        T::Binary => U::Binary,
        T::Date => U::Date,
        T::Time => U::Time,
        T::Datetime => U::Datetime,
        T::Timestamp => U::Timestamp,
        _ => U::Other,
    }
}

fn value_v3(v: v4::DbValue) -> v3::DbValue {
    use v3::DbValue as U;
    use v4::DbValue as V;
    match v {
        V::Boolean(b) => U::Boolean(b),
        V::Int8(i) => U::Int8(i),
        V::Int16(i) => U::Int16(i),
        V::Int32(i) => U::Int32(i),
        V::Int64(i) => U::Int64(i),
        V::Floating32(f) => U::Floating32(f),
        V::Floating64(f) => U::Floating64(f),
        V::Str(s) => U::Str(s),
        V::Binary(b) => U::Binary(b),
        V::Date(d) => U::Date(d),
        V::Time(t) => U::Time(t),
        V::Datetime(d) => U::Datetime(d),
        V::Timestamp(t) => U::Timestamp(t),
        V::DbNull => U::DbNull,
        _ => U::Unsupported,
    }
}

impl v3::Host for CapabilitiesView<'_> {}

impl v3::HostConnection for CapabilitiesView<'_> {}

impl<T: Send> v3::HostConnectionWithStore<T> for Spin {
    async fn drop(accessor: &Accessor<T, Self>, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        accessor.with(|mut access| access.get().table.delete(conn).map(drop))?;
        Ok(())
    }

    async fn open(mut access: Access<'_, T, Self>, address: String) -> wasmtime::Result<Result<Resource<PgConnection>, v3::Error>> {
        Ok(held_open(&mut access, &address, None).await?.map_err(error_v3))
    }

    async fn query(
        mut access: Access<'_, T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v3::ParameterValue>,
    ) -> wasmtime::Result<Result<v3::RowSet, v3::Error>> {
        let found = held_connection(&mut access, &conn)?.query(&statement, params.into_iter().map(param_v3).collect()).await;
        Ok(found.map_err(error_v3).map(|PgRows { columns, rows }| v3::RowSet {
            columns: columns.into_iter().map(|c| v3::Column { name: c.name, data_type: data_type_v3(c.data_type) }).collect(),
            rows: rows.into_iter().map(|row| row.into_iter().map(value_v3).collect()).collect(),
        }))
    }

    async fn execute(
        mut access: Access<'_, T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v3::ParameterValue>,
    ) -> wasmtime::Result<Result<u64, v3::Error>> {
        Ok(held_connection(&mut access, &conn)?.execute(&statement, params.into_iter().map(param_v3).collect()).await.map_err(error_v3))
    }
}

// fermyon:spin/postgres@2.0.0, on the shared rdbms-types (which also has
// unsigned integers: they widen to the next signed type, a u64 only when
// it fits an i64).

fn error_v2(e: PgError) -> v2t::Error {
    match error_v3(e) {
        v3::Error::ConnectionFailed(m) => v2t::Error::ConnectionFailed(m),
        v3::Error::BadParameter(m) => v2t::Error::BadParameter(m),
        v3::Error::QueryFailed(m) => v2t::Error::QueryFailed(m),
        v3::Error::ValueConversionFailed(m) => v2t::Error::ValueConversionFailed(m),
        v3::Error::Other(m) => v2t::Error::Other(m),
    }
}

fn param_v2(p: v2t::ParameterValue) -> Result<v4::ParameterValue, v2t::Error> {
    use v2t::ParameterValue as P;
    use v4::ParameterValue as Q;
    Ok(match p {
        P::Boolean(b) => Q::Boolean(b),
        P::Int8(i) => Q::Int8(i),
        P::Int16(i) => Q::Int16(i),
        P::Int32(i) => Q::Int32(i),
        P::Int64(i) => Q::Int64(i),
        P::Uint8(i) => Q::Int16(i.into()),
        P::Uint16(i) => Q::Int32(i.into()),
        P::Uint32(i) => Q::Int64(i.into()),
        P::Uint64(i) => Q::Int64(i64::try_from(i).map_err(|_| v2t::Error::BadParameter(format!("uint64 parameter {i} does not fit PostgreSQL's bigint")))?),
        P::Floating32(f) => Q::Floating32(f),
        P::Floating64(f) => Q::Floating64(f),
        P::Str(s) => Q::Str(s),
        P::Binary(b) => Q::Binary(b),
        P::DbNull => Q::DbNull,
    })
}

fn data_type_v2(t: v4::DbDataType) -> v2t::DbDataType {
    use v2t::DbDataType as U;
    use v4::DbDataType as T;
    match t {
        T::Boolean => U::Boolean,
        T::Int8 => U::Int8,
        T::Int16 => U::Int16,
        T::Int32 => U::Int32,
        T::Int64 => U::Int64,
        T::Floating32 => U::Floating32,
        T::Floating64 => U::Floating64,
        T::Str => U::Str,
        T::Binary => U::Binary,
        _ => U::Other,
    }
}

fn value_v2(v: v4::DbValue) -> v2t::DbValue {
    use v2t::DbValue as U;
    use v4::DbValue as V;
    match v {
        V::Boolean(b) => U::Boolean(b),
        V::Int8(i) => U::Int8(i),
        V::Int16(i) => U::Int16(i),
        V::Int32(i) => U::Int32(i),
        V::Int64(i) => U::Int64(i),
        V::Floating32(f) => U::Floating32(f),
        V::Floating64(f) => U::Floating64(f),
        V::Str(s) => U::Str(s),
        V::Binary(b) => U::Binary(b),
        V::DbNull => U::DbNull,
        _ => U::Unsupported,
    }
}

fn params_v2(params: Vec<v2t::ParameterValue>) -> Result<Vec<v4::ParameterValue>, v2t::Error> {
    params.into_iter().map(param_v2).collect()
}

impl v2::Host for CapabilitiesView<'_> {}

impl v2::HostConnection for CapabilitiesView<'_> {}

impl<T: Send> v2::HostConnectionWithStore<T> for Spin {
    async fn drop(accessor: &Accessor<T, Self>, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        accessor.with(|mut access| access.get().table.delete(conn).map(drop))?;
        Ok(())
    }

    async fn open(mut access: Access<'_, T, Self>, address: String) -> wasmtime::Result<Result<Resource<PgConnection>, v2t::Error>> {
        Ok(held_open(&mut access, &address, None).await?.map_err(error_v2))
    }

    async fn query(
        mut access: Access<'_, T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v2t::ParameterValue>,
    ) -> wasmtime::Result<Result<v2t::RowSet, v2t::Error>> {
        let params = match params_v2(params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let found = held_connection(&mut access, &conn)?.query(&statement, params).await;
        Ok(found.map_err(error_v2).map(|PgRows { columns, rows }| v2t::RowSet {
            columns: columns.into_iter().map(|c| v2t::Column { name: c.name, data_type: data_type_v2(c.data_type) }).collect(),
            rows: rows.into_iter().map(|row| row.into_iter().map(value_v2).collect()).collect(),
        }))
    }

    async fn execute(
        mut access: Access<'_, T, Self>,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<v2t::ParameterValue>,
    ) -> wasmtime::Result<Result<u64, v2t::Error>> {
        let params = match params_v2(params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        Ok(held_connection(&mut access, &conn)?.execute(&statement, params).await.map_err(error_v2))
    }
}
