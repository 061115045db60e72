//! Resolves application variables (from `SPIN_VARIABLE_*` or defaults) and
//! pre-expands every component variable template for cheap per-request lookups.

use std::collections::{BTreeMap, HashMap};

use crate::allowed_hosts::AllowedHosts;
use crate::error::ConfigError;
use crate::manifest::AppManifest;
use crate::names::check_variable_name;
use crate::template;

/// Why a component variable has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    /// The name does not follow the variable naming rule.
    #[error("invalid variable name `{0}`")]
    InvalidName(String),
    /// The component does not define this variable.
    #[error("undefined variable `{0}`")]
    Undefined(String),
    /// The variable is defined but its value could not be produced.
    #[error("{0}")]
    Provider(String),
}

/// Resolved application variables and expanded component variables.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    /// App variable → value (`None`: declared but no value).
    app: BTreeMap<String, Option<String>>,
    /// Component id → variable name → expanded value.
    components: HashMap<String, HashMap<String, Result<String, VariableError>>>,
}

/// The environment variable that sets application variable `name`.
pub fn env_var_name(name: &str) -> String {
    format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())
}

impl Variables {
    /// Resolves every declared variable: `SPIN_VARIABLE_<NAME>` from `env`,
    /// else the default. A required variable without a value is an error.
    pub fn resolve(manifest: &AppManifest, env: &dyn Fn(&str) -> Option<String>) -> Result<Variables, ConfigError> {
        let mut app = BTreeMap::new();
        for (name, decl) in &manifest.variables {
            let env_name = env_var_name(name);
            let value = env(&env_name).or_else(|| decl.default.clone());
            if decl.required && value.is_none() {
                return Err(ConfigError::new(&manifest.file, format!("variables.{name}"), format!("required variable `{name}` has no value; set {env_name}")));
            }
            app.insert(name.clone(), value);
        }
        let mut variables = Variables { app, components: HashMap::new() };
        for (id, component) in &manifest.components {
            let values = component.variables.iter().map(|(name, tmpl)| (name.clone(), variables.expand(tmpl))).collect();
            variables.components.insert(id.clone(), values);
        }
        Ok(variables)
    }

    /// The value of component variable `name` for `component_id`.
    pub fn component_value(&self, _manifest: &AppManifest, component_id: &str, name: &str) -> Result<String, VariableError> {
        if check_variable_name(name).is_err() {
            return Err(VariableError::InvalidName(name.to_owned()));
        }
        self.components.get(component_id).and_then(|values| values.get(name)).cloned().unwrap_or_else(|| Err(VariableError::Undefined(name.to_owned())))
    }

    /// The resolved value of application variable `name` (`None` when it is
    /// not declared or has no value).
    pub fn app_value(&self, name: &str) -> Option<&str> {
        self.app.get(name).and_then(|v| v.as_deref())
    }

    /// Expands a template against the application variables.
    pub fn expand(&self, tmpl: &str) -> Result<String, VariableError> {
        template::expand(
            tmpl,
            |name| match self.app.get(name) {
                Some(Some(value)) => Ok(value.clone()),
                Some(None) => {
                    Err(VariableError::Provider(format!("application variable `{name}` has no value; set {} or give it a default", env_var_name(name))))
                }
                None => Err(VariableError::Undefined(name.to_owned())),
            },
            |e| VariableError::Provider(format!("invalid template: {e}")),
        )
    }

    /// The component's `allowed_outbound_hosts` with `{{ variable }}`
    /// templates expanded and parsed. As in Spin, an entry that expands to
    /// nothing (`""`, `"http://"` or `"https://"`) is dropped, so an empty
    /// variable can switch an optional endpoint off.
    pub fn allowed_hosts(&self, manifest: &AppManifest, component_id: &str) -> Result<AllowedHosts, ConfigError> {
        let Some(component) = manifest.components.get(component_id) else {
            return Err(ConfigError::new(&manifest.file, "", format!("no component named `{component_id}`")));
        };
        let key = format!("{}.allowed_outbound_hosts", component.toml_key);
        let mut entries = Vec::with_capacity(component.allowed_outbound_hosts.len());
        for entry in &component.allowed_outbound_hosts {
            if !template::is_template(entry) {
                entries.push(entry.clone());
                continue;
            }
            let expanded = self.expand(entry).map_err(|e| ConfigError::new(&manifest.file, &key, format!("entry {entry:?}: {e}")))?;
            if !matches!(expanded.as_str(), "" | "http://" | "https://") {
                entries.push(expanded);
            }
        }
        AllowedHosts::parse(&entries).map_err(|e| ConfigError::new(&manifest.file, key, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::load_str;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "vars"

[variables]
api_key = { required = true, secret = true }
greeting = { default = "hello" }
host = { default = "api.example.com" }
optional = { default = "" }
unset = {}

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = "web.wasm"
allowed_outbound_hosts = ["https://{{ host }}", "https://{{ optional }}", "http://fixed.example.com"]
[component.web.variables]
key = "{{ api_key }}"
message = "{{ greeting }}, world"
literal = "just text"
broken = "{{ unset }}"
"#;

    fn env_with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn env_var_overrides_default_and_fills_required() {
        let (_dir, m) = load_str(MANIFEST);
        let env = env_with(&[("SPIN_VARIABLE_API_KEY", "s3cret"), ("SPIN_VARIABLE_GREETING", "hi")]);
        let vars = Variables::resolve(&m, &env).unwrap();
        assert_eq!(vars.component_value(&m, "web", "key").unwrap(), "s3cret");
        assert_eq!(vars.component_value(&m, "web", "message").unwrap(), "hi, world");
        assert_eq!(vars.component_value(&m, "web", "literal").unwrap(), "just text");
        assert_eq!(vars.app_value("host"), Some("api.example.com"));
    }

    #[test]
    fn default_is_used_without_env_var() {
        let (_dir, m) = load_str(MANIFEST);
        let vars = Variables::resolve(&m, &env_with(&[("SPIN_VARIABLE_API_KEY", "k")])).unwrap();
        assert_eq!(vars.component_value(&m, "web", "message").unwrap(), "hello, world");
    }

    #[test]
    fn missing_required_variable_names_env_var() {
        let (_dir, m) = load_str(MANIFEST);
        let e = Variables::resolve(&m, &env_with(&[])).unwrap_err();
        assert_eq!(e.key, "variables.api_key");
        assert_eq!(e.file, m.file);
        assert!(e.message.contains("required variable `api_key` has no value; set SPIN_VARIABLE_API_KEY"), "{e}");
    }

    #[test]
    fn undefined_component_variable_is_undefined() {
        let (_dir, m) = load_str(MANIFEST);
        let vars = Variables::resolve(&m, &env_with(&[("SPIN_VARIABLE_API_KEY", "k")])).unwrap();
        assert_eq!(vars.component_value(&m, "web", "nope"), Err(VariableError::Undefined("nope".into())));
        assert_eq!(vars.component_value(&m, "other", "key"), Err(VariableError::Undefined("key".into())));
    }

    #[test]
    fn invalid_variable_name_is_reported() {
        let (_dir, m) = load_str(MANIFEST);
        let vars = Variables::resolve(&m, &env_with(&[("SPIN_VARIABLE_API_KEY", "k")])).unwrap();
        for bad in ["Key", "a-b", "", "_x", "a__b"] {
            assert_eq!(vars.component_value(&m, "web", bad), Err(VariableError::InvalidName(bad.into())), "{bad}");
        }
    }

    #[test]
    fn variable_without_value_is_a_provider_error() {
        let (_dir, m) = load_str(MANIFEST);
        let vars = Variables::resolve(&m, &env_with(&[("SPIN_VARIABLE_API_KEY", "k")])).unwrap();
        match vars.component_value(&m, "web", "broken") {
            Err(VariableError::Provider(msg)) => {
                assert!(msg.contains("SPIN_VARIABLE_UNSET"), "{msg}")
            }
            other => panic!("expected a provider error, got {other:?}"),
        }
    }

    #[test]
    fn allowed_hosts_templates_are_expanded_and_empty_ones_dropped() {
        let (_dir, m) = load_str(MANIFEST);
        let vars = Variables::resolve(&m, &env_with(&[("SPIN_VARIABLE_API_KEY", "k")])).unwrap();
        let hosts = vars.allowed_hosts(&m, "web").unwrap();
        assert!(hosts.allows("https", "api.example.com", 443));
        assert!(hosts.allows("http", "fixed.example.com", 80));
        assert!(!hosts.allows("https", "other.example.com", 443));
    }

    #[test]
    fn allowed_hosts_template_that_expands_to_garbage_is_an_error() {
        let (_dir, m) = load_str(MANIFEST);
        let env = env_with(&[("SPIN_VARIABLE_API_KEY", "k"), ("SPIN_VARIABLE_HOST", "bad host!")]);
        let vars = Variables::resolve(&m, &env).unwrap();
        let e = vars.allowed_hosts(&m, "web").unwrap_err();
        assert_eq!(e.key, "component.web.allowed_outbound_hosts");
    }
}
