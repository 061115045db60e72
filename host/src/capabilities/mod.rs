//! What guests may import. One module per interface family; `link` puts them
//! all into the one linker every component is instantiated from.

pub mod deny;
pub mod key_value;
pub mod outbound_http;
pub mod shared_connection;
pub mod sqlite;
pub mod variables;

use wasmtime::component::{HasData, Linker};

use crate::instance::InstanceState;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "souk:host/spin-capabilities",
        imports: { default: trappable },
        with: {
            "spin:key-value/key-value.store": crate::capabilities::key_value::OpenStore,
            "spin:sqlite/sqlite.connection": crate::capabilities::sqlite::OpenConnection,
        },
    });
}

/// Marker naming the per-instance data the Spin interfaces work on.
pub struct Spin;

impl HasData for Spin {
    type Data<'a> = &'a mut InstanceState;
}

/// Builds the linker: WASI p2 and p3, wasi:http p2 and p3, and Spin's
/// key-value, SQLite and variables interfaces, and their refusing stand-ins
/// for dependencies that do not inherit them.
pub fn link(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi::p3::add_to_linker(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wasmtime_wasi_http::p3::add_to_linker(linker)?;
    bindings::spin::key_value::key_value::add_to_linker::<_, Spin>(linker, |s| s)?;
    bindings::spin::sqlite::sqlite::add_to_linker::<_, Spin>(linker, |s| s)?;
    bindings::spin::variables::variables::add_to_linker::<_, Spin>(linker, |s| s)?;
    deny::link(linker)?;
    Ok(())
}
