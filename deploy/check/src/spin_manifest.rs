//! What the app asks of the platform, read from spin.toml: each
//! component's store labels, the app's variables and its public routes.

use std::collections::BTreeMap;

use toml::{Table, Value};

/// An entry of `[variables]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableDecl {
    pub required: bool,
    pub secret: bool,
    pub default: Option<String>,
}

/// The store labels a component may open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentStores {
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SpinManifest {
    pub variables: BTreeMap<String, VariableDecl>,
    pub components: BTreeMap<String, ComponentStores>,
    /// `(route, component)` of each HTTP trigger with a route (private
    /// triggers have none a client or probe can reach).
    pub routes: Vec<(String, String)>,
}

impl SpinManifest {
    pub fn parse(text: &str) -> Result<SpinManifest, String> {
        let table: Table = toml::from_str(text).map_err(|e| format!("spin.toml: {e}"))?;
        let mut manifest = SpinManifest::default();
        for (name, decl) in table.get("variables").and_then(Value::as_table).into_iter().flatten() {
            let flag = |key: &str| decl.get(key).and_then(Value::as_bool).unwrap_or(false);
            let default = decl.get("default").and_then(Value::as_str).map(str::to_owned);
            manifest.variables.insert(name.clone(), VariableDecl { required: flag("required"), secret: flag("secret"), default });
        }
        for (id, component) in table.get("component").and_then(Value::as_table).into_iter().flatten() {
            let labels = |key: &str| -> Vec<String> {
                component.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
            };
            manifest
                .components
                .insert(id.clone(), ComponentStores { key_value_stores: labels("key_value_stores"), sqlite_databases: labels("sqlite_databases") });
        }
        let triggers = table.get("trigger").and_then(|t| t.get("http")).and_then(Value::as_array);
        for trigger in triggers.into_iter().flatten() {
            let component = trigger.get("component").and_then(Value::as_str).unwrap_or_default();
            if let Some(route) = trigger.get("route").and_then(Value::as_str) {
                manifest.routes.push((route.to_owned(), component.to_owned()));
            }
        }
        Ok(manifest)
    }

    /// The component whose route serves `path`, if any.
    pub fn component_for_path(&self, path: &str) -> Option<&str> {
        self.routes.iter().find(|(route, _)| route_matches(route, path)).map(|(_, component)| component.as_str())
    }

    /// As [`SpinManifest::component_for_path`], leaving out a catch-all
    /// `/...` route (the storefront's), which answers any path.
    pub fn component_for_path_beyond_catch_all(&self, path: &str) -> Option<&str> {
        self.routes.iter().filter(|(route, _)| route != "/...").find(|(route, _)| route_matches(route, path)).map(|(_, component)| component.as_str())
    }
}

/// Whether a Spin route serves `path`: the same segments, where `:name`
/// stands for any one segment and a trailing `/...` for any rest
/// (including none).
pub fn route_matches(route: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut route_segments = route.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).peekable();
    let mut path_segments = path.trim_start_matches('/').split('/').filter(|s| !s.is_empty());
    loop {
        match (route_segments.next(), path_segments.next()) {
            (Some("..."), _) => return route_segments.peek().is_none(),
            (Some(r), Some(p)) if r == p || r.starts_with(':') => continue,
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_as_spin_matches_them() {
        assert!(route_matches("/api/v1/health", "/api/v1/health"));
        assert!(route_matches("/api/v1/health", "/api/v1/health?x=1"));
        assert!(!route_matches("/api/v1/health", "/api/v1/healthz"));
        assert!(!route_matches("/api/v1/health", "/api/v1"));
        assert!(route_matches("/api/v1/users/...", "/api/v1/users"));
        assert!(route_matches("/api/v1/users/...", "/api/v1/users/me/address"));
        assert!(!route_matches("/api/v1/users/...", "/api/v1/usersx"));
        assert!(route_matches("/items/:id", "/items/7"));
        assert!(!route_matches("/items/:id", "/items/7/8"));
        assert!(route_matches("/...", "/anything"));
    }

    #[test]
    fn reads_variables_components_and_public_routes() {
        let manifest = SpinManifest::parse(
            r#"
            spin_manifest_version = 2
            [variables]
            key = { required = true, secret = true }
            size = { default = "3" }
            [[trigger.http]]
            route = "/a/..."
            component = "a"
            [[trigger.http]]
            route = { private = true }
            component = "b"
            [component.a]
            source = "a.wasm"
            key_value_stores = ["cart"]
            sqlite_databases = ["a"]
            [component.b]
            source = "b.wasm"
            "#,
        )
        .unwrap();
        assert_eq!(manifest.variables["key"], VariableDecl { required: true, secret: true, default: None });
        assert_eq!(manifest.variables["size"].default.as_deref(), Some("3"));
        assert_eq!(manifest.components["a"], ComponentStores { key_value_stores: vec!["cart".into()], sqlite_databases: vec!["a".into()] });
        assert_eq!(manifest.components["b"], ComponentStores::default());
        assert_eq!(manifest.routes, vec![("/a/...".to_owned(), "a".to_owned())]);
        assert_eq!(manifest.component_for_path("/a/b"), Some("a"));
        assert_eq!(manifest.component_for_path("/b"), None);
    }
}
