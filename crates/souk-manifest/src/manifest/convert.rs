//! Validates the deserialised manifest and turns it into the public types.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::component::component;
use super::schema::{RawExecutor, RawHttpTrigger, RawManifest, RawPrivate, RawStaticResponse, StrOr};
use super::{AppManifest, ComponentConfig, HttpExecutor, HttpRoute, HttpTrigger, StaticTrigger, VariableDecl, WagiConfig};
use crate::error::ConfigError;
use crate::names::{check_component_id, check_variable_name};
use crate::routes::{Router, check_route};
use crate::toml_source::{KeyPath, TomlSource};

type Result<T> = std::result::Result<T, ConfigError>;

pub(super) fn manifest(src: &TomlSource, file: &Path, dir: &Path, raw: RawManifest) -> Result<AppManifest> {
    let root = KeyPath::root();
    let app = raw.application;
    if app.name.trim().is_empty() {
        return Err(src.error_at(&root.key("application").key("name"), "must not be empty"));
    }
    if let Some(base) = app.trigger.http.as_ref().and_then(|h| h.base.clone())
        && base != "/"
    {
        return Err(src.error_at(&root.key("application").key("trigger").key("http").key("base"), format!("base {base:?} is not supported; only \"/\" is")));
    }

    let variables = variables(src, raw.variables)?;
    let mut components = BTreeMap::new();
    for (id, raw_component) in raw.component {
        let path = root.key("component").key(&id);
        check_component_id(&id).map_err(|e| src.error_at(&path, format!("invalid component id {id:?}: {e}")))?;
        let converted = component(src, dir, &variables, &id, &path, raw_component)?;
        components.insert(id, converted);
    }
    let (http_triggers, static_responses) = triggers(src, dir, &variables, &mut components, raw.trigger.http)?;
    let redis_triggers = super::redis_triggers::convert(src, dir, &mut components, &variables, app.trigger.redis.map(|r| r.address), raw.trigger.redis)?;
    let cron_triggers = super::cron_triggers::convert(src, dir, &mut components, &variables, raw.trigger.cron)?;
    super::dependencies::check_references(src, &components, &http_triggers)?;

    Ok(AppManifest {
        file: file.to_owned(),
        dir: dir.to_owned(),
        name: app.name,
        version: app.version,
        description: app.description,
        variables,
        components,
        http_triggers,
        static_responses,
        redis_triggers,
        cron_triggers,
    })
}

fn variables(src: &TomlSource, raw: BTreeMap<String, super::schema::RawVariable>) -> Result<BTreeMap<String, VariableDecl>> {
    let mut out = BTreeMap::new();
    for (name, var) in raw {
        let path = KeyPath::root().key("variables").key(&name);
        check_variable_name(&name).map_err(|e| src.error_at(&path, format!("invalid variable name {name:?}: {e}")))?;
        if var.required && var.default.is_some() {
            return Err(src.error_at(&path, "a variable cannot be both `required = true` and have a `default`"));
        }
        out.insert(name, VariableDecl { default: var.default, required: var.required, secret: var.secret, description: var.description });
    }
    Ok(out)
}

/// `executor = { type = "spin" | "http" | "wagi", ... }` (Spin's default
/// when absent).
fn executor(src: &TomlSource, path: &KeyPath, raw: Option<RawExecutor>) -> Result<HttpExecutor> {
    let Some(raw) = raw else { return Ok(HttpExecutor::Spin) };
    match raw.kind.as_str() {
        "spin" | "http" => match (&raw.argv, &raw.entrypoint) {
            (None, None) => Ok(HttpExecutor::Spin),
            (argv, _) => {
                let key = if argv.is_some() { "argv" } else { "entrypoint" };
                Err(src.error_at(&path.key(key), format!("`{key}` is for `type = \"wagi\"` only")))
            }
        },
        "wagi" => Ok(HttpExecutor::Wagi(WagiConfig {
            argv: raw.argv.unwrap_or_else(|| WagiConfig::DEFAULT_ARGV.to_string()),
            ignored_entrypoint: raw.entrypoint.filter(|e| e != "_start"),
        })),
        other => Err(src.error_at(&path.key("type"), format!("executor type {other:?} is not supported; use \"spin\" (the default) or \"wagi\""))),
    }
}

fn triggers(
    src: &TomlSource,
    dir: &Path,
    app_variables: &BTreeMap<String, VariableDecl>,
    components: &mut BTreeMap<String, ComponentConfig>,
    raw: Vec<RawHttpTrigger>,
) -> Result<(Vec<HttpTrigger>, Vec<StaticTrigger>)> {
    let mut trigger_ids: HashSet<String> = raw.iter().filter_map(|t| t.id.clone()).collect();
    let mut trigger_counter = 1;
    let mut inline_counter = 1;
    let mut seen_routes = SeenRoutes::new();
    let mut out = Vec::with_capacity(raw.len());
    let mut statics = Vec::new();
    let mut generated_id = |trigger_ids: &mut HashSet<String>| loop {
        let candidate = format!("http-trigger{trigger_counter}");
        trigger_counter += 1;
        if trigger_ids.insert(candidate.clone()) {
            break candidate;
        }
    };

    for (index, trigger) in raw.into_iter().enumerate() {
        let path = KeyPath::root().key("trigger").key("http").index(index);
        let target = match (trigger.component, trigger.static_response) {
            (Some(target), None) => target,
            (None, None) => return Err(src.error_at(&path, "needs a `component` (or a `static_response`)")),
            (Some(_), Some(_)) => return Err(src.error_at(&path.key("static_response"), "a trigger has a `component` or a `static_response`, not both")),
            (None, Some(response)) => {
                let StrOr::Str(route) = trigger.route else {
                    return Err(src.error_at(&path.key("route"), "a static response needs a route: it cannot be private"));
                };
                if trigger.executor.is_some() || !trigger.dependencies.middleware.is_empty() {
                    let key = if trigger.executor.is_some() { "executor" } else { "dependencies" };
                    return Err(src.error_at(&path.key(key), format!("`{key}` is for a component; a static response has none")));
                }
                seen_routes.claim(src, &path.key("route"), &route, index, "a static response".into())?;
                let id = match trigger.id {
                    Some(id) => id,
                    None => generated_id(&mut trigger_ids),
                };
                statics.push(static_trigger(src, &path.key("static_response"), index, id, route, response)?);
                continue;
            }
        };
        let executor = executor(src, &path.key("executor"), trigger.executor)?;
        if matches!(executor, HttpExecutor::Wagi(_)) && !trigger.dependencies.middleware.is_empty() {
            let key = path.key("dependencies").key("middleware");
            return Err(src.error_at(&key, "a WAGI component cannot have middleware: middleware wraps a `wasi:http` handler"));
        }

        let id = match trigger.id {
            Some(id) => id,
            None => {
                let natural = match &target {
                    StrOr::Str(component) => Some(format!("{component}-http-trigger")),
                    StrOr::Table(_) => None,
                };
                match natural.filter(|n| !trigger_ids.contains(n)) {
                    Some(n) => {
                        trigger_ids.insert(n.clone());
                        n
                    }
                    None => generated_id(&mut trigger_ids),
                }
            }
        };

        let component_path = path.key("component");
        let component_id = match target {
            StrOr::Str(component_id) => {
                if !components.contains_key(&component_id) {
                    return Err(src.error_at(&component_path, format!("no component named `{component_id}`; define it as [component.{component_id}]")));
                }
                component_id
            }
            StrOr::Table(raw_component) => {
                let natural = format!("{id}-component");
                let inline_id = if check_component_id(&natural).is_ok() && !components.contains_key(&natural) {
                    natural
                } else {
                    loop {
                        let candidate = format!("inline-component{inline_counter}");
                        inline_counter += 1;
                        if !components.contains_key(&candidate) {
                            break candidate;
                        }
                    }
                };
                let converted = component(src, dir, app_variables, &inline_id, &component_path, raw_component)?;
                components.insert(inline_id.clone(), converted);
                inline_id
            }
        };

        let route_path = path.key("route");
        let route = match trigger.route {
            StrOr::Str(route) => {
                seen_routes.claim(src, &route_path, &route, index, format!("component `{component_id}`"))?;
                HttpRoute::Path(route)
            }
            StrOr::Table(RawPrivate { private: true }) => HttpRoute::Private,
            StrOr::Table(RawPrivate { private: false }) => {
                return Err(src.error_at(&route_path, "must be a route string or `{ private = true }`; `{ private = false }` is not allowed"));
            }
        };

        let middleware = super::dependencies::middleware(src, &path.key("dependencies").key("middleware"), trigger.dependencies.middleware)?;
        out.push(HttpTrigger { index, id, route, component: component_id, middleware, executor });
    }

    let table: Vec<(String, String)> = out
        .iter()
        .filter_map(|t| match &t.route {
            HttpRoute::Path(route) => Some((route.clone(), t.component.clone())),
            HttpRoute::Private => None,
        })
        .chain(statics.iter().map(|s| (s.route.clone(), s.id.clone())))
        .collect();
    Router::build(&table).map_err(|e| src.error_at(&KeyPath::root().key("trigger").key("http"), e))?;
    Ok((out, statics))
}

/// The routes claimed so far, to name both triggers of a conflict:
/// route key → (trigger index, route, whose).
struct SeenRoutes(HashMap<String, (usize, String, String)>);

impl SeenRoutes {
    fn new() -> Self {
        SeenRoutes(HashMap::new())
    }

    /// Claims `route` for trigger `index` (`owner` says whose it is, for messages).
    fn claim(&mut self, src: &TomlSource, path: &KeyPath, route: &str, index: usize, owner: String) -> Result<()> {
        let key = check_route(route).map_err(|e| src.error_at(path, e))?;
        if let Some((first, first_route, first_owner)) = self.0.get(&key) {
            return Err(src.error_at(path, format!("route `{route}` of {owner} conflicts with route `{first_route}` of {first_owner} (trigger.http[{first}])")));
        }
        self.0.insert(key, (index, route.to_string(), owner));
        Ok(())
    }
}

/// A `static_response`: its status (100 to 999; 200 by default) and
/// headers checked as HTTP has them.
fn static_trigger(src: &TomlSource, path: &KeyPath, index: usize, id: String, route: String, raw: RawStaticResponse) -> Result<StaticTrigger> {
    let status = raw.status_code.unwrap_or(200);
    if !(100..=999).contains(&status) {
        return Err(src.error_at(&path.key("status_code"), format!("{status} is not an HTTP status code (100 to 999)")));
    }
    for (name, value) in &raw.headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(src.error_at(&path.key("headers").key(name), format!("{name:?} is not a header name")));
        }
        if http::HeaderValue::from_bytes(value.as_bytes()).is_err() {
            return Err(src.error_at(&path.key("headers").key(name), "a header value cannot hold control characters"));
        }
    }
    Ok(StaticTrigger { index, id, route, status, headers: raw.headers.into_iter().collect(), body: raw.body })
}
