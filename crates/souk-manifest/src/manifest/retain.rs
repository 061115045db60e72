//! `--component-id` (as `spin up -c`): running only some of an app's
//! components, the rest of it dropped before anything is compiled.

use std::collections::BTreeSet;

use super::{AppManifest, DependencySource};
use crate::allowed_hosts::chaining_target;

impl AppManifest {
    /// Keeps the components `selected` with the triggers that run them, and
    /// what those triggers need: each kept HTTP trigger's middleware and
    /// every component a kept one takes as a dependency. Every other
    /// component and trigger is dropped, static responses too. Nothing changes when `selected` is
    /// empty. Refused, saying why: an id the app does not have, a selection
    /// with no trigger (nothing would run), or a kept component allowed to
    /// chain to a component not selected (`http://<id>.spin.internal`) or to
    /// any (`http://*.spin.internal`), whose calls could only fail. Hosts
    /// written with a template (`{{ host }}`) are not known yet and not
    /// checked.
    pub fn retain_components(&mut self, selected: &[String]) -> Result<(), String> {
        if selected.is_empty() {
            return Ok(());
        }
        let file = self.file.display().to_string();
        if let Some(unknown) = selected.iter().find(|id| !self.components.contains_key(*id)) {
            let known: Vec<&str> = self.components.keys().map(String::as_str).collect();
            return Err(format!("--component-id {unknown}: {file} has no component `{unknown}` (it has: {})", known.join(", ")));
        }
        let is_selected = |id: &str| selected.iter().any(|s| s == id);
        self.http_triggers.retain(|t| is_selected(&t.component));
        self.redis_triggers.retain(|t| is_selected(&t.component));
        self.cron_triggers.retain(|t| is_selected(&t.component));
        // As in Spin: a static response belongs to no component, so no selection keeps it.
        self.static_responses.clear();
        if self.http_triggers.is_empty() && self.redis_triggers.is_empty() && self.cron_triggers.is_empty() {
            return Err(format!("--component-id: no trigger in {file} runs {}, so nothing would run", selected.join(", ")));
        }

        let mut kept: BTreeSet<String> = selected.iter().cloned().collect();
        kept.extend(self.http_triggers.iter().flat_map(|t| t.middleware.iter().map(|m| m.component.clone())));
        let mut unvisited: Vec<String> = kept.iter().cloned().collect();
        while let Some(id) = unvisited.pop() {
            for dependency in &self.components[&id].dependencies {
                if let DependencySource::Component(other) = &dependency.source
                    && kept.insert(other.clone())
                {
                    unvisited.push(other.clone());
                }
            }
        }

        for id in &kept {
            let component = &self.components[id];
            for (i, host) in component.allowed_outbound_hosts.iter().enumerate() {
                let key = format!("{}.allowed_outbound_hosts[{i}]", component.toml_key);
                match chaining_target(host).as_deref() {
                    Some("*") => {
                        return Err(format!(
                            "{file}: {key} = {host:?}: component `{id}` may call any component of the app, but --component-id runs only {}",
                            selected.join(", ")
                        ));
                    }
                    Some(target) if !is_selected(target) => {
                        return Err(format!(
                            "{file}: {key} = {host:?}: component `{id}` calls component `{target}`, which --component-id does not run (select it too)"
                        ));
                    }
                    _ => {}
                }
            }
        }
        self.components.retain(|id, _| kept.contains(id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::allowed_hosts::chaining_target;
    use crate::manifest::tests::load_str;

    const APP: &str = r#"spin_manifest_version = 2
[application]
name = "shop"
[variables]
host = { default = "back" }
[[trigger.http]]
route = "/front/..."
component = "front"
dependencies.middleware = [{ component = "guard" }]
[[trigger.http]]
route = { private = true }
component = "back"
[[trigger.http]]
route = "/other/..."
component = "other"
[[trigger.cron]]
component = "tick"
cron_expression = "0 * * * * *"
[component.front]
source = "front.wasm"
allowed_outbound_hosts = ["http://back.spin.internal", "https://example.com", "http://{{ host }}.spin.internal"]
[component.front.dependencies]
"souk:helper/api" = { component = "helper" }
[component.guard]
source = "guard.wasm"
[component.helper]
source = "helper.wasm"
[component.back]
source = "back.wasm"
[component.other]
source = "other.wasm"
allowed_outbound_hosts = ["*://*.spin.internal:*"]
[component.tick]
source = "tick.wasm"
[component.idle]
source = "idle.wasm"
"#;

    fn ids<'a>(it: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
        it.map(String::as_str).collect()
    }

    #[test]
    fn the_selection_keeps_its_triggers_middleware_and_dependencies() {
        let (_dir, mut m) = load_str(APP);
        m.retain_components(&["front".into(), "back".into()]).unwrap();
        assert_eq!(ids(m.components.keys()), ["back", "front", "guard", "helper"]);
        assert_eq!(ids(m.http_triggers.iter().map(|t| &t.component)), ["front", "back"]);
        assert!(m.cron_triggers.is_empty());

        let (_dir, mut m) = load_str(APP);
        m.retain_components(&["tick".into()]).unwrap();
        assert_eq!(ids(m.components.keys()), ["tick"]);
        assert!(m.http_triggers.is_empty());
        assert_eq!(m.cron_triggers.len(), 1);
    }

    #[test]
    fn no_selection_keeps_everything() {
        let (_dir, mut m) = load_str(APP);
        let before = m.clone();
        m.retain_components(&[]).unwrap();
        assert_eq!(m, before);
    }

    #[test]
    fn chaining_out_of_the_selection_is_refused_naming_the_key() {
        let (_dir, mut m) = load_str(APP);
        let e = m.retain_components(&["front".into()]).unwrap_err();
        assert!(e.contains("component.front.allowed_outbound_hosts[0]") && e.contains("`back`") && e.contains("spin.toml"), "{e}");

        let (_dir, mut m) = load_str(APP);
        let e = m.retain_components(&["other".into(), "back".into()]).unwrap_err();
        assert!(e.contains("component.other.allowed_outbound_hosts[0]") && e.contains("any component"), "{e}");
    }

    #[test]
    fn an_unknown_id_or_a_selection_without_trigger_is_refused() {
        let (_dir, mut m) = load_str(APP);
        let e = m.retain_components(&["nope".into()]).unwrap_err();
        assert!(e.contains("--component-id nope") && e.contains("front, guard"), "{e}");

        let (_dir, mut m) = load_str(APP);
        let e = m.retain_components(&["idle".into()]).unwrap_err();
        assert!(e.contains("no trigger") && e.contains("idle"), "{e}");
    }

    #[test]
    fn chaining_targets_are_read_from_each_form_of_entry() {
        assert_eq!(chaining_target("http://back.spin.internal").as_deref(), Some("back"));
        assert_eq!(chaining_target("http://back.spin.internal:80/").as_deref(), Some("back"));
        assert_eq!(chaining_target("*://*.spin.internal:*").as_deref(), Some("*"));
        assert_eq!(chaining_target("https://example.com").as_deref(), None);
        assert_eq!(chaining_target("http://{{ host }}.spin.internal").as_deref(), None);
        assert_eq!(chaining_target("*://*:*").as_deref(), None);
    }
}
