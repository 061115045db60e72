//! What guests may import. One module per interface family; `link` puts them
//! all into the one linker every component is instantiated from.

pub mod address_cache;
pub mod blocked_networks;
pub mod circuit_breaker;
pub mod client_tls;
pub mod connection_limits;
pub mod deny;
pub mod for_request;
pub mod key_value;
pub mod key_value_redis;
pub mod outbound_http;
pub mod outbound_http_send;
pub mod outbound_mqtt;
pub mod outbound_mysql;
pub mod outbound_pg;
pub mod outbound_redis;
pub mod outbound_tls;
pub mod redis_commands;
pub mod redis_link;
pub mod shared_connection;
pub mod socket_limits;
pub mod spin_v2;
pub mod sql_policy;
pub mod sqlite;
pub mod sqlite_cut;
pub mod sqlite_journal;
pub mod variables;
pub mod wasi_cli;
pub mod wasi_config;
pub mod wasi_keyvalue;

use std::sync::Arc;

use wasmtime::component::{Accessor, ComponentType, FutureReader, HasData, Lift, Linker, Lower, ResourceTable, StreamReader};
use wasmtime_wasi::WasiView;
use wasmtime_wasi_http::WasiHttpView;

use for_request::ByTask;
use key_value::KeyValueGrant;
use outbound_http::OutboundHooks;
use outbound_mqtt::MqttGrant;
use outbound_mysql::MysqlGrant;
use outbound_pg::PgGrant;
use outbound_redis::RedisGrant;
use socket_limits::SocketPermits;
use sqlite::SqliteGrant;
use variables::VariablesGrant;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "souk:host/spin-capabilities",
        // A guest's synchronous `execute` may have to wait for another
        // guest's transaction: as a concurrent host function it waits on its
        // own host task, blocking only the calling guest task, not a thread.
        imports: {
            "spin:sqlite/sqlite.[method]connection.execute": async | store | trappable,
            "fermyon:spin/sqlite.[method]connection.execute": async | store | trappable,
            // Synchronous for the guest, network calls for the host: the
            // calling guest task waits, not the thread.
            "fermyon:spin/redis": async | trappable,
            "fermyon:spin/mqtt": async | trappable,
            // The same for the synchronous key-value interfaces: a store
            // may be a Redis server.
            "fermyon:spin/key-value": async | trappable,
            "wasi:keyvalue/store": async | trappable,
            "wasi:keyvalue/atomics": async | trappable,
            "wasi:keyvalue/batch": async | trappable,
            // Database calls wait on a server: each is a host task of its
            // own, blocking only the calling guest task.
            "spin:postgres/postgres": async | store | trappable,
            "fermyon:spin/postgres": async | store | trappable,
            "spin:mysql/mysql": async | store | trappable,
            "fermyon:spin/mysql": async | store | trappable,
            default: trappable,
        },
        with: {
            "spin:key-value/key-value.store": crate::capabilities::key_value::OpenStore,
            "spin:sqlite/sqlite.connection": crate::capabilities::sqlite::OpenConnection,
            "fermyon:spin/key-value.store": crate::capabilities::key_value::OpenStore,
            "fermyon:spin/sqlite.connection": crate::capabilities::sqlite::OpenConnection,
            "spin:redis/redis.connection": crate::capabilities::outbound_redis::RedisConnection,
            "fermyon:spin/redis.connection": crate::capabilities::outbound_redis::RedisConnection,
            "spin:mqtt/mqtt.connection": crate::capabilities::outbound_mqtt::MqttConnection,
            "fermyon:spin/mqtt.connection": crate::capabilities::outbound_mqtt::MqttConnection,
            "spin:postgres/postgres.connection": crate::capabilities::outbound_pg::PgConnection,
            "spin:postgres/postgres.connection-builder": crate::capabilities::outbound_pg::PgConnectionBuilder,
            "fermyon:spin/postgres.connection": crate::capabilities::outbound_pg::PgConnection,
            "spin:mysql/mysql.connection": crate::capabilities::outbound_mysql::MysqlConnection,
            "fermyon:spin/mysql.connection": crate::capabilities::outbound_mysql::MysqlConnection,
            "wasi:keyvalue/store.bucket": crate::capabilities::key_value::OpenStore,
            "wasi:keyvalue/atomics.cas": crate::capabilities::wasi_keyvalue::Cas,
        },
    });
}

/// Items the host already holds, handed to a guest as a stream, with the
/// future that says how the stream ended: what the interfaces whose
/// queries answer with `stream<row>` and `future<result>` return once
/// the host has the whole answer.
pub(crate) fn buffered_stream<T: Send, I, O>(accessor: &Accessor<T, Spin>, items: Vec<I>, outcome: O) -> wasmtime::Result<(StreamReader<I>, FutureReader<O>)>
where
    I: ComponentType + Lower + Lift + Send + Sync + Unpin + 'static,
    O: ComponentType + Lower + Lift + Send + Sync + 'static,
{
    accessor.with(|mut access| {
        let stream = StreamReader::new(&mut access, items)?;
        let done = FutureReader::new(&mut access, async move { wasmtime::error::Ok(outcome) })?;
        Ok((stream, done))
    })
}

/// What a component's instances may reach through the Spin interfaces:
/// each capability's grant, made once at start-up by its capability and
/// shared by every instance of the component.
pub struct SpinGrants {
    pub key_value: KeyValueGrant,
    pub sqlite: SqliteGrant,
    pub variables: VariablesGrant,
    /// The component's `ai_models`: the only models its LLM calls may name.
    pub ai_models: Vec<String>,
    pub redis: RedisGrant,
    pub mqtt: MqttGrant,
    pub postgres: PgGrant,
    pub mysql: MysqlGrant,
}

/// Each capability's state for one instance: its component's grants, and
/// the requests the instance serves (their deadlines and spans), which
/// every store and connection capability checks before it acts. The
/// resources a guest opens live in the instance's resource table, which
/// the capabilities share with WASI.
pub struct InstanceCapabilities {
    /// Outbound HTTP's grant, and the latest request's deadline and span.
    pub hooks: OutboundHooks,
    /// Each request's deadline and span, by the guest task serving it.
    pub by_task: ByTask,
    pub grants: Arc<SpinGrants>,
    /// The places its `wasi:sockets` sockets hold under the connection limits.
    pub sockets: SocketPermits,
}

/// What the Spin interfaces' host functions work on: the instance's
/// resource table and its capabilities' state.
pub struct CapabilitiesView<'a> {
    pub table: &'a mut ResourceTable,
    pub caps: &'a mut InstanceCapabilities,
}

/// A store's data that holds an instance's capabilities, as `WasiView` is
/// one that holds its WASI context.
pub trait HasCapabilities {
    fn capabilities(&mut self) -> CapabilitiesView<'_>;
}

/// Marker naming the per-instance data the Spin interfaces work on.
pub struct Spin;

impl HasData for Spin {
    type Data<'a> = CapabilitiesView<'a>;
}

/// Builds the linker: WASI p2 and p3, wasi:http p2 and p3, Spin's
/// key-value, SQLite, variables, outbound Redis, MQTT, PostgreSQL and MySQL interfaces (4.x, 3.x and 2.0), the LLM one
/// (refusing), the wasi:keyvalue and wasi:config drafts, and their refusing stand-ins
/// for dependencies that do not inherit them.
pub fn link<T: WasiView + WasiHttpView + HasCapabilities + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi::p3::add_to_linker(linker)?;
    socket_limits::link(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wasmtime_wasi_http::p3::add_to_linker(linker)?;
    bindings::spin::key_value::key_value::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::spin::sqlite::sqlite::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::spin::variables::variables::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::spin::redis::redis::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::spin::mqtt::mqtt::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::spin::postgres4_2_0::postgres::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::spin::postgres3_0_0::postgres::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::spin::mysql::mysql::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::key_value::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::sqlite::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::variables::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::llm::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::redis::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::mqtt::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::postgres::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::fermyon::spin::mysql::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::wasi::keyvalue::store::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::wasi::keyvalue::atomics::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::wasi::keyvalue::batch::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    bindings::wasi::config::store::add_to_linker::<_, Spin>(linker, T::capabilities)?;
    // The types a Spin 1-3 SDK Redis handler's export uses, imported as an
    // instance of types only (the Redis trigger calls the export).
    linker.instance("fermyon:spin/redis-types")?;
    // Likewise for a cron component's (`#[cron_component]`) export.
    linker.instance("fermyon:spin-cron/cron-types@2.0.0")?;
    deny::link(linker)?;
    Ok(())
}
