//! Service chaining: `http://<component>.spin.internal/...` from one
//! component is served in-process by that component's handler (its first
//! trigger without middleware, its internal face, or else its first one).
//! The outbound HTTP capability knows this only as a [`ServiceChain`]; the
//! router is filled once every trigger's handler exists, and holds them
//! weakly (they hold it through their instances' grants).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use wasmtime_wasi_http::WasiBody;

use super::dispatch::{HttpComponent, dispatch_to};
use crate::capabilities::outbound_http::ServiceChain;

#[derive(Default)]
pub struct ChainRouter {
    /// Component id → the trigger serving chained requests to it.
    targets: OnceLock<HashMap<String, Weak<HttpComponent>>>,
}

impl ChainRouter {
    /// Sets the targets, once, when every trigger is built.
    pub fn connect(&self, targets: &HashMap<String, Arc<HttpComponent>>) {
        let _ = self.targets.set(targets.iter().map(|(id, component)| (id.clone(), Arc::downgrade(component))).collect());
    }
}

impl ServiceChain for ChainRouter {
    fn send(
        &self,
        target: &str,
        request: http::Request<WasiBody>,
        deadline: Option<Instant>,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, String>> + Send + '_>> {
        let Some(component) = self.targets.get().and_then(|targets| targets.get(target)).and_then(Weak::upgrade) else {
            return Box::pin(std::future::ready(Err(format!("no component `{target}` with an HTTP trigger in this app"))));
        };
        Box::pin(async move { Ok(dispatch_to(&component, request, deadline).await) })
    }
}
