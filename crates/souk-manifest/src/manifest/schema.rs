//! The serde shape of `spin.toml` (manifest version 2), before validation.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    #[allow(dead_code)] // checked before deserialising
    pub spin_manifest_version: toml::Value,
    pub application: RawApplication,
    #[serde(default)]
    pub variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    pub trigger: RawTriggers,
    #[serde(default)]
    pub component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApplication {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Metadata only.
    #[serde(default)]
    #[allow(dead_code)]
    pub authors: Vec<String>,
    /// Spin's deployment-target compatibility list; ignored.
    #[serde(default)]
    #[allow(dead_code)]
    pub targets: Vec<toml::Value>,
    #[serde(default)]
    pub trigger: RawAppTriggers,
    /// Settings for external tools; ignored, as Spin does.
    #[serde(default)]
    #[allow(dead_code)]
    pub tool: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAppTriggers {
    pub http: Option<RawAppHttp>,
    pub redis: Option<RawAppRedis>,
}

/// `[application.trigger.redis]`: the server every Redis trigger
/// subscribes on unless it names its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAppRedis {
    pub address: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAppHttp {
    pub base: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariable {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTriggers {
    #[serde(default)]
    pub http: Vec<RawHttpTrigger>,
    #[serde(default)]
    pub redis: Vec<RawRedisTrigger>,
    #[serde(default)]
    pub cron: Vec<RawCronTrigger>,
}

/// `[[trigger.cron]]` (Spin's cron trigger plugin): a component run on the
/// schedule `cron_expression` gives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCronTrigger {
    #[allow(dead_code)] // Spin's trigger id: names nothing souk reports
    pub id: Option<String>,
    pub component: StrOr<RawComponent>,
    pub cron_expression: String,
}

/// `[[trigger.redis]]`: a component called with each message published on
/// `channel`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedisTrigger {
    #[allow(dead_code)] // Spin's trigger id: names nothing souk reports
    pub id: Option<String>,
    pub component: StrOr<RawComponent>,
    pub channel: String,
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttpTrigger {
    pub id: Option<String>,
    pub route: StrOr<RawPrivate>,
    pub component: Option<StrOr<RawComponent>>,
    /// Spin 4.1: an answer the host gives itself, in place of a component.
    pub static_response: Option<RawStaticResponse>,
    pub executor: Option<RawExecutor>,
    #[serde(default)]
    pub dependencies: RawTriggerDependencies,
}

/// `dependencies.middleware` of a `[[trigger.http]]` (Spin 4).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTriggerDependencies {
    #[serde(default)]
    pub middleware: Vec<RawMiddleware>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMiddleware {
    pub component: String,
    pub inherit_configuration: Option<RawInherit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrivate {
    pub private: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStaticResponse {
    pub status_code: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExecutor {
    #[serde(rename = "type")]
    pub kind: String,
    /// WAGI only.
    pub argv: Option<String>,
    /// WAGI only, and ignored (as Spin ignores it): `_start` runs.
    pub entrypoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComponent {
    pub source: StrOr<toml::Table>,
    pub description: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<StrOr<RawPlacement>>,
    #[serde(default)]
    pub exclude_files: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// The LLM models the component may use; souk serves none, so its calls
    /// are refused with the reason, but the app starts, as on a Spin host
    /// without them.
    #[serde(default)]
    pub ai_models: Vec<String>,
    pub build: Option<RawBuild>,
    /// Import name (`ns:pkg/iface@ver` or `ns:pkg@ver`) → where it comes from.
    #[serde(default)]
    pub dependencies: BTreeMap<String, StrOr<RawDependency>>,
    /// Spin 3's component-wide switch: every dependency inherits everything.
    pub dependencies_inherit_configuration: Option<bool>,
    /// Settings for external tools; ignored, as Spin does.
    #[serde(default)]
    #[allow(dead_code)]
    pub tool: toml::Table,
}

/// One `[component.<id>.dependencies]` entry in table form. The registry and
/// URL forms are recognised so that they can be refused with a clear message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDependency {
    pub component: Option<String>,
    pub path: Option<String>,
    pub export: Option<String>,
    pub inherit_configuration: Option<RawInherit>,
    pub version: Option<String>,
    pub registry: Option<String>,
    pub package: Option<String>,
    pub url: Option<String>,
    pub digest: Option<String>,
}

/// `inherit_configuration = true` or `= ["key_value_stores", ...]`.
#[derive(Debug)]
pub(super) enum RawInherit {
    All(bool),
    Only(Vec<String>),
}

impl<'de> Deserialize<'de> for RawInherit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawInherit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`true`, `false` or a list of configuration keys such as [\"key_value_stores\"]")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RawInherit::All(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = seq.next_element::<String>()? {
                    keys.push(key);
                }
                Ok(RawInherit::Only(keys))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlacement {
    pub source: String,
    pub destination: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    pub command: Commands,
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
}

/// What a string-or-table value is expected to be, for serde's messages.
pub(super) trait Expecting {
    const EXPECTING: &'static str;
}

impl Expecting for RawPrivate {
    const EXPECTING: &'static str = "a route string starting with `/` or `{ private = true }`";
}

impl Expecting for RawComponent {
    const EXPECTING: &'static str = "a component id or an inline component table";
}

impl Expecting for RawDependency {
    const EXPECTING: &'static str = "`{ component = \"<id>\" }` or `{ path = \"<file>.wasm\" }`, optionally with `export` and `inherit_configuration`";
}

impl Expecting for RawPlacement {
    const EXPECTING: &'static str = "a file path or glob string, or `{ source = \"...\", destination = \"/...\" }`";
}

impl Expecting for toml::Table {
    const EXPECTING: &'static str = "a path to a Wasm file";
}

/// A value that is either a string or a table of type `T`. Unlike an
/// untagged enum, errors inside the table (such as an unknown key) keep
/// their own message and position.
#[derive(Debug)]
pub(super) enum StrOr<T> {
    Str(String),
    Table(T),
}

impl<'de, T: Deserialize<'de> + Expecting> Deserialize<'de> for StrOr<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Expecting> Visitor<'de> for V<T> {
            type Value = StrOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StrOr::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(StrOr::Str(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(StrOr::Table)
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// `command = "..."` or `command = ["...", "..."]`.
#[derive(Debug)]
pub(super) struct Commands(pub Vec<String>);

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Commands;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command string or an array of command strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Commands(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(cmd) = seq.next_element::<String>()? {
                    all.push(cmd);
                }
                Ok(Commands(all))
            }
        }
        deserializer.deserialize_any(V)
    }
}
