//! The state one component instance owns for the length of one request:
//! its WASI context, resource table, HTTP context, memory limiter and a link
//! to its component's configuration.

use std::sync::Arc;
use std::sync::Mutex;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::app::ComponentContext;
use crate::capabilities::outbound_http::OutboundHooks;

pub struct InstanceState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub hooks: OutboundHooks,
    pub component: Arc<ComponentContext>,
    /// What went wrong, if anything, recorded where it is detected
    /// (deadline callback, memory limiter) and read when logging the failure.
    pub outcome: Arc<RequestOutcome>,
    pub max_memory_bytes: usize,
}

/// Why a request failed, when the failure is the host's doing.
#[derive(Default)]
pub struct RequestOutcome {
    pub failure: Mutex<Option<HostFailure>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostFailure {
    DeadlineExceeded,
    MemoryLimitReached,
}

impl RequestOutcome {
    pub fn record(&self, failure: HostFailure) {
        self.failure.lock().unwrap().get_or_insert(failure);
    }
    pub fn get(&self) -> Option<HostFailure> {
        *self.failure.lock().unwrap()
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Caps each linear memory at `--max-instance-memory-mb`; a refused growth
/// is recorded so the failed request's log line says why.
impl ResourceLimiter for InstanceState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.outcome.record(HostFailure::MemoryLimitReached);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
