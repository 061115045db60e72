//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` (the 2024-10-17 draft
//! Spin serves): buckets are the component's key-value stores, opened by
//! label with the same scoping as `spin:key-value`. `increment` keeps the
//! number as 8 little-endian bytes, as Spin does; `cas` is a real
//! compare-and-swap in one transaction.

use std::sync::Arc;

use wasmtime::component::Resource;

use super::bindings::wasi::keyvalue::{atomics, batch, store};
use super::key_value::{self, OpenError, OpenStore};
use super::shared_connection::SharedConnection;
use crate::instance::InstanceState;

/// A `cas` handle: the key and the value it held when the handle was made.
pub struct Cas {
    conn: Arc<SharedConnection>,
    key: String,
    seen: Option<Vec<u8>>,
}

fn conn(state: &InstanceState, bucket: &Resource<OpenStore>) -> wasmtime::Result<Arc<SharedConnection>> {
    Ok(state.table.get(bucket)?.conn.clone())
}

impl store::Host for &mut InstanceState {
    fn open(&mut self, identifier: String) -> wasmtime::Result<Result<Resource<OpenStore>, store::Error>> {
        Ok(match key_value::open_store(&self.key_value, &identifier) {
            Ok(bucket) => Ok(self.table.push(bucket)?),
            Err(OpenError::AccessDenied) => Err(store::Error::AccessDenied),
            Err(OpenError::NoSuchStore) => Err(store::Error::NoSuchStore),
        })
    }
}

impl store::HostBucket for &mut InstanceState {
    fn get(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(key_value::get(&*conn(self, &bucket)?, &key).map_err(store::Error::Other))
    }

    fn set(&mut self, bucket: Resource<OpenStore>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(key_value::set(&*conn(self, &bucket)?, &key, &value).map_err(store::Error::Other))
    }

    fn delete(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(key_value::delete(&*conn(self, &bucket)?, &key).map_err(store::Error::Other))
    }

    fn exists(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<bool, store::Error>> {
        Ok(key_value::exists(&*conn(self, &bucket)?, &key).map_err(store::Error::Other))
    }

    /// All keys in one page: the stores are local files, so there is no
    /// reason to make the guest page through them.
    fn list_keys(&mut self, bucket: Resource<OpenStore>, _cursor: Option<String>) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        Ok(key_value::keys(&*conn(self, &bucket)?).map(|keys| store::KeyResponse { keys, cursor: None }).map_err(store::Error::Other))
    }

    fn drop(&mut self, bucket: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for &mut InstanceState {
    fn increment(&mut self, bucket: Resource<OpenStore>, key: String, delta: i64) -> wasmtime::Result<Result<i64, store::Error>> {
        Ok(key_value::increment(&*conn(self, &bucket)?, &key, delta).map_err(store::Error::Other))
    }

    fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let handle = self.table.get(&cas)?;
        match key_value::compare_and_swap(&handle.conn, &handle.key, handle.seen.as_deref(), &value) {
            Ok(Ok(())) => {
                self.table.delete(cas)?;
                Ok(Ok(()))
            }
            // The guest gets its handle back holding the value the key has
            // now (the WIT asks for a handle updated to the latest version),
            // so `current` then `swap` on it is a retry.
            Ok(Err(now)) => {
                self.table.get_mut(&cas)?.seen = now;
                Ok(Err(atomics::CasError::CasFailed(cas)))
            }
            Err(e) => {
                self.table.delete(cas)?;
                Ok(Err(atomics::CasError::StoreError(store::Error::Other(e))))
            }
        }
    }
}

impl atomics::HostCas for &mut InstanceState {
    fn new(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<Resource<Cas>, store::Error>> {
        let conn = conn(self, &bucket)?;
        Ok(match key_value::get(&conn, &key) {
            Ok(seen) => Ok(self.table.push(Cas { conn, key, seen })?),
            Err(e) => Err(store::Error::Other(e)),
        })
    }

    fn current(&mut self, cas: Resource<Cas>) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for &mut InstanceState {
    fn get_many(&mut self, bucket: Resource<OpenStore>, keys: Vec<String>) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        let conn = conn(self, &bucket)?;
        Ok(keys.into_iter().map(|key| key_value::get(&conn, &key).map(|value| (key, value))).collect::<Result<_, _>>().map_err(store::Error::Other))
    }

    fn set_many(&mut self, bucket: Resource<OpenStore>, key_values: Vec<(String, Vec<u8>)>) -> wasmtime::Result<Result<(), store::Error>> {
        let conn = conn(self, &bucket)?;
        Ok(key_values.iter().try_for_each(|(key, value)| key_value::set(&conn, key, value)).map_err(store::Error::Other))
    }

    fn delete_many(&mut self, bucket: Resource<OpenStore>, keys: Vec<String>) -> wasmtime::Result<Result<(), store::Error>> {
        let conn = conn(self, &bucket)?;
        Ok(keys.iter().try_for_each(|key| key_value::delete(&conn, key)).map_err(store::Error::Other))
    }
}
