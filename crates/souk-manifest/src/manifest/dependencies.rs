//! Component dependencies (`[component.<id>.dependencies]`) and HTTP
//! middleware (`dependencies.middleware` on a `[[trigger.http]]`): what a
//! component imports from other components, and which of its own
//! configuration each of them inherits.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::ComponentConfig;
use super::schema::{RawDependency, RawInherit, RawMiddleware, StrOr};
use crate::error::ConfigError;
use crate::paths::resolve_path;
use crate::toml_source::{KeyPath, TomlSource};

type Result<T> = std::result::Result<T, ConfigError>;

/// The key of a dependency: an interface (`ns:pkg/iface@1.0.0`), a whole
/// package (`ns:pkg@1.0.0`, every interface of it the component imports),
/// or a plain import name (`my-import`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DependencyName {
    Interface { package: String, interface: String, version: Option<String> },
    Package { package: String, version: Option<String> },
    Plain(String),
}

impl DependencyName {
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let (name, version) = match text.split_once('@') {
            Some((name, version)) => {
                if version.is_empty() || !version.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)) {
                    return Err(format!("invalid version {version:?}"));
                }
                (name, Some(version.to_owned()))
            }
            None => (text, None),
        };
        let Some((namespace, rest)) = name.split_once(':') else {
            if version.is_some() {
                return Err("a versioned name must be `namespace:package@version`".into());
            }
            check_kebab(name)?;
            return Ok(DependencyName::Plain(name.to_owned()));
        };
        check_kebab(namespace)?;
        match rest.split_once('/') {
            Some((package, interface)) => {
                check_kebab(package)?;
                check_kebab(interface)?;
                Ok(DependencyName::Interface { package: format!("{namespace}:{package}"), interface: interface.to_owned(), version })
            }
            None => {
                check_kebab(rest)?;
                Ok(DependencyName::Package { package: format!("{namespace}:{rest}"), version })
            }
        }
    }

    /// Whether the component import named `import` is satisfied by this key.
    pub fn matches(&self, import: &str) -> bool {
        match self {
            DependencyName::Plain(_) | DependencyName::Interface { version: Some(_), .. } => self.to_string() == import,
            DependencyName::Package { package, version } => {
                let Ok(DependencyName::Interface { package: p, version: v, .. }) = DependencyName::parse(import) else {
                    return false;
                };
                &p == package && (version.is_none() || &v == version)
            }
            DependencyName::Interface { package, interface, version: None } => {
                import.split_once('@').map_or(import, |(name, _)| name) == format!("{package}/{interface}")
            }
        }
    }
}

impl fmt::Display for DependencyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, version) = match self {
            DependencyName::Interface { package, interface, version } => (format!("{package}/{interface}"), version),
            DependencyName::Package { package, version } => (package.clone(), version),
            DependencyName::Plain(name) => return f.write_str(name),
        };
        match version {
            Some(v) => write!(f, "{name}@{v}"),
            None => f.write_str(&name),
        }
    }
}

fn check_kebab(word: &str) -> std::result::Result<(), String> {
    let ok = !word.is_empty()
        && word
            .split('-')
            .all(|part| part.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if ok { Ok(()) } else { Err(format!("{word:?} is not a kebab-case name")) }
}

/// Where a dependency's implementation comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencySource {
    /// Another component of this app, by id.
    Component(String),
    /// A Wasm component file, resolved against the manifest folder.
    Path(PathBuf),
}

/// A kind of component configuration a dependency or middleware may inherit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKind {
    KeyValueStores,
    SqliteDatabases,
    AllowedOutboundHosts,
    Variables,
    Environment,
    Files,
    /// Spin's `ai_models`; Souk serves no models, so there is nothing to inherit.
    AiModels,
}

impl ConfigKind {
    pub const ALL: [ConfigKind; 7] = [
        ConfigKind::KeyValueStores,
        ConfigKind::SqliteDatabases,
        ConfigKind::AllowedOutboundHosts,
        ConfigKind::Variables,
        ConfigKind::Environment,
        ConfigKind::Files,
        ConfigKind::AiModels,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ConfigKind::KeyValueStores => "key_value_stores",
            ConfigKind::SqliteDatabases => "sqlite_databases",
            ConfigKind::AllowedOutboundHosts => "allowed_outbound_hosts",
            ConfigKind::Variables => "variables",
            ConfigKind::Environment => "environment",
            ConfigKind::Files => "files",
            ConfigKind::AiModels => "ai_models",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// Which of the importing component's configuration a dependency gets.
/// What it does not inherit, it is denied, as in Spin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inherit {
    Nothing,
    All,
    Only(BTreeSet<ConfigKind>),
}

impl Inherit {
    pub fn includes(&self, kind: ConfigKind) -> bool {
        match self {
            Inherit::Nothing => false,
            Inherit::All => true,
            Inherit::Only(kinds) => kinds.contains(&kind),
        }
    }
}

/// One `[component.<id>.dependencies]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: DependencyName,
    pub source: DependencySource,
    /// The dependency's export to use, when its name differs from `name`.
    pub export: Option<String>,
    pub inherit: Inherit,
    /// TOML key path of this entry, for messages.
    pub toml_key: String,
}

/// One `dependencies.middleware` entry of a trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Middleware {
    pub component: String,
    pub inherit: Inherit,
    pub toml_key: String,
}

pub(super) fn inherit(src: &TomlSource, path: &KeyPath, raw: Option<RawInherit>, default: Inherit) -> Result<Inherit> {
    match raw {
        None => Ok(default),
        Some(RawInherit::All(true)) => Ok(Inherit::All),
        Some(RawInherit::All(false)) => Ok(Inherit::Nothing),
        Some(RawInherit::Only(keys)) => {
            let mut kinds = BTreeSet::new();
            for (i, key) in keys.iter().enumerate() {
                let kind = ConfigKind::from_key(key).ok_or_else(|| {
                    let known: Vec<&str> = ConfigKind::ALL.iter().map(|k| k.key()).collect();
                    src.error_at(&path.index(i), format!("unknown configuration key {key:?}; expected one of {}", known.join(", ")))
                })?;
                kinds.insert(kind);
            }
            Ok(Inherit::Only(kinds))
        }
    }
}

pub(super) fn component_dependencies(
    src: &TomlSource,
    dir: &Path,
    path: &KeyPath,
    raw: BTreeMap<String, StrOr<RawDependency>>,
    inherit_all: Option<bool>,
) -> Result<Vec<Dependency>> {
    if inherit_all.is_some() && raw.values().any(|d| matches!(d, StrOr::Table(t) if t.inherit_configuration.is_some())) {
        return Err(src
            .error_at(path, "`dependencies_inherit_configuration` and a dependency's own `inherit_configuration` cannot both be given; use one or the other"));
    }
    let default = if inherit_all == Some(true) { Inherit::All } else { Inherit::Nothing };
    let mut out: Vec<Dependency> = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        let entry_path = path.key(&key);
        let name = DependencyName::parse(&key).map_err(|e| src.error_at(&entry_path, format!("invalid dependency name {key:?}: {e}")))?;
        let table = match value {
            StrOr::Str(_) => {
                return Err(src.error_at(
                    &entry_path,
                    "registry dependencies (a version string) are not supported; use `{ component = \"<id>\" }` or `{ path = \"<file>.wasm\" }`",
                ));
            }
            StrOr::Table(table) => table,
        };
        if table.url.is_some() || table.digest.is_some() || table.registry.is_some() || table.package.is_some() || table.version.is_some() {
            return Err(
                src.error_at(&entry_path, "registry and URL dependencies are not supported; use `{ component = \"<id>\" }` or `{ path = \"<file>.wasm\" }`")
            );
        }
        let source = match (table.component, table.path) {
            (Some(id), None) => DependencySource::Component(id),
            (None, Some(file)) if !file.trim().is_empty() => DependencySource::Path(resolve_path(dir, &file)),
            (Some(_), Some(_)) => {
                return Err(src.error_at(&entry_path, "give either `component` or `path`, not both"));
            }
            (None, _) => {
                return Err(src.error_at(&entry_path, "expected `component = \"<id>\"` or `path = \"<file>.wasm\"`"));
            }
        };
        if table.export.is_some() && !matches!(name, DependencyName::Interface { .. } | DependencyName::Plain(_)) {
            return Err(src.error_at(&entry_path.key("export"), "`export` can only rename a single interface, not a whole package"));
        }
        let inherit = inherit(src, &entry_path.key("inherit_configuration"), table.inherit_configuration, default.clone())?;
        if let Some(other) = out.iter().find(|d| overlaps(&d.name, &name)) {
            return Err(src.error_at(&entry_path, format!("overlaps with the dependency {:?}: an import would be satisfied twice", other.name.to_string())));
        }
        out.push(Dependency { name, source, export: table.export, inherit, toml_key: entry_path.to_string() });
    }
    Ok(out)
}

/// A package-level key and an interface of that package overlap.
fn overlaps(a: &DependencyName, b: &DependencyName) -> bool {
    match (a, b) {
        (DependencyName::Package { package, version }, DependencyName::Interface { package: p, version: v, .. })
        | (DependencyName::Interface { package: p, version: v, .. }, DependencyName::Package { package, version }) => {
            package == p && (version.is_none() || v.is_none() || version == v)
        }
        (DependencyName::Interface { package, interface, version }, DependencyName::Interface { package: p, interface: i, version: v }) => {
            package == p && interface == i && (version.is_none() || v.is_none() || version == v)
        }
        (DependencyName::Package { package, version }, DependencyName::Package { package: p, version: v }) => {
            package == p && (version.is_none() || v.is_none() || version == v)
        }
        _ => a == b,
    }
}

pub(super) fn middleware(src: &TomlSource, path: &KeyPath, raw: Vec<RawMiddleware>) -> Result<Vec<Middleware>> {
    raw.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let entry = path.index(i);
            let inherit = inherit(src, &entry.key("inherit_configuration"), m.inherit_configuration, Inherit::Nothing)?;
            Ok(Middleware { component: m.component, inherit, toml_key: entry.to_string() })
        })
        .collect()
}

/// Every component a dependency or middleware names exists, and no
/// component depends on itself, directly or through others.
pub(super) fn check_references(src: &TomlSource, components: &BTreeMap<String, ComponentConfig>, triggers: &[super::HttpTrigger]) -> Result<()> {
    for component in components.values() {
        for dep in &component.dependencies {
            if let DependencySource::Component(id) = &dep.source
                && !components.contains_key(id)
            {
                return Err(ConfigError::new(
                    &src.file,
                    format!("{}.component", dep.toml_key),
                    format!("no component named `{id}`; define it as [component.{id}]"),
                ));
            }
        }
    }
    for trigger in triggers {
        for m in &trigger.middleware {
            if !components.contains_key(&m.component) {
                return Err(ConfigError::new(
                    &src.file,
                    format!("{}.component", m.toml_key),
                    format!("no component named `{}`; define it as [component.{}]", m.component, m.component),
                ));
            }
            if m.component == trigger.component {
                return Err(ConfigError::new(
                    &src.file,
                    format!("{}.component", m.toml_key),
                    format!("component `{}` cannot be middleware in front of itself", m.component),
                ));
            }
        }
    }
    let mut used_by: Vec<(&str, &str, String)> = Vec::new();
    for component in components.values() {
        for dep in &component.dependencies {
            if let DependencySource::Component(id) = &dep.source {
                used_by.push((id, &component.id, format!("{}.component", dep.toml_key)));
            }
        }
    }
    for trigger in triggers {
        for m in &trigger.middleware {
            used_by.push((&m.component, &trigger.component, format!("{}.component", m.toml_key)));
        }
    }
    for (id, user, key) in used_by {
        let c = &components[id];
        let own: Vec<&str> = [
            ("key_value_stores", !c.key_value_stores.is_empty()),
            ("sqlite_databases", !c.sqlite_databases.is_empty()),
            ("allowed_outbound_hosts", !c.allowed_outbound_hosts.is_empty()),
            ("variables", !c.variables.is_empty()),
            ("environment", !c.environment.is_empty()),
            ("files", !c.files.is_empty()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if !own.is_empty() {
            return Err(ConfigError::new(
                &src.file,
                key,
                format!(
                    "component `{id}` cannot be composed into `{user}` because it has configuration of its own ({}); a dependency or middleware gets only what it inherits from `{user}`: move the configuration to `{user}` and use `inherit_configuration`",
                    own.join(", ")
                ),
            ));
        }
    }
    for id in components.keys() {
        if let Some(cycle) = find_cycle(components, id, &mut Vec::new()) {
            let component = &components[&cycle[0]];
            return Err(ConfigError::new(&src.file, format!("{}.dependencies", component.toml_key), format!("dependency cycle: {}", cycle.join(" -> "))));
        }
    }
    Ok(())
}

/// Depth-first search for a path of component dependencies back to a
/// component already on `stack`.
fn find_cycle(components: &BTreeMap<String, ComponentConfig>, id: &str, stack: &mut Vec<String>) -> Option<Vec<String>> {
    if let Some(start) = stack.iter().position(|s| s == id) {
        let mut cycle = stack[start..].to_vec();
        cycle.push(id.to_owned());
        return Some(cycle);
    }
    let component = components.get(id)?;
    stack.push(id.to_owned());
    for dep in &component.dependencies {
        if let DependencySource::Component(next) = &dep.source
            && let Some(cycle) = find_cycle(components, next, stack)
        {
            return Some(cycle);
        }
    }
    stack.pop();
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_display() {
        for text in ["souk:pricing/quote@0.1.0", "souk:pricing@0.1.0", "souk:pricing/quote", "my-import"] {
            assert_eq!(DependencyName::parse(text).unwrap().to_string(), text);
        }
        assert!(matches!(DependencyName::parse("a:b/c@1.0.0").unwrap(), DependencyName::Interface { .. }));
        for bad in ["", "Souk:x/y", "a:b/c@", "plain@1.0.0", "a:b/c d", "a:b/"] {
            assert!(DependencyName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn package_key_matches_its_interfaces_of_the_same_version() {
        let name = DependencyName::parse("souk:pricing@0.1.0").unwrap();
        assert!(name.matches("souk:pricing/quote@0.1.0"));
        assert!(name.matches("souk:pricing/promo@0.1.0"));
        assert!(!name.matches("souk:pricing/quote@0.2.0"));
        assert!(!name.matches("souk:other/quote@0.1.0"));
        let iface = DependencyName::parse("souk:pricing/quote@0.1.0").unwrap();
        assert!(iface.matches("souk:pricing/quote@0.1.0"));
        assert!(!iface.matches("souk:pricing/promo@0.1.0"));
        let any = DependencyName::parse("souk:pricing").unwrap();
        assert!(any.matches("souk:pricing/quote@0.1.0") && any.matches("souk:pricing/quote"));
        let any_iface = DependencyName::parse("souk:pricing/quote").unwrap();
        assert!(any_iface.matches("souk:pricing/quote@0.2.0") && !any_iface.matches("souk:pricing/promo@0.2.0"));
    }
}
