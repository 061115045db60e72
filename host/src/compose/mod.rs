//! Composition at start-up: a component's `[component.<id>.dependencies]`
//! and a trigger's `dependencies.middleware` chain are wired with wac-graph
//! into one component, so a call between them is a function call inside one
//! instance rather than an HTTP round trip. The result is compiled and cached
//! like any component (the cache key is the composed bytes' hash).

mod deny;
mod dependencies;
mod middleware;

use std::collections::HashMap;

use souk_manifest::{AppManifest, DependencySource, HttpTrigger};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};
use wasmtime::error::Context;
use wasmtime::format_err;

/// The WASIp3 HTTP handler interface a middleware both imports and exports.
pub const HANDLER: &str = "wasi:http/handler@0.3.0";

/// Composes the components of one app, remembering each component's
/// composition with its dependencies so that it is done once.
pub struct Composer<'a> {
    manifest: &'a AppManifest,
    composed: HashMap<String, Vec<u8>>,
}

impl<'a> Composer<'a> {
    pub fn new(manifest: &'a AppManifest) -> Self {
        Self { manifest, composed: HashMap::new() }
    }

    /// The component serving `trigger`, composed with its dependencies and
    /// middleware, or `None` when it has neither and is used as it is.
    pub fn for_trigger(&mut self, trigger: &HttpTrigger) -> wasmtime::Result<Option<Vec<u8>>> {
        let config = &self.manifest.components[&trigger.component];
        if config.dependencies.is_empty() && trigger.middleware.is_empty() {
            return Ok(None);
        }
        let component = self.component(&trigger.component)?;
        if trigger.middleware.is_empty() {
            return Ok(Some(component));
        }
        middleware::chain(self, trigger, component).map(Some)
    }

    pub fn manifest(&self) -> &'a AppManifest {
        self.manifest
    }

    /// Component `id` composed with its dependencies (for a trigger that
    /// has no middleware), or `None` when it has none and is used as it is.
    pub fn for_component(&mut self, id: &str) -> wasmtime::Result<Option<Vec<u8>>> {
        if self.manifest.components[id].dependencies.is_empty() {
            return Ok(None);
        }
        self.component(id).map(Some)
    }

    /// Component `id`'s bytes, composed with its own dependencies if it has any.
    fn component(&mut self, id: &str) -> wasmtime::Result<Vec<u8>> {
        if let Some(bytes) = self.composed.get(id) {
            return Ok(bytes.clone());
        }
        let config = &self.manifest.components[id];
        let raw = std::fs::read(&config.source).with_context(|| format!("component `{id}`: cannot read {}", config.source.display()))?;
        let raw = crate::componentize::componentize(raw, &config.source.display().to_string())?;
        let bytes = if config.dependencies.is_empty() { raw } else { dependencies::compose(self, id, raw)? };
        self.composed.insert(id.to_owned(), bytes.clone());
        Ok(bytes)
    }

    /// The bytes of a dependency, and a name for it in messages.
    fn dependency_bytes(&mut self, source: &DependencySource) -> wasmtime::Result<(Vec<u8>, String)> {
        match source {
            DependencySource::Component(id) => Ok((self.component(id)?, format!("component `{id}`"))),
            DependencySource::Path(path) => {
                let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
                let bytes = crate::componentize::componentize(bytes, &path.display().to_string())?;
                Ok((bytes, path.display().to_string()))
            }
        }
    }
}

/// A composition graph being built, with the packages registered so far.
struct Graph {
    graph: CompositionGraph,
    packages: usize,
}

impl Graph {
    fn new() -> Self {
        Self { graph: CompositionGraph::new(), packages: 0 }
    }

    /// Registers a component and instantiates it once.
    fn instantiate(&mut self, bytes: Vec<u8>, what: &str) -> wasmtime::Result<(PackageId, NodeId)> {
        // Package names only need to be unique within this graph.
        let name = format!("souk:part{}", self.packages);
        self.packages += 1;
        let package =
            Package::from_bytes(&name, None, bytes, self.graph.types_mut()).map_err(|e| format_err!("{what} is not a valid WebAssembly component: {e:#}"))?;
        let id = self.graph.register_package(package).map_err(|e| format_err!("{what}: {e:#}"))?;
        tracing::debug!("composing {what}: imports {:?}, exports {:?}", self.imports(id).iter().map(|(n, _)| n).collect::<Vec<_>>(), self.exports(id));
        Ok((id, self.graph.instantiate(id)))
    }

    /// The `(name, kind)` of each import of a registered package.
    fn imports(&self, package: PackageId) -> Vec<(String, wac_graph::types::ItemKind)> {
        let world = &self.graph.types()[self.graph[package].ty()];
        world.imports.iter().map(|(name, kind)| (name.clone(), *kind)).collect()
    }

    fn exports(&self, package: PackageId) -> Vec<String> {
        let world = &self.graph.types()[self.graph[package].ty()];
        world.exports.keys().cloned().collect()
    }

    fn encode(&self, what: &str) -> wasmtime::Result<Vec<u8>> {
        self.graph.encode(EncodeOptions::default()).map_err(|e| format_err!("{what}: composition failed: {e:#}"))
    }
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
