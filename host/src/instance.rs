//! The state one component instance owns for the length of one request:
//! its WASI context, resource table, HTTP context, memory limiter, and each
//! capability's state for it ([`InstanceCapabilities`]); and
//! [`ComponentGrants`], what a component's instances are given, each part
//! made by its capability. The capabilities see the instance only through
//! [`HasCapabilities`], as WASI sees it through `WasiView`.

use std::sync::Arc;
use std::sync::Mutex;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::outbound_http::{OutboundGrant, OutboundHooks};
use crate::capabilities::socket_limits::SocketPermits;
use crate::capabilities::wasi_cli::WasiGrant;
use crate::capabilities::{CapabilitiesView, HasCapabilities, InstanceCapabilities, SpinGrants};

/// What one component's instances may use, made once at start-up.
pub struct ComponentGrants {
    pub id: String,
    pub wasi: WasiGrant,
    pub outbound: Arc<OutboundGrant>,
    /// What its instances reach through the Spin interfaces.
    pub spin: Arc<SpinGrants>,
}

impl ComponentGrants {
    /// The state of a new instance, its memory capped at `max_memory_bytes`.
    pub fn instance_state(&self, max_memory_bytes: usize) -> wasmtime::Result<InstanceState> {
        self.instance_state_with(max_memory_bytes, |_| ())
    }

    /// As [`instance_state`](Self::instance_state), with `more` added to its
    /// WASI context (see `WasiGrant::context_with`).
    pub fn instance_state_with(&self, max_memory_bytes: usize, more: impl FnOnce(&mut wasmtime_wasi::WasiCtxBuilder)) -> wasmtime::Result<InstanceState> {
        Ok(InstanceState {
            table: Default::default(),
            wasi: self.wasi.context_with(more)?,
            http: WasiHttpCtx::new(),
            capabilities: InstanceCapabilities {
                hooks: OutboundHooks { grant: self.outbound.clone(), deadline: None, trace: None },
                by_task: Default::default(),
                grants: self.spin.clone(),
                sockets: SocketPermits::new(self.wasi.connection_limits.clone()),
            },
            outcome: Default::default(),
            max_memory_bytes,
        })
    }
}

pub struct InstanceState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub capabilities: InstanceCapabilities,
    /// What went wrong, if anything, recorded where it is detected
    /// (deadline callback, memory limiter) and read when logging the failure.
    pub outcome: Arc<RequestOutcome>,
    pub max_memory_bytes: usize,
}

/// Why a request failed, when the failure is the host's doing.
#[derive(Default)]
pub struct RequestOutcome {
    pub failure: Mutex<Option<HostFailure>>,
    /// Its deadline is its caller's (a chained request's), not its own
    /// `--request-timeout`: set when the request starts in its instance.
    pub callers_deadline: std::sync::atomic::AtomicBool,
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
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.capabilities.hooks }
    }
}

impl HasCapabilities for InstanceState {
    fn capabilities(&mut self) -> CapabilitiesView<'_> {
        CapabilitiesView { table: &mut self.table, caps: &mut self.capabilities }
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

/// The epoch ticks every 10 ms; at each tick a running guest yields to the
/// executor (so one busy guest cannot starve others on its thread). With
/// `stop_at_deadline`, an instance serving one request or message is also
/// stopped at the first tick past its deadline (`capabilities.hooks.deadline`), its
/// failure recorded; an instance reused by several requests outlives any one
/// deadline and is not.
pub fn tick_with_deadline(store: &mut wasmtime::Store<InstanceState>, stop_at_deadline: bool) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |ctx: wasmtime::StoreContextMut<'_, InstanceState>| {
        if stop_at_deadline && ctx.data().capabilities.hooks.deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
            ctx.data().outcome.record(HostFailure::DeadlineExceeded);
            return Err(wasmtime::format_err!("request deadline exceeded"));
        }
        Ok(wasmtime::UpdateDeadline::Yield(1))
    });
}
