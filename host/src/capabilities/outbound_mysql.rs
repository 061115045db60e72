//! Outbound MySQL (and MariaDB) as Spin gives it: `spin:mysql/mysql@3.0.0`
//! and `fermyon:spin/mysql@2.0.0`, on `mysql_async`.
//!
//! An address is a URL (`mysql://user:password@host:port/db`); its host
//! and port are checked against the component's `allowed_outbound_hosts`
//! (scheme `mysql`) before anything connects, and a refused or malformed
//! one is `connection-failed`. Connections come from one bounded pool per
//! address ([`MAX_CONNECTIONS_PER_ADDRESS`]); a guest's connection holds one
//! until the guest drops it, and the server resets its session before the
//! pool hands it to anyone else. Never over a Unix socket, even for
//! `localhost` (the client's habit of switching to one is turned off).
//! TLS when the address asks for it, with the client's URL options
//! (`require_ssl=true`, and `verify_ca`, `verify_identity`,
//! `built_in_roots`): the server's certificate must chain to the web's CAs
//! or to a root the system trusts ([`super::outbound_tls`]).
//!
//! Values follow the column: integers by width and sign, `FLOAT`/`DOUBLE`,
//! binary strings and blobs as `binary`, and every other type (text,
//! decimals, dates and times, JSON) as `str`, as the server writes it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, Value};
use souk_manifest::{AllowedHosts, BlockedNetworks};
use wasmtime::component::{Access, Accessor, FutureReader, Resource, StreamReader};

use super::CapabilitiesView;
use super::Spin;
use super::address_cache::AddressCache;
use super::bindings::fermyon::spin::mysql as v2;
use super::bindings::fermyon::spin::rdbms_types as v2t;
use super::bindings::spin::mysql::mysql as v3;
use super::connection_limits::{ConnectionLimits, Kind, Permit};

/// How many connections one address's pool may hold open at once.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 16;
/// How long connecting (or waiting for a free pooled connection) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// MySQL's character set number for binary strings.
const BINARY_CHARSET: u16 = 63;

/// The app's MySQL pools, by address.
#[derive(Default)]
pub struct MysqlPools {
    by_address: AddressCache<PoolKey, Pool>,
}

/// A guest's address, and the addresses checked against the blocked
/// networks (when there are any): a pool connects only to those.
type PoolKey = (String, Option<Vec<IpAddr>>);

impl MysqlPools {
    fn pool(&self, address: &str, opts: Opts, checked: Option<Vec<IpAddr>>) -> Pool {
        let opts: Opts = match &checked {
            // The client then connects to these, and checks the name only for TLS.
            Some(ips) => OptsBuilder::from_opts(opts).resolved_ips(Some(ips.clone())).into(),
            None => opts,
        };
        self.by_address.get_or_insert((address.to_string(), checked), || {
            let constraints = PoolConstraints::new(0, MAX_CONNECTIONS_PER_ADDRESS).expect("0 <= max and max > 0");
            let pool_opts = PoolOpts::default().with_constraints(constraints).with_reset_connection(true);
            Pool::new(OptsBuilder::from_opts(with_system_roots(opts)).prefer_socket(false).pool_opts(pool_opts))
        })
    }
}

/// What one component may reach over MySQL.
pub struct MysqlGrant {
    pub component: String,
    pub allowed_hosts: Arc<AllowedHosts>,
    /// Where no connection may go, whatever `allowed_hosts` say.
    pub blocked: Arc<BlockedNetworks>,
    pub pools: Arc<MysqlPools>,
    pub limits: Arc<ConnectionLimits>,
}

/// A connection a guest has opened. A MySQL connection answers one
/// statement at a time: calls take turns on it.
pub struct MysqlConnection {
    conn: Arc<tokio::sync::Mutex<Conn>>,
    /// Its place under the runtime config's connection limits.
    permit: Arc<Permit>,
}

/// Why a call failed (3.0.0's terms; 2.0.0 has the same cases).
type Error = v3::Error;

/// `address` without its password, for messages.
fn redacted(address: &str) -> String {
    match (address.split_once("://"), address.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://…{}", &address[at..]),
        _ => address.to_string(),
    }
}

fn parse(address: &str) -> Result<Opts, String> {
    let opts = Opts::from_url(address).map_err(|e| format!("`{}` is not a MySQL address: {e}", redacted(address)))?;
    if opts.socket().is_some() {
        return Err(format!("`{}` names a Unix socket: only TCP hosts are served", redacted(address)));
    }
    Ok(opts)
}

/// `opts`, trusting the system's roots too when the address asks for TLS
/// (`require_ssl=true`): the client's own set is the web's CAs only, and a
/// database's certificate is often from a private CA the system was given.
fn with_system_roots(opts: Opts) -> Opts {
    let Some(ssl) = opts.ssl_opts().cloned() else { return opts };
    let mut roots = ssl.root_certs().to_vec();
    roots.extend(super::outbound_tls::system_roots().iter().map(|cert| cert.to_vec().into()));
    OptsBuilder::from_opts(opts).ssl_opts(ssl.with_root_certs(roots)).into()
}

impl MysqlGrant {
    async fn open(&self, address: &str) -> Result<MysqlConnection, Error> {
        let opts = parse(address).map_err(|e| {
            tracing::warn!("component `{}`: {e}", self.component);
            Error::ConnectionFailed(e)
        })?;
        let (host, port) = (opts.ip_or_hostname().to_string(), opts.tcp_port());
        if !self.allowed_hosts.allows("mysql", &host, port) {
            tracing::warn!("component `{}`: MySQL connection to {host}:{port} refused: not in allowed_outbound_hosts", self.component);
            return Err(Error::ConnectionFailed(format!("address mysql://{host}:{port} is not permitted by allowed_outbound_hosts")));
        }
        let checked = super::blocked_networks::checked_addresses(&host, port, &self.blocked).await.map_err(|e| {
            tracing::warn!("component `{}`: MySQL connection refused: {e}", self.component);
            Error::ConnectionFailed(e)
        })?;
        let permit = self.limits.acquire(Kind::Mysql).await.map_err(Error::ConnectionFailed)?;
        let pool = self.pools.pool(address, opts, checked);
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, pool.get_conn())
            .await
            .map_err(|_| Error::ConnectionFailed(format!("cannot connect to {} within {CONNECT_TIMEOUT:?}", redacted(address))))?
            .map_err(|e| Error::ConnectionFailed(format!("cannot connect to {}: {e}", redacted(address))))?;
        Ok(MysqlConnection { conn: Arc::new(tokio::sync::Mutex::new(conn)), permit: Arc::new(permit) })
    }
}

/// Columns and rows, in 3.0.0's terms.
struct Rows {
    columns: Vec<v3::Column>,
    rows: Vec<Vec<v3::DbValue>>,
}

fn query_error(e: mysql_async::Error) -> Error {
    match e {
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => Error::ConnectionFailed(e.to_string()),
        other => Error::QueryFailed(other.to_string()),
    }
}

fn params(values: Vec<v3::ParameterValue>) -> Params {
    use v3::ParameterValue as P;
    if values.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        values
            .into_iter()
            .map(|p| match p {
                P::Boolean(b) => Value::Int(b.into()),
                P::Int8(i) => Value::Int(i.into()),
                P::Int16(i) => Value::Int(i.into()),
                P::Int32(i) => Value::Int(i.into()),
                P::Int64(i) => Value::Int(i),
                P::Uint8(u) => Value::UInt(u.into()),
                P::Uint16(u) => Value::UInt(u.into()),
                P::Uint32(u) => Value::UInt(u.into()),
                P::Uint64(u) => Value::UInt(u),
                P::Floating32(f) => Value::Float(f),
                P::Floating64(f) => Value::Double(f),
                P::Str(s) => Value::Bytes(s.into_bytes()),
                P::Binary(b) => Value::Bytes(b),
                P::DbNull => Value::NULL,
            })
            .collect(),
    )
}

fn is_binary(column: &mysql_async::Column) -> bool {
    column.character_set() == BINARY_CHARSET
        && matches!(
            column.column_type(),
            ColumnType::MYSQL_TYPE_STRING
                | ColumnType::MYSQL_TYPE_VAR_STRING
                | ColumnType::MYSQL_TYPE_VARCHAR
                | ColumnType::MYSQL_TYPE_BLOB
                | ColumnType::MYSQL_TYPE_TINY_BLOB
                | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
                | ColumnType::MYSQL_TYPE_LONG_BLOB
                | ColumnType::MYSQL_TYPE_BIT
        )
}

fn data_type(column: &mysql_async::Column) -> v3::DbDataType {
    use v3::DbDataType as T;
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    match column.column_type() {
        ColumnType::MYSQL_TYPE_TINY if unsigned => T::Uint8,
        ColumnType::MYSQL_TYPE_TINY => T::Int8,
        ColumnType::MYSQL_TYPE_SHORT | ColumnType::MYSQL_TYPE_YEAR if unsigned => T::Uint16,
        ColumnType::MYSQL_TYPE_SHORT | ColumnType::MYSQL_TYPE_YEAR => T::Int16,
        ColumnType::MYSQL_TYPE_LONG | ColumnType::MYSQL_TYPE_INT24 if unsigned => T::Uint32,
        ColumnType::MYSQL_TYPE_LONG | ColumnType::MYSQL_TYPE_INT24 => T::Int32,
        ColumnType::MYSQL_TYPE_LONGLONG if unsigned => T::Uint64,
        ColumnType::MYSQL_TYPE_LONGLONG => T::Int64,
        ColumnType::MYSQL_TYPE_FLOAT => T::Floating32,
        ColumnType::MYSQL_TYPE_DOUBLE => T::Floating64,
        _ if is_binary(column) => T::Binary,
        ColumnType::MYSQL_TYPE_NULL | ColumnType::MYSQL_TYPE_GEOMETRY => T::Other,
        _ => T::Str,
    }
}

/// A value as its column's type says it should reach the guest.
fn value(column: &mysql_async::Column, value: Value) -> Result<v3::DbValue, Error> {
    use v3::DbDataType as T;
    use v3::DbValue as V;
    let out_of_range = |v: &dyn std::fmt::Display| Error::ValueConversionFailed(format!("column `{}`: {v} does not fit its type", column.name_str()));
    let int = |v: Value| -> Result<i128, Error> {
        match v {
            Value::Int(i) => Ok(i.into()),
            Value::UInt(u) => Ok(u.into()),
            // The text protocol sends numbers as text.
            Value::Bytes(b) => {
                String::from_utf8_lossy(&b).trim().parse().map_err(|_| Error::ValueConversionFailed(format!("column `{}`: not an integer", column.name_str())))
            }
            other => Err(Error::ValueConversionFailed(format!("column `{}`: {other:?} is not an integer", column.name_str()))),
        }
    };
    if value == Value::NULL {
        return Ok(V::DbNull);
    }
    Ok(match data_type(column) {
        T::Int8 => int(value).and_then(|i| i8::try_from(i).map_err(|_| out_of_range(&i))).map(V::Int8)?,
        T::Int16 => int(value).and_then(|i| i16::try_from(i).map_err(|_| out_of_range(&i))).map(V::Int16)?,
        T::Int32 => int(value).and_then(|i| i32::try_from(i).map_err(|_| out_of_range(&i))).map(V::Int32)?,
        T::Int64 => int(value).and_then(|i| i64::try_from(i).map_err(|_| out_of_range(&i))).map(V::Int64)?,
        T::Uint8 => int(value).and_then(|i| u8::try_from(i).map_err(|_| out_of_range(&i))).map(V::Uint8)?,
        T::Uint16 => int(value).and_then(|i| u16::try_from(i).map_err(|_| out_of_range(&i))).map(V::Uint16)?,
        T::Uint32 => int(value).and_then(|i| u32::try_from(i).map_err(|_| out_of_range(&i))).map(V::Uint32)?,
        T::Uint64 => int(value).and_then(|i| u64::try_from(i).map_err(|_| out_of_range(&i))).map(V::Uint64)?,
        T::Floating32 | T::Floating64 => match value {
            Value::Float(f) => V::Floating32(f),
            Value::Double(d) => V::Floating64(d),
            Value::Bytes(b) => V::Floating64(String::from_utf8_lossy(&b).trim().parse().map_err(|_| out_of_range(&String::from_utf8_lossy(&b)))?),
            other => return Err(Error::ValueConversionFailed(format!("column `{}`: {other:?} is not a number", column.name_str()))),
        },
        T::Binary => match value {
            Value::Bytes(b) => V::Binary(b),
            other => V::Binary(other.as_sql(true).into_bytes()),
        },
        T::Other => V::Unsupported,
        _ => match value {
            Value::Bytes(b) => match String::from_utf8(b) {
                Ok(s) => V::Str(s),
                Err(e) => V::Binary(e.into_bytes()),
            },
            Value::Date(y, mo, d, ..) if column.column_type() == ColumnType::MYSQL_TYPE_DATE => V::Str(format!("{y:04}-{mo:02}-{d:02}")),
            Value::Date(y, mo, d, h, mi, s, us) => V::Str(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{}", fraction(us))),
            Value::Time(negative, days, h, mi, s, us) => {
                V::Str(format!("{}{:02}:{mi:02}:{s:02}{}", if negative { "-" } else { "" }, u64::from(days) * 24 + u64::from(h), fraction(us)))
            }
            Value::Int(i) => V::Str(i.to_string()),
            Value::UInt(u) => V::Str(u.to_string()),
            Value::Float(f) => V::Str(f.to_string()),
            Value::Double(d) => V::Str(d.to_string()),
            Value::NULL => V::DbNull,
        },
    })
}

fn fraction(micros: u32) -> String {
    if micros == 0 { String::new() } else { format!(".{micros:06}") }
}

impl MysqlConnection {
    fn share(&self) -> MysqlConnection {
        MysqlConnection { conn: self.conn.clone(), permit: self.permit.clone() }
    }

    async fn query(&self, statement: &str, parameters: Vec<v3::ParameterValue>) -> Result<Rows, Error> {
        let mut conn = self.conn.lock().await;
        let mut result = conn.exec_iter(statement, params(parameters)).await.map_err(query_error)?;
        let columns: Arc<[mysql_async::Column]> = result.columns().unwrap_or_else(|| Arc::from(Vec::new()));
        let found: Vec<mysql_async::Row> = result.collect().await.map_err(query_error)?;
        drop(result);
        let rows = found
            .into_iter()
            .map(|row| row.unwrap().into_iter().zip(columns.iter()).map(|(v, c)| value(c, v)).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()?;
        let columns = columns.iter().map(|c| v3::Column { name: c.name_str().into_owned(), data_type: data_type(c) }).collect();
        Ok(Rows { columns, rows })
    }

    async fn execute(&self, statement: &str, parameters: Vec<v3::ParameterValue>) -> Result<(), Error> {
        self.conn.lock().await.exec_drop(statement, params(parameters)).await.map_err(query_error)
    }
}

fn connection<T: Send>(accessor: &Accessor<T, Spin>, conn: &Resource<MysqlConnection>) -> wasmtime::Result<MysqlConnection> {
    accessor.with(|mut access| Ok(access.get().table.get(conn)?.share()))
}

async fn open<T: Send>(accessor: &Accessor<T, Spin>, address: &str) -> wasmtime::Result<Result<Resource<MysqlConnection>, Error>> {
    let grant = accessor.with(|mut access| access.get().caps.grants.clone());
    match grant.mysql.open(address).await {
        Ok(conn) => accessor.with(|mut access| Ok(Ok(access.get().table.push(conn)?))),
        Err(e) => Ok(Err(e)),
    }
}

impl v3::Host for CapabilitiesView<'_> {}

impl v3::HostConnection for CapabilitiesView<'_> {}

impl<T: Send> v3::HostConnectionWithStore<T> for Spin {
    async fn drop(accessor: &Accessor<T, Self>, conn: Resource<MysqlConnection>) -> wasmtime::Result<()> {
        accessor.with(|mut access| access.get().table.delete(conn).map(drop))?;
        Ok(())
    }

    async fn open(accessor: &Accessor<T, Self>, address: String) -> wasmtime::Result<Result<Resource<MysqlConnection>, Error>> {
        open(accessor, &address).await
    }

    /// The rows stream from memory once the statement is done.
    async fn query(
        accessor: &Accessor<T, Self>,
        conn: Resource<MysqlConnection>,
        statement: String,
        params: Vec<v3::ParameterValue>,
    ) -> wasmtime::Result<Result<(Vec<v3::Column>, StreamReader<Vec<v3::DbValue>>, FutureReader<Result<(), Error>>), Error>> {
        let Rows { columns, rows } = match connection(accessor, &conn)?.query(&statement, params).await {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let (rows, done) = super::buffered_stream(accessor, rows, Ok(()))?;
        Ok(Ok((columns, rows, done)))
    }

    async fn execute(
        accessor: &Accessor<T, Self>,
        conn: Resource<MysqlConnection>,
        statement: String,
        params: Vec<v3::ParameterValue>,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(connection(accessor, &conn)?.execute(&statement, params).await)
    }
}

// fermyon:spin/mysql@2.0.0: synchronous for the guest, on rdbms-types,
// whose cases are 3.0.0's under other names.

fn error_v2(e: Error) -> v2t::Error {
    match e {
        Error::ConnectionFailed(m) => v2t::Error::ConnectionFailed(m),
        Error::BadParameter(m) => v2t::Error::BadParameter(m),
        Error::QueryFailed(m) => v2t::Error::QueryFailed(m),
        Error::ValueConversionFailed(m) => v2t::Error::ValueConversionFailed(m),
        Error::Other(m) => v2t::Error::Other(m),
    }
}

fn param_v3(p: v2t::ParameterValue) -> v3::ParameterValue {
    use v2t::ParameterValue as P;
    use v3::ParameterValue as Q;
    match p {
        P::Boolean(b) => Q::Boolean(b),
        P::Int8(i) => Q::Int8(i),
        P::Int16(i) => Q::Int16(i),
        P::Int32(i) => Q::Int32(i),
        P::Int64(i) => Q::Int64(i),
        P::Uint8(u) => Q::Uint8(u),
        P::Uint16(u) => Q::Uint16(u),
        P::Uint32(u) => Q::Uint32(u),
        P::Uint64(u) => Q::Uint64(u),
        P::Floating32(f) => Q::Floating32(f),
        P::Floating64(f) => Q::Floating64(f),
        P::Str(s) => Q::Str(s),
        P::Binary(b) => Q::Binary(b),
        P::DbNull => Q::DbNull,
    }
}

fn data_type_v2(t: v3::DbDataType) -> v2t::DbDataType {
    use v2t::DbDataType as U;
    use v3::DbDataType as T;
    match t {
        T::Boolean => U::Boolean,
        T::Int8 => U::Int8,
        T::Int16 => U::Int16,
        T::Int32 => U::Int32,
        T::Int64 => U::Int64,
        T::Uint8 => U::Uint8,
        T::Uint16 => U::Uint16,
        T::Uint32 => U::Uint32,
        T::Uint64 => U::Uint64,
        T::Floating32 => U::Floating32,
        T::Floating64 => U::Floating64,
        T::Str => U::Str,
        T::Binary => U::Binary,
        T::Other => U::Other,
    }
}

fn value_v2(v: v3::DbValue) -> v2t::DbValue {
    use v2t::DbValue as U;
    use v3::DbValue as V;
    match v {
        V::Boolean(b) => U::Boolean(b),
        V::Int8(i) => U::Int8(i),
        V::Int16(i) => U::Int16(i),
        V::Int32(i) => U::Int32(i),
        V::Int64(i) => U::Int64(i),
        V::Uint8(u) => U::Uint8(u),
        V::Uint16(u) => U::Uint16(u),
        V::Uint32(u) => U::Uint32(u),
        V::Uint64(u) => U::Uint64(u),
        V::Floating32(f) => U::Floating32(f),
        V::Floating64(f) => U::Floating64(f),
        V::Str(s) => U::Str(s),
        V::Binary(b) => U::Binary(b),
        V::DbNull => U::DbNull,
        V::Unsupported => U::Unsupported,
    }
}

impl v2::Host for CapabilitiesView<'_> {}

impl v2::HostConnection for CapabilitiesView<'_> {}

impl<T: Send> v2::HostConnectionWithStore<T> for Spin {
    async fn drop(accessor: &Accessor<T, Self>, conn: Resource<MysqlConnection>) -> wasmtime::Result<()> {
        accessor.with(|mut access| access.get().table.delete(conn).map(drop))?;
        Ok(())
    }

    async fn open(mut access: Access<'_, T, Self>, address: String) -> wasmtime::Result<Result<Resource<MysqlConnection>, v2t::Error>> {
        let grant = access.get().caps.grants.clone();
        match grant.mysql.open(&address).await {
            Ok(conn) => Ok(Ok(access.get().table.push(conn)?)),
            Err(e) => Ok(Err(error_v2(e))),
        }
    }

    async fn query(
        mut access: Access<'_, T, Self>,
        conn: Resource<MysqlConnection>,
        statement: String,
        params: Vec<v2t::ParameterValue>,
    ) -> wasmtime::Result<Result<v2t::RowSet, v2t::Error>> {
        let found = access.get().table.get(&conn)?.share().query(&statement, params.into_iter().map(param_v3).collect()).await;
        Ok(found.map_err(error_v2).map(|Rows { columns, rows }| v2t::RowSet {
            columns: columns.into_iter().map(|c| v2t::Column { name: c.name, data_type: data_type_v2(c.data_type) }).collect(),
            rows: rows.into_iter().map(|row| row.into_iter().map(value_v2).collect()).collect(),
        }))
    }

    async fn execute(
        mut access: Access<'_, T, Self>,
        conn: Resource<MysqlConnection>,
        statement: String,
        params: Vec<v2t::ParameterValue>,
    ) -> wasmtime::Result<Result<(), v2t::Error>> {
        Ok(access.get().table.get(&conn)?.share().execute(&statement, params.into_iter().map(param_v3).collect()).await.map_err(error_v2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_parsed_and_passwords_stay_out_of_messages() {
        let opts = parse("mysql://u:secret@db.example:3307/shop").unwrap();
        assert_eq!((opts.ip_or_hostname(), opts.tcp_port()), ("db.example", 3307));
        assert_eq!(parse("mysql://localhost/x").unwrap().tcp_port(), 3306);
        assert!(parse("postgres://u@h/d").is_err());
        assert!(parse("mysql://u@localhost/d?socket=/tmp/mysql.sock").unwrap_err().contains("Unix socket"));
        assert_eq!(redacted("mysql://u:secret@h:1/d"), "mysql://…@h:1/d");
    }

    #[test]
    fn fractions_of_seconds_show_only_when_present() {
        assert_eq!(fraction(0), "");
        assert_eq!(fraction(1500), ".001500");
    }
}
