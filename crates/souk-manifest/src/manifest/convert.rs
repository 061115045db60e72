//! Validates the deserialised manifest and turns it into the public types.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::component::component;
use super::schema::{RawExecutor, RawHttpTrigger, RawManifest, RawPrivate, StrOr};
use super::{AppManifest, ComponentConfig, HttpExecutor, HttpRoute, HttpTrigger, VariableDecl, WagiConfig};
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
    let http_triggers = triggers(src, dir, &variables, &mut components, raw.trigger.http)?;
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
) -> Result<Vec<HttpTrigger>> {
    let mut trigger_ids: HashSet<String> = raw.iter().filter_map(|t| t.id.clone()).collect();
    let mut trigger_counter = 1;
    let mut inline_counter = 1;
    // route conflict key → (trigger index, route, component)
    let mut seen_routes: HashMap<String, (usize, String, String)> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());

    for (index, trigger) in raw.into_iter().enumerate() {
        let path = KeyPath::root().key("trigger").key("http").index(index);
        let executor = executor(src, &path.key("executor"), trigger.executor)?;
        if matches!(executor, HttpExecutor::Wagi(_)) && !trigger.dependencies.middleware.is_empty() {
            let key = path.key("dependencies").key("middleware");
            return Err(src.error_at(&key, "a WAGI component cannot have middleware: middleware wraps a `wasi:http` handler"));
        }

        let id = match trigger.id {
            Some(id) => id,
            None => {
                let natural = match &trigger.component {
                    StrOr::Str(component) => Some(format!("{component}-http-trigger")),
                    StrOr::Table(_) => None,
                };
                let id = match natural.filter(|n| !trigger_ids.contains(n)) {
                    Some(n) => n,
                    None => loop {
                        let candidate = format!("http-trigger{trigger_counter}");
                        trigger_counter += 1;
                        if !trigger_ids.contains(&candidate) {
                            break candidate;
                        }
                    },
                };
                trigger_ids.insert(id.clone());
                id
            }
        };

        let component_path = path.key("component");
        let component_id = match trigger.component {
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
                let key = check_route(&route).map_err(|e| src.error_at(&route_path, e))?;
                if let Some((first, first_route, first_component)) = seen_routes.get(&key) {
                    return Err(src.error_at(
                        &route_path,
                        format!(
                            "route `{route}` of component `{component_id}` conflicts with route `{first_route}` of component `{first_component}` (trigger.http[{first}])"
                        ),
                    ));
                }
                seen_routes.insert(key, (index, route.clone(), component_id.clone()));
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
        .collect();
    Router::build(&table).map_err(|e| src.error_at(&KeyPath::root().key("trigger").key("http"), e))?;
    Ok(out)
}
