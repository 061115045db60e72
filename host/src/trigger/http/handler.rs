//! Runs requests in instances of a component: builds the store (WASI
//! context, limits, deadline), instantiates from the pre-linked component,
//! calls the handler and turns failures into 500/503 responses. By default
//! each request gets a fresh instance; `--max-instance-reuse-count` lets a
//! WASIp3 instance serve several, as Spin 4 does (see [`Reuse`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::GuestTaskId;
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept, TrapOrPanicError, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use crate::capabilities::for_request::ForRequest;
use crate::instance::{ComponentGrants, HostFailure, InstanceState, RequestOutcome};

#[derive(Clone)]
pub struct Limits {
    pub request_timeout: Duration,
    pub max_memory_bytes: usize,
    pub reuse: Reuse,
}

/// How many requests one WASIp3 instance serves (Spin 4's settings). With
/// `max_requests` above 1 a trap, a deadline cut or a refused memory growth
/// ends every request the instance is serving at that moment, and a guest
/// sees the globals earlier requests left: the isolation Spin 4 trades for
/// not creating an instance per request.
#[derive(Clone)]
pub struct Reuse {
    pub max_requests: usize,
    pub max_concurrent: usize,
    pub idle_timeout: Duration,
}

impl Reuse {
    /// One request, then the instance is dropped at once.
    const SINGLE_USE: Reuse = Reuse { max_requests: 1, max_concurrent: 1, idle_timeout: Duration::ZERO };

    /// These settings as they apply to `pre`: WASIp2 guests cannot be called
    /// again once they have answered, and an instance that takes one request
    /// has nothing to wait for once idle.
    fn for_guest(&self, pre: &ProxyPre<InstanceState>) -> Reuse {
        match pre {
            ProxyPre::P3(_) if self.max_requests > 1 => self.clone(),
            _ => Reuse::SINGLE_USE,
        }
    }
}

/// Serves requests for one component, each in its own instance.
pub struct ComponentHandler {
    handler: ProxyHandler<Instantiator>,
}

/// A failed request (already logged with its cause): the status to answer with.
pub struct Failure {
    pub status: http::StatusCode,
    /// A chained request cut at its caller's deadline (answered 504).
    pub cut_at_callers_deadline: bool,
}

impl Failure {
    /// The answer to a request that failed with `kind` (`deadline`,
    /// `memory`, `trap` or `error`, as the metrics name them): 503 at its
    /// own deadline; 504 when cut at its caller's, as the caller's host
    /// answers when its timer for the call fires first, so the caller sees
    /// one status either way; 500 for the rest.
    pub fn of(kind: &str, cut_at_callers_deadline: bool) -> Failure {
        let cut_at_callers_deadline = cut_at_callers_deadline && kind == "deadline";
        let status = match kind {
            _ if cut_at_callers_deadline => http::StatusCode::GATEWAY_TIMEOUT,
            "deadline" => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure { status, cut_at_callers_deadline }
    }
}

impl ComponentHandler {
    pub fn new(engine: Engine, pre: ProxyPre<InstanceState>, component: Arc<ComponentGrants>, limits: Limits) -> Self {
        Self { handler: ProxyHandler::new(Instantiator { engine, pre, component, limits }) }
    }

    pub fn component(&self) -> &ComponentGrants {
        &self.handler.state().component
    }

    /// Serves `request`; its work ends at `--request-timeout` from now, or
    /// by `inherited` if that comes first (a chained request's caller's deadline).
    pub async fn handle(&self, mut request: http::Request<WasiBody>, inherited: Option<Instant>) -> Result<http::Response<WasiBody>, Failure> {
        let outcome = Arc::new(RequestOutcome::default());
        // The guest sees its own execution as the parent in `traceparent`.
        let mut span = crate::traces::component_execution(request.headers(), &self.component().id);
        span.inject(request.headers_mut());
        let scope = RequestScope { outcome: outcome.clone(), trace: span.context(), inherited };
        match self.handler.handle(scope, request).await {
            Ok(response) => Ok(span.until_body_ends(response)),
            Err(error) => {
                let limits = &self.handler.state().limits;
                let id = &self.component().id;
                let kind = match outcome.get() {
                    Some(HostFailure::DeadlineExceeded) => "deadline",
                    Some(HostFailure::MemoryLimitReached) => "memory",
                    None if error.is::<ExpirationError>() => "deadline",
                    None if error.is::<TrapOrPanicError>() => "trap",
                    None => "error",
                };
                let cut_at_callers_deadline = kind == "deadline" && outcome.callers_deadline.load(std::sync::atomic::Ordering::Relaxed);
                crate::metrics::guest_failed(id, kind);
                let reason = match kind {
                    _ if cut_at_callers_deadline => "the calling request's deadline passed".to_string(),
                    "deadline" => format!("request deadline of {:?} exceeded", limits.request_timeout),
                    "memory" => format!("memory limit of {} MiB reached: {error:#}", limits.max_memory_bytes >> 20),
                    // The instance's own error (the trap and its cause) is
                    // logged when the instance is dropped; see `Requests::drop`.
                    "trap" => {
                        span.error(kind, "the component trapped");
                        return Err(Failure::of(kind, false));
                    }
                    _ => first_line(&format!("{error:#}")),
                };
                span.error(kind, reason.clone());
                tracing::error!("component `{}` failed a request: {reason}", self.component().id);
                Err(Failure::of(kind, cut_at_callers_deadline))
            }
        }
    }
}

/// What an instance is told of each request it takes: where its failure
/// is recorded, the span its work belongs to, and the deadline it inherits
/// from its caller, if any.
pub struct RequestScope {
    outcome: Arc<RequestOutcome>,
    trace: crate::traces::Parent,
    inherited: Option<Instant>,
}

/// wasmtime-wasi-http reports a worker whose future was dropped before it
/// finished as "worker panicked", whether a panic unwound through it or
/// the runtime dropped it at shutdown (every idle reused instance then).
/// Only the first is a failure worth an error in the log.
fn unfinished_at_shutdown(error: &wasmtime::Error) -> bool {
    !std::thread::panicking() && error.to_string() == "worker panicked"
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

struct Instantiator {
    engine: Engine,
    pre: ProxyPre<InstanceState>,
    component: Arc<ComponentGrants>,
    limits: Limits,
}

impl HandlerState for Instantiator {
    type StoreData = InstanceState;
    type WorkerExpiration = Expiration;
    type WorkerState = Requests;

    async fn instantiate(&self) -> wasmtime::Result<Instance<InstanceState, Expiration, Requests>> {
        let started = Instant::now();
        let mut store = Store::new(&self.engine, self.component.instance_state(self.limits.max_memory_bytes)?);
        store.limiter(|state| state);
        let reuse = self.limits.reuse.for_guest(&self.pre);
        // A single-use instance is stopped once its request's deadline (set
        // by `on_request_start`) has passed; a reused one's requests expire
        // through `on_request_start` and `Expiration`.
        crate::instance::tick_with_deadline(&mut store, reuse.max_requests == 1);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        let accepted = Accepted::default();
        crate::stats::record_instantiation(&self.component.id, started.elapsed());
        crate::metrics::instance_created(&self.component.id, started.elapsed());
        Ok(Instance {
            store,
            proxy,
            view: <InstanceState as WasiHttpView>::http,
            expiration: Expiration {
                accepted: accepted.clone(),
                timeout: self.limits.request_timeout,
                idle_timeout: reuse.idle_timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
            },
            state: Requests { component: self.component.clone(), timeout: self.limits.request_timeout, reuse, accepted },
        })
    }
}

/// The requests a worker has taken: their outcomes, so that a deadline cut
/// by [`Expiration`] (which drops the instance) is told to each as such,
/// and the latest of their deadlines.
type Accepted = Arc<std::sync::Mutex<Taken>>;

#[derive(Default)]
struct Taken {
    outcomes: Vec<Arc<RequestOutcome>>,
    last_deadline: Option<Instant>,
}

/// Which requests a worker (one instance) takes: one, unless `reuse` allows more.
struct Requests {
    component: Arc<ComponentGrants>,
    timeout: Duration,
    reuse: Reuse,
    accepted: Accepted,
}

impl WorkerState for Requests {
    type StoreData = InstanceState;
    type RequestData = RequestScope;

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse.max_requests {
            ShouldAccept::Never
        } else if concurrent >= self.reuse.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        mut store: StoreContextMut<'_, InstanceState>,
        scope: RequestScope,
        task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        // A reused instance serving several requests at once records a host
        // failure against the latest (it ends all of them anyway), and its
        // outbound calls are made for the latest one (deadline and span);
        // its store operations for the request whose task made them
        // (`for_request::for_caller`).
        let RequestScope { outcome, trace, inherited } = scope;
        let own = Instant::now() + self.timeout;
        let deadline = inherited.map_or(own, |inherited| inherited.min(own));
        outcome.callers_deadline.store(inherited.is_some_and(|inherited| inherited < own), std::sync::atomic::Ordering::Relaxed);
        let mut accepted = self.accepted.lock().unwrap_or_else(|p| p.into_inner());
        accepted.outcomes.push(outcome.clone());
        accepted.last_deadline = Some(accepted.last_deadline.map_or(deadline, |last| last.max(deadline)));
        if accepted.outcomes.len() > 1 {
            crate::metrics::instance_reused(&self.component.id);
        }
        drop(accepted);
        let state = store.data_mut();
        state.outcome = outcome;
        state.capabilities.hooks.deadline = Some(deadline);
        state.capabilities.hooks.trace = trace.clone();
        if self.reuse.max_requests > 1 {
            state.capabilities.by_task.insert(task, ForRequest { trace, deadline: Some(deadline) });
        }
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn drop(&self, store: Store<InstanceState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            if unfinished_at_shutdown(&error) {
                tracing::debug!("component `{}`: an instance was dropped as the runtime stopped", self.component.id);
            } else if store.data().outcome.get().is_none() {
                tracing::error!("component `{}` trapped: {} (its stderr log may say more)", self.component.id, first_line(&error.root_cause().to_string()));
            }
            tracing::debug!("component `{}` instance error in full: {error:?}", self.component.id);
        }
        drop(store);
    }
}

/// When a worker's instance is dropped: once idle for `idle_timeout` (at
/// once for a single-use instance), or as the second line of defence for the
/// deadline, polled outside the guest's event loop (a guest stuck in a host
/// call never reaches the epoch callback).
struct Expiration {
    accepted: Accepted,
    timeout: Duration,
    idle_timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiration {
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>, status: WorkerStatus, start: Instant) -> Poll<()> {
        let until = match status {
            WorkerStatus::Idle if self.idle_timeout.is_zero() => return Poll::Ready(()),
            WorkerStatus::Idle => start + self.idle_timeout,
            // At the latest request deadline: whatever the instance is still
            // doing for its requests (a call to a database, work after its
            // answer) ends with them. Each is told why below, as the epoch
            // callback would.
            _ => {
                let last = self.accepted.lock().unwrap_or_else(|p| p.into_inner()).last_deadline;
                last.unwrap_or(start + self.timeout)
            }
        };
        let deadline = tokio::time::Instant::from_std(until);
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        let expired = self.sleep.as_mut().poll(cx);
        if expired.is_ready() && status != WorkerStatus::Idle {
            // The latest deadline has passed, so every request still in
            // this instance is past its own (answered ones no longer look).
            for outcome in self.accepted.lock().unwrap_or_else(|p| p.into_inner()).outcomes.iter() {
                outcome.record(HostFailure::DeadlineExceeded);
            }
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::Failure;
    use http::StatusCode;

    #[test]
    fn a_failure_answers_by_its_kind_and_whose_deadline_cut_it() {
        let answer = |kind, callers| {
            let failure = Failure::of(kind, callers);
            (failure.status, failure.cut_at_callers_deadline)
        };
        assert_eq!(answer("deadline", false), (StatusCode::SERVICE_UNAVAILABLE, false));
        assert_eq!(answer("deadline", true), (StatusCode::GATEWAY_TIMEOUT, true));
        for kind in ["memory", "trap", "error"] {
            assert_eq!(answer(kind, true), (StatusCode::INTERNAL_SERVER_ERROR, false), "{kind}: only a deadline is the caller's");
        }
    }
}
