//! Runs a component of a cron trigger once, on an instance of its own (see
//! [`one_shot`]): it exports `handle-cron-event` (the cron SDK's
//! `#[cron_component]`) and is told when the run was due.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::InstancePre;
use wasmtime::{Engine, format_err};

use crate::instance::{ComponentGrants, InstanceState};
use crate::trigger::http::handler::Limits;
use crate::trigger::one_shot::{self, Failure};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/spin-cron",
        world: "fermyon:spin-cron/spin-cron",
        exports: { default: async },
    });
}

use bindings::fermyon::spin_cron::cron_types::{Error as GuestError, Metadata};

/// One component's runs.
pub struct CronHandler {
    engine: Engine,
    guest: bindings::SpinCronPre<InstanceState>,
    component: Arc<ComponentGrants>,
    limits: Limits,
}

impl CronHandler {
    /// The handler for `pre`, or an error saying what the component lacks.
    pub fn new(engine: Engine, pre: InstancePre<InstanceState>, component: Arc<ComponentGrants>, limits: Limits) -> wasmtime::Result<CronHandler> {
        let guest = bindings::SpinCronPre::new(pre).map_err(|_| format_err!("does not export `handle-cron-event` (a cron SDK's `#[cron_component]`)"))?;
        Ok(CronHandler { engine, guest, component, limits })
    }

    pub fn component(&self) -> &str {
        &self.component.id
    }

    /// Runs the component for the time `due` (seconds since the Unix epoch).
    pub async fn run(&self, schedule: &str, due: u64) -> Result<(), Failure> {
        let mut span = crate::traces::cron_run(schedule, &self.component.id);
        let ran = self.call(&span, due).await;
        if let Err(failure) = &ran {
            span.error(failure.kind, failure.why.clone());
        }
        ran
    }

    async fn call(&self, span: &crate::traces::Span, due: u64) -> Result<(), Failure> {
        let started = Instant::now();
        let mut call = one_shot::store(&self.engine, &self.component, &self.limits, span)?;
        let store = &mut call.store;
        let run = async {
            let guest = self.guest.instantiate_async(&mut *store).await?;
            crate::metrics::instance_created(&self.component.id, started.elapsed());
            let answer = guest.call_handle_cron_event(&mut *store, Metadata { timestamp: due }).await?;
            Ok(answer.map_err(|GuestError::Other(why)| format!("an error: {why}")))
        };
        let finished = one_shot::until(call.deadline, run).await;
        call.outcome(finished)
    }
}
