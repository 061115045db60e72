//! Calls a component with one Redis message: a fresh instance per message
//! (the component's grants, as for an HTTP request), its work bounded by
//! `--request-timeout` and `--max-instance-memory-mb`, then dropped.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store, format_err};

use crate::instance::{ComponentGrants, HostFailure, InstanceState};
use crate::trigger::http::handler::Limits;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "souk:host/redis-trigger",
        exports: { default: async },
    });
}

mod bindings_spin2 {
    wasmtime::component::bindgen!({
        path: "../wit/spin-v1",
        world: "fermyon:spin/redis-trigger",
        exports: { default: async },
    });
}

use bindings::spin::redis::redis::Error as GuestError;

/// The handler a component exports.
enum Guest {
    /// `spin:redis/inbound-redis@3.0.0` (spin-sdk 7's `#[redis_subscriber]`; async).
    Spin3(bindings::RedisTriggerPre<InstanceState>),
    /// `fermyon:spin/inbound-redis` (Spin 1 to 3 SDKs).
    Spin2(bindings_spin2::RedisTriggerPre<InstanceState>),
}

/// One component's handler for the messages of its channels.
pub struct RedisHandler {
    engine: Engine,
    guest: Guest,
    component: Arc<ComponentGrants>,
    limits: Limits,
}

impl RedisHandler {
    /// The handler for `pre`, or an error naming what the component lacks.
    pub fn new(engine: Engine, pre: InstancePre<InstanceState>, component: Arc<ComponentGrants>, limits: Limits) -> wasmtime::Result<RedisHandler> {
        let guest =
            match bindings::RedisTriggerPre::new(pre.clone()) {
                Ok(spin3) => Guest::Spin3(spin3),
                Err(_) => Guest::Spin2(bindings_spin2::RedisTriggerPre::new(pre).map_err(|_| {
                    format_err!("exports neither `spin:redis/inbound-redis@3.0.0` nor `fermyon:spin/inbound-redis` (a Spin SDK's Redis handler)")
                })?),
            };
        Ok(RedisHandler { engine, guest, component, limits })
    }

    pub fn component(&self) -> &str {
        &self.component.id
    }

    /// Runs the component on `payload`. A failure says why the component
    /// did not take the message, and its kind for the metrics (`deadline`,
    /// `memory`, `trap`, `error`: as for an HTTP request).
    pub async fn handle(&self, channel: &str, payload: Vec<u8>) -> Result<(), Failure> {
        let mut span = crate::traces::redis_message(channel, &self.component.id);
        let handled = self.run(&span, payload).await;
        if let Err(failure) = &handled {
            span.error(failure.kind, failure.why.clone());
        }
        handled
    }

    async fn run(&self, span: &crate::traces::Span, payload: Vec<u8>) -> Result<(), Failure> {
        let started = Instant::now();
        let state = self.component.instance_state(self.limits.max_memory_bytes).map_err(|e| Failure { kind: "error", why: format!("{e:#}") })?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state);
        let deadline = started + self.limits.request_timeout;
        store.data_mut().hooks.deadline = Some(deadline);
        // The component's calls and store operations are children of the message's span.
        store.data_mut().hooks.trace = span.context();
        crate::instance::tick_with_deadline(&mut store, true);
        let outcome = store.data().outcome.clone();
        let id = &self.component.id;
        let run = async {
            match &self.guest {
                Guest::Spin3(pre) => {
                    let guest = pre.instantiate_async(&mut store).await?;
                    crate::metrics::instance_created(id, started.elapsed());
                    store.run_concurrent(async |accessor| guest.spin_redis_inbound_redis().call_handle_message(accessor, payload).await).await?
                }
                Guest::Spin2(pre) => {
                    let guest = pre.instantiate_async(&mut store).await?;
                    crate::metrics::instance_created(id, started.elapsed());
                    // The SDKs answer only `error`, having written why to stderr.
                    let answer = guest.fermyon_spin_inbound_redis().call_handle_message(&mut store, &payload).await?;
                    Ok(answer.map_err(|_| GuestError::Other("`error` (its stderr log may say why)".into())))
                }
            }
        };
        // A guest blocked in a host call never reaches the epoch callback.
        let finished = tokio::time::timeout_at(deadline.into(), run).await;
        let failed = |kind, why| Err(Failure { kind, why });
        match (finished, outcome.get()) {
            (Err(_), _) | (_, Some(HostFailure::DeadlineExceeded)) => failed("deadline", format!("deadline of {:?} exceeded", self.limits.request_timeout)),
            (_, Some(HostFailure::MemoryLimitReached)) => failed("memory", format!("memory limit of {} MiB reached", self.limits.max_memory_bytes >> 20)),
            (Ok(Ok(Ok(()))), None) => Ok(()),
            (Ok(Ok(Err(error))), None) => failed("error", format!("the component answered {}", answer(error))),
            (Ok(Err(trap)), None) => failed("trap", format!("the component trapped: {}", trap.root_cause())),
        }
    }
}

/// Why a component did not take a message.
pub struct Failure {
    pub kind: &'static str,
    pub why: String,
}

fn answer(error: GuestError) -> String {
    match error {
        GuestError::InvalidAddress => "`invalid-address`".into(),
        GuestError::TooManyConnections => "`too-many-connections`".into(),
        GuestError::TypeError => "`type-error`".into(),
        GuestError::Other(why) => format!("an error: {why}"),
    }
}
