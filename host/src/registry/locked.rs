//! Spin's locked application: the JSON document (`spin_lock_version` 1)
//! that a registry artifact carries as its
//! `application/vnd.fermyon.spin.application.v1+config` layer, with every
//! trigger, component and variable resolved and each Wasm file and mounted
//! file named by its content's digest. Written from Spin's published format;
//! only what souk reads or writes is typed, the rest is kept as JSON values.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The media type of the locked application's layer.
pub const LOCKED_APP_MEDIA_TYPE: &str = "application/vnd.fermyon.spin.application.v1+config";
/// A component's Wasm.
pub const WASM_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// One mounted file.
pub const DATA_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+data";
/// A gzipped tar of mounted files (an app with very many files).
pub const ARCHIVE_MEDIA_TYPE: &str = "application/vnd.wasm.content.bundle.v1.tar+gzip";
/// The image config label naming the locked application layer's digest.
pub const LOCKED_APP_DIGEST_LABEL: &str = "com.fermyon.spin.lockedAppDigest";
/// Content of at most this many bytes is carried inline in the locked
/// application rather than as a layer (registries refuse very small blobs).
pub const INLINE_MAX_BYTES: usize = 128;

/// Host requirement values and the keys souk understands.
pub const REQUIRED: &str = "required";
pub const SERVICE_CHAINING: &str = "local_service_chaining";
pub const MIDDLEWARE: &str = "middleware";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockedApp {
    pub spin_lock_version: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must_understand: Vec<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub host_requirements: Map<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Variable>,
    pub triggers: Vec<Trigger>,
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Variable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A variable without a default is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trigger {
    pub id: String,
    pub trigger_type: String,
    /// The trigger's table as the manifest gives it, `component` an id.
    pub trigger_config: Value,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trigger_dependencies: BTreeMap<String, Vec<Dependency>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    /// `description`, `allowed_outbound_hosts`, `key_value_stores`,
    /// `databases`, `ai_models`, `build`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ContentPath>,
    /// The component's variables (their templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, Dependency>,
    /// A trigger's dependencies (`middleware`) moved onto the component it serves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trigger_dependencies: BTreeMap<String, Vec<Dependency>>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub host_requirements: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dependency {
    pub source: Source,
    pub export: Option<String>,
    #[serde(default, skip_serializing_if = "Inherit::is_nothing")]
    pub inherit: Inherit,
}

/// Which of the importing component's configuration a dependency sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Inherit {
    All,
    /// These kinds only (`key_value_stores`, `variables`, ...); none when empty.
    Some(Vec<String>),
}

impl Default for Inherit {
    fn default() -> Self {
        Inherit::Some(Vec::new())
    }
}

impl Inherit {
    fn is_nothing(&self) -> bool {
        matches!(self, Inherit::Some(kinds) if kinds.is_empty())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub content_type: String,
    #[serde(flatten)]
    pub content: ContentRef,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContentPath {
    #[serde(flatten)]
    pub content: ContentRef,
    /// Where the file is mounted, relative to the component's root.
    pub path: String,
}

/// Content by digest (`sha256:<hex>`), carried inline when small.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContentRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub inline: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Spin writes inline content as unpadded standard base64.
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

fn to_base64<S: Serializer>(bytes: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(bytes) => serializer.serialize_str(&BASE64.encode(bytes)),
        None => serializer.serialize_none(),
    }
}

fn from_base64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    // Accept padding too: the decoder of the unpadded form refuses it.
    let trimmed = text.trim_end_matches('=');
    BASE64.decode(trimmed).map(Some).map_err(serde::de::Error::custom)
}

/// `sha256:<hex>` of `bytes`, as OCI names content.
pub fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_app_reads_as_spin_writes_it() {
        let json = r#"{
            "spin_lock_version": 1,
            "must_understand": ["component_host_requirements"],
            "metadata": {"name": "hello", "trigger": {"type": "http"}},
            "variables": {"greeting": {"default": "hi"}, "key": {"secret": true}},
            "triggers": [{"id": "t1", "trigger_type": "http", "trigger_config": {"component": "hello", "route": "/..."}}],
            "components": [{
                "id": "hello",
                "metadata": {"allowed_outbound_hosts": ["http://*.spin.internal"], "databases": ["default"]},
                "source": {"content_type": "application/wasm", "digest": "sha256:abc"},
                "files": [{"inline": "aGVsbG8", "digest": "sha256:def", "path": "a.txt"}],
                "config": {"greeting": "{{ greeting }}"},
                "trigger_dependencies": {"middleware": [{"source": {"content_type": "application/wasm", "digest": "sha256:mw"}, "export": null, "inherit": {"Some": ["variables"]}}]},
                "host_requirements": {"local_service_chaining": "required", "middleware": "required"}
            }]
        }"#;
        let app: LockedApp = serde_json::from_str(json).unwrap();
        let component = &app.components[0];
        assert_eq!(component.files[0].content.inline.as_deref(), Some(&b"hello"[..]));
        assert_eq!(component.trigger_dependencies["middleware"][0].inherit, Inherit::Some(vec!["variables".into()]));
        assert!(app.variables["key"].secret && app.variables["key"].default.is_none());
        let again = serde_json::to_value(&app).unwrap();
        assert_eq!(again["components"][0]["files"][0]["inline"], "aGVsbG8", "unpadded base64, as Spin writes it");
        assert_eq!(again["spin_lock_version"], 1);
        assert!(again["variables"]["greeting"].get("secret").is_none(), "false is left out");
    }
}
