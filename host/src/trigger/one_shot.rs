//! A component called once per event (a Redis message, a cron run): a
//! fresh instance with the component's grants, its work bounded by
//! `--request-timeout` and `--max-instance-memory-mb`, then dropped. The
//! trigger instantiates and calls it on the store [`store`] makes, cut by
//! [`until`] at its deadline; [`OneShot::outcome`] says how the call ended.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Engine, Store};

use crate::instance::{ComponentGrants, HostFailure, InstanceState, RequestOutcome};
use crate::trigger::http::handler::Limits;

/// Why a component did not finish an event.
pub struct Failure {
    /// For the metrics: `deadline`, `memory`, `trap` or `error` (as for an
    /// HTTP request).
    pub kind: &'static str,
    pub why: String,
    /// A deadline that was a chained request's caller's (see [`OneShot::cut_at`]).
    pub at_callers_deadline: bool,
}

impl Failure {
    pub fn new(kind: &'static str, why: String) -> Failure {
        Failure { kind, why, at_callers_deadline: false }
    }
}

/// A store for one call, with its deadline (`--request-timeout` from now)
/// and the host's record of how it ended.
pub struct OneShot {
    pub store: Store<InstanceState>,
    pub deadline: Instant,
    /// `deadline` is a chained request's caller's, brought forward by [`OneShot::cut_at`].
    callers_deadline: bool,
    outcome: Arc<RequestOutcome>,
    limits: Limits,
}

/// A fresh store for `component`; the component's calls and store
/// operations are children of `span`.
pub fn store(engine: &Engine, component: &ComponentGrants, limits: &Limits, span: &crate::traces::Span) -> Result<OneShot, Failure> {
    store_with(engine, component, limits, span, |_| ())
}

/// As [`store`], with `more` added to the instance's WASI context.
pub fn store_with(
    engine: &Engine,
    component: &ComponentGrants,
    limits: &Limits,
    span: &crate::traces::Span,
    more: impl FnOnce(&mut wasmtime_wasi::WasiCtxBuilder),
) -> Result<OneShot, Failure> {
    let state = component.instance_state_with(limits.max_memory_bytes, more).map_err(|e| Failure::new("error", format!("{e:#}")))?;
    let mut store = Store::new(engine, state);
    store.limiter(|state| state);
    let deadline = Instant::now() + limits.request_timeout;
    store.data_mut().capabilities.hooks.deadline = Some(deadline);
    store.data_mut().capabilities.hooks.trace = span.context();
    crate::instance::tick_with_deadline(&mut store, true);
    let outcome = store.data().outcome.clone();
    Ok(OneShot { store, deadline, callers_deadline: false, outcome, limits: limits.clone() })
}

impl OneShot {
    /// Brings the deadline forward to `deadline` if it comes first (a
    /// chained request's caller's).
    pub fn cut_at(&mut self, deadline: Instant) {
        if deadline < self.deadline {
            self.deadline = deadline;
            self.callers_deadline = true;
            self.store.data_mut().capabilities.hooks.deadline = Some(deadline);
        }
    }

    /// How the call ended: `finished` is `None` when the deadline came
    /// first (a guest blocked in a host call never reaches the epoch
    /// callback), or else what the call gave: a trap, or the guest's own
    /// answer, its error described.
    pub fn outcome(&self, finished: Option<wasmtime::Result<Result<(), String>>>) -> Result<(), Failure> {
        let failed = |kind, why| Err(Failure::new(kind, why));
        match (finished, self.outcome.get()) {
            (None, _) | (_, Some(HostFailure::DeadlineExceeded)) if self.callers_deadline => {
                Err(Failure { kind: "deadline", why: "the calling request's deadline passed".to_string(), at_callers_deadline: true })
            }
            (None, _) | (_, Some(HostFailure::DeadlineExceeded)) => failed("deadline", format!("deadline of {:?} exceeded", self.limits.request_timeout)),
            (_, Some(HostFailure::MemoryLimitReached)) => failed("memory", format!("memory limit of {} MiB reached", self.limits.max_memory_bytes >> 20)),
            (Some(Ok(Ok(()))), None) => Ok(()),
            (Some(Ok(Err(error))), None) => failed("error", format!("the component answered {error}")),
            (Some(Err(trap)), None) => failed("trap", format!("the component trapped: {}", trap.root_cause())),
        }
    }
}

/// Runs `call` until it ends or `deadline` passes (`None`).
pub async fn until<T>(deadline: Instant, call: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(deadline.into(), call).await.ok()
}
