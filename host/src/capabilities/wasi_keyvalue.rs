//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` (the 2024-10-17 draft
//! Spin serves): buckets are the component's key-value stores, opened by
//! label with the same scoping as `spin:key-value`. In a `spin` store
//! `increment` keeps the number as 8 little-endian bytes, as Spin does (a
//! `redis` store uses Redis's own `INCRBY`); `cas` is a real
//! compare-and-swap (one guarded SQLite statement, or one Lua script on
//! Redis).

use std::sync::Arc;

use wasmtime::component::Resource;

use super::CapabilitiesView;
use super::bindings::wasi::keyvalue::{atomics, batch, store};
use super::key_value::{self, Backend, OpenError, OpenStore};

/// A `cas` handle: the key and the value it held when the handle was made.
pub struct Cas {
    backend: Arc<Backend>,
    key: String,
    seen: Option<Vec<u8>>,
}

fn backend(state: &CapabilitiesView<'_>, bucket: &Resource<OpenStore>) -> wasmtime::Result<Arc<Backend>> {
    Ok(state.table.get(bucket)?.backend.clone())
}

impl store::Host for CapabilitiesView<'_> {
    async fn open(&mut self, identifier: String) -> wasmtime::Result<Result<Resource<OpenStore>, store::Error>> {
        Ok(match key_value::open_store(&self.caps.grants.key_value, &identifier) {
            Ok(bucket) => Ok(self.table.push(bucket)?),
            Err(OpenError::AccessDenied) => Err(store::Error::AccessDenied),
            Err(OpenError::NoSuchStore) => Err(store::Error::NoSuchStore),
        })
    }
}

impl store::HostBucket for CapabilitiesView<'_> {
    async fn get(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(backend(self, &bucket)?.get(&self.caps.hooks.for_request(), &key).await.map_err(store::Error::Other))
    }

    async fn set(&mut self, bucket: Resource<OpenStore>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(backend(self, &bucket)?.set(&self.caps.hooks.for_request(), &key, &value).await.map_err(store::Error::Other))
    }

    async fn delete(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(backend(self, &bucket)?.delete(&self.caps.hooks.for_request(), &key).await.map_err(store::Error::Other))
    }

    async fn exists(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<bool, store::Error>> {
        Ok(backend(self, &bucket)?.exists(&self.caps.hooks.for_request(), &key).await.map_err(store::Error::Other))
    }

    /// All keys in one page (a Redis store is walked with SCAN meanwhile).
    async fn list_keys(&mut self, bucket: Resource<OpenStore>, _cursor: Option<String>) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        Ok(backend(self, &bucket)?
            .keys(&self.caps.hooks.for_request())
            .await
            .map(|keys| store::KeyResponse { keys, cursor: None })
            .map_err(store::Error::Other))
    }

    async fn drop(&mut self, bucket: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for CapabilitiesView<'_> {
    async fn increment(&mut self, bucket: Resource<OpenStore>, key: String, delta: i64) -> wasmtime::Result<Result<i64, store::Error>> {
        Ok(backend(self, &bucket)?.increment(&self.caps.hooks.for_request(), &key, delta).await.map_err(store::Error::Other))
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let handle = self.table.get(&cas)?;
        let (backend, key, seen) = (handle.backend.clone(), handle.key.clone(), handle.seen.clone());
        match backend.compare_and_swap(&self.caps.hooks.for_request(), &key, seen.as_deref(), &value).await {
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

impl atomics::HostCas for CapabilitiesView<'_> {
    async fn new(&mut self, bucket: Resource<OpenStore>, key: String) -> wasmtime::Result<Result<Resource<Cas>, store::Error>> {
        let backend = backend(self, &bucket)?;
        Ok(match backend.get(&self.caps.hooks.for_request(), &key).await {
            Ok(seen) => Ok(self.table.push(Cas { backend, key, seen })?),
            Err(e) => Err(store::Error::Other(e)),
        })
    }

    async fn current(&mut self, cas: Resource<Cas>) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for CapabilitiesView<'_> {
    async fn get_many(&mut self, bucket: Resource<OpenStore>, keys: Vec<String>) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        let backend = backend(self, &bucket)?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            match backend.get(&self.caps.hooks.for_request(), &key).await {
                Ok(value) => found.push((key, value)),
                Err(e) => return Ok(Err(store::Error::Other(e))),
            }
        }
        Ok(Ok(found))
    }

    async fn set_many(&mut self, bucket: Resource<OpenStore>, key_values: Vec<(String, Vec<u8>)>) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = backend(self, &bucket)?;
        for (key, value) in &key_values {
            if let Err(e) = backend.set(&self.caps.hooks.for_request(), key, value).await {
                return Ok(Err(store::Error::Other(e)));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(&mut self, bucket: Resource<OpenStore>, keys: Vec<String>) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = backend(self, &bucket)?;
        for key in &keys {
            if let Err(e) = backend.delete(&self.caps.hooks.for_request(), key).await {
                return Ok(Err(store::Error::Other(e)));
            }
        }
        Ok(Ok(()))
    }
}
