//! The WAGI executor (`executor = { type = "wagi" }`), as Spin runs it: a
//! WASI program (a `wasm32-wasip1` module with `_start`, or a component
//! exporting `wasi:cli/run`) run once per request on an instance of its
//! own, the request in its arguments, environment (CGI variables) and
//! standard input (the body), the response read from its standard output
//! (`cgi.rs`). Its work is bounded as any request's (`one_shot`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::BodyExt;
use wasmtime::component::InstancePre;
use wasmtime::{Engine, format_err};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi_http::WasiBody;

use super::cgi;
use super::handler::{Failure, Limits};
use super::headers::RouteInfo;
use super::host_response::full_body;
use crate::instance::{ComponentGrants, InstanceState};
use crate::trigger::one_shot;

/// The most a program may write to its standard output (the response is
/// read whole from it); a larger write fails in the program.
const MAX_OUTPUT_BYTES: usize = 64 << 20;

pub struct WagiHandler {
    engine: Engine,
    command: CommandPre<InstanceState>,
    component: Arc<ComponentGrants>,
    limits: Limits,
    /// The trigger's `argv` template.
    argv: String,
}

impl WagiHandler {
    /// The handler for `pre`, or an error saying what the component lacks.
    pub fn new(
        engine: Engine,
        pre: InstancePre<InstanceState>,
        component: Arc<ComponentGrants>,
        limits: Limits,
        argv: String,
    ) -> wasmtime::Result<WagiHandler> {
        let command =
            CommandPre::new(pre).map_err(|_| format_err!("is not a WASI program (no `_start`, no `wasi:cli/run` export), as the WAGI executor needs"))?;
        Ok(WagiHandler { engine, command, component, limits, argv })
    }

    /// Runs the program for `request`, ending by `--request-timeout` from
    /// now or by `inherited` (a chained request's caller's deadline).
    pub async fn handle(
        &self,
        request: http::Request<WasiBody>,
        route: &RouteInfo,
        full_url: &str,
        client: Option<SocketAddr>,
        inherited: Option<Instant>,
    ) -> Result<http::Response<WasiBody>, Failure> {
        let id = &self.component.id;
        let mut span = crate::traces::component_execution(request.headers(), id);
        let (parts, body) = request.into_parts();
        // An unreadable body is the listener's to answer (413 past its cap).
        let body = body.collect().await.map_err(|_| Failure { status: http::StatusCode::BAD_REQUEST, cut_at_callers_deadline: false })?.to_bytes();
        let env = cgi::environment(&parts, body.len(), route, full_url, client);
        let args = cgi::arguments(&self.argv, parts.uri.path(), parts.uri.query());
        let stdout = MemoryOutputPipe::new(MAX_OUTPUT_BYTES);
        let output = stdout.clone();
        let more = move |wasi: &mut wasmtime_wasi::WasiCtxBuilder| {
            wasi.args(&args).envs(&env).stdin(MemoryInputPipe::new(body)).stdout(output);
        };

        let ran = self.run(&span, more, inherited).await;
        let answer = ran.and_then(|()| cgi::response(&stdout.contents()).map_err(|why| one_shot::Failure::new("error", format!("gave no response: {why}"))));
        match answer {
            Ok(response) => Ok(span.until_body_ends(response.map(full_body))),
            Err(failure) => {
                crate::metrics::guest_failed(id, failure.kind);
                span.error(failure.kind, failure.why.clone());
                tracing::error!("component `{id}` (WAGI) failed a request: {}", failure.why);
                Err(Failure::of(failure.kind, failure.at_callers_deadline))
            }
        }
    }

    /// Instantiates the program and runs it to its end. Exiting with 0 is
    /// a success; a `main` that returns a failure is logged and its output
    /// still answers, as in Spin.
    async fn run(
        &self,
        span: &crate::traces::Span,
        more: impl FnOnce(&mut wasmtime_wasi::WasiCtxBuilder),
        inherited: Option<Instant>,
    ) -> Result<(), one_shot::Failure> {
        let started = Instant::now();
        let mut call = one_shot::store_with(&self.engine, &self.component, &self.limits, span, more)?;
        if let Some(inherited) = inherited {
            call.cut_at(inherited);
        }
        let store = &mut call.store;
        let run = async {
            let command = self.command.instantiate_async(&mut *store).await?;
            crate::metrics::instance_created(&self.component.id, started.elapsed());
            command.wasi_cli_run().call_run(&mut *store).await
        };
        let finished = one_shot::until(call.deadline, run).await.map(|ran| match ran {
            Ok(Ok(())) => Ok(Ok(())),
            Ok(Err(())) => {
                tracing::warn!("component `{}` (WAGI): its program ended in failure; its output still answers", self.component.id);
                Ok(Ok(()))
            }
            Err(exit) if exit.downcast_ref::<wasmtime_wasi::I32Exit>().is_some_and(|code| code.0 == 0) => Ok(Ok(())),
            Err(trap) => Err(trap),
        });
        call.outcome(finished)
    }
}
