//! Loads and validates a Spin application manifest (`spin.toml`, manifest
//! version 2) into [`AppManifest`].

mod component;
mod convert;
mod cron_triggers;
mod dependencies;
mod files;
mod redis_triggers;
mod retain;
mod schema;
mod trigger_component;
mod v1;

pub use cron_triggers::cron_schedule;
pub use dependencies::{ConfigKind, Dependency, DependencyName, DependencySource, Inherit, Middleware};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::routes::Router;
use crate::toml_source::{KeyPath, TomlSource};

/// A validated `spin.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppManifest {
    /// Absolute path of `spin.toml`.
    pub file: PathBuf,
    /// The folder holding `spin.toml`; relative paths are resolved against it.
    pub dir: PathBuf,
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub variables: BTreeMap<String, VariableDecl>,
    /// All components by id, including inline trigger components.
    pub components: BTreeMap<String, ComponentConfig>,
    pub http_triggers: Vec<HttpTrigger>,
    /// `[[trigger.http]]` entries answered by the host itself (`static_response`).
    pub static_responses: Vec<StaticTrigger>,
    pub redis_triggers: Vec<RedisTrigger>,
    pub cron_triggers: Vec<CronTrigger>,
}

/// An application variable from `[variables]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableDecl {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
    pub description: Option<String>,
}

/// One component (`[component.<id>]` or an inline trigger component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentConfig {
    pub id: String,
    /// The Wasm file, resolved against the manifest folder.
    pub source: PathBuf,
    pub description: Option<String>,
    /// Raw entries; entries with `{{ variable }}` templates are expanded by
    /// [`crate::Variables::allowed_hosts`].
    pub allowed_outbound_hosts: Vec<String>,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    /// `ai_models`: accepted as Spin accepts them; souk serves no models.
    pub ai_models: Vec<String>,
    /// Component variable name → raw template.
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub files: Vec<FileMount>,
    /// `exclude_files`: globs, relative to the application directory, of
    /// files no `files` entry mounts.
    pub exclude_files: Vec<String>,
    pub build: Option<BuildConfig>,
    /// `[component.<id>.dependencies]`, in key order.
    pub dependencies: Vec<Dependency>,
    /// TOML key path of this component's table: `component.<id>`, or
    /// `trigger.http[N].component` for an inline component.
    pub toml_key: String,
}

/// A host file or directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMount {
    /// Absolute host path: a file or a directory.
    pub source: PathBuf,
    /// Absolute guest path.
    pub destination: String,
    /// For a glob entry (`"static/**/*.css"`): the glob, relative to the
    /// application directory; only the files under `source` it matches are
    /// mounted, each at its own relative path.
    pub pattern: Option<String>,
}

/// A `files` or `exclude_files` glob as Spin reads them: `*` and `?` stay
/// within one path segment, `**` crosses them.
pub fn file_glob(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern).literal_separator(true).build().map(|g| g.compile_matcher()).map_err(|e| format!("invalid glob {pattern:?}: {e}"))
}

/// A component's `[component.<id>.build]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildConfig {
    /// The build command; several commands are joined with ` && `.
    pub command: String,
    /// The commands as listed (`command` may be a string or an array).
    pub commands: Vec<String>,
    /// Absolute; defaults to the manifest folder.
    pub workdir: PathBuf,
    pub watch: Vec<String>,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTrigger {
    /// Position in the `[[trigger.http]]` array.
    pub index: usize,
    /// The trigger's `id`, or the one Spin would generate
    /// (`<component>-http-trigger` or `http-trigger<N>`).
    pub id: String,
    pub route: HttpRoute,
    /// Component id.
    pub component: String,
    /// `dependencies.middleware`: the components a request passes through,
    /// first to last, before reaching `component`.
    pub middleware: Vec<Middleware>,
    pub executor: HttpExecutor,
}

/// A `[[trigger.http]]` with a `static_response` (Spin 4.1) and no
/// component: the host answers its route itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticTrigger {
    pub index: usize,
    pub id: String,
    pub route: String,
    /// 200 unless `status_code` says otherwise.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// How an HTTP trigger's component is called (`executor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpExecutor {
    /// Through `wasi:http` (or Spin's older HTTP interface): the default.
    Spin,
    /// As a WAGI (CGI) program: the request in its environment and stdin,
    /// the response from its stdout.
    Wagi(WagiConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WagiConfig {
    /// The program's arguments, space-separated; `${SCRIPT_NAME}` and
    /// `${ARGS}` (the query's `name=value` pairs) are filled in per request.
    pub argv: String,
    /// An `entrypoint` other than `_start`, which Spin ignores (it runs
    /// `_start`) and so does souk, saying so at start-up.
    pub ignored_entrypoint: Option<String>,
}

impl WagiConfig {
    pub const DEFAULT_ARGV: &'static str = "${SCRIPT_NAME} ${ARGS}";
}

/// One `[[trigger.redis]]` entry: `component` is called with every
/// message published on `channel` of the Redis server at `address` (the
/// trigger's own, or `[application.trigger.redis]`'s). Both may hold
/// `{{ variable }}` templates, expanded with the app's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTrigger {
    /// Position in the `[[trigger.redis]]` array.
    pub index: usize,
    pub component: String,
    pub channel: String,
    pub address: String,
    /// Where `address` was given (`trigger.redis[N].address` or
    /// `application.trigger.redis.address`), for messages.
    pub address_key: String,
}

/// One `[[trigger.cron]]` entry: `component` runs whenever the schedule
/// `expression` gives comes round (see [`cron_schedule`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronTrigger {
    /// Position in the `[[trigger.cron]]` array.
    pub index: usize,
    pub component: String,
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpRoute {
    Path(String),
    Private,
}

impl AppManifest {
    /// Loads `path`: the manifest file itself, or a directory holding `spin.toml`.
    pub fn load(path: &Path) -> Result<AppManifest, ConfigError> {
        let path = crate::paths::absolute(path).map_err(|e| ConfigError::new(path, "", format!("cannot resolve path: {e}")))?;
        let file = if path.is_dir() { path.join("spin.toml") } else { path };
        if file.extension().is_some_and(|extension| extension == "wasm") {
            return AppManifest::for_wasm_file(&file);
        }
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let source = TomlSource::read(&file)?;
        let doc: toml::Table = source.deserialize()?;
        let source = if v1::is_v1(&doc) {
            let v2 = v1::to_v2(&source, doc)?;
            let text =
                toml::to_string(&v2).map_err(|e| ConfigError::new(&file, "", format!("cannot write the version 2 form of this version 1 manifest: {e}")))?;
            TomlSource::converted(&file, text, "version 1 manifest")
        } else {
            check_version(&source, &doc)?;
            source
        };
        let raw: schema::RawManifest = source.deserialize()?;
        convert::manifest(&source, &file, &dir, raw)
    }

    /// A Wasm file run on its own, as `spin up --from app.wasm` runs one: an
    /// app named after the file, of one component serving every route
    /// (`/...`) with nothing else granted, its directory the current one.
    pub fn for_wasm_file(file: &Path) -> Result<AppManifest, ConfigError> {
        let dir = std::env::current_dir().map_err(|e| ConfigError::new(file, "", format!("cannot read the current directory: {e}")))?;
        let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or("wasm-file").to_string();
        let source = toml::Value::String(file.display().to_string());
        let text = format!(
            "spin_manifest_version = 2\n[application]\nname = {}\n[[trigger.http]]\nroute = \"/...\"\ncomponent = {{ source = {source} }}\n",
            toml::Value::String(name)
        );
        let source = TomlSource::converted(file, text, "Wasm file run as an app of one component");
        let raw: schema::RawManifest = source.deserialize()?;
        convert::manifest(&source, file, &dir, raw)
    }

    /// Checks that every component's Wasm file and every `files` source exists.
    pub fn check_sources(&self) -> Result<(), ConfigError> {
        for component in self.components.values() {
            let source = &component.source;
            if !source.exists() {
                return Err(ConfigError::new(
                    &self.file,
                    format!("{}.source", component.toml_key),
                    format!("component source {} does not exist (has it been built?)", source.display()),
                ));
            }
            if !source.is_file() {
                return Err(ConfigError::new(
                    &self.file,
                    format!("{}.source", component.toml_key),
                    format!("component source {} is not a file", source.display()),
                ));
            }
            for dep in &component.dependencies {
                if let DependencySource::Path(file) = &dep.source
                    && !file.is_file()
                {
                    return Err(ConfigError::new(&self.file, format!("{}.path", dep.toml_key), format!("dependency file {} does not exist", file.display())));
                }
            }
            for (i, mount) in component.files.iter().enumerate() {
                if !mount.source.exists() {
                    return Err(ConfigError::new(
                        &self.file,
                        format!("{}.files[{i}]", component.toml_key),
                        format!("file mount source {} does not exist", mount.source.display()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The router for the non-private HTTP routes.
    pub fn router(&self) -> Result<Router, ConfigError> {
        Router::build(&self.route_table()).map_err(|e| ConfigError::new(&self.file, "trigger.http", e))
    }

    /// `(route, component id)` for every non-private HTTP trigger, in manifest order.
    pub fn route_table(&self) -> Vec<(String, String)> {
        self.http_triggers
            .iter()
            .filter_map(|t| match &t.route {
                HttpRoute::Path(route) => Some((route.clone(), t.component.clone())),
                HttpRoute::Private => None,
            })
            .collect()
    }

    pub fn component(&self, id: &str) -> Option<&ComponentConfig> {
        self.components.get(id)
    }
}

/// Only `spin_manifest_version = 2` is accepted.
fn check_version(source: &TomlSource, doc: &toml::Table) -> Result<(), ConfigError> {
    const EXPECTED: &str = "`spin_manifest_version = 2` and version 1 (`spin_manifest_version = \"1\"`) manifests are supported";
    if let Some(version) = doc.get("spin_version")
        && !doc.contains_key("spin_manifest_version")
    {
        return Err(source.error_at(&KeyPath::root().key("spin_version"), format!("unsupported manifest version {version}; {EXPECTED}")));
    }
    let path = KeyPath::root().key("spin_manifest_version");
    match doc.get("spin_manifest_version") {
        None => Err(ConfigError::new(&source.file, "spin_manifest_version", format!("missing; {EXPECTED}"))),
        Some(toml::Value::Integer(2)) => Ok(()),
        Some(other) => Err(source.error_at(&path, format!("unsupported manifest version {other}; {EXPECTED}"))),
    }
}

#[cfg(test)]
pub(crate) mod tests;
