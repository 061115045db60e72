//! An app as a registry artifact, as `spin registry push --compose=false`
//! lays it out: the locked application (every trigger and component, their
//! Wasm and mounted files named by digest) and one layer per distinct
//! Wasm file and mounted file. Dependencies and middleware stay separate
//! components, composed by the host that runs the app (souk or Spin), so
//! the artifact holds only what spin.toml names.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};
use souk_manifest::{AppManifest, ComponentConfig, DependencySource, HttpExecutor, HttpRoute, Inherit, Middleware};
use wasmtime::error::Context;

use super::locked::{self, ContentPath, ContentRef, Dependency, LockedApp, Source};

/// One blob of the artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub data: Vec<u8>,
    pub media_type: &'static str,
    pub digest: String,
}

pub struct Artifact {
    pub locked: LockedApp,
    /// Distinct by digest, the locked application's own layer not among them.
    pub layers: Vec<Layer>,
}

/// Assembles `manifest`'s app; mounted files are staged under `staging`.
pub fn assemble(manifest: &AppManifest, staging: &Path) -> wasmtime::Result<Artifact> {
    let mut layers = Layers::default();
    let mut triggers = Vec::new();
    // Middleware per trigger id, moved onto the components below.
    let mut middleware: Vec<(String, String, Vec<Dependency>)> = Vec::new();
    for t in &manifest.http_triggers {
        let mut config = Map::new();
        config.insert("component".into(), t.component.clone().into());
        config.insert(
            "route".into(),
            match &t.route {
                HttpRoute::Path(path) => path.clone().into(),
                HttpRoute::Private => json!({ "private": true }),
            },
        );
        if let HttpExecutor::Wagi(wagi) = &t.executor {
            let mut executor = json!({ "type": "wagi", "argv": wagi.argv });
            if let Some(entrypoint) = &wagi.ignored_entrypoint {
                executor["entrypoint"] = entrypoint.clone().into();
            }
            config.insert("executor".into(), executor);
        }
        if !t.middleware.is_empty() {
            let deps = t.middleware.iter().map(|m| middleware_dependency(manifest, m, &mut layers)).collect::<wasmtime::Result<_>>()?;
            middleware.push((t.id.clone(), t.component.clone(), deps));
        }
        triggers.push(trigger(&t.id, "http", config));
    }
    for s in &manifest.static_responses {
        let headers: Map<String, Value> = s.headers.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
        let mut response = json!({ "status_code": s.status, "headers": headers });
        if let Some(body) = &s.body {
            response["body"] = body.clone().into();
        }
        triggers.push(trigger(&s.id, "http", Map::from_iter([("route".into(), s.route.clone().into()), ("static_response".into(), response)])));
    }
    for r in &manifest.redis_triggers {
        let config = Map::from_iter([
            ("component".into(), r.component.clone().into()),
            ("channel".into(), r.channel.clone().into()),
            ("address".into(), r.address.clone().into()),
        ]);
        triggers.push(trigger(&format!("{}-redis-trigger{}", r.component, r.index), "redis", config));
    }
    for c in &manifest.cron_triggers {
        let config = Map::from_iter([("component".into(), c.component.clone().into()), ("cron_expression".into(), c.expression.clone().into())]);
        triggers.push(trigger(&format!("{}-cron-trigger{}", c.component, c.index), "cron", config));
    }

    let mut components = Vec::new();
    for (id, config) in &manifest.components {
        components.push(component(manifest, config, &staging.join(id), &mut layers).with_context(|| format!("component `{id}`"))?);
    }
    give_middleware_to_components(&mut triggers, &mut components, middleware);

    let mut metadata = Map::new();
    metadata.insert("name".into(), manifest.name.clone().into());
    if let Some(version) = &manifest.version {
        metadata.insert("version".into(), version.clone().into());
    }
    if let Some(description) = &manifest.description {
        metadata.insert("description".into(), description.clone().into());
    }
    let types: std::collections::BTreeSet<&str> = triggers.iter().map(|t| t.trigger_type.as_str()).collect();
    if let [only] = types.into_iter().collect::<Vec<_>>()[..] {
        metadata.insert("trigger".into(), json!({ "type": only }));
    }
    let variables = manifest
        .variables
        .iter()
        .map(|(name, v)| (name.clone(), locked::Variable { description: v.description.clone(), default: v.default.clone(), secret: v.secret }))
        .collect();
    let mut must_understand = Vec::new();
    if components.iter().any(|c| !c.host_requirements.is_empty()) {
        must_understand.push("component_host_requirements".to_string());
    }
    let locked = LockedApp { spin_lock_version: 1, must_understand, metadata, host_requirements: Map::new(), variables, triggers, components };
    Ok(Artifact { locked, layers: layers.0 })
}

fn trigger(id: &str, trigger_type: &str, config: Map<String, Value>) -> locked::Trigger {
    locked::Trigger { id: id.to_string(), trigger_type: trigger_type.to_string(), trigger_config: Value::Object(config), trigger_dependencies: BTreeMap::new() }
}

fn component(manifest: &AppManifest, config: &ComponentConfig, staging: &Path, layers: &mut Layers) -> wasmtime::Result<locked::Component> {
    let mut metadata = Map::new();
    if let Some(description) = &config.description {
        metadata.insert("description".into(), description.clone().into());
    }
    for (key, list) in [
        ("allowed_outbound_hosts", &config.allowed_outbound_hosts),
        ("key_value_stores", &config.key_value_stores),
        ("databases", &config.sqlite_databases),
        ("ai_models", &config.ai_models),
    ] {
        if !list.is_empty() {
            metadata.insert(key.into(), list.clone().into());
        }
    }
    let mut host_requirements = Map::new();
    if config.allowed_outbound_hosts.iter().any(|entry| souk_manifest::allowed_hosts::chaining_target(entry).is_some()) {
        host_requirements.insert(locked::SERVICE_CHAINING.into(), locked::REQUIRED.into());
    }
    let files = if config.files.is_empty() {
        Vec::new()
    } else {
        crate::file_mounts::stage(staging, &config.files, &manifest.dir, &config.exclude_files)?;
        let mut files = Vec::new();
        for path in files_under(staging)? {
            let data = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let relative = path.strip_prefix(staging).expect("walked from the staging folder");
            let portable = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            files.push(ContentPath { content: layers.add(data, locked::DATA_MEDIA_TYPE), path: portable });
        }
        files
    };
    let mut dependencies = BTreeMap::new();
    for dep in &config.dependencies {
        let path = match &dep.source {
            DependencySource::Component(id) => &manifest.components[id].source,
            DependencySource::Path(path) => path,
        };
        let source = wasm_source(path, layers)?;
        dependencies.insert(dep.name.to_string(), Dependency { source, export: dep.export.clone(), inherit: inherit(&dep.inherit) });
    }
    Ok(locked::Component {
        id: config.id.clone(),
        metadata,
        source: wasm_source(&config.source, layers)?,
        env: config.environment.clone(),
        files,
        config: config.variables.clone(),
        dependencies,
        trigger_dependencies: BTreeMap::new(),
        host_requirements,
    })
}

fn middleware_dependency(manifest: &AppManifest, m: &Middleware, layers: &mut Layers) -> wasmtime::Result<Dependency> {
    let source = wasm_source(&manifest.components[&m.component].source, layers).with_context(|| m.toml_key.clone())?;
    Ok(Dependency { source, export: None, inherit: inherit(&m.inherit) })
}

fn wasm_source(path: &Path, layers: &mut Layers) -> wasmtime::Result<Source> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Source { content_type: "application/wasm".into(), content: layers.add(data, locked::WASM_MEDIA_TYPE) })
}

fn inherit(inherit: &Inherit) -> locked::Inherit {
    match inherit {
        Inherit::All => locked::Inherit::All,
        Inherit::Nothing => locked::Inherit::Some(Vec::new()),
        Inherit::Only(kinds) => locked::Inherit::Some(kinds.iter().map(|k| k.key().to_string()).collect()),
    }
}

/// A trigger's middleware belongs, in a locked app, to the component the
/// trigger calls: a component that other triggers call without it (or
/// with other middleware) is copied under a new id for this trigger, as
/// Spin's loader does.
fn give_middleware_to_components(
    triggers: &mut [locked::Trigger],
    components: &mut Vec<locked::Component>,
    middleware: Vec<(String, String, Vec<Dependency>)>,
) {
    for (trigger_id, component_id, deps) in middleware {
        let callers = triggers.iter().filter(|t| t.trigger_config.get("component").and_then(Value::as_str) == Some(&component_id)).count();
        let mut target = component_id.clone();
        if callers > 1 {
            let original = components.iter().find(|c| c.id == component_id).expect("a trigger's component exists").clone();
            let mut n = 0;
            target = format!("{trigger_id}-{component_id}");
            while components.iter().any(|c| c.id == target) {
                n += 1;
                target = format!("{trigger_id}-{component_id}-copy{n}");
            }
            components.push(locked::Component { id: target.clone(), ..original });
            let trigger = triggers.iter_mut().find(|t| t.id == trigger_id).expect("the trigger exists");
            trigger.trigger_config["component"] = target.clone().into();
        }
        let component = components.iter_mut().find(|c| c.id == target).expect("the component exists");
        component.trigger_dependencies.insert(locked::MIDDLEWARE.into(), deps);
        component.metadata.insert("resolve-trigger-dependencies-using".into(), "http".into());
        component.host_requirements.insert(locked::MIDDLEWARE.into(), locked::REQUIRED.into());
    }
}

/// Every file under `dir`, in a stable order.
fn files_under(dir: &Path) -> wasmtime::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).with_context(|| format!("cannot list {}", folder.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The artifact's layers, each once; small content is inlined in the
/// locked app and has no layer.
#[derive(Default)]
struct Layers(Vec<Layer>);

impl Layers {
    fn add(&mut self, data: Vec<u8>, media_type: &'static str) -> ContentRef {
        let digest = locked::digest_of(&data);
        if data.len() <= locked::INLINE_MAX_BYTES {
            return ContentRef { source: None, inline: Some(data), digest: Some(digest) };
        }
        if !self.0.iter().any(|l| l.digest == digest) {
            self.0.push(Layer { data, media_type, digest: digest.clone() });
        }
        ContentRef { source: None, inline: None, digest: Some(digest) }
    }
}
