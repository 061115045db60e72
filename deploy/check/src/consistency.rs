//! Does the deployment give the app what spin.toml asks for? Each check
//! returns its problems as sentences naming the manifest and the field;
//! none means the SpinApp, its Secrets and Services fit the app.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::manifests::{self, Document};
use crate::runtime_config::{self, RuntimeConfig};
use crate::spin_manifest::SpinManifest;

/// The Secret key SpinKube mounts as the runtime config file.
pub const RUNTIME_CONFIG_KEY: &str = "runtime-config.toml";

/// Every problem of every SpinApp in `documents` against `manifest`.
pub fn problems(documents: &[Document], manifest: &SpinManifest) -> Vec<String> {
    let mut problems = Vec::new();
    for app in manifests::of_kind(documents, "SpinApp") {
        let mut found = Vec::new();
        components_are_deployed(app, manifest, &mut found);
        variables_have_sources(app, documents, manifest, &mut found);
        probes_are_routes(app, manifest, &mut found);
        match runtime_config(app, documents) {
            Ok(config) => {
                stores_are_declared(&config, manifest, &mut found);
                sqlite_files_have_one_writer(app, &config, documents, &mut found);
                key_value_stores_are_shared(&config, documents, &mut found);
            }
            Err(e) => found.push(e),
        }
        problems.extend(found.into_iter().map(|p| format!("{}: {p}", app.describe())));
    }
    problems
}

/// The runtime config of a SpinApp: the TOML in the Secret its
/// `runtimeConfig.loadFromSecret` names.
pub fn runtime_config(app: &Document, documents: &[Document]) -> Result<RuntimeConfig, String> {
    let secret_name = app.value["spec"]["runtimeConfig"]["loadFromSecret"]
        .as_str()
        .ok_or("spec.runtimeConfig.loadFromSecret names no Secret: the stores would have no configuration")?;
    let secret = manifests::find(documents, "Secret", secret_name).ok_or_else(|| format!("the runtime config Secret {secret_name} is in no manifest"))?;
    let text = manifests::secret_string(secret, RUNTIME_CONFIG_KEY)
        .ok_or_else(|| format!("Secret {secret_name} has no stringData key {RUNTIME_CONFIG_KEY}, the one SpinKube mounts"))?;
    RuntimeConfig::parse(text).map_err(|e| format!("Secret {secret_name}: {e}"))
}

/// Without `spec.components` SpinKube runs every component; with it, every
/// component of spin.toml must be listed, since services call each other
/// in-process (`<id>.spin.internal`) and the gateway is composed into them.
pub fn components_are_deployed(app: &Document, manifest: &SpinManifest, problems: &mut Vec<String>) {
    let Some(listed) = app.value["spec"]["components"].as_array() else { return };
    let listed: BTreeSet<&str> = listed.iter().filter_map(Value::as_str).collect();
    for id in manifest.components.keys() {
        if !listed.contains(id.as_str()) {
            problems.push(format!("spec.components leaves out component {id} of spin.toml"));
        }
    }
    for id in listed {
        if !manifest.components.contains_key(id) {
            problems.push(format!("spec.components names {id}, which spin.toml does not have"));
        }
    }
}

/// Every variable the SpinApp sets is one of spin.toml's; every required
/// one has a value or a Secret/ConfigMap key that exists in the manifests;
/// a secret one is never written in plain text.
pub fn variables_have_sources(app: &Document, documents: &[Document], manifest: &SpinManifest, problems: &mut Vec<String>) {
    let empty = Vec::new();
    let entries = app.value["spec"]["variables"].as_array().unwrap_or(&empty);
    let mut seen = BTreeSet::new();
    for entry in entries {
        let name = entry["name"].as_str().unwrap_or_default();
        if !seen.insert(name) {
            problems.push(format!("variable {name} is set twice"));
        }
        let Some(decl) = manifest.variables.get(name) else {
            problems.push(format!("variable {name} is not in spin.toml's [variables]"));
            continue;
        };
        if decl.secret && entry.get("value").is_some() {
            problems.push(format!("variable {name} is secret in spin.toml but written in plain text: use valueFrom.secretKeyRef"));
        }
        for (kind, reference) in [("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")] {
            let source = &entry["valueFrom"][reference];
            let (Some(source_name), Some(key)) = (source["name"].as_str(), source["key"].as_str()) else { continue };
            match manifests::find(documents, kind, source_name) {
                None => problems.push(format!("variable {name} reads {kind} {source_name}, which is in no manifest")),
                Some(doc) if doc.value["stringData"].get(key).is_none() && doc.value["data"].get(key).is_none() => {
                    problems.push(format!("variable {name} reads key {key} of {kind} {source_name}, which has no such key"))
                }
                Some(_) => {}
            }
        }
    }
    for (name, decl) in manifest.variables.iter().filter(|(_, decl)| decl.required) {
        let entry = entries.iter().find(|e| e["name"] == name.as_str());
        let has_source = entry.is_some_and(|e| e["value"].as_str().is_some_and(|v| !v.is_empty()) || e["valueFrom"].is_object());
        if !has_source {
            let what = if decl.secret { "a secret" } else { "a" };
            problems.push(format!("required variable {name} has no value source: Spin would refuse to start; give {what} valueFrom"));
        }
    }
}

/// The liveness and readiness paths are routes of the app, other than a
/// catch-all `/...` (which answers any path, so a probe on a mistyped one
/// would never fail).
pub fn probes_are_routes(app: &Document, manifest: &SpinManifest, problems: &mut Vec<String>) {
    for probe in ["liveness", "readiness"] {
        let Some(path) = app.value["spec"]["checks"][probe]["httpGet"]["path"].as_str() else { continue };
        if manifest.component_for_path_beyond_catch_all(path).is_none() {
            problems.push(format!("the {probe} probe's path {path} is no route of spin.toml"));
        }
    }
}

/// Every store label a component opens is in the runtime config, and
/// every label there is used by some component.
pub fn stores_are_declared(config: &RuntimeConfig, manifest: &SpinManifest, problems: &mut Vec<String>) {
    let used = |pick: fn(&crate::spin_manifest::ComponentStores) -> &Vec<String>| -> BTreeSet<&str> {
        manifest.components.values().flat_map(|c| pick(c).iter().map(String::as_str)).collect()
    };
    let sections = [
        ("key_value_store", used(|c| &c.key_value_stores), &config.key_value_stores),
        ("sqlite_database", used(|c| &c.sqlite_databases), &config.sqlite_databases),
    ];
    for (section, used, declared) in sections {
        for label in &used {
            if !declared.contains_key(*label) {
                problems.push(format!("the runtime config has no [{section}.{label}], which spin.toml's components use"));
            }
        }
        for label in declared.keys() {
            if !used.contains(label.as_str()) {
                problems.push(format!("the runtime config's [{section}.{label}] is used by no component of spin.toml"));
            }
        }
    }
}

/// A SQLite file takes one writer: with any database in a file the app
/// runs one replica, not autoscaled, and each file is on a volume backed
/// by a PersistentVolumeClaim of the manifests (a file elsewhere, or a
/// database in memory, is lost with the pod).
pub fn sqlite_files_have_one_writer(app: &Document, config: &RuntimeConfig, documents: &[Document], problems: &mut Vec<String>) {
    let spec = &app.value["spec"];
    let mut any_file = false;
    for (label, store) in config.sqlite_databases.iter().filter(|(_, s)| s.kind == "spin") {
        let Some(path) = &store.path else {
            problems.push(format!("[sqlite_database.{label}] has no path: in memory, its data is gone at every restart"));
            continue;
        };
        any_file = true;
        let volume = spec["volumeMounts"].as_array().into_iter().flatten().find(|mount| {
            mount["mountPath"].as_str().is_some_and(|dir| path.strip_prefix(dir.trim_end_matches('/')).is_some_and(|rest| rest.starts_with('/')))
        });
        let Some(volume) = volume.and_then(|m| m["name"].as_str()) else {
            problems.push(format!("[sqlite_database.{label}] path {path} is on no volumeMount of the SpinApp: the file dies with the pod"));
            continue;
        };
        let claim =
            spec["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == volume).and_then(|v| v["persistentVolumeClaim"]["claimName"].as_str());
        match claim {
            None => problems.push(format!("volume {volume} (for [sqlite_database.{label}]) is no persistentVolumeClaim")),
            Some(claim) if manifests::find(documents, "PersistentVolumeClaim", claim).is_none() => {
                problems.push(format!("volume {volume} claims {claim}, which is in no manifest"))
            }
            Some(_) => {}
        }
    }
    if any_file {
        let replicas = spec["replicas"].as_i64().unwrap_or(1);
        if replicas != 1 {
            problems.push(format!("replicas is {replicas} while SQLite databases are files, which take one writer: run one replica or move them to libSQL"));
        }
        if spec["enableAutoscaling"] == true {
            problems.push("enableAutoscaling is on while SQLite databases are files, which take one writer".to_owned());
        }
    }
}

/// Key-value stores are in Redis, shared by every replica and kept across
/// restarts, at a Service of the manifests on the port it serves.
pub fn key_value_stores_are_shared(config: &RuntimeConfig, documents: &[Document], problems: &mut Vec<String>) {
    for (label, store) in &config.key_value_stores {
        if store.kind != "redis" {
            problems.push(format!("[key_value_store.{label}] is of type {}, one per pod: it must be redis, shared by the replicas", store.kind));
            continue;
        }
        let Some((host, port)) = store.url.as_deref().and_then(runtime_config::redis_host_port) else {
            problems.push(format!("[key_value_store.{label}] has no redis:// url"));
            continue;
        };
        let service_name = host.split('.').next().unwrap_or(host);
        match manifests::find(documents, "Service", service_name) {
            None => problems.push(format!("[key_value_store.{label}] points at {host}, which is no Service of the manifests")),
            Some(service) => {
                let mut ports = service.value["spec"]["ports"].as_array().into_iter().flatten();
                if !ports.any(|p| p["port"].as_u64() == Some(u64::from(port))) {
                    problems.push(format!("[key_value_store.{label}] uses port {port}, which Service {service_name} does not serve"));
                }
            }
        }
    }
}
