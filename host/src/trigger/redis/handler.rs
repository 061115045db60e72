//! Calls a component with one Redis message, on an instance of its own
//! (see [`one_shot`]).

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::InstancePre;
use wasmtime::{Engine, format_err};

use crate::instance::{ComponentGrants, InstanceState};
use crate::trigger::http::handler::Limits;
use crate::trigger::one_shot::{self, Failure};

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
        let mut call = one_shot::store(&self.engine, &self.component, &self.limits, span)?;
        let id = &self.component.id;
        let store = &mut call.store;
        let run = async {
            match &self.guest {
                Guest::Spin3(pre) => {
                    let guest = pre.instantiate_async(&mut *store).await?;
                    crate::metrics::instance_created(id, started.elapsed());
                    let answer = store.run_concurrent(async |accessor| guest.spin_redis_inbound_redis().call_handle_message(accessor, payload).await).await??;
                    Ok(answer.map_err(answer_text))
                }
                Guest::Spin2(pre) => {
                    let guest = pre.instantiate_async(&mut *store).await?;
                    crate::metrics::instance_created(id, started.elapsed());
                    // The SDKs answer only `error`, having written why to stderr.
                    let answer = guest.fermyon_spin_inbound_redis().call_handle_message(&mut *store, &payload).await?;
                    Ok(answer.map_err(|_| "`error` (its stderr log may say why)".to_string()))
                }
            }
        };
        let finished = one_shot::until(call.deadline, run).await;
        call.outcome(finished)
    }
}

fn answer_text(error: GuestError) -> String {
    match error {
        GuestError::InvalidAddress => "`invalid-address`".into(),
        GuestError::TooManyConnections => "`too-many-connections`".into(),
        GuestError::TypeError => "`type-error`".into(),
        GuestError::Other(why) => format!("an error: {why}"),
    }
}
