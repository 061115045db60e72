//! Loading an application: spin.toml, runtime-config.toml, variables, stores,
//! and every component compiled (or taken from the cache) and pre-linked, so
//! that nothing is half started: any error stops start-up before listening.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use souk_manifest::{AppManifest, ComponentConfig, HttpExecutor, HttpRoute, Router, RuntimeConfig, Variables};
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::error::Context;
use wasmtime::format_err;
use wasmtime_wasi_http::handler::ProxyPre;

use crate::cache_config::CacheChoice;
use crate::capabilities::SpinGrants;
use crate::capabilities::circuit_breaker::{CircuitSettings, Circuits};
use crate::capabilities::outbound_http::{CallTimeouts, OutboundGrant};
use crate::capabilities::outbound_http_send::OutboundClient;
use crate::capabilities::outbound_mqtt::MqttGrant;
use crate::capabilities::outbound_mysql::MysqlGrant;
use crate::capabilities::outbound_pg::PgGrant;
use crate::capabilities::outbound_redis::RedisGrant;
use crate::capabilities::variables::VariablesGrant;
use crate::capabilities::wasi_cli::WasiGrant;
use crate::cli::UpArgs;
use crate::engine::{CompileCache, EngineSettings};
use crate::instance::{ComponentGrants, InstanceState};
use crate::logs::{ComponentLogs, OutputSettings};
use crate::stores::{Stores, open_stores};
use crate::trigger::cron::Schedule;
use crate::trigger::cron::handler::CronHandler;
use crate::trigger::http::admission::Admission;
use crate::trigger::http::chain::ChainRouter;
use crate::trigger::http::dispatch::{Handler, HttpComponent};
use crate::trigger::http::handler::{ComponentHandler, Limits, Reuse};
use crate::trigger::http::static_response::StaticAnswer;
use crate::trigger::http::wagi::WagiHandler;
use crate::trigger::redis::Subscription;
use crate::trigger::redis::handler::RedisHandler;
use crate::variable_providers::VariableSources;

pub struct App {
    /// Public routes → trigger id.
    pub router: Router,
    /// By trigger id.
    pub triggers: HashMap<String, Arc<HttpComponent>>,
    /// The `static_response` triggers' answers, by trigger id.
    pub statics: HashMap<String, StaticAnswer>,
    pub stores: Arc<Stores>,
    pub engine: Engine,
    /// `--max-concurrent-requests`: slots per component for requests from the listener.
    pub admission: Admission,
}

/// What loading found, for the start-up message.
pub struct LoadReport {
    pub compiled: usize,
    pub from_cache: usize,
}

/// A loaded app: what the HTTP trigger serves, and the other triggers,
/// ready to start.
pub struct Loaded {
    pub app: Arc<App>,
    pub report: LoadReport,
    /// The Redis triggers' subscriptions, by server.
    pub subscriptions: Vec<Subscription>,
    /// The cron triggers' schedules.
    pub schedules: Vec<Schedule>,
}

pub fn load(args: &UpArgs) -> wasmtime::Result<Loaded> {
    let manifest_file = crate::cli::manifest_path(&args.from);
    let mut manifest = AppManifest::load(&manifest_file)?;
    if let Some(unknown) = args.follow.iter().find(|id| !manifest.components.contains_key(*id)) {
        wasmtime::bail!("--follow: the app has no component `{unknown}` ({})", manifest.file.display());
    }
    // Before the sources are checked: the components not run need not be built.
    manifest.retain_components(&args.component_ids).map_err(|e| format_err!(e))?;
    if let Some(dropped) = args.follow.iter().find(|id| !manifest.components.contains_key(*id)) {
        wasmtime::bail!("--follow: component `{dropped}` is not run (see --component-id)");
    }
    manifest.check_sources()?;

    let state_dir = absolute(args.state_dir.clone().unwrap_or_else(|| manifest.dir.join(".spin")))?;
    let runtime_config_file = match &args.runtime_config_file {
        Some(file) => Some(absolute(file.clone())?),
        None => Some(manifest.dir.join("runtime-config.toml")).filter(|p| p.exists()),
    };
    if let Some(file) = &runtime_config_file
        && !file.exists()
    {
        wasmtime::bail!("{}: runtime config file not found", file.display());
    }
    let runtime_config = RuntimeConfig::load(runtime_config_file.as_deref(), &state_dir)?;
    let cli_variables = crate::cli_variables::merge(&args.variables).map_err(|e| format_err!(e))?;
    let sources = VariableSources::load(cli_variables, &runtime_config.variables_providers).map_err(|e| format_err!("variables provider: {e}"))?;
    // `resolve` asks by `SPIN_VARIABLE_<NAME>`; the sources by name.
    let variables = Variables::resolve(&manifest, &|env_name| env_name.strip_prefix("SPIN_VARIABLE_").and_then(|name| sources.get(name)))?;
    let mut stores = open_stores(&manifest, &runtime_config, runtime_config_file.as_deref(), args.sqlite_max_result_bytes)?;
    crate::seed::apply(&mut stores, &runtime_config, &args.key_values, &args.sqlite_statements)?;
    let stores = Arc::new(stores);

    let engine = crate::engine::new_engine(&EngineSettings {
        max_instances: args.max_instances,
        max_instance_memory_bytes: (args.max_instance_memory_mb as usize) << 20,
        profiler: args.profile.unwrap_or(wasmtime::ProfilingStrategy::None),
        pooling: !args.disable_pooling,
        debug_info: args.debug_info,
    })?;
    let mut linker = Linker::<InstanceState>::new(&engine);
    crate::capabilities::link(&mut linker)?;
    let configured = match &args.cache {
        Some(file) => crate::cache_config::read(file).map_err(|e| format_err!(e))?,
        None => CacheChoice::Keep(None),
    };
    let cache_dir = match (args.cache_dir.clone(), configured) {
        _ if args.disable_cache => None,
        (_, CacheChoice::Disabled) => None,
        (Some(dir), _) | (None, CacheChoice::Keep(Some(dir))) => Some(absolute(dir)?),
        (None, CacheChoice::Keep(None)) => Some(state_dir.join("cache")),
    };
    let cache = CompileCache::new(&engine, cache_dir);
    let limits = Limits {
        request_timeout: args.request_timeout,
        max_memory_bytes: (args.max_instance_memory_mb as usize) << 20,
        reuse: Reuse {
            max_requests: args.max_instance_reuse_count as usize,
            max_concurrent: args.max_instance_concurrent_reuse_count as usize,
            idle_timeout: args.idle_instance_timeout,
        },
    };

    let mut components = Compiled {
        engine: &engine,
        cache,
        composer: crate::compose::Composer::new(&manifest),
        loaded: HashMap::new(),
        report: LoadReport { compiled: 0, from_cache: 0 },
    };
    let mut triggers = HashMap::new();
    let mut chain_targets: HashMap<String, String> = HashMap::new();
    let mut contexts: HashMap<String, Arc<ComponentGrants>> = HashMap::new();
    let chain = Arc::new(ChainRouter::default());
    let call_timeouts = Arc::new(CallTimeouts::new(&args.outbound_timeout));
    let circuits = Arc::new(Circuits::new(CircuitSettings { failures: args.circuit_failures, window: args.circuit_window, cooldown: args.circuit_cooldown }));
    // Each component's grants, made once for all its triggers.
    let mut grants = |id: &String| -> wasmtime::Result<Arc<ComponentGrants>> {
        if let Some(context) = contexts.get(id) {
            return Ok(context.clone());
        }
        let context = Arc::new(component_grants(&manifest, id, &variables, &stores, (&chain, &circuits, &call_timeouts), &state_dir, args)?);
        contexts.insert(id.clone(), context.clone());
        Ok(context)
    };
    for trigger in &manifest.http_triggers {
        let id = &trigger.component;
        let config = &manifest.components[id];
        let started = Instant::now();
        // Triggers of one component with the same middleware (a service
        // with several routes) share one composition and one compiled copy.
        let shape =
            std::iter::once(id.clone()).chain(trigger.middleware.iter().map(|m| format!("{}:{:?}", m.component, m.inherit))).collect::<Vec<_>>().join("|");
        let component = components.get(shape, id, |composer| composer.for_trigger(trigger))?;
        tracing::debug!("component `{id}` ready in {:?}", started.elapsed());
        if tracing::enabled!(tracing::Level::DEBUG) {
            let imports: Vec<String> = component.component_type().imports(&engine).map(|(name, _)| name.to_string()).collect();
            tracing::debug!("component `{id}` imports: {}", imports.join(", "));
        }
        let pre = link(&linker, &component, id, config)?;
        let context = grants(id)?;
        let handler = match &trigger.executor {
            HttpExecutor::Spin => {
                let proxy = match wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()) {
                    Ok(p3) => ProxyPre::P3(p3),
                    Err(_) => ProxyPre::P2(wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre).map_err(|_| {
                        format_err!(
                            "component `{id}` ({}) exports neither `wasi:http/handler@0.3.0` nor `wasi:http/incoming-handler@0.2.x`",
                            config.source.display()
                        )
                    })?),
                };
                Handler::Http(ComponentHandler::new(engine.clone(), proxy, context, limits.clone()))
            }
            HttpExecutor::Wagi(wagi) => {
                let key = format!("{}: trigger.http[{}]", manifest.file.display(), trigger.index);
                if let Some(entrypoint) = &wagi.ignored_entrypoint {
                    println!("Warning: {key}.executor.entrypoint = {entrypoint:?} is ignored: a WAGI program starts at `_start`, as in Spin");
                }
                let handler = WagiHandler::new(engine.clone(), pre, context, limits.clone(), wagi.argv.clone())
                    .map_err(|e| format_err!("{key}: component `{id}` ({}) {e}", config.source.display()))?;
                Handler::Wagi(handler)
            }
        };
        // Service chaining to a component goes to its first trigger without
        // middleware (its internal face), or else to its first trigger.
        let replace = match chain_targets.get(id) {
            None => true,
            Some(first) => trigger.middleware.is_empty() && triggers.get(first).is_some_and(|t: &Arc<HttpComponent>| t.has_middleware),
        };
        if replace {
            chain_targets.insert(id.clone(), trigger.id.clone());
        }
        triggers.insert(
            trigger.id.clone(),
            Arc::new(HttpComponent { component: id.clone(), route: trigger.route.clone(), has_middleware: !trigger.middleware.is_empty(), handler }),
        );
    }

    let mut subscriptions: Vec<Subscription> = Vec::new();
    for trigger in &manifest.redis_triggers {
        let id = &trigger.component;
        let config = &manifest.components[id];
        let at = |key: &str| format!("{}: {key}", manifest.file.display());
        let component = components.alone(id)?;
        let pre = link(&linker, &component, id, config)?;
        let context = grants(id)?;
        let handler = RedisHandler::new(engine.clone(), pre, context, limits.clone())
            .map_err(|e| format_err!("{}: component `{id}` ({}) {e}", at(&format!("trigger.redis[{}].component", trigger.index)), config.source.display()))?;
        let address = variables.expand(&trigger.address).map_err(|e| format_err!("{}: {e}", at(&trigger.address_key)))?;
        let channel = variables.expand(&trigger.channel).map_err(|e| format_err!("{}: {e}", at(&format!("trigger.redis[{}].channel", trigger.index))))?;
        let position = match subscriptions.iter().position(|s| s.address == address) {
            Some(position) => position,
            None => {
                subscriptions.push(Subscription { address: address.clone(), address_at: at(&trigger.address_key), channels: Default::default() });
                subscriptions.len() - 1
            }
        };
        subscriptions[position].channels.entry(channel).or_default().push(Arc::new(handler));
    }

    let mut schedules = Vec::new();
    for trigger in &manifest.cron_triggers {
        let id = &trigger.component;
        let config = &manifest.components[id];
        let key = |field: &str| format!("{}: trigger.cron[{}].{field}", manifest.file.display(), trigger.index);
        let component = components.alone(id)?;
        let pre = link(&linker, &component, id, config)?;
        let handler = CronHandler::new(engine.clone(), pre, grants(id)?, limits.clone())
            .map_err(|e| format_err!("{}: component `{id}` ({}) {e}", key("component"), config.source.display()))?;
        let cron = souk_manifest::cron_schedule(&trigger.expression).map_err(|e| format_err!("{}: {e}", key("cron_expression")))?;
        schedules.push(Schedule { expression: trigger.expression.clone(), cron, handler: Arc::new(handler) });
    }

    let public_routes: Vec<(String, String)> = manifest
        .http_triggers
        .iter()
        .filter_map(|t| match &t.route {
            HttpRoute::Path(route) => Some((route.clone(), t.id.clone())),
            HttpRoute::Private => None,
        })
        .chain(manifest.static_responses.iter().map(|s| (s.route.clone(), s.id.clone())))
        .collect();
    let mut statics = HashMap::new();
    for trigger in &manifest.static_responses {
        let answer = StaticAnswer::new(trigger).map_err(|e| format_err!("{}: trigger.http[{}].static_response.{e}", manifest.file.display(), trigger.index))?;
        statics.insert(trigger.id.clone(), answer);
    }
    let router = Router::build(&public_routes).map_err(|e| format_err!("{}: trigger.http: {e}", manifest.file.display()))?;

    let admission =
        Admission::new(&args.max_concurrent_requests, triggers.values().map(|t| t.component.as_str()), args.request_timeout).map_err(|e| format_err!("{e}"))?;
    let chain_targets: HashMap<String, Arc<HttpComponent>> =
        chain_targets.into_iter().map(|(component, trigger)| (component, triggers[&trigger].clone())).collect();
    chain.connect(&chain_targets);
    let report = components.report;
    let app = Arc::new(App { router, triggers, statics, stores, engine, admission });
    Ok(Loaded { app, report, subscriptions, schedules })
}

/// The app's components compiled (or taken from the cache) once per shape:
/// a component, or a component composed with its dependencies and a
/// trigger's middleware.
struct Compiled<'a> {
    engine: &'a Engine,
    cache: CompileCache,
    composer: crate::compose::Composer<'a>,
    loaded: HashMap<String, Component>,
    report: LoadReport,
}

impl Compiled<'_> {
    /// Component `id` in the shape named `shape`; `compose` gives its
    /// composed bytes, or `None` for its own file as it is.
    fn get(
        &mut self,
        shape: String,
        id: &str,
        compose: impl FnOnce(&mut crate::compose::Composer<'_>) -> wasmtime::Result<Option<Vec<u8>>>,
    ) -> wasmtime::Result<Component> {
        if let Some(component) = self.loaded.get(&shape) {
            return Ok(component.clone());
        }
        let (component, cached) = match compose(&mut self.composer)? {
            Some(composed) => self.cache.load_bytes(self.engine, &composed, &format!("component `{id}` composed with its dependencies"))?,
            None => {
                let manifest = self.composer.manifest();
                self.cache.load(self.engine, &manifest.components[id].source).with_context(|| format!("{}: component.{id}.source", manifest.file.display()))?
            }
        };
        if cached {
            self.report.from_cache += 1
        } else {
            self.report.compiled += 1
        }
        self.loaded.insert(shape, component.clone());
        Ok(component)
    }

    /// Component `id` composed with its own dependencies only (the shape a
    /// Redis or cron trigger runs).
    fn alone(&mut self, id: &str) -> wasmtime::Result<Component> {
        self.get(id.to_string(), id, |composer| composer.for_component(id))
    }
}

/// `component` pre-linked against every capability; an import souk does
/// not provide fails here, naming the component and its file.
fn link(linker: &Linker<InstanceState>, component: &Component, id: &str, config: &ComponentConfig) -> wasmtime::Result<InstancePre<InstanceState>> {
    linker.instantiate_pre(component).map_err(|e| format_err!("component `{id}` ({}) cannot be linked: {e:#}", config.source.display()))
}

fn absolute(path: PathBuf) -> wasmtime::Result<PathBuf> {
    std::path::absolute(&path).with_context(|| format!("invalid path {}", path.display()))
}

/// Each capability's grant for component `id`, from its manifest section.
fn component_grants(
    manifest: &AppManifest,
    id: &str,
    variables: &Variables,
    stores: &Stores,
    (chain, circuits, call_timeouts): (&Arc<ChainRouter>, &Arc<Circuits>, &Arc<CallTimeouts>),
    state_dir: &Path,
    args: &UpArgs,
) -> wasmtime::Result<ComponentGrants> {
    let config = &manifest.components[id];
    let log_dir = match &args.log_dir {
        Some(dir) if dir.as_os_str().is_empty() => None,
        Some(dir) => Some(dir.clone()),
        None => Some(state_dir.join("logs")),
    };
    let output = OutputSettings {
        log_dir: log_dir.as_deref(),
        console: !args.quiet && (args.follow.is_empty() || args.follow.iter().any(|f| f == id)),
        truncate: args.truncate_logs,
    };
    let resolved = config
        .variables
        .keys()
        .map(|name| {
            let value = variables.component_value(manifest, id, name).map_err(|e| format!("{e:?}"));
            (name.clone(), value)
        })
        .collect();
    let mut env: Vec<(String, String)> = config.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    env.extend(args.env.iter().cloned());
    let mounts = if config.files.is_empty() {
        Vec::new()
    } else if args.direct_mounts {
        crate::file_mounts::direct(config).map_err(|e| format_err!("{}: {e} (--direct-mounts)", manifest.file.display()))?
    } else {
        let dir = state_dir.join("files").join(id);
        crate::file_mounts::stage(&dir, &config.files, &manifest.dir, &config.exclude_files)
            .with_context(|| format!("{}: component.{id}.files", manifest.file.display()))?;
        vec![(dir, "/".to_string())]
    };
    let allowed_hosts = variables.allowed_hosts(manifest, id)?;
    let shared_hosts = Arc::new(allowed_hosts.clone());
    Ok(ComponentGrants {
        id: id.to_string(),
        wasi: WasiGrant {
            env,
            mounts,
            logs: ComponentLogs::open(id, &output)?,
            allowed_hosts: shared_hosts.clone(),
            blocked: stores.blocked_networks.clone(),
            connection_limits: stores.connection_limits.clone(),
        },
        outbound: Arc::new(OutboundGrant {
            component: id.to_string(),
            allowed_hosts,
            chain: chain.clone(),
            circuits: circuits.clone(),
            call_timeouts: call_timeouts.clone(),
            client: OutboundClient::new(id, stores.blocked_networks.clone(), stores.client_tls.for_component(id), stores.connection_limits.clone()),
        }),
        spin: Arc::new(SpinGrants {
            redis: RedisGrant {
                component: id.to_string(),
                allowed_hosts: shared_hosts.clone(),
                clients: stores.outbound_redis.clone(),
                limits: stores.connection_limits.clone(),
            },
            mqtt: MqttGrant {
                component: id.to_string(),
                allowed_hosts: shared_hosts.clone(),
                blocked: stores.blocked_networks.clone(),
                limits: stores.connection_limits.clone(),
            },
            postgres: PgGrant {
                component: id.to_string(),
                allowed_hosts: shared_hosts.clone(),
                blocked: stores.blocked_networks.clone(),
                pools: stores.postgres.clone(),
                limits: stores.connection_limits.clone(),
            },
            mysql: MysqlGrant {
                component: id.to_string(),
                allowed_hosts: shared_hosts,
                blocked: stores.blocked_networks.clone(),
                pools: stores.mysql.clone(),
                limits: stores.connection_limits.clone(),
            },
            key_value: stores.key_value.grant(&config.key_value_stores),
            sqlite: stores.sqlite.grant(id, &config.sqlite_databases),
            variables: VariablesGrant { component: id.to_string(), values: resolved },
            ai_models: config.ai_models.clone(),
        }),
    })
}
